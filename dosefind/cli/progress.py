"""Progress on stderr for long commands: every phase of a run, on a terminal or not.

On a terminal, one bar per phase (tqdm; it clears when the phase ends), refreshed every
second so the elapsed time moves even while one long simulation runs.  When stderr is not
a terminal (a log file, CI, a pipe), plain lines instead: one when a phase starts, one at
most every :data:`LINE_INTERVAL` seconds while it runs (so a long single step still shows
it is alive) and one when it ends, each with the right total::

    dosefind: preparing scenarios done (0.0 s)
    dosefind: simulating 0/6: 3+3 | s1
    dosefind: simulating 6/6 (12.3 s)
    dosefind: drawing figures 0/4: scenario curves
    dosefind: drawing figures 4/4 (1.1 s)

The library reports ``progress(phase, done, total, label)``; this module only prints.
"""

from __future__ import annotations

import sys
import threading
import time

__all__ = ["Progress", "PHASES"]

#: Phase code -> what the user reads.
PHASES = {"scenarios": "preparing scenarios", "simulations": "simulating", "tables": "building tables",
          "charts": "drawing decision charts",
          "figures": "drawing figures", "writing": "writing the report"}
#: Seconds between plain progress lines while a phase runs (not on a terminal).
LINE_INTERVAL = 10.0


class Progress:
    """Callable ``progress(phase, done, total, label)`` printing to ``stream`` (stderr)."""

    def __init__(self, enabled: bool = True, stream=None, *, tty: bool | None = None,
                 interval: float = LINE_INTERVAL, prefix: str = "dosefind", only_slow: bool = False):
        """``only_slow``: plain lines only for a phase that has run ``interval`` seconds
        (a quick command stays silent; a slow one still says it is alive)."""
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.tty = (getattr(self.stream, "isatty", lambda: False)() if tty is None else tty)
        self.interval = interval
        self.prefix = prefix
        self.phase = None
        self.done = self.total = 0
        self.label = ""
        self.started = self.last_line = 0.0
        self.only_slow = only_slow
        self.printed = False
        self.bar = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None

    # ------------------------------------------------------------------ reporting
    def __call__(self, phase: str, done: int, total: int, label: str = "") -> None:
        if not self.enabled:
            return
        with self._lock:
            now = time.monotonic()
            if phase != self.phase:
                self._end_phase()
                self.phase, self.started, self.last_line, self.printed = phase, now, now, False
                self._start_thread()
                if self.tty:
                    from tqdm import tqdm

                    self.bar = tqdm(total=total, file=self.stream, leave=False, dynamic_ncols=True,
                                    desc=f"{PHASES.get(phase, phase)}: {label}" if label else PHASES.get(phase, phase),
                                    unit="step", bar_format="{desc:<44.44} {percentage:3.0f}%|{bar}| "
                                                            "{n}/{total} [{elapsed}<{remaining}]")
            self.done, self.total, self.label = done, total, label
            if self.tty:
                self.bar.total = total
                self.bar.set_description_str(f"{PHASES.get(phase, phase)}: {label}" if label else
                                             PHASES.get(phase, phase), refresh=False)
                self.bar.update(done - self.bar.n)
            elif done >= total and total:
                if self.printed or not self.only_slow:
                    self._line(f"{done}/{total} ({now - self.started:.1f} s)" if total > 1
                               else f"done ({now - self.started:.1f} s)")
                self.last_line = now
            elif (done == 0 and total > 1 and not self.only_slow) or now - self.last_line >= self.interval:
                self._line(f"{done}/{total}: {label}" if label else f"{done}/{total}")
                self.last_line = now

    def _line(self, text: str) -> None:
        self.printed = True
        print(f"{self.prefix}: {PHASES.get(self.phase, self.phase)} {text}", file=self.stream, flush=True)

    def _end_phase(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    # ------------------------------------------------------------------ heartbeat
    def _start_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._beat, name="dosefind-progress", daemon=True)
            self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(1.0 if self.tty else min(self.interval, 1.0)):
            with self._lock:
                if self.phase is None or (self.total and self.done >= self.total):
                    continue
                now = time.monotonic()
                if self.tty and self.bar is not None:
                    self.bar.refresh()
                elif not self.tty and now - self.last_line >= self.interval:
                    step = f"{self.done}/{self.total}" + (f": {self.label}" if self.label else "")
                    self._line(f"{step}, still running ({now - self.started:.0f} s)")
                    self.last_line = now

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        with self._lock:
            self._end_phase()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
