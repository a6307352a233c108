"""BOIN operating characteristics against published simulation output.

Source: "Introduction to simFastBOIN" (G. Homma, CRAN vignette of simFastBOIN, dated
2025-12-11), section "Running a Basic BOIN Simulation": ``sim_boin(n_trials = 1000,
target = 0.30, p_true = c(0.10, 0.25, 0.40, 0.55, 0.70), n_cohort = 10, cohort_size = 3,
seed = 123)``, printed summary table.  simFastBOIN states that its results match the BOIN
package (get.oc); its ``sim_boin`` defaults (simFastBOIN 1.3.2 reference manual) are
``n_earlystop = 18`` with the "with_stay" rule (BOIN 2.7's n.earlystop rule),
``cutoff_eli = 0.95``, ``extrasafe = FALSE``, ``p_saf = 0.6 target``, ``p_tox = 1.4 target``.

The published figures come from 1,000 simulated trials and are rounded to 0.1, so we
compare dosefind's *exact* values within 3 Monte Carlo standard errors of a
1,000-trial simulation (binomial for percentages; per-trial standard deviations taken
from a large dosefind simulation for means) plus 0.05 for rounding.
"""

import numpy as np
import pytest

from dosefind.designs import BOIN
from dosefind.simulations import simulate

P_TRUE = [0.10, 0.25, 0.40, 0.55, 0.70]
PUBLISHED = {  # vignette table: DL1..DL5, then Total / No MTD
    "selection_pct": [10.8, 52.4, 33.8, 2.8, 0.1],
    "no_selection_pct": 0.1,
    "patients_mean": [6.8, 11.9, 7.7, 1.8, 0.1],
    "n_mean": 28.4,
    "dlt_mean": [0.7, 3.0, 3.1, 1.0, 0.1],
    "dlt_total_mean": 7.9,
}
N_PUBLISHED = 1000


@pytest.fixture(scope="module")
def results():
    design = BOIN(target=0.30, num_doses=5, cohort_size=3, n_cohorts=10, n_earlystop=18)
    exact = simulate(design, P_TRUE, method="exact")
    mc = simulate(design, P_TRUE, method="mc", n_trials=50_000, seed=123)  # per-trial SDs only
    return exact, mc


def test_selection_percentages(results):
    exact, _ = results
    for ours, pub in zip(list(exact.selection_pct) + [exact.no_selection_pct],
                         PUBLISHED["selection_pct"] + [PUBLISHED["no_selection_pct"]]):
        q = max(ours, 0.1) / 100
        se = 100 * np.sqrt(q * (1 - q) / N_PUBLISHED)
        assert abs(ours - pub) <= 3 * se + 0.05, (ours, pub, se)


@pytest.mark.parametrize("key", ["patients_mean", "n_mean", "dlt_mean", "dlt_total_mean"])
def test_patients_and_dlts(results, key):
    exact, mc = results
    sd = np.asarray(mc.se[key]) * np.sqrt(mc.n_trials)
    se = sd / np.sqrt(N_PUBLISHED)
    diff = np.abs(np.asarray(exact.values[key]) - np.asarray(PUBLISHED[key]))
    assert np.all(diff <= 3 * se + 0.05), (key, exact.values[key], PUBLISHED[key], se)
