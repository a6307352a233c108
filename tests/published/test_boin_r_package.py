"""BOIN against the R package BOIN 2.7 (Yuan & Liu; CRAN) and the R package
*escalation* (Brock), whose BOIN selector calls BOIN::get.boundary and BOIN::select.mtd.

Sources (comment on each number):
* [R-gb]  BOIN 2.7 manual, get.boundary example: get.boundary(target=0.3, ncohort=10,
          cohortsize=3).  Printed $boundary_tab rows; the elimination row is also printed
          in the README of ruitaolin/IntervalDesign (Lin's adaptation of get.boundary,
          same beta(1,1) rule and cutoff 0.95).
* [R-sm]  BOIN 2.7 manual, select.mtd example: select.mtd(target=0.3,
          npts=c(3,3,15,9,0), ntox=c(0,0,4,4,0)) selects dose 3 (also Yan et al. 2020,
          J Stat Softw 94(13), p.15; checked against BOIN::select.mtd in escalation's
          tests/testthat/test_select_boin_mtd.R).
* [esc]   escalation tests/testthat/test_boin.R, "BOIN recommendations match published
          example" and "BOIN advises stopping when indicated" (get_boin wraps BOIN).
"""

import numpy as np
import pytest

from dosefind.designs import BOIN
from dosefind.state import TrialState


def test_get_boundary_manual_example():
    # [R-gb] get.boundary(target=0.3, ncohort=10, cohortsize=3)$boundary_tab
    tab = BOIN(target=0.3, num_doses=5, cohort_size=3, n_cohorts=10).boundaries()
    assert tab["n"].tolist() == [3, 6, 9, 12, 15, 18, 21, 24, 27, 30]
    assert tab["escalate_if_dlt_le"].tolist() == [0, 1, 2, 2, 3, 4, 4, 5, 6, 7]
    assert tab["deescalate_if_dlt_ge"].tolist() == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert tab["eliminate_if_dlt_ge"].tolist() == [3, 4, 5, 7, 8, 9, 10, 11, 12, 14]


def test_get_boundary_lambdas():
    # [R-gb] $lambda_e / $lambda_d for target 0.3 (defaults p.saf=0.18, p.tox=0.42);
    # printed 0.2364907 / 0.3585195 by boin_lambda(target=0.30) in the simFastBOIN vignette,
    # which reuses the BOIN formulas.
    d = BOIN(target=0.3, num_doses=5)
    assert d.lambda_e == pytest.approx(0.2364907, abs=5e-8)
    assert d.lambda_d == pytest.approx(0.3585195, abs=5e-8)


def test_full_boundary_table_and_n_earlystop_truncation():
    # get.boundary: $full_boundary_tab has one column per n = 1..min(npts, n.earlystop) and
    # $boundary_tab the multiples of cohortsize among them; n < 3 never eliminates.
    d = BOIN(target=0.3, num_doses=5, cohort_size=3, max_n=30, n_earlystop=12)
    full = d.boundaries(full=True)
    assert full["n"].tolist() == list(range(1, 13))
    assert full["eliminate_if_dlt_ge"].isna().tolist() == [True, True] + [False] * 10
    assert d.boundaries()["n"].tolist() == [3, 6, 9, 12]


def test_select_mtd_manual_example():
    # [R-sm] MTD is dose 3.  The smoothed rates (y+0.05)/(n+0.1) of this example are already
    # non-decreasing, so the isotonic estimates equal them (exact calculation below).
    n = np.array([3, 3, 15, 9, 0])
    y = np.array([0, 0, 4, 4, 0])
    sel = BOIN(target=0.3, num_doses=5).select_mtd(TrialState.from_counts(n, y))
    assert sel.mtd == 3
    raw = (y[:4] + 0.05) / (n[:4] + 0.1)        # 0.0161, 0.0161, 0.2682, 0.4451
    assert sel.estimates[:4] == pytest.approx(np.round(raw, 4).tolist(), abs=1e-12)
    assert sel.estimates[4] is None             # select.mtd prints "----" for untried doses


