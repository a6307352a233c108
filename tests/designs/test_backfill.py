"""The backfill rule of BF-BOIN (Zhao, Yuan, Korn & Freidlin 2024, Clin Cancer Res 30:673),
checked on hand-built states.

Boundaries (exact calculation, BOIN's formula in dosefind/designs/boin.py): target 0.25,
p_tox = 1.4 * 0.25 = 0.35, lambda_d = log(0.75/0.65) / log(0.35*0.75/(0.25*0.65)) = 0.2984,
so the de-escalation count is ceil(0.2984 n): 1 at n = 3, 2 at n = 6, 3 at 9, 4 at 12, 6 at
18; p_saf = 0.15, lambda_e = log(0.85/0.75) / log(0.25*0.85/(0.15*0.75)) = 0.1968, so the
escalation count is floor(0.1968 n): 0 at n = 3, 1 at 6 and 9, 2 at 12, 3 at 18.  The
elimination count (Pr(p > 0.25 | y of n, Beta(1, 1)) > 0.95) is 5 at n = 9.

The escalation rule with backfilled data is bfboin 0.1.1's (``sim.one.trial``, the conflict
branches): each dose's own BOIN decision; when a lower dose disagrees with the current one,
pool the doses from the highest disagreeing one up to the current one.
"""

import math

import numpy as np
import pytest

from dosefind import TrialState
from dosefind.designs import BOIN, BOIN12, CRM, Backfill
from dosefind.state import Patient, ReasonCode

D = BOIN(target=0.25, num_doses=5, max_n=36)


def rule(design=D, cap=12):
    return design.then(Backfill(cap_per_dose=cap))


def test_lambda_d_by_hand():
    assert math.isclose(D.lambda_d, math.log(0.75 / 0.65) / math.log(0.35 * 0.75 / (0.25 * 0.65)))
    assert math.isclose(D.lambda_e, math.log(0.85 / 0.75) / math.log(0.25 * 0.85 / (0.15 * 0.75)))
    assert [D._bounds(n)[1] for n in (3, 6, 9, 12, 18)] == [1, 2, 3, 4, 6]
    assert [D._bounds(n)[0] for n in (3, 6, 9, 12, 18)] == [0, 1, 1, 2, 3]
    assert D._bounds(9)[2] == 5


def test_conflict_pooled_between_the_boundaries_stays():
    # dose 3: 0/3 says escalate; backfilled dose 2: 3/9 >= 3 says de-escalate.  Pooled doses
    # 2-3: 3/12, between 2 and 4: stay (BOIN alone would escalate).
    d = rule()
    state = TrialState(5, (3, 9, 3, 0, 0), (0, 3, 0, 0, 0), current_index=2)
    assert BOIN.decide(D, state).next_dose == 4
    dec = d.decide(state)
    assert dec.next_dose == 3 and dec.code is ReasonCode.STAY and "pools doses 2-3): 3/12" in dec.reason


def test_conflict_pooled_at_the_deescalation_boundary_goes_below_the_disagreeing_dose():
    # dose 3: 1/3 (de-escalate), dose 2: 3/9 (de-escalate): pooled 4/12 >= 4.  Pooled from
    # dose 2 up: 3/9 (not < 3) and 4/12 (not < 4): no dose is safe, go to dose 1 (BOIN: 2).
    d = rule()
    state = TrialState(5, (3, 9, 3, 0, 0), (0, 3, 1, 0, 0), current_index=2)
    assert BOIN.decide(D, state).next_dose == 2
    dec = d.decide(state)
    assert dec.next_dose == 1 and dec.code is ReasonCode.DE_ESCALATE
    # dose 1: 2/6 (de-escalate) below a cleared dose 2 (0/3) and dose 3 at 4/9: pooled 6/18 >= 6;
    # from dose 1 up: 2/6 (not < 2), 2/9 (< 3: safe), 6/18 (not < 6): the highest safe is dose 2
    state = TrialState(5, (6, 3, 9, 0, 0), (2, 0, 4, 0, 0), current_index=2)
    assert d.decide(state).next_dose == 2 and "highest dose whose pooled data" in d.decide(state).reason


def test_conflict_pooled_at_or_below_the_escalation_boundary_escalates():
    # dose 3: 0/6 (escalate), dose 2: 2/6 (de-escalate): pooled 2/12 <= 2: escalate
    d = rule()
    dec = d.decide(TrialState(5, (3, 6, 6, 0, 0), (0, 2, 0, 0, 0), current_index=2))
    assert dec.next_dose == 4 and dec.code is ReasonCode.ESCALATE


def test_conflict_stay_with_n_earlystop_stops():
    # dose 3: 1/9 (escalate), dose 2: 3/9 (de-escalate): pooled 4/18 between 3 and 6: stay, and
    # dose 3 has 9 = n_earlystop patients: stop and select (bfboin's n.earlystop check)
    design = BOIN(target=0.25, num_doses=5, max_n=36, n_earlystop=9)
    d = design.then(Backfill(12))
    state = TrialState(5, (3, 9, 9, 0, 0), (0, 3, 1, 0, 0), current_index=2)
    assert design.decide(state).next_dose == 4
    dec = d.decide(state)
    assert dec.stop and dec.code is ReasonCode.N_AT_DOSE


