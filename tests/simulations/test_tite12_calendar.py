"""Phase I/II designs in the calendar-time engine (issue 11): responses with an efficacy
window, BOIN12 waiting for both assessments, TITE-BOIN12 deciding with pending outcomes.

The limits checked here need no reference numbers: with arrivals so slow that everyone is
followed before the next decision, the calendar engine must reproduce the phase I/II
cohort engine's trials exactly (same patients: DLT stream 0, response stream 8), and
TITE-BOIN12 must then be BOIN12."""

import numpy as np
import pytest

from dosefind.designs import BOIN12
from dosefind.designs.tite_boin12 import TITEBOIN12
from dosefind.simulations.calendar import CalendarSetup, simulate_calendar
from dosefind.simulations.joint import JointOutcomes
from dosefind.simulations.phase12 import Phase12Setup, simulate_mc12
from dosefind.simulations.timing import Accrual, EfficacyTiming, Manufacturing, ToxicityTiming

TOX = [0.05, 0.15, 0.30, 0.45]
EFF = [0.20, 0.40, 0.50, 0.55]
ABOVE = np.array([False, False, False, True])
FIELDS = ("obd_sel", "e_sum", "E_sum", "N_sum", "stop_tox", "stop_futility", "util_sum")


def _setup(gap, eff_window=56.0, **kw):
    return CalendarSetup(window=28, accrual=Accrual.fixed(gap), timing=ToxicityTiming.uniform(),
                         manufacturing=Manufacturing(), eff_window=eff_window, **kw)


def _boin12():
    return BOIN12(phi_t=0.35, phi_e=0.25, num_doses=4, max_n=24)


def _tite12(**kw):
    return TITEBOIN12(phi_t=0.35, phi_e=0.25, num_doses=4, max_n=24, dlt_window=28, eff_window=56, **kw)


def _cohort_engine(design, joint, n):
    return simulate_mc12(design, Phase12Setup(design, joint, ABOVE), n, 11)


@pytest.mark.parametrize("make", [_boin12, _tite12], ids=["boin12", "tite-boin12"])
def test_slow_accrual_reproduces_the_cohort_engine(make):
    joint = JointOutcomes(TOX, EFF, 0.2)
    tally, arr, eff = simulate_calendar(make(), _setup(200.0), TOX, 300, 11, ABOVE, joint=joint)
    ref_tally, ref_eff = _cohort_engine(_boin12(), joint, 300)
    for f in FIELDS:
        assert np.array_equal(np.asarray(getattr(eff, f)), np.asarray(getattr(ref_eff, f))), f
    assert np.array_equal(tally.sel, ref_tally.sel) and np.array_equal(tally.n_sum, ref_tally.n_sum)
    assert arr["eff_at_dose"].shape == (300, 4) and arr["obd"].shape == (300,)
    assert arr["eff_at_dose"].sum() == eff.E_sum


def test_count_design_waits_for_the_efficacy_window():
    # Cohorts of 3 arriving 10 days apart: the last patient of a cohort enters 20 days after
    # its first, and with no response at all (an observed response would end the efficacy
    # assessment early) is complete 56 days later, so each cohort takes at least 76 days;
    # waiting only for the DLT window would allow 48.
    joint = JointOutcomes(TOX, [0.0] * 4, 0.0)
    _, arr, _ = simulate_calendar(_boin12(), _setup(10.0), TOX, 200, 3, ABOVE, joint=joint)
    cohorts = np.ceil(arr["enrolled"] / 3)
    assert np.all(arr["duration"] >= cohorts * 76 - 1e-9)
    assert np.all(arr["turned_away"] > 0)


def test_duration_ends_with_the_longer_window():
    # One patient per 200 days: the trial ends at the last infusion + max(28, 56) days.
    joint = JointOutcomes(TOX, EFF, 0.0)
    _, arr, _ = simulate_calendar(_tite12(), _setup(200.0), TOX, 50, 5, ABOVE, joint=joint)
    assert np.allclose(arr["duration"], (arr["enrolled"] - 1) * 200 + 56)


def test_tite_design_is_faster_and_suspends():
    joint = JointOutcomes(TOX, EFF, 0.0)
    _, fast, _ = simulate_calendar(_tite12(), _setup(7.0), TOX, 200, 5, ABOVE, joint=joint)
    _, slow, _ = simulate_calendar(_boin12(), _setup(7.0), TOX, 200, 5, ABOVE, joint=joint)
    assert fast["duration"].mean() < 0.8 * slow["duration"].mean()
    assert fast["time_suspended"].mean() > 0
    # maxpen = 1 never suspends for pending outcomes at the current dose once someone is
    # followed: fewer patients turned away
    _, free, _ = simulate_calendar(_tite12(maxpen=1.0), _setup(7.0), TOX, 200, 5, ABOVE, joint=joint)
    assert free["turned_away"].mean() < fast["turned_away"].mean()


def test_efficacy_timing_and_window_validation():
    with pytest.raises(ValueError, match="eff_window"):
        _setup(10.0, eff_window=-1)
    with pytest.raises(TypeError, match="EfficacyTiming"):
        _setup(10.0, eff_timing=ToxicityTiming.uniform())
    joint = JointOutcomes(TOX, EFF, 0.0)
    with pytest.raises(ValueError, match="differs from the design's eff_window"):
        simulate_calendar(_tite12(), _setup(10.0, eff_window=30), TOX, 10, 1, ABOVE, joint=joint)
    from dosefind.simulations import Accrual, simulate

    with pytest.raises(ValueError, match="phase I/II design"):     # simulate() refuses it without responses
        simulate(_tite12(), TOX, accrual=Accrual.fixed(10.0), n_trials=10)
    # late responses (Weibull, 90% in the second half) run and keep the same responses
    _, a, _ = simulate_calendar(_boin12(), _setup(200.0), TOX, 100, 2, ABOVE, joint=joint)
    _, b, _ = simulate_calendar(_boin12(), _setup(200.0, eff_timing=EfficacyTiming.weibull_late(0.9)), TOX, 100, 2,
                             ABOVE, joint=joint)
    assert np.array_equal(a["eff_at_dose"], b["eff_at_dose"])