def test_select_mtd_skips_eliminated_dose():
    # [esc] test_select_boin_mtd.R: select.mtd(target=0.3, npts=c(0,3,0,0,3),
    # ntox=c(0,1,0,0,3)) recommends dose 2 (dose 5 with 3/3 DLTs is eliminated).
    sel = BOIN(target=0.3, num_doses=5).select_mtd(TrialState.from_counts([0, 3, 0, 0, 3], [0, 1, 0, 0, 3]))
    assert sel.mtd == 2
    # select.mtd still reports a pooled estimate for the eliminated but treated dose 5
    assert sel.estimates[0] is None and sel.estimates[4] is not None


@pytest.mark.parametrize("outcomes, expected", [
    # [esc] "BOIN recommendations match published example" (target 0.3, 5 doses)
    ("1NNN", 2),
    ("1NNN 2NNN", 3),
    ("1NNN 2NNN 3NTT", 2),
    ("1NNN 2NNN 3NTT 2NTN", 3),
    ("1NNN 2NNN 3NTT 2NTN 3NNN", 3),
    ("1NNN 2NNN 3NTT 2NTN 3NNN 3NNN", 4),
    ("1NNN 2NNN 3NTT 2NTN 3NNN 3NNN 4TTT", 3),
    ("1NNN 2NNN 3NTT 2NTN 3NNN 3NNN 4TTT 3NTN", 3),
    ("1NNN 2NNN 3NTT 2NTN 3NNN 3NNN 4TTT 3NTN 3NNT", 3),
    ("1NNN 2NNN 3NTT 2NTN 3NNN 3NNN 4TTT 3NTN 3NNT 3TNN", 3),
])
def test_published_trial_walkthrough(outcomes, expected):
    design = BOIN(target=0.3, num_doses=5, cohort_size=3, max_n=60)
    d = design.decide(TrialState.from_outcomes(outcomes, num_doses=5))
    assert not d.stop and d.next_dose == expected


@pytest.mark.parametrize("outcomes, expected", [
    # [esc] "BOIN advises stopping when indicated" (target 0.3, patients one at a time)
    ("1N", 2),             # 0/1 escalates
    ("1N 2TN", 1),         # 1/2 de-escalates
    ("1N 2TN 1TT", 1),     # 2/3 at the lowest dose: stay, not yet eliminated
    ("1N 2TN 1TTT", None),  # 3/4 at the lowest dose: eliminated, trial stops
])
def test_published_stopping_example(outcomes, expected):
    design = BOIN(target=0.3, num_doses=5, cohort_size=1, max_n=30)
    d = design.decide(TrialState.from_outcomes(outcomes, num_doses=5))
    assert d.next_dose == expected
    assert d.stop is (expected is None)


def test_prob_tox_exceeds_as_escalation():
    # escalation R/boin_selector.R: prob_tox_exceeds.boin_selector calls
    # pava_bb_prob_tox_exceeds(x, threshold, alpha = 0.05, beta = 0.05) (R/helpers.R):
    # pbeta(threshold, 0.05 + y, 0.05 + n - y, lower.tail = FALSE), PAVA over the doses
    # given, NA for the others.  Computed here with scipy and an unweighted isotonic fit.
    from scipy.optimize import isotonic_regression
    from scipy.stats import beta

    n = np.array([3, 6, 0, 9, 3])
    y = np.array([0, 3, 0, 2, 1])          # dose 2 looks worse than dose 4: PAVA pools them
    d = BOIN(target=0.3, num_doses=5)
    got = d.prob_tox_exceeds(TrialState.from_counts(n, y, current_dose=4), 0.35)
    given = n > 0
    tail = beta.sf(0.35, 0.05 + y[given], 0.05 + n[given] - y[given])
    expected = iter(isotonic_regression(tail).x)
    assert got[2] is None
    assert [g for g in got if g is not None] == pytest.approx(list(expected), abs=1e-12)
    assert got[1] == pytest.approx(got[3], abs=1e-15) and got[1] < tail[1]
