r"""Time-to-event BOIN (TITE-BOIN): BOIN decisions while DLT outcomes are still pending.

Idea
----
TITE-BOIN (Yuan, Lin, Li, Nie & Warren 2018) keeps BOIN's boundaries
:math:`\lambda_e, \lambda_d` (imported from :class:`~dosefind.designs.boin.BOIN`) but
compares them with an estimate of the DLT rate at the current dose that uses the partial
follow-up of patients whose DLT window is not over.  At the current dose let :math:`n` be
the patients treated, :math:`y` the DLTs observed, :math:`m` the patients pending (no DLT
yet, window not over) and :math:`\mathrm{STFT} = \sum_{\text{pending}} u_i / W` the
standardised total follow-up time (:math:`u_i` days followed, :math:`W` = ``dlt_window``).
With no pending patient the estimate is :math:`y/n` and the design **is** BOIN.

Two estimators (``estimator=``)
-------------------------------
* ``"ess"`` (default; the reference implementation, R package TITEgBOIN 0.4.0,
  ``next_TITE_QuasiBOIN`` as called by ``get_oc_TITE_QuasiBOIN``; Lin & Yuan 2020's
  approximated likelihood): :math:`\hat p = y / (n - m + \mathrm{STFT})`, the DLT count over
  the effective sample size (complete patients count 1, a pending patient :math:`u_i/W`).
* ``"imputation"`` (the paper, Yuan et al. 2018): single mean imputation of the pending
  outcomes under a uniform time to DLT and a Beta(:math:`\phi/2, 1-\phi/2`) prior,
  :math:`\hat p = \{y + \frac{\tilde\pi}{1-\tilde\pi}(m - \mathrm{STFT})\}/n` with
  :math:`\tilde\pi = (y + \phi/2)/(n - m + 1)`.  Coherence: with pending data the dose is
  de-escalated only if the observed rate :math:`y/n` exceeds the target (the imputed rate
  is never below :math:`y/n`, so escalation needs no such rule).  This reproduces the
  paper's decision table (target 0.2, as reprinted in PMC9260438, Table 1).

Rules, in order (for the next cohort; the trial starts at ``start_dose``)
------------------------------------------------------------------------
1. ``max_n`` patients treated: stop.
2. Elimination (as BOIN, Beta(1, 1) prior, n >= 3): dose j and all higher doses are
   eliminated when Pr(p_j > target | y_j, n_j) > ``cutoff_eli``, with :math:`n_j` counting
   every patient treated (pending ones as DLT-free, TITEgBOIN's choice).  Lowest dose
   eliminated: stop, no MTD.  ``extrasafe`` as BOIN.  Current dose eliminated: treat the
   highest dose below the eliminated ones.
3. Accrual suspension: if more than ``maxpen`` of the patients at the current dose are
   pending (:math:`m > \text{maxpen}\cdot n`), wait (``Decision.pause``, code
   ``WAIT_PENDING``) until more data arrive.  With ``estimator="imputation"`` the paper's
   table does not suspend when the observed data alone already require de-escalation
   (:math:`y/n \ge \lambda_d`).
4. Escalate if :math:`\hat p \le \lambda_e` (stay at the highest dose or below an
   eliminated one), de-escalate if :math:`\hat p \ge \lambda_d`, otherwise stay.  At the
   lowest dose with :math:`\hat p \ge \lambda_d` and pending patients, wait (TITEgBOIN:
   ``pending = 1``) instead of treating more patients there.
5. ``n_earlystop``: stop when the current dose has that many patients and the rule stays.

MTD selection (:meth:`TITEBOIN.select_mtd`) is TITEgBOIN's ``select_mtd_TITE_QuasiBOIN``:
BOIN's rule (isotonic regression on the admissible doses, closest to the target, the
package's 1e-10 tie-break) but with a Beta(0.005, 0.005) smoothing of the rates,
:math:`(y+0.005)/(n+0.01)`, where BOIN 2.7 uses 0.05 (``selection_prior``; with 0.05 the
selection is BOIN's own :meth:`~dosefind.designs.boin.BOIN.select_mtd`).  Both reference
programs select after every patient has been followed for the whole window.

Where TITEgBOIN (the reference implementation) and the paper differ
-------------------------------------------------------------------
* Estimator: TITEgBOIN's ESS estimate (Lin & Yuan 2020) versus the paper's imputation
  estimate with a Beta(phi/2, 1 - phi/2) prior (``estimator``).
* Coherence: TITEgBOIN may de-escalate on the pending-data estimate whatever the observed
  rate; the paper's table never de-escalates while y/n is at or below the target.
* Suspension: TITEgBOIN suspends whenever more than ``maxpen`` are pending (checked before
  the estimate); the paper's table de-escalates without waiting when y/n >= lambda_d.
* TITEgBOIN's ``get_oc`` checks the extra safety rule only while the current dose is dose 1;
  BOIN (and this design) check it whatever the current dose, which matters only when a late
  DLT at dose 1 is observed after escalation.
* TITEgBOIN (``get_oc``) accepts maxpen in [0, 0.65]; here any maxpen in (0, 1].
* MTD selection: TITEgBOIN smooths with 0.005 (``select_mtd_TITE_QuasiBOIN``) where BOIN
  and the paper use BOIN's selection (0.05).  The prints of TITEgBOIN's ``select_mtd``
  report estimates with 0.05 while selecting with 0.005.
* Time-to-DLT weights: both use u/W (TITEgBOIN's piecewise "prior.p" transform is the
  identity with its fixed uniform prior 1/3, 1/3, 1/3); other weight shapes are not offered.
* With no follow-up at all at the current dose (every patient pending just after
  infusion, possible only with ``maxpen = 1``) the ESS is 0 and TITEgBOIN's R code fails
  (NaN comparison); here the design waits.

Parameters and ranges
---------------------
target, p_saf, p_tox, cutoff_eli, extrasafe, offset, n_earlystop, cohort_size, max_n,
n_cohorts, start_dose, doses : as :class:`~dosefind.designs.boin.BOIN` (validated there).
dlt_window : float > 0, days (TITEgBOIN ``maxt``).
maxpen : 0 < maxpen <= 1 (default 0.5).
estimator : ``"ess"`` (default) or ``"imputation"``.
selection_prior : a > 0 of the Beta(a, a) smoothing in MTD selection (default 0.005).

References
----------
Yuan Y, Lin R, Li D, Nie L, Warren KE. Time-to-event Bayesian optimal interval design to
accelerate phase I trials. Clinical Cancer Research 2018;24(20):4921-4930.

Lin R, Yuan Y. Time-to-event model-assisted designs for dose-finding trials with delayed
toxicity. Biostatistics 2020;21(4):807-824.

Takeda K, Xia Q, Liu S, Rong A. TITE-gBOIN. Pharmaceutical Statistics 2022;21:496-506;
R package TITEgBOIN 0.4.0 (``next_TITE_QuasiBOIN``, ``get_oc_TITE_QuasiBOIN``,
``select_mtd_TITE_QuasiBOIN``).

Example
-------
Three patients complete at dose 1; at dose 2 one DLT-free patient complete and two
pending (14 and 7 of 28 days): 2 of 3 pending > 50%, so accrual waits.

>>> from dosefind import TrialState
>>> design = TITEBOIN(target=0.3, num_doses=5, max_n=30, dlt_window=28)
>>> s = TrialState.from_records([1, 1, 1, 2, 2, 2], [0, 0, 0, 0, 0, 0], num_doses=5,
...                             followup=[28, 28, 28, 28, 14, 7],
...                             complete=[True, True, True, True, False, False])
>>> design.decide(s).action
'wait'
>>> design.decide(s).code.value
'wait_pending'
"""

