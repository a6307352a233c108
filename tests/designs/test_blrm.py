"""BLRM with EWOC: posterior summaries and decisions against an independent calculation.

The reference is written here from the model alone (Neuenschwander, Branson & Gsponer
2008, Stat Med 27:2420): the unnormalised posterior of (log alpha, log beta) integrated
with scipy's adaptive ``dblquad`` over a box of +/-12 posterior sd around the mode found
by ``scipy.optimize`` (so narrow posteriors are resolved too). Interval probabilities use
the exact region {log alpha + beta x_d >= logit(c)} as the inner integral's limit. The
design's grid quadrature must agree to 2e-5 (means) and 1e-4 (probabilities); the EWOC
decision must equal the one implied by the reference numbers.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize
from scipy.special import expit, logit

from dosefind import TrialState
from dosefind.designs.blrm import BLRM
from dosefind.priors.mixture import BivariateNormalMixture

DOSES = [1, 2, 4, 8, 16]


def _log_prior(prior, t1, t2):
    return float(prior.logpdf(np.array([t1, t2])))


def reference(design: BLRM, state: TrialState, nodes: int = 400):
    """Independent posterior mean and interval probabilities per dose."""
    n = np.asarray(state.n_at_dose, float)
    y = np.asarray(state.tox_at_dose, float)
    x = np.log(np.asarray(design.amounts) / design.reference_dose)

    def logpost(t1, t2):
        t1, t2 = np.broadcast_arrays(np.asarray(t1, float), np.asarray(t2, float))
        eta = t1[..., None] + np.exp(t2)[..., None] * x
        ll = -(y * np.logaddexp(0, -eta) + (n - y) * np.logaddexp(0, eta)).sum(-1)
        return design.prior.logpdf(np.stack([t1, t2], axis=-1)) + ll

    res = optimize.minimize(lambda t: -float(logpost(*t)), x0=np.asarray(design.prior.mean), method="Nelder-Mead",
                            options=dict(xatol=1e-10, fatol=1e-12, maxiter=20000))
    mode = res.x
    eps = 1e-4
    H = np.empty((2, 2))
    for i in range(2):
        for j in range(2):
            e_i, e_j = np.eye(2)[i] * eps, np.eye(2)[j] * eps
            H[i, j] = -float(logpost(*(mode + e_i + e_j)) - logpost(*(mode + e_i - e_j)) - logpost(*(mode - e_i + e_j))
                             + logpost(*(mode - e_i - e_j))) / (4 * eps * eps)
    sd = np.sqrt(np.diag(np.linalg.inv(H)))
    # Wide enough for the prior's spread too (mixtures are not Gaussian).
    span = np.maximum(12 * sd, 0 if n.sum() > 50 else 6 * np.sqrt(np.diag(design.prior.cov)))
    lo1, hi1 = mode[0] - span[0], mode[0] + span[0]
    lo2, hi2 = mode[1] - span[1], mode[1] + span[1]
    top = float(logpost(*mode))
    g, gw = np.polynomial.legendre.leggauss(nodes)

    def rule(a, b):                      # Gauss-Legendre nodes and weights on [a, b] (arrays ok)
        a, b = np.asarray(a)[..., None], np.asarray(b)[..., None]
        return (a + b) / 2 + (b - a) / 2 * g, (b - a) / 2 * gw

    t2, w2 = rule(lo2, hi2)

    def inner(a, b, fn=None):            # integral over log alpha in [a(t2), b(t2)], then over t2
        t1, w1 = rule(np.broadcast_to(a, t2.shape), np.broadcast_to(b, t2.shape))
        f = np.exp(logpost(t1, t2[:, None]) - top)
        if fn is not None:
            f = f * fn(t1, t2[:, None])
        return float(((f * w1).sum(1) * w2).sum())

    Z = inner(lo1, hi1)
    out = dict(mean=[], under=[], target=[], over=[])
    a, b = design.intervals
    for d in range(len(x)):
        out["mean"].append(inner(lo1, hi1, lambda t1, s2: expit(t1 + np.exp(s2) * x[d])) / Z)
        pa, pb = (inner(lo1, np.clip(logit(c) - np.exp(t2) * x[d], lo1, hi1)) / Z for c in (a, b))
        out["under"].append(pa)
        out["target"].append(pb - pa)
        out["over"].append(1 - pb)
    return {k: np.array(v) for k, v in out.items()}


def test_reference_agrees_with_dblquad_on_one_case():
    """The test's own reference, checked once against scipy's adaptive dblquad."""
    design = BLRM(DOSES, cohort_size=3)
    state = TrialState.from_outcomes("1NNN 2NNN 3NTN", 5)
    ref = reference(design, state)
    x = math.log(DOSES[2] / design.reference_dose)

    def f(t1, t2):
        eta = t1 + math.exp(t2) * np.log(np.asarray(DOSES) / design.reference_dose)
        ll = -(np.asarray(state.tox_at_dose) * np.logaddexp(0, -eta)
               + (np.asarray(state.n_at_dose) - np.asarray(state.tox_at_dose)) * np.logaddexp(0, eta)).sum()
        return math.exp(float(design.prior.logpdf(np.array([t1, t2]))) + ll)

    opts = dict(epsabs=1e-12, epsrel=1e-9)
    Z = integrate.dblquad(f, -5, 5, -12, 12, **opts)[0]
    over = integrate.dblquad(f, -5, 5, lambda t2: min(12.0, logit(0.33) - math.exp(t2) * x), 12, **opts)[0] / Z
    assert over == pytest.approx(ref["over"][2], abs=1e-6)


MIXTURE = BivariateNormalMixture.from_sd([0.6, 0.2, 0.2], [(-1.5, 0.3), (-0.5, 0.0), (-1.0, 0.0)],
                                         [(0.6, 0.5), (0.8, 0.4), (2.0, 1.0)], [-0.3, 0.2, 0.0])

CASES = [
    ("default prior, no data", dict(), ""),
    ("default prior, 3 cohorts", dict(), "1NNN 2NNN 3NTN"),
    ("default prior, DLTs at the top", dict(), "1NNN 2NNN 3NNN 4NNT 5TTN"),
    ("mixture prior with a robust part", dict(prior=MIXTURE, reference_dose=4), "1NNN 2NNN 3TNN 3NNN"),
    ("correlated prior, reference below the doses", dict(prior=BivariateNormalMixture.normal((-2, 0.5), (0.7, 0.4), 0.6),
                                                        reference_dose=0.5), "1NNN 2NTN"),
]


@pytest.mark.parametrize("label, kwargs, outcomes", CASES, ids=[c[0] for c in CASES])
def test_posterior_matches_independent_quadrature(label, kwargs, outcomes):
    design = BLRM(DOSES, cohort_size=3, **kwargs)
    state = TrialState.from_outcomes(outcomes, 5) if outcomes else TrialState.empty(5)
    ref = reference(design, state)
    post = design.posterior(state)
    np.testing.assert_allclose(post.mean, ref["mean"], atol=2e-5)
    np.testing.assert_allclose(post.prob_underdose, ref["under"], atol=1e-4)
    np.testing.assert_allclose(post.prob_target, ref["target"], atol=1e-4)
    np.testing.assert_allclose(post.prob_overdose, ref["over"], atol=1e-4)
    np.testing.assert_allclose(design.prob_tox_exceeds(state, design.intervals[1]), ref["over"], atol=1e-4)
    assert design.tox_estimates(state) == post.mean
    if outcomes:
        # EWOC decision implied by the reference numbers (within the doubling cap).
        cap = max(i for i, a in enumerate(DOSES) if a <= 2 * DOSES[state.max_tried_index])
        ok = [i for i in range(cap + 1) if ref["over"][i] <= design.ewoc]
        expected = max(ok, key=lambda i: (ref["target"][i], -i))
        assert design.decide(state).dose_index == expected


@pytest.mark.parametrize("n_per_dose", [300, 3000])
def test_narrow_posterior_after_many_patients(n_per_dose):
    """Thousands of patients: the posterior sd is far below any fixed grid's spacing."""
    design = BLRM(DOSES, cohort_size=3)
    n = [n_per_dose] * 5
    y = [round(n_per_dose * p) for p in (0.05, 0.1, 0.2, 0.3, 0.5)]
    state = TrialState.from_counts(n, y)
    ref = reference(design, state)
    post = design.posterior(state)
    assert max(post.sd) < (0.03 if n_per_dose == 300 else 0.01)
    np.testing.assert_allclose(post.mean, ref["mean"], atol=2e-5)
    np.testing.assert_allclose(post.prob_overdose, ref["over"], atol=1e-4)
    np.testing.assert_allclose(post.prob_target, ref["target"], atol=1e-4)


