"""Decision tables and the table walker against the general engine (issue 14).

The golden numbers are the general engine's own tallies for the same seed: the walker is
a faster way to do the same calculation (each trial gets the same latent uniforms and the
same scalar decisions), so the tallies must be equal integer by integer.  The general
engine itself is checked against exact calculation and closed forms elsewhere
(test_exact_vs_monte_carlo.py, test_three_plus_three_closed_form.py).
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tally_checks import assert_same_tally as _same
from toy_designs import LastCohortRule, NoReturnRule

from dosefind.designs import BOIN, CRM, ThreePlusThree
from dosefind.designs.modifiers import DontSkipDoses, StopAtN, StopWhenNAtDose, StopWhenTooToxic
from dosefind.simulations import tables
from dosefind.simulations.exact import simulate_exact
from dosefind.simulations.monte_carlo import simulate_mc
from dosefind.simulations.walker import jit_walker

ROOT = str(Path(__file__).resolve().parents[2])
SKEL5 = [0.12, 0.20, 0.30, 0.40, 0.50]


def _p(num_doses):
    return np.linspace(0.05, 0.6, num_doses) if num_doses > 1 else np.array([0.25])


DESIGNS = {
    "3+3": lambda: ThreePlusThree(num_doses=5),
    "3+3 no expansion, max_n 20": lambda: ThreePlusThree(num_doses=4, expand_lower=False, expand_top=False,
                                                         max_n=20),
    "3+3 1 dose": lambda: ThreePlusThree(num_doses=1),
    "BOIN": lambda: BOIN(target=0.3, num_doses=5, max_n=30),
    "BOIN every option": lambda: BOIN(target=0.25, num_doses=5, cohort_size=2, max_n=25, p_saf=0.15, p_tox=0.35,
                                      cutoff_eli=0.9, extrasafe=True, offset=0.1, n_earlystop=9, start_dose=2,
                                      bound_mtd=True),
    "BOIN cohorts of 1": lambda: BOIN(target=0.3, num_doses=4, cohort_size=1, max_n=14),
    "BOIN max_n 20 (not 3k)": lambda: BOIN(target=0.3, num_doses=5, max_n=20),
    "BOIN 1 dose": lambda: BOIN(target=0.3, num_doses=1, max_n=12),
    "BOIN 6 doses": lambda: BOIN(target=0.3, num_doses=6, max_n=24),
    "BOIN 10 doses": lambda: BOIN(target=0.3, num_doses=10, max_n=30),
    "CRM empiric": lambda: CRM(SKEL5, target=0.3, cohort_size=3, max_n=15),
    "CRM logistic, mle": lambda: CRM(SKEL5, target=0.3, model="logistic", method="mle", cohort_size=2, max_n=11),
    "CRM unrestricted, stop cutoff": lambda: CRM(SKEL5, target=0.25, restrict=False, stop_tox_cutoff=0.8,
                                                 cohort_size=3, max_n=12, estimate="posterior_mean"),
    "BOIN chain": lambda: BOIN(target=0.3, num_doses=5, max_n=30).then(
        StopAtN(21), DontSkipDoses(when_deescalating=True), StopWhenNAtDose(9)),
    "3+3 too toxic": lambda: ThreePlusThree(num_doses=5).then(StopWhenTooToxic(0.35, confidence=0.8, dose=2)),
    "CRM chain": lambda: CRM(SKEL5, target=0.3, cohort_size=1, max_n=9).then(
        StopWhenTooToxic(0.3, confidence=0.7), DontSkipDoses()),
    "toy rule": lambda: LastCohortRule(num_doses=5, cohort_size=3, max_n=22),
}


@pytest.fixture(autouse=True)
def fresh_tables():
    tables.clear_tables()
    yield
    tables.clear_tables()


@pytest.mark.parametrize("name", list(DESIGNS))
def test_walker_tallies_equal_the_general_engine(name):
    design = DESIGNS[name]()
    p = _p(design.num_doses)
    above = p > 0.3
    kw = dict(n_trials=2500, seed=11, above_mask=above, chunk_size=1000)
    general = simulate_mc(design, p, use_table=False, use_batch=False, **kw)
    walked = simulate_mc(design, p, jit=False, **kw)
    _same(general, walked)
    assert tables.table_for(design).size > 1  # the table path really ran
    if jit_walker() is not None:
        _same(general, simulate_mc(design, p, jit=True, **kw))
    # The design's batch rules (where it has them) give the same tallies as its scalar rule.
    _same(general, simulate_mc(design, p, use_table=False, **kw))


EXACT = {
    "3+3": DESIGNS["3+3"],
    "BOIN every option": lambda: BOIN(target=0.25, num_doses=4, cohort_size=2, max_n=12, extrasafe=True,
                                      n_earlystop=9, start_dose=2, bound_mtd=True),
    "CRM empiric": lambda: CRM(SKEL5, target=0.3, cohort_size=3, max_n=12),
    "BOIN chain": lambda: BOIN(target=0.3, num_doses=5, max_n=15).then(StopAtN(12), DontSkipDoses()),
    "BOIN 10 doses": lambda: BOIN(target=0.3, num_doses=10, max_n=12),
}


@pytest.mark.parametrize("name", list(EXACT))
def test_exact_on_the_table_equals_the_general_exact_engine(name):
    design = EXACT[name]()
    p = _p(design.num_doses)
    above = p > 0.3
    a = simulate_exact(design, p, above, use_table=False, use_batch=False)
    b = simulate_exact(design, p, above)
    assert a.states_visited == b.states_visited
    for f in a.FIELDS:
        np.testing.assert_allclose(getattr(b, f), getattr(a, f), rtol=1e-12, atol=1e-12, err_msg=f)
    assert a.reasons.keys() == b.reasons.keys()
    for k in a.reasons:
        assert b.reasons[k] == pytest.approx(a.reasons[k], abs=1e-12)


def test_tables_are_shared_between_equal_designs_and_kept_apart_otherwise():
    a = BOIN(target=0.3, num_doses=5, max_n=30)
    simulate_mc(a, _p(5), 500, 1, _p(5) > 0.3)
    assert tables.table_for(BOIN(target=0.3, num_doses=5, max_n=30)) is tables.table_for(a)
    assert tables.table_for(BOIN(target=0.3, num_doses=5, max_n=30, extrasafe=True)) is not tables.table_for(a)
    # Options that params() leaves out still separate the tables (prior_a here).
    t1 = ThreePlusThree(num_doses=3).then(StopWhenTooToxic(0.3, prior_a=1.0))
    t2 = ThreePlusThree(num_doses=3).then(StopWhenTooToxic(0.3, prior_a=5.0))
    assert tables.table_for(t1) is not tables.table_for(t2)


def test_history_designs_keep_the_general_engine():
    assert tables.table_for(NoReturnRule(num_doses=4, cohort_size=3, max_n=18)) is None


def test_a_table_that_outgrows_its_cap_falls_back_with_the_same_numbers(monkeypatch):
    design = BOIN(target=0.3, num_doses=5, max_n=30)
    p, above = _p(5), _p(5) > 0.3
    general = simulate_mc(design, p, 3000, 5, above, use_table=False, chunk_size=1000)
    monkeypatch.setattr(tables, "TABLE_MAX_STATES", 300)
    tables.clear_tables()
    fallback = simulate_mc(design, p, 3000, 5, above, chunk_size=1000, jit=False)
    _same(general, fallback)
    assert tables.table_for(design) is None  # remembered: later calls go straight to the general engine


def test_twenty_cohorts_and_ten_doses_give_the_same_numbers_on_every_path(monkeypatch):
    # Their state keys no longer fit an int64 mixed-radix code; the table numbers states by
    # id.  By default such a run goes to the general engine with decision keys (its first
    # chunk meets more than LARGE_SPACE_STATES new states); forced onto the table, it walks.
    design = BOIN(target=0.3, num_doses=10, cohort_size=3, max_n=60)
    p = _p(10)
    general = simulate_mc(design, p, 1500, 3, p > 0.3, use_table=False, use_batch=False)
    _same(general, simulate_mc(design, p, 1500, 3, p > 0.3, jit=False))
    assert tables.table_for(design) is None
    tables.clear_tables()
    monkeypatch.setattr(tables, "LARGE_SPACE_STATES", 10 ** 9)
    _same(general, simulate_mc(design, p, 1500, 3, p > 0.3, jit=False))
    assert tables.table_for(design).size > 1000


def test_a_trial_that_never_stops_raises_the_general_engines_error():
    class Forever(LastCohortRule):
        def _decide(self, state):
            from dosefind.state import Decision

            return Decision.treat(0, "stay forever")

    design = Forever(num_doses=2, cohort_size=3)
    with pytest.raises(RuntimeError, match="did not stop after 999 patients; give the design a maximum"):
        simulate_mc(design, [0.1, 0.2], 10, 1, np.array([False, False]), jit=False)
    with pytest.raises(RuntimeError, match="did not stop after 999 patients; give the design a maximum"):
        simulate_mc(design, [0.1, 0.2], 10, 1, np.array([False, False]), use_table=False)


def test_the_numpy_fallback_is_used_without_the_jit():
    code = ("from dosefind.simulations.walker import jit_walker; import sys; "
            "print(jit_walker() is None, 'numba' in sys.modules)")
    env = dict(os.environ, DOSEFIND_NO_JIT="1", PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"]


def test_small_runs_do_not_import_numba():
    code = ("import sys; from dosefind.designs import BOIN; from dosefind.simulations import simulate; "
            "simulate(BOIN(target=0.3, num_doses=5, max_n=30), [0.05, 0.1, 0.2, 0.3, 0.45], n_trials=1000, "
            "seed=1, method='mc'); print('numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=dict(os.environ, PYTHONPATH=ROOT))
    assert out.stdout.strip() == "False"


def test_a_table_grown_by_monte_carlo_then_completed_by_exact_has_each_state_once():
    design = BOIN(target=0.3, num_doses=4, max_n=15)
    p = _p(4)
    simulate_mc(design, p, 300, 2, p > 0.3, jit=False)  # a partial table, grown lazily
    table = tables.table_for(design)
    partial = table.size
    exact = simulate_exact(design, p, p > 0.3)
    general = simulate_exact(design, p, p > 0.3, use_table=False, use_batch=False)
    assert exact.states_visited == general.states_visited
    assert table.size > partial
    assert np.unique(table.rows[:table.size], axis=0).shape[0] == table.size
    np.testing.assert_allclose(exact.sel, general.sel, atol=1e-12)


def test_a_huge_state_space_with_a_batch_rule_goes_to_the_general_engine(monkeypatch):
    # A design with a vectorised decide_batch (the CRM) whose first chunk asks for more new
    # decisions than the budget (scaled down here to 50) goes to the general engine, whose
    # batch rule is faster then; the numbers are the same.
    monkeypatch.setattr(tables, "LARGE_SPACE_DECISIONS", 50)
    design = CRM(skeleton=[0.05, 0.12, 0.25, 0.40, 0.55], target=0.3, cohort_size=3, max_n=30)
    p = _p(5)
    general = simulate_mc(design, p, 1200, 4, p > 0.3, use_table=False, chunk_size=600)
    _same(general, simulate_mc(design, p, 1200, 4, p > 0.3, chunk_size=600, jit=False))
    assert tables.table_for(design) is None


def test_workers_on_the_table_give_the_general_engines_tallies():
    # The parent walks the first chunk (growing the table the workers then inherit).
    design = BOIN(target=0.3, num_doses=5, max_n=30).then(DontSkipDoses())
    p = _p(5)
    general = simulate_mc(design, p, 3500, 8, p > 0.3, use_table=False, chunk_size=1000)
    _same(general, simulate_mc(design, p, 3500, 8, p > 0.3, workers=2, chunk_size=1000, jit=False))


def test_completing_a_table_changes_no_number(monkeypatch):
    monkeypatch.setattr(tables, "COMPLETE_AFTER_TRIALS", 1000)
    design = BOIN(target=0.3, num_doses=4, max_n=18)
    p = _p(4)
    first = simulate_mc(design, p, 1000, 6, p > 0.3, jit=False)
    table = tables.table_for(design)
    assert not (table.status[:table.size] == tables.UNDECIDED).any()  # completed after the run
    general = simulate_mc(design, p, 1000, 6, p > 0.3, use_table=False, use_batch=False)
    _same(general, first)
    _same(general, simulate_mc(design, p, 1000, 6, p > 0.3, jit=False))
    assert table.complete(0)


def test_a_row_hash_collision_draws_new_multipliers_and_changes_nothing(monkeypatch):
    # Tables index states by a random 64-bit hash of the row, checked row by row; force
    # every row onto one hash (zero multipliers) and the table must come out the same.
    design = BOIN(target=0.3, num_doses=4, max_n=18)
    plain = tables.DecisionTable(design)
    assert plain.complete(10 ** 6)
    forced = tables.DecisionTable(design)
    forced._mult = np.zeros_like(forced._mult)
    forced._index.clear()  # the empty trial (state 0) is never looked up again
    assert forced.complete(10 ** 6)
    assert forced._salt > 0
    assert forced.size == plain.size
    for f in ("rows", "status", "nxt", "child", "depth", "sel"):
        assert np.array_equal(getattr(forced, f)[:forced.size], getattr(plain, f)[:plain.size]), f


def test_a_huge_keyed_state_space_goes_to_the_general_engine_with_the_same_numbers(monkeypatch):
    # BOIN keys its decisions (Design.decision_key); a first chunk that adds more states than
    # LARGE_SPACE_STATES (scaled down here to 500) sends the run to the general engine, which
    # asks the rule once per distinct key.  Same patients, same decisions: same tallies.
    monkeypatch.setattr(tables, "LARGE_SPACE_STATES", 500)
    design = BOIN(target=0.3, num_doses=6, cohort_size=3, max_n=60)
    p = _p(6)
    general = simulate_mc(design, p, 2000, 4, p > 0.3, use_table=False, chunk_size=1000)
    _same(general, simulate_mc(design, p, 2000, 4, p > 0.3, chunk_size=1000, jit=False))
    assert tables.table_for(design) is None


@pytest.mark.parametrize("name", ["BOIN every option", "BOIN cohorts of 1", "BOIN 10 doses", "BOIN 1 dose"])
def test_the_general_engine_with_decision_keys_equals_one_decision_per_state(name):
    from dosefind.simulations._kernel import Decider
    from dosefind.simulations.monte_carlo import run_block

    design = DESIGNS[name]()
    p = _p(design.num_doses)
    keyed, plain = Decider(design), Decider(design, use_keys=False)
    assert keyed._keyed and not plain._keyed
    chunks = [(0, 700), (1, 500)]
    _same(run_block(plain, p, 21, chunks, p > 0.3), run_block(keyed, p, 21, chunks, p > 0.3))
    assert keyed.decide_calls < plain.decide_calls
