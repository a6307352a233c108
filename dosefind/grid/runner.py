"""Running a grid: plan the tasks, run them on a scheduler, write each cell as it finishes.

:func:`run_grid` is what ``dosefind grid`` calls.  Order of work: check ``--out``
(nothing written yet), take the folder's lock, connect the scheduler (a scheduler that does not answer fails
here, still with nothing written), then create the folder and skip every cell already
written there.  Progress is reported to a callback (nothing below the CLI prints).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from dosefind.grid.spec import Grid
from dosefind.grid.store import GridStore, check_out, require_pyarrow
from dosefind.grid.tasks import assemble, block_tasks, initial_tasks, run_task

__all__ = ["run_grid", "GridRun", "Progress", "estimate_cost"]


@dataclass
class Progress:
    """A progress report: after each finished cell (and once at the start)."""

    done: int                 # cells written (including those found finished)
    total: int
    skipped: int              # cells found finished at the start (not recomputed)
    trials_done: int          # trials simulated by this run
    elapsed_s: float
    dashboard: str | None
    scheduler: str
    last_cell: int | None = None   # 1-based

    @property
    def trials_per_s(self) -> float | None:
        return self.trials_done / self.elapsed_s if self.elapsed_s > 0 and self.trials_done else None

    @property
    def eta_s(self) -> float | None:
        computed = self.done - self.skipped
        left = self.total - self.done
        if computed <= 0:
            return None
        return self.elapsed_s / computed * left


@dataclass
class GridRun:
    out: Path
    run_id: str
    computed: list            # 0-based cells computed by this run
    skipped: list             # 0-based cells found finished
    elapsed_s: float
    dashboard: str | None


def run_grid(grid: Grid, out, *, scheduler="serial", resume: bool = False, n_workers: int | None = None,
             progress: Callable[[Progress], None] | None = None, timeout: float | None = None) -> GridRun:
    """Run (or finish) ``grid`` into the folder ``out``; ``scheduler`` is "serial", "local",
    a Dask address, or a scheduler object (:mod:`dosefind.grid.schedulers`).

    One run at a time per folder: the run holds the output lock of
    :class:`dosefind.reports.output.OutputLock` (``.<name>.dosefind-lock`` beside ``out``)
    from before the scheduler starts until the last cell is written, so a second run into
    the same folder (with ``--resume`` or not) is refused at once, and never interleaves its
    cells with this one's."""
    from dosefind.grid.schedulers import CONNECT_TIMEOUT
    from dosefind.reports.output import OutputLock

    require_pyarrow()
    out = Path(out)
    check_out(out, grid, resume)                # before the lock: a refused folder gets no lock file
    with OutputLock(out, what="this grid folder"):
        check_out(out, grid, resume)            # again under the lock: another run may have just finished
        return _run_locked(grid, out, scheduler=scheduler, n_workers=n_workers, progress=progress,
                           timeout=timeout or CONNECT_TIMEOUT)


def _run_locked(grid, out, *, scheduler, n_workers, progress, timeout) -> GridRun:
    from dosefind.grid.schedulers import make_scheduler

    sched = make_scheduler(scheduler, n_workers=n_workers, timeout=timeout) if isinstance(scheduler, str) \
        else scheduler
    own = isinstance(scheduler, str)
    try:
        store = GridStore(out, grid).open()
        finished = store.finished()
        todo, twins, first_of = [], {}, {}
        for c in grid.cells:
            if c.index in finished:
                continue
            # Cells of identical content (e.g. a BOIN in rows that vary only a CRM option)
            # have the same seed and result: simulate once, write each.
            if c.key in first_of:
                twins[first_of[c.key]].append(c)
            else:
                first_of[c.key] = c.index
                twins[c.index] = []
                todo.append(c)
        t0 = time.perf_counter()
        state = {"done": len(finished), "trials": 0}
        computed = []

        def report(last=None):
            if progress is not None:
                progress(Progress(done=state["done"], total=grid.n_cells, skipped=len(finished),
                                  trials_done=state["trials"], elapsed_s=time.perf_counter() - t0,
                                  dashboard=sched.dashboard, scheduler=getattr(sched, "name", "?"),
                                  last_cell=last))

        report()
        by_index = {c.index: c for c in todo}
        pending = {c.index: (c.n_blocks if c.method == "mc" else 1) for c in todo}
        tallies: dict = {c.index: {} for c in todo}
        started = {c.index: None for c in todo}
        fallback = []

        def finish(cell, exact):
            oc = assemble(cell, tallies.pop(cell.index), exact)
            elapsed = time.perf_counter() - (started[cell.index] or t0)
            for c in (cell, *twins[cell.index]):
                store.write_cell(c, oc, elapsed)
                computed.append(c.index)
                state["done"] += 1
                report(c.index + 1)

        def consume(results, exact_phase):
            for index, block, tally in results:
                cell = by_index[index]
                if started[index] is None:
                    started[index] = time.perf_counter()
                if exact_phase and block is None and cell.method != "mc":
                    if tally is None:  # auto: too many states for the exact engine
                        fallback.append(cell)
                        pending[index] = cell.n_blocks
                        continue
                    tallies[index][None] = tally
                    finish(cell, True)
                    continue
                tallies[index][block] = tally
                state["trials"] += cell.block_sizes()[block]
                pending[index] -= 1
                if pending[index] == 0:
                    finish(cell, False)

        consume(sched.map_unordered(run_task, initial_tasks(todo)), True)
        if fallback:
            consume(sched.map_unordered(run_task, [t for c in fallback for t in block_tasks(c)]), False)
        store.consolidate()
        return GridRun(out=out, run_id=store.run_id, computed=computed, skipped=sorted(finished),
                       elapsed_s=time.perf_counter() - t0, dashboard=sched.dashboard)
    finally:
        if own:
            sched.close()


def estimate_cost(grid: Grid, *, probe_trials: int = 2000) -> dict:
    """Cell and task counts, and an estimate of CPU seconds from a short probe per design.

    The probe simulates, in this process, one fresh cell of ``min(n_trials,
    probe_trials)`` trials for the first cell of each design (set-up and decision cache
    included, as every cell pays them).  Per-trial cost falls as a cell grows (decisions
    are cached per distinct trial state), so for cells larger than the probe the
    estimate errs high.  Exact cells are counted as one probe each (a rough figure).
    """
    from dataclasses import replace

    from dosefind.grid import tasks

    cost = {}
    for cell in grid.cells:
        if cell.design in cost:
            continue
        n = min(cell.n_trials, probe_trials)
        probe = replace(cell, method="mc", n_trials=n, block_size=n)
        tasks._CACHE.pop((cell.study_text, cell.design), None)
        t = time.perf_counter()
        run_task(("block", probe, 0))
        cost[cell.design] = (time.perf_counter() - t) / n
        tasks._CACHE.pop((cell.study_text, cell.design), None)
    cpu = sum(cost[c.design] * (c.n_trials if c.method != "exact" else min(c.n_trials, probe_trials))
              for c in grid.cells)
    return {"cells": grid.n_cells, "parameter_sets": len(grid.sets), "designs": len(grid.designs),
            "scenarios": len(grid.scenarios), "tasks": grid.n_tasks, "trials": grid.n_trials_total,
            "cpu_seconds": cpu, "seconds_per_trial": cost}
