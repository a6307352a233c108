"""BOIN operating characteristics against a transcription of R BOIN 2.7's ``get.oc``.

Source: R package BOIN 2.7, ``R/get.oc.R`` (CRAN; Liu & Yuan 2015, Yan et al. 2020 J
Stat Softw 94(13)).  The trial loop below follows that function line by line: one
``runif`` per patient of each cohort, the last cohort cut to ``ncohort * cohortsize``,
elimination (``b.elim``) and the extra-safety rule checked only where an elimination
boundary exists, the ``n.earlystop`` rule, escalation / de-escalation, and
``dselect = 99`` for an early stop; otherwise ``select.mtd`` (dosefind's
``BOIN.select_mtd``, checked against the package in test_boin_r_package.py).  Risk of
overdosing is ``mean(rowSums(N[, p.true > target]) > 0.6 * npts)``.

The decision tables come from ``BOIN.boundaries(full=True)`` (get.boundary's
``$full_boundary_tab``, checked against the manual elsewhere), so what this test checks
is the simulation engine: dosefind's *exact* operating characteristics must agree with
the transcribed ``get.oc`` Monte Carlo within 3.5 standard errors of the latter.

Published simulation output is checked in test_boin_oc_simfastboin.py; the OC tables of
Liu & Yuan (2015) and Yuan et al. (2016) were not available to us in readable form.
"""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import beta as beta_dist

from dosefind.designs import BOIN
from dosefind.simulations import simulate
from dosefind.state import TrialState

CASES = [
    # The R manual's get.oc example (target 0.3, 5 doses, 10 cohorts of 3).
    dict(target=0.3, p_true=[0.05, 0.15, 0.30, 0.45, 0.60], ncohort=10, cohortsize=3, kw={}),
    # Overly toxic doses with the extra safety rule and early stopping at 12.
    dict(target=0.25, p_true=[0.40, 0.50, 0.60, 0.70, 0.80], ncohort=12, cohortsize=3,
         kw=dict(extrasafe=True, n_earlystop=12)),
    # Six doses, target 0.2, early stopping at 9.
    dict(target=0.2, p_true=[0.02, 0.05, 0.10, 0.20, 0.35, 0.50], ncohort=8, cohortsize=3,
         kw=dict(n_earlystop=9)),
]


