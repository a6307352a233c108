"""Plain-text renderings for the terminal (no statistics here: only layout)."""

from __future__ import annotations

import json
import math
import re

# pandas is not imported here: the quick commands (next-dose, select-mtd) print through
# this module, and pandas costs most of a second of their start-up.


#: What a terminal table calls a results column or row (the JSON and CSV keep the names).
HUMAN_NAMES = {
    "level": "Dose level", "true_prob_tox": "True P(DLT)", "correct": "Correct dose", "above_mtd": "Above MTD",
    "selection_pct": "Selected %", "selection_se": "Selected % SE", "patients_mean": "Patients (mean)",
    "patients_pct": "Patients %", "dlt_mean": "DLTs (mean)", "dlt_se": "DLTs SE",
    "pcs": "Correct selection %", "overdose_selection_pct": "Overdose selection %",
    "overdose_patients_pct": "Patients above MTD %", "overdose60_pct": "Trials >60% of patients above MTD %",
    "overdose80_pct": "Trials >80% of patients above MTD %", "no_selection_pct": "No MTD %",
    "early_stop_pct": "Stopped early %", "n_mean": "Patients (mean)", "dlt_total_mean": "DLTs (mean)",
    "scenario": "Scenario", "design": "Design", "value": "Value", "se": "SE", "dose": "Dose",
    # phase I/II (efficacy block)
    "true_prob_eff": "True P(response)", "true_utility": "True utility", "correct_obd": "Correct OBD",
    "obd_selection_pct": "OBD selected %", "obd_selection_se": "OBD selected % SE",
    "responses_mean": "Responses (mean)", "responses_se": "Responses SE",
    "pct_correct_obd": "Correct OBD %", "obd_no_selection_pct": "No OBD %",
    "obd_overdose_pct": "OBD above MTD %", "utility_selected_mean": "True utility of the OBD (mean)",
    "patients_at_obd_mean": "Patients at the OBD (mean)", "patients_at_obd_pct": "Patients at the OBD %",
    "obd_overdose_patients_pct": "Patients above MTD % (phase I/II)", "response_total_mean": "Responses (mean)",
    "early_stop_toxicity_pct": "Stopped for toxicity %", "early_stop_futility_pct": "Stopped for futility %",
    # calendar time
    "duration_mean": "Duration, days (mean)", "duration_sd": "Duration, days (SD)",
    "enrolled_mean": "Enrolled (mean)", "infused_mean": "Infused (mean)", "failed_mean": "Product failures (mean)",
    "turned_away_mean": "Turned away (mean)", "time_suspended_mean": "Days accrual suspended (mean)",
    "arrivals_mean": "Arrivals (mean)", "backfilled_mean": "Backfilled (mean)",
    "escalation_mean": "Escalation patients (mean)", "unanalysed_mean": "Backfilled, in follow-up at the end (mean)",
}


def _shown(columns, exact: bool) -> list:
    """The columns a terminal table shows: with ``exact``, not the standard errors (all zero:
    exact results have no Monte Carlo error)."""
    return [c for c in columns if not (exact and (c == "se" or str(c).endswith("_se")))]


def human(name):
    """What a terminal table calls a results field (:data:`HUMAN_NAMES`; others unchanged)."""
    return HUMAN_NAMES.get(name, name)


def human_frame(frame, *, exact: bool = False):
    """``frame`` with :data:`HUMAN_NAMES` for its columns, index name and row labels; with
    ``exact``, its standard-error columns dropped.  Only the terminal face: the JSON and CSV
    keep the field names."""
    out = frame[_shown(frame.columns, exact)].copy()
    out = out.rename(columns=human, index=human)
    out.index.name = human(out.index.name)
    return out


def human_table(index, columns: dict, *, index_name=None, exact: bool = False, precision: int = 3) -> str:
    """:func:`frame_text` of a results table given as plain columns, with :func:`human_frame`'s
    names and columns: the terminal table without building a DataFrame."""
    return frame_text([human(i) for i in index], {human(k): columns[k] for k in _shown(columns, exact)},
                      index_name=None if index_name is None else human(index_name), precision=precision)


