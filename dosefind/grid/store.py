"""The output folder of a grid: one Parquet file per finished cell, written atomically.

Layout of ``--out``::

    grid.json                 format, grid hash, source, cell count, runs (written by dosefind)
    cells/cell-000001.parquet one row per finished cell (parameters, seed, metrics, per-dose lists)
    results.parquet           all finished cells, one row each (rewritten after each run)
    doses.parquet             the per-dose table: one row per cell and dose

A cell file is written to a temporary name in the same folder and renamed into place
(``os.replace`` is atomic), so a cell is either absent or complete, whatever kills the
run.  A folder is resumed only when its ``grid.json`` carries the same grid hash (the
hash of the normalised grid: its cells' content and order, not the file's comments or
titles); dosefind never writes into a folder it did not create.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

from dosefind.grid.spec import FORMAT, Grid

__all__ = ["check_out", "GridStore", "read_results", "require_pyarrow", "PER_DOSE", "SCALARS"]

SCALARS = ("pcs", "overdose_selection_pct", "overdose_patients_pct", "overdose60_pct", "overdose80_pct",
           "no_selection_pct", "early_stop_pct", "n_mean", "dlt_total_mean")
PER_DOSE = ("selection_pct", "patients_mean", "patients_pct", "dlt_mean")
MANIFEST = "grid.json"
CELLS = "cells"


def require_pyarrow():
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise ImportError("grid results are written as Parquet, which needs pyarrow: "
                          "pip install \"dosefind[grid]\" (or \"dosefind[distributed]\" for Dask)") from None
    return pyarrow


def _cell_name(index: int) -> str:
    return f"cell-{index + 1:06d}.parquet"


def check_out(out, grid: Grid, resume: bool) -> str:
    """Whether ``out`` can take this grid: "new" or "resume"; raises ValueError otherwise.

    Nothing is written.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out}: is a file, not a folder")
    if not out.exists() or not any(out.iterdir()):
        return "new"
    manifest = out / MANIFEST
    if not manifest.is_file():
        raise ValueError(f"--out {out}: the folder is not empty and holds no grid results written by dosefind "
                         f"({MANIFEST} is missing); choose an empty or new folder")
    try:
        info = json.loads(manifest.read_text())
    except (OSError, ValueError):
        raise ValueError(f"--out {out}: {MANIFEST} is unreadable; choose another folder") from None
    if info.get("grid_hash") != grid.grid_hash:
        raise ValueError(f"--out {out}: holds the results of another grid ({info.get('source', '?')}, hash "
                         f"{str(info.get('grid_hash'))[:12]}, {info.get('n_cells', '?')} cells), not of this one "
                         f"(hash {grid.grid_hash[:12]}); choose another --out")
    done = len(list((out / CELLS).glob("cell-*.parquet"))) if (out / CELLS).is_dir() else 0
    if not resume:
        raise ValueError(f"--out {out}: already holds {done} of {grid.n_cells} cells of this grid; "
                         f"pass --resume to finish it (finished cells are kept, never recomputed)")
    return "resume"


