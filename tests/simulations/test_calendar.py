"""Calendar-time engine (issue 10): limiting cases, hand-computed clocks, the patient model.

Sources of the expected numbers:
* the cohort engine (dosefind.simulations.monte_carlo), itself checked against exact
  calculation in test_exact_vs_monte_carlo.py: with arrivals so slow that every patient
  is followed before the next decision, a count design must give the very same trials
  (stream 0 is the cohort engine's patient stream);
* the exact engine: count designs wait for complete follow-up, so their selection does
  not depend on the calendar at all (within 3 Monte Carlo SE);
* clocks computed by hand from the TITEgBOIN conventions (get_oc_TITE_QuasiBOIN,
  cran/TITEgBOIN: first arrival on day 0, end = last entry + window, arrivals during a
  suspension lost);
* closed forms for the patient model (Weibull parametrisation of Yuan et al. 2018 and
  TITEgBOIN's gen.tite, independent-component P(DLT), binomial failure rates).
"""

import json

import numpy as np
import pytest
from toy_designs import LastCohortRule, NoReturnRule

from dosefind import Decision, ReasonCode
from dosefind.designs import BOIN, CRM, DontSkipDoses, StopAtN, ThreePlusThree
from dosefind.designs.base import Design
from dosefind.simulations import Accrual, Manufacturing, ToxicityComponents, ToxicityTiming, simulate
from dosefind.state import MTDSelection

P5 = [0.05, 0.10, 0.20, 0.30, 0.45]
SLOW = Accrual.fixed(1000.0)  # every patient followed (28 days) long before the next arrival


def _same_trials(a, b):
    for k in ("selection_pct", "patients_mean", "dlt_mean"):
        np.testing.assert_array_equal(a.values[k], b.values[k])
    assert a.stop_reasons == b.stop_reasons


@pytest.mark.parametrize("design", [
    BOIN(target=0.3, num_doses=5, cohort_size=3, max_n=31),  # max_n not a multiple of the cohort size
    CRM(skeleton=[0.05, 0.12, 0.25, 0.40, 0.55], target=0.25, cohort_size=2, max_n=20),
    ThreePlusThree(num_doses=5),
    BOIN(target=0.3, num_doses=5, cohort_size=3, max_n=30).then(StopAtN(24), DontSkipDoses()),
    NoReturnRule(num_doses=5, cohort_size=3, max_n=18),  # memory = "history"
], ids=["boin-31", "crm", "3+3", "boin-chain", "history"])
def test_slow_arrivals_reproduce_the_cohort_engine_exactly(design):
    cohort = simulate(design, P5, n_trials=3000, seed=11, method="mc", target=0.3)
    cal = simulate(design, P5, n_trials=3000, seed=11, accrual=SLOW, dlt_window=28, target=0.3)
    _same_trials(cal, cohort)
    assert cal.calendar["turned_away"]["mean"] == 0


def test_count_design_selection_does_not_depend_on_the_calendar():
    # Poisson arrivals, late-onset DLTs, manufacturing delay: a count design still decides on
    # complete cohorts, so its operating characteristics are the exact engine's.
    design = LastCohortRule(num_doses=4, cohort_size=3, max_n=15)
    p = [0.1, 0.2, 0.35, 0.5]
    exact = simulate(design, p, method="exact", target=0.25)
    cal = simulate(design, p, n_trials=4000, seed=5, accrual=Accrual.poisson(1 / 7),
                   timing=ToxicityTiming.weibull_late(0.7), manufacturing=Manufacturing(vein_to_vein=21),
                   dlt_window=28, target=0.25)
    z = np.abs(cal.values["selection_pct"] - exact.values["selection_pct"]) / np.maximum(cal.se["selection_pct"], 1e-9)
    assert z.max() < 3, z
    assert abs(cal.n_mean - exact.n_mean) < 3 * cal.se["n_mean"]


