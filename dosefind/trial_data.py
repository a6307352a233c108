"""Reading a real trial's data from a CSV file.

Two layouts are accepted (column names are case-insensitive, surrounding spaces ignored):

* one row per patient, in treatment order: ``dose`` (1-based level) and ``dlt`` (0/1);
  an optional ``cohort`` column groups patients into cohorts (otherwise consecutive
  patients at the same dose form one cohort).  When the column is present every row
  needs a value, and each cohort's rows must be consecutive and share one dose: a blank
  cell is an error naming its row, never a patient silently dropped;
* one row per dose: ``dose``, ``n`` (patients) and ``dlt`` (DLTs).

Phase I/II data add a column ``eff``: each patient's response (0/1), or the responses
per dose in the per-dose layout.

Every cell must be a whole number (3.7 patients, dose 1.9, 0.9 DLTs, ``inf`` and blanks
are refused with the row and column named), so nothing is truncated.  Rows are numbered
as in a spreadsheet: the header is row 1.
"""

from __future__ import annotations

import math
from pathlib import Path

from dosefind.state import TrialState


def _cell(value, row: int, column: str) -> int:
    text = "" if value is None else str(value).strip()
    where = f"row {row}, column {column}"
    if text == "" or text.lower() in ("nan", "na", "none", "null"):
        raise ValueError(f"--data: {where} is empty; every row needs a {column} value")
    try:
        f = float(text)
    except ValueError:
        raise ValueError(f"--data: {where}: {text!r} is not a whole number") from None
    if not math.isfinite(f) or f != int(f):
        raise ValueError(f"--data: {where}: {text} is not a whole number")
    return int(f)


def _read(path: Path):
    import pandas as pd

    if path.is_dir():
        raise ValueError(f"--data: {path} is a folder; give a CSV file")
    if not path.is_file():
        raise FileNotFoundError(f"--data: no such file: {path}")
    raw = path.read_bytes()
    if not raw.strip():
        raise ValueError(f"--data: {path} is empty; it needs a header row (dose,dlt or dose,n,dlt) and data rows")
    try:
        raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"--data: {path} is not UTF-8 text (save the CSV as UTF-8)") from None
    try:
        # Every cell as text: whole numbers are checked cell by cell, never coerced.
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", skipinitialspace=True)
    except Exception as exc:  # pandas raises several parser errors
        raise ValueError(f"--data: cannot read {path} as CSV ({' '.join(str(exc).split())})") from None
    import csv
    import io

    header = next(csv.reader(io.StringIO(raw.decode("utf-8-sig").lstrip("\r\n"))), [])
    names = [str(c).strip().lower() for c in header]
    if len(set(names)) != len(names):
        raise ValueError(f"--data: {path} repeats a column name ({', '.join(names)})")
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = {"dose", "dlt"} - set(frame.columns)
    if missing and len(names) == 1 and ";" in names[0]:
        raise ValueError(f"--data: {path} separates its columns with ';'; save it with commas (dose,dlt or "
                         "dose,n,dlt)")
    if missing:
        raise ValueError(f"--data: {path} needs columns dose and dlt (and n for per-dose counts); "
                         f"missing {', '.join(sorted(missing))}")
    if frame.empty:
        raise ValueError(f"--data: {path} has a header but no data rows")
    return frame


def read_trial_csv(path, num_doses: int) -> TrialState:
    path = Path(path)
    frame = _read(path)
    rows = list(enumerate(frame.to_dict("records"), start=2))
    has_eff = "eff" in frame.columns

    def dose_of(k, rec):
        d = _cell(rec["dose"], k, "dose")
        if not 1 <= d <= num_doses:
            raise ValueError(f"--data: row {k} names dose {d}, but doses run from 1 to {num_doses}")
        return d

    if "n" in frame.columns:
        n = [0] * num_doses
        y = [0] * num_doses
        e = [0] * num_doses
        for k, rec in rows:
            d = dose_of(k, rec)
            nk, yk = _cell(rec["n"], k, "n"), _cell(rec["dlt"], k, "dlt")
            ek = _cell(rec["eff"], k, "eff") if has_eff else 0
            if nk < 0 or yk < 0 or ek < 0:
                raise ValueError(f"--data: row {k}: counts must be >= 0, got n = {nk}, dlt = {yk}"
                                 + (f", eff = {ek}" if has_eff else ""))
            if yk > nk:
                raise ValueError(f"--data: row {k}: {yk} DLTs among {nk} patients")
            if ek > nk:
                raise ValueError(f"--data: row {k}: {ek} responses among {nk} patients")
            n[d - 1] += nk
            y[d - 1] += yk
            e[d - 1] += ek
        return TrialState.from_counts(n, y, num_doses=num_doses, eff=e if has_eff else None)

    doses, dlts, effs = [], [], []
    for k, rec in rows:
        doses.append(dose_of(k, rec))
        y = _cell(rec["dlt"], k, "dlt")
        if y not in (0, 1):
            raise ValueError(f"--data: row {k}, column dlt must be 0 or 1 (one patient per row), got {y}")
        dlts.append(y)
        if has_eff:
            r = _cell(rec["eff"], k, "eff")
            if r not in (0, 1):
                raise ValueError(f"--data: row {k}, column eff must be 0 or 1 (one patient per row), got {r}")
            effs.append(r)
    if "cohort" not in frame.columns:
        return TrialState.from_records(doses, dlts, num_doses, eff=effs if has_eff else None)

    state = TrialState.empty(num_doses)
    seen, current, members = set(), None, []

    def close(label, members):
        ds = sorted({doses[i] for i in members})
        if len(ds) != 1:
            raise ValueError(f"--data: cohort {label} mixes doses {ds}")
        return state.add_cohort(ds[0] - 1, [dlts[i] for i in members],
                                eff=[effs[i] for i in members] if has_eff else None)

    for i, (k, rec) in enumerate(rows):
        label = str(rec["cohort"]).strip()
        if label == "" or label.lower() in ("nan", "na"):
            raise ValueError(f"--data: row {k}, column cohort is empty; give every patient a cohort, or drop "
                             "the column (then consecutive patients at one dose form a cohort)")
        if label != current:
            if label in seen:
                raise ValueError(f"--data: row {k}: cohort {label} appears again after another cohort; a "
                                 "cohort's patients must be on consecutive rows")
            if current is not None:
                state = close(current, members)
            seen.add(label)
            current, members = label, []
        members.append(i)
    return close(current, members)
