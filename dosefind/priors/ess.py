r"""Effective sample size (ESS) of a prior for a probability, by two named methods.

**ELIR** (expected local-information ratio; Neuenschwander B, Weber S, Schmidli H,
O'Hagan A. Predictively consistent prior effective sample sizes. Biometrics
2020;76:578-587; the default of RBesT's ``ess``):

.. math::  \mathrm{ESS}_{ELIR} = E_\pi\!\left[\frac{i_\pi(\theta)}{i_F(\theta)}\right], \quad
   i_\pi(\theta) = -\frac{d^2}{d\theta^2}\log\pi(\theta),

with :math:`i_F` the Fisher information of one Bernoulli observation, i_F(p) = 1 / (p (1 - p))
on the probability scale used here (as RBesT for Beta mixtures). For a Beta(a, b) prior
with a, b > 1 it equals a + b exactly. ELIR is defined only when every Beta parameter of
the mixture exceeds 1 (otherwise the integral diverges), so mixtures are fitted with
parameters constrained above 1, as RBesT's ``constrain_gt1``. A Beta mixture (a MAP
prior, its robust version) is integrated directly (:func:`ess_elir_beta_mixture`); a
prior known only by draws (each dose of a dose-response fit) is first approximated by a
Beta mixture (EM, 1 to 3 components by BIC; :func:`beta_mixture_fit`). ELIR differs from
the moment ESS most for skewed, heavy-tailed or robust priors.

**Moment** (the ESS of the Beta distribution with the prior's mean m and variance v,
:math:`m (1 - m) / v - 1`; RBesT ``ess(method = "moment")``). Not to be confused with
Morita, Thall and Mueller (2008, Biometrics 64:595-602), whose ESS compares the curvature
of the prior with that of a vague prior at the mode, a third method not computed here.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate
from scipy.special import betaln, expit

__all__ = ["ess_moment", "ess_elir_beta_mixture", "ess_elir_draws", "beta_mixture_fit", "ESS_METHODS"]

#: Method names as printed beside every ESS.
ESS_METHODS = {
    "elir": "ELIR (Neuenschwander et al. 2020)",
    "moment": "moment matching to a Beta (RBesT method='moment')",
}


def ess_moment(mean: float, var: float) -> float:
    """ESS of the Beta with this mean and variance: m (1 - m) / v - 1."""
    if not (0 < mean < 1) or not var > 0:
        raise ValueError(f"moment ESS needs a mean in (0, 1) and a variance > 0, got {mean}, {var}")
    return mean * (1 - mean) / var - 1


def ess_elir_beta_mixture(weights, a, b) -> float:
    """ELIR of sum_k w_k Beta(a_k, b_k) on the probability scale, i_F(p) = 1 / (p (1 - p)),
    as RBesT's ``ess(mix, "elir")``. Every a_k, b_k must be > 1 (otherwise the defining
    integral diverges; RBesT refuses such mixtures for the same reason). For one Beta(a, b)
    the value is a + b."""
    w = np.asarray(weights, dtype=float)
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if not (w.shape == a.shape == b.shape) or w.ndim != 1 or w.size == 0:
        raise ValueError("weights, a and b must be equal-length sequences")
    if abs(w.sum() - 1) > 1e-6 or (w < 0).any():
        raise ValueError(f"mixture weights must be >= 0 and sum to 1, got {w.tolist()}")
    keep = w > 0
    w, a, b = w[keep], a[keep], b[keep]
    if not ((a > 1).all() and (b > 1).all()):
        raise ValueError("ELIR needs every Beta parameter > 1 (the defining integral diverges otherwise); "
                         f"got a = {a.tolist()}, b = {b.tolist()}; fit the mixture with parameters constrained "
                         "above 1 (beta_mixture_fit does)")

    # Integrate over t = logit p (dp = p q dt, q = 1 - p): the integrand pi(p) i_pi(p) (p q)^2
    # is written with u_k = (log f_k)' p q = (a_k - 1) q - (b_k - 1) p, bounded everywhere.
    def integrand(t):
        lp, l1p = -np.logaddexp(0.0, -t), -np.logaddexp(0.0, t)
        p, q = math.exp(lp), math.exp(l1p)
        logf = np.log(w) + (a - 1) * lp + (b - 1) * l1p - betaln(a, b)
        top = logf.max()
        f = np.exp(logf - top)
        u1 = (a - 1) * q - (b - 1) * p
        u2 = u1 * u1 - (a - 1) * q * q - (b - 1) * p * p         # f_k'' (p q)^2 / f_k
        tot = f.sum()
        d1, d2 = (f * u1).sum() / tot, (f * u2).sum() / tot
        return math.exp(top) * tot * (d1 * d1 - d2)

    slow = float(min((a - 1).min(), (b - 1).min(), 1.0))
    span = min(60.0 / slow, 300.0)
    centers = sorted({float(c) for c in np.log(a / b)})
    val = integrate.quad(integrand, -span, span, points=centers, limit=1000, epsabs=1e-10, epsrel=1e-9)[0]
    return float(val)


def ess_elir_draws(draws, *, max_components: int = 3) -> float:
    """ELIR of the prior of a probability known by ``draws``: a Beta mixture fitted to the
    draws (EM with moment-matched M-steps, 1 to ``max_components`` components by BIC),
    parameters constrained above 1 as ELIR requires, then :func:`ess_elir_beta_mixture`."""
    w, a, b = beta_mixture_fit(draws, max_components=max_components, constrain_gt1=True)
    return ess_elir_beta_mixture(w, a, b)


_GT1 = 1.001


def beta_mixture_fit(draws, *, max_components: int = 3, constrain_gt1: bool = True):
    """(weights, a, b) of a Beta mixture approximating ``draws`` in (0, 1). EM whose
    M-step matches each component's weighted mean and variance (as RBesT's ``mixfit``
    starts from); the number of components is chosen by BIC. ``constrain_gt1`` keeps every
    a, b above 1 (as RBesT's ``constrain_gt1 = TRUE``), which ELIR requires."""
    p = np.asarray(draws, dtype=float).ravel()
    if p.size < 20 or not np.all((p > 0) & (p < 1)):
        raise ValueError("a Beta mixture needs at least 20 draws strictly inside (0, 1)")
    n = p.size
    lp, l1p = np.log(p), np.log1p(-p)
    pc, lpc, l1pc = p[:, None], lp[:, None], l1p[:, None]
    best = None
    for k in range(1, max_components + 1):
        r = np.zeros((n, k))
        for j, g in enumerate(np.array_split(np.argsort(p), k)):
            r[g, j] = 1.0
        top = None
        for _ in range(300):
            nk = r.sum(0) + 1e-300
            w = nk / n
            m = (r * pc).sum(0) / nk
            v = np.maximum((r * (pc - m) ** 2).sum(0) / nk, 1e-12)
            tot_ab = np.maximum(m * (1 - m) / v - 1, 1e-3)
            a, b = m * tot_ab, (1 - m) * tot_ab
            if constrain_gt1:      # RBesT's constrain_gt1: keep the mean, lift a or b to 1 + 1e-3
                lift_a = a < _GT1
                a, b = np.where(lift_a, _GT1, a), np.where(lift_a, _GT1 * (1 - m) / m, b)
                lift_b = b < _GT1
                a, b = np.where(lift_b, _GT1 * m / (1 - m), a), np.where(lift_b, _GT1, b)
                a = np.maximum(a, _GT1)
            logp = np.log(w) + (a - 1) * lpc + (b - 1) * l1pc - betaln(a, b)
            # log-sum over components, left to right as np.logaddexp.reduce(axis=1) does
            # (the same numbers), column by column: a reduce over a short axis is slow
            tot = logp[:, 0]
            for j in range(1, k):
                tot = np.logaddexp(tot, logp[:, j])
            ll = float(tot.sum())
            if top is not None and abs(ll - top[0]) < 1e-9 * max(1.0, abs(ll)):
                break
            if top is None or ll > top[0]:
                top = (ll, w.copy(), a.copy(), b.copy())
            r = np.exp(logp - tot[:, None])
        bic = -2 * top[0] + (3 * k - 1) * math.log(n)
        if best is None or bic < best[0]:
            best = (bic,) + top[1:]
    return tuple(best[1]), tuple(best[2]), tuple(best[3])
