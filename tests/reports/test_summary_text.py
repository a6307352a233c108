"""The decision summary's sentences and table: every number equals the comparison's.

The expected numbers are recomputed here from ``Comparison.to_frame()`` (pandas mean,
min and max over scenarios) and formatted with the report's one formatter, so a
sentence that took a number from anywhere else fails.
"""

import re

import pytest

from dosefind.designs import BOIN, CRM
from dosefind.reports.summary_text import decision_lines, decision_table
from dosefind.reports.tables import fmt
from dosefind.simulations import compare
from dosefind.simulations.decision import Criterion, decision_summary

SCEN = {"MTD at DL2": [0.10, 0.25, 0.45], "All safe": [0.02, 0.05, 0.10], "Too toxic": [0.50, 0.60, 0.70]}


@pytest.fixture(scope="module")
def comp():
    return compare({"BOIN": BOIN(target=0.25, num_doses=3, max_n=12),
                    "CRM": CRM([0.10, 0.25, 0.40], target=0.25, cohort_size=3, max_n=12)},
                   SCEN, method="exact")


def line_of(lines, design):
    return next(line for line in lines if line.startswith(f"{design}: "))


def test_sentences_carry_the_comparisons_numbers(comp):
    frame = comp.to_frame()
    lines = decision_lines(decision_summary(comp))
    for design, grp in frame.groupby("design"):
        line = line_of(lines, design)
        lo, hi = grp["pcs"].idxmin(), grp["pcs"].idxmax()
        assert (f'correct selection {fmt(grp["pcs"].min())}% ("{grp.loc[lo, "scenario"]}") to '
                f'{fmt(grp["pcs"].max())}% ("{grp.loc[hi, "scenario"]}"), {fmt(grp["pcs"].mean())}% on average') in line
        od = grp["overdose_selection_pct"]
        assert f'worst-case overdose selection {fmt(od.max())}% ("{grp.loc[od.idxmax(), "scenario"]}"' in line
        assert f'{fmt(grp["dlt_total_mean"].mean(), 2)} DLTs and {fmt(grp["n_mean"].mean(), 2)} patients' in line
        assert f'mean sample size {fmt(grp["n_mean"].min(), 2)} to {fmt(grp["n_mean"].max(), 2)}' in line
        toxic = grp[grp["scenario"] == "Too toxic"].iloc[0]
        assert f'in "Too toxic", where every dose is above the target, {fmt(toxic["n_mean"], 2)} patients' in line
        assert "(computed exactly)" in line and "Monte Carlo" not in line


def test_recommendation_and_warning(comp):
    frame = comp.to_frame()
    agg = frame.groupby("design").agg(pcs=("pcs", "mean"), od=("overdose_selection_pct", "max"))
    lines = decision_lines(decision_summary(comp, Criterion(max_overdose_selection=None)))
    best = agg["pcs"].idxmax()
    assert lines[1] == (f'{best} ranks first: correct selection {fmt(agg.loc[best, "pcs"])}% on average over the 3 '
                        f'scenarios, worst-case overdose selection {fmt(agg.loc[best, "od"])}% '
                        f'("{frame.loc[frame[frame.design == best]["overdose_selection_pct"].idxmax(), "scenario"]}").')
    toxic_crm = frame[(frame.design == "CRM") & (frame.scenario == "Too toxic")].iloc[0]
    warn = [line for line in lines if line.startswith("Warning:")]
    assert warn == [f'Warning: CRM has no safety stop; in "Too toxic", where every dose is above the target DLT rate, '
                    f'it selects a dose in {fmt(toxic_crm["overdose_selection_pct"])}% of trials. Add a stopping rule '
                    'for toxicity at the lowest dose before using it.']


def test_no_design_meets_the_limit(comp):
    lines = decision_lines(decision_summary(comp, Criterion(max_overdose_selection=0.0)))
    assert lines[1].startswith("No design meets the overdose limit of 0% in every scenario")
    assert "above the 0% limit" in line_of(lines, "BOIN")


def test_untested_safety_stops_are_said():
    c = compare({"BOIN": BOIN(target=0.25, num_doses=3, max_n=12)}, {"a": [0.1, 0.25, 0.45]}, method="exact")
    lines = decision_lines(decision_summary(c))
    assert lines[-1].startswith("No scenario with every dose above the target DLT rate was evaluated")
    assert "1 scenario," in lines[0]


def test_monte_carlo_is_named():
    c = compare({"BOIN": BOIN(target=0.25, num_doses=3, max_n=12)}, {"a": [0.1, 0.25, 0.45]}, n_trials=200,
                seed=1, method="mc")
    assert line_of(decision_lines(decision_summary(c)), "BOIN").endswith("(Monte Carlo estimates).")


def test_table_has_every_design_and_column(comp):
    frame = comp.to_frame()
    s = decision_summary(comp)
    t = decision_table(s)
    assert list(t.display.columns) == ["Rank", "Design", "Correct selection % (mean)", "Correct selection % (worst)",
                                       "Overdose selection % (mean)", "Overdose selection % (worst)",
                                       "Patients above MTD % (worst)", "DLTs (mean)", "Patients (mean)",
                                       "Safety stop", "Meets criterion"]
    for _, row in t.display.iterrows():
        grp = frame[frame.design == row["Design"]]
        assert row["Correct selection % (mean)"] == fmt(grp["pcs"].mean())
        assert row["Overdose selection % (worst)"] == fmt(grp["overdose_selection_pct"].max())
        assert row["Patients (mean)"] == fmt(grp["n_mean"].mean(), 2)
    assert t.display.set_index("Design").loc["CRM", "Safety stop"] == "NO"
    assert re.search(r'with every dose above the target: "Too toxic"', t.caption)


def test_markdown_section(comp):
    from dosefind.reports.summary_text import decision_markdown
    from dosefind.reports.tables import to_markdown

    s = decision_summary(comp)
    md = decision_markdown(s)
    assert md.startswith("## Choice of design\n\n- Criterion: ")
    assert all(f"- {line}" in md for line in decision_lines(s))
    assert to_markdown(decision_table(s).display) in md


def test_duration_is_reported_when_present(comp):
    import copy

    timed = copy.deepcopy(comp)
    for k, oc in enumerate(timed.results.values()):
        oc.__dict__["calendar"] = {"duration": {"mean": 200.0 + 30 * k}}
    s = decision_summary(timed)
    d = s["BOIN"]
    line = line_of(decision_lines(s), "BOIN")
    assert f"mean trial duration {fmt(d.duration_mean, 0)} days on average, {fmt(d.duration_max, 0)} days" in line
    assert decision_table(s).display.set_index("Design").loc["BOIN", "Duration, days (mean)"] == fmt(d.duration_mean, 0)
    assert "duration" not in line_of(decision_lines(decision_summary(comp)), "BOIN")


def test_table_carries_the_sentences(comp):
    s = decision_summary(comp)
    assert decision_table(s).notes == decision_lines(s)
