"""Continual reassessment method (CRM), as in the R package dfcrm.

The CRM (O'Quigley, Pepe & Fisher 1990) assumes a one-parameter working model for the
DLT probability at each dose, updates the parameter after every cohort, and treats the
next cohort at the dose whose estimated DLT rate is closest to the target.  This module
reproduces dfcrm's ``crm`` (estimation and recommendation) and the restrictions applied by
its simulator ``crmsim`` (Cheung 2011).

Model
-----
With skeleton s_1 < ... < s_D (prior guesses of the DLT rates, e.g. from
:func:`~dosefind.designs.skeleton.getprior`) and beta ~ Normal(0, prior_var):

* ``model="empiric"`` (power):   p_i(beta) = s_i ** exp(beta)
* ``model="logistic"``:          p_i(beta) = 1 / (1 + exp(-(a + exp(beta) * x_i))),
  with fixed intercept a and scaled doses x_i = logit(s_i) - a (so p_i(0) = s_i; every
  x_i must be negative, i.e. a > logit(s_D)).

With y_i DLTs in n_i patients at dose i the likelihood is
prod_i p_i^y_i (1 - p_i)^(n_i - y_i).

* ``method="bayes"``: beta is estimated by its posterior mean E[beta | data] and its
  variance Var[beta | data].
* ``method="mle"``: beta is the maximum-likelihood estimate on [-10, 10] (dfcrm's search
  interval).  The MLE exists only when some but not all patients had a DLT; otherwise
  (dfcrm's ``crm`` stops with "mle does not exist", ``crmsim`` falls back to
  ``crm(scale=500)``) the estimate is the posterior mean under a dispersed
  Normal(0, 500^2) prior ("mle is approximated", ``details["mle_approximated"]``).  The
  variance reported with the MLE is E[beta^2] - mle^2 under that dispersed prior.

Integrals (``integration``)
---------------------------
dfcrm's ``crm`` integrates the denominator over the whole line but the numerators of
E[beta] and E[beta^2] over (-10, 10) only, and for the MLE's variance E[beta^2] over
(-100, 100) divided by the mass on (-10, 10).

* ``integration="exact"`` (default): every integral over the whole line.  Equal to dfcrm
  to better than 1e-6 with the default prior variance; the difference exceeds 1e-4 from a
  prior variance of about 6.  With ``method="mle"`` and all or no DLTs the estimate is the
  proper dispersed-prior posterior mean (near -400 after ``1T``: dose 1; +400 after
  ``1N``: the top dose).
* ``integration="dfcrm"``: dfcrm's ranges.  The MLE fallback then gives what ``crmsim``
  gives: beta near 0 (after ``1T`` or ``1N`` with skeleton 0.05, 0.12, 0.25, 0.40, 0.55 and
  target 0.25, dose 3).

Posterior probabilities Pr(p_i > t | data) have no dfcrm counterpart and always use the
whole posterior under the design's prior (also with ``method="mle"``).

Quadrature.  The integrals are trapezoid sums on a grid of step 0.04 over at least +/-12
prior standard deviations, with the tails beyond in closed form (the likelihood is at its
limit there); this is exponentially accurate while the posterior sd is well above the
step.  When the posterior sd is below 0.1 (a narrow prior, or hundreds of patients) the
integrals are recomputed on a grid fitted to that posterior: mode by safeguarded Newton
steps, scale from the curvature, nodes at most half a scale apart over the region where
the log-density is within 60 of its maximum.  Tests compare both with adaptive quadrature
(``scipy.integrate.quad``) for prior variances 1e-4 to 25 and up to 30,000 patients.

Estimates and recommendation
----------------------------
``estimate="plugin"`` (dfcrm's ``ptox``) evaluates the model at the estimate of beta;
``estimate="posterior_mean"`` uses E[p_i | data] instead (Bayes only).  The per-dose
limits are dfcrm's ``ptoxL``/``ptoxU``: the model at beta_hat +/- z * sd(beta) with
z = Phi^-1(0.5 + conf_level / 2).  The recommended dose is the one whose estimate is
closest to the target; as in dfcrm, if every estimate is <= target the top dose is
recommended, if every estimate is >= target dose 1, and exact ties go to the lower dose.

Restrictions (dfcrm ``crmsim(restrict=TRUE)``)
----------------------------------------------
* no skipping: the next dose is at most one level above the dose the last cohort
  received (so an untried dose is never skipped);
* no escalation after toxicity: if the last cohort's DLT count divided by ``cohort_size``
  is >= target (with cohorts of one: any DLT), the next dose is at most the current dose.

``skip_escalation`` and ``escalate_after_dlt`` switch each rule on its own (None follows
``restrict``).  The rule (fit, recommendation, restrictions, stop) is written once,
vectorised over states (:meth:`CRM._rule`): :meth:`CRM.decide` runs it on one state and
:meth:`CRM.decide_batch` on many.  dfcrm has no stopping rule; ``stop_tox_cutoff`` optionally stops the trial
(no MTD) when Pr(p_1 > target | data) > stop_tox_cutoff, with the exact posterior.

The default ``cohort_size=1`` is dfcrm's ``crmsim(mcohort=1)``.  The decision depends
only on the per-dose counts, the current dose and the last cohort's DLT count
(``memory = "counts"``).

Parameters
----------
skeleton : sequence of float
    Strictly increasing prior DLT rates in (0, 1), one per dose.
target : float
    Target DLT rate in (0, 1).
prior_var : float
    Variance of the normal prior on beta (> 0; dfcrm default 1.34).
integration : {"exact", "dfcrm"}
    Integration ranges (see above); default "exact".
intercept : float
    Logistic-model intercept a (dfcrm ``intcpt``, default 3).
conf_level : float
    Level of the per-dose limits, in (0, 1) (default 0.90 as dfcrm).
stop_tox_cutoff : float or None
    Posterior-probability cutoff in (0, 1) for stopping for toxicity at dose 1.

References
----------
O'Quigley J, Pepe M, Fisher L. Continual reassessment method: a practical design for
phase 1 clinical trials in cancer. Biometrics 1990;46:33-48.

Cheung YK. Dose Finding by the Continual Reassessment Method. CRC Press 2011.

Lee SM, Cheung YK. Model calibration in the continual reassessment method. Clin Trials
2009;6:227-238.

Example
-------
>>> from dosefind import TrialState
>>> crm = CRM([0.05, 0.10, 0.25, 0.40, 0.60], target=0.25)
>>> crm.decide(TrialState.from_outcomes("1N 2N 3T", num_doses=5)).next_dose
2
>>> crm.select_mtd(TrialState.from_outcomes("1NNN 2NTN", num_doses=5)).mtd
2
"""

