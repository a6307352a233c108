"""TITE-BOIN12 (Zhou et al. 2022, Statistics in Medicine 41:1918): each rule on hand-made
patient records, numbers worked by hand from the approximated likelihood (Lin & Yuan
2020) as the module docstring states it."""

import math

import pytest
from scipy.special import betaincc

from dosefind import TrialState
from dosefind.designs import BOIN12
from dosefind.designs.boin12 import benchmark_utility
from dosefind.designs.tite_boin12 import TITEBOIN12, effective_summary
from dosefind.state import Patient


def _design(**kw):
    opts = dict(phi_t=0.35, phi_e=0.25, num_doses=4, max_n=30, dlt_window=28, eff_window=56)
    opts.update(kw)
    return TITEBOIN12(**opts)


def _p(dose, dlt=0, fu=28.0, eff=0, efu=56.0, W=28, WE=56):
    """A patient at 1-based ``dose``: DLT follow-up ``fu`` days, efficacy follow-up ``efu``."""
    return Patient(dose - 1, dlt, bool(dlt) or fu >= W, fu, eff=eff, eff_complete=bool(eff) or efu >= WE,
                   eff_followup=efu)


def _state(patients, D=4):
    return TrialState.from_patients(patients, D)


def test_fully_followed_equals_boin12_on_every_small_history():
    # Limit of issue 11: with everything followed TITE-BOIN12 is BOIN12 (decision, code, reason).
    import itertools

    b12 = BOIN12(phi_t=0.35, phi_e=0.25, num_doses=4, max_n=30)
    t12 = _design()
    letters = "NTEB"
    checked = 0
    for first in itertools.product(letters, repeat=3):
        for second in itertools.product(letters, repeat=3):
            for dose2 in (1, 2):
                s = TrialState.from_outcomes(f"1{''.join(first)} {dose2}{''.join(second)}", num_doses=4)
                a, b = b12.decide(s), t12.decide(s)
                assert (a.action, a.dose_index, a.code, a.reason) == (b.action, b.dose_index, b.code, b.reason)
                checked += 1
    assert checked == 2 * 64 * 64


def test_effective_summary_by_hand():
    # Dose 1: 3 complete (1 DLT, 1 response); dose 2: one complete, two pending 14 and 7 of 28
    # DLT days and 28 and 14 of 56 efficacy days.
    pts = [_p(1, dlt=1), _p(1, eff=1, efu=30), _p(1), _p(2, eff=1, efu=40), _p(2, fu=14, efu=28), _p(2, fu=7, efu=14)]
    s = effective_summary(pts, 4, 28, 56)
    assert s["ess_t"][1] == pytest.approx(1 + 0.5 + 0.25)       # n - m + STFT
    assert s["ess_e"][1] == pytest.approx(1 + 0.5 + 0.25)
    p_e = 1 / 1.75
    assert s["p_e"][1] == pytest.approx(p_e)
    # expected response of a pending patient: p (1 - w) / (1 - p w)
    exp_e = [p_e * (1 - w) / (1 - p_e * w) for w in (0.5, 0.25)]
    assert s["eff"][1] == pytest.approx(1 + sum(exp_e))
    assert s["tox"][1] == 0 and s["p_t"][1] == 0       # no DLT seen at dose 2


def test_suspension_more_than_maxpen_pending_for_either_outcome():
    base = [_p(1), _p(1), _p(1, eff=1, efu=20)]
    # 2 of 4 pending for response: exactly half is allowed
    half = _state(base + [_p(2), _p(2, eff=1, efu=10), _p(2, fu=28, efu=30), _p(2, fu=28, efu=20)])
    assert _design().decide(half).action != "wait"
    # 2 of 3 pending for response: more than half, suspend
    more = _state(base + [_p(2), _p(2, fu=28, efu=30), _p(2, fu=28, efu=20)])
    d = _design().decide(more)
    assert (d.action, d.code.value) == ("wait", "wait_pending")
    # the same by DLT pending
    more_t = _state(base + [_p(2, eff=1, efu=5), _p(2, fu=10, eff=1, efu=10), _p(2, fu=20, eff=1, efu=20)])
    assert _design().decide(more_t).code.value == "wait_pending"
    # maxpen = 1 never suspends on these
    assert _design(maxpen=1.0).decide(more).action == "treat"


