"""Backfilling in the calendar engine (BF-BOIN, Zhao, Yuan, Korn & Freidlin 2024, Clin Cancer
Res 30:673).

Where the expectations come from:
* cap 0 is the plain design: no patient is ever backfilled, so the trials are the plain
  design's, trial by trial (same seed, same patients: common random numbers).
* With no toxicity at all, every dose is cleared after one cohort of 3 and escalation never
  stops early; a cap of 3 then leaves no room at any dose (exact), and a cap of 6 at most 3
  backfilled patients per dose (each backfill needs fewer than 6 treated there).
* The top dose is never below the current dose: nobody is backfilled there.
* At a fixed total sample size (``count_in_max_n=True``), arrivals that the plain design turns
  away during a wait are treated instead, so the trial fills its places sooner: a shorter
  duration (here a difference of many standard errors).
* BF-BOIN's convention (the default, bfboin's ``ncohort``): ``max_n`` counts escalation
  patients, backfilled ones come on top, and the trial ends (and is analysed) when the last
  escalation patient's window ends; backfilled patients still in follow-up then are treated
  but not analysed.
"""

import numpy as np
import pytest

from dosefind.designs import BOIN, BOIN12, TITEBOIN, Backfill
from dosefind.simulations import simulate
from dosefind.simulations.calendar import CalendarSetup, simulate_calendar
from dosefind.simulations.joint import JointOutcomes
from dosefind.simulations.timing import Accrual, Manufacturing, ToxicityTiming

P = [0.02, 0.06, 0.10, 0.25, 0.40]  # BF-BOIN scenario 4 (Table 3 there) toxicity
ABOVE = np.array([False, False, False, False, True])


def boin():
    return BOIN(target=0.25, num_doses=5, cohort_size=3, max_n=36)


def setup(rate=0.1):
    return CalendarSetup(window=30, accrual=Accrual.poisson(rate), timing=ToxicityTiming.uniform(),
                         manufacturing=Manufacturing())


def run(design, p=P, n=1000, seed=5, rate=0.1):
    return simulate_calendar(design, setup(rate), p, n, seed, ABOVE)


def test_cap_zero_is_the_plain_design_trial_by_trial():
    t0, a0 = run(boin())
    t1, a1 = run(boin().then(Backfill(cap_per_dose=0)))
    for k in ("duration", "enrolled", "turned_away", "arrivals"):
        np.testing.assert_array_equal(a0[k], a1[k])
    assert a1["backfilled"].sum() == 0
    oc0 = simulate(boin(), P, n_trials=1000, seed=5, accrual=Accrual.poisson(0.1), dlt_window=30)
    oc1 = simulate(boin().then(Backfill(0)), P, n_trials=1000, seed=5, accrual=Accrual.poisson(0.1), dlt_window=30)
    for k in ("selection_pct", "patients_mean", "dlt_mean"):
        np.testing.assert_array_equal(oc0.values[k], oc1.values[k])


def test_backfill_only_below_current_dose_and_within_cap():
    zero = [0.0] * 5
    _, a3 = run(boin().then(Backfill(cap_per_dose=3)), p=zero, n=300)
    assert a3["backfilled"].sum() == 0  # each cleared dose already has 3 = the cap
    _, a6 = run(boin().then(Backfill(cap_per_dose=6)), p=zero, n=300)
    per = a6["backfilled_at_dose"]
    assert per.max() == 3 and per[:, -1].sum() == 0
    np.testing.assert_array_equal(a6["backfilled"], per.sum(axis=1))


def test_backfill_fills_places_sooner_at_a_fixed_total():
    _, plain = run(boin(), n=2000)
    _, bf = run(boin().then(Backfill(cap_per_dose=12, count_in_max_n=True)), n=2000)
    assert bf["backfilled"].mean() > 5
    assert bf["turned_away"].mean() < plain["turned_away"].mean()
    assert bf["enrolled"].mean() >= plain["enrolled"].mean()
    diff = plain["duration"] - bf["duration"]
    assert diff.mean() > 10 * diff.std(ddof=1) / np.sqrt(diff.size)


def test_backfilled_patients_are_in_the_final_data():
    # With count_in_max_n=True everyone is followed: patients per dose (the tally, built from
    # the same counts as the selection) add up to everyone enrolled, backfilled included.
    d = boin().then(Backfill(12, count_in_max_n=True))
    oc = simulate(d, P, n_trials=1000, seed=5, accrual=Accrual.poisson(0.1), dlt_window=30)
    assert oc.calendar["backfilled"]["mean"] > 5
    assert np.isclose(np.sum(oc.values["patients_mean"]), oc.calendar["enrolled"]["mean"])
    assert oc.calendar["backfilled"]["unanalysed"]["mean"] == 0
    per = oc.calendar["backfilled"]["per_dose_mean"]
    assert np.isclose(sum(per), oc.calendar["backfilled"]["mean"]) and per[-1] == 0


