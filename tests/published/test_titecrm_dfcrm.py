"""TITE-CRM against the R package dfcrm 0.2-2.1 (Cheung; R/dfcrm.R ``titecrm``, man/titecrm.Rd).

R is not installed, so the reference values are an independent calculation: dfcrm's own
integrands (``crmh``, ``crmht``, ``crmht2`` and their logistic versions, written out below
from R/dfcrm.R) integrated with scipy's adaptive ``quad`` over the ranges dfcrm uses
(normaliser over (-Inf, Inf), numerators over [-10, 10]).  No number comes from dosefind.

Data: the example of the ``titecrm`` help page (man/titecrm.Rd): prior (0.05, 0.10,
0.20, 0.35, 0.50, 0.70), target 0.2, 10 patients, follow-up u, window tau = 180 days.
The same page's ``entry``/``exit`` variant gives u = exit - entry, the same data.
"""

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import minimize_scalar

from dosefind.designs.tite_crm import TITECRM, tite_weights
from dosefind.state import Patient, TrialState

PRIOR = [0.05, 0.10, 0.20, 0.35, 0.50, 0.70]
TARGET = 0.2
LEVEL = [3, 3, 3, 4, 4, 3, 2, 2, 2, 3]
Y = [0, 0, 1, 0, 1, 0, 0, 0, 0, 0]
U = [178, 181, 168, 181, 24, 181, 179, 102, 42, 3]
TAU = 180
ENTRY = [7, 29, 49, 76, 92, 133, 241, 303, 363, 402]
EXIT = [185, 210, 217, 257, 116, 314, 420, 405, 405, 405]


# ---------------------------------------------------------------- reference (dfcrm's formulas)
def ref_weights_linear(u, y, tau):
    w = np.minimum(np.asarray(u, float) / tau, 1.0)
    w[np.asarray(y) == 1] = 1.0
    return w


def ref_prob(a, x, model, intcpt):
    with np.errstate(over="ignore"):                          # as R: exp(large) = Inf, x^Inf = 0
        e = np.exp(a)
        if model == "empiric":
            return float(x ** e)                              # crmh: x[i]^exp(a)
        return float(1.0 / (1.0 + np.exp(-intcpt - e * x)))   # crmhlgt: PSI


def ref_posterior(a, x, y, w, s, model="empiric", intcpt=3.0):
    v = math.exp(-a * a / 2 / s / s)
    for xi, yi, wi in zip(x, y, w):
        p = ref_prob(a, xi, model, intcpt)
        v *= p ** yi * (1 - wi * p) ** (1 - yi)
    return v


def ref_titecrm(w, level=LEVEL, y=Y, prior=PRIOR, model="empiric", intcpt=3.0, scale=math.sqrt(1.34)):
    """dfcrm titecrm(method = "bayes"): estimate, post.var and ptox."""
    prior = np.asarray(prior)
    xs = prior if model == "empiric" else np.log(prior / (1 - prior)) - intcpt
    x = [xs[d - 1] for d in level]
    args = (x, y, w, scale, model, intcpt)
    den = quad(ref_posterior, -np.inf, np.inf, args=args, epsabs=0, epsrel=1e-12, limit=200)[0]
    est = quad(lambda a: a * ref_posterior(a, *args), -10, 10, epsabs=0, epsrel=1e-12, limit=200)[0] / den
    e2 = quad(lambda a: a * a * ref_posterior(a, *args), -10, 10, epsabs=0, epsrel=1e-12, limit=200)[0] / den
    ptox = np.array([ref_prob(est, xi, model, intcpt) for xi in xs])
    return est, e2 - est ** 2, ptox


def ref_mtd(ptox, target=TARGET):
    if np.all(ptox <= target):
        return len(ptox)
    if np.all(ptox >= target):
        return 1
    return int(np.argmin(np.abs(ptox - target))) + 1


