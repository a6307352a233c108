"""BOIN 2.7.2's ``get.boundary`` and ``select.mtd`` rules (CRAN mirror cran/BOIN, commit
"version 2.7.2", R/get.boundary.R and R/select.mtd.R), and the size of the tables.

* De-escalation count (get.boundary, 2.7.2)::

      tol <- 1e-12
      cutoff2 = ifelse(abs(round(lambda2 * n) - lambda2 * n) < tol, round(lambda2 * n) + 1,
                       ceiling(lambda2 * n))

  so an observed rate exactly equal to lambda_d stays.  Minimal input (issue 8):
  ``get.boundary(target=0.3, ncohort=1, cohortsize=2, p.tox=0.7)`` has lambda_d = 1/2
  (log(0.7/0.3) / log(0.7*0.7/(0.3*0.3))) and de-escalates at 2 DLTs of 2, not 1.
* Elimination count: the first ntox in 1..n with 1 - pbeta(target, ntox+1, n-ntox+1) >
  cutoff.eli (computed here by the package's own linear scan with scipy).
* boundMTD (select.mtd, 2.7.2): ``if(all(phat > lambda_d)) none else phat[phat <= lambda_d]``.
"""

import math
import time

import pandas as pd
import pytest
from scipy.stats import beta

from dosefind.designs import BOIN
from dosefind.state import TrialState


def test_lambda_d_is_one_half_for_p_tox_0_7():
    # log((1-0.3)/(1-0.7)) / log(0.7*(1-0.3) / (0.3*(1-0.7))) = log(7/3) / log(49/9) = 1/2
    d = BOIN(target=0.3, num_doses=3, cohort_size=2, n_cohorts=1, p_tox=0.7)
    assert d.lambda_d == pytest.approx(0.5, abs=1e-15)


def test_minimal_input_deescalates_at_two_of_two():
    # get.boundary(target=0.3, ncohort=1, cohortsize=2, p.tox=0.7)$boundary_tab:
    # n = 2, "Deescalate if # of DLT >=" 2 (round(1) + 1), not ceiling(1) = 1.
    tab = BOIN(target=0.3, num_doses=3, cohort_size=2, n_cohorts=1, p_tox=0.7).boundaries()
    assert tab["n"].tolist() == [2]
    assert tab["deescalate_if_dlt_ge"].tolist() == [2]


def test_after_1NN_2TN_boin_stays_at_dose_2():
    # 1/2 = lambda_d exactly: BOIN 2.7.2 stays (1 < 2); 2/2 de-escalates.
    d = BOIN(target=0.3, num_doses=3, cohort_size=2, n_cohorts=5, p_tox=0.7)
    stay = d.decide(TrialState.from_outcomes("1NN 2TN", num_doses=3))
    assert stay.next_dose == 2 and stay.code.value == "stay"
    down = d.decide(TrialState.from_outcomes("1NN 2TT", num_doses=3))
    assert down.next_dose == 1 and down.code.value == "de_escalate"


def r_boundaries(target, n_max, p_saf, p_tox, cutoff_eli):
    """get.boundary 2.7.2 transcribed loop by loop (O(n^2)), for small n."""
    l1 = math.log((1 - p_saf) / (1 - target)) / math.log(target * (1 - p_saf) / (p_saf * (1 - target)))
    l2 = math.log((1 - target) / (1 - p_tox)) / math.log(p_tox * (1 - target) / (target * (1 - p_tox)))
    rows = []
    for n in range(1, n_max + 1):
        be = math.floor(l1 * n)
        x = l2 * n
        bd = round(x) + 1 if abs(round(x) - x) < 1e-12 else math.ceil(x)
        el = None
        if n >= 3:
            for ntox in range(1, n + 1):
                if 1 - beta.cdf(target, ntox + 1, n - ntox + 1) > cutoff_eli:
                    el = ntox
                    break
        if el is not None and bd > el:
            bd = el
        rows.append((n, be, bd, el))
    return rows


