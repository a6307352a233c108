"""BOIN12 against its paper and the reference implementation.

1. Table 3 of Lin R, Zhou Y, Yan F, Li D, Yuan Y. BOIN12: Bayesian optimal interval phase
   I/II trial design for utility-based dose finding in immunotherapy and targeted
   therapies. JCO Precision Oncology 2020;4:1393-1402: the rank-based desirability scores
   for phi_T = 0.35, phi_E = 0.25, utility (100, 40, 60, 0), c_T = 0.95, c_E = 0.9, n = 0,
   3, 6, 9.  The cells are those transcribed from the paper's Table 3 in the R package
   escalation 0.2.3 (tests/testthat/test_boin12_rds.R, "Recreate Table 3 of Lin ...");
   "E" (eliminated) is no score here.
2. The BOIN Suite (www.trialdesign.org, BOIN12 module) operating characteristics quoted in
   escalation issue 8 (github.com/brockk/escalation/issues/8, 2025-02-25): default
   settings, extra dose exploration off, correlation 0, 36 patients, stop at 12 on a
   dose; true DLT rates (0.03, 0.17, 0.35, 0.50, 0.65), response rates (0.12, 0.39, 0.43,
   0.55, 0.65); 10,000 simulated trials select dose 2 in 57.3% and dose 3 in 21.3%
   (escalation's re-implementation: 49.6% and 23.7%).
3. A limit (issue 11): with the same response rate at every dose, BOIN12 still controls
   toxicity through BOIN's boundaries (no published number: a bound the rule implies).
"""

import math

import numpy as np
import pytest

from dosefind import TrialState
from dosefind.designs import BOIN12
from dosefind.designs.boin12 import benchmark_utility, desirability_table

# (patients, DLTs, responses) -> score in Table 3 (None: "E", eliminated)
TABLE3 = {
    (0, 0, 0): 60, (3, 0, 3): 91, (6, 1, 5): 87, (6, 5, 1): None, (9, 0, 8): 99,
    (9, 2, 3): 32.5, (9, 5, 5): 32.5,  # a tie: both have x = 4.6 of 9, average rank as R's rank()
    (9, 3, 1): 7, (9, 4, 0): None, (9, 6, 9): None,
}


@pytest.fixture(scope="module")
def table():
    return desirability_table([0, 3, 6, 9], phi_t=0.35, phi_e=0.25,
                              utility={"eff_no_tox": 100, "no_eff_no_tox": 40, "eff_tox": 60, "no_eff_tox": 0},
                              c_t=0.95, c_e=0.9)


@pytest.mark.parametrize("cell", sorted(TABLE3))
def test_table3_desirability_scores(table, cell):
    n, tox, eff = cell
    row = table[(table.n == n) & (table.tox == tox) & (table.eff == eff)]
    assert len(row) == 1
    score = row.score.iloc[0]
    if TABLE3[cell] is None:
        assert not row.admissible.iloc[0] and math.isnan(score)
    else:
        assert score == TABLE3[cell]


def test_table3_benchmark_and_prior():
    # Exact calculation: u_bar = 100*.25*.65 + 40*.75*.65 + 60*.25*.35 = 41, u_b = 41 + 59/2.
    assert benchmark_utility(0.35, 0.25) == (41.0, 70.5)
    # n = 0 scores Pr(Beta(1, 1) > 0.705) = 0.295, ranked 60th in Table 3.
    t = desirability_table([0], 0.35, 0.25)
    assert t.prob_utility_exceeds.iloc[0] == pytest.approx(0.295, abs=1e-12)


def _simulate(design, true_tox, true_eff, n_trials, seed):
    """A plain cohort loop (independent DLT and response) calling the design's own
    decide/select_obd; distinct states are decided once."""
    rng = np.random.default_rng(seed)
    D = design.num_doses
    sel = np.zeros(D + 1)
    cache, chosen = {}, {}
    for _ in range(n_trials):
        n, y, e, d = [0] * D, [0] * D, [0] * D, design.start_index
        while True:
            n[d] += 3
            y[d] += int((rng.random(3) < true_tox[d]).sum())
            e[d] += int((rng.random(3) < true_eff[d]).sum())
            key = (tuple(n), tuple(y), tuple(e), d)
            if key not in cache:
                cache[key] = design.decide(TrialState.from_counts(n, y, current_dose=d + 1, eff=e))
            dec = cache[key]
            if dec.stop:
                break
            d = dec.dose_index
        early = dec.code.value in ("lowest_too_toxic", "futility")
        k = (tuple(n), tuple(y), tuple(e), early)
        if k not in chosen:
            obd = None if early else design.select_obd(TrialState.from_counts(n, y, d + 1, eff=e)).obd_index
            chosen[k] = D if obd is None else obd
        sel[chosen[k]] += 1
    return 100 * sel / n_trials


def test_boin_suite_selection_escalation_issue_8():
    design = BOIN12(phi_t=0.35, phi_e=0.25, num_doses=5, cohort_size=3, max_n=36, n2=None, n_earlystop=12,
                    c_t=0.95, c_e=0.9)
    pct = _simulate(design, [0.03, 0.17, 0.35, 0.50, 0.65], [0.12, 0.39, 0.43, 0.55, 0.65], 10_000, seed=8)
    for dose, ref in ((2, 57.3), (3, 21.3)):
        # standard error of the difference of two 10,000-trial percentages
        se = math.sqrt(2 * ref * (100 - ref) / 10_000)
        assert abs(pct[dose - 1] - ref) < 3 * se, (dose, pct[dose - 1], ref)


def test_identical_efficacy_still_controls_toxicity():
    # Response 0.5 at every dose, DLT rates (0.05, 0.15, 0.35, 0.55, 0.70): the utility
    # only falls with dose, and the doses above phi_t + 0.2 are rarely chosen or treated.
    design = BOIN12(phi_t=0.35, phi_e=0.25, num_doses=5, cohort_size=3, max_n=30)
    pct = _simulate(design, [0.05, 0.15, 0.35, 0.55, 0.70], [0.5] * 5, 2_000, seed=11)
    assert pct[3] + pct[4] < 5
    assert pct[0] + pct[1] > 75  # the two least toxic doses, with the same response, win


@pytest.mark.slow
def test_boin_suite_selection_through_the_simulation_engine():
    # The same BOIN Suite numbers (escalation issue 8) through dosefind's own Monte Carlo
    # engine (common random numbers, decision tables, select_obd per final state), 10,000
    # trials as the app: within 3 standard errors of the difference of two such runs.
    from dosefind.simulations import simulate

    design = BOIN12(phi_t=0.35, phi_e=0.25, num_doses=5, cohort_size=3, max_n=36, n2=None, n_earlystop=12)
    oc = simulate(design, [0.03, 0.17, 0.35, 0.50, 0.65], true_prob_eff=[0.12, 0.39, 0.43, 0.55, 0.65],
                  tox_eff_correlation=0.0, n_trials=10_000, seed=8, method="mc")
    pct = oc.efficacy["values"]["obd_selection_pct"]
    for dose, ref in ((2, 57.3), (3, 21.3)):
        se = math.sqrt(2 * ref * (100 - ref) / 10_000)
        assert abs(pct[dose - 1] - ref) < 3 * se, (dose, pct[dose - 1], ref)