def help_page_state():
    # DLT patients' follow-up is the day of their DLT; everyone else is still pending
    # unless followed for the whole window.
    patients = [Patient(d - 1, y, complete=bool(y) or u >= TAU, followup=float(u)) for d, y, u in zip(LEVEL, Y, U)]
    return TrialState.from_patients(patients, num_doses=6)


# ---------------------------------------------------------------- weights
def test_linear_weights_help_page():
    assert np.allclose(tite_weights(U, Y, TAU), ref_weights_linear(U, Y, TAU))
    # entry/exit form of the same page: follow-up = exit - entry
    assert np.allclose(np.subtract(EXIT, ENTRY), U)


def test_adaptive_weights_help_page_by_hand():
    # Cheung & Chappell (2000) adaptive weights, worked by hand: DLT times t = (24, 168), z = 2.
    #   u >= 168: (2 + (u - 168) / (180 - 168)) / 3;  24 <= u < 168: (1 + (u - 24) / 144) / 3;
    #   u < 24: u / 24 / 3; capped at 1; DLT patients 1.
    expected = [(2 + 10 / 12) / 3, 1.0, 1.0, 1.0, 1.0, 1.0, (2 + 11 / 12) / 3, (1 + 78 / 144) / 3,
                (1 + 18 / 144) / 3, 3 / 24 / 3]
    assert np.allclose(tite_weights(U, Y, TAU, "adaptive"), expected, atol=1e-12)


def test_adaptive_weights_without_dlt_are_linear():
    u, y = [10, 20, 40], [0, 0, 0]
    assert np.allclose(tite_weights(u, y, 40, "adaptive"), tite_weights(u, y, 40, "linear"))


# ---------------------------------------------------------------- posterior quantities
@pytest.mark.parametrize("scheme", ["linear", "adaptive"])
def test_help_page_posterior_matches_dfcrm_integrals(scheme):
    design = TITECRM(PRIOR, TARGET, dlt_window=TAU, scheme=scheme)
    state = help_page_state()
    sel = design.select_mtd(state)
    w = tite_weights(U, Y, TAU, scheme)
    est, var, ptox = ref_titecrm(list(w))
    assert sel.details["beta_mean"] == pytest.approx(est, abs=1e-6)
    assert sel.details["beta_var"] == pytest.approx(var, abs=1e-6)
    assert np.allclose(sel.estimates, ptox, atol=1e-6)
    assert sel.mtd == ref_mtd(ptox)
    assert np.allclose(design.tox_estimates(state), ptox, atol=1e-6)


@pytest.mark.parametrize("model,intcpt,prior_var", [("empiric", 3.0, 1.34), ("logistic", 3.0, 1.34),
                                                    ("logistic", 1.5, 1.34), ("empiric", 3.0, 9.0),
                                                    ("empiric", 3.0, 0.25)])
def test_pending_weights_logistic_and_empiric(model, intcpt, prior_var):
    # Help-page data with the weights passed explicitly (titecrm's `weights` argument).
    w = [1.0, 0.5, 1.0, 0.25, 1.0, 0.9, 0.1, 0.0, 0.6, 0.02]
    patients = [Patient(d - 1, y, complete=bool(y) or wi == 1, followup=wi * TAU) for d, y, wi in zip(LEVEL, Y, w)]
    state = TrialState.from_patients(patients, num_doses=6)
    design = TITECRM(PRIOR, TARGET, dlt_window=TAU, model=model, intercept=intcpt, prior_var=prior_var)
    sel = design.select_mtd(state)
    est, var, ptox = ref_titecrm(w, model=model, intcpt=intcpt, scale=prior_var ** 0.5)
    assert sel.details["beta_mean"] == pytest.approx(est, abs=1e-6)
    assert sel.details["beta_var"] == pytest.approx(var, abs=1e-6)
    assert np.allclose(sel.estimates, ptox, atol=1e-6)


