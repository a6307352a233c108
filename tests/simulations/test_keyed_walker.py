"""The keyed walker (issue 14: 20 cohorts without a slow path) against the general engine.

The golden numbers are the general engine's own tallies for the same seed (as in
test_table_walker.py): the keyed walker computes each trial's decision key in compiled code
from the design's DoseKeyLayout, and must reach the same final states, selections and
reasons, integer by integer.  The general engine is checked against exact calculation
elsewhere (test_exact_vs_monte_carlo.py).
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tally_checks import assert_same_tally as _same

from dosefind.designs import BOIN, CRM
from dosefind.designs.keys import DoseKeyLayout
from dosefind.designs.modifiers import StopAtN
from dosefind.simulations import _kernel, keyed_walker, tables
from dosefind.simulations.monte_carlo import simulate_mc

ROOT = str(Path(__file__).resolve().parents[2])

pytestmark = pytest.mark.skipif(keyed_walker._compiled() is None, reason="numba unavailable (DOSEFIND_NO_JIT)")


@pytest.fixture(autouse=True)
def fresh():
    tables.clear_tables()
    _kernel._DECIDERS.clear()
    keyed_walker._WALKERS.clear()
    yield
    tables.clear_tables()
    _kernel._DECIDERS.clear()
    keyed_walker._WALKERS.clear()


DESIGNS = {
    "20 cohorts of 3": lambda: BOIN(target=0.3, num_doses=5, cohort_size=3, n_cohorts=20),
    "every option": lambda: BOIN(target=0.25, num_doses=5, cohort_size=2, max_n=41, p_saf=0.15, p_tox=0.35,
                                 cutoff_eli=0.9, extrasafe=True, offset=0.1, n_earlystop=15, start_dose=2,
                                 bound_mtd=True),
    "6 doses": lambda: BOIN(target=0.3, num_doses=6, cohort_size=3, n_cohorts=20),
    "10 doses (rows too wide for one integer)": lambda: BOIN(target=0.3, num_doses=10, cohort_size=3, max_n=60),
    "1 dose": lambda: BOIN(target=0.3, num_doses=1, cohort_size=1, max_n=25),
}


@pytest.mark.parametrize("name", list(DESIGNS))
def test_keyed_walker_tallies_equal_the_general_engine(name, monkeypatch):
    design = DESIGNS[name]()
    D = design.num_doses
    p = np.linspace(0.05, 0.6, D) if D > 1 else np.array([0.3])
    monkeypatch.setattr(keyed_walker, "BLOCK_TRIALS", 1500)  # several tally blocks per run
    kw = dict(n_trials=4000, seed=17, above_mask=p > 0.3, chunk_size=1000)
    walker = keyed_walker.keyed_walker_for(design)
    assert walker is not None
    # Walked on the keyed walker directly (every chunk), then on the general engine with
    # the same shared Decider, whose key answers the walker filled.
    chunks = [(i, 1000) for i in range(4)]
    walked = walker.run(p, 17, chunks, p > 0.3)
    _kernel._DECIDERS.clear()  # the general engine asks every key itself
    general = simulate_mc(design, p, use_table=False, **kw)
    _same(general, walked)
    # Through simulate_mc: the table probe gives up (its first chunk meets more than
    # LARGE_SPACE_STATES new states, scaled down here from 50,000 to this run's size) and
    # the keyed walker runs.
    tables.clear_tables()
    monkeypatch.setattr(tables, "LARGE_SPACE_STATES", 300)
    _same(general, simulate_mc(design, p, jit=True, **kw))


def test_the_keyed_walker_is_what_simulate_runs_for_twenty_cohorts(monkeypatch):
    design = BOIN(target=0.3, num_doses=5, cohort_size=3, n_cohorts=20)
    p = np.array([0.05, 0.1, 0.2, 0.3, 0.45])
    monkeypatch.setattr(tables, "LARGE_SPACE_STATES", 300)  # 50,000 at 10^4 trials a chunk
    calls = []
    original = keyed_walker.KeyedWalker.walk_chunk
    monkeypatch.setattr(keyed_walker.KeyedWalker, "walk_chunk",
                        lambda self, *a: calls.append(a) or original(self, *a))
    simulate_mc(design, p, 3000, 2, p > 0.3, chunk_size=1000, jit=True)
    assert len(calls) == 3
    calls.clear()
    simulate_mc(design, p, 3000, 2, p > 0.3, chunk_size=1000, jit=False)  # the general engine
    assert not calls


def test_workers_give_the_same_numbers(monkeypatch):
    monkeypatch.setattr(tables, "LARGE_SPACE_STATES", 300)
    design = BOIN(target=0.3, num_doses=5, cohort_size=3, n_cohorts=20)
    p = np.array([0.05, 0.1, 0.2, 0.3, 0.45])
    one = simulate_mc(design, p, 4000, 8, p > 0.3, chunk_size=500, jit=True)
    two = simulate_mc(design, p, 4000, 8, p > 0.3, chunk_size=500, jit=True, workers=2)
    _same(one, two)


def test_designs_without_a_layout_do_not_take_it():
    assert keyed_walker.keyed_walker_for(CRM([0.1, 0.2, 0.3, 0.4], 0.3, cohort_size=3, max_n=60)) is None
    assert keyed_walker.keyed_walker_for(BOIN(target=0.3, num_doses=4, max_n=60).then(StopAtN(30))) is None


def test_a_layout_that_disagrees_with_the_key_is_a_conformance_error(monkeypatch):
    monkeypatch.setattr(tables, "LARGE_SPACE_STATES", 300)
    class Lying(BOIN):
        # Claims dose 1's counts are part of the key, which _decision_key does not give.
        def _decision_key(self, n_at_dose, tox_at_dose, current_index, last_cohort_tox):
            return DoseKeyLayout(self.num_doses, self.max_n, self._eliminated_pairs).columns(
                n_at_dose, tox_at_dose, current_index)

        def _decision_key_layout(self):
            return DoseKeyLayout(self.num_doses, self.max_n, self._eliminated_pairs, first_dose_counts=True)

    design = Lying(target=0.3, num_doses=4, cohort_size=3, n_cohorts=20)
    p = np.array([0.1, 0.2, 0.3, 0.4])
    with pytest.raises(RuntimeError, match="key layout|conformance"):
        simulate_mc(design, p, 2000, 1, p > 0.3, chunk_size=1000, jit=True)


def test_a_subclass_that_changes_the_rule_loses_the_layout():
    class Other(BOIN):
        def _decide(self, state):
            return super()._decide(state)

    assert Other(target=0.3, num_doses=4, max_n=60).decision_key_layout() is None
    assert BOIN(target=0.3, num_doses=4, max_n=60).decision_key_layout() is not None


def test_without_the_jit_twenty_cohorts_run_on_the_general_engine(monkeypatch):
    # LARGE_SPACE_STATES scaled down (from 50,000 at 10^4 trials a chunk) so that this small
    # run gives up the table, as a full-size one does.
    code = ("import numpy as np; from dosefind.designs import BOIN; "
            "from dosefind.simulations import keyed_walker, monte_carlo, tables; "
            "tables.LARGE_SPACE_STATES = 300; calls = []; run_block = monte_carlo.run_block; "
            "monte_carlo.run_block = lambda *a: calls.append(1) or run_block(*a); "
            "d = BOIN(target=0.3, num_doses=5, cohort_size=3, n_cohorts=20); p = np.linspace(0.05, 0.5, 5); "
            "t = monte_carlo.simulate_mc(d, p, 1200, 4, p > 0.3, chunk_size=600, jit=True); "
            "print(keyed_walker.keyed_walker_for(d) is None, len(calls) > 0, t.sel.tolist())")
    env = {**os.environ, "DOSEFIND_NO_JIT": "1", "PYTHONPATH": ROOT}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    monkeypatch.setattr(tables, "LARGE_SPACE_STATES", 300)
    calls = []
    original = keyed_walker.KeyedWalker.walk_chunk
    monkeypatch.setattr(keyed_walker.KeyedWalker, "walk_chunk",
                        lambda self, *a: calls.append(a) or original(self, *a))
    d = BOIN(target=0.3, num_doses=5, cohort_size=3, n_cohorts=20)
    p = np.linspace(0.05, 0.5, 5)
    expected = simulate_mc(d, p, 1200, 4, p > 0.3, chunk_size=600, jit=True).sel.tolist()
    assert calls  # here the keyed walker ran; there the general engine, with the same numbers
    assert out.stdout.split(" ", 2) == ["True", "True", f"{expected}\n"]
