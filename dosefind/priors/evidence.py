"""The evidence table: what published CD7 CAR-T reports say, one row per trial.

The bundled table ``dosefind/data/evidence_cd7.csv`` has one row per report (and would
have one per dose where a report splits its counts by dose). Each row names its source
file in ``shared/seeds/``, quotes the sentences its numbers come from, and explains every
judgement in ``note``. A count is missing (empty) where the report does not give it; a
count read by implication rather than stated (e.g. "neurotoxicity grade 1-2 in 3 of 20"
in a sentence that lists grade 3-4 bands where they occurred, read as 0 grade >= 3) is
listed in ``implied``; ``load_evidence(strict=True)`` turns those back into missing.

Columns (the endpoint names are also the ``--endpoint`` names of the command line):

``source`` seed file name; ``disease``; ``product`` (autologous / donor-derived);
``dose_per_kg`` CAR-T cells per kg (a split dose is recorded as its total), or
``dose_low`` and ``dose_high`` where a report pools two dose levels without splitting the
counts; ``n`` patients infused; counts ``dlt``, ``crs_any``, ``crs_grade3`` (CRS grade
>= 3), ``icans_any``, ``icans_grade3`` (ICANS grade >= 3) and ``response`` (CR/CRi).
A user's own table needs the same columns; the quote and note columns are optional.
"""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

#: Endpoints a model can be fitted to (binary per patient, counted per row).
ENDPOINTS = ("dlt", "crs_any", "crs_grade3", "icans_any", "icans_grade3", "response")
#: Endpoints whose probability rises with dose (the dose-response slope is kept positive).
TOXICITY_ENDPOINTS = ("dlt", "crs_any", "crs_grade3", "icans_any", "icans_grade3")
REQUIRED_COLUMNS = ("source", "disease", "product", "n") + ENDPOINTS
DOSE_COLUMNS = ("dose_per_kg", "dose_low", "dose_high")
#: Pairs (any grade, grade >= 3) that must be ordered when both are reported.
_GRADE_PAIRS = (("crs_any", "crs_grade3"), ("icans_any", "icans_grade3"))

BUNDLED = "evidence_cd7.csv"


def bundled_evidence_path() -> Path:
    """Path of the evidence table shipped with the package."""
    return Path(str(resources.files("dosefind") / "data" / BUNDLED))


def check_endpoint(endpoint: str) -> str:
    if endpoint not in ENDPOINTS:
        raise ValueError(f"endpoint must be one of {', '.join(ENDPOINTS)}, got {endpoint!r}")
    return endpoint


def load_evidence(path: str | Path | None = None, *, strict: bool = False) -> pd.DataFrame:
    """Read and validate an evidence table (the bundled one when ``path`` is None).

    With ``strict=True``, counts listed in a row's ``implied`` column (read by
    implication, not stated) are set to missing.
    """
    if path is None:
        path = bundled_evidence_path()
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"evidence table not found: {path}")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read evidence table {path} as CSV: {exc}") from None
    table = validate_evidence(table, name=str(path))
    if strict and "implied" in table:
        for i, implied in table["implied"].items():
            for col in _split_implied(implied):
                table.loc[i, col] = pd.NA
    return table