def test_escalation_sample_size_with_backfilled_patients_on_top():
    # The default (BF-BOIN): max_n = 36 escalation patients whatever the backfilling; the
    # analysis reads every patient complete when the last escalation window ends, so the
    # tally = enrolled - backfilled still in follow-up then.
    t, a = run(boin().then(Backfill(12)), n=1000)
    assert (a["escalation"] <= 36).all() and (a["escalation"] == 36).mean() > 0.5
    np.testing.assert_array_equal(a["enrolled"], a["escalation"] + a["backfilled"])
    assert a["enrolled"].max() > 36 and a["backfilled_unanalysed"].sum() > 0
    assert (a["backfilled_unanalysed"] <= a["backfilled"]).all()
    oc = simulate(boin().then(Backfill(12)), P, n_trials=1000, seed=5, accrual=Accrual.poisson(0.1), dlt_window=30)
    c = oc.calendar
    assert np.isclose(np.sum(oc.values["patients_mean"]), c["enrolled"]["mean"] - c["backfilled"]["unanalysed"]["mean"])
    assert np.isclose(c["backfilled"]["escalation"]["mean"] + c["backfilled"]["mean"], c["enrolled"]["mean"])


def test_boin12_with_backfill_runs_and_reports():
    d = BOIN12(phi_t=0.35, phi_e=0.25, num_doses=5, cohort_size=3, max_n=36).then(Backfill(9))
    joint = JointOutcomes([0.02, 0.06, 0.10, 0.25, 0.40], [0.05, 0.10, 0.15, 0.30, 0.45], 0.0)
    cs = CalendarSetup(window=30, accrual=Accrual.poisson(0.1), timing=ToxicityTiming.uniform(),
                       manufacturing=Manufacturing())
    _, arr, _ = simulate_calendar(d, cs, P, 300, 2, ABOVE, joint=joint)
    assert arr["backfilled"].mean() > 0 and (arr["backfilled_at_dose"] <= 9).all()
    assert arr["backfilled_at_dose"][:, -1].sum() == 0


def test_escalation_waits_for_its_own_cohort_only():
    # Deterministic trials (exact): no toxicity, one arrival a day, no manufacturing delay.
    # BOIN escalates after every cohort to dose 5 and stays there; with cap 6, backfilling
    # gives exactly 3 patients to each of doses 1-4 (dose 1 while dose 2's cohort is
    # pending, and so on), 12 in all.  With max_n 36 + 12 the escalation cohorts are the
    # plain design's (max_n 36) on the same days, so the trial ends the same day: the
    # escalation never waits for a backfilled patient's follow-up.  The same holds with the
    # default convention and max_n 36 escalation patients (the last backfilled patient, at
    # dose 4 while the 5th cohort is pending, is complete long before the end: all analysed).
    zero = [0.0] * 5
    cs = CalendarSetup(window=30, accrual=Accrual.fixed(1.0), timing=ToxicityTiming.uniform(),
                       manufacturing=Manufacturing())
    _, plain = simulate_calendar(BOIN(target=0.25, num_doses=5, max_n=36), cs, zero, 50, 1, ABOVE)
    _, bf = simulate_calendar(BOIN(target=0.25, num_doses=5, max_n=48).then(Backfill(6, count_in_max_n=True)), cs,
                              zero, 50, 1, ABOVE)
    np.testing.assert_array_equal(bf["backfilled_at_dose"], np.tile([3.0, 3.0, 3.0, 3.0, 0.0], (50, 1)))
    np.testing.assert_array_equal(bf["duration"], plain["duration"])
    _, bf2 = simulate_calendar(BOIN(target=0.25, num_doses=5, max_n=36).then(Backfill(6)), cs, zero, 50, 1, ABOVE)
    np.testing.assert_array_equal(bf2["backfilled_at_dose"], bf["backfilled_at_dose"])
    np.testing.assert_array_equal(bf2["duration"], plain["duration"])
    np.testing.assert_array_equal(bf2["escalation"], np.full(50, 36.0))
    np.testing.assert_array_equal(bf2["backfilled_unanalysed"], np.zeros(50))
    # 12 cohorts, each decided at the first arrival after its last patient's 30-day window:
    # cohort k starts on day 32 (k - 1), the last one ends on 32 * 11 + 2 + 30.
    np.testing.assert_array_equal(plain["duration"], np.full(50, 32.0 * 11 + 32))