def test_hand_computed_clock_for_a_count_design():
    # No DLT is possible, so the design escalates: cohort 1 arrives on days 0, 10, 20 and is
    # complete on day 48; arrivals on days 30 and 40 are turned away; the arrival on day 50
    # starts cohort 2 (days 50, 60, 70); day 80: six patients, max_n, stop.  End: 70 + 28.
    design = BOIN(target=0.3, num_doses=2, cohort_size=3, max_n=6)
    oc = simulate(design, [0.0, 0.0], n_trials=5, seed=1, accrual=Accrual.fixed(10), dlt_window=28)
    c = oc.calendar
    assert c["duration"]["mean"] == 98 and c["duration"]["sd"] == 0
    assert c["turned_away"]["mean"] == 2 and c["time_suspended"]["mean"] == 20
    assert c["enrolled"]["mean"] == 6 and c["arrivals"]["mean"] == 8
    assert oc.stop_reasons == {"max_n": 100.0}
    # Vein-to-vein 5 days: infusions on 5, 15, 25 (complete 53); 30, 40, 50 turned away;
    # cohort 2 enrolled on 60, 70, 80, infused 65, 75, 85: end 85 + 28.
    oc = simulate(design, [0.0, 0.0], n_trials=5, seed=1, accrual=Accrual.fixed(10), dlt_window=28,
                  manufacturing=Manufacturing(vein_to_vein=5))
    assert oc.calendar["duration"]["mean"] == 113 and oc.calendar["turned_away"]["mean"] == 3
    assert oc.calendar["time_suspended"]["mean"] == 30


class WaitWhilePending(Design):
    """Toy TITE-like design (memory "patients"): treat at dose 1 unless a patient is
    pending, then wait.  Offers the engine's array fast path too (see FastWait)."""

    name = "wait-while-pending"
    memory = "patients"

    def _decide(self, state):
        if state.n_pending:
            return Decision.pause("pending", ReasonCode.WAIT_PENDING)
        return Decision.treat(0, "treat", ReasonCode.STAY)

    def select_mtd(self, state):
        return MTDSelection(0, (None,) * self.num_doses, "toy")


class FastWait(WaitWhilePending):
    def decide_patients_batch(self, dose, dlt, followup, complete, current_index, time):
        n = (dose >= 0).sum(axis=1)
        pending = ((dose >= 0) & ~complete).any(axis=1)
        full = n >= self.max_n
        action = np.where(full, 2, np.where(pending, 1, 0))
        codes = [ReasonCode.MAX_N if f else (ReasonCode.WAIT_PENDING if p else ReasonCode.STAY)
                 for f, p in zip(full, pending)]
        return np.where(action == 0, 0, -1), action, codes


@pytest.mark.parametrize("cls", [WaitWhilePending, FastWait])
def test_pause_turns_arrivals_away_until_the_next_event(cls):
    # Arrivals every 10 days, window 28, cohorts of 1: enrol 0; 10, 20 turned away (pending
    # until 28); enrol 30; 40, 50 away; enrol 60; day 70: max_n.  End 60 + 28.
    design = cls(num_doses=2, cohort_size=1, max_n=3)
    oc = simulate(design, [0.0, 0.0], n_trials=4, seed=3, accrual=Accrual.fixed(10), dlt_window=28)
    c = oc.calendar
    assert c["turned_away"]["mean"] == 4 and c["time_suspended"]["mean"] == 40
    assert c["duration"]["mean"] == 88 and oc.stop_reasons == {"max_n": 100.0}


def test_batch_and_scalar_paths_of_a_patients_design_agree():
    kw = dict(n_trials=300, seed=8, accrual=Accrual.poisson(1 / 9), dlt_window=28,
              manufacturing=Manufacturing(failure=0.2, vein_to_vein=3))
    a = simulate(WaitWhilePending(num_doses=2, cohort_size=1, max_n=6), [0.3, 0.5], **kw)
    b = simulate(FastWait(num_doses=2, cohort_size=1, max_n=6), [0.3, 0.5], **kw)
    assert a.to_dict() == {**b.to_dict(), "design": a.design}


def test_reproducible_for_any_number_of_workers():
    design = BOIN(target=0.3, num_doses=5, cohort_size=3, max_n=30)
    kw = dict(n_trials=2500, seed=21, accrual=Accrual.poisson(2 / 30), timing=ToxicityTiming.weibull_late(0.5),
              manufacturing=Manufacturing(failure=0.05, vein_to_vein=21), dlt_window=28)
    one = simulate(design, P5, **kw)
    again = simulate(design, P5, **kw)
    from dosefind.simulations import calendar

    old = calendar.CHUNK_SIZE
    two = simulate(design, P5, workers=2, **kw)
    assert one.to_dict() == again.to_dict() == two.to_dict()
    assert old == calendar.CHUNK_SIZE