def test_escalation_uses_the_effective_dlt_rate():
    # Dose 2: 6 patients, 1 DLT seen, 2 pending for DLT at 7 and 7 of 28 days (responses all
    # known): ESS = 4 + 0.5 = 4.5, rate 1/4.5 = 0.222 <= lambda_e (0.2763 for phi_t 0.35),
    # so the dose above is a candidate although n >= n1 = 6; with 2 DLTs (2/4.5 = 0.444 >=
    # lambda_d = 0.4203) the effective rate de-escalates where 2/6 = 0.333 would not.
    # lambda_e, lambda_d: Liu & Yuan (2015) closed form with phi_1 = 0.6 phi, phi_2 = 1.4 phi.
    d = _design(n2=None)
    lam_e, lam_d = d.lambda_e, d.lambda_d
    p, p1, p2 = 0.35, 0.21, 0.49
    assert lam_e == pytest.approx(math.log((1 - p1) / (1 - p)) / math.log(p * (1 - p1) / (p1 * (1 - p))))
    assert lam_d == pytest.approx(math.log((1 - p) / (1 - p2)) / math.log(p2 * (1 - p) / (p * (1 - p2))))
    assert 1 / 4.5 <= lam_e and 2 / 4.5 >= lam_d > 2 / 6
    resp = dict(eff=1, efu=10)
    one = [_p(1, **resp)] * 3 + [_p(2, dlt=1, fu=3, **resp)] + [_p(2, **resp)] * 3 + [_p(2, fu=7, **resp)] * 2
    dec = d.decide(_state(one))
    assert dec.action == "treat" and "dose 3" in dec.reason      # the dose above is a candidate
    two = [_p(1, **resp)] * 3 + [_p(2, dlt=1, fu=3, **resp)] * 2 + [_p(2, **resp)] * 2 + [_p(2, fu=7, **resp)] * 2
    dec2 = d.decide(_state(two))
    assert dec2.next_dose == 1 and "at or above the de-escalation boundary" in dec2.reason
    b12 = BOIN12(phi_t=0.35, phi_e=0.25, num_doses=4, max_n=30, n2=None)
    full = [_p(1, **resp)] * 3 + [_p(2, dlt=1, fu=3, **resp)] * 2 + [_p(2, **resp)] * 4
    assert "boundary" not in b12.decide(_state(full)).reason   # 2/6: between the boundaries


def test_desirability_uses_expected_pending_responses():
    # Two candidates, dose 1 complete, dose 2 with pending responses: the score of dose 2 is
    # 1 - I_{u_b/100}(1 + x, 1 + n - x), x = utility of the expected outcomes / 100.
    d = _design()
    pts = [_p(1), _p(1), _p(1, eff=1, efu=20), _p(2, eff=1, efu=20), _p(2, eff=1, efu=30), _p(2, fu=28, efu=28)]
    s = effective_summary(pts, 4, 28, 56)
    p_e = 2 / 2.5
    e_pend = p_e * 0.5 / (1 - p_e * 0.5)
    x = (100 * (2 + e_pend) + 40 * (1 - e_pend)) / 100        # no DLT: u = 100 with response, 40 without
    _, u_b = benchmark_utility(0.35, 0.25)
    want = float(betaincc(1 + x, 1 + 3 - x, u_b / 100))
    assert d._effective_desirability(s, 1) == pytest.approx(want, rel=1e-12)
    assert s["eff"][1] == pytest.approx(2 + e_pend)


def test_futility_on_effective_data_not_on_pending_as_failures():
    # Dose 1: 8 patients, no response yet, 5 complete, 3 pending for response with 28 of 56
    # days: ESS_E = 5 + 3 * 0.5 = 6.5; Pr(p_E < 0.25 | Beta(1, 1 + 6.5)) = 1 - 0.75^7.5 = 0.884,
    # not above c_e = 0.9: kept.  Counting the pending as non-responders (0/8) would give
    # 1 - 0.75^9 = 0.925 and eliminate the dose.
    d = _design(maxpen=1.0)
    pts = [_p(1)] * 5 + [_p(1, efu=28)] * 3
    s = effective_summary(pts, 4, 28, 56)
    assert s["ess_e"][0] == pytest.approx(6.5)
    _, futile = d._effective_elimination(s)
    assert 1 - 0.75 ** 7.5 < 0.9 < 1 - 0.75 ** 9
    assert not futile[0]
    # once those three are complete without response (0/8) the dose is futile, as in BOIN12
    s_full = effective_summary([_p(1)] * 8, 4, 28, 56)
    assert d._effective_elimination(s_full)[1][0]