def test_without_disagreeing_lower_doses_the_decision_is_boins():
    # No conflict (every state BOIN itself reaches, e.g. cap 0): BOIN's decision, unchanged.
    d = rule()
    rng = np.random.default_rng(3)
    checked = 0
    for _ in range(2000):
        n = rng.integers(1, 13, 5)
        y = np.minimum(rng.integers(0, 4, 5), n)
        cur = int(rng.integers(1, 5))
        state = TrialState(5, tuple(int(v) for v in n), tuple(int(v) for v in y), current_index=cur)
        lower_esc = all(y[k] <= D._bounds(int(n[k]))[0] for k in range(cur))
        if lower_esc:
            assert d.decide(state) == D.decide(state)
            checked += 1
    assert checked > 50


def test_highest_cleared_dose_below_current():
    d = rule()
    state = TrialState.from_outcomes("1NNN 2NNN 3NN", num_doses=5)  # current dose 3
    dec = d.modifiers[-1].backfill(state, d)
    assert dec.next_dose == 2 and dec.code is ReasonCode.BACKFILL


def test_no_backfill_at_first_dose_or_without_cleared_dose():
    d = rule()
    assert d.modifiers[-1].backfill(TrialState.from_outcomes("1NNN", num_doses=5), d) is None
    assert d.modifiers[-1].backfill(TrialState.empty(5), d) is None


def test_safety_own_or_pooled_with_next_dose_and_lowest_unsafe_closes_upwards():
    # bfboin's safe.doses: a dose is safe when its own data, or its data pooled with the next
    # dose up, are below the de-escalation count; the lowest unsafe dose closes itself and
    # every dose above it.  Counts 1 at n=3 and 2 at n=6 (module docstring).
    d = rule()
    m = d.modifiers[-1]
    n = (3, 3, 3, 0, 0)
    # dose 2: 1/3 reaches 1, but pooled with dose 3, 1/6 < 2: safe
    assert m.backfill(TrialState(5, n, (0, 1, 0, 0, 0), current_index=2), d).next_dose == 2
    # dose 2: 2/3 and pooled 2/6 reach the counts: closed; dose 1 below it stays open
    assert m.backfill(TrialState(5, n, (0, 2, 0, 0, 0), current_index=2), d).next_dose == 1
    # dose 1: 2/3 and pooled 2/6: the lowest unsafe dose closes dose 2 above it too
    assert m.backfill(TrialState(5, n, (2, 0, 0, 0, 0), current_index=2), d) is None


def test_require_response():
    d = BOIN(target=0.25, num_doses=5, max_n=36).then(Backfill(12, require_response=True))
    m = d.modifiers[-1]
    assert m.backfill(TrialState.from_outcomes("1NNN 2NNN 3NN", num_doses=5), d) is None
    assert m.backfill(TrialState.from_outcomes("1ENN 2NNN 3NN", num_doses=5), d).next_dose == 1


def test_cap_per_dose():
    d = rule(cap=6)
    state = TrialState(5, (3, 6, 3, 0, 0), (0, 0, 0, 0, 0), current_index=2)
    assert d.modifiers[-1].backfill(state, d).next_dose == 1  # dose 2 full: the next one down
    state = TrialState(5, (6, 6, 3, 0, 0), (0, 0, 0, 0, 0), current_index=2)
    assert d.modifiers[-1].backfill(state, d) is None
    assert rule(cap=0).modifiers[-1].backfill(state, rule(cap=0)) is None


def test_pending_patients_do_not_clear_a_dose_but_count_for_the_cap():
    d = rule(cap=4)
    recs = [Patient(0, 0, True, 28.0, 0.0)] * 3 + [Patient(1, 0, False, 5.0, 30.0)] * 3 \
        + [Patient(2, 0, False, 1.0, 60.0)]
    state = TrialState.from_patients(recs, 5, time=61.0)
    assert d.modifiers[-1].backfill(state, d).next_dose == 1  # dose 2 has no complete patient
    recs = recs[:3] + [Patient(0, 0, False, 1.0, 59.0)] + recs[3:]  # a 4th (pending) at dose 1: cap
    assert d.modifiers[-1].backfill(TrialState.from_patients(recs, 5, time=61.0), d) is None


def test_batch_is_the_scalar_rule():
    d = rule(cap=6)
    m = d.modifiers[-1]
    rng = np.random.default_rng(1)
    for _ in range(300):
        n = rng.integers(0, 9, 5)
        y = np.minimum(rng.integers(0, 4, 5), n)
        cur = int(rng.integers(0, 5))
        state = TrialState(5, tuple(int(v) for v in n), tuple(int(v) for v in y), current_index=cur)
        one = m.backfill(state, d)
        b = m.backfill_batch(d, n[None], n[None], y[None], np.array([cur]))[0]
        assert (one.dose_index if one is not None else -1) == b


