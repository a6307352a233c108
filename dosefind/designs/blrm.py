r"""Bayesian logistic regression model (BLRM) with escalation with overdose control (EWOC).

The two-parameter BLRM of Neuenschwander, Branson and Gsponer (2008) models the DLT rate
at dose d as a logistic curve in log dose; after each cohort the posterior of the two
parameters gives, at every dose, the probability that the DLT rate is an under-dose,
in the target interval, or an overdose. EWOC allows only doses whose overdose probability
is at most 0.25; among those (and within the maximum escalation step) the next cohort
receives the dose with the highest probability of a DLT rate in the target interval.

Model
-----
With reference dose d* and theta = (log alpha, log beta),

.. math::

    \operatorname{logit} p(d) = \log\alpha + \beta \log(d / d^*), \qquad
    \theta \sim \sum_k w_k\, N_2(m_k, \Sigma_k),

a mixture of bivariate normals (one component, or several, e.g. a meta-analytic
predictive prior from the literature plus a robust component, as in OncoBayes2; see
``dosefind.priors.blrm_prior_from_fit``). With y_d DLTs in n_d patients at dose d the
likelihood is prod_d p(d)^y_d (1 - p(d))^(n_d - y_d). beta = exp(log beta) > 0, so the
DLT rate increases with dose.

Intervals (defaults as OncoBayes2's ``interval_prob = c(0, 0.16, 0.33, 1)``): under-dosing
[0, 0.16), target [0.16, 0.33), overdose [0.33, 1]; ``intervals=(a, b)`` sets the two cut
points, 0 < a < b < 1.

Decision rule
-------------
1. EWOC: dose d is eligible if Pr(p(d) in overdose | data) <= ``ewoc`` (0.25), as
   OncoBayes2's ``ewoc_ok`` (``interval_max_mass = c(1, 1, 0.25)``: a dose fails when its
   interval probability is above the maximal mass).
2. Escalation step: the next dose is at most ``(1 + max_increase)`` times the highest dose
   given so far (``max_increase=1``: doubling, Neuenschwander et al. 2008) and, if
   ``max_step_levels`` is set, at most that many levels above it.
3. Next dose: the eligible dose with the highest Pr(target) (ties: the lower dose). This
   is crmPack's ``NextBestNCRM`` rule; OncoBayes2 itself reports the interval
   probabilities and ``ewoc_ok`` and leaves the choice to the team.
4. Stopping: no dose satisfies EWOC (stop, no MTD); ``max_n`` reached; or, with
   ``min_at_mtd``, the dose chosen next already has at least that many patients (stop
   and declare it the MTD).

``select_mtd``: among doses given to at least one patient and satisfying EWOC, the one
with the highest Pr(target); no MTD if none does.

Posterior by quadrature, never MCMC
-----------------------------------
Integrals are computed on a 48 x 48 grid scaled to the posterior: theta = m + L (u, v)
with L the Cholesky factor (log beta first) of the posterior covariance, u and v in
[-8, 8]. The grid starts from the prior's mean and covariance and is re-centred and
re-scaled on the moments it finds until they settle (at most 8 passes; the covariance is
floored at a quarter of a cell so a posterior narrower than one cell is zoomed in on,
never lost), so it is accurate for wide priors and for posteriors after thousands of
patients alike. In each grid row (fixed log beta) the linear predictor is linear in u, so
Pr(p(d) < c) is a cumulative trapezoid to the exact crossing point with a log-linear
partial cell; means use the trapezoid rule. The test suite checks both against
``scipy.integrate.dblquad`` (agreement better than 1e-4 in probability).

The decision depends only on the per-dose counts (``memory = "counts"``), so the exact
engine and decision caching serve it.

Parameters
----------
doses : sequence of float
    Dose amounts (strictly increasing, > 0), in any unit shared with ``reference_dose``.
prior : BivariateNormalMixture, dict or None
    Prior of (log alpha, log beta); a dict is ``BivariateNormalMixture.to_dict()``'s
    layout. None: N((logit 0.5, log 1), diag(2^2, 1^2)), OncoBayes2's single-agent
    example prior.
reference_dose : float or None
    d* (> 0); default the highest dose.
intervals : (float, float)
    Lower bounds of the target and overdose intervals, 0 < a < b < 1 (0.16, 0.33).
ewoc : float
    Maximal overdose probability of an eligible dose, in (0, 1) (0.25).
max_increase : float or None
    Largest relative increase over the highest dose given (>= 0; 1.0 = doubling; None:
    no limit).
max_step_levels : int or None
    Largest number of levels above the highest dose given (>= 1; None: no limit).
min_at_mtd : int or None
    Stop when the next dose already has this many patients (>= 1; None: never).

References
----------
Neuenschwander B, Branson M, Gsponer T. Critical aspects of the Bayesian approach to
phase I cancer trials. Stat Med 2008;27:2420-2439.

Babb J, Rogatko A, Zacks S. Cancer phase I clinical trials: efficient dose escalation
with overdose control. Stat Med 1998;17:1103-1120.

Example
-------
>>> from dosefind import TrialState
>>> blrm = BLRM([1, 2, 4, 8, 16], cohort_size=3)
>>> blrm.decide(TrialState.from_outcomes("1NNN", num_doses=5)).next_dose
2
>>> blrm.decide(TrialState.from_outcomes("1NNN 2NNN 3TTT", num_doses=5)).next_dose
1
>>> blrm.select_mtd(TrialState.from_outcomes("1NNN 2NNN 3NTN", num_doses=5)).mtd
3
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dosefind import _validate as V
from dosefind.designs.base import Design
from dosefind.priors.mixture import BivariateNormalMixture
from dosefind.state import Decision, DoseLevels, MTDSelection, ReasonCode, TrialState, to_level

__all__ = ["BLRM", "BLRMPosterior", "DEFAULT_PRIOR"]

#: OncoBayes2's single-agent example prior on (log alpha, log beta).
DEFAULT_PRIOR = BivariateNormalMixture.normal((0.0, 0.0), (2.0, 1.0))

_N = 48          # grid nodes per axis
_R = 8.0         # grid half-width, in posterior standard deviations
_PASSES = 8      # most re-scalings of the grid
_CACHE = 4096    # posteriors kept per design (a memo: decisions do not depend on it)


@dataclass(frozen=True)
class BLRMPosterior:
    """Per-dose posterior summaries of the BLRM for one trial state."""

    mean: tuple[float, ...]
    sd: tuple[float, ...]
    prob_underdose: tuple[float, ...]
    prob_target: tuple[float, ...]
    prob_overdose: tuple[float, ...]
    ewoc_ok: tuple[bool, ...]
    theta_mean: tuple[float, float]
    theta_cov: tuple[tuple[float, float], tuple[float, float]]

    def to_frame(self, doses=None):
        import pandas as pd

        k = len(self.mean)
        return pd.DataFrame(dict(dose=range(1, k + 1), **({} if doses is None else {"amount": list(doses)}),
                                 mean=self.mean, sd=self.sd, prob_underdose=self.prob_underdose,
                                 prob_target=self.prob_target, prob_overdose=self.prob_overdose,
                                 ewoc_ok=self.ewoc_ok))


class _Grid:
    """The posterior on one posterior-scaled grid (see the module docstring)."""

    def __init__(self, prior: BivariateNormalMixture, x, n, y, mean, cov):
        s11, s12, s22 = cov[0, 0], cov[0, 1], cov[1, 1]
        l22 = math.sqrt(s22)
        l21 = s12 / l22
        l11 = math.sqrt(max(s11 - s12 * s12 / s22, 1e-300))
        t = np.linspace(-_R, _R, _N)
        self.h = t[1] - t[0]
        self.t, self.l11, self.l21, self.l22 = t, l11, l21, l22
        self.m = np.asarray(mean, dtype=float)
        self.x = x
        th2 = self.m[1] + l22 * t                                   # rows: log beta
        th1 = self.m[0] + l21 * t[:, None] + l11 * t[None, :]       # (rows, cols): log alpha
        self.th1, self.th2 = th1, th2
        self.beta = np.exp(th2)
        logf = prior.logpdf_xy(th1, th2[:, None])
        used = np.flatnonzero(n)                                     # only doses with patients
        if used.size:
            # log-likelihood sum_d y_d eta_d - n_d log(1 + e^eta_d), all doses at once.
            eta = th1[..., None] + self.beta[:, None, None] * x[used]
            logf = logf + eta @ y[used] - np.logaddexp(0.0, eta) @ n[used]
        logf = logf - logf.max()
        self.logw = logf
        self.w = np.exp(logf)

    @property
    def eta(self):
        """Linear predictor at every node and dose, shape (rows, cols, D)."""
        return self.th1[..., None] + self.beta[:, None, None] * self.x

    def moments(self):
        w = self.w / self.w.sum()
        a = (w * self.th1).sum()
        b = (w.sum(1) * self.th2).sum()
        c11 = (w * (self.th1 - a) ** 2).sum()
        c22 = (w.sum(1) * (self.th2 - b) ** 2).sum()
        c12 = (w * (self.th1 - a) * (self.th2 - b)[:, None]).sum()
        return np.array([a, b]), np.array([[c11, c12], [c12, c22]])

    def prob_below(self, cuts) -> np.ndarray:
        """Pr(logit p(d) < logit c) for each dose d and cut c: shape (D, len(cuts))."""
        h = self.h
        w, logw = self.w, np.log(np.maximum(self.w, 1e-300))
        cum = np.concatenate([np.zeros((_N, 1)), np.cumsum(0.5 * h * (w[:, 1:] + w[:, :-1]), axis=1)], axis=1)
        total = cum[:, -1]                                           # (rows,)
        lc = logit(np.asarray(cuts, dtype=float))                    # (C,)
        # Row r: eta_d(u) = m1 + l21 t_r + beta_r x_d + l11 u, linear in u.
        a = self.m[0] + self.l21 * self.t[:, None] + self.beta[:, None] * self.x[None, :]   # (rows, D)
        ustar = (lc[None, None, :] - a[..., None]) / self.l11        # (rows, D, C)
        pos = (ustar - self.t[0]) / h
        k = np.clip(np.floor(pos).astype(int), 1, _N - 3)
        delta = ustar - self.t[k]
        rows = np.arange(_N)[:, None, None]
        # Partial cell [u_k, u*]: Simpson's rule on log w interpolated (quadratic) through
        # u_{k-1}, u_k, u_{k+1}; trapezoid to u_k with Euler-Maclaurin end terms from the
        # same interpolant, so the error falls far below O(h^2) (as CRM's exceedance).
        l0, l1, l2 = logw[rows, k - 1], logw[rows, k], logw[rows, k + 1]
        c1, c2 = (l2 - l0) / (2 * h), (l2 - 2 * l1 + l0) / (2 * h * h)
        with np.errstate(over="ignore", invalid="ignore"):
            g0 = w[rows, k]
            g_mid = np.exp(l1 + c1 * delta / 2 + c2 * delta * delta / 4)
            g_end = np.exp(l1 + c1 * delta + c2 * delta * delta)
            part = delta / 6 * (g0 + 4 * g_mid + g_end)
            d1, d3 = c1 * g0, (c1 ** 3 + 6 * c1 * c2) * g0
            below = cum[rows, k] - h * h / 12.0 * d1 + h ** 4 / 720.0 * d3 + part
        below = np.where(np.isfinite(below), below, 0.0)
        below = np.clip(below, 0.0, total[:, None, None])
        below = np.where(pos < 1, np.where(pos < 0, 0.0, below),
                         np.where(pos >= _N - 2, total[:, None, None], below))
        return np.clip(below.sum(0) / total.sum(), 0.0, 1.0)          # (D, C)


class BLRM(Design):
    """Two-parameter BLRM with EWOC (Neuenschwander et al. 2008); see the module docstring."""

    name = "BLRM"
    memory = "counts"

    def __init__(self, doses, prior=None, *, reference_dose: float | None = None,
                 intervals=(0.16, 0.33), ewoc: float = 0.25, max_increase: float | None = 1.0,
                 max_step_levels: int | None = None, min_at_mtd: int | None = None,
                 cohort_size: int = 3, max_n: int | None = None, start_dose: int = 1):
        if isinstance(doses, DoseLevels):
            levels = doses
            if levels.amounts is None:
                raise ValueError("doses must give dose amounts (the BLRM is a model in log dose)")
        else:
            amounts = [V.positive(d, f"doses[{i + 1}]") for i, d in enumerate(doses)]
            if any(b <= a for a, b in zip(amounts, amounts[1:])):
                raise ValueError(f"doses must be strictly increasing, got {amounts}")
            levels = DoseLevels.from_amounts(amounts)
        super().__init__(len(levels), cohort_size=cohort_size, max_n=max_n, start_dose=start_dose, doses=levels)
        self.amounts = tuple(float(a) for a in levels.amounts)
        if prior is None:
            prior = DEFAULT_PRIOR
        elif isinstance(prior, dict):
            prior = BivariateNormalMixture.from_dict(prior)
        elif not isinstance(prior, BivariateNormalMixture):
            raise ValueError(f"prior must be a BivariateNormalMixture or a dict with weights, means, sds and "
                             f"rhos, got {type(prior).__name__}")
        self.prior = prior
        self.reference_dose = self.amounts[-1] if reference_dose is None else V.positive(reference_dose,
                                                                                          "reference_dose")
        try:
            lo, hi = (float(c) for c in intervals)
        except (TypeError, ValueError):
            raise ValueError(f"intervals must be two cut points (target from, overdose from), got {intervals!r}") \
                from None
        if not 0 < lo < hi < 1:
            raise ValueError(f"intervals must satisfy 0 < target lower bound < overdose lower bound < 1 (so the "
                             f"overdose interval [b, 1] lies inside (0, 1]), got ({lo:g}, {hi:g})")
        self.intervals = (lo, hi)
        self.ewoc = V.probability(ewoc, "ewoc")
        self.max_increase = None if max_increase is None else V.nonnegative(max_increase, "max_increase")
        self.max_step_levels = None if max_step_levels is None else V.integer(max_step_levels, "max_step_levels",
                                                                               minimum=1)
        self.min_at_mtd = None if min_at_mtd is None else V.integer(min_at_mtd, "min_at_mtd", minimum=1)
        if self.max_increase is not None:
            for i, (a, b) in enumerate(zip(self.amounts, self.amounts[1:]), start=1):
                if b > (1 + self.max_increase) * a * (1 + 1e-12):
                    raise ValueError(
                        f"dose {i + 1} ({b:g}) is {b / a - 1:.0%} above dose {i} ({a:g}), more than max_increase = "
                        f"{self.max_increase:g} ({self.max_increase:.0%}) allows: the trial could never escalate past "
                        f"dose {i}; raise max_increase (or set it to None and use max_step_levels)")
        self._x = np.log(np.asarray(self.amounts) / self.reference_dose)
        self._cache: dict = {}

    # ------------------------------------------------------------------ posterior
    def _grid(self, n, y) -> _Grid:
        n = np.asarray(n, dtype=float)
        y = np.asarray(y, dtype=float)
        mean, cov = self.prior.mean, self.prior.cov
        grid = None
        for _ in range(_PASSES):
            grid = _Grid(self.prior, self._x, n, y, mean, cov)
            m2, c2 = grid.moments()
            # Floor at a quarter cell of the current grid, so a posterior narrower than
            # one cell is zoomed in on at the next pass.
            L = np.array([[grid.l11, grid.l21], [0.0, grid.l22]])
            c2 = c2 + (grid.h / 4) ** 2 * (L.T @ L)
            sd_old, sd_new = np.sqrt(np.diag(cov)), np.sqrt(np.diag(c2))
            settled = (np.all(np.abs(m2 - mean) < 0.02 * sd_new) and np.all(np.abs(sd_new / sd_old - 1) < 0.02))
            mean, cov = m2, c2
            if settled:
                break
        return grid

    def posterior(self, state: TrialState) -> BLRMPosterior:
        """Interval probabilities, means and EWOC per dose for ``state``."""
        self._check_state(state)
        key = (state.n_at_dose, state.tox_at_dose)
        hit = self._cache.get(key)
        if hit is not None:
            return hit[0]
        grid = self._grid(state.n_at_dose, state.tox_at_dose)
        below = grid.prob_below(self.intervals)                # (D, 2)
        w = (grid.w / grid.w.sum()).ravel()
        p = expit(grid.eta).reshape(w.size, -1)
        mean = w @ p
        sd = np.sqrt(np.maximum(w @ (p * p) - mean ** 2, 0.0))
        under, over = below[:, 0], 1.0 - below[:, 1]
        target = np.clip(below[:, 1] - below[:, 0], 0.0, 1.0)
        m, c = grid.moments()
        post = BLRMPosterior(tuple(map(float, mean)), tuple(map(float, sd)), tuple(map(float, under)),
                             tuple(map(float, target)), tuple(map(float, over)),
                             tuple(bool(o <= self.ewoc) for o in over), (float(m[0]), float(m[1])),
                             ((float(c[0, 0]), float(c[0, 1])), (float(c[1, 0]), float(c[1, 1]))))
        if len(self._cache) >= _CACHE:
            self._cache.clear()
        self._cache[key] = (post, grid)
        return post

    def _grid_for(self, state: TrialState) -> _Grid:
        self.posterior(state)
        return self._cache[(state.n_at_dose, state.tox_at_dose)][1]

    def tox_estimates(self, state: TrialState) -> tuple[float | None, ...]:
        """Posterior mean DLT rate at each dose."""
        return self.posterior(state).mean

    def prob_tox_exceeds(self, state: TrialState, threshold: float) -> tuple[float | None, ...]:
        """Posterior Pr(p_d > threshold) at each dose."""
        threshold = V.probability(threshold, "threshold")
        below = self._grid_for(state).prob_below([threshold])[:, 0]
        return tuple(float(1.0 - b) for b in below)

    def quantiles(self, state: TrialState, probs=(0.025, 0.5, 0.975)) -> np.ndarray:
        """Posterior quantiles of p_d, shape (D, len(probs)) (from the CDF on 801 cut points)."""
        cuts = expit(np.linspace(-12, 12, 801))
        cdf = self._grid_for(state).prob_below(cuts)
        return np.array([[float(np.interp(q, np.maximum.accumulate(row), cuts)) for q in probs] for row in cdf])

    # ------------------------------------------------------------------ rules
    def _step_cap(self, state: TrialState) -> int:
        hi = state.max_tried_index
        if hi is None:
            hi = self.start_index
        cap = self.num_doses - 1
        if self.max_increase is not None:
            limit = (1 + self.max_increase) * self.amounts[hi] * (1 + 1e-12)
            cap = min(cap, max(i for i, a in enumerate(self.amounts) if a <= limit))
        if self.max_step_levels is not None:
            cap = min(cap, hi + self.max_step_levels)
        return cap

    def _best(self, post: BLRMPosterior, allowed) -> int | None:
        cand = [i for i in allowed if post.ewoc_ok[i]]
        if not cand:
            return None
        return max(cand, key=lambda i: (post.prob_target[i], -i))

    def _decide(self, state: TrialState) -> Decision:
        post = self.posterior(state)
        cap = self._step_cap(state)
        best = self._best(post, range(self.num_doses))
        nxt = self._best(post, range(cap + 1))
        if nxt is None:
            return _decision("no_safe_dose", None, self._no_safe_text(post), state)
        lvl = to_level(nxt)
        why = (f"dose {lvl} has the highest Pr(target) ({post.prob_target[nxt]:.3f}) among doses with "
               f"Pr(overdose) <= {self.ewoc:g}; its Pr(overdose) is {post.prob_overdose[nxt]:.3f}")
        if self.min_at_mtd is not None and state.n_at_dose[nxt] >= self.min_at_mtd:
            return _decision("enough_at_mtd", None, f"stop: {why}, and it has {state.n_at_dose[nxt]} patients "
                                                    f"(min_at_mtd = {self.min_at_mtd}); MTD dose {lvl}", state)
        if best is not None and best > cap:
            return _decision("step_capped", nxt, f"{why}, within the maximum escalation step (dose "
                                                 f"{to_level(best)} would be best but is beyond it)", state)
        return _decision("ewoc_best", nxt, why, state)

    def _no_safe_text(self, post: BLRMPosterior) -> str:
        return (f"stop: no dose satisfies EWOC; Pr(overdose at dose 1) = {post.prob_overdose[0]:.3f} "
                f"exceeds {self.ewoc:g}")

    def select_mtd(self, state: TrialState) -> MTDSelection:
        post = self.posterior(state)
        details = dict(prob_underdose=post.prob_underdose, prob_target=post.prob_target,
                       prob_overdose=post.prob_overdose, ewoc_ok=post.ewoc_ok, sd=post.sd,
                       intervals=self.intervals, ewoc=self.ewoc)
        tried = [i for i in range(self.num_doses) if state.n_at_dose[i] > 0]
        mtd = self._best(post, tried)
        if mtd is None:
            why = ("no MTD: no dose given yet" if not tried else
                   f"no MTD: no dose given satisfies EWOC (Pr(overdose) <= {self.ewoc:g})")
            return MTDSelection(None, post.mean, why, details)
        return MTDSelection(mtd, post.mean, f"dose {to_level(mtd)} has the highest Pr(target) "
                            f"({post.prob_target[mtd]:.3f}) among doses given that satisfy EWOC", details)

    # ------------------------------------------------------------------ description
    def params(self) -> dict:
        return {"doses": list(self.amounts), "prior": self.prior.to_dict(), "reference_dose": self.reference_dose,
                "intervals": list(self.intervals), "ewoc": self.ewoc, "max_increase": self.max_increase,
                "max_step_levels": self.max_step_levels, "min_at_mtd": self.min_at_mtd,
                "cohort_size": self.cohort_size, "max_n": self.max_n, "start_dose": self.start_dose}

    def describe(self) -> str:
        lo, hi = self.intervals
        comps = self.prior.n_components
        text = (f"Doses are assigned by a two-parameter Bayesian logistic regression model (Neuenschwander, "
                f"Branson and Gsponer 2008), logit p(d) = log(alpha) + beta log(d / {self.reference_dose:g}), with a "
                f"{'bivariate normal' if comps == 1 else f'{comps}-component bivariate normal mixture'} prior on "
                f"(log alpha, log beta), and escalation with overdose control: after each cohort of "
                f"{self.cohort_size}, a dose is eligible only if the posterior probability that its DLT rate is "
                f"in the overdose interval [{hi:g}, 1] is at most {self.ewoc:g}, and the next cohort receives the "
                f"eligible dose with the highest probability of a DLT rate in the target interval "
                f"[{lo:g}, {hi:g}); the trial starts at dose {self.start_dose}.")
        limits = []
        if self.max_increase is not None:
            limits.append(f"at most {1 + self.max_increase:g} times the highest dose given so far")
        if self.max_step_levels is not None:
            limits.append(f"at most {self.max_step_levels} level(s) above the highest dose given")
        if limits:
            text += " Escalation is to " + " and ".join(limits) + "."
        text += " The trial stops with no MTD when no dose satisfies the overdose criterion."
        if self.min_at_mtd is not None:
            text += f" It stops when the dose chosen next has already been given to {self.min_at_mtd} patients."
        if self.max_n is not None:
            text += f" The maximum sample size is {self.max_n}."
        return text


def expit(x):
    from scipy.special import expit as f  # lazily: scipy.special costs CLI start-up time

    return f(x)


def logit(p):
    from scipy.special import logit as f

    return f(p)


#: Decision kinds, one place each, with the typed code of the stops.
_STOP_CODES = {"no_safe_dose": ReasonCode.LOWEST_TOO_TOXIC, "enough_at_mtd": ReasonCode.N_AT_DOSE}
_KINDS = ("ewoc_best", "step_capped", *_STOP_CODES)


def _decision(kind: str, dose_index: int | None, reason: str, state: TrialState) -> Decision:
    if kind not in _KINDS:
        raise ValueError(f"unknown BLRM decision kind {kind!r}")
    if dose_index is None:
        return Decision.halt(reason, _STOP_CODES[kind])
    cur = state.current_index
    code = ReasonCode.ESCALATE if dose_index > cur else (
        ReasonCode.DE_ESCALATE if dose_index < cur else ReasonCode.STAY)
    return Decision.treat(dose_index, reason, code)
