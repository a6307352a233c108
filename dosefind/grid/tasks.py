"""Tasks of a grid: (cell, block) Monte Carlo blocks and exact cells.

A task is a plain tuple ``(kind, cell, block)`` that any scheduler can ship to a worker
process; :func:`run_task` rebuilds the cell's design from the cell's own study text
(through :func:`dosefind.study.parse_study`, the one design factory) and returns the
block's :class:`~dosefind.simulations._kernel.Tally`.  The engine code is the library's:
block ``b`` of cell ``c`` is chunk ``b`` of
``simulate_mc(design, p, n_trials, c.seed, chunk_size=c.block_size)``, so a whole cell
equals that call bit for bit, and with ``block_size = 10000`` (the library's chunk) it
equals ``simulate(design, p, n_trials=..., seed=c.seed, method="mc")``.

A calendar-time cell (the grid file has a ``[trial]`` table) runs its blocks on the
calendar engine the same way: block ``b`` is chunk ``b`` of
``simulate_calendar(design, setup, p, n_trials, c.seed, ...)``, with the setup built by
:func:`dosefind.simulations.calendar_setup` from the cell's ``[trial]`` table, so a cell
with ``block_size = 10000`` equals ``simulate(..., seed=c.seed, **study.calendar)``.

Tallies are integer sums (calendar arrays are kept per block), and :func:`assemble`
merges a cell's blocks in block order, so the result does not depend on which worker ran
which block or when.
"""

from __future__ import annotations

import numpy as np

from dosefind.grid.spec import Cell

__all__ = ["run_task", "assemble", "design_of", "initial_tasks", "block_tasks"]

#: Per-process cache: (study text, design label) -> design.  Keyed on the design, not the
#: cell, so the scenarios of one parameter set share one design and so one decision table
#: (dosefind.simulations.tables: decisions are a pure function of the trial state).
_CACHE: dict = {}
_CACHE_SIZE = 64


def remember(study_text: str, label: str, design) -> None:
    """Keep a design built while parsing the grid (this process runs its first cells)."""
    if len(_CACHE) < _CACHE_SIZE and (study_text, label) not in _CACHE:
        _CACHE[(study_text, label)] = design


def design_of(cell: Cell):
    """The design of ``cell``, built by the study factory (cached per process)."""
    return _entry(cell)


def _entry(cell: Cell):
    key = (cell.study_text, cell.design)
    hit = _CACHE.get(key)
    if hit is None:
        hit = _build(cell)
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = hit
    return hit


def _build(cell: Cell):
    import json
    from pathlib import Path

    from dosefind.study import parse_study_doc

    study = parse_study_doc(json.loads(cell.study_text), source=f"<grid cell {cell.index + 1}>",
                            base_dir=None if cell.base_dir is None else Path(cell.base_dir), text=cell.study_text)
    return next(s.design for s in study.designs if s.label == cell.design)


_SETUPS: dict = {}


def calendar_setup_of(cell: Cell):
    """The calendar setup of a calendar-time cell, from its [trial] table (cached per process)."""
    import json

    hit = _SETUPS.get(cell.study_text)
    if hit is None:
        from dosefind.simulations import calendar_setup
        from dosefind.simulations.timing import calendar_settings

        kwargs = calendar_settings(json.loads(cell.study_text).get("trial", {}))
        if len(_SETUPS) >= _CACHE_SIZE:
            _SETUPS.pop(next(iter(_SETUPS)))
        hit = _SETUPS[cell.study_text] = calendar_setup(_entry(cell), **kwargs)
    return hit


def _above(cell: Cell) -> np.ndarray:
    from dosefind.simulations.results import above_mtd_mask

    return above_mtd_mask(cell.true_prob_tox, cell.target, None)


def initial_tasks(cells) -> list[tuple]:
    """Blocks of Monte Carlo cells; one exact task per exact/auto cell (cell order)."""
    out = []
    for c in cells:
        out.extend(block_tasks(c) if c.method == "mc" else [("exact", c, None)])
    return out


def block_tasks(cell: Cell) -> list[tuple]:
    return [("block", cell, b) for b in range(cell.n_blocks)]


def run_task(task: tuple):
    """Run one task; returns ``(cell index, block or None, tally or None)``.

    An ``auto`` cell whose state space is too large for the exact engine returns a None
    tally: the runner then schedules its Monte Carlo blocks.
    """
    kind, cell, block = task
    design = _entry(cell)
    p = np.asarray(cell.true_prob_tox, dtype=np.float64)
    above = _above(cell)
    if kind == "block":
        size = cell.block_sizes()[block]
        if cell.calendar:
            from dosefind.simulations.calendar import _run_task as calendar_block

            return cell.index, block, calendar_block(design, calendar_setup_of(cell), p, cell.seed,
                                                     [(block, size)], above)
        from dosefind.simulations.monte_carlo import tally_chunks

        return cell.index, block, tally_chunks(design, p, cell.seed, [(block, size)], above)
    from dosefind.simulations import exact_state_cap
    from dosefind.simulations.exact import StateSpaceTooLarge, simulate_exact

    try:
        return cell.index, None, simulate_exact(design, p, above, max_states=exact_state_cap(design, cell.method))
    except StateSpaceTooLarge:
        if cell.method == "exact":
            raise
        return cell.index, None, None


def assemble(cell: Cell, tallies: dict, exact: bool):
    """The cell's OperatingCharacteristics from its tallies (``{block: tally}``)."""
    from dosefind.simulations._kernel import Tally
    from dosefind.simulations.results import OperatingCharacteristics

    design = design_of(cell)
    extra = {}
    if exact:
        tally = tallies[None]
    elif cell.calendar:
        from dosefind.simulations.calendar import CalendarTally

        tally, cal = Tally(design.num_doses), CalendarTally()
        for b in sorted(tallies):
            tally.merge(tallies[b][0])
            cal.merge(tallies[b][1])
        setup = calendar_setup_of(cell)
        extra = {"calendar": cal.arrays(), "setup": setup.to_dict()}
    else:
        tally = Tally(design.num_doses)
        for b in sorted(tallies):
            tally.merge(tallies[b])
    return OperatingCharacteristics.from_tally(
        tally, design=design, true_prob_tox=cell.true_prob_tox, method="exact" if exact else "mc",
        n_trials=None if exact else cell.n_trials, seed=None if exact else cell.seed, target=cell.target,
        acceptable=None, scenario=cell.scenario, dose_labels=tuple(design.doses.labels), **extra)
