r"""Time-to-event continual reassessment method (TITE-CRM), as in the R package dfcrm.

Idea
----
The TITE-CRM (Cheung & Chappell 2000) lets a CRM trial enrol the next patient while
earlier patients are still inside their DLT window.  A patient who has been followed for
``u`` of the ``W`` days of the window without a DLT counts as a *fraction* of a non-DLT:
the binomial likelihood is replaced by the weighted likelihood

.. math::

    L(\beta) = \prod_{j} p_{d_j}(\beta)^{y_j} \{1 - w_j\, p_{d_j}(\beta)\}^{1 - y_j},

where :math:`y_j` is 1 if a DLT has been observed, :math:`w_j \in [0, 1]` the patient's
weight and :math:`d_j` the dose infused.  A patient with a DLT, or with complete follow-up,
has weight 1, so with every patient complete the TITE-CRM is exactly the CRM
(:class:`~dosefind.designs.crm.CRM`, same model, prior and restrictions).

Weights (dfcrm ``titecrm(scheme=...)``)
---------------------------------------
* ``scheme="linear"``: :math:`w_j = \min(u_j / W, 1)`.
* ``scheme="adaptive"`` (Cheung & Chappell 2000, section 2.2): with
  :math:`t_{(1)} \le \dots \le t_{(z)}` the days of the DLTs observed so far and
  :math:`m_j` the number of them at or before :math:`u_j`,
  :math:`w_j = \{m_j + (u_j - t_{(m_j)}) / (t_{(m_j+1)} - t_{(m_j)})\} / (z + 1)` with
  :math:`t_{(0)} = 0` and :math:`t_{(z+1)} = W` (so :math:`w_j = u_j / \{t_{(1)}(z+1)\}`
  before the first DLT time); with no DLT yet it is the linear weight.  Capped at 1.
* a patient with a DLT has weight 1 (dfcrm: ``weights[tox == 1] <- 1``); so has a complete
  patient.  Pending patients need their follow-up (``Patient.followup``, days); the
  adaptive scheme also needs the day of each DLT (``Patient.followup`` of a DLT patient).

Model, estimation and the integration range
-------------------------------------------
The working models are the CRM's (``model="empiric"``: :math:`p_i = s_i^{\exp\beta}`;
``"logistic"``: :math:`\mathrm{logit}\, p_i = a + e^\beta x_i`), with
:math:`\beta \sim N(0, \sigma^2)`, ``prior_var`` :math:`= \sigma^2` (dfcrm ``scale^2``).
The model code and the quadrature grid are imported from :mod:`dosefind.designs.crm`.

* ``method="bayes"``: as dfcrm ``titecrm``, the estimate is
  :math:`\hat\beta = \int_{-10}^{10} \beta\, \pi(\beta) L(\beta)\, d\beta \big/
  \int_{-\infty}^{\infty} \pi(\beta) L(\beta)\, d\beta`, i.e. **the numerator is
  integrated over [-10, 10] and the normalising constant over the whole line**; the
  posterior variance is :math:`\int_{-10}^{10}\beta^2 \pi L / \int \pi L - \hat\beta^2`.
  With the default prior (sd 1.16) the truncation changes nothing visible (the prior mass
  beyond 10 is below 1e-17); it matters for the dispersed prior below.
* ``method="mle"``: :math:`\hat\beta` maximises :math:`\log L` on [-10, 10] (dfcrm's
  ``optimize`` interval; dfcrm's tolerance is 1e-4 in beta, ours is exact).  The variance
  is dfcrm's: :math:`\int_{-10}^{10}\beta^2 \pi_{500} L / \int_{-10}^{10} \pi_{500} L -
  \hat\beta^2` with a N(0, 500^2) prior.  When no DLT or only DLTs have been observed
  (dfcrm: "mle does not exist") the estimate is the Bayes estimate above under the
  dispersed N(0, 500^2) prior, with dfcrm's truncated numerator, as ``titesim`` does
  (``titecrm(..., scale = 500)``).

Integrals use the CRM's trapezoid grid, on [-10, 10] with every other node (step 0.08;
used while prior_var <= 1.96, when the prior mass beyond 10 is below 1e-12), or the whole CRM grid with its analytic tails
for the dispersed N(0, 500^2) prior; they agree with R's adaptive ``integrate`` to better
than 1e-6 (tests compare with scipy's ``quad`` on dfcrm's integrands).

Recommendation and restrictions (dfcrm ``titesim``)
---------------------------------------------------
The recommended dose is dfcrm's: closest to the target on the plug-in estimates
:math:`p_i(\hat\beta)`, the top dose if every estimate is <= target, dose 1 if every
estimate is >= target.  With ``restrict=True`` (default, as ``titesim``) escalation is by
at most one level above the current dose.  dfcrm's help page says ``restrict`` also
forbids escalation right after a toxic outcome, but ``titesim``'s code applies only the
no-skipping rule (``cur <- min(obj$mtd, cur + 1)``); we follow the code, so
``escalate_after_dlt`` defaults to True.  ``escalate_after_dlt=False`` adds the CRM's
coherence rule (no escalation when the DLTs observed so far among the last ``cohort_size``
patients, divided by ``cohort_size``, are at least the target), which makes the design with complete data
identical to ``CRM(restrict=True)``.  The trial stops at ``max_n`` patients; dfcrm has
no other stopping rule (compose :class:`~dosefind.designs.modifiers.StopWhenTooToxic`,
which asks :meth:`TITECRM.prob_tox_exceeds`).

The final MTD (:meth:`TITECRM.select_mtd`) is the recommendation from the same fit.
``titesim`` selects after following every patient for the whole window (weights 1); an
engine should do the same (a state with pending patients is fitted with its weights).

Parameters
----------
skeleton : sequence of float
    Strictly increasing prior DLT rates in (0, 1), one per dose.
target : float
    Target DLT rate in (0, 1).
dlt_window : float
    Length W of the DLT assessment window in days (> 0; dfcrm ``obswin``).
scheme : {"linear", "adaptive"}
    Weight function (dfcrm ``scheme``).
model, prior_var, intercept, method, conf_level : as :class:`~dosefind.designs.crm.CRM`.
cohort_size : int
    Patients per cohort (default 1, as ``titesim``).

References
----------
Cheung YK, Chappell R. Sequential designs for phase I clinical trials with late-onset
toxicities. Biometrics 2000;56:1177-1182.

Cheung YK. Dose Finding by the Continual Reassessment Method. Chapman & Hall/CRC 2011
(chapter on the TITE-CRM).

Cheung YK. dfcrm: Dose-Finding by the Continual Reassessment Method. R package 0.2-2.1
(functions ``titecrm`` and ``titesim``).

Example
-------
Three patients complete at dose 1; at dose 2 a DLT on day 10 and one patient pending
after 7 of 28 days (weight 0.25):

>>> from dosefind import TrialState
>>> design = TITECRM([0.05, 0.12, 0.25, 0.40, 0.55], target=0.25, dlt_window=28)
>>> state = TrialState.from_records([1, 1, 1, 2, 2], [0, 0, 0, 1, 0], num_doses=5,
...                                 followup=[28, 28, 28, 10, 7],
...                                 complete=[True, True, True, True, False])
>>> design.decide(state).next_dose
2
>>> [round(p, 3) for p in design.tox_estimates(state)]
[0.16, 0.274, 0.429, 0.571, 0.694]
"""

