"""Phase I/II results: definitions, common random numbers, faces and JSON, compare()."""

import numpy as np
import pytest
from toy_designs import LastCohortRule, ToyEfficacyRule

from dosefind.simulations import OperatingCharacteristics, Scenario, compare, simulate
from dosefind.simulations.joint import JointOutcomes
from dosefind.simulations.phase12 import EfficacyTally, correct_obd, efficacy_metrics, true_mtd_at, true_utility

TOX = [0.1, 0.3, 0.5]
EFF = [0.2, 0.5, 0.6]
U = ToyEfficacyRule.utility


def test_truth_definitions_by_hand():
    j = JointOutcomes([0.05, 0.2, 0.34, 0.5], [0.1, 0.3, 0.5, 0.9], correlation=0.0)
    # U = 40 P(N) + 100 P(E) + 60 P(B) + 0 P(T); independent cells, e.g. dose 4:
    # 40*.05 + 100*.45 + 60*.45 = 74, the highest, but dose 4 is above phi_t = 0.35.
    u = true_utility(U, j)
    np.testing.assert_allclose(u, [40 * .855 + 100 * .095 + 60 * .005, 40 * .56 + 100 * .24 + 60 * .06,
                                   40 * .33 + 100 * .33 + 60 * .17, 74.0])
    assert true_mtd_at(j.p_tox, 0.35) == 2
    assert correct_obd(u, 2) == (2,)
    assert correct_obd(u, None) == ()
    assert true_mtd_at([0.4, 0.5], 0.35) is None


def test_efficacy_tally_api_by_hand():
    # Two trials; per-trial arrays as the calendar engine passes them.
    u = np.array([48.0, 58.0, 56.0])
    t = EfficacyTally(3, u, correct=(1,), mtd=1)
    n = np.array([[3, 6, 0], [3, 3, 3]])
    e = np.array([[0, 3, 0], [1, 1, 2]])
    labels = ["max_n", "futility", "lowest_too_toxic"]
    t.add(n, n * 0, e, np.array([1, -1]), np.array([0, 1]), labels)
    t2 = EfficacyTally(3, u, correct=(1,), mtd=1).add(np.array([[3, 0, 0]]), np.zeros((1, 3), int),
                                                       np.zeros((1, 3), int), np.array([-1]), np.array([2]), labels)
    t.merge(t2)
    v, se = efficacy_metrics(t)
    np.testing.assert_allclose(v["obd_selection_pct"], [0, 100 / 3, 0])
    assert v["pct_correct_obd"] == pytest.approx(100 / 3)
    assert v["utility_selected_mean"] == pytest.approx(58.0)
    np.testing.assert_allclose(v["responses_mean"], [1 / 3, 4 / 3, 2 / 3])
    assert v["patients_at_obd_mean"] == pytest.approx(3.0)
    assert v["obd_overdose_patients_pct"] == pytest.approx(100 * 3 / 21)
    assert v["early_stop_futility_pct"] == pytest.approx(100 / 3)
    assert v["early_stop_toxicity_pct"] == pytest.approx(100 / 3)
    assert se["pct_correct_obd"] == pytest.approx(100 * np.sqrt((1 / 3) * (2 / 3) / 3))


def test_no_admissible_dose_means_no_selection_is_correct():
    oc = simulate(ToyEfficacyRule(num_doses=2, cohort_size=2, max_n=6), [0.5, 0.6], true_prob_eff=[0.3, 0.4],
                  method="exact")
    assert oc.efficacy["correct_obd"] == [] and oc.efficacy["true_mtd"] is None
    assert oc.pct_correct_obd == pytest.approx(oc.obd_no_selection_pct)
    assert oc.obd_overdose_pct == pytest.approx(100 - oc.obd_no_selection_pct)


def test_phase_one_design_with_responses_keeps_its_numbers():
    d = LastCohortRule(num_doses=3, cohort_size=3, max_n=12)
    for method in ("exact", "mc"):
        plain = simulate(d, TOX, method=method, n_trials=20_000, seed=5, target=0.3)
        withe = simulate(d, TOX, true_prob_eff=EFF, tox_eff_correlation=0.2, method=method, n_trials=20_000, seed=5,
                         target=0.3)
        assert withe.method == method
        for k in ("selection_pct", "patients_mean", "dlt_mean"):
            np.testing.assert_allclose(withe.values[k], plain.values[k], atol=1e-9)
        assert withe.values["pcs"] == pytest.approx(plain.values["pcs"], abs=1e-9)
        # Responses: E[e_d] = E[y_d] P(E | DLT) + E[n_d - y_d] P(E | no DLT) (linearity).
        j = JointOutcomes(TOX, EFF, 0.2)
        want = plain.values["dlt_mean"] * j.eff_given_tox + (plain.values["patients_mean"]
                                                             - plain.values["dlt_mean"]) * j.eff_given_no_tox
        got, se = withe.efficacy["values"]["responses_mean"], withe.efficacy["se"]["responses_mean"]
        if method == "exact":
            np.testing.assert_allclose(got, want, atol=1e-12)
        else:
            assert (np.abs(got - want) < 4.5 * se + 1e-12).all()
        # A phase I design has no utility table: the utility metrics are None.
        assert withe.efficacy["values"]["utility_selected_mean"] is None


