"""The backfill rule of BF-BOIN (Zhao, Yuan, Korn & Freidlin 2024, Clin Cancer Res 30:673),
checked on hand-built states.

Boundaries (exact calculation, BOIN's formula in dosefind/designs/boin.py): target 0.25,
p_tox = 1.4 * 0.25 = 0.35, lambda_d = log(0.75/0.65) / log(0.35*0.75/(0.25*0.65)) = 0.2984,
so the de-escalation count is ceil(0.2984 n): 1 at n = 3, 2 at n = 6.
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
    assert D._bounds(3)[1] == 1 and D._bounds(6)[1] == 2


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
    d = BOIN12(phi_t=0.35, phi_e=0.25, num_doses=4, max_n=24).then(Backfill(6))
    state = TrialState.from_outcomes("1NNN 2ENN 3NE", num_doses=4)
    assert d.modifiers[-1].backfill(state, d).next_dose == 2


def test_errors():
    with pytest.raises(ValueError, match="cap_per_dose"):
        Backfill(cap_per_dose=-1)
    with pytest.raises(ValueError, match="BOIN and BOIN12"):
        CRM(skeleton=[0.1, 0.2, 0.3], target=0.25).then(Backfill(6))


def test_backfill_chain_round_trips_through_params():
    from dosefind.designs import BOIN

    d = BOIN(target=0.25, num_doses=5, cohort_size=3, max_n=30).then(Backfill(12, require_response=True))
    again = BOIN.from_params(d.params())
    assert again.params() == d.params()
