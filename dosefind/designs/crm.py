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

* ``method="bayes"``: beta is estimated by its posterior mean; the posterior mean and
  variance are integrals over the whole real line (dfcrm uses R's ``integrate`` on
  (-Inf, Inf)).  Here they are computed on a fixed trapezoid grid (step 0.04 over a range
  of at least +/-12 prior standard deviations, analytic Gaussian tails beyond), which
  agrees with adaptive quadrature to better than 1e-8 while the posterior sd of beta is
  above about 0.06 (roughly, fewer than 150 patients), and lets :meth:`CRM.decide_batch`
  evaluate thousands of trials with one matrix product.  Posterior probabilities
  Pr(p_i > target | data) use the same grid and are accurate to about 1e-6.
* ``method="mle"``: beta is the maximum-likelihood estimate on [-10, 10] (dfcrm's search
  interval).  The MLE exists only when some but not all patients had a DLT; otherwise,
  as dfcrm's ``crmsim`` does, the estimate is the posterior mean under a dispersed
  Normal(0, 500^2) prior ("mle is approximated"), which escalates after no DLTs and
  de-escalates after only DLTs.  As in dfcrm the variance reported with the MLE is
  E[beta^2] - mle^2 under that dispersed prior.

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
``restrict``).  dfcrm has no stopping rule; ``stop_tox_cutoff`` optionally stops the trial
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
from scipy.special import expit, logit, ndtr
from scipy.stats import norm

from dosefind import _validate as V
from dosefind.designs.base import Design
from dosefind.state import Decision, DoseLevels, MTDSelection, TrialState, to_level
from dosefind.state import ReasonCode as R

__all__ = ["CRM", "REASONS"]

#: Reason codes returned by :meth:`CRM.decide_batch`.
REASONS = {
    0: "model recommendation",
    1: "capped one level above the current dose (no skipping)",
    2: "capped at the current dose (no escalation after a DLT)",
    3: "stop: lowest dose too toxic",
    4: "stop: maximum sample size reached",
    5: "start dose",
}

_STEP = 0.04            # grid step for beta: trapezoid error ~exp(-2 pi^2 sd_post^2 / step^2), < 1e-12 for n <= 200
_CHUNK = 2048          # trials per block in decide_batch (keeps the (T, G) arrays in cache)
_MLE_BOUND = 10.0       # dfcrm's optimize() interval for the MLE
_DISPERSED_SD = 500.0   # dfcrm's prior sd for the "approximated" MLE and its variance


class _Quadrature:
    """Trapezoid rule for integrals of prior(beta) * likelihood(beta) over the real line.

    Nodes cover [-A, A]; beyond them the likelihood equals its limit at +/-infinity (to
    double precision when A = 40, and the prior mass is negligible when A >= 12 sd), so
    the tails are added in closed form as truncated Gaussian moments.
    """

    def __init__(self, design: "CRM", sd: float):
        self.sd = sd
        A = min(40.0, max(12.0, 12.0 * sd))
        k = int(math.ceil(A / _STEP))
        self.b = np.arange(-k, k + 1) * _STEP
        tw = np.full(self.b.size, _STEP)
        tw[[0, -1]] = _STEP / 2
        self.tw = tw
        self.log_w = np.log(tw) + norm.logpdf(self.b, scale=sd)
        self.logp, self.log1mp = design._log_probs(self.b)        # (D, G)
        self.p = np.exp(self.logp)
        self.log_both = np.vstack([self.logp, self.log1mp])      # (2D, G): one matrix product per batch
        # Gaussian moments of the two tails: [mass, first, second] (left, right).
        zl, zr = self.b[0] / sd, self.b[-1] / sd
        self.tail_left = np.array([ndtr(zl), -sd * norm.pdf(zl), sd * sd * (ndtr(zl) - zl * norm.pdf(zl))])
        self.tail_right = np.array([ndtr(-zr), sd * norm.pdf(zr), sd * sd * (ndtr(-zr) + zr * norm.pdf(zr))])