def test_same_patients_for_phase_one_and_phase_one_two():
    # With every patient responding the toy never stops for futility and escalates exactly as
    # LastCohortRule, so on the same seed both see the same patients and the same DLTs.
    eff = [1.0, 1.0, 1.0]
    a = simulate(LastCohortRule(num_doses=3, cohort_size=2, max_n=10), TOX, true_prob_eff=eff, method="mc",
                 n_trials=20_000, seed=9)
    b = simulate(ToyEfficacyRule(num_doses=3, cohort_size=2, max_n=10), TOX, true_prob_eff=eff, method="mc",
                 n_trials=20_000, seed=9)
    for k in ("patients_mean", "dlt_mean"):
        np.testing.assert_array_equal(a.values[k], b.values[k])
    np.testing.assert_array_equal(a.efficacy["values"]["responses_mean"], b.efficacy["values"]["responses_mean"])


def test_workers_do_not_change_results():
    d = ToyEfficacyRule(num_doses=3, cohort_size=2, max_n=10)
    one = simulate(d, TOX, true_prob_eff=EFF, method="mc", n_trials=25_000, seed=4, workers=1)
    two = simulate(d, TOX, true_prob_eff=EFF, method="mc", n_trials=25_000, seed=4, workers=2)
    assert one.to_dict() == two.to_dict()


def test_faces_and_json_round_trip():
    d = ToyEfficacyRule(num_doses=3, cohort_size=2, max_n=10)
    oc = simulate(d, Scenario(TOX, name="s1", true_prob_response=EFF), method="mc", n_trials=3_000, seed=1)
    assert oc.efficacy is not None  # the scenario's true_prob_response supplied the truth
    back = OperatingCharacteristics.from_json(oc.to_json())
    assert back.to_dict() == oc.to_dict()
    np.testing.assert_allclose(back.obd_selection_pct, oc.obd_selection_pct, atol=1e-6)
    s = oc.summary()
    assert {"pct_correct_obd", "utility_selected_mean", "early_stop_futility_pct"} <= set(s.index)
    assert s.loc["pct_correct_obd", "se"] > 0
    f = oc.to_frame()
    assert {"obd_selection_pct", "responses_mean", "true_utility", "correct_obd"} <= set(f.columns)
    assert "OBD selected %" in oc.to_markdown()


def test_compare_phase_one_and_phase_one_two_on_same_patients():
    designs = {"3-cohort rule": LastCohortRule(num_doses=3, cohort_size=2, max_n=10),
               "toy 12": ToyEfficacyRule(num_doses=3, cohort_size=2, max_n=10)}
    scen = [Scenario(TOX, name="a", true_prob_response=EFF)]
    cmp = compare(designs, scen, n_trials=5_000, seed=3, tox_eff_correlation=0.1)
    # The phase I design is scored against the phase I/II design's utility and phi_t.
    alone = simulate(designs["3-cohort rule"], scen[0], tox_eff_correlation=0.1, method="mc", n_trials=5_000,
                     seed=3, utility=U, tox_limit=0.35)
    assert cmp[("a", "3-cohort rule")].to_dict() | {"design": None} == alone.to_dict() | {"design": None}
    frame = cmp.to_frame()
    assert "pct_correct_obd" in frame.columns and frame["pct_correct_obd"].notna().all()
    assert cmp.efficacy_frame().shape[0] == 2
    toy = cmp[("a", "toy 12")]
    assert toy.efficacy["correct_obd"] == cmp[("a", "3-cohort rule")].efficacy["correct_obd"] == [2]


def test_calendar_engine_hook(monkeypatch):
    # The contract a calendar engine with responses follows: it takes ``phase12`` (the
    # run's Phase12Setup), fills ``phase12.tallies()[1]`` from per-trial arrays and returns
    # it third; simulate() turns it into the efficacy block with the same truth.
    from dosefind.simulations import Accrual, calendar

    real = calendar.simulate_calendar

    def with_responses(design, setup, p, n_trials, seed, above, *, workers=1, progress=None, phase12=None):
        tally, arrays = real(design, setup, p, n_trials, seed, above, workers=workers, progress=progress)
        eff = phase12.tallies()[1]
        n = np.array([[3, 3, 0], [3, 0, 0]])
        eff.add(n, n * 0, np.array([[1, 2, 0], [0, 0, 0]]), np.array([1, -1]), np.array([0, 1]),
                ["max_n", "futility"])
        return tally, arrays, eff

    monkeypatch.setattr(calendar, "simulate_calendar", with_responses)
    d = ToyEfficacyRule(num_doses=3, cohort_size=2, max_n=10)
    oc = simulate(d, TOX, true_prob_eff=EFF, n_trials=50, seed=1, dlt_window=28, accrual=Accrual.poisson(rate=2 / 30))
    assert oc.calendar is not None
    assert oc.efficacy["correct_obd"] == [2]
    assert oc.pct_correct_obd == pytest.approx(50.0) and oc.early_stop_futility_pct == pytest.approx(50.0)