def test_common_random_numbers_across_designs():
    # The same patients: the first enrolled patient of every trial is the cohort engine's
    # first patient, so two designs that both start at dose 1 see the same first outcome.
    kw = dict(n_trials=400, seed=4, accrual=Accrual.poisson(1 / 10), dlt_window=28)
    a = simulate(BOIN(target=0.3, num_doses=3, cohort_size=1, max_n=1), [0.5, 0.6, 0.7], **kw)
    b = simulate(CRM(skeleton=[0.2, 0.3, 0.4], target=0.3, cohort_size=1, max_n=1), [0.5, 0.6, 0.7], **kw)
    assert a.values["dlt_mean"][0] == b.values["dlt_mean"][0]
    assert a.calendar["duration"] == b.calendar["duration"]


def test_manufacturing_failure_replacement_and_feasibility():
    design = BOIN(target=0.3, num_doses=3, cohort_size=3, max_n=12)
    kw = dict(n_trials=3000, seed=9, accrual=Accrual.poisson(1 / 5), dlt_window=28)
    rep = simulate(design, [0.01, 0.02, 0.03], manufacturing=Manufacturing(failure=0.2, vein_to_vein=14), **kw)
    c = rep.calendar
    # Replaced: every trial infuses max_n patients; failures are Binomial(enrolled, 0.2).
    assert c["infused"]["mean"] == 12
    rate = c["failed"]["mean"] / c["enrolled"]["mean"]
    assert abs(rate - 0.2) < 3 * np.sqrt(0.2 * 0.8 / (3000 * c["enrolled"]["mean"]))
    keep = simulate(design, [0.01, 0.02, 0.03], manufacturing=Manufacturing(failure=0.2, replace=False), **kw)
    assert keep.calendar["enrolled"]["mean"] == 12 and keep.calendar["infused"]["mean"] < 12
    # Dose 3 can never be made: nobody counts there; patients assigned to it get dose 2.
    feas = simulate(design, [0.01, 0.02, 0.03], manufacturing=Manufacturing(feasibility=[1, 1, 0]), **kw)
    assert feas.values["patients_mean"][2] == 0 and feas.values["patients_mean"][1] > 0


def test_toxicity_components_probabilities_and_tallies():
    tc = ToxicityComponents(crs=[0.1, 0.3], icans=[0.05, 0.2], other=[0.02, 0.1])
    # Independent components: P(any) = 1 - prod(1 - p).
    assert tc.prob_any == pytest.approx([1 - 0.9 * 0.95 * 0.98, 1 - 0.7 * 0.8 * 0.9], abs=1e-12)
    design = BOIN(target=0.3, num_doses=2, cohort_size=3, max_n=12)
    oc = simulate(design, tc, n_trials=3000, seed=2, accrual=Accrual.poisson(1 / 7), dlt_window=28)
    assert oc.true_prob_tox == pytest.approx(tc.prob_any)
    comp = oc.calendar["components"]
    n = oc.values["patients_mean"] * 3000
    for name, probs in zip(("crs", "icans", "other"), tc.probs):
        for d in range(2):
            rate = comp[name]["per_dose_mean"][d] * 3000 / n[d]
            assert abs(rate - probs[d]) < 3 * np.sqrt(probs[d] * (1 - probs[d]) / n[d]), (name, d)
    # DLT = any component: DLT rate per dose is prob_any.
    for d in range(2):
        rate = oc.values["dlt_mean"][d] * 3000 / n[d]
        assert abs(rate - tc.prob_any[d]) < 3 * np.sqrt(tc.prob_any[d] * (1 - tc.prob_any[d]) / n[d])
    assert "components" in json.loads(oc.to_json())["calendar"]


@pytest.mark.parametrize("rho", [0.5, -0.3])
def test_correlated_components_prob_any_matches_the_copula(rho):
    from scipy.stats import multivariate_normal, norm

    tc = ToxicityComponents(crs=[0.1, 0.3], icans=[0.05, 0.2], other=[0.02, 0.1], correlation=rho)
    cov = np.full((3, 3), rho) + (1 - rho) * np.eye(3)
    for d in range(2):
        # no event <=> every latent normal above norm.ppf(p): P = Phi_3(norm.ppf(1 - p); R)
        none = multivariate_normal(np.zeros(3), cov).cdf(norm.ppf(1 - tc.probs[:, d]))
        assert tc.prob_any[d] == pytest.approx(1 - none, abs=2e-4)
    # the coupled uniforms have the copula's joint law (sampling check, 3 SE)
    u = tc.couple(np.random.default_rng(0).random((3, 200_000)))
    for d in range(2):
        hit = (u < tc.probs[:, d, None]).any(axis=0).mean()
        assert abs(hit - tc.prob_any[d]) < 3 * np.sqrt(tc.prob_any[d] * (1 - tc.prob_any[d]) / 200_000)
    np.testing.assert_array_equal(tc.couple(np.full((3, 1), 0.3))[0], [0.3])  # CRS uniform kept


