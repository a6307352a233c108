"""TITE-BOIN: limiting case (no pending patient -> BOIN), TITEgBOIN's rules, errors."""

import doctest

import numpy as np
import pytest

import dosefind.designs.tite_boin as tite_boin_module
import dosefind.designs.tite_crm as tite_crm_module
from dosefind.designs.boin import BOIN
from dosefind.designs.tite_boin import TITEBOIN, ess_estimate, imputation_estimate, stft
from dosefind.state import Patient, ReasonCode, TrialState


def random_complete_state(rng, cohort_size, num_doses=5):
    s = TrialState.empty(num_doses)
    d = 0
    for _ in range(rng.integers(1, 10)):
        s = s.add_cohort(d, [int(v) for v in rng.random(cohort_size) < 0.35])
        d = int(np.clip(d + rng.integers(-1, 2), 0, num_doses - 1))
    return s


@pytest.mark.parametrize("kw", [{}, {"extrasafe": True}, {"n_earlystop": 9}, {"target": 0.25, "cutoff_eli": 0.9},
                                {"estimator": "imputation"}])
@pytest.mark.parametrize("cohort_size", [1, 3])
def test_complete_states_reduce_to_boin(kw, cohort_size):
    kw = {"target": 0.3, **kw}
    est = kw.pop("estimator", "ess")
    tite = TITEBOIN(num_doses=5, cohort_size=cohort_size, max_n=27, dlt_window=28, estimator=est,
                    selection_prior=0.05, **kw)
    boin = BOIN(num_doses=5, cohort_size=cohort_size, max_n=27, **kw)
    rng = np.random.default_rng(cohort_size)
    for _ in range(80):
        s = random_complete_state(rng, cohort_size)
        a, b = tite.decide(s), boin.decide(s)
        assert (a.dose_index, a.code, a.action, a.reason) == (b.dose_index, b.code, b.action, b.reason)
        sa, sb = tite.select_mtd(s), boin.select_mtd(s)
        assert (sa.mtd, sa.estimates) == (sb.mtd, sb.estimates)
        for p, n, y in zip(tite.prob_tox_exceeds(s, boin.target), s.n_at_dose, s.tox_at_dose):
            assert p is None if n == 0 else p == pytest.approx(boin.prob_tox_exceeds(n, y))


def test_pending_elsewhere_counts_as_treated_for_elimination():
    # TITEgBOIN eliminates on n (pending included) and observed y: 3 DLTs in 4 at dose 2
    # (one pending) eliminates dose 2 at target 0.3; the current dose 1 has no pending patient.
    pts = [Patient(0, 0)] * 3 + [Patient(1, 1, followup=3.0)] * 3 + [Patient(1, 0, complete=False, followup=2.0)]
    pts += [Patient(0, 0)] * 3
    s = TrialState.from_patients(pts, 5)
    d = TITEBOIN(target=0.3, num_doses=5, max_n=30, dlt_window=28).decide(s)
    assert d.next_dose == 1 and d.code == ReasonCode.STAY and "eliminated" in d.reason


def test_lowest_dose_too_toxic_with_pending_waits():
    # Dose 1: 1 DLT, 1 complete, 1 pending with no follow-up: 1 / (3 - 1 + 0) = 0.5 >= lambda_d
    # at the lowest dose -> TITEgBOIN sets pending = 1 (wait), not "stay".
    s = TrialState.from_patients([Patient(0, 1, followup=2.0), Patient(0, 0),
                                  Patient(0, 0, complete=False, followup=0.0)], 5)
    d = TITEBOIN(target=0.3, num_doses=5, max_n=30, dlt_window=28).decide(s)
    assert d.action == "wait" and d.code == ReasonCode.WAIT_PENDING


def test_maxpen_is_a_strict_share_and_configurable():
    pts = [Patient(0, 0)] * 2 + [Patient(0, 0, complete=False, followup=14.0)] * 2
    s = TrialState.from_patients(pts, 5)
    assert TITEBOIN(target=0.3, num_doses=5, max_n=30, dlt_window=28).decide(s).next_dose == 2   # 2 > 2 is false
    assert TITEBOIN(target=0.3, num_doses=5, max_n=30, dlt_window=28, maxpen=0.4).decide(s).action == "wait"
    assert TITEBOIN(target=0.3, num_doses=5, max_n=30, dlt_window=28, maxpen=1).decide(
        TrialState.from_patients([Patient(0, 0, complete=False, followup=0.0)] * 3, 5)).action == "wait"  # ESS 0


def test_estimators_on_plain_arrays():
    assert stft([14, 7, 40], 28) == pytest.approx(0.5 + 0.25 + 1.0)
    assert ess_estimate(1, 4, 2, 1.0) == pytest.approx(1 / 3)
    assert np.isnan(ess_estimate(0, 2, 2, 0.0))
    # Yuan et al. (2018): pi = (2 + 0.1) / (9 - 1 + 1); {2 + pi / (1 - pi) (1 - 0.5)} / 9
    pi = 2.1 / 9
    assert imputation_estimate(2, 9, 1, 0.5, 0.2) == pytest.approx((2 + pi / (1 - pi) * 0.5) / 9)
    assert imputation_estimate(2, 9, 0, 0.0, 0.2) == pytest.approx(2 / 9)


def test_shared_estimates_with_pending():
    s = TrialState.from_patients([Patient(0, 1, followup=3.0), Patient(0, 0),
                                  Patient(0, 0, complete=False, followup=14.0)], 5)
    design = TITEBOIN(target=0.3, num_doses=5, max_n=30, dlt_window=28)
    assert design.tox_estimates(s) == (pytest.approx(1 / 2.5), None, None, None, None)
    from scipy.stats import beta
    assert design.prob_tox_exceeds(s, 0.3)[0] == pytest.approx(beta.sf(0.3, 2, 2.5))


@pytest.mark.parametrize("kw,match", [
    ({"dlt_window": 0}, "dlt_window must be a positive number"),
    ({"dlt_window": -1}, "dlt_window must be a positive number"),
    ({"dlt_window": None}, "dlt_window must be given"),
    ({"dlt_window": 28, "maxpen": 0}, r"maxpen must be in \(0, 1\]"),
    ({"dlt_window": 28, "maxpen": 1.2}, r"maxpen must be in \(0, 1\]"),
    ({"dlt_window": 28, "estimator": "mean"}, "estimator must be 'ess'"),
    ({"dlt_window": 28, "selection_prior": 0}, "selection_prior must be a positive number"),
    ({"dlt_window": 28, "target": 0.9}, "target must be between 0.05 and 0.6"),
])
def test_bad_input(kw, match):
    kw = {"target": 0.3, **kw}
    with pytest.raises(ValueError, match=match):
        TITEBOIN(num_doses=5, max_n=30, **kw)


def test_pending_without_followup_is_an_error():
    s = TrialState.from_patients([Patient(0, 0, complete=False)], 5)
    with pytest.raises(ValueError, match="follow-up \\(days\\) of every pending patient"):
        TITEBOIN(target=0.3, num_doses=5, max_n=30, dlt_window=28).decide(s)


@pytest.mark.parametrize("module", [tite_boin_module, tite_crm_module])
def test_docstring_examples(module):
    assert doctest.testmod(module).failed == 0