from __future__ import annotations

import math

import numpy as np

from dosefind import _validate as V
from dosefind._normal import ndtr, ndtri
from dosefind.designs.base import Design
from dosefind.designs.crm import CRM, _Quadrature
from dosefind.designs.tite_boin import _per_dose
from dosefind.state import Decision, DoseLevels, MTDSelection, Patient, TrialState, to_level
from dosefind.state import ReasonCode as R

__all__ = ["TITECRM", "tite_weights"]

_BOUND = 10.0          # dfcrm: numerator integrals and the MLE search run over [-10, 10]
_DISPERSED_SD = 500.0  # dfcrm titesim's prior sd when the MLE does not exist
_SCHEMES = ("linear", "adaptive")
#: Internal codes of the rule (``TITECRM._rule``).
REASONS = {0: "model recommendation", 1: "capped one level above the current dose (no skipping)",
           2: "capped at the current dose (no escalation after a DLT)"}


def tite_weights(followup, dlt, window: float, scheme: str = "linear") -> np.ndarray:
    """dfcrm ``titecrm``'s patient weights for one trial.

    ``followup`` holds each patient's days of follow-up (for a patient with a DLT, the day
    of the DLT), ``dlt`` 0/1.  Returns weights in [0, 1]; DLT patients get 1.

    >>> tite_weights([28, 14, 7], [0, 0, 0], 28).tolist()
    [1.0, 0.5, 0.25]
    """
    window = V.positive(window, "dlt_window")
    if scheme not in _SCHEMES:
        raise ValueError(f"scheme must be 'linear' or 'adaptive', got {scheme!r}")
    u = np.asarray(followup, dtype=float)
    y = np.asarray(dlt, dtype=int)
    if u.shape != y.shape or u.ndim != 1:
        raise ValueError(f"followup and dlt must be 1-d arrays of the same length, got {u.shape} and {y.shape}")
    if np.any(~np.isfinite(u)) or np.any(u < 0):
        raise ValueError("followup must hold days >= 0 (finite numbers)")
    return _weights(u[None], (y == 1)[None], window, scheme)[0]


