"""TITE-CRM: limiting case (every patient complete -> the CRM), restrictions, errors."""

import numpy as np
import pytest

from dosefind.designs.crm import CRM
from dosefind.designs.tite_crm import TITECRM, tite_weights
from dosefind.state import Patient, ReasonCode, TrialState

SKELETON = [0.05, 0.12, 0.25, 0.40, 0.55]


def random_complete_state(rng, cohort_size, num_doses=5):
    s = TrialState.empty(num_doses)
    d = 0
    for _ in range(rng.integers(1, 9)):
        s = s.add_cohort(d, [int(v) for v in rng.random(cohort_size) < 0.3])
        d = int(np.clip(d + rng.integers(-1, 3), 0, num_doses - 1))
    return s


@pytest.mark.parametrize("kw", [{}, {"model": "logistic"}, {"method": "mle"}, {"prior_var": 0.5},
                                {"model": "logistic", "method": "mle", "intercept": 2.0}])
@pytest.mark.parametrize("cohort_size", [1, 3])
def test_complete_states_reduce_to_crm(kw, cohort_size):
    rng = np.random.default_rng(10 + cohort_size)
    pairs = [  # the same restrictions on both sides
        (TITECRM(SKELETON, 0.25, dlt_window=28, cohort_size=cohort_size, escalate_after_dlt=False, **kw),
         CRM(SKELETON, 0.25, cohort_size=cohort_size, **kw)),
        (TITECRM(SKELETON, 0.25, dlt_window=28, cohort_size=cohort_size, **kw),
         CRM(SKELETON, 0.25, cohort_size=cohort_size, escalate_after_dlt=True, **kw)),
        (TITECRM(SKELETON, 0.25, dlt_window=28, cohort_size=cohort_size, restrict=False, **kw),
         CRM(SKELETON, 0.25, cohort_size=cohort_size, restrict=False, **kw)),
    ]
    for _ in range(30):
        s = random_complete_state(rng, cohort_size)
        if kw.get("method") == "mle" and sum(s.tox_at_dose) in (0, s.total_n):
            # No MLE: dfcrm's titesim/crmsim use the N(0, 500^2) posterior mean with the numerator
            # on [-10, 10]; dosefind's CRM integrates it over the whole line (docs/validation.md).
            continue
        for tite, crm in pairs:
            a, b = tite.decide(s), crm.decide(s)
            assert (a.dose_index, a.code, a.action) == (b.dose_index, b.code, b.action), s.to_string()
            sa, sb = tite.select_mtd(s), crm.select_mtd(s)
            assert sa.mtd == sb.mtd
            assert np.allclose(sa.estimates, sb.estimates, atol=1e-9)
            if kw.get("method") != "mle":  # titecrm's MLE variance integrates over [-10, 10], crm's over [-100, 100]
                assert sa.details["beta_var"] == pytest.approx(sb.details["beta_var"], abs=1e-8)


def test_counts_only_state_is_read_as_complete():
    s = TrialState.from_counts([3, 3, 0, 0, 0], [0, 1, 0, 0, 0], current_dose=2)
    tite, crm = TITECRM(SKELETON, 0.25, dlt_window=28), CRM(SKELETON, 0.25)
    assert np.allclose(tite.tox_estimates(s), crm.select_mtd(s).estimates)


def test_titesim_restrictions():
    # titesim(restrict = TRUE) applies only no-skipping: cur <- min(obj$mtd, cur + 1).
    design = TITECRM(SKELETON, 0.25, dlt_window=28)
    s = TrialState.from_outcomes("1N 1N 1N 1N 1N 1N", num_doses=5)
    d = design.decide(s)
    assert d.next_dose == 2 and d.code == ReasonCode.ESCALATE and "one level only" in d.reason
    assert TITECRM(SKELETON, 0.25, dlt_window=28, restrict=False).decide(s).next_dose > 2
    # escalate_after_dlt=False: no escalation after a DLT in the last cohort (crmsim's coherence).
    s = TrialState.from_outcomes("1N 1N 1N 1N 1N 1N 1N 1N 1N 1N 2N 2N 2N 2N 2T", num_doses=5)
    free, coherent = TITECRM(SKELETON, 0.25, dlt_window=28), TITECRM(SKELETON, 0.25, dlt_window=28,
                                                                   escalate_after_dlt=False)
    assert free.decide(s).next_dose == 3
    assert coherent.decide(s).next_dose == 2 and coherent.decide(s).code == ReasonCode.STAY


def test_coherence_reads_only_the_last_cohort():
    # crmsim: sum(ynew) / mcohort >= target, ynew = the last cohort only.  "1N 1N 1N 1T 1N":
    # the last cohort (of one) had no DLT, so escalation to dose 2 is allowed; after "... 1T"
    # it is not.
    design = TITECRM(SKELETON, 0.25, dlt_window=28, escalate_after_dlt=False)
    ok = TrialState.from_outcomes("1N 1N 1N 1T 1N", num_doses=5)
    assert design.decide(ok).next_dose == 2 == CRM(SKELETON, 0.25).decide(ok).next_dose
    blocked = TrialState.from_outcomes("1N 1N 1N 1N 1N 1N 1T", num_doses=5)
    assert design.decide(blocked).next_dose == 1 and design.decide(blocked).code == ReasonCode.STAY