def fmt_prob(value, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "--"
    return f"{value:.{digits}f}"


def _missing(v) -> bool:
    return v is None or type(v).__name__ == "NAType" or (isinstance(v, float) and math.isnan(v))


def boundary_table_text(table, lambda_e: float, lambda_d: float) -> str:
    """The BOIN decision table laid out as R BOIN's ``get.boundary`` prints it: one
    column per number of patients, one row per rule."""
    rows = [
        ("Number of patients treated", table["n"]),
        ("Escalate if # of DLT <=", table["escalate_if_dlt_le"]),
        ("De-escalate if # of DLT >=", table["deescalate_if_dlt_ge"]),
        ("Eliminate if # of DLT >=", table["eliminate_if_dlt_ge"]),
    ]
    cells = [[label] + ["NA" if _missing(v) else str(int(v)) for v in values] for label, values in rows]
    lines = [
        f"Escalation boundary lambda_e = {lambda_e:.4f}; de-escalation boundary lambda_d = {lambda_d:.4f}",
        "",
    ]
    return "\n".join(lines + _align([list(c) for c in zip(*cells)], left=(0,)))


def _align(columns: list[list[str]], left=(), sep: str = "  ") -> list[str]:
    """Lines of a table given by columns of cells: each column padded to its widest cell,
    left-aligned for the column numbers in ``left`` and right-aligned otherwise.  The one
    layout of every terminal table here."""
    widths = [max(map(len, c)) for c in columns]
    return [sep.join(c[i].ljust(w) if k in left else c[i].rjust(w) for k, (c, w) in enumerate(zip(columns, widths)))
            for i in range(len(columns[0]))]


def per_dose_text(labels, columns: dict[str, list], title: str = "") -> str:
    """A small per-dose table: one row per dose, columns given as name -> values, each
    column right-aligned to its widest cell."""
    cols = {"dose": [str(v) for v in labels], **{k: [str(v) for v in vals] for k, vals in columns.items()}}
    text = "\n".join(_align([[k, *vals] for k, vals in cols.items()]))
    return f"{title}\n{text}" if title else text


def frame_text(index, columns: dict[str, list], *, index_name=None, precision: int = 3) -> str:
    """A table laid out cell for cell as pandas' ``DataFrame.to_string()`` lays it out with
    ``display.precision`` = ``precision``, from plain columns (name -> one value per row),
    without importing pandas (the quick commands print through here).

    pandas' rules, followed here: the row labels are left-aligned, under a line holding the
    index name when there is one; each column is right-aligned under its name, one space
    apart, its cells (and a numeric column's name) starting with a space; a column of floats prints ``precision``
    decimals with the trailing zeros every value shares removed (one kept), ``NaN`` for a
    missing value, and switches to ``.{precision}e`` when a non-zero value is below
    ``10**-precision`` (or above 1e6 in a too-wide column); a column of whole numbers
    prints them as integers, booleans as True/False, and a column of only None ``None``."""
    named = index_name is not None
    first = ["", *([str(index_name)] if named else []), *[str(i) for i in index]]
    cols = []
    for name, values in columns.items():
        values = list(values)
        numeric = _kind(values) != "object"            # pandas puts a space before a numeric column's name
        cells = [(" " if numeric else "") + str(name), *_pandas_cells(values, precision)]
        w = max(map(len, cells))
        cells = [c.rjust(w) for c in cells]
        cols.append([cells[0], *([""] if named else []), *cells[1:]])  # the index-name line is blank here
    return "\n".join(_align([first, *cols], left=range(len(cols) + 1), sep=" "))


_DECIMAL_RE = re.compile(r"^\s*[+-]?[0-9]+\.[0-9]*$")


def _kind(values) -> str:
    """The dtype pandas infers for a column built from this list: bool, int, float or object."""
    if values and all(type(v).__name__ in ("bool", "bool_") for v in values):
        return "bool"
    if values and all(isinstance(v, int) and not isinstance(v, bool) or type(v).__name__.startswith("int")
                      for v in values):
        return "int"
    numbers = [v for v in values if v is not None]
    if numbers and all(isinstance(v, (int, float)) and not isinstance(v, bool) or type(v).__name__.startswith(
            ("float", "int")) for v in numbers):
        return "float"
    return "object"


def _pandas_cells(values: list, precision: int) -> list[str]:
    kind = _kind(values)
    if kind == "bool":
        return [f" {bool(v)}" for v in values]
    if kind == "int":
        return [f"{int(v): d}" for v in values]
    if kind == "object":
        floats = [isinstance(v, float) and v == v for v in values]
        if any(floats):
            return [_trim_single(f"{v: .{precision}f}") if f else f" {'None' if v is None else v}"
                    for v, f in zip(values, floats)]
        return [f" {'None' if v is None else v}" for v in values]
    x = [math.nan if v is None else float(v) for v in values]
    cells = _trim_zeros([("NaN" if v != v else f"{v: .{precision}f}") for v in x])
    too_long = max(map(len, cells)) > precision + 6 if cells else False
    large = any(abs(v) > 1e6 for v in x if v == v)
    small = any(0 < abs(v) < 10 ** (-precision) for v in x if v == v)
    if small or (too_long and large):
        cells = _trim_zeros([("NaN" if v != v else f"{v: .{precision}e}") for v in x])
    return cells


def _trim_zeros(cells: list[str]) -> list[str]:
    """Remove the trailing zeros every decimal number shares, keeping one after the point."""
    is_num = [_DECIMAL_RE.match(c) is not None for c in cells]
    if not any(is_num):
        return cells
    while all(c.endswith("0") for c, n in zip(cells, is_num) if n):
        cells = [c[:-1] if n else c for c, n in zip(cells, is_num)]
    return [c + "0" if n and c.endswith(".") else c for c, n in zip(cells, is_num)]


def _trim_single(cell: str) -> str:
    """One float's trailing zeros removed, one kept after the point (pandas' object columns)."""
    if _DECIMAL_RE.match(cell):
        cell = cell.rstrip("0")
        return cell + "0" if cell.endswith(".") else cell
    return cell


def to_json(obj) -> str:
    """JSON with NaN written as null and tuples as lists."""
    return json.dumps(_clean(obj), indent=2)


def _clean(obj):
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        try:
            return _clean(obj.item())
        except (ValueError, AttributeError):
            pass
    if type(obj).__name__ == "NAType":  # pandas.NA, without importing pandas
        return None
    return obj
