"""BOIN against the papers: Liu & Yuan (2015, JRSS-C 64:507-523) and Yuan, Hess,
Hilsenbeck & Gilbert (2016, Clin Cancer Res 22:4291-4301).

Golden numbers are the papers' printed values or exact calculations written out here
from the papers' formulas, never values produced by dosefind.
"""

import math

import pandas as pd
import pytest
from scipy.stats import beta

from dosefind.designs import BOIN


def test_target_030_boundaries_as_printed_in_the_papers():
    # Liu & Yuan (2015), Section 2 (phi=0.3, phi1=0.6*phi, phi2=1.4*phi) and
    # Yuan et al. (2016), Table 1: lambda_e = 0.236, lambda_d = 0.358 (printed to 3 decimals).
    design = BOIN(target=0.3, num_doses=5)
    assert design.lambda_e == pytest.approx(0.236, abs=6e-4)
    assert design.lambda_d == pytest.approx(0.358, abs=6e-4)


@pytest.mark.parametrize("target", [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5])
def test_boundaries_follow_the_closed_form(target):
    # Liu & Yuan (2015), eq. for the local BOIN with equal prior model probabilities:
    # lambda_e = log((1-phi1)/(1-phi)) / log(phi(1-phi1) / (phi1(1-phi)))
    # lambda_d = log((1-phi)/(1-phi2)) / log(phi2(1-phi) / (phi(1-phi2)))
    phi, phi1, phi2 = target, 0.6 * target, 1.4 * target
    lam_e = math.log((1 - phi1) / (1 - phi)) / math.log(phi * (1 - phi1) / (phi1 * (1 - phi)))
    lam_d = math.log((1 - phi) / (1 - phi2)) / math.log(phi2 * (1 - phi) / (phi * (1 - phi2)))
    design = BOIN(target=target, num_doses=4)
    assert design.lambda_e == pytest.approx(lam_e, rel=1e-12)
    assert design.lambda_d == pytest.approx(lam_d, rel=1e-12)
    assert phi1 < design.lambda_e < phi < design.lambda_d < phi2


def test_elimination_rule_is_the_papers_posterior_rule():
    # Yuan et al. (2016), "safety rule": eliminate dose j if n_j >= 3 and
    # Pr(p_j > phi | y_j, n_j) > 0.95 under a beta(1, 1) prior.  Exact calculation:
    design = BOIN(target=0.3, num_doses=5, cohort_size=1, max_n=30)
    table = design.boundaries(full=True).set_index("n")
    for n in range(1, 31):
        expected = None
        if n >= 3:
            hits = [y for y in range(n + 1) if beta.sf(0.3, 1 + y, 1 + n - y) > 0.95]
            expected = min(hits) if hits else None
        got = table.loc[n, "eliminate_if_dlt_ge"]
        assert (None if got is pd.NA else int(got)) == expected, n


def test_decision_in_counts_is_floor_and_ceiling_of_the_rate_boundaries():
    # Yuan et al. (2016): escalate if the observed rate <= lambda_e, de-escalate if >= lambda_d.
    design = BOIN(target=0.25, num_doses=5, cohort_size=1, max_n=40)
    table = design.boundaries(full=True).set_index("n")
    for n in range(1, 41):
        esc = max(y for y in range(n + 1) if y / n <= design.lambda_e) if 0 / n <= design.lambda_e else -1
        de = min(y for y in range(n + 1) if y / n >= design.lambda_d) if n / n >= design.lambda_d else None
        elim = table.loc[n, "eliminate_if_dlt_ge"]
        if elim is not pd.NA:
            de = min(de, int(elim))          # the package caps de-escalation at elimination
        assert int(table.loc[n, "escalate_if_dlt_le"]) == esc, n
        assert int(table.loc[n, "deescalate_if_dlt_ge"]) == de, n
