"""dfcrm 0.2-2.1's integrals (CRAN mirror cran/dfcrm, R/dfcrm.R, ``crm`` and ``mtrials``),
the MLE fallback of ``crmsim``, the coherence restriction, and the accuracy of the CRM
posterior when it is narrow.

From the source:

* method "bayes"::

      den <- integrate(crmh, -Inf, Inf, ..., scale)
      est <- integrate(crmht, -10, 10, ..., scale) / den
      e2  <- integrate(crmht2, -10, 10, ..., scale) / den

  (numerators over (-10, 10), the denominator over the whole line).
* method "mle": ``if (sum(y1p)==0 | sum(y1p)==length(y1p)) stop(" mle does not exist!")``;
  ``crmsim`` (mtrials) then calls ``crm(..., scale=500)`` -- method "bayes" with the
  integrals above -- when every patient had a DLT, and for the final estimate when all or
  none had one ("Warning: mle is approximated").
* restriction: ``if (sum(ynew)/mcohort >= target) cur <- min(cur, xcur[length(xcur)])``.

Reference integrals here are scipy.integrate.quad on the exact posterior (adaptive
Gauss-Kronrod, relative tolerance 1e-12, the mode given as a break point), never
dosefind's own output.
"""

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import minimize_scalar

from dosefind import TrialState
from dosefind.designs.crm import CRM

pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # the reference optimiser

SKEL = [0.05, 0.12, 0.25, 0.40, 0.55]   # issue 8's minimal input
TARGET = 0.25


def loglik(b, n, y, skel=SKEL):
    p = np.asarray(skel) ** math.exp(min(b, 700.0))   # beyond, p is 0 in double precision
    with np.errstate(all="ignore"):
        return float(np.sum(np.where(y > 0, y * np.log(p), 0.0) + np.where(n > y, (n - y) * np.log1p(-p), 0.0)))


def reference(n, y, sd, lo=-np.inf, hi=np.inf):
    """(z over the whole line, numerators of E[beta] and E[beta^2] over (lo, hi), mode)."""
    n, y = np.asarray(n, float), np.asarray(y, float)
    neg = lambda b: -(loglik(b, n, y) - 0.5 * b * b / (sd * sd))
    mode = minimize_scalar(neg, bounds=(-60, 60), method="bounded", options=dict(xatol=1e-12)).x
    top = -neg(mode)
    dens = lambda b: math.exp(-neg(b) - top)
    kw = dict(epsabs=0, epsrel=1e-12, limit=1000)

    def integral(g, a, c):
        parts = [(a, min(c, mode)), (max(a, mode), c)]
        return sum(quad(g, u, v, **kw)[0] for u, v in parts if u < v)

    z = integral(dens, -np.inf, np.inf)
    m1 = integral(lambda b: b * dens(b), lo, hi)
    m2 = integral(lambda b: b * b * dens(b), lo, hi)
    return z, m1, m2, mode


def fit(outcomes, **kw):
    return CRM(SKEL, TARGET, **kw).select_mtd(TrialState.from_outcomes(outcomes, num_doses=5))


# ---------------------------------------------------------------- integration ranges
@pytest.mark.parametrize("prior_var", [1.34, 6.0, 20.0, 100.0])
@pytest.mark.parametrize("outcomes", ["1T", "1NNN 2NTN", "1TTT"])
def test_dfcrm_convention_numerators_over_minus_10_10(prior_var, outcomes):
    s = TrialState.from_outcomes(outcomes, num_doses=5)
    sd = math.sqrt(prior_var)
    z, m1, m2, _ = reference(s.n_at_dose, s.tox_at_dose, sd, -10, 10)
    sel = fit(outcomes, prior_var=prior_var, integration="dfcrm")
    assert sel.details["beta_mean"] == pytest.approx(m1 / z, abs=1e-7)
    assert sel.details["beta_var"] == pytest.approx(m2 / z - (m1 / z) ** 2, rel=1e-7, abs=1e-6)
    # the default integrates both over the whole line
    z, m1, m2, _ = reference(s.n_at_dose, s.tox_at_dose, sd)
    exact = fit(outcomes, prior_var=prior_var)
    assert exact.details["beta_mean"] == pytest.approx(m1 / z, abs=1e-7)
    assert exact.details["beta_var"] == pytest.approx(m2 / z - (m1 / z) ** 2, rel=1e-7, abs=1e-6)


def test_the_two_conventions_differ_from_a_prior_variance_of_about_6():
    # issue 8: "The difference exceeds 1e-4 from a prior variance of about 6."
    a = fit("1T", prior_var=1.34, integration="dfcrm").details["beta_mean"]
    b = fit("1T", prior_var=1.34).details["beta_mean"]
    assert abs(a - b) < 1e-6
    a = fit("1T", prior_var=6.0, integration="dfcrm").details["beta_mean"]
    b = fit("1T", prior_var=6.0).details["beta_mean"]
    assert abs(a - b) > 1e-4


# ---------------------------------------------------------------- MLE without heterogeneity
@pytest.mark.parametrize("outcomes,crmsim_dose,proper_dose", [("1T", 3, 1), ("1N", 3, 5)])
def test_mle_fallback_minimal_inputs(outcomes, crmsim_dose, proper_dose):
    # issue 8: crmsim's fallback crm(scale=500) recommends dose 3 after 1T and after 1N; the
    # proper posterior mean under N(0, 500^2) is near -400 / +400 (dose 1 / the top dose).
    s = TrialState.from_outcomes(outcomes, num_doses=5)
    z, m1, _, _ = reference(s.n_at_dose, s.tox_at_dose, 500.0, -10, 10)
    dfcrm = fit(outcomes, method="mle", integration="dfcrm")
    assert dfcrm.details["mle_approximated"]
    assert dfcrm.details["beta_mean"] == pytest.approx(m1 / z, abs=1e-7)
    assert abs(dfcrm.details["beta_mean"]) < 0.2 and dfcrm.mtd == crmsim_dose
    proper = fit(outcomes, method="mle")
    assert abs(proper.details["beta_mean"]) > 300 and proper.mtd == proper_dose