def test_prob_tox_exceeds_is_the_posterior_probability():
    design = TITECRM(PRIOR, TARGET, dlt_window=TAU)
    state = help_page_state()
    w = ref_weights_linear(U, Y, TAU)
    x = [PRIOR[d - 1] for d in LEVEL]
    s = math.sqrt(1.34)
    den = quad(ref_posterior, -np.inf, np.inf, args=(x, Y, w, s), epsabs=0, epsrel=1e-12)[0]
    got = design.prob_tox_exceeds(state, 0.3)
    for i, p in enumerate(PRIOR):
        b_star = math.log(math.log(0.3) / math.log(p))       # p^exp(b) > 0.3  <=>  b < b*
        ref = quad(ref_posterior, -np.inf, b_star, args=(x, Y, w, s), epsabs=0, epsrel=1e-12)[0] / den
        assert got[i] == pytest.approx(ref, abs=1e-6)


def test_mle_matches_dfcrm_optimize_and_variance():
    # titecrm(method = "mle"): optimize(lcrm, c(-10, 10)); var: both integrals on [-10, 10], scale 500.
    design = TITECRM(PRIOR, TARGET, dlt_window=TAU, method="mle")
    state = help_page_state()
    w = ref_weights_linear(U, Y, TAU)
    x = [PRIOR[d - 1] for d in LEVEL]

    def negll(a):
        return -sum(yi * math.log(xi) * math.exp(a) + (1 - yi) * math.log(1 - wi * xi ** math.exp(a))
                    for xi, yi, wi in zip(x, Y, w))

    mle = minimize_scalar(negll, bounds=(-10, 10), method="bounded", options={"xatol": 1e-10}).x
    num = quad(lambda a: a * a * ref_posterior(a, x, Y, w, 500.0), -10, 10, epsabs=0, epsrel=1e-12)[0]
    den = quad(ref_posterior, -10, 10, args=(x, Y, w, 500.0), epsabs=0, epsrel=1e-12)[0]
    sel = design.select_mtd(state)
    assert sel.details["beta_mean"] == pytest.approx(mle, abs=1e-6)
    assert sel.details["beta_var"] == pytest.approx(num / den - mle ** 2, rel=1e-5)


def test_mle_without_dlt_uses_titesims_dispersed_bayes_with_truncated_numerator():
    # titesim: when all observed outcomes are DLT-free (or all DLTs) the MLE does not exist and
    # titecrm(..., scale = 500) is used: numerator on [-10, 10], normaliser on (-Inf, Inf).
    level, y, w = [1, 1, 2, 2], [0, 0, 0, 0], [1.0, 1.0, 0.5, 0.2]
    patients = [Patient(d - 1, 0, complete=wi == 1, followup=wi * 28) for d, wi in zip(level, w)]
    state = TrialState.from_patients(patients, num_doses=6)
    sel = TITECRM(PRIOR, TARGET, dlt_window=28, method="mle").select_mtd(state)
    est, _, _ = ref_titecrm(w, level=level, y=y, scale=500.0)
    assert sel.details["mle_approximated"]
    assert sel.details["beta_mean"] == pytest.approx(est, abs=1e-5)
    # Over the whole line the same posterior mean would be hundreds; the truncation matters.
    assert abs(est) < 1


def test_weight_one_pending_equals_complete_and_weight_zero_equals_absent():
    design = TITECRM(PRIOR, TARGET, dlt_window=28)
    base = [Patient(0, 0), Patient(0, 0), Patient(1, 1, followup=5.0)]
    full = TrialState.from_patients(base + [Patient(2, 0)], num_doses=6)
    pend_1 = TrialState.from_patients(base + [Patient(2, 0, complete=False, followup=28.0)], num_doses=6)
    pend_0 = TrialState.from_patients(base + [Patient(2, 0, complete=False, followup=0.0)], num_doses=6)
    absent = TrialState.from_patients(base, num_doses=6)
    assert np.allclose(design.tox_estimates(pend_1), design.tox_estimates(full), atol=1e-12)
    assert np.allclose(design.tox_estimates(pend_0), design.tox_estimates(absent), atol=1e-12)
