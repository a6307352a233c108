"""Decision keys (``Design.decision_key``): what a count design's decision reads.

A design may say which parts of a count state its ``decide`` reads; the decision tables
then ask the scalar rule once per distinct key instead of once per state (issue 14).  The
golden numbers are the design's own scalar decisions: over every state reachable from the
empty trial, the keyed table must hold exactly the decision ``decide(state)`` gives that
state (next dose or stop, and reason code), so a key that leaves out something the rule
reads fails here (see test_a_key_that_misses_what_the_rule_reads_fails).
"""

import numpy as np
import pytest

from dosefind.designs import BOIN, CRM, ThreePlusThree
from dosefind.designs.modifiers import DontSkipDoses, StopAtN, StopWhenNAtDose, StopWhenTooToxic
from dosefind.simulations.tables import CONTINUE, NO_ROOM, STOP, DecisionTable

SKEL5 = [0.12, 0.20, 0.30, 0.40, 0.50]

DESIGNS = {
    "BOIN": lambda: BOIN(target=0.3, num_doses=5, max_n=30),
    "BOIN every option": lambda: BOIN(target=0.25, num_doses=5, cohort_size=2, max_n=25, p_saf=0.15, p_tox=0.35,
                                      cutoff_eli=0.9, extrasafe=True, offset=0.1, n_earlystop=9, start_dose=2,
                                      bound_mtd=True),
    # Target 0.5: the extra safety stop exists only where elimination does (get.oc's nesting).
    "BOIN target 0.5, extrasafe": lambda: BOIN(target=0.5, num_doses=4, cohort_size=3, max_n=24, extrasafe=True),
    "BOIN cohorts of 1, n_earlystop 7": lambda: BOIN(target=0.3, num_doses=4, cohort_size=1, max_n=14,
                                                     n_earlystop=7),
    "BOIN 1 dose": lambda: BOIN(target=0.3, num_doses=1, max_n=12),
    "BOIN 6 doses, max_n 22": lambda: BOIN(target=0.2, num_doses=6, max_n=22),
    "3+3": lambda: ThreePlusThree(num_doses=5),
    # CRM gives no key, but its table is filled by decide_batch, the scalar rule's own code
    # (CRM._rule) on many states: every reachable state must get its scalar decision.
    "CRM": lambda: CRM(SKEL5, target=0.3, cohort_size=3, max_n=12),
    "CRM empiric, 10 cohorts": lambda: CRM(SKEL5, target=0.3, model="empiric", prior_var=1.34, cohort_size=3,
                                           max_n=30),
    "CRM logistic, stop cutoff": lambda: CRM([0.05, 0.12, 0.25, 0.4], 0.25, model="logistic", cohort_size=3,
                                             max_n=24, stop_tox_cutoff=0.9),
    "CRM mle, unrestricted, dfcrm integration": lambda: CRM([0.05, 0.12, 0.25, 0.4, 0.55], 0.25, method="mle",
                                                            cohort_size=2, max_n=16, restrict=False,
                                                            integration="dfcrm"),
    "CRM posterior mean, no escalation after a DLT": lambda: CRM(SKEL5, 0.25, estimate="posterior_mean",
                                                                 escalate_after_dlt=False, cohort_size=3, max_n=18),
    "BOIN chain": lambda: BOIN(target=0.3, num_doses=5, max_n=24).then(
        StopAtN(18), DontSkipDoses(when_deescalating=True), StopWhenNAtDose(9)),
    "BOIN too toxic": lambda: BOIN(target=0.3, num_doses=4, max_n=18).then(StopWhenTooToxic(0.35, confidence=0.8)),
}


def _full_table(design, use_keys=True):
    table = DecisionTable(design, use_keys=use_keys)
    assert table.complete(10 ** 7)
    return table


def _scalar(table, i):
    decision = table.design.decide(table.state(i))
    return (bool(decision.stop), None if decision.stop else int(decision.dose_index), decision.code.value)


def _tabled(table, i):
    stop = table.status[i] == STOP
    assert table.status[i] in (STOP, CONTINUE, NO_ROOM)
    return (bool(stop), None if stop else int(table.nxt[i]), table.labels[table.code[i]])


@pytest.mark.parametrize("name", list(DESIGNS))
def test_the_keyed_table_holds_each_reachable_states_scalar_decision(name):
    design = DESIGNS[name]()
    keyed = _full_table(design)
    for i in range(keyed.size):
        assert _tabled(keyed, i) == _scalar(keyed, i), (name, keyed.rows[i].tolist())
    plain = _full_table(design, use_keys=False)
    # The same states in the same order, with the same answers, as one decision per state.
    assert plain.size == keyed.size
    assert np.array_equal(plain.rows[:plain.size], keyed.rows[:keyed.size])
    assert np.array_equal(plain.child[:plain.size], keyed.child[:keyed.size])
    assert [_tabled(plain, i) for i in range(plain.size)] == [_tabled(keyed, i) for i in range(keyed.size)]


def test_boin_asks_far_fewer_scalar_decisions_than_it_has_states():
    keyed = _full_table(BOIN(target=0.3, num_doses=5, max_n=30))
    assert keyed.size == 26_325  # tests/simulations/test_table_walker.py counts the same states
    assert keyed.decide_calls < keyed.size // 20


@pytest.mark.parametrize("make", [lambda: ThreePlusThree(num_doses=3), lambda: CRM(SKEL5, target=0.3, max_n=9),
                                  lambda: BOIN(target=0.3, num_doses=3, max_n=9).then(StopAtN(6))])
def test_designs_that_read_the_whole_state_give_no_key(make):
    design = make()
    z = np.zeros((1, design.num_doses), np.int64)
    assert design.decision_key(z, z, np.full(1, -1), np.full(1, -1)) is None


def test_a_subclass_that_changes_the_rule_loses_the_key():
    class Cautious(BOIN):
        def _decide(self, state):  # reads dose 2's counts, which BOIN's key leaves out
            dec = super()._decide(state)
            return dec

    design = Cautious(target=0.3, num_doses=3, max_n=9)
    z = np.zeros((1, 3), np.int64)
    assert design.decision_key(z, z, np.full(1, -1), np.full(1, -1)) is None


def test_a_key_that_misses_what_the_rule_reads_fails(monkeypatch):
    # Drop the lowest eliminated dose from BOIN's key: some reachable states then get
    # another state's decision, and the per-state check above must see it.
    design = BOIN(target=0.3, num_doses=5, max_n=30)
    right = BOIN._decision_key
    monkeypatch.setattr(BOIN, "_decision_key", lambda self, *a: right(self, *a)[:, :3])
    keyed = _full_table(design)
    wrong = [i for i in range(keyed.size) if _tabled(keyed, i) != _scalar(keyed, i)]
    assert wrong
