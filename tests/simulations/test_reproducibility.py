"""Seeds, worker counts and common random numbers."""

import numpy as np
from toy_designs import LastCohortRule

from dosefind.designs import ThreePlusThree
from dosefind.designs.base import Design
from dosefind.state import Decision, MTDSelection
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
    # Two DIFFERENT designs -- cohorts of 1 and cohorts of 3 -- that treat patients 1..12
    # of every trial at dose 2.  Sharing patients (patient i of trial t has one latent
    # uniform whatever the design and its cohort size) makes their DLT counts equal in
    # every trial, so the means and standard errors agree exactly in both scenarios; with
    # separate patient streams per design they would differ by Monte Carlo noise.
    designs = {"cohorts of 1": AlwaysAt(1, num_doses=3, cohort_size=1, max_n=12),
               "cohorts of 3": AlwaysAt(1, num_doses=3, cohort_size=3, max_n=12)}
    scenarios = [[0.1, 0.35, 0.6], [0.05, 0.2, 0.3]]
    res = compare(designs, scenarios, n_trials=3000, seed=1, target=0.3)
    for s in ("1", "2"):
        a, b = (res[(s, k)].to_dict() for k in designs)
        assert a["dlt_mean"] == b["dlt_mean"] and a["se"]["dlt_mean"] == b["se"]["dlt_mean"]
    # the equality is not automatic: other patients (another seed) give other counts
    other = compare(designs, scenarios[:1], n_trials=3000, seed=2, target=0.3)
    assert other[("1", "cohorts of 1")].to_dict()["dlt_mean"] != res[("1", "cohorts of 1")].to_dict()["dlt_mean"]


class AlwaysAt(Design):
    """Treats every cohort at one fixed dose (a probe for the patient coupling)."""

    name = "always"

    def __init__(self, dose_index, **kw):
        super().__init__(start_dose=dose_index + 1, **kw)
        self.fixed = dose_index

    def _decide(self, state):
        return Decision.treat(self.fixed, "fixed dose")

    def select_mtd(self, state):
        return MTDSelection(self.fixed, (None,) * self.num_doses, "fixed dose")


def test_compare_couples_patients_across_designs():
    # Common random numbers: patient i of trial t has one latent uniform u and a DLT at
    # dose d iff u < p[d]. Two designs that always treat at different doses with the SAME
    # true rate therefore see identical DLT counts in every trial, so their DLT means and
    # standard errors agree exactly; with independent patients they would differ by
    # Monte Carlo noise (SE about 0.04 here).
    p = [0.3, 0.3, 0.6]
    designs = {"at 1": AlwaysAt(0, num_doses=3, cohort_size=3, max_n=12),
               "at 2": AlwaysAt(1, num_doses=3, cohort_size=3, max_n=12),
               "at 3": AlwaysAt(2, num_doses=3, cohort_size=3, max_n=12)}
    res = compare(designs, [p], n_trials=4000, seed=11, target=0.3)
    a, b, c = (res[("1", k)].to_dict() for k in designs)
    assert a["dlt_mean"][0] == b["dlt_mean"][1] and a["se"]["dlt_mean"][0] == b["se"]["dlt_mean"][1]
    # Monotone in dose: the same patients at a more toxic dose have at least as many DLTs.
    assert c["dlt_mean"][2] > a["dlt_mean"][0]
