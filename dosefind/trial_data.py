"""Reading a real trial's data from a CSV file.

Two layouts are accepted (column names are case-insensitive):

* one row per patient, in treatment order: ``dose`` (1-based level) and ``dlt`` (0/1);
  an optional ``cohort`` column groups patients into cohorts (otherwise consecutive
  patients at the same dose form one cohort);
* one row per dose: ``dose``, ``n`` (patients) and ``dlt`` (DLTs).
"""

from __future__ import annotations

from pathlib import Path

from dosefind.state import TrialState


def read_trial_csv(path, num_doses: int) -> TrialState:
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--data: no such file: {path}")
    try:
        frame = pd.read_csv(path)
    except Exception as exc:  # pandas raises several parser errors
        raise ValueError(f"--data: cannot read {path} as CSV ({exc})") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = {"dose", "dlt"} - set(frame.columns)
    if missing:
        raise ValueError(f"--data: {path} needs columns dose and dlt (and n for per-dose counts); "
                         f"missing {', '.join(sorted(missing))}")
    if frame[["dose", "dlt"]].isna().any().any():
        raise ValueError(f"--data: {path} has empty cells in dose or dlt")
    if "n" in frame.columns:
        n = [0] * num_doses
        y = [0] * num_doses
        for k, row in enumerate(frame.itertuples(index=False), start=2):
            d = int(row.dose)
            if not 1 <= d <= num_doses:
                raise ValueError(f"--data: row {k} names dose {d}, but doses run from 1 to {num_doses}")
            n[d - 1] += int(row.n)
            y[d - 1] += int(row.dlt)
        return TrialState.from_counts(n, y, num_doses=num_doses)
    if "cohort" not in frame.columns:
        return TrialState.from_records(frame["dose"].tolist(), frame["dlt"].tolist(), num_doses)
    state = TrialState.empty(num_doses)
    for _, group in frame.groupby("cohort", sort=False):
        doses = set(int(d) for d in group["dose"])
        if len(doses) != 1:
            raise ValueError(f"--data: cohort {group['cohort'].iloc[0]} mixes doses {sorted(doses)}")
        part = TrialState.from_records(group["dose"].tolist(), group["dlt"].tolist(), num_doses)
        state = state.add_cohort(part.cohorts[0].dose_index, [o for c in part.cohorts for o in c.outcomes])
    return state