from __future__ import annotations

import math

import numpy as np

from dosefind import _validate as V
from dosefind.designs.base import Design, beta_prob_exceeds
from dosefind.designs.boin import BOIN
from dosefind.designs.isotonic import pava
from dosefind.state import Decision, DoseLevels, MTDSelection, TrialState, to_level
from dosefind.state import ReasonCode as R

__all__ = ["TITEBOIN", "ess_estimate", "imputation_estimate", "stft"]

_ESTIMATORS = ("ess", "imputation")


def stft(followup, window: float) -> float:
    """Standardised total follow-up time of pending patients: sum of min(u, W) / W."""
    u = np.asarray(followup, dtype=float)
    return float(np.minimum(u, window).sum() / window) if u.size else 0.0


def ess_estimate(y, n, pending, stft_):
    """TITEgBOIN's estimate y / (n - m + STFT) (arrays broadcast; nan where the ESS is 0)."""
    ess = np.asarray(n, dtype=float) - np.asarray(pending, dtype=float) + np.asarray(stft_, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ess > 0, np.asarray(y, dtype=float) / np.where(ess > 0, ess, 1.0), np.nan)


def imputation_estimate(y, n, pending, stft_, target):
    """Yuan et al. (2018)'s single-mean-imputation estimate
    {y + pi/(1 - pi) (m - STFT)} / n with pi = (y + target/2) / (n - m + 1)."""
    y, n, m, s = (np.asarray(v, dtype=float) for v in (y, n, pending, stft_))
    pi = (y + target / 2) / (n - m + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (y + pi / (1 - pi) * (m - s)) / n


class TITEBOIN(Design):
    """TITE-BOIN (Yuan et al. 2018; TITEgBOIN's implementation); see the module docstring."""

    name = "TITE-BOIN"
    memory = "patients"

    def __init__(self, target: float, num_doses: int | None = None, *, dlt_window: float, maxpen: float = 0.5,
                 estimator: str = "ess", selection_prior: float = 0.005, cohort_size: int = 3,
                 max_n: int | None = None, n_cohorts: int | None = None, p_saf: float | None = None,
                 p_tox: float | None = None, cutoff_eli: float = 0.95, extrasafe: bool = False,
                 offset: float = 0.05, n_earlystop: int = 100, start_dose: int = 1,
                 doses: DoseLevels | None = None):
        if dlt_window is None:
            raise ValueError("dlt_window must be given: the DLT assessment window in days (a number > 0)")
        self.dlt_window = V.positive(dlt_window, "dlt_window")
        self.maxpen = V.share(maxpen, "maxpen", "the largest share of pending patients at the current dose before "
                                                "accrual is suspended")
        if estimator not in _ESTIMATORS:
            raise ValueError(f"estimator must be 'ess' (TITEgBOIN) or 'imputation' (Yuan et al. 2018), "
                             f"got {estimator!r}")
        self.estimator = estimator
        self.selection_prior = V.positive(selection_prior, "selection_prior")
        # BOIN validates its options and owns the boundaries, elimination and BOIN's own MTD rule.
        self._boin = BOIN(target, num_doses, cohort_size=cohort_size, max_n=max_n, n_cohorts=n_cohorts,
                          p_saf=p_saf, p_tox=p_tox, cutoff_eli=cutoff_eli, extrasafe=extrasafe, offset=offset,
                          n_earlystop=n_earlystop, start_dose=start_dose, doses=doses)
        b = self._boin
        super().__init__(b.num_doses, cohort_size=b.cohort_size, max_n=b.max_n, start_dose=b.start_dose,
                         doses=b.doses)
        self.target, self.p_saf, self.p_tox = b.target, b.p_saf, b.p_tox
        self.cutoff_eli, self.extrasafe, self.offset, self.n_earlystop = b.cutoff_eli, b.extrasafe, b.offset, b.n_earlystop
        self.n_cohorts = b.n_cohorts
        self.lambda_e, self.lambda_d = b.lambda_e, b.lambda_d
        self._memo: dict = {}

    # ------------------------------------------------------------------ data
    def pending_summary(self, state: TrialState):
        """Per dose: pending patients m_j and their STFT (sum of min(u_i, W) / W)."""
        _, _, m, s = self._counts(*self._state_arrays(state))
        return tuple(int(v) for v in m[0]), tuple(float(v) for v in s[0])

    def _state_arrays(self, state: TrialState):
        pending = [p for p in state.patients if not p.complete]
        if any(p.followup is None for p in pending):
            raise ValueError("TITE-BOIN needs the follow-up (days) of every pending patient; "
                             "a pending Patient has followup=None")
        dose = np.array([p.dose_index for p in pending], dtype=np.int64)[None]
        follow = np.array([p.followup for p in pending], dtype=float)[None]
        n = np.array(state.n_at_dose, dtype=float)[None]
        y = np.array(state.tox_at_dose, dtype=float)[None]
        return n, y, dose, follow

    def _counts(self, n, y, pending_dose, pending_followup):
        """(N, Y, M, STFT) per dose, shape (B, D), from counts and the pending patients
        (``pending_dose`` -1 for no patient)."""
        pd = np.asarray(pending_dose, dtype=np.int64)
        u = np.minimum(np.asarray(pending_followup, dtype=float), self.dlt_window) / self.dlt_window
        return (np.asarray(n, dtype=float), np.asarray(y, dtype=float), _per_dose(pd, self.num_doses),
                _per_dose(pd, self.num_doses, u))

    def _estimate(self, y, n, m, s):
        if self.estimator == "ess":
            return ess_estimate(y, n, m, s)
        return imputation_estimate(y, n, m, s, self.target)

    # ------------------------------------------------------------------ decisions
    # Outcomes of the pending-data rule (_rule), with the decision each one gives.
    _STOP_LOW, _STOP_EXTRA, _ELIM, _SUSPEND, _NO_INFO, _EARLY, _STAY_CAP, _UP, _WAIT_LOW, _DOWN, _STAY = range(11)
    _ACTION = {_STOP_LOW: (2, R.LOWEST_TOO_TOXIC), _STOP_EXTRA: (2, R.EXTRA_SAFE), _ELIM: (0, R.DE_ESCALATE),
               _SUSPEND: (1, R.WAIT_PENDING), _NO_INFO: (1, R.WAIT_PENDING), _EARLY: (2, R.N_AT_DOSE),
               _STAY_CAP: (0, R.STAY), _UP: (0, R.ESCALATE), _WAIT_LOW: (1, R.WAIT_PENDING), _DOWN: (0, R.DE_ESCALATE),
               _STAY: (0, R.STAY)}

    def _rule(self, N, Y, M, S, cur):
        """The TITE-BOIN rule (steps 2-5 of the module docstring) for B trials with pending
        patients at the current dose: (outcome, next index, estimate, first eliminated)."""
        boin = self._boin
        B, D = N.shape
        rows = np.arange(B)
        Ni = N.astype(np.int64)
        _, _, elim, stop = boin._tables          # per n = 0..max_n; decisions happen below max_n
        elim_mask = (Ni >= 3) & (Y >= elim[Ni])
        first_elim = np.where(elim_mask.any(1), elim_mask.argmax(1), D)
        extra = ((Ni[:, 0] >= 3) & (Y[:, 0] >= stop[Ni[:, 0]])) if self.extrasafe else np.zeros(B, bool)
        n, y, m, s = N[rows, cur], Y[rows, cur], M[rows, cur], S[rows, cur]
        observed = y / n
        suspend = m > self.maxpen * n
        if self.estimator == "imputation":
            suspend &= observed < self.lambda_d           # the paper's table de-escalates without waiting
        with np.errstate(invalid="ignore"):
            phat = self._estimate(y, n, m, s)
        no_info = np.isnan(phat)
        up = phat <= self.lambda_e
        down = phat >= self.lambda_d
        if self.estimator == "imputation":
            down &= observed > self.target                # coherence: no de-escalation while y/n <= target
        top = cur == D - 1
        next_out = cur + 1 >= first_elim
        stays = (up & (top | next_out)) | (down & (cur == 0)) | ~(up | down)
        out = np.select(
            [first_elim == 0, extra, cur >= first_elim, suspend, no_info, (n >= self.n_earlystop) & stays,
             up & (top | next_out), up, down & (cur == 0), down],
            [self._STOP_LOW, self._STOP_EXTRA, self._ELIM, self._SUSPEND, self._NO_INFO, self._EARLY,
             self._STAY_CAP, self._UP, self._WAIT_LOW, self._DOWN], self._STAY)
        nxt = np.select([out == self._ELIM, out == self._UP, out == self._DOWN,
                         np.isin(out, [self._STAY_CAP, self._STAY])], [first_elim - 1, cur + 1, cur - 1, cur], -1)
        return out, nxt, phat, first_elim

    def decide_patients_batch(self, dose, dlt, followup, complete, current_index, time=None):
        """:meth:`decide` for B trials from the calendar engine's padded patient arrays
        (:mod:`dosefind.simulations.calendar`): ``dose`` (B, K) 0-based, -1 for no patient;
        ``dlt``, ``followup`` (days), ``complete`` (B, K); ``current_index`` (B,).  Returns
        ``(next_index, action, codes)`` with action 0 treat, 1 wait, 2 stop and ReasonCode
        members.  Trials with no pending patient at the current dose get BOIN's decision
        (one call of BOIN's rule per distinct count state)."""
        dose = np.asarray(dose, dtype=np.int64)
        B = dose.shape[0]
        valid = dose >= 0
        is_dlt = valid & (np.asarray(dlt) == 1)
        n = _per_dose(dose, self.num_doses).astype(np.int64)
        y = _per_dose(np.where(is_dlt, dose, -1), self.num_doses).astype(np.int64)
        pending = valid & ~(np.asarray(complete, dtype=bool) | is_dlt)
        N, Y, M, S = self._counts(n, y, np.where(pending, dose, -1), np.where(pending, followup, 0.0))
        cur = np.asarray(current_index, dtype=np.int64).reshape(-1)
        nxt = np.full(B, -1, dtype=np.int64)
        action = np.zeros(B, dtype=np.int8)
        codes = np.empty(B, dtype=object)
        full = (n.sum(1) >= self.max_n)
        action[full], codes[full] = 2, R.MAX_N
        rows = np.arange(B)
        tite = ~full & (M[rows, cur] > 0)
        plain = np.flatnonzero(~full & ~tite)
        if plain.size:                                    # BOIN's own rule, once per distinct count state
            D = self.num_doses
            rows_u, inv = np.unique(np.hstack([n[plain], y[plain], cur[plain, None]]), axis=0, return_inverse=True)
            res = [self._plain_decision(r, D) for r in rows_u]
            inv = inv.ravel()
            nxt[plain] = np.array([r[0] for r in res], dtype=np.int64)[inv]
            action[plain] = np.array([r[1] for r in res], dtype=np.int8)[inv]
            codes[plain] = np.array([r[2] for r in res], dtype=object)[inv]
        idx = np.flatnonzero(tite)
        if idx.size:
            out, nx, _, _ = self._rule(N[idx], Y[idx], M[idx], S[idx], cur[idx])
            nxt[idx] = nx
            for j, o in zip(idx, out):
                action[j], codes[j] = self._ACTION[int(o)]
        return nxt, action, list(codes)

    def _plain_decision(self, row, D):
        """BOIN's decision on the count state (n, y, current index) in ``row``, memoised
        (a cache of answers, not state: decisions depend on the counts only)."""
        key = row.tobytes()
        hit = self._memo.get(key)
        if hit is None:
            if len(self._memo) > 200_000:
                self._memo.clear()
            d = self._boin._decide(TrialState.from_counts(row[:D].tolist(), row[D:2 * D].tolist(),
                                                          current_dose=int(row[-1]) + 1))
            hit = self._memo[key] = (-1 if d.dose_index is None else d.dose_index,
                                     2 if d.stop else (1 if d.wait else 0), d.code)
        return hit

    def _decide(self, state: TrialState) -> Decision:
        N, Y, M, S = self._counts(*self._state_arrays(state))
        d = state.current_index
        if M[0, d] == 0:
            return self._boin._decide(state)      # no pending patient at the current dose: BOIN itself
        out, nxt, phat, first_elim = self._rule(N, Y, M, S, np.array([d]))
        out, nxt, phat, first_elim = int(out[0]), int(nxt[0]), float(phat[0]), int(first_elim[0])
        boin = self._boin
        n_all, y_all = state.n_at_dose, state.tox_at_dose
        n, y, m, s = n_all[d], y_all[d], int(M[0, d]), float(S[0, d])
        lvl = to_level(d)
        data = f"{y} DLT(s) in {n} patients at dose {lvl}, {m} pending (STFT {s:.2f})"
        est = f"{data}: estimated DLT rate {phat:.3f}"
        text = {
            self._STOP_LOW: lambda: (f"stop: the lowest dose is too toxic ({y_all[0]}/{n_all[0]} DLTs, Pr(DLT rate > "
                                     f"{self.target:g}) = {_exceeds(self.target, n_all[0], y_all[0]):.3f} > "
                                     f"{self.cutoff_eli:g}); no dose is selected"),
            self._STOP_EXTRA: lambda: (f"stop (extra safety rule): {y_all[0]}/{n_all[0]} DLTs at dose 1, Pr(DLT rate > "
                                       f"{self.target:g}) = {_exceeds(self.target, n_all[0], y_all[0]):.3f} > "
                                       f"cutoff_eli - offset = {self.cutoff_eli - self.offset:g}; no dose is selected"),
            self._ELIM: lambda: (f"de-escalate: dose {to_level(first_elim)} and above are eliminated (Pr(DLT rate > "
                                 f"{self.target:g}) > {self.cutoff_eli:g}); treat at dose {to_level(nxt)}"),
            self._SUSPEND: lambda: (f"suspend accrual: {m} of {n} patients at dose {lvl} are pending (more than "
                                    f"maxpen = {self.maxpen:g})"),
            self._NO_INFO: lambda: f"suspend accrual: no follow-up yet at dose {lvl} ({data})",
            self._EARLY: lambda: (f"stop: dose {lvl} has {n} patients (n_earlystop={self.n_earlystop}) and the rule "
                                  f"would stay there ({est}); select the MTD"),
            self._STAY_CAP: lambda: (f"stay: {est} <= lambda_e = {self.lambda_e:.4f}, but "
                                     + ("it is the highest dose" if d == self.num_doses - 1
                                        else f"dose {lvl + 1} is eliminated")),
            self._UP: lambda: f"escalate: {est} <= lambda_e = {self.lambda_e:.4f}",
            self._WAIT_LOW: lambda: (f"suspend accrual: {est} >= lambda_d = {self.lambda_d:.4f} at the lowest dose; "
                                     f"wait for the pending outcomes"),
            self._DOWN: lambda: f"de-escalate: {est} >= lambda_d = {self.lambda_d:.4f}",
            self._STAY: lambda: (f"stay: {est}, " + (f"between the boundaries ({self.lambda_e:.4f} < rate < "
                                                     f"{self.lambda_d:.4f})" if self.lambda_e < phat < self.lambda_d
                                                     else f"observed rate {y / n:.3f} <= target {self.target:g} "
                                                          f"(no de-escalation on pending data)")),
        }[out]()
        action, code = self._ACTION[out]
        if action == 2:
            return Decision.halt(text, code)
        if action == 1:
            return Decision.pause(text, code)
        return Decision.treat(nxt, text, code)

    # ------------------------------------------------------------------ shared estimate interface
    def _effective(self, state: TrialState):
        N, Y, M, S = self._counts(*self._state_arrays(state))
        return N[0], Y[0], M[0], S[0]

    def tox_estimates(self, state: TrialState) -> tuple[float | None, ...]:
        """Per-dose DLT-rate estimate used by the rule: y/n without pending patients, else the
        chosen estimator (capped at 1); None for untried doses or with no follow-up yet."""
        self._check_state(state)
        out = []
        for n, y, m, s in zip(*self._effective(state)):
            if n == 0:
                out.append(None)
                continue
            p = y / n if m == 0 else float(self._estimate(y, n, m, s))
            out.append(None if math.isnan(p) else min(float(p), 1.0))
        return tuple(out)

    def prob_tox_exceeds(self, state: TrialState, threshold: float) -> tuple[float | None, ...]:
        """Pr(DLT rate > threshold) per dose under a Beta(1, 1) prior with the effective
        sample size: Beta(1 + y, 1 + n - m + STFT - y) (BOIN's Beta(1 + y, 1 + n - y) when no
        patient is pending); None for untried doses."""
        self._check_state(state)
        t = V.probability(threshold, "threshold")
        out = []
        for n, y, m, s in zip(*self._effective(state)):
            out.append(None if n == 0 else beta_prob_exceeds(n - m + s, y, t))
        return tuple(out)

    # ------------------------------------------------------------------ MTD
    def _mtd_index(self, n, y):
        """TITEgBOIN's selection rule on counts (D,): (0-based MTD or None, admissible doses,
        their isotonic estimates).  The one place the rule is written (a != 0.05)."""
        t, a = self.target, self.selection_prior
        first_elim = self._boin._eliminated_from(n, y)
        if self.extrasafe and n[0] >= 3 and _exceeds(t, n[0], y[0]) > self.cutoff_eli - self.offset:
            first_elim = 0
        adm = np.array([j for j in range(first_elim) if n[j] > 0], dtype=np.int64)
        if adm.size == 0:
            return None, adm, adm
        ya, na = np.asarray(y, dtype=float)[adm], np.asarray(n, dtype=float)[adm]
        iso = pava(*_smoothed(ya, na, a))
        phat = iso + np.arange(1, adm.size + 1) * 1e-10       # TITEgBOIN's (and BOIN's) tie-break
        return int(adm[int(np.argmin(np.abs(phat - t)))]), adm, iso

    def select_mtd(self, state: TrialState) -> MTDSelection:
        """TITEgBOIN's ``select_mtd_TITE_QuasiBOIN`` (BOIN's rule with Beta(a, a) smoothing,
        a = ``selection_prior``); pending patients count as treated without a DLT."""
        self._check_state(state)
        if self.selection_prior == 0.05:
            return self._boin.select_mtd(state)   # BOIN 2.7's selection, exactly
        n, y = state.n_at_dose, state.tox_at_dose
        mtd, adm, iso_adm = self._mtd_index(n, y)
        tried = np.flatnonzero(np.asarray(n) > 0)
        est: list[float | None] = [None] * self.num_doses
        if tried.size:
            iso = pava(*_smoothed(np.asarray(y, float)[tried], np.asarray(n, float)[tried], self.selection_prior))
            for k, j in enumerate(tried):
                est[j] = round(float(iso[k]), 4)
        details = {"admissible": [to_level(j) for j in adm], "selection_prior": self.selection_prior}
        if mtd is None:
            lowest_out = self._boin._eliminated_from(n, y) == 0 or (
                self.extrasafe and n[0] >= 3 and _exceeds(self.target, n[0], y[0]) > self.cutoff_eli - self.offset)
            why = "no MTD: the lowest dose is too toxic" if lowest_out else \
                "no MTD: no patient was treated at an admissible dose"
            return MTDSelection(None, tuple(est), why, details)
        k = int(np.flatnonzero(adm == mtd)[0])
        return MTDSelection(mtd, tuple(est), f"MTD is dose {to_level(mtd)}: isotonic DLT estimate {iso_adm[k]:.4f} is "
                                             f"the closest to the target {self.target:g} among doses "
                                             f"{', '.join(str(to_level(i)) for i in adm)}", details)

    def select_mtd_batch(self, n_at_dose, tox_at_dose, **_):
        """Final MTDs (0-based, -1 none) for complete data, by the rule of
        :meth:`select_mtd`, once per distinct row of counts."""
        n = np.atleast_2d(np.asarray(n_at_dose, dtype=np.int64))
        y = np.atleast_2d(np.asarray(tox_at_dose, dtype=np.int64))
        if self.selection_prior == 0.05:
            return np.asarray(self._boin.select_mtd_batch(n, y), dtype=np.int64)
        rows, inv = np.unique(np.hstack([n, y]), axis=0, return_inverse=True)
        D = self.num_doses
        picks = np.array([-1 if (m := self._mtd_index(r[:D].tolist(), r[D:].tolist())[0]) is None else m
                          for r in rows], dtype=np.int64)
        return picks[inv.ravel()]

    # ------------------------------------------------------------------ reporting
    def params(self) -> dict:
        p = self._boin.params()
        p.pop("bound_mtd", None)
        p.update(dlt_window=self.dlt_window, maxpen=self.maxpen, estimator=self.estimator,
                 selection_prior=self.selection_prior)
        return p

    def describe(self) -> str:
        if self.estimator == "ess":
            est = ("the number of DLTs divided by the effective sample size, in which a patient still in the "
                   "DLT window counts as the fraction of the window already followed (Lin and Yuan 2020)")
        else:
            est = ("the DLT rate with the pending outcomes imputed from the follow-up so far (single mean "
                   "imputation under a uniform time to DLT and a Beta(target/2, 1 - target/2) prior)")
        text = (f"Dose finding follows the time-to-event Bayesian optimal interval (TITE-BOIN) design (Yuan et al. "
                f"2018) with a target DLT rate of {self.target:g}, a {self.dlt_window:g}-day DLT window, "
                f"{self.num_doses} dose levels, cohorts of {self.cohort_size} and at most {self.max_n} patients, "
                f"starting at dose {self.start_dose}. Before each cohort, the DLT rate at the current dose is "
                f"estimated by {est}; with no pending patient it is the observed rate and the design is BOIN. "
                f"The estimate is compared with lambda_e = {self.lambda_e:.4f} and lambda_d = {self.lambda_d:.4f}: "
                f"escalate at or below lambda_e, de-escalate at or above lambda_d, otherwise stay. Accrual is "
                f"suspended while more than {self.maxpen:.0%} of the patients at the current dose have pending "
                f"DLT outcomes. A dose with at least 3 patients and Pr(DLT rate > {self.target:g}) > "
                f"{self.cutoff_eli:g} (Beta(1, 1) prior) is eliminated with all higher doses; the trial stops "
                f"with no MTD if the lowest dose is eliminated.")
        if self.estimator == "imputation":
            text += (" As in the paper's decision table, the dose is not de-escalated on pending data while the "
                     "observed DLT rate is at or below the target, and accrual is not suspended when the observed "
                     "rate alone calls for de-escalation.")
        text += (" At the lowest dose, an estimate at or above lambda_d with patients pending suspends accrual "
                 "until more outcomes are known.")
        if self.extrasafe:
            text += (f" Under the extra safety rule the trial also stops if the lowest dose has at least 3 patients "
                     f"and Pr(DLT rate > {self.target:g}) > {self.cutoff_eli - self.offset:g}.")
        if self.n_earlystop < self.max_n:
            text += (f" The trial stops early when the current dose has {self.n_earlystop} patients and the rule "
                     f"would treat the next cohort at that same dose.")
        text += (f" After every patient has completed follow-up, the MTD is the admissible dose whose isotonic "
                 f"estimate of the DLT rate, smoothed as (y + {self.selection_prior:g}) / (n + "
                 f"{2 * self.selection_prior:g}), is closest to the target.")
        return text


def _smoothed(y, n, a):
    """Smoothed rates (y + a)/(n + 2a) and the inverse-variance weights of the isotonic fit."""
    var = (y + a) * (n - y + a) / ((n + 2 * a) ** 2 * (n + 2 * a + 1))
    return (y + a) / (n + 2 * a), 1.0 / var


def _exceeds(target, n, y) -> float:
    """Pr(p > target | y DLTs in n) under a Beta(1, 1) prior (BOIN's elimination posterior)."""
    return beta_prob_exceeds(n, y, target)


def _per_dose(dose: np.ndarray, num_doses: int, weights=None) -> np.ndarray:
    """Per-dose sums over patients, shape (B, D): counts (or sums of ``weights``) of the
    patients with ``dose`` >= 0 in each row of ``dose`` (B, K)."""
    B = dose.shape[0]
    valid = dose >= 0
    idx = (np.arange(B)[:, None] * num_doses + dose)[valid]
    w = None if weights is None else np.broadcast_to(weights, dose.shape)[valid]
    return np.bincount(idx, weights=w, minlength=B * num_doses).reshape(B, num_doses).astype(float)
