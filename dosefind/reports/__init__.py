"""The report of ``dosefind run``: tables, figures, HTML page, protocol text, manifest.

No statistics are computed here; reports arrange and format what the results hold.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

__all__ = ["write_all"]


def write_all(run, folder, *, timings: dict | None = None, progress=None) -> Path:
    """Write ``report.html``, ``protocol.md``, ``tables/``, ``figures/`` and
    ``manifest.json`` of ``run`` into ``folder`` (which must exist).

    ``progress(phase, done, total, label)`` is called for the phases ``"tables"``,
    ``"charts"`` (once per design's decision chart), ``"figures"`` (once per figure) and
    ``"writing"``."""
    from dosefind import __version__
    from dosefind.reports.decision_report import decision_parts, write_docx_report
    from dosefind.reports.figures import build_figures
    from dosefind.reports.html import render_html
    from dosefind.reports.manifest import build_manifest
    from dosefind.reports.protocol import render_protocol, summary_lines
    from dosefind.reports.tables import build_tables, md_text, to_markdown
    from dosefind.runner import _now

    def tell(phase, done, total, label=""):
        if progress is not None:
            progress(phase, done, total, label)

    folder = Path(folder)
    t0 = time.perf_counter()
    tell("tables", 0, 1, "building tables")
    tables = build_tables(run)
    tell("tables", 1, 1, f"{len(tables)} tables")
    # decision summary: its table, sentences and one decision chart per design
    parts = decision_parts(run, progress=lambda done, total, label: tell("charts", done, total, label))
    tables.append(parts.table)
    (folder / "tables").mkdir()
    for t in tables:
        t.data.to_csv(folder / "tables" / f"{t.name}.csv", index=False)
        md = f"**{md_text(t.title)}**\n\n{to_markdown(t.display)}\n"
        if t.caption:
            md += f"\n{md_text(t.caption)}\n"
        (folder / "tables" / f"{t.name}.md").write_text(md, encoding="utf-8")
    t1 = time.perf_counter()
    figures = build_figures(run, tables, progress=lambda done, total, label: tell("figures", done, total, label))
    (folder / "figures").mkdir()
    figures += parts.charts
    for f in figures:
        (folder / "figures" / f"{f.name}.png").write_bytes(f.png)
        (folder / "figures" / f"{f.name}.svg").write_bytes(f.svg)
    t2 = time.perf_counter()
    tell("writing", 0, 1, "report.html, protocol.md, results.json")
    lines = summary_lines(run, tables)
    (folder / "report.html").write_text(render_html(run, tables, figures, version=__version__, summary_lines=lines),
                                        encoding="utf-8")
    (folder / "protocol.md").write_text(render_protocol(run, tables, version=__version__), encoding="utf-8")
    (folder / "results.json").write_text(json.dumps(run.to_dict(), indent=1), encoding="utf-8")
    write_docx_report(run, folder, tables, figures, parts, version=__version__,
                      protocol=(folder / "protocol.md").read_text(encoding="utf-8"))
    t3 = time.perf_counter()
    run.timings.update({"tables": t1 - t0, "figures": t2 - t1, "html_protocol": t3 - t2})
    if timings:
        run.timings.update(timings)
    run.finished_at = _now()

    manifest = build_manifest(run, folder, version=__version__)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    tell("writing", 1, 1, "done")
    return folder