def _weights(u, is_dlt, window: float, scheme: str) -> np.ndarray:
    """Weights for B trials at once: follow-up ``u`` (B, K), DLT flags ``is_dlt`` (B, K)
    (False for padding).  Adaptive: for each patient, m = DLT times <= u, lo/hi the DLT
    times around u (0 and W at the ends), z DLTs in the trial."""
    w = u / window
    if scheme == "adaptive" and is_dlt.any():
        t = np.where(is_dlt, u, np.inf)[:, None, :]               # (B, 1, K) DLT times
        le = t <= u[:, :, None]                                     # (B, K, K)
        m = le.sum(2)
        z = is_dlt.sum(1)[:, None]
        lo = np.where(le, t, 0.0).max(2)
        hi = np.where(~le & is_dlt[:, None, :], t, window).min(2)
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(hi > lo, (u - lo) / (hi - lo), 1.0)     # hi == lo only when u >= t_(z) = W
        w = np.where(z > 0, (m + frac) / (z + 1), w)
    w = np.minimum(w, 1.0)
    return np.where(is_dlt, 1.0, w)


class TITECRM(Design):
    """Time-to-event CRM (dfcrm's ``titecrm`` and ``titesim``); see the module docstring."""

    name = "TITE-CRM"
    memory = "patients"

    def __init__(self, skeleton, target: float, *, dlt_window: float, scheme: str = "linear",
                 model: str = "empiric", prior_var: float = 1.34, intercept: float = 3.0, method: str = "bayes",
                 cohort_size: int = 1, max_n: int | None = None, start_dose: int = 1, restrict: bool = True,
                 skip_escalation: bool | None = None, escalate_after_dlt: bool | None = None,
                 conf_level: float = 0.90, doses: DoseLevels | None = None):
        if dlt_window is None:
            raise ValueError("dlt_window must be given: the DLT assessment window in days (a number > 0)")
        self.dlt_window = V.positive(dlt_window, "dlt_window")
        if scheme not in _SCHEMES:
            raise ValueError(f"scheme must be 'linear' or 'adaptive', got {scheme!r}")
        self.scheme = scheme
        restrict = V.boolean(restrict, "restrict")
        skip = (not restrict) if skip_escalation is None else V.boolean(skip_escalation, "skip_escalation")
        after = True if escalate_after_dlt is None else V.boolean(escalate_after_dlt, "escalate_after_dlt")
        # The CRM validates the model options and holds the working model and quadrature grid.
        self._crm = CRM(skeleton, target, model=model, prior_var=prior_var, intercept=intercept, method=method,
                        cohort_size=cohort_size, max_n=max_n, start_dose=start_dose, restrict=restrict,
                        skip_escalation=skip, escalate_after_dlt=after, conf_level=conf_level, doses=doses)
        crm = self._crm
        super().__init__(crm.num_doses, cohort_size=cohort_size, max_n=max_n, start_dose=start_dose, doses=doses)
        self.skeleton, self.target, self.model, self.method = crm.skeleton, crm.target, crm.model, crm.method
        self.prior_var, self.intercept, self.conf_level = crm.prior_var, crm.intercept, crm.conf_level
        self.restrict, self.skip_escalation, self.escalate_after_dlt = restrict, skip, after
        # Thin grid when the prior mass beyond +/-10 is negligible (< 1e-12), else the CRM's.
        self._quad = _Grid(crm._quad, stride=2) if crm._quad.sd <= 1.4 else crm._quad
        self._quad_dispersed = _Quadrature(crm, _DISPERSED_SD)
        # (grid, dfcrm's [-10, 10] trapezoid factors) for the design's prior and the dispersed one
        self._prior_grid = (self._quad, _restricted_weights(self._quad.b))
        self._dispersed_grid = (self._quad_dispersed, _restricted_weights(self._quad_dispersed.b))

    # ------------------------------------------------------------------ data
    def state_arrays(self, state: TrialState):
        """One state as the engine's padded arrays, shape (1, K): dose, dlt, followup,
        complete (dfcrm's data: level, tox, followup)."""
        pts = state.patients
        if not pts and state.total_n:             # built from counts: every patient complete
            pts = [Patient(d, int(k < y)) for d, (n, y) in enumerate(zip(state.n_at_dose, state.tox_at_dose))
                   for k in range(n)]
        for p in pts:
            if not p.complete and p.followup is None:
                raise ValueError("TITE-CRM needs the follow-up (days) of every pending patient; "
                                 "a pending Patient has followup=None")
        dose = np.array([[p.dose_index for p in pts]], dtype=np.int64).reshape(1, -1)
        dlt = np.array([[p.dlt for p in pts]], dtype=np.int8).reshape(1, -1)
        follow = np.array([[np.nan if p.followup is None else p.followup for p in pts]], dtype=float).reshape(1, -1)
        complete = np.array([[p.complete for p in pts]], dtype=bool).reshape(1, -1)
        return dose, dlt, follow, complete

    def likelihood_arrays(self, dose, dlt, followup, complete):
        """The weighted likelihood's data for B trials from padded patient arrays (B, K)
        (dose -1: no patient): ``(n_full, y, pending_dose, pending_weight)`` with ``n_full``
        (B, D) the weight-1 patients (complete, or with a DLT) per dose, ``y`` (B, D) the
        DLTs, and (B, K) the pending patients' doses (-1 elsewhere) and weights (0
        elsewhere)."""
        dose = np.asarray(dose, dtype=np.int64)
        valid = dose >= 0
        is_dlt = valid & (np.asarray(dlt) == 1)
        done = valid & (np.asarray(complete, dtype=bool) | is_dlt)
        pending = valid & ~done
        n_full = _per_dose(np.where(done, dose, -1), self.num_doses)
        y = _per_dose(np.where(is_dlt, dose, -1), self.num_doses)
        u = np.asarray(followup, dtype=float)
        if pending.any():
            if self.scheme == "adaptive" and np.isnan(np.where(is_dlt, u, 0.0)).any():
                raise ValueError("the adaptive weights need the day of every observed DLT "
                                 "(Patient.followup of each patient with a DLT)")
            w = _weights(np.where(pending | is_dlt, u, 0.0), is_dlt, self.dlt_window, self.scheme)
        else:
            w = np.zeros(dose.shape)
        return n_full, y, np.where(pending, dose, -1), np.where(pending, w, 0.0)

    def patient_arrays(self, state: TrialState):
        """``likelihood_arrays`` of one state, without the batch axis (pending patients only)."""
        n, y, pd, pw = self.likelihood_arrays(*self.state_arrays(state))
        keep = pd[0] >= 0
        return n[0], y[0], pd[0][keep], pw[0][keep]

    # ------------------------------------------------------------------ weighted fit (arrays over T trials)
    def _loglik(self, quad: _Quadrature, n, y, pdose, pw):
        """Weighted log-likelihood on the grid (T, G) and its limits as beta -> -inf / +inf."""
        ll = np.hstack([y, n - y]) @ quad.log_both
        for k in range(pw.shape[1]):                         # one pending slot at a time: (T, G) memory
            ll += np.log1p(-pw[:, k, None] * quad.p[pdose[:, k]])
        Y, N = y.sum(1), n.sum(1)
        ll_right = np.where(Y == 0, 0.0, -np.inf)            # p -> 0
        pl = self._crm._p_left                               # p -> pl as beta -> -inf
        with np.errstate(divide="ignore"):
            if self.model == "empiric":                      # pl = 1: any complete non-DLT gives 0
                ll_left = np.where(N - Y > 0, -np.inf, np.log1p(-pw).sum(1))
            else:
                ll_left = Y * math.log(pl) + (N - Y) * math.log1p(-pl) + np.log1p(-pw * pl).sum(1)
        return ll, ll_left, ll_right

    def _posterior(self, grid, n, y, pdose, pw):
        """Integrand f on the grid (trapezoid weights included) and the normaliser z over the
        whole line; ``m1``/``m2`` are dfcrm's truncated moments (numerator on [-10, 10])."""
        quad, rw = grid
        ll, ll_left, ll_right = self._loglik(quad, n, y, pdose, pw)
        m = np.maximum(ll.max(1), np.maximum(ll_left, ll_right))
        f = np.exp(ll - m[:, None] + quad.log_w)
        cl, cr = np.exp(ll_left - m), np.exp(ll_right - m)
        z = f.sum(1) + cl * quad.tail_left[0] + cr * quad.tail_right[0]
        return f, cl, z, (f @ (rw * quad.b)) / z, (f @ (rw * quad.b ** 2)) / z, (f @ rw) / z

    def fit_arrays(self, n, y, pending_dose, pending_weight):
        """beta estimate and its variance for T trials (arrays (T, D), (T, D), (T, P), (T, P);
        pad unused pending slots with dose -1 and weight 0).  Returns a dict with ``beta``, ``var``,
        ``approx`` (MLE replaced by the dispersed-prior estimate) and the posterior pieces
        used by :meth:`prob_tox_exceeds`."""
        n = np.atleast_2d(np.asarray(n, dtype=float))
        y = np.atleast_2d(np.asarray(y, dtype=float))
        pdose = np.asarray(pending_dose, dtype=int).reshape(len(n), -1)
        pw = np.asarray(pending_weight, dtype=float).reshape(len(n), -1)
        # Pending patients first in each row, then drop the all-padding columns: the
        # likelihood loops over pending slots.
        real = pdose >= 0
        order = np.argsort(~real, axis=1, kind="stable")[:, :int(real.sum(1).max(initial=0))]
        pdose, pw = np.take_along_axis(pdose, order, 1), np.take_along_axis(pw, order, 1)
        f, cl, z, m1, m2, _ = self._posterior(self._prior_grid, n, y, pdose, pw)
        out = {"f": f, "cl": cl, "z": z, "approx": np.zeros(len(n), bool)}
        if self.method == "bayes":
            out["beta"], out["var"] = m1, m2 - m1 ** 2
            return out
        Y, N = y.sum(1), n.sum(1) + np.count_nonzero(pdose >= 0, axis=1)   # dfcrm: length(tox), pending included
        approx = (Y == 0) | (Y == N)
        _, _, _, d1, d2, d0 = self._posterior(self._dispersed_grid, n, y, pdose, pw)
        mle = self._mle(n, y, pdose, pw)
        # dfcrm: approximated MLE = dispersed Bayes (truncated numerator / full normaliser);
        # variance of the MLE = E[beta^2] - mle^2 with both integrals on [-10, 10].
        out["beta"] = np.where(approx, d1, mle)
        out["var"] = np.maximum(np.where(approx, d2 - d1 ** 2, d2 / d0 - mle ** 2), 0.0)
        out["approx"] = approx
        return out

    def _mle(self, n, y, pdose, pw, iters: int = 60):
        """Maximiser of the weighted log-likelihood on [-10, 10]: grid, then golden section."""
        quad = self._quad_dispersed
        inside = np.abs(quad.b) <= _BOUND + 1e-9
        ll, _, _ = self._loglik(quad, n, y, pdose, pw)
        grid = quad.b[inside]
        k = ll[:, inside].argmax(1)
        h = quad.b[1] - quad.b[0]
        lo, hi = np.maximum(grid[k] - h, -_BOUND), np.minimum(grid[k] + h, _BOUND)
        T = len(n)
        rows = np.arange(T)

        def loglik(b):
            lp, l1 = self._crm._log_probs(b)                 # (D, T)
            v = (y * lp.T).sum(1) + ((n - y) * l1.T).sum(1)
            p = np.exp(lp)
            for j in range(pw.shape[1]):
                v = v + np.log1p(-pw[:, j] * p[pdose[:, j], rows])
            return v

        r = (math.sqrt(5) - 1) / 2
        c, d = hi - r * (hi - lo), lo + r * (hi - lo)
        fc, fd = loglik(c), loglik(d)
        for _ in range(iters):
            left = fc >= fd
            hi, lo = np.where(left, d, hi), np.where(left, lo, c)
            c_new, d_new = hi - r * (hi - lo), lo + r * (hi - lo)
            c, d = np.where(left, c_new, d), np.where(left, c, d_new)
            f_new = loglik(np.where(left, c, d))
            fc, fd = np.where(left, f_new, fd), np.where(left, fc, f_new)
        return (lo + hi) / 2

    def _state_fit(self, state: TrialState):
        n, y, pd, pw = self.patient_arrays(state)
        return self.fit_arrays(n[None], y[None], pd[None], pw[None]), len(pw)

    # ------------------------------------------------------------------ rule (arrays), scalar = batch of one
    def _rule(self, est, cur, last_tox):
        """dfcrm's recommendation and titesim's restrictions for T trials: (next index, code)."""
        rec = self._crm._recommend(est)
        code = np.zeros(len(rec), dtype=int)
        if not self.escalate_after_dlt:
            block = (np.maximum(last_tox, 0) / self.cohort_size >= self.target) & (rec > cur)
            rec, code = np.where(block, cur, rec), np.where(block, 2, code)
        if not self.skip_escalation:
            cap = rec > cur + 1
            rec, code = np.where(cap, cur + 1, rec), np.where(cap, 1, code)
        return rec, code

    def _core(self, dose, dlt, followup, complete, current_index):
        """The rule for B trials from padded patient arrays: next index, code (REASONS), the
        plug-in estimates and the likelihood data.  Scalar ``decide`` is a batch of one."""
        n, y, pd, pw = self.likelihood_arrays(dose, dlt, followup, complete)
        cur = np.asarray(current_index, dtype=np.int64).reshape(-1)
        last_tox = _last_cohort_tox(np.asarray(dose, dtype=np.int64), np.asarray(dlt), self.cohort_size)
        fit = self.fit_arrays(n, y, pd, pw)
        est = self._crm.prob_tox(fit["beta"])
        rec, code = self._rule(est, cur, last_tox)
        return rec, code, est, last_tox, pw

    def decide_patients_batch(self, dose, dlt, followup, complete, current_index, time=None):
        """:meth:`decide` for B trials from the calendar engine's padded arrays (
        :mod:`dosefind.simulations.calendar`): ``dose`` (B, K) 0-based, -1 for no patient; ``dlt``,
        ``followup`` (days; DLT patients: the day of the DLT), ``complete`` (B, K);
        ``current_index`` (B,).  Returns ``(next_index, action, codes)``: action 0 treat,
        2 stop (max_n); codes are ReasonCode members."""
        dose = np.asarray(dose, dtype=np.int64)
        B = dose.shape[0]
        total = (dose >= 0).sum(1)
        nxt = np.full(B, -1, dtype=np.int64)
        action = np.zeros(B, dtype=np.int8)
        codes = np.empty(B, dtype=object)
        full = (total >= self.max_n) if self.max_n is not None else np.zeros(B, bool)
        action[full], codes[full] = 2, R.MAX_N
        todo = np.flatnonzero(~full)
        if todo.size:
            cur = np.asarray(current_index, dtype=np.int64).reshape(-1)[todo]
            rec, why, _, _, _ = self._core(dose[todo], np.asarray(dlt)[todo], np.asarray(followup)[todo],
                                           np.asarray(complete)[todo], cur)
            nxt[todo] = rec
            codes[todo] = np.where(why == 2, R.STAY, np.where(rec > cur, R.ESCALATE,
                                                              np.where(rec < cur, R.DE_ESCALATE, R.STAY)))
        return nxt, action, list(codes)

    def _decide(self, state: TrialState) -> Decision:
        cur = state.current_index
        rec, why, est, last_tox, pw = self._core(*self.state_arrays(state), [cur])
        nxt, why, last_tox = int(rec[0]), int(why[0]), int(last_tox[0])
        best = int(self._crm._recommend(est)[0])
        n_pending = state.n_pending
        text = (f"estimated DLT rate {est[0, best]:.3f} at dose {to_level(best)} is closest to the target "
                f"{self.target:g}")
        if n_pending:
            weights = [w for p, w in zip(state.patients, pw[0]) if not p.complete]
            text += (f" (weighted likelihood: {n_pending} pending patient(s), weights "
                     + ", ".join(f"{w:.2f}" for w in weights) + ")")
        if why == 2:
            return Decision.treat(nxt, text + f"; no escalation after {last_tox} DLT(s) in the last cohort, stay at "
                                             f"dose {to_level(nxt)}", R.STAY)
        if why == 1:
            return Decision.treat(nxt, text + f"; escalate one level only, to dose {to_level(nxt)}", R.ESCALATE)
        return Decision.treat(nxt, text, R.ESCALATE if nxt > cur else (R.DE_ESCALATE if nxt < cur else R.STAY))

    def select_mtd_batch(self, n_at_dose, tox_at_dose, **_):
        """Final MTDs (0-based) from complete data (every weight 1), as :meth:`select_mtd`."""
        n = np.atleast_2d(np.asarray(n_at_dose, dtype=float))
        y = np.atleast_2d(np.asarray(tox_at_dose, dtype=float))
        out = np.empty(len(n), dtype=np.int64)
        for s0 in range(0, len(n), 2048):
            sl = slice(s0, s0 + 2048)
            none = np.full((len(n[sl]), 0), -1)
            fit = self.fit_arrays(n[sl], y[sl], none, np.zeros(none.shape))
            out[sl] = self._crm._recommend(self._crm.prob_tox(fit["beta"]))
        return out

    # ------------------------------------------------------------------ shared estimate interface
    def tox_estimates(self, state: TrialState) -> tuple[float | None, ...]:
        """Plug-in DLT-rate estimates p_i(beta_hat) (dfcrm ``ptox``) from the weighted fit."""
        self._check_state(state)
        fit, _ = self._state_fit(state)
        return tuple(float(v) for v in self._crm.prob_tox(fit["beta"])[0])

    def prob_tox_exceeds(self, state: TrialState, threshold: float) -> tuple[float | None, ...]:
        """Posterior Pr(DLT rate at dose i > threshold | data) under the weighted likelihood
        and the design's Normal(0, prior_var) prior (normaliser over the whole line)."""
        self._check_state(state)
        t = V.probability(threshold, "threshold")
        fit, _ = self._state_fit(state)
        probs = self._prob_below(fit, self._b_star(t))
        return tuple(float(v) for v in probs[0])

    def _prob_below(self, fit, b_stars) -> np.ndarray:
        """Pr(beta < b*) for each b* (T, len(b_stars)): a cubic spline through prior x
        likelihood on the grid, integrated up to b* (error O(step^4), below 1e-7 here),
        plus the mass left of the grid where the likelihood is at its limit."""
        from scipy.interpolate import CubicSpline  # lazily: keeps CLI start-up fast

        quad = self._quad
        g = fit["f"] / quad.tw                                   # prior x likelihood / max, (T, G)
        spline = CubicSpline(quad.b, g.T, axis=0)
        left = fit["cl"] * quad.tail_left[0]
        out = np.empty((len(g), len(b_stars)))
        for j, bs in enumerate(b_stars):
            if bs <= quad.b[0]:
                out[:, j] = fit["cl"] * ndtr(bs / quad.sd) / fit["z"]
            elif bs >= quad.b[-1]:
                out[:, j] = 1.0
            else:
                out[:, j] = (spline.integrate(quad.b[0], bs) + left) / fit["z"]
        return np.clip(out, 0.0, 1.0)

    def _b_star(self, t: float) -> np.ndarray:
        """beta at which p_i(beta) = t (p_i decreases in beta): Pr(p_i > t) = Pr(beta < b*_i)."""
        x = self._crm._x
        if self.model == "empiric":
            return np.log(np.log(t) / np.log(x))
        ratio = (math.log(t / (1 - t)) - self.intercept) / x
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(ratio > 0, np.log(np.where(ratio > 0, ratio, 1.0)), -np.inf)

    def select_mtd(self, state: TrialState) -> MTDSelection:
        self._check_state(state)
        n, y, pd, pw = self.patient_arrays(state)
        fit = self.fit_arrays(n[None], y[None], pd[None], pw[None])
        beta, var = float(fit["beta"][0]), float(fit["var"][0])
        est = self._crm.prob_tox(fit["beta"])
        rec = int(self._crm._recommend(est)[0])
        zc = float(ndtri(0.5 + self.conf_level / 2))
        sd = math.sqrt(var)
        exceeds = self._prob_below(fit, self._b_star(self.target))[0]
        details = {"beta_mean": beta, "beta_var": var,
                   "lower": tuple(float(v) for v in self._crm.prob_tox(beta + zc * sd)),
                   "upper": tuple(float(v) for v in self._crm.prob_tox(beta - zc * sd)),
                   "prob_tox_exceeds": tuple(float(v) for v in exceeds), "conf_level": self.conf_level,
                   "method": self.method, "mle_approximated": bool(fit["approx"][0]),
                   "pending": len(pw), "pending_weights": tuple(float(w) for w in pw)}
        estimates = tuple(float(v) for v in est[0])
        return MTDSelection(rec, estimates, f"estimated DLT rate {est[0, rec]:.3f} at dose {to_level(rec)} is "
                                            f"closest to the target {self.target:g}", details)

    # ------------------------------------------------------------------ reporting
    def params(self) -> dict:
        return {"skeleton": list(self.skeleton), "target": self.target, "dlt_window": self.dlt_window,
                "scheme": self.scheme, "model": self.model, "prior_var": self.prior_var,
                "intercept": self.intercept, "method": self.method, "cohort_size": self.cohort_size,
                "max_n": self.max_n, "start_dose": self.start_dose, "restrict": self.restrict,
                "skip_escalation": self.skip_escalation, "escalate_after_dlt": self.escalate_after_dlt,
                "conf_level": self.conf_level}

    def describe(self) -> str:
        from dosefind.designs.crm import prior_text, skeleton_text

        skel = skeleton_text(self.skeleton)
        form = ("the empiric (power) working model p_i = s_i^exp(beta)" if self.model == "empiric" else
                f"the one-parameter logistic working model logit p_i = {self.intercept:g} + exp(beta) x_i")
        weights = ("linear weights (days of follow-up divided by the window)" if self.scheme == "linear" else
                   "the adaptive weights of Cheung and Chappell (2000), based on the observed times to DLT")
        fit = (f"beta is estimated by its posterior mean under a {prior_text(self.prior_var)}"
               if self.method == "bayes" else "beta is estimated by maximum likelihood")
        text = (f"Doses are assigned by the time-to-event continual reassessment method (TITE-CRM; Cheung and "
                f"Chappell 2000) targeting a DLT rate of {self.target:g} within a {self.dlt_window:g}-day DLT "
                f"window, using {form}, skeleton s = ({skel}). Patients still in their window without a DLT "
                f"enter the likelihood with {weights}; patients with a DLT or complete follow-up count fully. "
                f"Before each cohort of {self.cohort_size}, {fit} and the cohort receives the dose whose "
                f"estimated DLT rate is closest to the target; the trial starts at dose {self.start_dose}.")
        rules = []
        if not self.skip_escalation:
            rules.append("escalation is by at most one dose level above the current dose")
        if not self.escalate_after_dlt:
            rules.append("there is no escalation when the proportion of DLTs observed in the last cohort is at "
                         "least the target")
        if rules:
            joined = "; ".join(rules)
            text += " " + joined[0].upper() + joined[1:] + "."
        if self.max_n is not None:
            text += f" The maximum sample size is {self.max_n}."
        return text