from __future__ import annotations

import math

import numpy as np

from dosefind import _validate as V
from dosefind._normal import ndtr, ndtri
from dosefind.designs.base import Design
from dosefind.state import Decision, DoseLevels, MTDSelection, TrialState, to_level
from dosefind.state import ReasonCode as R

__all__ = ["CRM", "REASONS", "SKELETON_DECIMALS", "skeleton_text", "prior_text"]

#: Decimals of a skeleton wherever it is shown: the design's text and the report's table.
SKELETON_DECIMALS = 3


def skeleton_text(skeleton) -> str:
    """``0.050, 0.120, 0.250``: a skeleton at :data:`SKELETON_DECIMALS` decimals."""
    return ", ".join(f"{float(p):.{SKELETON_DECIMALS}f}" for p in skeleton)


def prior_text(prior_var: float) -> str:
    """The prior of beta in words: ``prior_var`` is its variance (the quadrature uses SD
    ``sqrt(prior_var)``, as dfcrm's ``scale = sqrt(1.34)``), so both are stated."""
    return (f"Normal(0, {prior_var:g}) prior (mean 0, variance {prior_var:g}, standard deviation "
            f"{math.sqrt(prior_var):.3g})")

#: Reason codes returned by :meth:`CRM.decide_batch`.
REASONS = {
    0: "model recommendation",
    1: "capped one level above the current dose (no skipping)",
    2: "capped at the current dose (no escalation after a DLT)",
    3: "stop: lowest dose too toxic",
    4: "stop: maximum sample size reached",
    5: "start dose",
}

_STEP = 0.04            # prior-grid step for beta (see _Quadrature)
_CHUNK = 2048           # trials per block in decide_batch (keeps the (T, G) arrays in cache)
_MLE_BOUND = 10.0       # dfcrm's optimize() interval for the MLE
_DISPERSED_SD = 500.0   # dfcrm's prior sd for the "approximated" MLE and its variance
_DFCRM_RANGE = 10.0     # dfcrm integrates the numerators of E[beta], E[beta^2] over (-10, 10)
_DFCRM_VAR_RANGE = 100.0  # ... and, for the MLE's variance, E[beta^2] over (-100, 100)
_NARROW_SD = 0.1        # posterior sd below which the prior grid (step 0.04) is replaced by a posterior grid;
                        # above it the trapezoid error, about exp(-2 pi^2 sd^2 / 0.04^2), is below 1e-50
_FINE_NODES = 256       # cells of the posterior grid (step <= sd / 2 over the posterior's support)
_MAX_FINE_NODES = 8192
_DROP = 60.0            # the posterior grid spans log-density within _DROP of the mode


def _normal_moments(lo, hi, sd):
    """[mass, first, second] moments of N(0, sd^2) over [lo, hi] (arrays or scalars)."""

    def pdf(z):
        with np.errstate(invalid="ignore"):
            return np.where(np.isfinite(z), np.exp(-0.5 * np.square(np.where(np.isfinite(z), z, 0))), 0.0) \
                / math.sqrt(2 * math.pi)

    zl, zh = np.asarray(lo, float) / sd, np.asarray(hi, float) / sd
    mass = ndtr(zh) - ndtr(zl)
    first = sd * (pdf(zl) - pdf(zh))
    with np.errstate(invalid="ignore"):
        zlp = np.where(np.isfinite(zl), zl * pdf(zl), 0.0)
        zhp = np.where(np.isfinite(zh), zh * pdf(zh), 0.0)
    second = sd * sd * (mass + zlp - zhp)
    return np.array([mass, first, second])


