"""Grid files: a study file plus a ``[grid]`` table of parameter values.

A grid file is a study file (``[study]``, ``[doses]``, ``[[designs]]``, ``[[scenarios]]``;
docs/study-file.md) with one more table::

    [grid]
    combine = "product"        # or "rows": the i-th values of every parameter form row i
    block_size = 10000         # trials per task (part of the result: fixed by the file)
    common_random_numbers = false

    [[grid.parameters]]
    name = "CRM.skeleton.halfwidth"   # <design label>.<option>[.<key of a table option>]
    values = [0.03, 0.05, 0.07]

    [[grid.parameters]]
    name = "study.max_n"              # study.{target, max_n, cohort_size, start_dose}
    values = [18, 24]

    [[grid.parameters]]
    name = "trial.patients_per_month" # a [trial] key: calendar-time cells (docs/calendar.md)
    values = [1, 2, 4]

Every *parameter set* (a row of the expanded grid) is written back into the study
tables and validated by :func:`dosefind.study.parse_study_doc`, so designs come from the one
design factory and every message is the study file's.  A *cell* is one parameter set x
one design x one scenario: one operating-characteristics result.

A CRM's ``prior_var`` may be ``"least_informative"``: the cell then uses sigma_LI^2 of
its own skeleton (Lee & Cheung 2011; :mod:`dosefind.designs.prior_variance`), resolved
by the study parser as in any study file.

Scenarios drawn from a fitted prior (``prior = ...`` with ``draws`` or ``summary``) are
resolved once, when the grid is parsed, by :func:`dosefind.runner.resolve_scenarios`
(the ``run`` command's code): each drawn curve is one scenario of every parameter set.

Seeds: cell ``c`` simulates with the integer seed drawn from
``SeedSequence(study.seed, spawn_key=(key_c,))``, where ``key_c`` is a 63-bit hash of
the cell's content (design options, study values, scenario curve) -- or of the scenario
alone when ``common_random_numbers = true`` (then all designs and parameter values see
the same patients in a scenario, as ``compare`` does).  Block ``b`` of the cell draws
from ``SeedSequence(cell_seed, spawn_key=(b,))``.  Neither depends on the worker, the
scheduler or the order cells run in.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from copy import deepcopy
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dosefind.study import LEAST_INFORMATIVE

__all__ = ["Cell", "Grid", "load_grid", "parse_grid", "LEAST_INFORMATIVE", "STUDY_PARAMETERS", "TRIAL_PARAMETERS",
           "MAX_CELLS"]

GRID_KEYS = {
    "combine": "\"product\" (every combination, default) or \"rows\" (the i-th values form row i)",
    "block_size": "simulated trials per task (default 10000)",
    "common_random_numbers": "true: all cells of a scenario share patients (default false)",
    "parameters": "one [[grid.parameters]] table per parameter, with name and values",
}
PARAMETER_KEYS = ("name", "values")
COMBINE = ("product", "rows")
#: Study-level values a grid may vary (others, e.g. n_trials and seed, are fixed per grid).
STUDY_PARAMETERS = ("target", "max_n", "cohort_size", "start_dose")
#: [trial] keys a grid may vary (calendar time: accrual rate, DLT window, ...).
TRIAL_PARAMETERS = ("patients_per_month", "accrual", "accrual_cap", "dlt_window", "timing", "late_onset",
                    "manufacturing_failure", "vein_to_vein", "replace")
DEFAULT_BLOCK_SIZE = 10_000
MAX_CELLS = 1_000_000
FORMAT = "dosefind-grid/1"


@dataclass(frozen=True)
class Cell:
    """One parameter set x design x scenario.  ``index`` is 0-based; people see ``index + 1``."""

    index: int
    set_index: int
    params: tuple                # ((name, value as written), ...)
    design: str
    design_type: str
    scenario: str
    true_prob_tox: tuple
    n_trials: int
    method: str
    block_size: int
    target: float
    seed: int
    key: str                     # sha256 of the cell's content
    study_text: str = field(repr=False, compare=False, default="")   # JSON of the set's study tables
    calendar: bool = False       # a [trial] table: the cell runs in calendar time
    base_dir: str | None = field(repr=False, compare=False, default=None)

    @property
    def n_blocks(self) -> int:
        return -(-self.n_trials // self.block_size)

    def block_sizes(self) -> list[int]:
        full, rest = divmod(self.n_trials, self.block_size)
        return [self.block_size] * full + ([rest] if rest else [])


@dataclass(frozen=True)
class Grid:
    source: str
    sha256: str                  # of the file's bytes
    grid_hash: str               # of the normalised grid (the cells' content, in order)
    title: str
    combine: str
    block_size: int
    common_random_numbers: bool
    parameters: tuple            # ((name, (values...)), ...)
    sets: tuple                  # ({name: value}, ...)
    cells: tuple
    designs: tuple               # labels, in file order
    scenarios: tuple             # names, in file order

    @property
    def n_cells(self) -> int:
        return len(self.cells)

    @property
    def n_trials_total(self) -> int:
        return sum(c.n_trials for c in self.cells)

    @property
    def n_tasks(self) -> int:
        return sum(c.n_blocks if c.method == "mc" else 1 for c in self.cells)

    def param_names(self) -> list[str]:
        return [n for n, _ in self.parameters]


def load_grid(path) -> Grid:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"grid file not found: {path}")
    if path.is_dir():
        raise ValueError(f"{path}: is a folder; give a grid file (.toml) with a [grid] table")
    return parse_grid(path.read_bytes(), source=str(path), base_dir=path.resolve().parent)


def _err(source, key, problem):
    return ValueError(f"{source}: {key}: {problem}" if key else f"{source}: {problem}")


def parse_grid(data: bytes | str, *, source: str = "<grid>", base_dir: Path | None = None) -> Grid:
    """Validate a grid file and expand it into cells (nothing is simulated)."""
    from dosefind.grid.tasks import remember
    from dosefind.study import parse_study_doc, read_toml

    doc, _, file_sha256 = read_toml(data, source=source)   # the study file's reader and messages
    if "grid" not in doc:
        raise _err(source, "[grid]", "missing table; a grid file is a study file plus a [grid] table with "
                                     "[[grid.parameters]] name = \"CRM.prior_var\", values = [...]")
    grid = doc.pop("grid")
    if not isinstance(grid, dict):
        raise _err(source, "grid", "must be a table ([grid])")
    for k in grid:
        if k not in GRID_KEYS:
            raise _err(source, f"grid.{k}", f"unknown key; allowed keys: {', '.join(sorted(GRID_KEYS))}")
    combine = grid.get("combine", "product")
    if combine not in COMBINE:
        raise _err(source, "grid.combine", f"must be one of {', '.join(COMBINE)}, got {combine!r}")
    block_size = grid.get("block_size", DEFAULT_BLOCK_SIZE)
    if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
        raise _err(source, "grid.block_size", f"must be a whole number >= 1, got {block_size!r}")
    crn = grid.get("common_random_numbers", False)
    if not isinstance(crn, bool):
        raise _err(source, "grid.common_random_numbers", f"must be true or false, got {crn!r}")

    from dosefind.runner import resolve_scenarios

    base = parse_study_doc(doc, source=source, base_dir=base_dir)
    # Prior scenarios (draws or a summary curve of a fit) resolved once: every parameter
    # set sees the same curves (a grid parameter never changes doses, seed or priors).
    scenarios = [(s.name, tuple(s.true_prob_tox)) for s in resolve_scenarios(base)[0]]
    labels = [d.label for d in base.designs]
    params = _parse_parameters(source, grid.get("parameters"), labels, doc)
    names = [n for n, _ in params]
    if combine == "product":
        n_sets = math.prod(len(v) for _, v in params)
        if n_sets * len(labels) * len(scenarios) > MAX_CELLS:
            raise _err(source, "grid", f"expands to {n_sets * len(labels) * len(scenarios):,} cells; "
                                       f"at most {MAX_CELLS:,} are allowed")
        rows = list(itertools.product(*[v for _, v in params]))
    else:
        lengths = {n: len(v) for n, v in params}
        if len(set(lengths.values())) != 1:
            raise _err(source, "grid.parameters", "with combine = \"rows\" every parameter needs the same number "
                                                  f"of values, got {lengths}")
        rows = list(zip(*[v for _, v in params]))
    sets = tuple(dict(zip(names, row)) for row in rows)

    cells = []
    for si, values in enumerate(sets):
        label = ", ".join(f"{n}={_show(v)}" for n, v in values.items())
        where = f"{source} (grid row {si + 1}: {label})"
        study, text = _set_study(doc, values, labels, where, base_dir)
        calendar = bool(study.trial)
        method = "mc" if calendar else study.method  # calendar time is Monte Carlo only
        for spec in study.designs:
            remember(text, spec.label, spec.design)
            design_key = json.dumps({"type": spec.type, "options": _plain(spec.options)}, sort_keys=True)
            for sc_name, curve in scenarios:
                content = {"design": spec.label, "design_options": json.loads(design_key),
                           "study": {k: getattr(study, k) for k in ("target", "max_n", "cohort_size", "start_dose",
                                                                     "n_trials", "method", "seed")},
                           "doses": list(study.doses.labels), "scenario": sc_name,
                           "true_prob_tox": list(curve), "block_size": block_size}
                if calendar:  # older grids (no [trial]) keep their hashes and seeds
                    content["trial"] = _plain(study.trial)
                key = _sha(content)
                seed_content = ({"scenario": sc_name, "true_prob_tox": list(curve)} if crn else content)
                cells.append(Cell(index=len(cells), set_index=si, params=tuple(values.items()), design=spec.label,
                                  design_type=spec.type, scenario=sc_name, true_prob_tox=curve,
                                  n_trials=study.n_trials, method=method, block_size=block_size,
                                  target=study.target, seed=cell_seed(study.seed, seed_content), key=key,
                                  study_text=text, calendar=calendar,
                                  base_dir=None if base_dir is None else str(base_dir)))
    grid_hash = _sha({"format": FORMAT, "cells": [c.key for c in cells], "crn": crn,
                      "params": [[n, [_plain(v) for v in vals]] for n, vals in params]})
    return Grid(source=source, sha256=file_sha256, grid_hash=grid_hash, title=base.title,
                combine=combine, block_size=block_size, common_random_numbers=crn,
                parameters=tuple((n, tuple(v)) for n, v in params), sets=sets, cells=tuple(cells),
                designs=tuple(labels), scenarios=tuple(n for n, _ in scenarios))


def cell_seed(seed: int, content: dict) -> int:
    """Integer seed of a cell: a function of the study seed and the cell's content only."""
    key = int(hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16], 16) >> 1
    state = np.random.SeedSequence(seed, spawn_key=(key,)).generate_state(1, np.uint64)[0]
    return int(state) >> 1