def test_works_with_boin12():
    base = BOIN12(phi_t=0.35, phi_e=0.25, num_doses=4, max_n=24)
    d = base.then(Backfill(6))
    state = TrialState.from_outcomes("1NNN 2ENN 3NE", num_doses=4)
    assert d.modifiers[-1].backfill(state, d).next_dose == 2
    # BOIN12's escalation is its own rule on all data (the pooled rule is BF-BOIN's, for BOIN)
    full = TrialState.from_outcomes("1NNN 2ENN 2TTE 3NEE", num_doses=4)
    assert d.decide(full) == base.decide(full)


def test_errors():
    with pytest.raises(ValueError, match="cap_per_dose"):
        Backfill(cap_per_dose=-1)
    with pytest.raises(ValueError, match="count_in_max_n"):
        Backfill(12, count_in_max_n="yes")
    with pytest.raises(ValueError, match="BOIN and BOIN12"):
        CRM(skeleton=[0.1, 0.2, 0.3], target=0.25).then(Backfill(6))


def test_backfill_chain_round_trips_through_params():
    from dosefind.designs import BOIN

    d = BOIN(target=0.25, num_doses=5, cohort_size=3, max_n=30).then(Backfill(12, require_response=True))
    again = BOIN.from_params(d.params())
    assert again.params() == d.params()
    assert d.params()["modifiers"] == [{"type": "Backfill", "cap_per_dose": 12, "require_response": True,
                                        "count_in_max_n": False}]
    d2 = BOIN12(phi_t=0.35, phi_e=0.25, num_doses=4, max_n=24).then(Backfill(6, count_in_max_n=True))
    assert BOIN12.from_params(d2.params()).params() == d2.params()


def test_escalation_design_lifts_only_the_size_limit():
    # count_in_max_n=False: the engine counts escalation patients against max_n, so the chain
    # that decides has a size limit no state reaches; its rules are the design's.
    d = rule(cap=12)
    esc = d.modifiers[-1].escalation_design(d)
    assert esc.max_n > 36 + 5 * 12
    state = TrialState(5, (9, 12, 12, 6, 0), (1, 2, 2, 1, 0), current_index=3)  # 39 patients
    assert d.decide(state).code is ReasonCode.MAX_N
    assert esc.decide(state) == d.modifiers[-1].decide(state, D._decide(state), D)  # BOIN's rule, then BF-BOIN's
    fixed = D.then(Backfill(12, count_in_max_n=True))
    assert fixed.modifiers[-1].escalation_design(fixed) is fixed


def test_pooled_rule_keeps_the_earlier_links_stops():
    """The pooled rule replaces BOIN's own decision only; StopWhenNAtDose (same reason code as
    BOIN's n_earlystop) still stops: 6 patients at dose 2 (1/6), 9 at dose 1 (3/9), pooled 4/15
    says stay at dose 2, where StopWhenNAtDose(6) stops (independent review's case)."""
    from dosefind.designs import StopWhenNAtDose

    state = TrialState(5, (9, 6, 0, 0, 0), (3, 1, 0, 0, 0), current_index=1)
    pooled = BOIN(0.25, 5, max_n=30).then(Backfill(12)).decide(state)
    assert (pooled.next_dose, pooled.code) == (2, ReasonCode.STAY) and "pools doses 1-2" in pooled.reason
    chained = BOIN(0.25, 5, max_n=30).then(StopWhenNAtDose(6)).then(Backfill(12)).decide(state)
    assert chained.stop and chained.code is ReasonCode.N_AT_DOSE and "dose 2 already has 6" in chained.reason


def test_stop_at_n_with_backfill_on_top_is_refused():
    """StopAtN counts backfilled patients, which count_in_max_n=False keeps out of max_n."""
    from dosefind.designs import StopAtN

    design = BOIN(0.25, 5, max_n=30).then(StopAtN(30)).then(Backfill(6))
    with pytest.raises(ValueError, match="StopAtN counts every patient"):
        design.modifiers[-1].escalation_design(design)
    ok = BOIN(0.25, 5, max_n=30).then(StopAtN(30)).then(Backfill(6, count_in_max_n=True))
    assert ok.modifiers[-1].escalation_design(ok) is ok


def test_backfill_without_calendar_time_warns_and_runs_the_plain_design():
    """No arrivals, nobody to backfill: the trials are the plain design's, and the user is told
    (review finding: it was silent)."""
    from dosefind.simulations import simulate

    p = [0.05, 0.10, 0.20, 0.30, 0.45]
    plain = simulate(BOIN(0.25, 5, max_n=18), p, method="exact")
    with pytest.warns(UserWarning, match="backfilling has no effect without calendar time"):
        oc = simulate(BOIN(0.25, 5, max_n=18).then(Backfill(6)), p, method="exact")
    assert list(oc.values["selection_pct"]) == list(plain.values["selection_pct"])