class _Quadrature:
    """Trapezoid rule on a fixed grid for integrals of prior(beta) * likelihood(beta).

    Nodes cover [-A, A] (A = min(40, max(12, 12 sd))) with step 0.04; beyond them the
    likelihood equals its limit at +/-infinity (to double precision when A = 40, and the
    prior mass is negligible when A >= 12 sd), so the tails are added in closed form as
    truncated Gaussian moments.  The rule is exponentially accurate while the posterior
    sd is well above the step; narrower posteriors are integrated on a grid fitted to
    the posterior instead (:meth:`CRM._fine`).
    """

    def __init__(self, design: "CRM", sd: float):
        self.sd = sd
        A = min(40.0, max(12.0, 12.0 * sd))
        k = int(math.ceil(A / _STEP))
        idx = np.arange(-k, k + 1)
        self.b = idx * _STEP
        tw = np.full(self.b.size, _STEP)
        tw[[0, -1]] = _STEP / 2
        self.tw = tw
        self.log_w = np.log(tw) - 0.5 * (self.b / sd) ** 2 - math.log(sd * math.sqrt(2 * math.pi))
        self.logp, self.log1mp = design._log_probs(self.b)        # (D, G)
        self.p = np.exp(self.logp)
        self.log_both = np.vstack([self.logp, self.log1mp])      # (2D, G): one matrix product per batch
        # Gaussian moments of the two tails: [mass, first, second] (left, right).
        self.tail_left = _normal_moments(-np.inf, self.b[0], sd)
        self.tail_right = _normal_moments(self.b[-1], np.inf, sd)
        # dfcrm's truncated numerators: trapezoid weights on [-10, 10] (nodes at +/-10 exactly).
        kr = int(round(_DFCRM_RANGE / _STEP))
        inner = np.abs(idx) <= kr
        self.trunc = np.where(inner, 1.0, 0.0)
        self.trunc[np.abs(idx) == kr] = 0.5
        self.edges = (k - kr, k + kr)                              # node positions of -10 and +10
        # E[beta^2] numerator over (-100, 100) for dfcrm's MLE variance: the grid, and the
        # tails out to +/-100 where the likelihood is at its limit.
        self.tail_left_100 = _normal_moments(-_DFCRM_VAR_RANGE, self.b[0], sd)
        self.tail_right_100 = _normal_moments(self.b[-1], _DFCRM_VAR_RANGE, sd)


