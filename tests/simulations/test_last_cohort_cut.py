"""max_n not a multiple of the cohort size (issue 10's surviving mutant): the last cohort is
cut to the places left (BOIN get.oc's convention), identically in the exact and the Monte
Carlo engines and in calendar time."""

import numpy as np

from dosefind.designs import BOIN
from dosefind.simulations import simulate

P = [0.05, 0.10, 0.20, 0.30, 0.45]


def test_exact_and_monte_carlo_agree_when_max_n_is_not_a_multiple_of_the_cohort_size():
    design = BOIN(target=0.3, num_doses=5, cohort_size=3, max_n=31)
    exact = simulate(design, P, method="exact")
    mc = simulate(design, P, method="mc", n_trials=4000, seed=3)
    # 10 full cohorts then one patient: no trial exceeds 31, and trials reaching max_n have 31
    assert exact.n_mean <= 31 and mc.values["n_mean"] <= 31
    z = np.abs(mc.values["selection_pct"] - exact.values["selection_pct"]) / np.maximum(mc.se["selection_pct"], 1e-9)
    assert z.max() < 3, z
    zp = np.abs(mc.values["patients_mean"] - exact.values["patients_mean"]) / np.maximum(mc.se["patients_mean"], 1e-9)
    assert zp.max() < 3, zp
    # the cut cohort: with max_n = 31 the mean size exceeds that of max_n = 30 by the share
    # of trials that reach 30 patients (each then treats exactly one more patient)
    e30 = simulate(BOIN(target=0.3, num_doses=5, cohort_size=3, max_n=30), P, method="exact")
    assert abs((exact.n_mean - e30.n_mean) - e30.stop_reasons["max_n"] / 100) < 1e-9