class _ScalarTITE12(TITEBOIN12):
    decide_patients_batch = None      # the engine then builds a TrialState per decision


def test_batch_fast_path_agrees_with_the_scalar_rule():
    # STYLE.md: a vectorised path must give the scalar decide's trials.
    joint = JointOutcomes(TOX, EFF, 0.3)
    kw = dict(phi_t=0.35, phi_e=0.25, num_doses=4, max_n=24, dlt_window=28, eff_window=56)
    t1, a, _ = simulate_calendar(TITEBOIN12(**kw), _setup(6.0), TOX, 150, 9, ABOVE, joint=joint)
    t2, b, _ = simulate_calendar(_ScalarTITE12(**kw), _setup(6.0), TOX, 150, 9, ABOVE, joint=joint)
    for k in ("duration", "enrolled", "turned_away", "eff_at_dose", "obd"):
        assert np.array_equal(a[k], b[k]), k
    assert np.array_equal(t1.n_sum, t2.n_sum) and a["time_suspended"].sum() > 0


def test_simulate_reports_the_obd_block_in_calendar_time():
    # simulate() -> calendar engine -> EfficacyTally -> efficacy block: with slow accrual the
    # OBD selection equals the cohort engine's (same patients), here BOIN12's Monte Carlo run.
    from dosefind.simulations import Accrual, simulate

    kw = dict(true_prob_eff=EFF, tox_eff_correlation=0.2, n_trials=300, seed=11)
    cal = simulate(_tite12(), TOX, accrual=Accrual.fixed(200.0), **kw)
    ref = simulate(_boin12(), TOX, method="mc", **kw)
    assert np.allclose(cal.efficacy["values"]["obd_selection_pct"], ref.efficacy["values"]["obd_selection_pct"])
    assert cal.calendar["duration"]["mean"] > 0 and cal.efficacy["correct_obd"] == ref.efficacy["correct_obd"]


def test_workers_give_identical_phase12_results():
    # Seeded runs are bit-for-bit the same for any number of workers (EfficacyTally sums
    # are integers; per-trial arrays are joined in chunk order).
    joint = JointOutcomes(TOX, EFF, 0.2)
    one = simulate_calendar(_tite12(), _setup(6.0), TOX, 120, 4, ABOVE, joint=joint, chunk_size=40)
    two = simulate_calendar(_tite12(), _setup(6.0), TOX, 120, 4, ABOVE, joint=joint, chunk_size=40, workers=2)
    for f in FIELDS:
        assert np.array_equal(np.asarray(getattr(one[2], f)), np.asarray(getattr(two[2], f))), f
    for k in ("duration", "eff_at_dose", "obd"):
        assert np.array_equal(one[1][k], two[1][k]), k


def test_count_selection_fast_path_agrees_with_patient_records():
    # select_obd_batch (counts) must give select_obd on the complete patient records.
    from dosefind.simulations.timing import Manufacturing as M

    class _Records(TITEBOIN12):
        select_obd_batch = None

    joint = JointOutcomes(TOX, EFF, 0.2)
    kw = dict(phi_t=0.35, phi_e=0.25, num_doses=4, max_n=24, dlt_window=28, eff_window=56)
    setup = CalendarSetup(window=28, accrual=Accrual.fixed(6.0), timing=ToxicityTiming.uniform(),
                          manufacturing=M(failure=0.2), eff_window=56)
    a = simulate_calendar(TITEBOIN12(**kw), setup, TOX, 150, 8, ABOVE, joint=joint)
    b = simulate_calendar(_Records(**kw), setup, TOX, 150, 8, ABOVE, joint=joint)
    assert np.array_equal(a[1]["obd"], b[1]["obd"]) and np.array_equal(a[0].sel, b[0].sel)
    assert (a[1]["failed"] > 0).any()


def test_non_additive_utility_through_patient_records_and_histories():
    # A non-additive utility needs who had both outcomes: BOIN12 (memory "history") and
    # TITE-BOIN12 (patient records, no count selection) agree when everyone is followed.
    from dosefind.simulations import Accrual, simulate

    u = {"eff_no_tox": 100, "no_eff_no_tox": 30, "eff_tox": 50, "no_eff_tox": 0}
    kw = dict(true_prob_eff=EFF, tox_eff_correlation=0.2, n_trials=150, seed=3, accrual=Accrual.fixed(200.0))
    t12 = TITEBOIN12(phi_t=0.35, phi_e=0.25, num_doses=4, max_n=24, dlt_window=28, eff_window=28, utility=u)
    b12 = BOIN12(phi_t=0.35, phi_e=0.25, num_doses=4, max_n=24, utility=u)
    assert t12.select_obd_batch([[3, 0, 0, 0]], [[0, 0, 0, 0]], [[1, 0, 0, 0]], [0]) is None
    a = simulate(t12, TOX, **kw)
    b = simulate(b12, TOX, dlt_window=28, **kw)
    assert np.array_equal(a.efficacy["values"]["obd_selection_pct"], b.efficacy["values"]["obd_selection_pct"])
    assert a.efficacy["values"]["utility_selected_mean"] == b.efficacy["values"]["utility_selected_mean"]
