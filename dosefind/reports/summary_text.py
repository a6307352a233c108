"""The decision summary in words and as a table (layout only).

Every number comes from a :class:`~dosefind.simulations.decision.DecisionSummary`
(computed in :mod:`dosefind.simulations.decision`) and is formatted by
:func:`dosefind.reports.tables.fmt`, the report's one number formatter, so the sentences,
the table, ``report.html``, ``report.docx`` and ``protocol.md`` cannot disagree.

>>> from dosefind.designs import BOIN
>>> from dosefind.simulations import compare
>>> from dosefind.simulations.decision import decision_summary
>>> comp = compare({"BOIN": BOIN(target=0.25, num_doses=3, max_n=12)},
...                {"MTD at DL2": [0.1, 0.25, 0.45]}, method="exact")
>>> decision_lines(decision_summary(comp))[1].startswith("BOIN ranks first: correct selection")
True
"""

from __future__ import annotations

import pandas as pd

from dosefind.reports.tables import DIGITS, Table, fmt

__all__ = ["decision_lines", "decision_table", "decision_markdown", "design_sentence"]


def _pct(x) -> str:
    return f"{fmt(x, DIGITS['pct'])}%"


def _q(name) -> str:
    return f'"{name}"'


def _how(d) -> str:
    if d.methods == ("exact",):
        return "computed exactly"
    if "exact" not in d.methods:
        return "Monte Carlo estimates"
    return "exact where possible, otherwise Monte Carlo"


def design_sentence(d, limit: float | None = None) -> str:
    """One design across the scenarios: its range of correct selection and its worst
    overdosing (and whether it exceeds the overdose ``limit``), then patients above the
    MTD, behaviour in a toxic scenario, DLTs, sample size and duration."""
    parts = []
    if d.pcs_mean is not None:
        rng = (f"{_pct(d.pcs_min)} ({_q(d.pcs_min_scenario)}) to {_pct(d.pcs_max)} ({_q(d.pcs_max_scenario)})"
               if d.n_scenarios > 1 else _pct(d.pcs_min))
        parts.append(f"correct selection {rng}, {_pct(d.pcs_mean)} on average")
    if d.overdose_selection_max is not None:
        over = (f", above the {limit:g}% limit" if limit is not None and d.overdose_selection_max > limit else "")
        parts.append(f"worst-case overdose selection {_pct(d.overdose_selection_max)} "
                     f"({_q(d.overdose_selection_max_scenario)}{over})")
    if d.overdose_patients_max is not None:
        parts.append(f"at most {_pct(d.overdose_patients_max)} of patients treated above the MTD "
                     f"({_q(d.overdose_patients_max_scenario)})")
    mean = DIGITS["mean"]
    if d.toxic_n_max is not None:
        parts.append(f"in {_q(d.toxic_n_scenario)}, where every dose is above the target, "
                     f"{fmt(d.toxic_n_max, mean)} patients treated on average")
    parts.append(f"{fmt(d.dlt_mean, mean)} DLTs and {fmt(d.n_mean, mean)} patients per trial on average "
                 f"(mean sample size {fmt(d.n_min, mean)} to {fmt(d.n_max, mean)})")
    if d.duration_mean is not None:
        parts.append(f"mean trial duration {fmt(d.duration_mean, 0)} days on average, {fmt(d.duration_max, 0)} "
                     "days at most")
    return f"{d.design}: " + "; ".join(parts) + f" ({_how(d)})."


def decision_lines(summary) -> list[str]:
    """Plain sentences: the criterion, the recommendation, one sentence per design (in
    ranking order), the safety flags, and a note when no toxic scenario was evaluated."""
    crit = summary.criterion
    n = len(summary.scenarios)
    scen = f"{n} scenario{'s' if n != 1 else ''}"
    lines = [f"Criterion: {summary.describe_criterion()} ({scen}, each counted once)."]
    best = summary.best
    what = "average" if crit.metric.endswith("_mean") else "worst-case"
    score = getattr(best, crit.metric)
    chosen = "correct OBD" if crit.by_obd else "correct selection"
    head = (f"{best.design} ranks first: {chosen} {_pct(score)} on {what} over the {scen}"
            if what == "average" else
            f"{best.design} ranks first: worst-case {chosen} {_pct(score)} over the {scen}")
    if best.overdose_selection_max is not None:
        head += (f", worst-case overdose selection {_pct(best.overdose_selection_max)} "
                 f"({_q(best.overdose_selection_max_scenario)})")
    if score is None:
        head = (f"{best.design} ranks first (no scenario defines a correct "
                f"{'OBD' if crit.by_obd else 'dose'})")
    if not best.eligible:       # the design's name keeps its case ("BOIN", not "bOIN")
        head = (f"No design meets the overdose limit of {crit.max_overdose_selection:g}% in every scenario; "
                + head + " (the ranking then orders designs that all exceed the limit)")
    lines.append(head + ".")
    lines += [design_sentence(d, crit.max_overdose_selection) for d in summary.ranking]
    for d in summary.designs:
        if d.flagged:
            lines.append(f"Warning: {d.design} has no safety stop; in {_q(d.toxic_overdose_scenario)}, where every "
                         f"dose is above the target DLT rate, it selects a dose in {_pct(d.toxic_overdose_max)} of "
                         "trials. Add a stopping rule for toxicity at the lowest dose before using it.")
    if not summary.toxic_scenarios:
        lines.append("No scenario with every dose above the target DLT rate was evaluated, so the designs' safety "
                     "stops were not tested.")
    return lines


