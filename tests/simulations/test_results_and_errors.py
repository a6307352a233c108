"""Definitions in the result object, the JSON schema, and user errors."""

import json

import numpy as np
import pytest
from toy_designs import LastCohortRule

from dosefind.designs import ThreePlusThree
from dosefind.simulations import OperatingCharacteristics, Scenario, read_scenarios, simulate
from dosefind.simulations.results import above_mtd_mask, correct_doses, true_mtd_index

SCHEMA = ["method", "n_trials", "seed", "selection_pct", "no_selection_pct", "patients_mean", "patients_pct",
          "dlt_mean", "n_mean", "dlt_total_mean", "early_stop_pct", "pcs", "overdose_selection_pct",
          "overdose_patients_pct", "se"]


def toy():
    return LastCohortRule(num_doses=5, cohort_size=3, max_n=24)


def test_correct_doses_closest_with_ties_and_band():
    assert correct_doses([0.05, 0.1, 0.2, 0.3, 0.45], 0.3) == (3,)
    assert correct_doses([0.1, 0.2, 0.4, 0.5], 0.3) == (1, 2)  # tie: both count
    assert correct_doses([0.1, 0.2, 0.28, 0.33, 0.5], 0.3, acceptable=(0.2, 0.33)) == (1, 2, 3)
    assert correct_doses([0.1, 0.2], None) == ()


def test_true_mtd_and_overdoses():
    # BOIN's get.oc: doses with a true rate above the target are "above the MTD".
    assert list(above_mtd_mask([0.05, 0.15, 0.3, 0.45, 0.6], 0.3)) == [False, False, False, True, True]
    assert true_mtd_index([0.05, 0.1, 0.2, 0.32, 0.45], 0.3) == 3  # closest, even if just above
    assert list(above_mtd_mask([0.4, 0.5], 0.3)) == [False, True]  # closest dose 1 is the MTD
    assert list(above_mtd_mask([0.4, 0.5], 0.3, acceptable=(0.2, 0.35))) == [True, True]


def test_json_schema_keys_and_types():
    oc = simulate(toy(), [0.05, 0.1, 0.2, 0.3, 0.45], n_trials=500, seed=1, method="mc", target=0.3)
    d = json.loads(oc.to_json())
    assert list(d)[:len(SCHEMA)] == SCHEMA
    assert set(d["se"]) >= set(SCHEMA) - {"method", "n_trials", "seed", "se"}
    assert d["method"] == "mc" and d["n_trials"] == 500 and d["seed"] == 1
    assert len(d["selection_pct"]) == 5 and len(d["se"]["selection_pct"]) == 5
    assert d["correct_doses"] == [4] and d["true_mtd"] == 4
    assert sum(d["selection_pct"]) + d["no_selection_pct"] == pytest.approx(100, abs=1e-4)


def test_exact_has_zero_standard_errors():
    oc = simulate(toy(), [0.05, 0.1, 0.2, 0.3, 0.45], method="exact", target=0.3)
    d = oc.to_dict()
    assert d["method"] == "exact" and d["n_trials"] is None and d["seed"] is None
    assert all(v == 0 for v in d["se"]["selection_pct"]) and d["se"]["pcs"] == 0


def test_faces():
    oc = simulate(toy(), [0.05, 0.1, 0.2, 0.3, 0.45], n_trials=2000, seed=1, method="mc", target=0.3)
    assert isinstance(oc, OperatingCharacteristics)
    frame = oc.to_frame()
    assert list(frame.index) == [1, 2, 3, 4, 5]
    assert frame["selection_pct"].sum() + oc.no_selection_pct == pytest.approx(100)
    assert frame.loc[4, "correct"] and frame.loc[5, "above_mtd"]
    summ = oc.summary()
    assert summ.loc["pcs", "value"] == pytest.approx(oc.selection_pct[3])
    assert summ.loc["pcs", "se"] > 0
    assert "| metric | value |" in oc.to_markdown()
    # Ratio-of-means patient shares add to 100.
    assert np.sum(oc.patients_pct) == pytest.approx(100)


def test_overdose_risk_matches_direct_count():
    # Every patient above the MTD when dose 1 is the MTD and the design climbs.
    d = LastCohortRule(num_doses=3, cohort_size=3, max_n=9)
    oc = simulate(d, [0.3, 0.0, 0.0], method="exact", target=0.3)
    # After the first cohort at dose 1 (0 DLTs w.p. 0.343) the trial escalates and stays
    # above dose 1: 6 of 9 patients (67%) are above the MTD -> > 60% but not > 80%.
    assert oc.overdose60_pct == pytest.approx(100 * 0.7 ** 3)
    assert oc.overdose80_pct == pytest.approx(0.0)


def test_pcs_none_without_target():
    oc = simulate(ThreePlusThree(num_doses=3), [0.1, 0.2, 0.3], method="exact")
    assert oc.pcs is None and oc.to_dict()["pcs"] is None


