"""The decision summary against the comparison it summarises.

Every aggregate is recomputed here independently, from ``Comparison.to_frame()`` with
pandas (mean / min / max over scenarios), and the ranking from the documented rule
(dosefind/simulations/decision.py): eligible when the worst overdose selection is at most
the limit, then by mean correct selection.  Golden numbers are the comparison's own
values, never the summary's.
"""

import math

import pytest

from dosefind.designs import BOIN, CRM, ThreePlusThree
from dosefind.designs.modifiers import StopWhenTooToxic
from dosefind.simulations import Comparison, compare
from dosefind.simulations.decision import Criterion, decision_summary, has_safety_stop

SCEN = {"MTD at DL2": [0.10, 0.25, 0.45], "All safe": [0.02, 0.05, 0.10], "Too toxic": [0.50, 0.60, 0.70]}
SKEL = [0.10, 0.25, 0.40]


def designs():
    return {"3+3": ThreePlusThree(num_doses=3),
            "BOIN": BOIN(target=0.25, num_doses=3, max_n=12),
            "CRM": CRM(SKEL, target=0.25, cohort_size=3, max_n=12),
            "CRM+stop": CRM(SKEL, target=0.25, cohort_size=3, max_n=12).then(
                StopWhenTooToxic(threshold=0.25, confidence=0.9, dose=1, min_n=3))}


@pytest.fixture(scope="module")
def comp():
    return compare(designs(), SCEN, method="exact", target=0.25)


def test_aggregates_equal_the_comparison(comp):
    frame = comp.to_frame()
    s = decision_summary(comp, designs=designs())
    for label, grp in frame.groupby("design"):
        d = s[label]
        assert d.n_scenarios == 3
        assert d.pcs_mean == pytest.approx(grp["pcs"].mean(), abs=1e-12)
        assert d.pcs_min == pytest.approx(grp["pcs"].min(), abs=1e-12)
        assert d.pcs_min_scenario == grp.loc[grp["pcs"].idxmin(), "scenario"]
        assert d.pcs_max == pytest.approx(grp["pcs"].max(), abs=1e-12)
        assert d.overdose_selection_mean == pytest.approx(grp["overdose_selection_pct"].mean(), abs=1e-12)
        assert d.overdose_selection_max == pytest.approx(grp["overdose_selection_pct"].max(), abs=1e-12)
        assert d.overdose_selection_max_scenario == grp.loc[grp["overdose_selection_pct"].idxmax(), "scenario"]
        not_toxic = grp[grp["scenario"] != "Too toxic"]   # every dose > target: all patients above the MTD
        assert d.overdose_patients_max == pytest.approx(not_toxic["overdose_patients_pct"].max(), abs=1e-12)
        assert d.dlt_mean == pytest.approx(grp["dlt_total_mean"].mean(), abs=1e-12)
        assert d.dlt_max == pytest.approx(grp["dlt_total_mean"].max(), abs=1e-12)
        assert d.n_mean == pytest.approx(grp["n_mean"].mean(), abs=1e-12)
        assert (d.n_min, d.n_max) == (pytest.approx(grp["n_mean"].min()), pytest.approx(grp["n_mean"].max()))
        toxic = grp[grp["scenario"] == "Too toxic"].iloc[0]
        assert d.toxic_overdose_max == pytest.approx(toxic["overdose_selection_pct"], abs=1e-12)
        assert d.toxic_n_max == pytest.approx(toxic["n_mean"], abs=1e-12)
        assert d.duration_mean is None and d.methods == ("exact",)
    assert s.toxic_scenarios == ["Too toxic"]


@pytest.mark.parametrize("limit", [25.0, 60.0, None])
def test_ranking_follows_the_documented_rule(comp, limit):
    frame = comp.to_frame()
    agg = frame.groupby("design", sort=False).agg(pcs=("pcs", "mean"), od=("overdose_selection_pct", "max"))
    order = list(comp.designs)
    expected = sorted(order, key=lambda k: (not (limit is None or agg.loc[k, "od"] <= limit), -agg.loc[k, "pcs"],
                                            agg.loc[k, "od"], order.index(k)))
    s = decision_summary(comp, Criterion(max_overdose_selection=limit))
    assert [d.design for d in s.ranking] == expected
    assert [d.rank for d in s.ranking] == [1, 2, 3, 4]
    assert all(d.eligible == (limit is None or agg.loc[d.design, "od"] <= limit) for d in s.designs)


