"""Monte Carlo agrees with exact propagation within 3 standard errors.

Each metric is compared with its own Monte Carlo SE.  Selection percentages and the
scalar summaries must agree within 3 SE; the per-dose means (patients, DLTs, patient
shares: 15 correlated comparisons per run) within 4 SE, so that the family of ~30
comparisons per run has a false-alarm rate of about 1% rather than ~15%.  Seeds are
fixed, so the tests are deterministic.
"""

import numpy as np
import pytest
from toy_designs import LastCohortRule, NoReturnRule

from dosefind.designs import BOIN, CRM, ThreePlusThree
from dosefind.simulations import simulate

SCENARIOS = [
    [0.05, 0.10, 0.20, 0.30, 0.45],
    [0.30, 0.40, 0.50, 0.60, 0.70],
    [0.02, 0.05, 0.08, 0.12, 0.30],
]


def _se(key, e, mc_se, T):
    # For a proportion the SE under the exact value is the right yardstick (a rare event
    # may not occur in the simulation at all, giving a Monte Carlo SE of zero).
    if key in PROPORTIONS:
        q = np.asarray(e) / 100
        return np.maximum(mc_se, 100 * np.sqrt(q * (1 - q) / T))
    return mc_se


PROPORTIONS = {"selection_pct", "no_selection_pct", "pcs", "overdose_selection_pct", "overdose60_pct",
               "overdose80_pct", "early_stop_pct"}


def assert_agree(exact, mc, k=3.0):
    assert exact.method == "exact" and mc.method == "mc"
    T = mc.n_trials
    for key in ("selection_pct", "patients_mean", "dlt_mean", "patients_pct"):
        e, m, se = map(np.asarray, (exact.values[key], mc.values[key], mc.se[key]))
        se = _se(key, e, se, T)
        kk = k if key == "selection_pct" else k + 1
        assert np.all(np.abs(e - m) <= kk * se + 1e-9), (key, e, m, se)
    for key in ("no_selection_pct", "n_mean", "dlt_total_mean", "pcs", "overdose_selection_pct",
                "overdose_patients_pct", "overdose60_pct", "overdose80_pct", "early_stop_pct"):
        e, m, se = exact.values[key], mc.values[key], mc.se[key]
        if e is None:
            assert m is None
            continue
        se = float(_se(key, e, se, T))
        assert abs(e - m) <= k * se + 1e-9, (key, e, m, se)


@pytest.mark.parametrize("p", SCENARIOS)
def test_three_plus_three(p):
    d = ThreePlusThree(num_doses=5)
    exact = simulate(d, p, method="exact", target=0.25)
    mc = simulate(d, p, method="mc", n_trials=20_000, seed=11, target=0.25)
    assert_agree(exact, mc)


@pytest.mark.parametrize("p", SCENARIOS)
def test_count_toy_design(p):
    d = LastCohortRule(num_doses=5, cohort_size=3, max_n=24)
    exact = simulate(d, p, method="exact", target=0.3)
    mc = simulate(d, p, method="mc", n_trials=20_000, seed=3, target=0.3)
    assert_agree(exact, mc)


def test_history_toy_design():
    d = NoReturnRule(num_doses=4, cohort_size=2, max_n=12)
    p = [0.1, 0.2, 0.35, 0.5]
    exact = simulate(d, p, method="exact", target=0.3)
    mc = simulate(d, p, method="mc", n_trials=10_000, seed=5, target=0.3)
    assert_agree(exact, mc)


def test_modified_design_uses_the_chain():
    from dosefind.designs import StopAtN

    d = LastCohortRule(num_doses=5, cohort_size=3, max_n=30).then(StopAtN(18))
    exact = simulate(d, SCENARIOS[0], method="exact", target=0.3)
    assert exact.n_mean <= 18 + 1e-9
    mc = simulate(d, SCENARIOS[0], method="mc", n_trials=10_000, seed=2, target=0.3)
    assert_agree(exact, mc)


@pytest.mark.slow
@pytest.mark.parametrize("p", SCENARIOS[:2])
def test_boin(p):
    d = BOIN(target=0.3, num_doses=5, cohort_size=3, n_cohorts=10)
    exact = simulate(d, p, method="exact")
    mc = simulate(d, p, method="mc", n_trials=10_000, seed=7)
    assert_agree(exact, mc)


def test_boin_batch_and_scalar_paths_agree_exactly():
    # decide_batch must give the same operating characteristics as the scalar decide.
    d = BOIN(target=0.25, num_doses=4, cohort_size=3, n_cohorts=6, extrasafe=True)
    p = [0.2, 0.3, 0.45, 0.6]
    a = simulate(d, p, method="exact", use_batch=True)
    b = simulate(d, p, method="exact", use_batch=False)
    for key in ("selection_pct", "patients_mean", "dlt_mean"):
        np.testing.assert_allclose(a.values[key], b.values[key], rtol=0, atol=1e-10)
    assert a.stop_reasons.keys() == b.stop_reasons.keys()


def test_exact_probabilities_sum_to_one():
    d = ThreePlusThree(num_doses=4)
    oc = simulate(d, [0.1, 0.2, 0.3, 0.4], method="exact", target=0.2)
    assert sum(oc.selection_pct) + oc.no_selection_pct == pytest.approx(100, abs=1e-9)
    assert sum(oc.stop_reasons.values()) == pytest.approx(100, abs=1e-9)
    assert oc.patients_mean.sum() == pytest.approx(oc.n_mean, abs=1e-9)


CRMS = {
    "empiric": lambda: CRM([0.12, 0.20, 0.30, 0.40, 0.50], 0.3, cohort_size=3, max_n=30),
    "logistic-stop": lambda: CRM([0.05, 0.12, 0.25, 0.40, 0.55], 0.25, model="logistic", cohort_size=3, max_n=24,
                                 stop_tox_cutoff=0.9),
}


@pytest.mark.parametrize("name", list(CRMS))
@pytest.mark.parametrize("p", SCENARIOS)
def test_crm(name, p):
    d = CRMS[name]()
    exact = simulate(d, p, method="exact")
    mc = simulate(d, p, method="mc", n_trials=10_000, seed=13)
    assert_agree(exact, mc)


def test_crm_batch_and_scalar_paths_agree_exactly():
    d = CRM([0.1, 0.25, 0.4], 0.25, cohort_size=2, max_n=10, stop_tox_cutoff=0.85)
    p = [0.15, 0.3, 0.5]
    a = simulate(d, p, method="exact", use_batch=True)
    b = simulate(d, p, method="exact", use_batch=False)
    for key in ("selection_pct", "patients_mean", "dlt_mean"):
        np.testing.assert_allclose(a.values[key], b.values[key], rtol=0, atol=1e-9)


def test_modified_boin_uses_scalar_path_and_agrees():
    from dosefind.designs import DontSkipDoses, StopWhenNAtDose

    d = BOIN(target=0.3, num_doses=5, cohort_size=3, n_cohorts=8).then(StopWhenNAtDose(9), DontSkipDoses())
    p = SCENARIOS[0]
    exact = simulate(d, p, method="exact")
    mc = simulate(d, p, method="mc", n_trials=10_000, seed=4)
    assert_agree(exact, mc)
