"""One contract, every design (scikit-learn's parametrize_with_checks idea).

Each registered design, bare and wrapped in modifiers, must: start at its start dose;
be a pure function of the history; keep doses in range; stop in bounded time; honour
its ``memory`` promise (equal ``state.key()`` -> equal decision for count-based designs);
and rebuild from ``params()``.
"""

import numpy as np
import pytest

from dosefind import TrialState
from dosefind.designs import BOIN, CRM, REGISTRY, TITEBOIN, TITECRM, DontSkipDoses, StopAtN, ThreePlusThree
from dosefind.state import Decision, MTDSelection

FACTORIES = {
    "3+3": lambda: ThreePlusThree(num_doses=5),
    "boin": lambda: BOIN(target=0.3, num_doses=5, cohort_size=3, max_n=30),
    "crm": lambda: CRM(skeleton=[0.05, 0.12, 0.25, 0.40, 0.55], target=0.25, cohort_size=3, max_n=24),
    "tite-boin": lambda: TITEBOIN(target=0.3, num_doses=5, cohort_size=3, max_n=30, dlt_window=28),
    "tite-crm": lambda: TITECRM(skeleton=[0.05, 0.12, 0.25, 0.40, 0.55], target=0.25, cohort_size=3, max_n=24,
                                dlt_window=28),
    "boin+stop_at_n": lambda: BOIN(target=0.3, num_doses=5, cohort_size=3, max_n=30).then(StopAtN(12)),
    "crm+dont_skip": lambda: CRM(skeleton=[0.05, 0.12, 0.25, 0.40, 0.55], target=0.25, cohort_size=3,
                                 max_n=24, restrict=False).then(DontSkipDoses()),
}


def test_every_registered_design_is_covered():
    assert set(REGISTRY) <= set(FACTORIES)


def random_trial(design, rng, true_tox, limit=200):
    """Play one trial to its end; returns the visited states."""
    state = TrialState.empty(design.num_doses)
    states = [state]
    for _ in range(limit):
        d = design.decide(state)
        if d.stop:
            return states
        tox = rng.random(design.cohort_size) < true_tox[d.dose_index]
        state = state.add_cohort(d.dose_index, tox)
        states.append(state)
    raise AssertionError(f"{design!r} did not stop within {limit} cohorts")


@pytest.fixture(params=sorted(FACTORIES))
def design(request):
    return FACTORIES[request.param]()


def test_starts_at_start_dose(design):
    d = design.decide(TrialState.empty(design.num_doses))
    assert isinstance(d, Decision) and not d.stop and d.next_dose == design.start_dose


@pytest.mark.parametrize("true_tox", [[0.02, 0.05, 0.1, 0.15, 0.2], [0.3, 0.45, 0.6, 0.7, 0.8],
                                      [0.05, 0.15, 0.3, 0.45, 0.6]])
def test_contract_along_random_trials(design, true_tox):
    rng = np.random.default_rng(20261121)
    for _ in range(15):
        states = random_trial(design, rng, true_tox)
        for s in states:
            d1, d2 = design.decide(s), design.decide(s)
            assert d1 == d2                                    # pure
            assert isinstance(d1.reason, str) and d1.reason     # explained
            if not d1.stop:
                assert 0 <= d1.dose_index < design.num_doses
        final = states[-1]
        sel = design.select_mtd(final)
        assert isinstance(sel, MTDSelection)
        assert len(sel.estimates) == design.num_doses
        assert sel.mtd is None or 1 <= sel.mtd <= design.num_doses
        assert sel == design.select_mtd(final)
        if design.max_n is not None:
            assert final.total_n <= design.max_n + design.cohort_size


def test_count_memory_promise(design):
    """States with equal keys but different patient order must get the same decision."""
    if design.memory != "counts":
        pytest.skip("history-dependent design")
    rng = np.random.default_rng(7)
    for _ in range(20):
        states = random_trial(design, rng, [0.1, 0.2, 0.3, 0.4, 0.5])
        s = states[-1]
        if not s.cohorts:
            continue
        # Same counts, current dose and last cohort, different history: earlier cohorts in
        # a shuffled order and the patients of every cohort reversed.
        earlier = list(s.cohorts[:-1])
        rng.shuffle(earlier)
        shuffled = TrialState.empty(s.num_doses)
        for c in earlier + [s.cohorts[-1]]:
            shuffled = shuffled.add_cohort(c.dose_index, c.outcomes[::-1])
        assert shuffled.key() == s.key()
        assert design.decide(shuffled) == design.decide(s)
        assert design.select_mtd(shuffled).mtd == design.select_mtd(s).mtd


def test_rebuilds_from_params():
    """type(d)(**d.params()) is the same design: same decision and MTD on every state of
    many random trials."""
    rng = np.random.default_rng(3)
    for name, factory in FACTORIES.items():
        d = factory()
        if hasattr(d, "modifiers"):
            continue
        clone = type(d)(**d.params())
        for _ in range(10):
            for s in random_trial(d, rng, [0.1, 0.2, 0.3, 0.45, 0.6]):
                assert clone.decide(s) == d.decide(s), name
            assert clone.select_mtd(s) == d.select_mtd(s), name


def test_rejects_state_of_wrong_size(design):
    with pytest.raises(ValueError, match="the trial state has 3 doses but the design has 5"):
        design.decide(TrialState.empty(3))


def test_describe_is_prose(design):
    text = design.describe()
    assert isinstance(text, str) and len(text) > 80
