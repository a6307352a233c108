"""Seeds, worker counts and common random numbers."""

import numpy as np
from toy_designs import LastCohortRule

from dosefind.designs import ThreePlusThree
from dosefind.simulations import compare, simulate
from dosefind.simulations.patients import PatientUniforms, chunk_seed


def toy(cohort_size=3):
    return LastCohortRule(num_doses=5, cohort_size=cohort_size, max_n=24)


P = [0.05, 0.1, 0.2, 0.3, 0.45]


def test_seeded_runs_are_identical():
    a = simulate(toy(), P, n_trials=25_000, seed=42, method="mc", target=0.3)
    b = simulate(toy(), P, n_trials=25_000, seed=42, method="mc", target=0.3)
    assert a.to_dict() == b.to_dict()
    c = simulate(toy(), P, n_trials=25_000, seed=43, method="mc", target=0.3)
    assert c.to_dict() != a.to_dict()


def test_workers_give_bit_identical_results():
    a = simulate(toy(), P, n_trials=35_000, seed=9, method="mc", workers=1, target=0.3)
    b = simulate(toy(), P, n_trials=35_000, seed=9, method="mc", workers=2, target=0.3)
    assert a.to_json() == b.to_json()


def test_seed_none_is_recorded_and_replays():
    a = simulate(toy(), P, n_trials=1000, method="mc", target=0.3)
    assert isinstance(a.seed, int)
    b = simulate(toy(), P, n_trials=1000, seed=a.seed, method="mc", target=0.3)
    assert a.to_dict() == b.to_dict()


def test_patient_streams_do_not_depend_on_cohort_size():
    # Patient i of trial t gets the same uniform whether drawn in blocks of 1 or of 3.
    ones = PatientUniforms(chunk_seed(5, 0), 7)
    threes = PatientUniforms(chunk_seed(5, 0), 7)
    a = np.vstack([ones.next(1) for _ in range(6)])
    b = np.vstack([threes.next(3) for _ in range(2)])
    assert np.array_equal(a, b)


def test_chunk_seeds_are_spawned_children():
    assert chunk_seed(7, 3).generate_state(4).tolist() == \
        np.random.SeedSequence(7).spawn(5)[3].generate_state(4).tolist()


def test_compare_uses_the_same_patients():
    # The same design twice gives identical results; a different cohort size sees the
    # same first patients, so the first-cohort-only quantities coincide.
    res = compare([toy(), toy()], [P, [0.3, 0.4, 0.5, 0.6, 0.7]], n_trials=5000, seed=1, target=0.3)
    frame = res.to_frame()
    assert len(frame) == 4 and set(frame["design"]) == {"last-cohort rule", "last-cohort rule (2)"}
    for s in ("1", "2"):
        assert res[(s, "last-cohort rule")].to_dict()["selection_pct"] == \
            res[(s, "last-cohort rule (2)")].to_dict()["selection_pct"]


def test_compare_couples_patients_across_designs():
    # 3+3 and the toy rule both start with 3 patients at dose 1: their DLT counts at the
    # first cohort are equal trial by trial, so the fraction stopping after a first
    # cohort with >= 2 DLTs at dose 1 is identical.
    p = [0.6, 0.7, 0.8, 0.9, 0.95]
    res = compare({"3+3": ThreePlusThree(num_doses=5), "toy": toy()}, [p], n_trials=4000, seed=3, target=0.3)
    a, b = res[("1", "3+3")], res[("1", "toy")]
    stop_a = sum(v for k, v in a.stop_reasons.items() if "lowest dose" in k and "no MTD" in k)
    # toy stops after >= 2 DLTs at dose 1 in any cohort: at least the first-cohort stops of the 3+3.
    stop_b = b.stop_reasons.get("stop: too toxic at dose #", 0)
    assert stop_b >= stop_a - 1e-9
