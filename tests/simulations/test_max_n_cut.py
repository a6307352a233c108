"""Monte Carlo against exact propagation when ``max_n`` is not a multiple of the cohort
size, so that the last cohort is cut to ``max_n`` (as BOIN's get.oc cuts nothing: there
``ncohort * cohortsize`` is the size; dosefind allows any ``max_n`` and cuts the last
cohort, in both engines).  An off-by-one in either engine's cut changes the sample size
of every trial that reaches ``max_n``.
"""

import numpy as np
import pytest
from test_exact_vs_monte_carlo import assert_agree
from toy_designs import LastCohortRule

from dosefind.designs import BOIN
from dosefind.simulations import simulate


@pytest.mark.parametrize("method", ["exact", "mc"])
def test_every_trial_that_runs_to_the_end_treats_exactly_max_n(method):
    # No DLT is ever seen, so the toy rule escalates to the top and keeps treating: every
    # trial ends at max_n = 20 = 6 cohorts of 3 and a last cohort cut to 2.
    d = LastCohortRule(num_doses=4, cohort_size=3, max_n=20)
    oc = simulate(d, [0.0, 0.0, 0.0, 0.0], method=method, n_trials=500, seed=1, target=0.3)
    assert oc.n_mean == pytest.approx(20, abs=1e-12)
    # patients per dose: 3, 3, 3 on the way up, then 3 + 3 + 3 + 2 at the top
    assert np.asarray(oc.patients_mean) == pytest.approx([3, 3, 3, 11], abs=1e-12)


@pytest.mark.parametrize("p", [[0.05, 0.1, 0.2, 0.3, 0.45], [0.3, 0.4, 0.5, 0.6, 0.7]])
def test_toy_design_monte_carlo_agrees_with_exact(p):
    d = LastCohortRule(num_doses=5, cohort_size=3, max_n=20)
    exact = simulate(d, p, method="exact", target=0.3)
    mc = simulate(d, p, method="mc", n_trials=20_000, seed=8, target=0.3)
    assert exact.n_mean <= 20 + 1e-12
    assert_agree(exact, mc)


def test_boin_monte_carlo_agrees_with_exact():
    d = BOIN(target=0.3, num_doses=4, cohort_size=3, max_n=17)
    p = [0.1, 0.2, 0.3, 0.45]
    exact = simulate(d, p, method="exact")
    mc = simulate(d, p, method="mc", n_trials=20_000, seed=4)
    assert exact.n_mean <= 17 + 1e-12
    assert_agree(exact, mc)
