"""TITE designs in calendar time: the limiting case and the engine's two paths.

With arrivals so slow that every patient is fully followed before the next decision
(one arrival every 1000 days, 28-day window), a TITE design never sees a pending patient,
so TITE-BOIN must give BOIN's and TITE-CRM (cohorts of 1) the CRM's operating
characteristics -- trial by trial, since the calendar engine's patients are the cohort
engine's (stream 0, docs/simulation.md).  The cohort engine is itself checked against exact
calculation (tests/simulations/test_exact_vs_monte_carlo.py).
"""

import numpy as np
import pytest

from dosefind.designs import BOIN, CRM, StopAtN, TITEBOIN, TITECRM
from dosefind.simulations import simulate
from dosefind.simulations.timing import Accrual, Manufacturing, ToxicityTiming

P5 = [0.05, 0.10, 0.20, 0.30, 0.45]
SKELETON = [0.05, 0.12, 0.25, 0.40, 0.55]
SLOW = Accrual.fixed(1000.0)


def same_trials(a, b):
    for k in ("selection_pct", "patients_mean", "dlt_mean"):
        np.testing.assert_array_equal(a.values[k], b.values[k])
    assert a.stop_reasons == b.stop_reasons


@pytest.mark.parametrize("extra", [{}, {"extrasafe": True, "n_earlystop": 12}])
def test_slow_arrivals_tite_boin_is_boin(extra):
    boin = BOIN(target=0.3, num_doses=5, cohort_size=3, max_n=30, **extra)
    cohort = simulate(boin, P5, n_trials=2000, seed=21, method="mc")
    tite = TITEBOIN(target=0.3, num_doses=5, cohort_size=3, max_n=30, dlt_window=28, selection_prior=0.05, **extra)
    cal = simulate(tite, P5, n_trials=2000, seed=21, accrual=SLOW)
    same_trials(cal, cohort)
    assert cal.calendar["turned_away"]["mean"] == 0
    # TITEgBOIN's own selection smoothing (0.005) moves only near-ties of the isotonic estimates.
    ref = simulate(TITEBOIN(target=0.3, num_doses=5, cohort_size=3, max_n=30, dlt_window=28, **extra), P5,
                   n_trials=2000, seed=21, accrual=SLOW)
    np.testing.assert_array_equal(ref.values["patients_mean"], cohort.values["patients_mean"])
    assert np.abs(ref.values["selection_pct"] - cohort.values["selection_pct"]).max() <= 1.0


@pytest.mark.parametrize("tite_kw,crm_kw", [({"escalate_after_dlt": False}, {}),
                                             ({}, {"escalate_after_dlt": True}),
                                             ({"model": "logistic", "restrict": False}, {"model": "logistic",
                                                                                         "restrict": False})])
def test_slow_arrivals_tite_crm_is_crm(tite_kw, crm_kw):
    crm = CRM(SKELETON, 0.25, cohort_size=1, max_n=20, **crm_kw)
    cohort = simulate(crm, P5, n_trials=300, seed=5, method="mc", target=0.25)
    tite = TITECRM(SKELETON, 0.25, cohort_size=1, max_n=20, dlt_window=28, **tite_kw)
    cal = simulate(tite, P5, n_trials=300, seed=5, accrual=SLOW, target=0.25)
    same_trials(cal, cohort)


@pytest.mark.parametrize("design", [
    TITEBOIN(target=0.3, num_doses=5, cohort_size=3, max_n=24, dlt_window=28),
    TITEBOIN(target=0.2, num_doses=5, cohort_size=3, max_n=24, dlt_window=28, estimator="imputation", maxpen=0.6),
    TITECRM(SKELETON, 0.25, cohort_size=1, max_n=15, dlt_window=28, scheme="adaptive"),
], ids=["tite-boin", "tite-boin-paper", "tite-crm-adaptive"])
def test_engine_fast_path_equals_scalar_path(design):
    # A chain is run through the scalar decide (one TrialState per trial and decision);
    # the plain design through decide_patients_batch.  StopAtN(max_n) changes nothing.
    kw = dict(n_trials=150, seed=3, accrual=Accrual.poisson(1 / 6), timing=ToxicityTiming.weibull_late(0.6),
              manufacturing=Manufacturing(failure=0.1, vein_to_vein=5))
    fast = simulate(design, P5, **kw)
    slow = simulate(design.then(StopAtN(design.max_n)), P5, **kw)
    for k in ("selection_pct", "patients_mean", "dlt_mean"):
        np.testing.assert_array_equal(fast.values[k], slow.values[k])
    assert fast.stop_reasons == slow.stop_reasons
    for k in ("duration", "turned_away", "time_suspended"):
        assert fast.calendar[k]["mean"] == slow.calendar[k]["mean"]


@pytest.mark.parametrize("design", [
    TITECRM(SKELETON, 0.25, cohort_size=1, max_n=10, dlt_window=28),
    TITEBOIN(target=0.3, num_doses=5, cohort_size=3, max_n=12, dlt_window=28),
], ids=["tite-crm", "tite-boin"])
def test_same_numbers_for_any_number_of_workers(design):
    kw = dict(n_trials=3000, seed=2, accrual=Accrual.poisson(1 / 7))
    a, b = simulate(design, P5, workers=1, **kw), simulate(design, P5, workers=2, **kw)
    assert a.to_dict() == b.to_dict()