def _sha(obj) -> str:
    return hashlib.sha256(json.dumps(_plain(obj), sort_keys=True).encode()).hexdigest()


def _plain(obj):
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def _show(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _parse_parameters(source, items, labels, doc):
    if items is None:
        raise _err(source, "grid.parameters", "missing; add [[grid.parameters]] tables with name and values, "
                                              "e.g. name = \"CRM.prior_var\", values = [0.5, 1.34]")
    if not isinstance(items, list) or not all(isinstance(x, dict) for x in items):
        raise _err(source, "grid.parameters", "must be [[grid.parameters]] tables with name and values")
    if not items:
        raise _err(source, "grid.parameters", "the grid is empty; give at least one parameter with values")
    out, seen = [], set()
    for i, tbl in enumerate(items, start=1):
        key = f"grid.parameters[{i}]"
        for k in tbl:
            if k not in PARAMETER_KEYS:
                raise _err(source, f"{key}.{k}", f"unknown key; allowed keys: {', '.join(PARAMETER_KEYS)}")
        name = tbl.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _err(source, f"{key}.name", f"missing or empty; e.g. \"CRM.prior_var\" or \"study.max_n\", "
                                              f"got {name!r}")
        if name in seen:
            raise _err(source, f"{key}.name", f"{name!r} is listed twice")
        seen.add(name)
        key = f"{key} ({name})"
        values = tbl.get("values")
        if not isinstance(values, list):
            raise _err(source, f"{key}.values", f"must be a list of values, e.g. values = [0.5, 1.34], got {values!r}")
        if not values:
            raise _err(source, f"{key}.values", "is empty: the grid would have no cells")
        if len({json.dumps(v, sort_keys=True) for v in values}) != len(values):
            raise _err(source, f"{key}.values", f"lists a value twice: {values}")
        _check_name(source, key, name, labels, doc)
        out.append((name, list(values)))
    return out


def _check_name(source, key, name, labels, doc):
    from dosefind.study import closest as _closest

    head, _, rest = name.partition(".")
    if head == "study":
        if rest not in STUDY_PARAMETERS:
            raise _err(source, f"{key}.name", f"unknown parameter {name!r}{_closest(rest, STUDY_PARAMETERS)}; "
                                              f"study parameters: {', '.join('study.' + p for p in STUDY_PARAMETERS)}")
        return
    if head == "trial":
        if rest not in TRIAL_PARAMETERS:
            raise _err(source, f"{key}.name", f"unknown parameter {name!r}{_closest(rest, TRIAL_PARAMETERS)}; "
                                              f"trial parameters: {', '.join('trial.' + p for p in TRIAL_PARAMETERS)}")
        if not isinstance(doc.get("trial"), dict):
            raise _err(source, f"{key}.name", f"{name!r} needs a [trial] table (calendar time: dlt_window and "
                                              f"patients_per_month; docs/calendar.md)")
        return
    if head not in labels:
        raise _err(source, f"{key}.name", f"unknown parameter {name!r}: no design labelled {head!r}"
                                          f"{_closest(head, labels)}; name parameters <design label>.<option> "
                                          f"(designs: {', '.join(labels)}), study.<{'|'.join(STUDY_PARAMETERS)}> "
                                          f"or trial.<key>")
    if not rest:
        raise _err(source, f"{key}.name", f"{name!r} names no option; e.g. \"{head}.cohort_size\"")
    # Whether the option exists is checked by the study parser on the first row, which
    # names the key and suggests the closest one.


def _set_study(doc, values, labels, where, base_dir):
    """Study of one parameter set: the values written into the tables, then validated.
    Returns the study and the canonical JSON of its tables (what a worker rebuilds it from)."""
    from dosefind.study import parse_study_doc

    d = deepcopy(doc)
    tables = d.get("designs", [])
    by_label = {lab: tables[i] for i, lab in enumerate(labels)}
    for name, value in values.items():
        head, _, rest = name.partition(".")
        target = d.setdefault(head, {}) if head in ("study", "trial") else by_label[head]
        *path, last = rest.split(".")
        for p in path:
            sub = target.get(p)
            if sub is None:
                sub = target[p] = {}
            if not isinstance(sub, dict):
                raise ValueError(f"{where}: {name}: {head}.{p} is {sub!r}, not a table, so it has no key {last!r}")
            target = sub
        target[last] = deepcopy(value)
    text = study_json(d)
    return parse_study_doc(d, source=where, base_dir=base_dir, text=text), text


def study_json(doc: dict) -> str:
    """Canonical JSON of study tables (sorted keys): a cell's study, shipped to workers."""
    return json.dumps(_plain(doc), sort_keys=True, allow_nan=True)