def test_no_data_posterior_is_the_prior_by_monte_carlo():
    """Second, cruder check: prior-only interval probabilities by 400,000 prior draws."""
    design = BLRM(DOSES, prior=MIXTURE, reference_dose=4)
    th = MIXTURE.sample(400_000, np.random.default_rng(5))
    p = expit(th[:, :1] + np.exp(th[:, 1:]) * np.log(np.asarray(DOSES) / 4))
    post = design.posterior(TrialState.empty(5))
    se = 0.5 / math.sqrt(len(th))
    np.testing.assert_allclose(post.prob_overdose, (p >= 0.33).mean(0), atol=5 * se)
    np.testing.assert_allclose(post.mean, p.mean(0), atol=5 * se)


# ---------------------------------------------------------------- rules
def test_doubling_cap_and_level_cap():
    d = BLRM([1, 1.5, 2, 3, 4], cohort_size=3)
    s = TrialState.from_outcomes("1NNN", 5)
    assert d._step_cap(s) == 2                     # 2 = doubling of 1
    d2 = BLRM([1, 1.5, 2, 3, 4], cohort_size=3, max_step_levels=1)
    assert d2._step_cap(s) == 1
    assert BLRM([1, 1.5, 2, 3, 4], max_increase=None)._step_cap(s) == 4


