"""Designs' select_mtd_batch (used by the engines) agrees with their scalar select_mtd."""

import numpy as np
import pytest

from dosefind.designs import BOIN, CRM
from dosefind.state import TrialState


def random_states(num_doses, rng, n_states=300, max_cohorts=10, cohort_size=3):
    out = []
    for _ in range(n_states):
        n = np.zeros(num_doses, int)
        y = np.zeros(num_doses, int)
        for _ in range(rng.integers(1, max_cohorts + 1)):
            d = rng.integers(0, num_doses)
            n[d] += cohort_size
            y[d] += rng.binomial(cohort_size, rng.uniform(0, 0.7))
        out.append((n, y))
    return out


DESIGNS = [
    BOIN(target=0.3, num_doses=5, cohort_size=3, n_cohorts=10),
    BOIN(target=0.25, num_doses=4, cohort_size=3, n_cohorts=12, extrasafe=True, bound_mtd=True),
    CRM([0.12, 0.2, 0.3, 0.4, 0.5], 0.3, cohort_size=3, max_n=30),
    CRM([0.05, 0.12, 0.25, 0.4], 0.25, model="logistic", cohort_size=3, max_n=30, stop_tox_cutoff=0.9),
    CRM([0.05, 0.12, 0.25, 0.4], 0.25, method="mle", cohort_size=3, max_n=30),
]


@pytest.mark.parametrize("design", DESIGNS, ids=lambda d: repr(d)[:60])
def test_select_batch_matches_scalar(design):
    rng = np.random.default_rng(1)
    states = random_states(design.num_doses, rng)
    n = np.array([s[0] for s in states])
    y = np.array([s[1] for s in states])
    batch = design.select_mtd_batch(n, y)
    for (ni, yi), b in zip(states, batch):
        sel = design.select_mtd(TrialState.from_counts(ni, yi))
        assert b == (-1 if sel.mtd_index is None else sel.mtd_index), (ni, yi)