class CRM(Design):
    """Continual reassessment method (dfcrm's ``crm`` and ``crmsim`` rules); see the module docstring."""

    name = "CRM"
    memory = "counts"

    def __init__(self, skeleton, target: float, *, model: str = "empiric", prior_var: float = 1.34,
                 intercept: float = 3.0, method: str = "bayes", estimate: str = "plugin",
                 integration: str = "exact", cohort_size: int = 1, max_n: int | None = None, start_dose: int = 1,
                 restrict: bool = True, skip_escalation: bool | None = None,
                 escalate_after_dlt: bool | None = None, stop_tox_cutoff: float | None = None,
                 conf_level: float = 0.90, doses: DoseLevels | None = None):
        self.skeleton = V.probability_vector(skeleton, "skeleton", increasing=True, open_interval=True)
        super().__init__(len(self.skeleton), cohort_size=cohort_size, max_n=max_n, start_dose=start_dose,
                         doses=doses)
        self.target = V.probability(target, "target")
        if model not in ("empiric", "logistic"):
            raise ValueError(f"model must be 'empiric' or 'logistic', got {model!r}")
        if method not in ("bayes", "mle"):
            raise ValueError(f"method must be 'bayes' or 'mle', got {method!r}")
        if estimate not in ("plugin", "posterior_mean"):
            raise ValueError(f"estimate must be 'plugin' or 'posterior_mean', got {estimate!r}")
        if estimate == "posterior_mean" and method != "bayes":
            raise ValueError("estimate='posterior_mean' needs method='bayes' (the MLE has no posterior)")
        if integration not in ("exact", "dfcrm"):
            raise ValueError(f"integration must be 'exact' or 'dfcrm', got {integration!r}")
        self.model, self.method, self.estimate, self.integration = model, method, estimate, integration
        self.prior_var = V.positive(prior_var, "prior_var")
        self.intercept = V._num(intercept, "intercept")
        if not math.isfinite(self.intercept):
            raise ValueError(f"intercept must be a finite number, got {intercept}")
        if model == "logistic" and not _logit(self.skeleton[-1]) < self.intercept:
            raise ValueError(
                f"intercept must exceed logit of every skeleton value for the logistic model "
                f"(largest is logit({self.skeleton[-1]:g}) = {_logit(self.skeleton[-1]):.4g}), got {self.intercept:g}"
            )
        self.restrict = V.boolean(restrict, "restrict")
        self.skip_escalation = ((not self.restrict) if skip_escalation is None
                                else V.boolean(skip_escalation, "skip_escalation"))
        self.escalate_after_dlt = ((not self.restrict) if escalate_after_dlt is None
                                   else V.boolean(escalate_after_dlt, "escalate_after_dlt"))
        self.stop_tox_cutoff = None if stop_tox_cutoff is None else V.probability(stop_tox_cutoff, "stop_tox_cutoff")
        self.conf_level = V.probability(conf_level, "conf_level")

        s = np.asarray(self.skeleton)
        self._x = s if model == "empiric" else np.log(s / (1 - s)) - self.intercept
        self._p_left = 1.0 if model == "empiric" else 1.0 / (1.0 + math.exp(-self.intercept))  # p_i at beta -> -inf
        self._quad = _Quadrature(self, math.sqrt(self.prior_var))
        self._quad_dispersed = _Quadrature(self, _DISPERSED_SD) if method == "mle" else None

    # ------------------------------------------------------------------ model
    def _log_probs(self, b):
        """log p_i(beta) and log(1 - p_i(beta)) for an array of beta (shape (D,) + b.shape)."""
        b = np.asarray(b, dtype=float)
        x = self._x.reshape((-1,) + (1,) * b.ndim)
        with np.errstate(over="ignore", divide="ignore"):  # extreme beta gives the limits 0 and 1
            e = np.exp(b)[None, ...]
            if self.model == "empiric":
                logp = e * np.log(x)
                return logp, np.log(-np.expm1(logp))
            eta = self.intercept + e * x
            return -np.logaddexp(0.0, -eta), -np.logaddexp(0.0, eta)

    def _b_star(self, threshold: float) -> np.ndarray:
        """beta at which p_i(beta) = threshold per dose (p_i decreases in beta), so that
        Pr(p_i > threshold) = Pr(beta < b*_i); -inf where p_i never exceeds threshold."""
        s = np.asarray(self.skeleton)
        if self.model == "empiric":
            return np.log(np.log(threshold) / np.log(s))
        ratio = (_logit(threshold) - self.intercept) / self._x
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(ratio > 0, np.log(np.where(ratio > 0, ratio, 1.0)), -np.inf)

    def prob_tox(self, beta) -> np.ndarray:
        """Working-model DLT probabilities at ``beta`` (scalar or array; doses on the last axis)."""
        logp, _ = self._log_probs(np.asarray(beta, dtype=float))
        return np.moveaxis(np.exp(logp), 0, -1)

    def _loglik_slope(self, b, n, y):
        """d/d beta of the log-likelihood at b (shape (T,)) for counts n, y (T, D)."""
        logp, log1mp = self._log_probs(b)                  # (D, T)
        logp, log1mp = logp.T, log1mp.T
        p = np.exp(logp)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            if self.model == "empiric":                    # d log p / db = log p; d log(1-p) / db = -p log p / (1-p)
                terms = logp * (y - (n - y) * np.exp(logp - log1mp))
            else:                                          # d eta / db = eta - a; slope = (eta - a)(y - n p)
                terms = np.exp(b)[:, None] * self._x[None, :] * (y - n * p)
        return np.where(np.isnan(terms), 0.0, terms).sum(1)

    # ------------------------------------------------------------------ posterior integrals
    def _posterior(self, quad: _Quadrature, n, y, need=()):
        """Posterior integrals under the Normal(0, quad.sd^2) prior for count arrays (T, D).

        Returns a dict with ``z`` (normaliser) and ``m1``, ``m2`` (E[beta], E[beta^2]) as the
        design's ``integration`` defines them; with "dfcrm" also the dfcrm ratios; plus
        "posterior_mean" (E[p_i]) and "below" (a callable b* -> Pr(beta < b*)) on request.
        Rows whose posterior is narrow (sd < _NARROW_SD) are recomputed on a grid fitted
        to the posterior (mode and curvature), so the fixed step never under-resolves them.
        """
        ll = np.hstack([y, n - y]) @ quad.log_both                              # (T, G) log-likelihood
        N, Y = n.sum(1), y.sum(1)
        ll_right = np.where(Y == 0, 0.0, -np.inf)                               # p -> 0
        if self.model == "empiric":
            ll_left = np.where(Y == N, 0.0, -np.inf)                            # p -> 1
        else:
            pl = self._p_left
            ll_left = Y * math.log(pl) + (N - Y) * math.log1p(-pl)
        m = np.maximum(ll.max(1), np.maximum(ll_left, ll_right))
        f = np.exp(ll - m[:, None] + quad.log_w)                                # weighted integrand
        cl, cr = np.exp(ll_left - m), np.exp(ll_right - m)
        z = f.sum(1) + cl * quad.tail_left[0] + cr * quad.tail_right[0]
        out = {"z": z}
        tl, tr = quad.tail_left, quad.tail_right
        m1_full = (f @ quad.b + cl * tl[1] + cr * tr[1]) / z
        m2_full = (f @ quad.b ** 2 + cl * tl[2] + cr * tr[2]) / z
        if self.integration == "dfcrm":
            ft = f * quad.trunc
            g = f / quad.tw
            out["m1"] = (ft @ quad.b + _end_correction(g * quad.b, quad.edges)) / z
            out["m2"] = (ft @ quad.b ** 2 + _end_correction(g * quad.b ** 2, quad.edges)) / z
            # dfcrm's MLE variance: E[beta^2] over (-100, 100) divided by the mass on (-10, 10).
            t100l, t100r = quad.tail_left_100, quad.tail_right_100
            mass10 = ft.sum(1) + _end_correction(g, quad.edges)
            out["m2_mle"] = (f @ quad.b ** 2 + cl * t100l[2] + cr * t100r[2]) / mass10
        else:
            out["m1"], out["m2"], out["m2_mle"] = m1_full, m2_full, m2_full
        if "posterior_mean" in need:
            out["posterior_mean"] = (f @ quad.p.T + (cl * tl[0])[:, None] * self._p_left) / z[:, None]
        grid = (quad.b[0], np.full(len(z), _STEP), f / quad.tw, cl * tl[0], cl, quad.sd)

        narrow = np.flatnonzero(m2_full - m1_full ** 2 < _NARROW_SD ** 2)
        fine = None
        if narrow.size:
            fine = self._fine(quad.sd, n[narrow], y[narrow], f.argmax(1)[narrow], quad.b, need)
            for key in ("m1", "m2", "m2_mle", "posterior_mean"):
                if key in out:
                    out[key][narrow] = fine[key]

        def below(b_star):
            res = _cumulative(*grid, z, b_star)
            if fine is not None:
                res[narrow] = _cumulative(fine["b0"], fine["h"], fine["g"], 0.0, 0.0, quad.sd, fine["z"], b_star)
            return res

        out["below"] = below
        return out

    def _fine(self, sd, n, y, k, b_grid, need):
        """Posterior integrals on a grid fitted to each (narrow) posterior: the mode by
        safeguarded Newton steps on the slope of the log-posterior, inside the prior-grid
        cell pair around the grid maximum; the scale from the curvature there; and a uniform grid that
        spans the region where the log-density is within _DROP of its maximum (found by
        doubling), with at most sd/2 between nodes.  The integrand is smooth and
        negligible at both ends, so the trapezoid rule converges exponentially."""
        T = len(k)
        lo = b_grid[np.maximum(k - 1, 0)]
        hi = b_grid[np.minimum(k + 1, len(b_grid) - 1)]
        v = sd * sd

        def slope(b):
            return self._loglik_slope(b, n, y) - b / v

        def logpost(b):                                    # b: (T, G)
            lp, l1 = self._log_probs(b)                    # (D, T, G)
            lp, l1 = np.maximum(lp, -1e300), np.maximum(l1, -1e300)   # 0 * log(0) counts as 0
            return np.einsum("td,dtg->tg", y, lp) + np.einsum("td,dtg->tg", n - y, l1) - 0.5 * b * b / v

        # Newton on the slope from the grid maximum, kept inside the bracket (bisection
        # when a step would leave it); the curvature comes from the last step.
        x = b_grid[k].astype(float)
        for _ in range(40):
            eps = 1e-7 * np.maximum(1.0, np.abs(x))
            s0 = slope(x)
            curv = (slope(x + eps) - s0) / eps
            lo, hi = np.where(s0 > 0, x, lo), np.where(s0 > 0, hi, x)
            xn = np.where(curv < 0, x - s0 / np.where(curv < 0, curv, -1.0), 0.5 * (lo + hi))
            xn = np.where((xn > lo) & (xn < hi), xn, 0.5 * (lo + hi))
            done = np.abs(xn - x) <= 1e-9 * np.maximum(1.0, np.abs(x))
            x = xn
            if done.all():
                break
        mode = x
        scale = np.where(curv < 0, 1.0 / np.sqrt(np.maximum(-curv, 1e-300)), _NARROW_SD)
        top = logpost(mode[:, None])[:, 0]
        reach = []
        for sign in (-1.0, 1.0):
            r = np.full(T, 12.0)                   # a Gaussian has dropped by 72 at 12 sd
            for _ in range(12):                            # up to 12 * 2^12 scales
                far = logpost((mode + sign * r * scale)[:, None])[:, 0] < top - _DROP
                if far.all():
                    break
                r = np.where(far, r, 2 * r)
            reach.append(r * scale)
        b0 = mode - reach[0]
        nodes = int(min(_MAX_FINE_NODES, max(_FINE_NODES, np.ceil(((reach[0] + reach[1]) / (0.5 * scale)).max()))))
        h = (reach[0] + reach[1]) / nodes
        b = b0[:, None] + h[:, None] * np.arange(nodes + 1)[None, :]
        lpost = logpost(b)
        g = np.exp(lpost - top[:, None])
        w = np.full(nodes + 1, 1.0)
        w[[0, -1]] = 0.5
        gw = g * w * h[:, None]
        z = gw.sum(1)
        out = {"b0": b0, "h": h, "g": g, "z": z}
        if self.integration == "dfcrm":
            inner = np.abs(b) <= _DFCRM_RANGE
            out["m1"] = (gw * inner * b).sum(1) / z
            out["m2"] = (gw * inner * b * b).sum(1) / z
            out["m2_mle"] = (gw * (np.abs(b) <= _DFCRM_VAR_RANGE) * b * b).sum(1) / (gw * inner).sum(1)
        else:
            out["m1"] = (gw * b).sum(1) / z
            out["m2"] = out["m2_mle"] = (gw * b * b).sum(1) / z
        if "posterior_mean" in need:
            lp, _ = self._log_probs(b)                      # (D, T, G)
            out["posterior_mean"] = np.einsum("tg,dtg->td", gw, np.exp(lp)) / z[:, None]
        return out

    # ------------------------------------------------------------------ estimation
    def _fit_arrays(self, n, y, *, need=()):
        """beta estimate and its variance for count arrays of shape (T, D); with ``need``
        also "posterior_mean" (E[p_i | data]) and "below" (b* -> Pr(beta < b* | data))."""
        n = np.asarray(n, dtype=float)
        y = np.asarray(y, dtype=float)
        post = self._posterior(self._quad, n, y, need)
        out = {"below": post["below"]}
        if self.method == "bayes":
            out["beta"], out["var"] = post["m1"], post["m2"] - post["m1"] ** 2
            out["approx"] = np.zeros(len(n), bool)
            if "posterior_mean" in need:
                out["posterior_mean"] = post["posterior_mean"]
        else:
            N, Y = n.sum(1), y.sum(1)
            approx = (Y == 0) | (Y == N)
            disp = self._posterior(self._quad_dispersed, n, y)
            mle = self._mle(n, y)
            out["beta"] = np.where(approx, disp["m1"], mle)
            # dfcrm's variance of the MLE: E[beta^2] under the dispersed prior minus mle^2.
            out["var"] = np.maximum(np.where(approx, disp["m2"] - disp["m1"] ** 2, disp["m2_mle"] - mle ** 2), 0.0)
            out["approx"] = approx
        return out

    def _mle(self, n, y, iters: int = 64):
        """Maximiser of the log-likelihood on [-10, 10]: grid search then golden section."""
        quad = self._quad_dispersed
        inside = np.abs(quad.b) <= _MLE_BOUND
        grid = quad.b[inside]
        ll = y @ quad.logp[:, inside] + (n - y) @ quad.log1mp[:, inside]
        k = ll.argmax(1)
        lo = np.maximum(grid[k] - _STEP, -_MLE_BOUND)
        hi = np.minimum(grid[k] + _STEP, _MLE_BOUND)

        def loglik(b):
            lp, l1 = self._log_probs(b)                  # (D, T)
            return (y * lp.T).sum(1) + ((n - y) * l1.T).sum(1)

        r = (math.sqrt(5) - 1) / 2
        c, d = hi - r * (hi - lo), lo + r * (hi - lo)
        fc, fd = loglik(c), loglik(d)
        for _ in range(iters):
            left = fc >= fd
            hi = np.where(left, d, hi)
            lo = np.where(left, lo, c)
            c_new = hi - r * (hi - lo)
            d_new = lo + r * (hi - lo)
            c, d = np.where(left, c_new, d), np.where(left, c, d_new)
            f_new = loglik(np.where(left, c, d))
            fc, fd = np.where(left, f_new, fd), np.where(left, fc, f_new)
        return (lo + hi) / 2

    def _recommend(self, est):
        """dfcrm's rule on estimates of shape (T, D): closest to target, lowest on ties."""
        rec = np.abs(est - self.target).argmin(1)
        rec = np.where((est <= self.target).all(1), self.num_doses - 1, rec)
        return np.where((est >= self.target).all(1), 0, rec)

    def _estimates(self, fit):
        if self.estimate == "posterior_mean":
            return fit["posterior_mean"]
        return self.prob_tox(fit["beta"])

    def _needs(self):
        return ("posterior_mean",) if self.estimate == "posterior_mean" else ()

    # ------------------------------------------------------------------ the rule (written once)
    def _rule(self, n, y, cur, last_tox):
        """The CRM rule for T states at once: counts (T, D), 0-based current dose (T,)
        and the last cohort's DLT count (T,).  Returns (next index, -1 for stop; reason
        code, see :data:`REASONS`; fitted estimates (T, D); model recommendation (T,);
        Pr(p_1 > target) (T,) or None).  :meth:`decide` is this rule on one state."""
        fit = self._fit_arrays(n, y, need=self._needs())
        est = self._estimates(fit)
        rec = self._recommend(est)
        nxt, why = rec.copy(), np.zeros(len(rec), dtype=int)
        if not self.escalate_after_dlt:   # dfcrm: sum(ynew)/mcohort >= target -> at most the current dose
            block = (np.maximum(last_tox, 0) / self.cohort_size >= self.target) & (nxt > cur)
            nxt, why = np.where(block, cur, nxt), np.where(block, 2, why)
        if not self.skip_escalation:      # dfcrm: otherwise at most one level above the current dose
            cap = nxt > cur + 1
            nxt, why = np.where(cap, cur + 1, nxt), np.where(cap, 1, why)
        exceeds = None
        if self.stop_tox_cutoff is not None:
            exceeds = fit["below"](self._b_star(self.target)[0])
            stop = exceeds > self.stop_tox_cutoff
            nxt, why = np.where(stop, -1, nxt), np.where(stop, 3, why)
        return nxt, why, est, rec, exceeds

    def _decide(self, state: TrialState) -> Decision:
        cur = state.current_index
        last = state.last_cohort
        nxt, why, est, rec, exceeds = self._rule(np.array([state.n_at_dose], float),
                                                 np.array([state.tox_at_dose], float),
                                                 np.array([cur]), np.array([0 if last is None else last.tox]))
        k, code, est, rec = int(nxt[0]), int(why[0]), est[0], int(rec[0])
        if code == 3:
            return Decision.halt(
                f"stop for toxicity: Pr(DLT rate at dose 1 > {self.target:g}) = {exceeds[0]:.3f} "
                f"exceeds {self.stop_tox_cutoff:g}", R.LOWEST_TOO_TOXIC)
        text = f"estimated DLT rate {est[rec]:.3f} at dose {to_level(rec)} is closest to the target {self.target:g}"
        if code == 2:
            return Decision.treat(k, text + f"; no escalation after {last.tox} DLT(s) in the last cohort, "
                                            f"stay at dose {to_level(k)}", R.STAY)
        if code == 1:
            return Decision.treat(k, text + f"; escalate one level only, to dose {to_level(k)}", R.ESCALATE)
        return Decision.treat(k, text, R.ESCALATE if k > cur else (R.DE_ESCALATE if k < cur else R.STAY))

    def decide_batch(self, n_at_dose, tox_at_dose, current_index, last_cohort_tox, max_tried_index=None):
        """:meth:`decide` for T trials at once (the same rule, :meth:`_rule`).

        Parameters are arrays of shapes (T, D), (T, D), (T,), (T,), (T,): per-dose counts,
        the 0-based current dose (-1 before the first cohort), the last cohort's DLT count
        (ignored when there is no cohort yet) and the highest dose tried (accepted for a
        uniform engine interface; dfcrm's restrictions only use the current dose).

        Returns ``(next_index, reason)``: int arrays of shape (T,), ``next_index`` -1 for
        stop; ``reason`` codes are listed in :data:`REASONS`.
        """
        n = np.asarray(n_at_dose, dtype=float)
        y = np.asarray(tox_at_dose, dtype=float)
        if n.ndim != 2 or n.shape[1] != self.num_doses or y.shape != n.shape:
            raise ValueError(f"n_at_dose and tox_at_dose must both have shape (T, {self.num_doses}), "
                             f"got {n.shape} and {y.shape}")
        cur = np.asarray(current_index, dtype=int).reshape(-1)
        last_tox = np.asarray(last_cohort_tox, dtype=float).reshape(-1)
        T = n.shape[0]
        nxt = np.full(T, -1, dtype=int)
        reason = np.zeros(T, dtype=int)
        done = np.zeros(T, bool)
        if self.max_n is not None:
            full = n.sum(1) >= self.max_n
            reason[full] = 4
            done |= full
        start = (cur < 0) & ~done
        nxt[start], reason[start] = self.start_index, 5
        done |= start
        todo_all = np.flatnonzero(~done)
        for s0 in range(0, todo_all.size, _CHUNK):
            todo = todo_all[s0:s0 + _CHUNK]
            k, why, *_ = self._rule(n[todo], y[todo], cur[todo], last_tox[todo])
            nxt[todo], reason[todo] = k, why
        return nxt, reason

    def select_mtd_batch(self, n_at_dose, tox_at_dose):
        """:meth:`select_mtd` for simulation engines (the same rule, :meth:`_select`): the
        0-based MTD of each of T final states (-1: no MTD), without the per-dose limits."""
        n = np.asarray(n_at_dose, dtype=float)
        y = np.asarray(tox_at_dose, dtype=float)
        out = np.empty(n.shape[0], dtype=np.int64)
        for s0 in range(0, n.shape[0], _CHUNK):
            out[s0:s0 + _CHUNK] = self._select(n[s0:s0 + _CHUNK], y[s0:s0 + _CHUNK])[0]
        return out

    def _select(self, n, y, need=()):
        """The final selection rule for T states: (0-based MTD, -1 for none; fit; estimates)."""
        fit = self._fit_arrays(n, y, need=self._needs() + tuple(need))
        est = self._estimates(fit)
        rec = self._recommend(est)
        if self.stop_tox_cutoff is not None:
            rec = np.where(fit["below"](self._b_star(self.target)[0]) > self.stop_tox_cutoff, -1, rec)
        return rec, fit, est

    def select_mtd(self, state: TrialState) -> MTDSelection:
        self._check_state(state)
        rec, fit, est = self._select(np.array([state.n_at_dose], float), np.array([state.tox_at_dose], float),
                                     need=("posterior_mean",))
        beta, var = float(fit["beta"][0]), float(fit["var"][0])
        est = est[0]
        zc = float(ndtri(0.5 + self.conf_level / 2))
        sd = math.sqrt(var)
        b_star = self._b_star(self.target)
        exceeds = np.array([fit["below"](b)[0] for b in b_star])
        details = {
            "beta_mean": beta,
            "beta_var": var,
            "lower": tuple(float(v) for v in self.prob_tox(beta + zc * sd)),
            "upper": tuple(float(v) for v in self.prob_tox(beta - zc * sd)),
            "prob_tox_exceeds": tuple(float(v) for v in exceeds),
            "conf_level": self.conf_level,
            "method": self.method,
            "integration": self.integration,
            "mle_approximated": bool(fit["approx"][0]),
        }
        estimates = tuple(float(v) for v in est)
        k = int(rec[0])
        if k < 0:
            return MTDSelection(None, estimates, f"no MTD: Pr(DLT rate at dose 1 > {self.target:g}) = "
                                f"{exceeds[0]:.3f} exceeds {self.stop_tox_cutoff:g}", details)
        return MTDSelection(k, estimates, f"estimated DLT rate {est[k]:.3f} at dose {to_level(k)} "
                            f"is closest to the target {self.target:g}", details)

    # ------------------------------------------------------------------ shared estimate interface
    def tox_estimates(self, state: TrialState) -> tuple[float | None, ...]:
        """The design's per-dose DLT estimates (``estimate``: plug-in or posterior mean),
        for every dose, tried or not."""
        self._check_state(state)
        fit = self._fit_arrays([state.n_at_dose], [state.tox_at_dose], need=self._needs())
        return tuple(float(v) for v in self._estimates(fit)[0])

    def prob_tox_exceeds(self, state: TrialState, threshold: float) -> tuple[float | None, ...]:
        """Pr(p_i > threshold | data) for every dose under the design's prior on beta
        (the posterior, also with ``method="mle"``)."""
        return self._exceeds(state, threshold, range(self.num_doses))

    def prob_tox_exceeds_at(self, state: TrialState, threshold: float, index: int) -> float:
        """Pr(p_index > threshold | data): one dose's integral only (``StopWhenTooToxic`` asks
        this of every state of a simulation)."""
        return self._exceeds(state, threshold, (V.integer(index, "index", minimum=0, maximum=self.num_doses - 1),))[0]

    def _exceeds(self, state: TrialState, threshold: float, indices) -> tuple[float, ...]:
        self._check_state(state)
        threshold = V.probability(threshold, "threshold")
        fit = self._fit_arrays([state.n_at_dose], [state.tox_at_dose])
        b_star = self._b_star(threshold)
        return tuple(float(fit["below"](b_star[i])[0]) for i in indices)

    def params(self) -> dict:
        return {"skeleton": list(self.skeleton), "target": self.target, "model": self.model,
                "prior_var": self.prior_var, "intercept": self.intercept, "method": self.method,
                "estimate": self.estimate, "integration": self.integration, "cohort_size": self.cohort_size, "max_n": self.max_n,
                "start_dose": self.start_dose, "restrict": self.restrict,
                "skip_escalation": self.skip_escalation, "escalate_after_dlt": self.escalate_after_dlt,
                "stop_tox_cutoff": self.stop_tox_cutoff, "conf_level": self.conf_level}

    def describe(self) -> str:
        skel = skeleton_text(self.skeleton)
        if self.model == "empiric":
            form = "the empiric (power) working model p_i = s_i^exp(beta)"
        else:
            form = (f"the one-parameter logistic working model logit p_i = {self.intercept:g} + exp(beta) x_i "
                    f"with x_i = logit(s_i) - {self.intercept:g}")
        fit = (f"beta is estimated by its posterior mean under a {prior_text(self.prior_var)}"
               if self.method == "bayes" else "beta is estimated by maximum likelihood")
        if self.integration == "dfcrm":
            fit += (" (integrals as the R package dfcrm computes them: the numerators of the posterior moments over "
                    "beta in (-10, 10) only)")
        text = (f"Doses are assigned by the continual reassessment method (O'Quigley, Pepe and Fisher 1990) "
                f"targeting a DLT rate of {self.target:g}, using {form}, skeleton s = ({skel}). After each cohort "
                f"of {self.cohort_size}, {fit} and the next cohort receives the dose whose estimated DLT rate is "
                f"closest to the target; the trial starts at dose {self.start_dose}.")
        rules = []
        if not self.skip_escalation:
            rules.append("escalation is by at most one dose level above the current dose")
        if not self.escalate_after_dlt:
            rules.append("there is no escalation when the proportion of DLTs in the last cohort is at least the target")
        if rules:
            joined = "; ".join(rules)
            text += " " + joined[0].upper() + joined[1:] + "."
        if self.stop_tox_cutoff is not None:
            text += (f" The trial stops with no MTD if the posterior probability that the DLT rate at dose 1 exceeds "
                     f"{self.target:g} is above {self.stop_tox_cutoff:g}.")
        if self.max_n is not None:
            text += f" The maximum sample size is {self.max_n}."
        return text


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _end_correction(g, edges, h: float = _STEP) -> np.ndarray:
    """Euler-Maclaurin correction of a trapezoid sum of g (T, G) cut at the nodes
    ``edges`` (lo, hi): -h^2/12 (g'(hi) - g'(lo)), with fourth-order central differences
    (the grid runs on past both nodes)."""
    lo, hi = edges

    def deriv(j):
        return (-g[:, j + 2] + 8 * g[:, j + 1] - 8 * g[:, j - 1] + g[:, j - 2]) / (12 * h)

    return -h * h / 12.0 * (deriv(hi) - deriv(lo))


