"""Open a dosefind report in headless Chromium, offline, and check it renders.

Used by ``tests/reports/test_browser.py`` and runnable as a script, which is how the
README screenshot is made::

    python tests/reports/browser.py                      # bundled study -> docs/report-screenshot.png
    python tests/reports/browser.py REPORT.html --out shot.png

Chromium runs with no network (background networking off, every host name resolving to
nothing) on the file from disk.  Every console message of the page is reported: the report
has no script, so any message (a script error, a resource that failed to load) is a fault.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--hide-scrollbars", "--host-resolver-rules=MAP * ~NOTFOUND",
         "--enable-logging=stderr", "--v=0")
_CONSOLE = re.compile(r":CONSOLE[^\]]*\]\s*(.*)$")


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class BrowserResult:
    console: list = field(default_factory=list)   # every console message of the page
    dom: str = ""                                 # the DOM after load (--dump-dom)
    screenshot: Path | None = None


def _run(chromium: str, args: list[str], timeout: float) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="dosefind-chromium-") as profile:
        cmd = [chromium, *FLAGS, f"--user-data-dir={profile}", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def console_messages(stderr: str) -> list[str]:
    return [m.group(1).strip() for line in stderr.splitlines() if (m := _CONSOLE.search(line))]


def open_report(html: Path, screenshot: Path, *, width: int = 1280, height: int = 1800,
                timeout: float = 90.0, chromium: str | None = None) -> BrowserResult:
    """Load ``html`` from disk twice (DOM dump, then screenshot) and collect console output."""
    chromium = chromium or find_chromium()
    if chromium is None:
        raise FileNotFoundError("Chromium not found (install the Debian package 'chromium')")
    url = Path(html).resolve().as_uri()
    dom = _run(chromium, ["--dump-dom", url], timeout)
    screenshot = Path(screenshot)
    shot = _run(chromium, [f"--window-size={width},{height}", f"--screenshot={screenshot}", url], timeout)
    if not screenshot.exists():
        raise RuntimeError(f"Chromium wrote no screenshot (exit {shot.returncode}): {shot.stderr[-2000:]}")
    return BrowserResult(console=console_messages(dom.stderr) + console_messages(shot.stderr), dom=dom.stdout,
                         screenshot=screenshot)


def pixel_stats(png: Path) -> tuple[float, int]:
    """(standard deviation of the grey levels, number of distinct grey levels) of a PNG."""
    import matplotlib.image as mpimg
    import numpy as np

    img = mpimg.imread(png)
    grey = img[..., :3].mean(axis=2) if img.ndim == 3 else img
    return float(grey.std()), int(np.unique(np.round(grey * 255)).size)


def _bundled_report(folder: Path, n_trials: int) -> Path:
    out = folder / "report"
    _run_cli(out, n_trials)
    return out / "report.html"


def _run_cli(out: Path, n_trials: int) -> None:
    from click.testing import CliRunner

    from dosefind.cli import main

    res = CliRunner().invoke(main, ["run", "--out", str(out), "--n-trials", str(n_trials), "--quiet"])
    if res.exit_code != 0:
        raise RuntimeError(f"dosefind run failed: {res.output}")


def main(argv=None) -> int:
    repo = Path(__file__).resolve().parents[2]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report", nargs="?", type=Path, help="report.html (default: run the bundled study)")
    ap.add_argument("--out", type=Path, default=repo / "docs" / "report-screenshot.png")
    ap.add_argument("--n-trials", type=int, default=2000)
    ap.add_argument("--height", type=int, default=1500)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dosefind-report-") as tmp:
        html = args.report or _bundled_report(Path(tmp), args.n_trials)
        res = open_report(html, args.out, height=args.height)
    sd, levels = pixel_stats(args.out)
    print(f"screenshot {args.out} (grey sd {sd:.3f}, {levels} grey levels); console messages: {len(res.console)}")
    for m in res.console:
        print("  console:", m)
    return 1 if res.console else 0


if __name__ == "__main__":
    sys.exit(main())
