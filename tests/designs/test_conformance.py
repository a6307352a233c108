"""One contract, every design (scikit-learn's parametrize_with_checks idea).

Each registered design, bare and wrapped in modifiers, must: start at its start dose;
be a pure function of the history; keep doses in range; stop in bounded time; honour
its ``memory`` promise (equal ``state.key()`` -> equal decision for count-based designs);
never exceed its sample size; offer the shared estimates; and rebuild from ``params()``
(chains of modifiers included, through ``Design.from_params``).
"""

import numpy as np
import pytest

from dosefind import TrialState
from dosefind.designs import (BLRM, BOIN, BOIN12, CRM, REGISTRY, TITEBOIN, TITEBOIN12, TITECRM, DontSkipDoses, StopAtN,
                              StopWhenNAtDose, StopWhenTooToxic, ThreePlusThree)
from dosefind.state import Decision, MTDSelection

FACTORIES = {
    "blrm": lambda: BLRM([5e5, 1e6, 2e6, 4e6, 8e6], cohort_size=3, max_n=30),
    "3+3": lambda: ThreePlusThree(num_doses=5),
    "boin": lambda: BOIN(target=0.3, num_doses=5, cohort_size=3, max_n=30),
    "boin12": lambda: BOIN12(phi_t=0.35, phi_e=0.25, num_doses=5, cohort_size=3, max_n=30),
    "crm": lambda: CRM(skeleton=[0.05, 0.12, 0.25, 0.40, 0.55], target=0.25, cohort_size=3, max_n=24),
    "tite-boin": lambda: TITEBOIN(target=0.3, num_doses=5, cohort_size=3, max_n=30, dlt_window=28),
    "tite-crm": lambda: TITECRM(skeleton=[0.05, 0.12, 0.25, 0.40, 0.55], target=0.25, cohort_size=3, max_n=24,
                                dlt_window=28),
    "tite-boin12": lambda: TITEBOIN12(phi_t=0.35, phi_e=0.25, num_doses=5, cohort_size=3, max_n=30, dlt_window=28,
                                      eff_window=56),
    "boin12+stop_at_n": lambda: BOIN12(phi_t=0.3, phi_e=0.2, num_doses=5, cohort_size=2, max_n=24,
                                       n_earlystop=10).then(StopAtN(16)),
    "boin+stop_at_n": lambda: BOIN(target=0.3, num_doses=5, cohort_size=3, max_n=30).then(StopAtN(12)),
    "crm+dont_skip": lambda: CRM(skeleton=[0.05, 0.12, 0.25, 0.40, 0.55], target=0.25, cohort_size=3,
                                 max_n=24, restrict=False).then(DontSkipDoses()),
    "3+3+chain": lambda: ThreePlusThree(num_doses=5).then(
        StopWhenTooToxic(threshold=0.35, confidence=0.85, estimate="beta"), StopAtN(21)),
    "boin+chain": lambda: BOIN(target=0.25, num_doses=5, cohort_size=2, max_n=24).then(
        DontSkipDoses(relative_to="highest_tried", when_deescalating=True), StopWhenNAtDose(10),
        StopWhenTooToxic(threshold=0.4, confidence=0.9, dose=3)),
    "crm+chain": lambda: CRM(skeleton=[0.05, 0.12, 0.25, 0.40, 0.55], target=0.25, cohort_size=2, max_n=20,
                             method="mle", integration="dfcrm").then(StopWhenTooToxic(threshold=0.3, min_n=0)),
}


def size_limit(design):
    """The most patients the design (with its StopAtN links) may ever have treated."""
    limits = [design.max_n] + [m.n for m in getattr(design, "modifiers", []) if isinstance(m, StopAtN)]
    limits = [v for v in limits if v is not None]
    return min(limits) if limits else None


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
            limit = size_limit(design)
            if limit is not None:                              # every visited state, tight bound
                assert s.total_n <= limit, (str(s), limit)
                if s.total_n >= limit:
                    assert d1.stop, (str(s), d1)
        final = states[-1]
        sel = design.select_mtd(final)
        assert isinstance(sel, MTDSelection)
        assert len(sel.estimates) == design.num_doses
        assert sel.mtd is None or 1 <= sel.mtd <= design.num_doses
        assert sel == design.select_mtd(final)


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
    """from_params(d.params()) is the same design, chains included: same decision and MTD
    on every state of many random trials."""
    rng = np.random.default_rng(3)
    for name, factory in FACTORIES.items():
        d = factory()
        base = getattr(d, "base", d)
        clone = type(base).from_params(d.params())
        assert clone.params() == d.params() and repr(clone) == repr(d), name
        for _ in range(10):
            for s in random_trial(d, rng, [0.1, 0.2, 0.3, 0.45, 0.6]):
                assert clone.decide(s) == d.decide(s), name
            assert clone.select_mtd(s) == d.select_mtd(s), name


def test_rejects_state_of_wrong_size(design):
    with pytest.raises(ValueError, match="the trial state has 3 doses but the design has 5"):
        design.decide(TrialState.empty(3))


def test_shared_estimates(design):
    """Every design offers tox_estimates and prob_tox_exceeds: one value (or None) per
    dose, probabilities in [0, 1], decreasing in the threshold, None only where the
    estimate is None too (no data and no model)."""
    rng = np.random.default_rng(11)
    for s in random_trial(design, rng, [0.1, 0.2, 0.35, 0.5, 0.6])[1:]:
        est = design.tox_estimates(s)
        lo, hi = design.prob_tox_exceeds(s, 0.2), design.prob_tox_exceeds(s, 0.4)
        assert len(est) == len(lo) == len(hi) == design.num_doses
        for e, a, b, n in zip(est, lo, hi, s.n_at_dose):
            assert (a is None) == (b is None)
            if a is not None:
                assert 0 <= b <= a <= 1
            if n > 0:
                assert e is not None and 0 <= e <= 1 and a is not None


# A changed option must change the text, and the text must state the options a protocol
# needs (a description that ignored them would pass a length check).
DESCRIBE_VARIANTS = {
    "3+3": (dict(expand_lower=False), ["3+3", "declared the maximum tolerated dose (MTD)"]),
    "boin": (dict(target=0.25, extrasafe=True), ["0.25", "extra safety rule", "at most 30 patients"]),
    # the skeleton at 3 decimals, as the report shows it (dosefind.designs.crm.SKELETON_DECIMALS)
    "crm": (dict(prior_var=0.75, method="mle"), ["maximum likelihood", "0.050, 0.120, 0.250, 0.400, 0.550", "24"]),
}


@pytest.mark.parametrize("name", sorted(DESCRIBE_VARIANTS))
def test_describe_states_the_options(name):
    d = FACTORIES[name]()
    changes, phrases = DESCRIBE_VARIANTS[name]
    variant = type(d).from_params({**d.params(), **changes})
    assert variant.describe() != d.describe()
    for phrase in phrases:
        assert phrase in variant.describe(), phrase


def test_describe_of_a_chain_adds_every_link(design):
    text = design.describe()
    assert text.startswith(getattr(design, "base", design).describe())
    for m in getattr(design, "modifiers", []):
        assert m.describe() in text