def get_oc(design, target, p_true, ncohort, cohortsize, ntrial, rng):
    # get.oc calls get.boundary(..., n.earlystop = ncohort * cohortsize): full tables.
    full = BOIN(target=design.target, num_doses=design.num_doses, cohort_size=cohortsize, n_cohorts=ncohort,
                p_saf=design.p_saf, p_tox=design.p_tox, cutoff_eli=design.cutoff_eli, extrasafe=design.extrasafe,
                offset=design.offset)
    tab = full.boundaries(full=True)
    npts = ncohort * cohortsize
    b_e = np.full(npts + 1, -1)
    b_d = np.full(npts + 1, 10**9)
    b_elim = np.full(npts + 1, -1)  # -1: NA
    for _, row in tab.iterrows():
        n = int(row["n"])
        b_e[n], b_d[n] = int(row["escalate_if_dlt_le"]), int(row["deescalate_if_dlt_ge"])
        if not pd.isna(row["eliminate_if_dlt_ge"]):
            b_elim[n] = int(row["eliminate_if_dlt_ge"])
    ndose = len(p_true)
    n_early = design.n_earlystop
    N = np.zeros((ntrial, ndose), int)
    Y = np.zeros((ntrial, ndose), int)
    dselect = np.zeros(ntrial, int)
    selected = {}
    for trial in range(ntrial):
        y = np.zeros(ndose, int)
        n = np.zeros(ndose, int)
        earlystop = False
        d = design.start_dose - 1
        elimi = np.zeros(ndose, int)
        for _ in range(ncohort):
            newcohort = rng.random(cohortsize) < p_true[d]
            if n.sum() + cohortsize >= npts:
                nremain = npts - n.sum()
                y[d] += newcohort[:nremain].sum()
                n[d] += nremain
                break
            y[d] += newcohort.sum()
            n[d] += cohortsize
            if b_elim[n[d]] >= 0:
                if y[d] >= b_elim[n[d]]:
                    elimi[d:] = 1
                    if d == 0:
                        earlystop = True
                        break
                if design.extrasafe and d == 0 and n[0] >= 3:
                    if beta_dist.sf(target, y[0] + 1, n[0] - y[0] + 1) > design.cutoff_eli - design.offset:
                        earlystop = True
                        break
            be, bd = b_e[n[d]], b_d[n[d]]
            if n[d] >= n_early and ((be < y[d] < bd) or (d == 0 and y[d] >= bd)
                                    or ((d == ndose - 1 or elimi[d + 1] == 1) and y[d] <= be)):
                break
            if y[d] <= be and d != ndose - 1:
                if elimi[d + 1] == 0:
                    d += 1
            elif y[d] >= bd and d != 0:
                d -= 1
        N[trial], Y[trial] = n, y
        if earlystop:
            dselect[trial] = 99
        else:
            key = (tuple(n), tuple(y))
            if key not in selected:
                sel = design.select_mtd(TrialState.from_counts(n, y))
                selected[key] = 99 if sel.mtd_index is None else sel.mtd_index + 1
            dselect[trial] = selected[key]
    above = np.asarray(p_true) > target
    over = N[:, above].sum(axis=1)
    return dict(
        selpercent=np.array([(dselect == i + 1).mean() * 100 for i in range(ndose)]),
        none=(dselect == 99).mean() * 100,
        npatients=N.mean(axis=0), ntox=Y.mean(axis=0), totaln=N.sum(axis=1).mean(), totaltox=Y.sum(axis=1).mean(),
        overdose60=(over > 0.6 * npts).mean() * 100, overdose80=(over > 0.8 * npts).mean() * 100,
        N=N, Y=Y,
    )


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=["manual-example", "toxic-extrasafe", "six-doses"])
def test_exact_engine_matches_transcribed_get_oc(case):
    ntrial = 3000
    design = BOIN(target=case["target"], num_doses=len(case["p_true"]), cohort_size=case["cohortsize"],
                  n_cohorts=case["ncohort"], **case["kw"])
    ref = get_oc(design, case["target"], case["p_true"], case["ncohort"], case["cohortsize"], ntrial,
                 np.random.default_rng(2015))
    oc = simulate(design, case["p_true"], method="exact")
    assert oc.method == "exact"

    def prop_ok(ours, theirs):
        se = 100 * np.sqrt(np.clip(ours / 100 * (1 - ours / 100), 1e-4, None) / ntrial)
        return np.all(np.abs(np.asarray(ours) - np.asarray(theirs)) <= 3.5 * se)

    def mean_ok(ours, theirs, samples):
        se = samples.std(axis=0, ddof=1) / np.sqrt(ntrial) + 0.02  # floor: rare events may not occur
        return np.all(np.abs(np.asarray(ours) - np.asarray(theirs)) <= 3.5 * se)

    assert prop_ok(oc.selection_pct, ref["selpercent"]), (oc.selection_pct, ref["selpercent"])
    assert prop_ok(oc.no_selection_pct, ref["none"])
    assert mean_ok(oc.patients_mean, ref["npatients"], ref["N"])
    assert mean_ok(oc.dlt_mean, ref["ntox"], ref["Y"])
    assert mean_ok(oc.n_mean, ref["totaln"], ref["N"].sum(axis=1))
    if case["target"] in case["p_true"]:
        # get.oc reports the risk of overdosing only when a dose sits exactly on the target.
        assert prop_ok(oc.values["overdose60_pct"], ref["overdose60"])
        assert prop_ok(oc.values["overdose80_pct"], ref["overdose80"])