@pytest.mark.parametrize("probs, message", [
    ([0.1, 1.2, 0.3, 0.4, 0.5], "true_prob_tox[2] must be between 0 and 1, got 1.2"),
    ([-0.1, 0.2, 0.3, 0.4, 0.5], "true_prob_tox[1] must be between 0 and 1"),
    ([0.1, 0.2, 0.3], "true_prob_tox has 3 values but the design has 5 doses"),
    ("0.1,0.2", "true_prob_tox must be a list of probabilities"),
    ([], "true_prob_tox must have at least one value"),
])
def test_bad_scenarios(probs, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        simulate(toy(), probs, n_trials=10, seed=1)


@pytest.mark.parametrize("kwargs, message", [
    ({"n_trials": 0}, "n_trials must be >= 1, got 0"),
    ({"n_trials": 2.5}, "n_trials must be a whole number"),
    ({"n_trials": 1e20}, "n_trials must be at most 1,000,000,000"),  # issue 9: was a MemoryError
    ({"n_trials": 10 ** 9 + 1}, "n_trials must be at most"),
    ({"method": "fast"}, "method must be one of auto, exact, mc"),
    ({"workers": 0}, "workers must be >= 1"),
    ({"seed": -1}, "seed must be a whole number >= 0"),
    ({"acceptable": (0.4, 0.2)}, "acceptable must be"),
    ({"target": 1.3}, "target must be between 0 and 1"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        simulate(toy(), [0.05, 0.1, 0.2, 0.3, 0.45], **{"method": "mc", **kwargs})


def test_compare_refuses_too_many_trials():
    from dosefind.simulations import compare

    with pytest.raises(ValueError, match="n_trials must be at most"):
        compare([toy()], [[0.05, 0.1, 0.2, 0.3, 0.45]], n_trials=10 ** 12, seed=1)


def test_design_must_be_a_design():
    with pytest.raises(TypeError, match="design must be a dosefind Design"):
        simulate("boin", [0.1, 0.2])


def test_exact_refuses_huge_state_spaces():
    from dosefind.simulations import StateSpaceTooLarge

    with pytest.raises(StateSpaceTooLarge, match="use method='mc'"):
        simulate(toy(), [0.05, 0.1, 0.2, 0.3, 0.45], method="exact", max_states=50)
    # issue 9: a ValueError (bad argument for this design) whose message names the parameter.
    with pytest.raises(ValueError, match="exceeds max_states=50 states"):
        simulate(toy(), [0.05, 0.1, 0.2, 0.3, 0.45], method="exact", max_states=50)
    oc = simulate(toy(), [0.05, 0.1, 0.2, 0.3, 0.45], method="auto", max_states=50, n_trials=100, seed=1)
    assert oc.method == "mc"


def test_read_scenarios_long_csv(tmp_path):
    f = tmp_path / "s.csv"
    f.write_text("scenario,dose,dose_per_kg,true_prob_tox,true_prob_response\n"
                 "low,2,1e6,0.10,0.3\nlow,1,5e5,0.05,0.2\nhigh,1,5e5,0.3,0.4\nhigh,2,1e6,0.5,0.6\n")
    s = read_scenarios(f)
    assert [x.name for x in s] == ["low", "high"]
    assert s[0].true_prob_tox == (0.05, 0.10) and s[0].dose_amounts == (5e5, 1e6)
    assert s[1].true_prob_response == (0.4, 0.6)
    bad = tmp_path / "bad.csv"
    bad.write_text("scenario,dose,prob\na,1,0.1\n")
    with pytest.raises(ValueError, match="missing column"):
        read_scenarios(bad)
    gap = tmp_path / "gap.csv"
    gap.write_text("scenario,dose,true_prob_tox\na,1,0.1\na,3,0.2\n")
    with pytest.raises(ValueError, match="must list doses 1..2"):
        read_scenarios(gap)
    with pytest.raises(FileNotFoundError):
        read_scenarios(tmp_path / "nope.csv")


def test_scenario_object():
    s = Scenario([0.1, 0.2], name="a", target=0.2)
    assert s.num_doses == 2 and s.to_dict()["target"] == 0.2
    oc = simulate(LastCohortRule(num_doses=2, cohort_size=3, max_n=12), s, method="exact")
    assert oc.target == 0.2 and oc.scenario == "a"


def test_scenarios_from_long_dataframe():
    import pandas as pd

    from dosefind.simulations import compare
    from dosefind.simulations.scenarios import as_scenarios

    df = pd.DataFrame({"scenario": [1, 1, 2, 2], "dose": [1, 2, 1, 2], "dose_per_kg": [5e5, 1e6] * 2,
                       "true_prob_tox": [0.05, 0.2, 0.3, 0.5], "true_prob_response": [0.1, 0.3, 0.2, 0.4]})
    s = as_scenarios(df)
    assert [x.name for x in s] == ["1", "2"] and s[1].true_prob_tox == (0.3, 0.5)
    res = compare([LastCohortRule(num_doses=2, cohort_size=3, max_n=9)], df, n_trials=200, seed=1, target=0.3)
    assert len(res.to_frame()) == 2


def test_progress_bar_on_request(capsys):
    simulate(toy(), [0.05, 0.1, 0.2, 0.3, 0.45], n_trials=20_000, seed=1, method="mc", target=0.3, progress=True)
    assert "trial" in capsys.readouterr().err


def test_all_doses_overly_toxic_means_selecting_none_is_correct():
    # Every true rate above 1.4 x target (BOIN's default p.tox, Liu & Yuan 2015): no dose is
    # a correct selection, the true MTD is none and every dose is an overdose.
    p = [0.42, 0.52, 0.62, 0.72, 0.80]
    assert correct_doses(p, 0.25) == ()
    assert list(above_mtd_mask(p, 0.25)) == [True] * 5
    # A dose just inside the limit (0.34 <= 0.35) stays correct.
    assert correct_doses([0.34, 0.5], 0.25) == (0,)
    # Doses above the limit never count, even when closest to the target.
    assert correct_doses([0.05, 0.5], 0.25) == (0,)
    oc = simulate(ThreePlusThree(num_doses=5), p, method="exact", target=0.25)
    assert oc.pcs == pytest.approx(oc.no_selection_pct)
    assert oc.overdose_selection_pct == pytest.approx(100 - oc.no_selection_pct)