def test_select_obd_is_boin12s_on_complete_data():
    s = TrialState.from_outcomes("1NNE 2ENE 2BNE 3TEN", num_doses=4)
    a = BOIN12(phi_t=0.35, phi_e=0.25, num_doses=4, max_n=30).select_obd(s)
    b = _design().select_obd(s)
    assert (a.obd_index, a.mtd_index, a.reason) == (b.obd_index, b.mtd_index, b.reason)


def test_attributes_and_bad_input():
    d = _design()
    assert d.memory == "patients" and d.efficacy and d.dlt_window == 28 and d.eff_window == 56
    assert d.params()["eff_window"] == 56 and "TITE-BOIN12" in d.describe()
    with pytest.raises(ValueError, match="eff_window"):
        _design(eff_window=0)
    with pytest.raises(ValueError, match="maxpen must be in"):
        _design(maxpen=1.5)
    with pytest.raises(ValueError, match="phi_e"):
        _design(phi_e=1.2)
    pending = [Patient(0, 0, True, 28.0, eff=0, eff_complete=False, eff_followup=None)]
    with pytest.raises(ValueError, match="eff_followup=None"):
        d.decide(_state(pending * 3))
    assert math.isfinite(d.lambda_e)


def test_count_boundaries_are_the_rate_comparison_for_whole_counts():
    # TITE-BOIN12 compares p_hat = y/ESS with lambda_e, lambda_d when DLTs are pending at the
    # current dose and BOIN's count boundaries otherwise; BOIN12's one rule
    # (BOIN12._rule) takes the outcome of either.  For whole counts the two agree: y <= esc
    # exactly when y/n <= lambda_e (esc = floor(n lambda_e), R BOIN's get.boundary), and
    # y >= deesc exactly when y/n >= lambda_d or y reaches the elimination count (BOIN
    # lowers the de-escalation count to it), where the current dose is itself eliminated.
    from dosefind.designs.boin import BOIN

    for t in [round(0.05 + 0.01 * k, 2) for k in range(56)]:
        b = BOIN(target=t, num_doses=3, cohort_size=1, max_n=60)
        for n in range(1, 61):
            esc, deesc, elim, _ = b._bounds(n)
            for y in range(n + 1):
                assert (y <= esc) == (y / n <= b.lambda_e), (t, n, y)
                assert (y >= deesc) == (y / n >= b.lambda_d or y >= elim), (t, n, y)


def test_effective_path_runs_boin12s_rule_on_whole_counts():
    # One rule, one place: decide_effective (the pending-data path) hands its pieces to
    # BOIN12._rule, as decide_counts does.  Given effective data with nothing pending it
    # must reach BOIN12's decision on the same counts, with BOIN12's reason apart from
    # saying where the data come from; every history of two cohorts of 3, as above.
    import itertools

    b12 = BOIN12(phi_t=0.35, phi_e=0.25, num_doses=4, max_n=30)
    t12 = _design()
    seen = set()
    for first in itertools.product("NTEB", repeat=3):
        for second in itertools.product("NTEB", repeat=3):
            for dose2 in (1, 2):
                s = TrialState.from_outcomes(f"1{''.join(first)} {dose2}{''.join(second)}", num_doses=4)
                a = b12.decide_counts(s.n_at_dose, s.tox_at_dose, s.eff_at_dose, s.current_index)
                b = t12.decide_effective(effective_summary(s.patients, 4, 28, 56), s.current_index)
                assert (a.action, a.dose_index, a.code) == (b.action, b.dose_index, b.code)
                assert a.reason == b.reason.replace(" on the effective data", "")
                seen.add(a.code)
    assert len(seen) >= 4          # escalate, stay, de-escalate and stops all reached