def test_require_response_without_responses_never_backfills():
    # BF-BOIN opens a dose only after a response there: with no response anywhere
    # (efficacy 0, exact) nobody is backfilled, while the same run without the condition does.
    joint = JointOutcomes(P, [0.0] * 5, 0.0)
    cs = CalendarSetup(window=30, accrual=Accrual.poisson(0.1), timing=ToxicityTiming.uniform(),
                       manufacturing=Manufacturing())
    _, none, _ = simulate_calendar(boin().then(Backfill(12, require_response=True)), cs, P, 200, 4, ABOVE, joint=joint)
    _, some, _ = simulate_calendar(boin().then(Backfill(12)), cs, P, 200, 4, ABOVE, joint=joint)
    assert none["backfilled"].sum() == 0 and some["backfilled"].sum() > 0


def test_cohort_engine_has_no_waits_so_backfill_changes_nothing():
    # Without arrivals nobody arrives during a wait (exact): the plain design's trials.
    a = simulate(boin(), P, n_trials=500, seed=1, method="mc")
    with pytest.warns(UserWarning, match="no effect without calendar time"):
        b = simulate(boin().then(Backfill(12)), P, n_trials=500, seed=1, method="mc")
    for k in ("selection_pct", "patients_mean", "dlt_mean"):
        np.testing.assert_array_equal(a.values[k], b.values[k])


def test_tite_design_with_backfill_is_refused():
    d = TITEBOIN(target=0.25, num_doses=5, max_n=36, dlt_window=30).then(Backfill(12))
    with pytest.raises(ValueError, match="count designs"):
        simulate_calendar(d, setup(), P, 10, 1, ABOVE)


def test_boin12_cap_zero_is_plain_and_backfilled_patients_enter_the_obd_data():
    # Phase I/II: cap 0 is plain BOIN12 trial by trial (exact: nobody backfilled, same patients);
    # with backfilling the OBD selection reads the analysed data, escalation + backfilled
    # complete at the end (the tally adds up to enrolled - unanalysed).
    tox, eff = [0.05, 0.1, 0.2, 0.35, 0.5], [0.1, 0.3, 0.5, 0.55, 0.6]
    b12 = lambda: BOIN12(phi_t=0.35, phi_e=0.25, num_doses=5, cohort_size=3, max_n=30)  # noqa: E731
    kw = dict(true_prob_eff=eff, tox_eff_correlation=0.0, n_trials=400, seed=3, accrual=Accrual.poisson(0.1),
              dlt_window=30)
    plain, zero = simulate(b12(), tox, **kw), simulate(b12().then(Backfill(0, require_response=True)), tox, **kw)
    np.testing.assert_array_equal(plain.obd_selection_pct, zero.obd_selection_pct)
    np.testing.assert_array_equal(plain.values["patients_mean"], zero.values["patients_mean"])
    assert plain.calendar["duration"]["mean"] == zero.calendar["duration"]["mean"]
    oc = simulate(b12().then(Backfill(9, require_response=True)), tox, **kw)
    c = oc.calendar
    assert c["backfilled"]["mean"] > 3 and c["backfilled"]["escalation"]["mean"] <= 30
    assert np.isclose(np.sum(oc.values["patients_mean"]), c["enrolled"]["mean"] - c["backfilled"]["unanalysed"]["mean"])


def test_product_failures_refill_escalation_places_only():
    # With failed products (20 %, known at the planned infusion 20 days on): replace=False,
    # a failed escalation patient keeps a place, so exactly max_n = 30 escalation patients
    # are enrolled in a trial that is not stopped early; replace=True refills failed escalation
    # places only, so more than 30 are enrolled there.  Backfilled patients never count.
    for replace in (False, True):
        cs = CalendarSetup(window=30, accrual=Accrual.poisson(0.5), timing=ToxicityTiming.uniform(),
                           manufacturing=Manufacturing(failure=0.2, vein_to_vein=20, replace=replace))
        t, a = simulate_calendar(BOIN(target=0.25, num_doses=5, max_n=30).then(Backfill(12)), cs, P, 300, 3, ABOVE)
        assert a["backfilled"].mean() > 10
        np.testing.assert_array_equal(a["enrolled"], a["escalation"] + a["backfilled"])
        if replace:
            assert a["escalation"].mean() > 33
        else:
            assert a["escalation"].max() == 30 and np.median(a["escalation"]) == 30


def test_uniform_accrual_is_bfboins():
    # bfboin's accrual = "uniform": gaps runif(0, 2 / rate), mean 1 / rate (exact by inverse
    # transform: u -> 2u / rate).
    a = Accrual.uniform(3)
    np.testing.assert_allclose(a.gaps(np.array([0.0, 0.25, 0.5, 1.0])), [0.0, 1 / 6, 1 / 3, 2 / 3])
    assert a.mean_gap == pytest.approx(1 / 3) and a.to_dict()["accrual"] == "uniform"
    with pytest.raises(ValueError, match="accrual rate"):
        Accrual.uniform(0)
