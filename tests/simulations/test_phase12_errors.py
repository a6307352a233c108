"""Bad phase I/II simulation input gives clear errors naming the parameter (issue 11)."""

import pytest
from toy_designs import LastCohortRule, NoReturnRule, ToyEfficacyRule

from dosefind.simulations import simulate

D = ToyEfficacyRule(num_doses=3, cohort_size=2, max_n=8)
TOX = [0.1, 0.3, 0.5]


def test_phase12_design_needs_response_rates():
    with pytest.raises(ValueError, match="phase I/II design: true_prob_eff must be given"):
        simulate(D, TOX, method="mc", n_trials=10, seed=1)


@pytest.mark.parametrize("eff, match", [
    ([0.2, 1.2, 0.5], r"true_prob_eff\[2\] must be between 0 and 1"),
    ([-0.1, 0.2, 0.5], r"true_prob_eff\[1\] must be between 0 and 1"),
    ([0.2, 0.5], "true_prob_eff must have 3 values"),
    ("0.2,0.3,0.4", "true_prob_eff must be a list of probabilities"),
])
def test_response_rates_checked(eff, match):
    with pytest.raises(ValueError, match=match):
        simulate(D, TOX, true_prob_eff=eff, method="mc", n_trials=10, seed=1)


def test_correlation_outside_range_and_infeasible():
    with pytest.raises(ValueError, match="tox_eff_correlation must be between -1 and 1, got 1.5"):
        simulate(D, TOX, true_prob_eff=[0.2, 0.5, 0.6], tox_eff_correlation=1.5, method="mc", n_trials=10)
    with pytest.raises(ValueError, match="tox_eff_correlation 0.9 is impossible at dose 1"):
        simulate(D, TOX, true_prob_eff=[0.2, 0.5, 0.6], tox_eff_correlation=0.9, method="mc", n_trials=10)
    with pytest.raises(ValueError, match="tox_eff_correlation needs true response rates"):
        simulate(LastCohortRule(num_doses=3, max_n=9), TOX, tox_eff_correlation=0.3, method="mc", n_trials=10)


def test_joint_table_checks():
    good = [[0.72, 0.08, 0.18, 0.02], [0.35, 0.15, 0.35, 0.15], [0.2, 0.3, 0.3, 0.2]]
    with pytest.raises(ValueError, match="either joint .* or true_prob_eff"):
        simulate(D, joint=good, true_prob_eff=[0.2, 0.5, 0.5], method="mc", n_trials=10)
    with pytest.raises(ValueError, match="joint table row for dose 2 must sum to 1"):
        simulate(D, joint=[good[0], [0.5, 0.5, 0.5, 0.5], good[2]], method="mc", n_trials=10)
    with pytest.raises(ValueError, match="differ from true_prob_tox"):
        simulate(D, [0.1, 0.3, 0.4], joint=good, method="mc", n_trials=10)
    with pytest.raises(ValueError, match="joint table has 2 doses but the design has 3"):
        simulate(D, joint=good[:2], method="mc", n_trials=10)


def test_history_design_refused_with_responses():
    with pytest.raises(ValueError, match="memory='counts'"):
        simulate(NoReturnRule(num_doses=3, max_n=9), TOX, true_prob_eff=[0.2, 0.5, 0.6], method="mc", n_trials=10)


def test_select_obd_of_phase_one_design_is_refused():
    from dosefind.state import TrialState

    with pytest.raises(TypeError, match="phase I design"):
        LastCohortRule(num_doses=3).select_obd(TrialState.empty(3))


def test_scenario_responses_are_optional_for_phase_one_designs_that_cannot_carry_them():
    from dosefind.simulations import Accrual, Scenario
    from dosefind.simulations.calendar import simulate_calendar
    import inspect

    s = Scenario(TOX, name="with responses", true_prob_response=[0.2, 0.5, 0.6])
    # A history design runs its phase I simulation (the scenario's responses are dropped) ...
    oc = simulate(NoReturnRule(num_doses=3, max_n=9), s, method="mc", n_trials=200, seed=1)
    assert oc.efficacy is None
    # ... and so does a phase I design in calendar time while that engine has no responses.
    if "joint" not in inspect.signature(simulate_calendar).parameters:
        oc = simulate(LastCohortRule(num_doses=3, max_n=9), s, n_trials=200, seed=1, dlt_window=28,
                      accrual=Accrual.poisson(rate=2 / 30))
        assert oc.efficacy is None
        with pytest.raises(ValueError, match="cannot be simulated in calendar time yet"):
            simulate(LastCohortRule(num_doses=3, max_n=9), s, true_prob_eff=[0.2, 0.5, 0.6], n_trials=200, seed=1,
                     dlt_window=28, accrual=Accrual.poisson(rate=2 / 30))