def test_weibull_timing_matches_titegboin_parametrisation():
    # TITEgBOIN gen.tite: alpha = log(log(1-p)/log(1-(1-a1)p)) / log(1/(1-a2)),
    # lambda = -log(1-p)/W^alpha, T = (-log U / lambda)^(1/alpha), DLT iff T <= W.
    W, p, a1, a2 = 28.0, 0.3, 0.6, 0.5
    alpha = np.log(np.log(1 - p) / np.log(1 - (1 - a1) * p)) / np.log(1 / (1 - a2))
    lam = -np.log(1 - p) / W ** alpha
    timing = ToxicityTiming.weibull_late(a1, late_fraction=a2)
    x = np.array([2.0, 7.0, 14.0, 20.0, 27.0])
    cond_cdf = (1 - np.exp(-lam * x ** alpha)) / p  # P(T <= x | T <= W)
    np.testing.assert_allclose(timing.times(cond_cdf, np.full(5, p), W), x, rtol=1e-10)
    # share a1 of the DLTs in the last half of the window
    assert timing.times([1 - a1], [p], W)[0] == pytest.approx(W / 2)
    late = ToxicityTiming.late_share(0.8).times(np.linspace(0, 1, 100_001), np.full(100_001, p), W)
    assert (late > W / 2).mean() == pytest.approx(0.8, abs=1e-4)
    np.testing.assert_allclose(ToxicityTiming.uniform().times([0.25], [p], W), [7.0])


@pytest.mark.parametrize("call, match", [
    (lambda: Accrual.poisson(0), "accrual rate .*must be a positive number"),
    (lambda: Accrual.poisson(-1), "accrual rate"),
    (lambda: Accrual.fixed(0), "accrual spacing"),
    (lambda: Accrual.poisson(1, cap=0), "accrual cap must be >= 1"),
    (lambda: ToxicityTiming.weibull_late(1.0), r"late-onset share must be in \(0, 1\)"),
    (lambda: ToxicityTiming.late_share(-0.1), r"late-onset share must be in \[0, 1\)"),
    (lambda: Manufacturing(failure=1), r"manufacturing failure must be a probability in \[0, 1\)"),
    (lambda: Manufacturing(vein_to_vein=-3), "vein_to_vein"),
    (lambda: Manufacturing(feasibility=[1, 0.5, 0.8]), "feasibility must be non-increasing"),
    (lambda: ToxicityComponents(crs=[0.1, 1.2], icans=[0.1, 0.1]), r"crs\[2\] must be between 0 and 1"),
    (lambda: ToxicityComponents(crs=[0.1], icans=[0.1], correlation=1), "correlation must be between -1 and 1"),
    (lambda: ToxicityComponents(crs=[0.1], icans=[0.1], correlation=-0.6), "correlation must be > -0.5"),
    (lambda: simulate(BOIN(target=0.3, num_doses=2), [0.1, 0.2], accrual=Accrual.poisson(1), dlt_window=0),
     "dlt_window must be a positive number of days"),
    (lambda: simulate(BOIN(target=0.3, num_doses=2), [0.1, 0.2], dlt_window=28), "accrual must be given"),
    (lambda: simulate(BOIN(target=0.3, num_doses=2), [0.1, 0.2], accrual=Accrual.poisson(1)),
     "dlt_window must be given"),
    (lambda: simulate(BOIN(target=0.3, num_doses=2), [0.1, 0.2], accrual=Accrual.poisson(1), dlt_window=28,
                      method="exact"), "cannot run in calendar time"),
])
def test_bad_calendar_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_accrual_cap_stops_the_trial():
    design = BOIN(target=0.3, num_doses=2, cohort_size=3, max_n=12)
    oc = simulate(design, [0.0, 0.0], n_trials=3, seed=1, accrual=Accrual.fixed(10, cap=5), dlt_window=28)
    # arrivals 0, 10, 20 enrolled; 30, 40 turned away (pending); no sixth patient arrives
    assert oc.stop_reasons == {"accrual_cap": 100.0} and oc.calendar["enrolled"]["mean"] == 3
    assert oc.calendar["turned_away"]["mean"] == 2 and oc.calendar["duration"]["mean"] == 48