class _Grid:
    """The CRM's prior grid (``crm._Quadrature``) cut to [-10, 10] and thinned to every
    ``stride``-th node (step 0.08): the part the posterior lives on.  The prior mass
    beyond +/-10 is below 1e-12 for prior sd <= 1.4 (used only then), so the tails are dropped; the
    trapezoid rule stays exponentially accurate (error ~ exp(-2 pi^2 sd_post^2 / step^2),
    below 1e-12 while the posterior sd of beta exceeds 0.1), and the engine's batch does
    a third of the CRM grid's work."""

    def __init__(self, quad: _Quadrature, stride: int = 2):
        keep = np.flatnonzero(np.abs(quad.b) <= _BOUND + 1e-9)[::stride]
        self.sd = quad.sd
        self.b = quad.b[keep]
        h = self.b[1] - self.b[0]
        tw = np.full(self.b.size, h)
        tw[[0, -1]] = h / 2
        self.tw = tw
        self.log_w = np.log(tw) + (quad.log_w - np.log(quad.tw))[keep]   # trapezoid x prior density
        self.p = quad.p[:, keep]
        self.log_both = quad.log_both[:, keep]
        self.tail_left = self.tail_right = np.zeros(3)


def _restricted_weights(b: np.ndarray) -> np.ndarray:
    """Factor turning the grid's full trapezoid weights into trapezoid weights on [-10, 10]:
    1 inside, 1/2 at the end nodes, 0 outside."""
    inside = np.abs(b) <= _BOUND + 1e-9
    rw = inside.astype(float)
    idx = np.flatnonzero(inside)
    rw[idx[0]] = rw[idx[-1]] = 0.5
    return rw


def _last_cohort_tox(dose: np.ndarray, dlt, cohort_size: int) -> np.ndarray:
    """DLTs observed among each trial's last ``cohort_size`` patients (padding, dose -1, is
    skipped): crmsim's ``sum(ynew)``, the last cohort's outcomes."""
    valid = dose >= 0
    from_end = np.cumsum(valid[:, ::-1], axis=1)[:, ::-1]              # valid patients at or after k
    last = valid & (from_end <= cohort_size)
    return (last & (np.asarray(dlt) == 1)).sum(1).astype(float)
