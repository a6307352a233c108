"""Plain-text renderings for the terminal (no statistics here: only layout)."""

from __future__ import annotations

import json
import math

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


def human_frame(frame, *, exact: bool = False):
    """``frame`` with :data:`HUMAN_NAMES` for its columns, index name and row labels; with
    ``exact``, its standard-error columns (all zero: exact results have no Monte Carlo
    error) dropped.  Only the terminal face: the JSON and CSV keep the field names."""
    out = frame.copy()
    if exact:
        out = out[[c for c in out.columns if not (c == "se" or str(c).endswith("_se"))]]
    out = out.rename(columns=lambda c: HUMAN_NAMES.get(c, c), index=lambda i: HUMAN_NAMES.get(i, i))
    out.index.name = HUMAN_NAMES.get(out.index.name, out.index.name)
    return out


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
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
    lines = [
        f"Escalation boundary lambda_e = {lambda_e:.4f}; de-escalation boundary lambda_d = {lambda_d:.4f}",
        "",
    ]
    for r in cells:
        lines.append("  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r)))
    return "\n".join(lines)


def per_dose_text(labels, columns: dict[str, list], title: str = "") -> str:
    """A small per-dose table: one row per dose, columns given as name -> values, each
    column right-aligned to its widest cell."""
    cols = {"dose": [str(v) for v in labels], **{k: [str(v) for v in vals] for k, vals in columns.items()}}
    widths = {k: max([len(k), *map(len, vals)]) for k, vals in cols.items()}
    lines = ["  ".join(k.rjust(widths[k]) for k in cols)]
    for i in range(len(cols["dose"])):
        lines.append("  ".join(cols[k][i].rjust(widths[k]) for k in cols))
    text = "\n".join(lines)
    return f"{title}\n{text}" if title else text


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
