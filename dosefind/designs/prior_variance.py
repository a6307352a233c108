"""Least informative prior variance of the Bayesian CRM (Lee & Cheung 2011).

The Bayesian CRM puts a Normal(0, sigma^2) prior on its parameter beta.  Given beta, the
plug-in CRM recommends the dose whose model DLT rate F(dose, beta) is closest to the
target, so the prior on beta induces a prior distribution on the *recommended dose*
(the prior distribution of the MTD).  Adjacent doses k and k+1 exchange the
recommendation at the value b_k of beta where the two model rates straddle the target
symmetrically,

    F(dose_k, b_k) + F(dose_{k+1}, b_k) = 2 * target,

and since F decreases in beta (both working models of :mod:`dosefind.designs.crm`),
dose k is recommended a priori with probability

    pi_k(sigma) = Phi(b_k / sigma) - Phi(b_{k-1} / sigma),   b_0 = -inf, b_K = +inf.

A small sigma piles the prior mass on the prior MTD; a large sigma pushes it to the two
extreme doses (the "unintended informativeness" of a vague prior that Lee & Cheung
describe).  The *least informative* sigma_LI makes pi(sigma) closest to the discrete
uniform distribution 1/K.  Lee & Cheung (2011) jointly calibrate the skeleton half-width
(:func:`~dosefind.designs.skeleton.getprior`) and sigma_LI: for each half-width on a grid
the prior variance is set to sigma_LI^2 of that skeleton, and the half-width with the best
average percentage of correct selection across calibration scenarios is chosen
(``dosefind calibrate``, docs/grid.md).

Closeness to uniform: ``criterion="max"`` (default) minimises max_k |pi_k - 1/K|;
``criterion="variance"`` matches the variance of the prior MTD distribution to that of
the discrete uniform, (K^2 - 1) / 12, as the R package dfped's ``sigmaLI`` does (after
Zhang, Braun & Taylor 2013).  The published text of the 2011 criterion was not available
when this was written (see docs/validation.md, "Issue 15"); both are offered.

Parameters: skeleton strictly increasing in (0, 1) with at least 2 doses; target in (0, 1)
strictly inside the skeleton's range is not required (the boundaries exist for any
target between 0 and 1); model "empiric" or "logistic" (with ``intercept`` above
logit(skeleton[-1])).

References
----------
Lee SM, Cheung YK. Calibration of prior variance in the Bayesian continual reassessment
method. Stat Med 2011;30(17):2081-2089. doi:10.1002/sim.4139

Lee SM, Cheung YK. Model calibration in the continual reassessment method. Clin Trials
2009;6:227-238.

Zhang J, Braun TM, Taylor JMG. Adaptive prior variance calibration in the Bayesian
continual reassessment method. Stat Med 2013;32:2221-2234.

Example
-------
>>> from dosefind.designs.skeleton import getprior
>>> skel = getprior(0.05, 0.25, 3, 5)
>>> pi = prior_mtd_distribution(skel, 0.25, least_informative_variance(skel, 0.25))
>>> max(abs(p - 0.2) for p in pi) < 0.1
True
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq, minimize_scalar
from scipy.special import expit, logit
from scipy.stats import norm

from dosefind import _validate as V

__all__ = ["switch_points", "prior_mtd_distribution", "least_informative_variance", "CRITERIA"]

CRITERIA = ("max", "variance")
#: Search range of sigma (prior standard deviation of beta).
_SIGMA_RANGE = (0.01, 20.0)


def _rates(skeleton, beta, model, intercept):
    s = np.asarray(skeleton, float)
    if model == "empiric":
        return s ** math.exp(beta)
    return expit(intercept + math.exp(beta) * (logit(s) - intercept))


def _check(skeleton, target, model, intercept):
    skeleton = V.probability_vector(skeleton, "skeleton", increasing=True, open_interval=True)
    if len(skeleton) < 2:
        raise ValueError(f"skeleton must have at least 2 doses, got {len(skeleton)}")
    target = V.probability(target, "target")
    if model not in ("empiric", "logistic"):
        raise ValueError(f"model must be 'empiric' or 'logistic', got {model!r}")
    if model == "logistic" and not logit(skeleton[-1]) < intercept:
        raise ValueError(f"intercept must exceed logit(skeleton[-1]) = {logit(skeleton[-1]):.4g} "
                         f"for the logistic model, got {intercept}")
    return tuple(skeleton), target


def switch_points(skeleton, target: float, *, model: str = "empiric", intercept: float = 3.0) -> tuple[float, ...]:
    """The K-1 values b_1 < ... < b_{K-1} of beta where the recommendation moves up one dose."""
    skeleton, target = _check(skeleton, target, model, intercept)
    out = []
    for k in range(len(skeleton) - 1):
        pair = skeleton[k:k + 2]

        def f(b):
            return float(_rates(pair, b, model, intercept).sum() - 2 * target)

        # f decreases in beta from 2 - 2*target > 0 to -2*target < 0 (empiric) or to the
        # logistic limits; widen the bracket until it changes sign.
        lo, hi = -5.0, 5.0
        while f(lo) < 0 and lo > -60:
            lo *= 2
        while f(hi) > 0 and hi < 60:
            hi *= 2
        if f(lo) < 0 or f(hi) > 0:
            raise ValueError(f"no switch point between doses {k + 1} and {k + 2} for target {target} "
                             f"(the model cannot reach the target there)")
        out.append(brentq(f, lo, hi, xtol=1e-12))
    return tuple(out)


def prior_mtd_distribution(skeleton, target: float, prior_var: float, *, model: str = "empiric",
                           intercept: float = 3.0) -> tuple[float, ...]:
    """Prior probability pi_k that the plug-in CRM recommends dose k (before any data)."""
    sd = math.sqrt(V.positive(prior_var, "prior_var"))
    b = np.array(switch_points(skeleton, target, model=model, intercept=intercept))
    cdf = np.concatenate([[0.0], norm.cdf(b / sd), [1.0]])
    return tuple(float(v) for v in np.diff(cdf))


def _distance(sigma, b, criterion):
    cdf = np.concatenate([[0.0], norm.cdf(b / sigma), [1.0]])
    pi = np.diff(cdf)
    K = pi.size
    if criterion == "max":
        return float(np.abs(pi - 1.0 / K).max())
    k = np.arange(1, K + 1)
    mean = (k * pi).sum()
    return float(((pi * (k - mean) ** 2).sum() - (K * K - 1) / 12.0) ** 2)


def least_informative_variance(skeleton, target: float, *, model: str = "empiric", intercept: float = 3.0,
                               criterion: str = "max") -> float:
    """sigma_LI^2: the prior variance whose prior MTD distribution is closest to uniform.

    Returns the *variance* (``prior_var`` of :class:`~dosefind.designs.crm.CRM`).
    """
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {', '.join(CRITERIA)}, got {criterion!r}")
    b = np.array(switch_points(skeleton, target, model=model, intercept=intercept))
    # A log-spaced scan finds the basin (the max-distance is not smooth), then a bounded
    # search refines it between the scan's neighbours.
    grid = np.geomspace(*_SIGMA_RANGE, 400)
    d = np.array([_distance(s, b, criterion) for s in grid])
    i = int(d.argmin())
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    res = minimize_scalar(lambda s: _distance(s, b, criterion), bounds=(lo, hi), method="bounded",
                          options={"xatol": 1e-9})
    sigma = float(res.x) if res.fun <= d[i] else float(grid[i])
    return sigma * sigma