def test_worst_case_metric_ranks_by_minimum(comp):
    frame = comp.to_frame()
    worst = frame.groupby("design")["pcs"].min()
    s = decision_summary(comp, Criterion(metric="pcs_min", max_overdose_selection=None))
    ranked = [d.design for d in s.ranking]
    assert [worst[k] for k in ranked] == sorted(worst, reverse=True)


def test_flag_crm_without_safety_stop(comp):
    s = decision_summary(comp, designs=designs())
    # dfcrm's CRM has no stopping rule: in the toxic scenario it still selects dose 1.
    assert s["CRM"].safety_stop is False and s["CRM"].toxic_overdose_max > 25
    assert s.flagged == ["CRM"]
    assert all(s[k].safety_stop for k in ("3+3", "BOIN", "CRM+stop"))


def test_safety_stop_read_from_results_when_no_designs(comp):
    """Read back from JSON the design objects are gone: the stop reasons decide."""
    again = Comparison.from_json(comp.to_dict())
    s = decision_summary(again)
    for label, design in designs().items():
        assert s[label].safety_stop == has_safety_stop(design), label
    assert s.flagged == ["CRM"]


def test_no_toxic_scenario_and_missing_pcs():
    c = compare({"3+3": ThreePlusThree(num_doses=3)}, {"a": [0.1, 0.25, 0.45]}, method="exact")
    s = decision_summary(c)        # no target given: the 3+3 has no correct dose
    assert s.toxic_scenarios == [] and s["3+3"].pcs_mean is None and s.flagged == []
    assert math.isclose(s["3+3"].n_mean, c.to_frame()["n_mean"][0])


def test_has_safety_stop():
    d = designs()
    assert has_safety_stop(d["BOIN"]) and has_safety_stop(d["3+3"]) and has_safety_stop(d["CRM+stop"])
    assert has_safety_stop(d["CRM"]) is False
    assert has_safety_stop(CRM(SKEL, target=0.25, stop_tox_cutoff=0.9)) is True


@pytest.mark.parametrize("kwargs, message", [
    ({"metric": "n_mean"}, "criterion metric must be one of pcs_mean, pcs_min, obd_correct_mean, obd_correct_min, got 'n_mean'"),
    ({"max_overdose_selection": 120}, "max_overdose_selection must be a percentage between 0 and 100, got 120"),
    ({"max_overdose_selection": "25"}, "max_overdose_selection must be a percentage between 0 and 100, got '25'"),
])
def test_criterion_errors(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Criterion(**kwargs)


def test_bad_inputs(comp):
    with pytest.raises(TypeError, match="criterion must be a Criterion"):
        decision_summary(comp, "pcs")
    with pytest.raises(ValueError, match="no results to summarise"):
        decision_summary(Comparison(results={}, designs=[], scenarios=[]))


def test_criterion_from_a_study_table():
    assert Criterion.from_mapping({}) == Criterion()
    assert Criterion.from_mapping({"metric": "pcs_min", "max_overdose_selection": 30}) == Criterion("pcs_min", 30.0)
    assert Criterion.from_mapping({"max_overdose_selection": False}).max_overdose_selection is None
    with pytest.raises(ValueError, match=r"study.toml \[criterion\]: unknown key\(s\) limit; allowed: metric"):
        Criterion.from_mapping({"limit": 3}, "study.toml [criterion]")
    with pytest.raises(ValueError, match=r"\[criterion\]: criterion metric must be one of pcs_mean, pcs_min"):
        Criterion.from_mapping({"metric": "best"}, "[criterion]")


def test_duration_of_calendar_results(comp):
    """Calendar-time results carry oc.calendar["duration"]["mean"] (days); the summary
    averages it over scenarios and takes its maximum."""
    import copy

    timed = copy.deepcopy(comp)
    days = {}
    for k, (key, oc) in enumerate(timed.results.items()):
        days[key] = 100.0 + 10 * k
        oc.__dict__["calendar"] = {"duration": {"mean": days[key]}}
    s = decision_summary(timed)
    for label in timed.designs:
        mine = [v for (sc, d), v in days.items() if d == label]
        assert s[label].duration_mean == pytest.approx(sum(mine) / len(mine))
        assert s[label].duration_max == max(mine)