class CRM(Design):
    """Continual reassessment method (dfcrm's ``crm`` and ``crmsim`` rules); see the module docstring."""

    name = "CRM"
    memory = "counts"

    def __init__(self, skeleton, target: float, *, model: str = "empiric", prior_var: float = 1.34,
                 intercept: float = 3.0, method: str = "bayes", estimate: str = "plugin",
                 cohort_size: int = 1, max_n: int | None = None, start_dose: int = 1, restrict: bool = True,
                 skip_escalation: bool | None = None, escalate_after_dlt: bool | None = None,
                 stop_tox_cutoff: float | None = None, conf_level: float = 0.90,
                 doses: DoseLevels | None = None):
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
        self.model, self.method, self.estimate = model, method, estimate
        self.prior_var = V.positive(prior_var, "prior_var")
        self.intercept = V._num(intercept, "intercept")
        if not math.isfinite(self.intercept):
            raise ValueError(f"intercept must be a finite number, got {intercept}")
        if model == "logistic" and not logit(self.skeleton[-1]) < self.intercept:
            raise ValueError(
                f"intercept must exceed logit of every skeleton value for the logistic model "
                f"(largest is logit({self.skeleton[-1]:g}) = {logit(self.skeleton[-1]):.4g}), got {self.intercept:g}"
            )
        self.restrict = _flag(restrict, "restrict")
        self.skip_escalation = (not self.restrict) if skip_escalation is None else _flag(skip_escalation, "skip_escalation")
        self.escalate_after_dlt = ((not self.restrict) if escalate_after_dlt is None
                                   else _flag(escalate_after_dlt, "escalate_after_dlt"))
        self.stop_tox_cutoff = None if stop_tox_cutoff is None else V.probability(stop_tox_cutoff, "stop_tox_cutoff")
        self.conf_level = V.probability(conf_level, "conf_level")

        s = np.asarray(self.skeleton)
        self._x = s if model == "empiric" else logit(s) - self.intercept
        # beta at which p_i(beta) = target (p_i decreases in beta): Pr(p_i > target) = Pr(beta < b*_i).
        if model == "empiric":
            self._b_star = np.log(np.log(self.target) / np.log(s))
        else:
            ratio = (logit(self.target) - self.intercept) / self._x
            with np.errstate(divide="ignore", invalid="ignore"):
                self._b_star = np.where(ratio > 0, np.log(np.where(ratio > 0, ratio, 1.0)), -np.inf)
        self._p_left = 1.0 if model == "empiric" else float(expit(self.intercept))  # p_i as beta -> -inf
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

    def prob_tox(self, beta) -> np.ndarray:
        """Working-model DLT probabilities at ``beta`` (scalar or array; doses on the last axis)."""
        logp, _ = self._log_probs(np.asarray(beta, dtype=float))
        return np.moveaxis(np.exp(logp), 0, -1)

    # ------------------------------------------------------------------ estimation (arrays over T trials)
    def _moments(self, quad: _Quadrature, n, y):
        """Posterior normaliser pieces for count arrays n, y of shape (T, D)."""
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
        m1 = (f @ quad.b + cl * quad.tail_left[1] + cr * quad.tail_right[1]) / z
        m2 = (f @ quad.b ** 2 + cl * quad.tail_left[2] + cr * quad.tail_right[2]) / z
        return f, cl, z, m1, m2, m

    def _fit_arrays(self, n, y, *, need=("mean",)):
        """beta estimate, its variance and (optionally) the exceedance probability at dose 1."""
        n = np.asarray(n, dtype=float)
        y = np.asarray(y, dtype=float)
        out = {}
        quad = self._quad
        f, cl, z, m1, m2, _ = self._moments(quad, n, y)
        if self.method == "bayes":
            out["beta"], out["var"] = m1, m2 - m1 ** 2
            out["approx"] = np.zeros(len(n), bool)
            if "posterior_mean" in need:
                ep = (f @ quad.p.T + (cl * quad.tail_left[0])[:, None] * self._p_left) / z[:, None]
                out["posterior_mean"] = ep
        else:
            N, Y = n.sum(1), y.sum(1)
            approx = (Y == 0) | (Y == N)
            _, _, _, m1d, m2d, _ = self._moments(self._quad_dispersed, n, y)
            mle = self._mle(n, y)
            out["beta"] = np.where(approx, m1d, mle)
            out["var"] = np.maximum(np.where(approx, m2d - m1d ** 2, m2d - mle ** 2), 0.0)
            out["approx"] = approx
        # Exceedance probabilities are posterior probabilities under the design's prior.
        if "exceeds" in need:
            out["exceeds"] = self._prob_below(quad, f, cl, z, self._b_star[:1])[:, 0]
        if "exceeds_all" in need:
            out["exceeds_all"] = self._prob_below(quad, f, cl, z, self._b_star)
        return out

    def _prob_below(self, quad: _Quadrature, f, cl, z, b_stars):
        """Pr(beta < b* | data) for each b*: trapezoid to the last node below b* with an
        Euler-Maclaurin end correction, plus the partial cell (agrees with adaptive
        quadrature to about 1e-8)."""
        T, G = f.shape
        h = _STEP
        g = f / quad.tw                                  # prior x likelihood, without trapezoid weights
        cum = np.concatenate([np.zeros((T, 1)), np.cumsum(0.5 * h * (g[:, 1:] + g[:, :-1]), axis=1)], axis=1)
        res = np.empty((T, len(b_stars)))
        for j, bs in enumerate(b_stars):
            if bs <= quad.b[0]:
                res[:, j] = cl * ndtr(bs / quad.sd) / z
                continue
            if bs >= quad.b[-1]:
                res[:, j] = 1.0
                continue
            k = int(np.floor((bs - quad.b[0]) / h))
            k = min(max(k, 1), G - 3)
            d = bs - quad.b[k]
            # Partial cell [b_k, b*]: Simpson's rule on log g interpolated through b_{k-1}, b_k, b_{k+1}.
            lg0, lg1, lg2 = (np.log(np.maximum(g[:, j2], 1e-300)) for j2 in (k - 1, k, k + 1))
            c1, c2 = (lg2 - lg0) / (2 * h), (lg2 - 2 * lg1 + lg0) / (2 * h * h)
            g_mid = np.exp(lg1 + c1 * d / 2 + c2 * d * d / 4)
            g_end = np.exp(lg1 + c1 * d + c2 * d * d)
            partial = d / 6 * (g[:, k] + 4 * g_mid + g_end)
            # Euler-Maclaurin end terms, with derivatives of g = exp(log g) from the same fit.
            d1, d3 = c1 * g[:, k], (c1 ** 3 + 6 * c1 * c2) * g[:, k]
            left_int = cum[:, k] - h * h / 12.0 * d1 + h ** 4 / 720.0 * d3 + cl * quad.tail_left[0]
            res[:, j] = np.clip((left_int + partial) / z, 0.0, 1.0)
        return res

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

    # ------------------------------------------------------------------ contract
    def _decide(self, state: TrialState) -> Decision:
        fit = self._fit_arrays([state.n_at_dose], [state.tox_at_dose], need=self._needs())
        if self.stop_tox_cutoff is not None and fit["exceeds"][0] > self.stop_tox_cutoff:
            return Decision.halt(
                f"stop for toxicity: Pr(DLT rate at dose 1 > {self.target:g}) = {fit['exceeds'][0]:.3f} "
                f"exceeds {self.stop_tox_cutoff:g}", R.LOWEST_TOO_TOXIC
            )
        est = self._estimates(fit)[0]
        rec = int(self._recommend(est[None, :])[0])
        why = f"estimated DLT rate {est[rec]:.3f} at dose {to_level(rec)} is closest to the target {self.target:g}"
        cur = state.current_index
        last = state.last_cohort
        last_tox = 0 if last is None else last.tox
        if not self.escalate_after_dlt and last_tox / self.cohort_size >= self.target and rec > cur:
            return Decision.treat(cur, why + f"; no escalation after {last_tox} DLT(s) in the last cohort, "
                                        f"stay at dose {to_level(cur)}", R.STAY)
        if not self.skip_escalation and rec > cur + 1:
            return Decision.treat(cur + 1, why + f"; escalate one level only, to dose {to_level(cur + 1)}", R.ESCALATE)
        return Decision.treat(rec, why, R.ESCALATE if rec > cur else (R.DE_ESCALATE if rec < cur else R.STAY))

    def _needs(self):
        need = ["mean"]
        if self.estimate == "posterior_mean":
            need.append("posterior_mean")
        if self.stop_tox_cutoff is not None:
            need.append("exceeds")
        return tuple(need)

    def decide_batch(self, n_at_dose, tox_at_dose, current_index, last_cohort_tox, max_tried_index=None):
        """Vectorised :meth:`decide` for T trials.

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
        started = cur >= 0
        done = np.zeros(T, bool)
        if self.max_n is not None:
            full = n.sum(1) >= self.max_n
            reason[full] = 4
            done |= full
        start = ~started & ~done
        nxt[start], reason[start] = self.start_index, 5
        done |= start
        for start_row in range(0, T, _CHUNK):
            rows = np.arange(start_row, min(T, start_row + _CHUNK))
            self._batch_chunk(rows[~done[rows]], n, y, cur, last_tox, nxt, reason)
        return nxt, reason

    def _batch_chunk(self, todo, n, y, cur, last_tox, nxt, reason):
        if todo.size:
            fit = self._fit_arrays(n[todo], y[todo], need=self._needs())
            rec = self._recommend(self._estimates(fit))
            c = cur[todo]
            why = np.zeros(todo.size, dtype=int)
            if not self.escalate_after_dlt:
                block = (np.maximum(last_tox[todo], 0) / self.cohort_size >= self.target) & (rec > c)
                rec, why = np.where(block, c, rec), np.where(block, 2, why)
            if not self.skip_escalation:
                cap = rec > c + 1
                rec, why = np.where(cap, c + 1, rec), np.where(cap, 1, why)
            if self.stop_tox_cutoff is not None:
                stop = fit["exceeds"] > self.stop_tox_cutoff
                rec, why = np.where(stop, -1, rec), np.where(stop, 3, why)
            nxt[todo], reason[todo] = rec, why

    def select_mtd_batch(self, n_at_dose, tox_at_dose):
        """Vectorised :meth:`select_mtd` for simulation engines: the 0-based MTD of each of
        T final states (-1: no MTD), without the per-dose limits ``select_mtd`` reports."""
        n = np.asarray(n_at_dose, dtype=float)
        y = np.asarray(tox_at_dose, dtype=float)
        out = np.empty(n.shape[0], dtype=np.int64)
        for s in range(0, n.shape[0], _CHUNK):
            fit = self._fit_arrays(n[s:s + _CHUNK], y[s:s + _CHUNK], need=self._needs())
            rec = self._recommend(self._estimates(fit))
            if self.stop_tox_cutoff is not None:
                rec = np.where(fit["exceeds"] > self.stop_tox_cutoff, -1, rec)
            out[s:s + _CHUNK] = rec
        return out

    def select_mtd(self, state: TrialState) -> MTDSelection:
        self._check_state(state)
        fit = self._fit_arrays([state.n_at_dose], [state.tox_at_dose],
                               need=self._needs() + ("posterior_mean", "exceeds_all"))
        beta, var = float(fit["beta"][0]), float(fit["var"][0])
        est = self._estimates(fit)[0]
        zc = float(norm.ppf(0.5 + self.conf_level / 2))
        sd = math.sqrt(var)
        exceeds = fit["exceeds_all"][0]
        details = {
            "beta_mean": beta,
            "beta_var": var,
            "lower": tuple(float(v) for v in self.prob_tox(beta + zc * sd)),
            "upper": tuple(float(v) for v in self.prob_tox(beta - zc * sd)),
            "prob_tox_exceeds": tuple(float(v) for v in exceeds),
            "conf_level": self.conf_level,
            "method": self.method,
            "mle_approximated": bool(fit["approx"][0]),
        }
        estimates = tuple(float(v) for v in est)
        if self.stop_tox_cutoff is not None and exceeds[0] > self.stop_tox_cutoff:
            return MTDSelection(None, estimates, f"no MTD: Pr(DLT rate at dose 1 > {self.target:g}) = "
                                f"{exceeds[0]:.3f} exceeds {self.stop_tox_cutoff:g}", details)
        rec = int(self._recommend(est[None, :])[0])
        return MTDSelection(rec, estimates, f"estimated DLT rate {est[rec]:.3f} at dose {to_level(rec)} "
                            f"is closest to the target {self.target:g}", details)

    def params(self) -> dict:
        return {"skeleton": list(self.skeleton), "target": self.target, "model": self.model,
                "prior_var": self.prior_var, "intercept": self.intercept, "method": self.method,
                "estimate": self.estimate, "cohort_size": self.cohort_size, "max_n": self.max_n,
                "start_dose": self.start_dose, "restrict": self.restrict,
                "skip_escalation": self.skip_escalation, "escalate_after_dlt": self.escalate_after_dlt,
                "stop_tox_cutoff": self.stop_tox_cutoff, "conf_level": self.conf_level}

    def describe(self) -> str:
        skel = ", ".join(f"{p:.3g}" for p in self.skeleton)
        if self.model == "empiric":
            form = "the empiric (power) working model p_i = s_i^exp(beta)"
        else:
            form = (f"the one-parameter logistic working model logit p_i = {self.intercept:g} + exp(beta) x_i "
                    f"with x_i = logit(s_i) - {self.intercept:g}")
        fit = (f"beta is estimated by its posterior mean under a Normal(0, {self.prior_var:g}) prior"
               if self.method == "bayes" else "beta is estimated by maximum likelihood")
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


def _flag(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)