@pytest.mark.parametrize("target,p_saf,p_tox,cutoff", [
    (0.3, 0.18, 0.42, 0.95),     # defaults
    (0.3, 0.18, 0.7, 0.95),      # lambda_d = 1/2: every even n hits the tolerance branch
    (0.25, 0.1, 0.5, 0.9),
    (0.5, 0.3, 0.6, 0.95),
    (0.05, 0.02, 0.1, 0.99),
])
def test_full_table_equals_the_package_loop(target, p_saf, p_tox, cutoff):
    d = BOIN(target=target, num_doses=2, cohort_size=1, max_n=120, n_earlystop=120, p_saf=p_saf, p_tox=p_tox,
             cutoff_eli=cutoff)
    tab = d.boundaries(full=True)
    got = [(int(r.n), int(r.escalate_if_dlt_le), int(r.deescalate_if_dlt_ge),
            None if pd.isna(r.eliminate_if_dlt_ge) else int(r.eliminate_if_dlt_ge)) for r in tab.itertuples()]
    assert got == r_boundaries(target, 120, p_saf, p_tox, cutoff)


def test_boundary_table_of_the_largest_trial_is_fast():
    # issue 9: boundaries --max-n 3000 took 181 s (O(n^2) scan); 10,000 is the cap.
    t0 = time.perf_counter()
    d = BOIN(target=0.3, num_doses=3, cohort_size=1, max_n=10_000, n_earlystop=10_000)
    tab = d.boundaries(full=True)
    assert time.perf_counter() - t0 < 20          # about 0.5 s alone; generous under load
    # spot checks against the package loop at large n (the scan from y = 1 is slow but exact)
    for n in (2999, 10_000):
        row = tab.iloc[n - 1]
        y = int(row.eliminate_if_dlt_ge)
        assert 1 - beta.cdf(0.3, y + 1, n - y + 1) > 0.95 >= 1 - beta.cdf(0.3, y, n - y + 2)
        assert int(row.escalate_if_dlt_le) == math.floor(d.lambda_e * n)


def test_select_mtd_with_thousands_of_patients_is_fast():
    # issue 9: select-mtd --design boin --n 5000,0,0 took minutes.
    t0 = time.perf_counter()
    sel = BOIN(target=0.3, num_doses=3).select_mtd(TrialState.from_counts([5000, 0, 0], [1400, 0, 0]))
    assert sel.mtd == 1 and time.perf_counter() - t0 < 5


@pytest.mark.parametrize("kw,match", [
    (dict(max_n=10_001), r"max_n must be at most 10000 patients, got 10001"),
    (dict(max_n=100_000_000), r"max_n must be at most 10000 patients"),
    (dict(n_cohorts=4000, cohort_size=3), r"n_cohorts \* cohort_size must be at most 10000 patients, got 4000 \* 3"),
    (dict(cohort_size=20_000, max_n=10), r"cohort_size must be at most 10000 patients"),
])
def test_trial_sizes_above_the_cap_are_refused(kw, match):
    with pytest.raises(ValueError, match=match):
        BOIN(target=0.3, num_doses=3, **kw)


def test_bound_mtd_keeps_a_dose_at_lambda_d_as_in_2_7_2():
    # 2.7.2 keeps phat <= lambda_d (2.7.1 kept phat < lambda_d).  One dose whose isotonic
    # estimate (y+0.05)/(n+0.1) plus the 1e-10 tie-break lies between lambda_d - 1e-9 and
    # lambda_d is selected; just above lambda_d it is not.
    d = BOIN(target=0.3, num_doses=1, bound_mtd=True)
    ld = d.lambda_d
    # find counts whose smoothed rate is just below / above lambda_d
    below = above = None
    for n in range(3, 400):
        for y in range(n + 1):
            r = (y + 0.05) / (n + 0.1) + 1e-10
            if below is None and ld - 1e-4 < r <= ld:
                below = (n, y)
            if above is None and ld < r < ld + 1e-4:
                above = (n, y)
    assert d.select_mtd(TrialState.from_counts([below[0]], [below[1]])).mtd == 1
    assert d.select_mtd(TrialState.from_counts([above[0]], [above[1]])).mtd is None