def test_mle_variance_as_dfcrm():
    # dfcrm crm(method="mle"): e2 <- integrate(crmht2, -100, 100, scale=500) /
    # integrate(crmh, -10, 10, scale=500); post.var <- e2 - est^2.
    s = TrialState.from_outcomes("1NNN 2NTN", num_doses=5)
    n, y = np.asarray(s.n_at_dose, float), np.asarray(s.tox_at_dose, float)
    sel = fit("1NNN 2NTN", method="mle", integration="dfcrm")
    mle = sel.details["beta_mean"]
    z10, _, _, _ = reference(n, y, 500.0, -10, 10)
    dens_mass_10 = reference_mass(n, y, 500.0, -10, 10)
    _, _, m2_100, _ = reference(n, y, 500.0, -100, 100)
    assert sel.details["beta_var"] == pytest.approx(m2_100 / dens_mass_10 - mle ** 2, rel=1e-6)


def reference_mass(n, y, sd, lo, hi):
    z, _, _, mode = reference(n, y, sd)
    neg = lambda b: -(loglik(b, n, y) - 0.5 * b * b / (sd * sd))
    top = -neg(mode)
    return quad(lambda b: math.exp(-neg(b) - top), lo, hi, points=[mode], epsabs=0, epsrel=1e-12, limit=1000)[0]


# ---------------------------------------------------------------- coherence: >= target
def test_no_escalation_when_last_cohort_rate_equals_target():
    # dfcrm: sum(ynew)/mcohort >= target.  Cohorts of 4, target 0.25, last cohort 1/4 = 0.25.
    s = TrialState.from_outcomes("1NNNN 2NNNN 2NNNT", num_doses=5)
    free = CRM(SKEL, TARGET, cohort_size=4, escalate_after_dlt=True)
    assert free.decide(s).next_dose == 3          # the model alone escalates
    d = CRM(SKEL, TARGET, cohort_size=4).decide(s)
    assert d.next_dose == 2 and d.code.value == "stay" and "no escalation after 1 DLT" in d.reason
    # below the target (1/5 < 0.25 with cohorts of 5) escalation is allowed
    s5 = TrialState.from_outcomes("1NNNNN 2NNNNN 2NNNNT", num_doses=5)
    assert CRM(SKEL, TARGET, cohort_size=5).decide(s5).next_dose == 3


# ---------------------------------------------------------------- narrow posteriors (issue 9)
@pytest.mark.parametrize("prior_var", [1e-4, 1e-2, 1.34, 25.0])
@pytest.mark.parametrize("n3", [0, 30, 100, 300, 3000, 30000])   # posterior sd from about 1 to 0.007
def test_posterior_moments_against_adaptive_quadrature(prior_var, n3):
    # n3 patients at dose 3 with a quarter of them with a DLT, after 1NNN 2NNN.
    n = [3, 3, n3, 0, 0]
    y = [0, 0, n3 // 4, 0, 0]
    s = TrialState.from_counts(n, y, current_dose=3 if n3 else 2)
    z, m1, m2, _ = reference(n, y, math.sqrt(prior_var))
    mean, var = m1 / z, m2 / z - (m1 / z) ** 2
    sel = CRM(SKEL, TARGET, prior_var=prior_var).select_mtd(s)
    assert sel.details["beta_mean"] == pytest.approx(mean, abs=1e-9 + 1e-6 * math.sqrt(var))
    assert sel.details["beta_var"] == pytest.approx(var, rel=1e-5)
    # Pr(p_3 > 0.3) = Pr(beta < b*) with 0.25^exp(b*) = 0.3
    b_star = math.log(math.log(0.3) / math.log(SKEL[2]))
    neg = lambda b: -(loglik(b, np.asarray(n, float), np.asarray(y, float)) - 0.5 * b * b / prior_var)
    mode = minimize_scalar(neg, bounds=(-60, 60), method="bounded", options=dict(xatol=1e-12)).x
    top = -neg(mode)
    dens = lambda b: math.exp(-neg(b) - top)
    pts = sorted({b_star, mode})
    below = quad(dens, -np.inf, pts[0], epsabs=0, epsrel=1e-12, limit=1000)[0]
    if len(pts) == 2 and b_star > mode:
        below += quad(dens, pts[0], pts[1], epsabs=0, epsrel=1e-12, limit=1000)[0]
    crm = CRM(SKEL, TARGET, prior_var=prior_var)
    assert crm.prob_tox_exceeds(s, 0.3)[2] == pytest.approx(below / z, abs=1e-6)


def test_issue_9_examples():
    # prior_var = 1e-4 after a few patients: the posterior variance is just below 1e-4
    # (1.07e-6 was reported); 30,000 patients at a dose: about 5.2e-5 (6.8e-10 reported).
    small = fit("1NNN 2NTN", prior_var=1e-4)
    assert 0.9e-4 < small.details["beta_var"] < 1e-4
    s = TrialState.from_counts([0, 0, 30000, 0, 0], [0, 0, 7500, 0, 0])
    big = CRM(SKEL, TARGET).select_mtd(s)
    z, m1, m2, _ = reference(s.n_at_dose, s.tox_at_dose, math.sqrt(1.34))
    assert big.details["beta_var"] == pytest.approx(m2 / z - (m1 / z) ** 2, rel=1e-5)
    assert 5.0e-5 < big.details["beta_var"] < 5.4e-5