def test_a_dlt_completes_the_patient_at_once():
    # Every patient has a DLT, uniform on (0, 28]: patient 1 (day 0) is complete on day 28v,
    # arrivals on days 1, 2, ... before that are turned away, patient 2 enrols on day
    # ceil(28v), uniform on 1..28: E[turned away] = 14.5 - 1, E[duration] = 14.5 + 28.
    design = BOIN(target=0.3, num_doses=2, cohort_size=1, max_n=2)
    T = 4000
    oc = simulate(design, [1.0, 1.0], n_trials=T, seed=6, accrual=Accrual.fixed(1), dlt_window=28)
    sd = np.sqrt((28 ** 2 - 1) / 12)
    assert abs(oc.calendar["turned_away"]["mean"] - 13.5) < 3 * sd / np.sqrt(T)
    assert abs(oc.calendar["duration"]["mean"] - 42.5) < 3 * sd / np.sqrt(T)


def test_compare_in_calendar_time_uses_the_same_patients():
    from dosefind.simulations import compare

    design = BOIN(target=0.3, num_doses=3, cohort_size=3, max_n=12)
    res = compare({"a": design, "b": design}, {"s": [0.1, 0.2, 0.4]}, n_trials=300, seed=5,
                  accrual=Accrual.poisson(1 / 10), dlt_window=28)
    a, b = res[("s", "a")], res[("s", "b")]
    assert a.calendar is not None and a.calendar == b.calendar
    np.testing.assert_array_equal(a.values["selection_pct"], b.values["selection_pct"])


def test_calendar_settings_table():
    from dosefind.simulations.timing import calendar_settings

    kw = calendar_settings({"dlt_window": 28, "accrual": "fixed", "patients_per_month": 3, "accrual_cap": 90,
                            "timing": "late-share", "late_onset": 0.7, "manufacturing_failure": 0.1,
                            "vein_to_vein": 21, "replace": False, "crs": [0.1, 0.2], "icans": [0.05, 0.1]})
    assert kw["dlt_window"] == 28 and kw["accrual"] == Accrual.fixed(10.0, cap=90)
    assert kw["timing"] == ToxicityTiming.late_share(0.7)
    m = kw["manufacturing"]
    assert (m.failure, m.vein_to_vein, m.replace) == (0.1, 21.0, False)
    assert kw["toxicity"].prob_any == pytest.approx([1 - 0.9 * 0.95, 1 - 0.8 * 0.9])
    assert calendar_settings({}) == {}
    with pytest.raises(ValueError, match="unknown calendar setting"):
        calendar_settings({"window": 28})
    with pytest.raises(ValueError, match="accrual needs patients_per_month"):
        calendar_settings({"accrual": "poisson"})
    with pytest.raises(ValueError, match="timing must be 'uniform', 'weibull' or 'late-share'"):
        calendar_settings({"timing": "gamma"})


class CurrentDoseRule(FastWait):
    """Uses current_index: escalate after a complete DLT-free patient (scalar and batch)."""

    def _decide(self, state):
        if state.n_pending:
            return Decision.pause("pending", ReasonCode.WAIT_PENDING)
        up = state.patients[-1].dlt == 0
        return Decision.treat(min(state.current_index + up, self.num_doses - 1), "rule", ReasonCode.STAY)

    def decide_patients_batch(self, dose, dlt, followup, complete, current_index, time):
        nxt, action, codes = super().decide_patients_batch(dose, dlt, followup, complete, current_index, time)
        last = (dose >= 0).shape[1] - 1 - np.argmax((dose >= 0)[:, ::-1], axis=1)
        up = dlt[np.arange(dose.shape[0]), last] == 0
        treat = action == 0
        nxt = np.where(treat, np.minimum(current_index + up, self.num_doses - 1), -1)
        return nxt, action, codes


def test_batch_current_index_matches_the_scalar_state_with_failures_and_feasibility():
    kw = dict(n_trials=300, seed=12, accrual=Accrual.poisson(1 / 9), dlt_window=28,
              manufacturing=Manufacturing(failure=0.3, vein_to_vein=5, feasibility=[1, 0.9, 0.6]))

    class Scalar(CurrentDoseRule):
        decide_patients_batch = None

    a = simulate(Scalar(num_doses=3, cohort_size=1, max_n=8), [0.2, 0.3, 0.5], **kw)
    b = simulate(CurrentDoseRule(num_doses=3, cohort_size=1, max_n=8), [0.2, 0.3, 0.5], **kw)
    assert a.to_dict() == {**b.to_dict(), "design": a.design}