def validate_evidence(table: pd.DataFrame, *, name: str = "evidence table") -> pd.DataFrame:
    """Check columns, types and ranges; return a copy with numeric columns converted.

    Counts become pandas nullable integers (``<NA>`` = not reported), doses floats (NaN
    where a row has no such dose). Every message names the row and its source.
    """
    table = table.copy()
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    has_single = "dose_per_kg" in table.columns
    has_pooled = "dose_low" in table.columns and "dose_high" in table.columns
    if not (has_single or has_pooled):
        missing.append("dose_per_kg (or dose_low and dose_high)")
    if missing:
        raise ValueError(f"{name} is missing column(s): {', '.join(missing)}")
    if len(table) == 0:
        raise ValueError(f"{name} has no rows")
    for col in DOSE_COLUMNS:
        if col not in table.columns:
            table[col] = ""
    for col in ("implied", "note"):
        if col not in table.columns:
            table[col] = ""
    table = table.reset_index(drop=True)

    def where(i):
        return f"{name} row {i + 1} (source {table.loc[i, 'source']})"

    for col in ("n",) + ENDPOINTS:
        table[col] = [_count(v, col, where(i)) for i, v in table[col].items()]
        table[col] = pd.array(table[col], dtype="Int64")
    for col in DOSE_COLUMNS:
        table[col] = [_dose(v, col, where(i)) for i, v in table[col].items()]
        table[col] = table[col].astype(float)

    for i in range(len(table)):
        row = table.loc[i]
        if pd.isna(row["n"]) or row["n"] < 1:
            raise ValueError(f"{where(i)}: n must be a whole number >= 1, got {row['n']}")
        for col in ENDPOINTS:
            if not pd.isna(row[col]) and row[col] > row["n"]:
                raise ValueError(f"{where(i)}: {col} = {row[col]} events is more than n = {row['n']} patients")
        for any_col, g3_col in _GRADE_PAIRS:
            if not pd.isna(row[any_col]) and not pd.isna(row[g3_col]) and row[g3_col] > row[any_col]:
                raise ValueError(f"{where(i)}: {g3_col} = {row[g3_col]} is more than {any_col} = {row[any_col]}")
        single, low, high = row["dose_per_kg"], row["dose_low"], row["dose_high"]
        if not np.isnan(single) and not (np.isnan(low) and np.isnan(high)):
            raise ValueError(f"{where(i)}: give dose_per_kg or dose_low/dose_high, not both")
        if np.isnan(low) != np.isnan(high):
            raise ValueError(f"{where(i)}: a pooled row needs both dose_low and dose_high")
        if not np.isnan(low) and not low < high:
            raise ValueError(f"{where(i)}: dose_low must be below dose_high, got {low:g} and {high:g}")
        for col in _split_implied(row["implied"]):
            if col not in ENDPOINTS:
                raise ValueError(f"{where(i)}: implied lists {col!r}, which is not an endpoint column")
    return table


def has_dose(table: pd.DataFrame) -> pd.Series:
    """Rows with a dose (single or pooled): the ones a dose-response model can use."""
    return table["dose_per_kg"].notna() | table["dose_low"].notna()


def dose_bounds(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) dose of each row; equal for a row given at one dose."""
    low = table["dose_low"].fillna(table["dose_per_kg"]).to_numpy(float)
    high = table["dose_high"].fillna(table["dose_per_kg"]).to_numpy(float)
    return low, high


def rows_for(table: pd.DataFrame, endpoint: str, *, need_dose: bool = False) -> pd.DataFrame:
    """Rows that report ``endpoint`` (and have a dose, if asked); error if none do."""
    check_endpoint(endpoint)
    keep = table[endpoint].notna()
    if need_dose:
        keep &= has_dose(table)
    rows = table[keep].reset_index(drop=True)
    if len(rows) == 0:
        what = "with a dose " if need_dose else ""
        raise ValueError(f"no row {what}of the evidence table reports {endpoint}")
    return rows


def evidence_records(table: pd.DataFrame) -> list[dict]:
    """Rows as plain dicts (None where not reported), for JSON."""
    records = []
    for _, row in table.iterrows():
        rec = {}
        for col, val in row.items():
            if val is pd.NA or (isinstance(val, float) and math.isnan(val)):
                rec[col] = None
            elif isinstance(val, (np.integer,)):
                rec[col] = int(val)
            elif isinstance(val, (np.floating,)):
                rec[col] = float(val)
            else:
                rec[col] = val
        records.append(rec)
    return records


def _split_implied(value) -> list[str]:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return []
    return [p.strip() for p in str(value).split(";") if p.strip()]


def _blank(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)) \
        or str(value).strip().lower() in ("", "na", "nan", "none", "null")


def _count(value, col: str, where: str):
    if _blank(value):
        return pd.NA
    try:
        v = float(str(value).strip())
    except ValueError:
        raise ValueError(f"{where}: {col} must be a whole number or empty (not reported), got {value!r}") from None
    if not math.isfinite(v) or v != int(v) or v < 0:
        raise ValueError(f"{where}: {col} must be a whole number >= 0 or empty (not reported), got {value!r}")
    return int(v)


def _dose(value, col: str, where: str) -> float:
    if _blank(value):
        return float("nan")
    try:
        v = float(str(value).strip())
    except ValueError:
        raise ValueError(f"{where}: {col} must be a number of CAR-T cells per kg, got {value!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{where}: {col} must be a positive number of CAR-T cells per kg, got {value!r}")
    return v