#: Columns of the decision table: (DesignPerformance attribute, display name, digits key).
DECISION_COLUMNS = (
    ("pcs_mean", "Correct selection % (mean)", "pct"),
    ("pcs_min", "Correct selection % (worst)", "pct"),
    ("overdose_selection_mean", "Overdose selection % (mean)", "pct"),
    ("overdose_selection_max", "Overdose selection % (worst)", "pct"),
    ("overdose_patients_max", "Patients above MTD % (worst)", "pct"),
    ("dlt_mean", "DLTs (mean)", "mean"),
    ("n_mean", "Patients (mean)", "mean"),
)


#: Phase I/II columns, shown when some design has a correct OBD defined.
OBD_COLUMNS = (("obd_correct_mean", "Correct OBD % (mean)"), ("obd_correct_min", "Correct OBD % (worst)"))


def decision_table(summary) -> Table:
    """The ranking as a report :class:`~dosefind.reports.tables.Table` (``decision``); its
    ``notes`` are the :func:`decision_lines`, shown above the table."""
    data_rows, disp_rows = [], []
    has_duration = any(d.duration_mean is not None for d in summary.ranking)
    has_obd = any(d.obd_correct_mean is not None for d in summary.ranking)
    for d in summary.ranking:
        row = {"rank": d.rank, "design": d.design}
        drow = {"Rank": str(d.rank), "Design": d.design}
        for key, label, dg in DECISION_COLUMNS:
            row[key] = getattr(d, key)
            drow[label] = fmt(getattr(d, key), DIGITS[dg])
        if has_obd:
            for key, label in OBD_COLUMNS:
                row[key] = getattr(d, key)
                drow[label] = fmt(getattr(d, key), DIGITS["pct"])
            row["phase12"] = d.phase12
        if has_duration:
            row["duration_mean"] = d.duration_mean
            drow["Duration, days (mean)"] = fmt(d.duration_mean, 0)
        row.update(safety_stop=d.safety_stop, meets_criterion=d.eligible, flagged=d.flagged)
        drow.update({"Safety stop": "yes" if d.safety_stop else "NO",
                     "Meets criterion": "yes" if d.eligible else "no"})
        data_rows.append(row)
        disp_rows.append(drow)
    toxic = ", ".join(_q(s) for s in summary.toxic_scenarios) or "none evaluated"
    caption = (f"Across all {len(summary.scenarios)} scenarios, each counted once. Ranking: "
               f"{summary.describe_criterion()}. Worst: the lowest correct selection or the highest overdosing "
               "over the scenarios."
               + (" Correct OBD: over the scenarios with response rates; '-' where no utility defines an OBD "
                  "for the design." if has_obd else "")
               + " Safety stop: the design stops the trial when the lowest dose is too toxic. "
               f"Scenarios with every dose above the target: {toxic}.")
    return Table("decision", "Decision summary: designs across all scenarios", pd.DataFrame(data_rows),
                 pd.DataFrame(disp_rows), caption=caption, group="decision", notes=decision_lines(summary))


def decision_markdown(summary, heading: str = "## Choice of design") -> str:
    """The decision summary as a Markdown section for ``protocol.md``: the sentences as a
    list, then the table and its caption."""
    from dosefind.reports.tables import to_markdown

    t = decision_table(summary)
    return "\n".join([heading, ""] + [f"- {line}" for line in decision_lines(summary)]
                      + ["", to_markdown(t.display), "", t.caption, ""])
