"""TITE-BOIN: limiting case (no pending patient -> BOIN), TITEgBOIN's rules, errors."""

import doctest

import numpy as np
import pytest
from scipy.stats import beta

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
            assert p is None if n == 0 else p == pytest.approx(beta.sf(boin.target, y + 1, n - y + 1))


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
    assert design.prob_tox_exceeds(s, 0.3)[0] == pytest.approx(beta.sf(0.3, 2, 2.5))


def random_pending_state(rng, num_doses=5):
    pts = []
    d = 0
    for _ in range(rng.integers(1, 6)):
        for _ in range(3):
            if rng.random() < 0.4:
                pts.append(Patient(d, 0, complete=False, followup=float(rng.uniform(0, 28))))
            else:
                y = int(rng.random() < 0.35)
                pts.append(Patient(d, y, followup=float(rng.uniform(0, 28)) if y else 28.0))
        d = int(np.clip(d + rng.integers(-1, 2), 0, num_doses - 1))
    return TrialState.from_patients(pts, num_doses)


@pytest.mark.parametrize("kw", [{}, {"estimator": "imputation"}, {"extrasafe": True, "n_earlystop": 9},
                                {"maxpen": 1.0, "max_n": 12}, {"maxpen": 0.34, "target": 0.2}])
def test_engine_batch_is_the_scalar_rule(kw):
    kw = {"target": 0.3, "max_n": 30, **kw}
    design = TITEBOIN(num_doses=5, dlt_window=28, **kw)
    rng = np.random.default_rng(11)
    states = [random_pending_state(rng) for _ in range(120)]
    K = max(len(s.patients) for s in states) + 1

    def pad(get, fill, dtype):
        return np.array([[get(p) for p in s.patients] + [fill] * (K - len(s.patients)) for s in states], dtype=dtype)

    nxt, action, codes = design.decide_patients_batch(
        pad(lambda p: p.dose_index, -1, np.int64), pad(lambda p: p.dlt, 0, np.int8),
        pad(lambda p: p.followup, 0.0, float), pad(lambda p: p.complete, False, bool),
        np.array([s.current_index for s in states]), np.zeros(len(states)))
    seen = set()
    for s, n_, a_, c_ in zip(states, nxt, action, codes):
        d = design.decide(s)
        seen.add(d.code)
        assert (int(n_), int(a_), c_) == (-1 if d.dose_index is None else d.dose_index,
                                          {"treat": 0, "wait": 1, "stop": 2}[d.action], d.code)
    assert {ReasonCode.WAIT_PENDING, ReasonCode.ESCALATE, ReasonCode.STAY} <= seen


def test_final_selection_batch_matches_select_mtd():
    design = TITEBOIN(target=0.3, num_doses=5, max_n=30, dlt_window=28)
    rng = np.random.default_rng(2)
    states = [random_complete_state(rng, 3) for _ in range(40)]
    got = design.select_mtd_batch(np.array([s.n_at_dose for s in states]), np.array([s.tox_at_dose for s in states]))
    assert got.tolist() == [-1 if (m := design.select_mtd(s).mtd_index) is None else m for s in states]


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