def _atomic_write_text(path: Path, text: str):
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class GridStore:
    """Writes cells of ``grid`` into ``out`` (created if needed)."""

    def __init__(self, out, grid: Grid, run_id: str | None = None):
        require_pyarrow()
        self.out = Path(out)
        self.grid = grid
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.cells_dir = self.out / CELLS
        self._schema = None
        self._written = {}  # cell index -> its one-row table (read back only for older cells)

    # ------------------------------------------------------------ folder
    def open(self):
        self.cells_dir.mkdir(parents=True, exist_ok=True)
        for tmp in self.cells_dir.glob(".*.tmp"):  # left by a killed run: ours, never a result
            tmp.unlink(missing_ok=True)
        manifest = self.out / MANIFEST
        info = json.loads(manifest.read_text()) if manifest.is_file() else {
            "format": FORMAT, "grid_hash": self.grid.grid_hash, "source": self.grid.source,
            "sha256": self.grid.sha256, "n_cells": self.grid.n_cells,
            "parameters": [[n, list(v)] for n, v in self.grid.parameters], "runs": []}
        info["runs"].append({"run_id": self.run_id, "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        _atomic_write_text(manifest, json.dumps(info, indent=2))
        return self

    def finished(self) -> set[int]:
        """0-based indexes of the cells already written."""
        if not self.cells_dir.is_dir():
            return set()
        return {int(p.stem.split("-")[1]) - 1 for p in self.cells_dir.glob("cell-*.parquet")}

    # ------------------------------------------------------------ cells
    def schema(self):
        if self._schema is None:
            import pyarrow as pa

            f64, lf = pa.float64(), pa.list_(pa.float64())
            fields = [("cell", pa.int64()), ("set", pa.int64()), ("design", pa.string()),
                      ("design_type", pa.string()), ("scenario", pa.string())]
            fields += [(name, _param_type(values)) for name, values in self.grid.parameters]
            fields += [("method", pa.string()), ("n_trials", pa.int64()), ("seed", pa.int64()),
                       ("block_size", pa.int64()), ("target", f64), ("true_prob_tox", lf),
                       ("correct_doses", pa.list_(pa.int64())), ("true_mtd", pa.int64())]
            for k in SCALARS:
                fields += [(k, f64), (k + "_se", f64)]
            for k in PER_DOSE:
                fields += [(k, lf), (k + "_se", lf)]
            # calendar-time cells ([trial]): mean trial duration in days, and every calendar
            # row of the result as JSON {name: [value, se]}; null for cohort-engine cells
            fields += [("duration_mean", f64), ("duration_mean_se", f64), ("calendar", pa.string())]
            fields += [("dose_labels", pa.list_(pa.string())), ("stop_reasons", pa.string()),
                       ("elapsed_s", f64), ("run_id", pa.string()), ("cell_key", pa.string())]
            self._schema = pa.schema(fields)
        return self._schema

    def write_cell(self, cell, oc, elapsed: float) -> Path:
        import pyarrow as pa
        import pyarrow.parquet as pq

        row = {"cell": cell.index + 1, "set": cell.set_index + 1, "design": cell.design,
               "design_type": cell.design_type, "scenario": cell.scenario}
        for name, value in cell.params:
            row[name] = _param_value(value, self.schema().field(name).type)
        row.update({"method": oc.method, "n_trials": oc.n_trials, "seed": oc.seed, "block_size": cell.block_size,
                    "target": cell.target, "true_prob_tox": list(cell.true_prob_tox),
                    "correct_doses": [i + 1 for i in oc.correct],
                    "true_mtd": None if oc.true_mtd is None or oc.true_mtd < 0 else oc.true_mtd + 1})
        for k in SCALARS:
            row[k], row[k + "_se"] = _f(oc.values[k]), _f(oc.se[k])
        for k in PER_DOSE:
            row[k] = [float(x) for x in oc.values[k]]
            row[k + "_se"] = [float(x) for x in oc.se[k]]
        cal = oc.calendar_rows()
        duration = cal.get("duration_mean", (None, None))
        row.update({"duration_mean": _f(duration[0]), "duration_mean_se": _f(duration[1]),
                    "calendar": json.dumps({k: [_f(v), _f(se)] for k, (v, se) in cal.items()}) if cal else None})
        row.update({"dose_labels": list(oc.dose_labels), "stop_reasons": json.dumps(oc.stop_reasons),
                    "elapsed_s": float(elapsed), "run_id": self.run_id, "cell_key": cell.key})
        table = pa.Table.from_pylist([row], schema=self.schema())
        path = self.cells_dir / _cell_name(cell.index)
        tmp = self.cells_dir / f".{path.name}.{uuid.uuid4().hex[:8]}.tmp"
        pq.write_table(table, tmp)
        os.replace(tmp, path)
        self._written[cell.index] = table
        return path

    def consolidate(self):
        """Write results.parquet and doses.parquet from the finished cells."""
        import pyarrow.parquet as pq

        import pyarrow as pa

        parts = []
        for f in sorted(self.cells_dir.glob("cell-*.parquet")):
            index = int(f.stem.split("-")[1]) - 1
            parts.append(self._written[index] if index in self._written else pq.read_table(f))
        table = pa.concat_tables(parts)
        tmp = self.out / f".results.{uuid.uuid4().hex[:8]}.tmp"
        pq.write_table(table, tmp)
        os.replace(tmp, self.out / "results.parquet")
        doses = _dose_table(table, [n for n, _ in self.grid.parameters])
        tmp = self.out / f".doses.{uuid.uuid4().hex[:8]}.tmp"
        pq.write_table(doses, tmp)
        os.replace(tmp, self.out / "doses.parquet")


def read_results(out, *, as_table: bool = False):
    """All finished cells of a grid folder, one row each, in cell order (pandas by default)."""
    require_pyarrow()
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = sorted((Path(out) / CELLS).glob("cell-*.parquet"))
    if not files:
        raise ValueError(f"{out}: no finished grid cells")
    table = pa.concat_tables([pq.read_table(f) for f in files])
    return table if as_table else table.to_pandas()


def _dose_table(table, param_names):
    import pyarrow as pa

    rows = []
    for r in table.to_pylist():
        for i, label in enumerate(r["dose_labels"]):
            row = {"cell": r["cell"], "design": r["design"], "scenario": r["scenario"]}
            row.update({n: r[n] for n in param_names})
            row.update({"level": i + 1, "dose": label, "true_prob_tox": r["true_prob_tox"][i]})
            for k in PER_DOSE:
                row[k] = r[k][i]
                row[k + "_se"] = r[k + "_se"][i]
            rows.append(row)
    return pa.Table.from_pylist(rows)


def _f(v):
    return None if v is None else float(v)


def _param_type(values):
    import pyarrow as pa

    if all(isinstance(v, bool) for v in values):
        return pa.bool_()
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return pa.int64()
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return pa.float64()
    return pa.string()


def _param_value(value, typ):
    import pyarrow as pa

    if typ == pa.float64():
        return float(value)
    if typ == pa.string():
        return value if isinstance(value, str) else json.dumps(value)
    return value