def test_pending_patients_lower_the_estimates_less_than_complete_ones():
    design = TITECRM(SKELETON, 0.25, dlt_window=28)
    base = [Patient(0, 0)] * 3 + [Patient(1, 1, followup=9.0)]
    est = []
    for u in (0.0, 7.0, 14.0, 28.0):
        s = TrialState.from_patients(base + [Patient(1, 0, complete=u >= 28, followup=u)] * 2, num_doses=5)
        est.append(design.tox_estimates(s)[1])
    assert est[0] > est[1] > est[2] > est[3]    # more follow-up without DLT -> lower estimate


def test_adaptive_scheme_uses_the_dlt_times():
    lin = TITECRM(SKELETON, 0.25, dlt_window=28)
    ada = TITECRM(SKELETON, 0.25, dlt_window=28, scheme="adaptive")
    s = TrialState.from_patients([Patient(0, 0), Patient(0, 1, followup=20.0), Patient(1, 0, complete=False,
                                                                                       followup=14.0)], 5)
    assert lin.patient_arrays(s)[3].tolist() == [0.5]
    assert ada.patient_arrays(s)[3].tolist() == pytest.approx([(14 / 20) / 2])
    no_time = TrialState.from_patients([Patient(0, 1), Patient(1, 0, complete=False, followup=3.0)], 5)
    with pytest.raises(ValueError, match="day of every observed DLT"):
        ada.decide(no_time)
    assert lin.decide(no_time).action == "treat"


def random_pending_state(rng, num_doses=5):
    pts = []
    for d in np.sort(rng.integers(0, 3, rng.integers(1, 8))):
        y = int(rng.random() < 0.3)
        pts.append(Patient(int(d), y, followup=float(rng.uniform(0, 28)) if y else 28.0))
    pts += [Patient(int(d), 0, complete=False, followup=float(rng.uniform(0, 28)))
            for d in rng.integers(0, 4, rng.integers(0, 4))]
    pts += [Patient(int(pts[-1].dose_index), int(rng.random() < 0.3), followup=3.0)] * int(rng.integers(0, 3))
    return TrialState.from_patients(pts, num_doses)


@pytest.mark.parametrize("kw", [{"escalate_after_dlt": False}, {"scheme": "adaptive"},
                                {"method": "mle", "model": "logistic"}, {"restrict": False, "max_n": 9}])
def test_engine_batch_is_the_scalar_rule(kw):
    design = TITECRM(SKELETON, 0.25, dlt_window=28, **kw)
    rng = np.random.default_rng(3)
    states = [random_pending_state(rng) for _ in range(40)]
    arrays = [design.state_arrays(s) for s in states]
    K = max(a[0].shape[1] for a in arrays) + 2          # extra padding, as the engine's

    def pad(i, fill, dtype):
        return np.array([np.pad(a[i][0].astype(dtype), (0, K - a[i].shape[1]), constant_values=fill)
                         for a in arrays])

    nxt, action, codes = design.decide_patients_batch(pad(0, -1, np.int64), pad(1, 0, np.int8),
                                                      pad(2, 0.0, float), pad(3, False, bool),
                                                      np.array([s.current_index for s in states]),
                                                      np.zeros(len(states)))
    for s, n_, a_, c_ in zip(states, nxt, action, codes):
        d = design.decide(s)
        assert (int(n_), int(a_), c_) == (-1 if d.dose_index is None else d.dose_index,
                                          {"treat": 0, "wait": 1, "stop": 2}[d.action], d.code)


def test_final_selection_batch_matches_select_mtd():
    design = TITECRM(SKELETON, 0.25, dlt_window=28)
    rng = np.random.default_rng(5)
    states = [random_complete_state(rng, 1) for _ in range(30)]
    got = design.select_mtd_batch(np.array([s.n_at_dose for s in states]), np.array([s.tox_at_dose for s in states]))
    assert got.tolist() == [design.select_mtd(s).mtd_index for s in states]


@pytest.mark.parametrize("kw,match", [
    ({"dlt_window": 0}, "dlt_window must be a positive number"),
    ({"dlt_window": -3}, "dlt_window must be a positive number"),
    ({"dlt_window": None}, "dlt_window must be given"),
    ({"dlt_window": 28, "scheme": "exponential"}, "scheme must be 'linear' or 'adaptive'"),
    ({"dlt_window": 28, "method": "mcmc"}, "method must be 'bayes' or 'mle'"),
    ({"dlt_window": 28, "restrict": "yes"}, "restrict must be true or false"),
    ({"dlt_window": 28, "escalate_after_dlt": 1}, "escalate_after_dlt must be true or false"),
])
def test_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        TITECRM(SKELETON, 0.25, **kw)


def test_bad_threshold_and_missing_followup():
    design = TITECRM(SKELETON, 0.25, dlt_window=28)
    s = TrialState.from_outcomes("1NN", num_doses=5)
    with pytest.raises(ValueError, match="threshold must be between 0 and 1"):
        design.prob_tox_exceeds(s, 1.5)
    pend = TrialState.from_patients([Patient(0, 0, complete=False)], 5)
    with pytest.raises(ValueError, match="follow-up \\(days\\) of every pending patient"):
        design.decide(pend)
    with pytest.raises(ValueError, match="dlt_window must be a positive number"):
        tite_weights([1.0], [0], 0)
    with pytest.raises(ValueError, match="scheme must be"):
        tite_weights([1.0], [0], 28, "cubic")