def test_poisson_accrual_duration_in_closed_form():
    # No DLT possible, 10 cohorts of 3, vein-to-vein v, window W, Poisson arrivals at rate r.
    # Within a cohort: 2 exponential gaps. After each cohort the trial waits v + W (the last
    # patient's follow-up) and then, by memorylessness, one more exponential gap for the next
    # arrival; the last cohort ends at its last infusion + W. So
    # E[duration] = 10 * 2/r + 9 * (v + W + 1/r) + (v + W) = 29/r + 10 (v + W),
    # and arrivals during the 9 waits are turned away: E = 9 r (v + W) (Poisson counts).
    r, v, W, T = 1 / 15, 21.0, 28.0, 4000
    design = BOIN(target=0.3, num_doses=5, cohort_size=3, max_n=30)
    oc = simulate(design, [0.0] * 5, n_trials=T, seed=17, accrual=Accrual.poisson(r), dlt_window=W,
                  manufacturing=Manufacturing(vein_to_vein=v))
    c = oc.calendar
    # sd of the duration: 29 independent Exp(r) gaps -> sqrt(29) / r
    assert abs(c["duration"]["mean"] - (29 / r + 10 * (v + W))) < 3 * np.sqrt(29) / r / np.sqrt(T)
    lost = 9 * r * (v + W)
    assert abs(c["turned_away"]["mean"] - lost) < 3 * np.sqrt(lost / T)


def test_count_design_batch_path_equals_scalar_path():
    # A plain BOIN is decided through its decide_batch; a chain with a modifier that never
    # fires goes through the scalar decide: the trials must be the same.
    kw = dict(n_trials=1500, seed=23, accrual=Accrual.poisson(1 / 12), dlt_window=28,
              timing=ToxicityTiming.weibull_late(0.5), manufacturing=Manufacturing(failure=0.1, vein_to_vein=10))
    plain = simulate(BOIN(target=0.3, num_doses=5, cohort_size=3, max_n=30), P5, **kw)
    chain = simulate(BOIN(target=0.3, num_doses=5, cohort_size=3, max_n=30).then(StopAtN(999)), P5, **kw)
    assert plain.to_dict() == chain.to_dict()


def test_vein_to_vein_distribution():
    from scipy import stats

    design = BOIN(target=0.3, num_doses=2, cohort_size=3, max_n=6)
    kw = dict(n_trials=5, seed=1, accrual=Accrual.fixed(10), dlt_window=28)
    fixed = simulate(design, [0.0, 0.0], manufacturing=Manufacturing(vein_to_vein=5), **kw)
    # a distribution concentrated at 5 days: the ppf path gives the hand-computed clock
    near = simulate(design, [0.0, 0.0], manufacturing=Manufacturing(vein_to_vein=stats.uniform(5, 1e-9)), **kw)
    assert near.calendar["duration"]["mean"] == pytest.approx(fixed.calendar["duration"]["mean"], abs=1e-6)
    assert near.calendar["setup"]["manufacturing"]["vein_to_vein"]["distribution"] == "uniform"
    with pytest.raises(ValueError, match="vein_to_vein distribution must give finite times >= 0"):
        Manufacturing(vein_to_vein=stats.norm(21, 5))


@pytest.mark.parametrize("design", [
    BOIN(target=0.3, num_doses=3, cohort_size=3, max_n=12),
    NoReturnRule(num_doses=3, cohort_size=2, max_n=10),
    FastWait(num_doses=3, cohort_size=1, max_n=6),
], ids=["counts", "history", "patients"])
@pytest.mark.parametrize("replace", [True, False])
def test_enrolment_bookkeeping(design, replace):
    # every arrival that the trial consumed was enrolled or turned away; every enrolled
    # patient was infused or had a failed product; the per-dose counts are the infused
    mf = Manufacturing(failure=0.15, vein_to_vein=7, replace=replace, feasibility=[1, 0.8, 0.5])
    oc = simulate(design, [0.1, 0.25, 0.45], n_trials=400, seed=31, accrual=Accrual.poisson(1 / 6),
                  dlt_window=28, manufacturing=mf)
    c = oc.calendar
    assert c["arrivals"]["mean"] == pytest.approx(c["enrolled"]["mean"] + c["turned_away"]["mean"])
    assert c["enrolled"]["mean"] == pytest.approx(c["infused"]["mean"] + c["failed"]["mean"])
    assert oc.n_mean == pytest.approx(c["infused"]["mean"]) and oc.patients_mean.sum() == pytest.approx(oc.n_mean)
    if not replace:
        assert c["enrolled"]["mean"] <= design.max_n