def test_stops_when_no_dose_satisfies_ewoc():
    d = BLRM(DOSES, cohort_size=3)
    s = TrialState.from_outcomes("1TTT 1TTN", 5)
    dec = d.decide(s)
    assert dec.stop and "no dose satisfies EWOC" in dec.reason
    assert d.posterior(s).prob_overdose[0] > 0.25
    assert d.select_mtd(s).mtd is None


def test_min_at_mtd_stops_and_declares_that_dose():
    d = BLRM(DOSES, cohort_size=3, min_at_mtd=6)
    s = TrialState.from_outcomes("1NNN 2NNN 3NTN 4TNT 3NNN", 5)
    dec = d.decide(s)
    assert dec.stop and "min_at_mtd" in dec.reason
    assert d.select_mtd(s).mtd == 3


def test_ewoc_threshold_is_used():
    s = TrialState.from_outcomes("1NNN 2NNN 3NTN", 5)
    strict, loose = BLRM(DOSES, ewoc=0.05), BLRM(DOSES, ewoc=0.5)
    assert strict.decide(s).dose_index < loose.decide(s).dose_index


def test_intervals_change_the_probabilities():
    s = TrialState.from_outcomes("1NNN 2NTN", 5)
    a = BLRM(DOSES).posterior(s)
    b = BLRM(DOSES, intervals=(0.2, 0.35)).posterior(s)
    assert all(x > y for x, y in zip(b.prob_underdose, a.prob_underdose))
    assert all(x < y for x, y in zip(b.prob_overdose, a.prob_overdose))


# ---------------------------------------------------------------- contract
def test_contract_and_rebuild():
    d = BLRM(DOSES, prior=MIXTURE, reference_dose=4, cohort_size=3, max_n=24)
    rng = np.random.default_rng(2)
    clone = type(d)(**d.params())
    for truth in ([0.05, 0.1, 0.2, 0.3, 0.5], [0.4, 0.5, 0.6, 0.7, 0.8]):
        for _ in range(5):
            s = TrialState.empty(5)
            assert d.decide(s).next_dose == 1
            while True:
                dec = d.decide(s)
                assert dec == d.decide(s) == clone.decide(s) and dec.reason
                if dec.stop:
                    break
                s = s.add_cohort(dec.dose_index, rng.random(3) < truth[dec.dose_index])
            assert s.total_n <= 24
            assert d.select_mtd(s) == clone.select_mtd(s)
            # memory = "counts": a shuffled history with the same key decides the same.
            if len(s.cohorts) > 2:
                earlier = list(s.cohorts[:-1])[::-1]
                t = TrialState.empty(5)
                for c in earlier + [s.cohorts[-1]]:
                    t = t.add_cohort(c.dose_index, c.outcomes[::-1])
                assert t.key() == s.key() and d.decide(t) == d.decide(s)
    assert len(d.describe()) > 80 and "overdose" in d.describe()
    with pytest.raises(ValueError, match="the trial state has 3 doses but the design has 5"):
        d.decide(TrialState.empty(3))


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, message", [
    (dict(prior=dict(weights=[0.5, 0.4], means=[[0, 0], [1, 0]], sds=[[1, 1], [1, 1]], rhos=[0, 0])),
     "mixture weights must sum to 1, got 0.9"),
    (dict(prior=dict(weights=[1], means=[[0, 0]], sds=[[1, 1]], rhos=[1.0])), r"rho must be in \(-1, 1\)"),
    (dict(prior=dict(weights=[1], means=[[0, 0]], sds=[[1, 0]], rhos=[0.0])), "standard deviations must be > 0"),
    (dict(intervals=(0.16, 1.2)), "overdose interval"),
    (dict(intervals=(0.33, 0.16)), "0 < target lower bound < overdose lower bound < 1"),
    (dict(ewoc=1.5), "ewoc"),
    (dict(reference_dose=-1), "reference_dose"),
    (dict(max_step_levels=0), "max_step_levels"),
])
def test_bad_input_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BLRM(DOSES, **kwargs)


def test_non_positive_definite_covariance_refused():
    with pytest.raises(ValueError, match="component 1: covariance is not positive definite"):
        BivariateNormalMixture((1.0,), ((0.0, 0.0),), (((1.0, 2.0), (2.0, 1.0)),))


def test_doses_that_can_never_be_reached_refused():
    with pytest.raises(ValueError, match="could never escalate past dose 1"):
        BLRM([1, 2.5, 5])
    BLRM([1, 2.5, 5], max_increase=None, max_step_levels=1)  # allowed


def test_exact_engine_agrees_with_monte_carlo():
    """memory = "counts": the exact engine serves the BLRM; Monte Carlo agrees within 4 SE."""
    from dosefind.simulations import simulate

    d = BLRM(DOSES, cohort_size=3, max_n=9)
    truth = [0.05, 0.15, 0.3, 0.45, 0.6]
    ex = simulate(d, truth, method="exact", target=0.25).to_dict()
    mc = simulate(d, truth, method="mc", n_trials=4000, seed=3, target=0.25).to_dict()
    for a, b, se in zip(ex["selection_pct"], mc["selection_pct"], mc["se"]["selection_pct"]):
        assert abs(a - b) <= 4 * se + 1e-9