def _cumulative(b0, h, g, left_mass, cl, sd, z, b_star: float) -> np.ndarray:
    """Pr(beta < b* | data) from an integrand g (T, G) on uniform grids b0 + h * j (one
    per row): trapezoid to the last node below b* with an Euler-Maclaurin end correction,
    plus the partial cell by Simpson's rule on log g interpolated through three nodes
    (agrees with adaptive quadrature to about 1e-8).  ``left_mass`` is the integral left
    of the grid; for b* left of the grid the prior-tail share ``cl * Phi(b*/sd)`` is used."""

    T, G = g.shape
    b0, h, left_mass, cl = (np.broadcast_to(np.asarray(v, float), (T,)) for v in (b0, h, left_mass, cl))
    if b_star == -np.inf:
        return np.zeros(T)
    if b_star == np.inf:
        return np.ones(T)
    pos = (b_star - b0) / h
    rows = np.arange(T)
    k = np.clip(np.floor(pos).astype(np.int64), 1, G - 3)
    d = b_star - (b0 + k * h)
    cum = np.concatenate([np.zeros((T, 1)), np.cumsum(0.5 * h[:, None] * (g[:, 1:] + g[:, :-1]), axis=1)], axis=1)
    lg0, lg1, lg2 = (np.log(np.maximum(g[rows, j], 1e-300)) for j in (k - 1, k, k + 1))
    c1, c2 = (lg2 - lg0) / (2 * h), (lg2 - 2 * lg1 + lg0) / (2 * h * h)
    g_mid = np.exp(lg1 + c1 * d / 2 + c2 * d * d / 4)
    g_end = np.exp(lg1 + c1 * d + c2 * d * d)
    gk = g[rows, k]
    partial = d / 6 * (gk + 4 * g_mid + g_end)
    d1, d3 = c1 * gk, (c1 ** 3 + 6 * c1 * c2) * gk
    left_int = cum[rows, k] - h * h / 12.0 * d1 + h ** 4 / 720.0 * d3 + left_mass
    res = np.clip((left_int + partial) / z, 0.0, 1.0)
    res = np.where(pos <= 0, cl * ndtr(b_star / sd) / z, res)
    return np.where(pos >= G - 1, 1.0, res)
