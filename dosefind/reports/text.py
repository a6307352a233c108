"""Plain-text renderings for the terminal (no statistics here: only layout)."""

from __future__ import annotations

import json
import math

# pandas is not imported here: the quick commands (next-dose, select-mtd) print through
# this module, and pandas costs most of a second of their start-up.


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