def test_where_the_comparisons_differ_the_dose_is_eliminated_and_the_decision_agrees():
    # The exception above: y reaches BOIN's elimination count at the current dose while
    # y/n < lambda_d.  Dose d (and every dose above) is then eliminated for toxicity, so
    # BOIN12's rule reaches the same next dose and code with either outcome of the
    # comparison.  Checked on every such (n, y) up to 60 patients, phi_t 0.05-0.60 (54 cases,
    # phi_t 0.54 and above), with a
    # tried dose below (de-escalate) and without one (stop).
    from dosefind.designs.boin import BOIN

    found = 0
    for t in [round(0.05 + 0.01 * k, 2) for k in range(56)]:
        b12 = BOIN12(phi_t=t, phi_e=0.25, num_doses=3, cohort_size=1, max_n=120)
        boin = BOIN(target=t, num_doses=3, cohort_size=1, max_n=120)
        assert (b12.lambda_e, b12.lambda_d) == (boin.lambda_e, boin.lambda_d)
        for nd in range(3, 61):
            esc, deesc, elim, _ = boin._bounds(nd)
            for y in range(elim, nd + 1):
                if y / nd >= boin.lambda_d:
                    continue
                found += 1
                for n, tox, eff, d in (([3, nd, 0], [0, y, 0], [1, nd, 0], 1), ([nd, 0, 0], [y, 0, 0], [nd, 0, 0], 0)):
                    pieces = b12._pieces(n, tox, eff, (0, 0, 0))
                    tox_from, futile, scores, _ = pieces
                    a = b12._decide_pieces(n, tox, pieces, d)            # counts: y >= deesc, down
                    b = b12._rule(d, nd, tox_from, futile, n, False, y <= esc, scores.__getitem__,
                                  lambda: "", None)                       # the rate: not down
                    assert (a.action, a.dose_index, a.code) == (b.action, b.dose_index, b.code), (t, nd, y, d)
    assert found > 0


def test_suspension_counts_patients_pending_for_either_outcome_once():
    # The authors' TITE-BOIN12 program (get.tite.boin12.approx, "Code is the same as in
    # BOIN12 hereafter") suspends when the number of patients at the current dose with a
    # DLT *or* a response assessment pending exceeds maxpen times the patients there.
    # Dose 2: two patients pending for DLT only (responded early), two pending for response
    # only (DLT window done): 2 of 4 for each outcome, but all 4 have something pending.
    base = [_p(1), _p(1), _p(1, eff=1, efu=20)]
    pts = base + [_p(2, fu=10, eff=1, efu=10), _p(2, fu=12, eff=1, efu=12), _p(2, fu=28, efu=30),
                  _p(2, fu=28, efu=40)]
    s = effective_summary(pts, 4, 28, 56)
    assert (s["m_t"][1], s["m_e"][1], s["m_any"][1]) == (2, 2, 4)
    d = _design().decide(_state(pts))
    assert (d.action, d.code.value) == ("wait", "wait_pending")
    assert "4 of 4 patients pending for DLT or response" in d.reason
    # one of them completes both: 3 of 4 still more than half; two complete: 2 of 4 allowed
    done = [_p(2, fu=28, eff=1, efu=10)]
    assert _design().decide(_state(base + done + pts[4:])).action == "wait"
    assert _design().decide(_state(base + done * 2 + pts[5:])).action == "treat"


def test_toxicity_elimination_counts_pending_patients_as_treated_not_by_ess():
    # The authors' program eliminates for toxicity on the DLTs seen among all patients
    # treated (Beta(1 + y, 1 + n - y), "don't use ESS because we don't want to accidentally
    # eliminate doses"), with BOIN12's count table.  Dose 1: 6 patients, 3 DLTs seen, 3
    # pending at 10% of the DLT window (responses known).  By counts Pr(p > 0.35 | Beta(4, 4))
    # = 0.80 < 0.95: kept, and 3/ESS = 3/3.3 >= lambda_d with no lower dose: stay.  On the
    # effective sample size Beta(4, 1.3) gives 0.976 and would stop the trial.
    pts = [_p(1, dlt=1, fu=5, eff=1, efu=5)] * 3 + [_p(1, fu=2.8, eff=1, efu=5)] * 3
    assert float(betaincc(4, 4, 0.35)) < 0.95 < float(betaincc(4, 1.3, 0.35))
    d = _design()
    s = effective_summary(pts, 4, 28, 56)
    assert d._effective_elimination(s)[0] == 4          # nothing eliminated
    dec = d.decide(_state(pts))
    assert (dec.action, dec.next_dose, dec.code.value) == ("treat", 1, "stay")
    # the batch path agrees
    import numpy as np
    B = 1
    dose = np.array([[p.dose_index for p in pts]])
    nxt, action, codes = d.decide_patients_batch(
        dose, np.array([[p.dlt for p in pts]]), np.array([[p.followup for p in pts]]),
        np.array([[p.complete for p in pts]]), np.zeros(B, np.int64), eff=np.array([[p.eff for p in pts]]),
        eff_complete=np.array([[p.eff_complete for p in pts]]), eff_followup=np.array([[p.eff_followup for p in pts]]))
    assert (int(nxt[0]), int(action[0]), codes[0].value) == (0, 0, "stay")
