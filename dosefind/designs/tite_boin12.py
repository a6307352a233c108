r"""TITE-BOIN12: BOIN12 decisions while DLT and response outcomes are still pending.

Idea
----
TITE-BOIN12 (Zhou, Lin, Lee, Li, Wang, Li & Yuan 2022) keeps every rule of
:class:`~dosefind.designs.boin12.BOIN12` (BOIN boundaries, toxicity and futility
elimination, the desirability Pr(utility > u_b), N1/N2, OBD selection) but lets a new
cohort be treated before every patient has finished the DLT window (``dlt_window``) and
the longer efficacy window (``eff_window``).  Each outcome's pending data enter through
the approximated likelihood of Lin & Yuan (2020), as in TITE-BOIN: at dose :math:`j`, for
outcome :math:`q` (DLT or response) with :math:`y_q` events observed, :math:`m_q` patients
pending and :math:`w_i = \min(u_i, A_q)/A_q` the share of the window already followed,

.. math::  \mathrm{ESS}_q = n - m_q + \sum_{\text{pending}} w_i, \qquad
           \hat p_q = y_q / \mathrm{ESS}_q .

A pending patient's expected outcome is :math:`\hat p_q (1 - w_i) / (1 - \hat p_q w_i)`
(the event probability given none so far under a uniform time to event); observed
outcomes count as 0 or 1.  The utility's quasi-binomial count is the utility of the
expected outcomes, :math:`x_j = \sum_i \sum_k u_k \Pr(\text{cell } k)_i / 100` with the two
pending outcomes of one patient independent, and the desirability is
:math:`\Pr(u_j > u_b) = 1 - I_{u_b/100}(1 + x_j, 1 + n_j - x_j)` (:math:`n_j` patients
treated).  With nothing pending this is BOIN12's :math:`x_j`, and the design **is**
BOIN12 (the decision is BOIN12's own, same code path).

Rules, in order, for the next cohort (current dose :math:`d`)
------------------------------------------------------------
1. ``max_n`` patients treated: stop.
2. Elimination (Beta(1, 1) priors, at least 3 patients treated): toxicity by BOIN12's
   count rule on the DLTs seen among all :math:`n` patients treated (pending ones count as
   DLT-free, as the authors' program), eliminating the dose and every higher dose;
   futility Pr(p_E < phi_e) > c_e under Beta(1 + y_E, 1 + ESS_E - y_E) eliminates the
   dose alone (BOIN12's own rule where nothing is pending).  Stops as BOIN12.
3. Accrual suspension: more than ``maxpen`` (default 1/2) of the patients at :math:`d`
   with a DLT or a response assessment pending (each patient once, the authors' rule):
   wait (code ``WAIT_PENDING``); also when nobody at :math:`d` has been followed at all.
4. BOIN12's rule with :math:`\hat p_T` at :math:`d` in place of :math:`y/n`:
   :math:`\hat p_T \ge \lambda_d` de-escalates; otherwise the candidates are :math:`d`, the
   dose below and (while :math:`n < N_1`, or :math:`\hat p_T \le \lambda_e`) the dose
   above, and the one with the highest desirability is treated; N2 exploration when
   :math:`\hat p_T < \lambda_d`.  Without pending DLTs at :math:`d` the comparison is
   BOIN12's count boundaries.

OBD selection: :meth:`BOIN12.select_obd <dosefind.designs.boin12.BOIN12.select_obd>` on the
complete data (the engine follows every patient to the end of both windows first).

Sources and choices (docs/designs/tite_boin12.md, docs/validation.md)
--------------------------------------------------------------------
The paper's main text (PMC9199061) gives the approximated likelihood and the expected
outcomes; the authors' simulation program (``get.tite.boin12.approx``) computes ESS,
:math:`\hat p`, the expected outcomes, the suspension (patients with either outcome
pending), toxicity elimination on seen DLTs among all treated and futility on the
effective data as above.  Where dosefind differs from that program (the n > 3 condition
of its toxicity rule, sticky elimination flags, a stop it makes when any dose is
eliminated while it treats dose 1) is listed in docs/designs/tite_boin12.md.

Parameters
----------
phi_t, phi_e, num_doses, utility, n1, n2, c_t, c_e, cohort_size, max_n, n_cohorts, p_saf,
p_tox, n_earlystop, start_dose, doses : as :class:`~dosefind.designs.boin12.BOIN12`.
dlt_window, eff_window : float > 0, days.
maxpen : 0 < maxpen <= 1 (default 0.5).

Reference
---------
Zhou Y, Lin R, Lee JJ, Li D, Wang L, Li R, Yuan Y. TITE-BOIN12: A Bayesian phase I/II
trial design to find the optimal biological dose with late-onset toxicity and efficacy.
Statistics in Medicine 2022;41(11):1918-1931.

Example
-------
Three patients complete at dose 1 (one response); at dose 2 three patients, one with a
response, two still in the 56-day efficacy window (day 28 and 14): 2 of 3 pending for
efficacy is more than half, so accrual waits.

>>> from dosefind import TrialState
>>> design = TITEBOIN12(phi_t=0.35, phi_e=0.25, num_doses=4, max_n=24, dlt_window=28, eff_window=56)
>>> s = TrialState.from_records([1, 1, 1, 2, 2, 2], [0, 0, 0, 0, 0, 0], num_doses=4,
...                             followup=[28] * 6, complete=[True] * 6,
...                             eff=[1, 0, 0, 1, 0, 0], eff_complete=[True, True, True, True, False, False],
...                             eff_followup=[56, 56, 56, 20, 28, 14])
>>> design.decide(s).code.value
'wait_pending'
"""

from __future__ import annotations

import math

import numpy as np

from dosefind import _validate as V
from dosefind.designs.base import Design
from dosefind.designs.boin12 import BOIN12, _quasi_count, desirability
from dosefind.state import Decision, TrialState, to_level
from dosefind.state import ReasonCode as R

__all__ = ["TITEBOIN12", "effective_summary"]


def effective_summary(patients, num_doses: int, dlt_window: float, eff_window: float) -> dict:
    """Per-dose approximated-likelihood summaries of patient records: ``n``, ``y_t``,
    ``m_t`` (pending DLT), ``ess_t``, ``p_t`` and the same for response (``_e``), and the
    expected counts ``tox``, ``eff``, ``both`` (pending outcomes replaced by their expected
    values, a patient's two outcomes independent), and ``m_any``, the patients pending for
    either outcome (what the suspension rule counts).  ``p`` is nan where ESS is 0."""
    D = num_doses
    out = {k: np.zeros(D) for k in ("n", "y_t", "m_t", "ess_t", "y_e", "m_e", "ess_e", "m_any", "tox", "eff",
                                    "both")}
    rows = []
    for p in patients:
        j = p.dose_index
        out["n"][j] += 1
        wt = _add_outcome(out, "t", j, p.dlt, p.complete, p.followup, dlt_window,
                          "the follow-up (days) of every patient pending for DLT; a pending Patient has followup=None")
        r = 1 if p.eff == 1 else 0
        we = _add_outcome(out, "e", j, r, p.eff_complete, p.eff_followup, eff_window,
                          "the efficacy follow-up (days) of every patient pending for response; a pending Patient "
                          "has eff_followup=None")
        out["m_any"][j] += wt is not None or we is not None
        rows.append((j, p.dlt, wt, r, we))
    with np.errstate(divide="ignore", invalid="ignore"):
        out["p_t"] = np.where(out["ess_t"] > 0, out["y_t"] / out["ess_t"], np.nan)
        out["p_e"] = np.where(out["ess_e"] > 0, out["y_e"] / out["ess_e"], np.nan)
    for j, dlt, wt, r, we in rows:
        t = float(dlt) if wt is None else _expected(out["p_t"][j], wt)
        e = float(r) if we is None else _expected(out["p_e"][j], we)
        out["tox"][j] += t
        out["eff"][j] += e
        out["both"][j] += t * e
    return out


def _add_outcome(out: dict, k: str, j: int, y: int, complete: bool, followup, window: float, needs: str):
    """Add one patient's outcome ``k`` ("t" DLT, "e" response) at dose ``j`` to the
    summaries: complete (or observed) counts 1 in the ESS, pending counts its followed share
    of the window (returned; None when complete)."""
    if complete or y:
        out[f"y_{k}"][j] += y
        out[f"ess_{k}"][j] += 1
        return None
    if followup is None:
        raise ValueError(f"TITE-BOIN12 needs {needs}")
    w = min(float(followup), window) / window
    out[f"m_{k}"][j] += 1
    out[f"ess_{k}"][j] += w
    return w


def _expected(p: float, w: float) -> float:
    """Pr(event | none by w of the window) = p (1 - w) / (1 - p w); 0 without information."""
    if math.isnan(p):
        return 0.0
    return p * (1 - w) / (1 - p * w) if p * w < 1 else 1.0


def _expected_arr(p, w):
    """Array form of :func:`_expected`."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(p * w < 1, p * (1 - w) / (1 - p * w), 1.0)
    return np.where(np.isnan(p), 0.0, out)


def _per_dose(dose, num_doses, weights=None):
    """Per-dose sums over patients (B, D) of the patients with ``dose`` >= 0."""
    B = dose.shape[0]
    valid = dose >= 0
    idx = (np.arange(B)[:, None] * num_doses + dose)[valid]
    w = None if weights is None else np.broadcast_to(weights, dose.shape)[valid]
    return np.bincount(idx, weights=w, minlength=B * num_doses).reshape(B, num_doses).astype(float)


class TITEBOIN12(BOIN12):
    """TITE-BOIN12 (Zhou et al. 2022); see the module docstring."""

    name = "TITE-BOIN12"

    def __init__(self, phi_t: float, phi_e: float, num_doses: int | None = None, *, dlt_window: float,
                 eff_window: float, maxpen: float = 0.5, **boin12_options):
        super().__init__(phi_t, phi_e, num_doses, **boin12_options)
        self.memory = "patients"
        for name, v in (("dlt_window", dlt_window), ("eff_window", eff_window)):
            if v is None:
                raise ValueError(f"{name} must be given: the assessment window in days (a number > 0)")
        self.dlt_window = V.positive(dlt_window, "dlt_window")
        self.eff_window = V.positive(eff_window, "eff_window")
        self.maxpen = V.share(maxpen, "maxpen", "the largest share of patients at the current dose pending for "
                                                "either outcome before accrual is suspended")

    # ------------------------------------------------------------------ decisions
    def decide(self, state: TrialState) -> Decision:
        # BOIN12 waits for every pending response; TITE-BOIN12 decides with them.
        return Design.decide(self, state)

    def _decide(self, state: TrialState) -> Decision:
        if not state.n_pending and not sum(state.eff_pending_at_dose):
            return BOIN12._decide(self, state)      # everything followed: BOIN12 itself
        s = effective_summary(state.patients, self.num_doses, self.dlt_window, self.eff_window)
        return self.decide_effective(s, state.current_index)

    def decide_effective(self, s: dict, current_index: int, elimination=None) -> Decision:
        """BOIN12's rule (:meth:`BOIN12._rule <dosefind.designs.boin12.BOIN12._rule>`, the
        same code) on the effective data ``s`` (:func:`effective_summary`) with the
        suspension rule; the module docstring lists the steps.  ``elimination``: the
        result of :meth:`_effective_elimination` when already known (the batch path)."""
        d = int(current_index)
        tox_from, futile = self._effective_elimination(s) if elimination is None else elimination
        nd, lvl = int(s["n"][d]), to_level(d)
        mt, ma = int(s["m_t"][d]), int(s["m_any"][d])
        pause = None
        if ma > self.maxpen * nd or s["ess_t"][d] <= 0:
            pause = Decision.pause(f"suspend accrual: at dose {lvl}, {ma} of {nd} patients pending for DLT or response "
                                   f"(more than maxpen = {self.maxpen:g} of them, or no follow-up yet)",
                                   R.WAIT_PENDING)
        if mt == 0:
            # Whole counts at d: BOIN12's count boundaries.  They are y/n against lambda_e
            # and lambda_d, except that BOIN lowers the de-escalation count to the
            # elimination count, where dose d is eliminated and the next dose is the same
            # (tests/designs/test_tite_boin12.py checks both).
            esc, deesc, _ = self._bounds(nd)
            yd = int(s["y_t"][d])
            down, up_ok = yd >= deesc, yd <= esc
            frac = f"{yd}/{nd} DLTs at dose {lvl}"
            bounds = (esc, deesc)
        else:
            p = float(s["p_t"][d])
            down, up_ok = p >= self.lambda_d, p <= self.lambda_e
            frac = (f"estimated DLT rate {p:.3f} at dose {lvl} ({int(s['y_t'][d])} DLT(s), effective sample size "
                    f"{s['ess_t'][d]:.2f})")
            bounds = None
        y0 = int(s["y_t"][0])
        lowest = (f"{y0}/{int(s['n'][0])} DLTs, " if not s["m_t"][0]
                  else f"{y0} DLT(s), effective sample size {s['ess_t'][0]:.2f}, ")
        return self._rule(d, nd, tox_from, futile, s["n"], down, up_ok, lambda j: self._effective_desirability(s, j),
                          lambda: frac, bounds, where=" on the effective data", lowest=lambda: lowest, pause=pause)

    def _effective_desirability(self, s, j) -> float:
        nj = int(s["n"][j])
        if not s["m_t"][j] and not s["m_e"][j]:
            return self._desirability(nj, int(s["y_t"][j]), int(s["y_e"][j]), int(round(s["both"][j])))
        x = _quasi_count(self.utility, nj, s["tox"][j], s["eff"][j], s["both"][j])
        return desirability(x, nj, self.u_b)

    def _effective_elimination(self, s):
        """(lowest dose eliminated for toxicity or D, futile flag per dose).  Toxicity:
        BOIN12's count rule on the DLTs seen among all patients treated (pending ones
        count as DLT-free, as the authors' TITE-BOIN12 program does, "to not accidentally
        eliminate doses"); futility: on the effective data where responses are pending,
        BOIN12's own rule elsewhere."""
        from dosefind._beta import beta_cdf

        D = self.num_doses
        n = s["n"].astype(int)
        ny, ne = s["y_t"].astype(int), s["y_e"].astype(int)
        tox_from, fut_obs = self._eliminated(n, ny, ne)
        futile = list(fut_obs)
        for j in range(D):
            if n[j] < 3:
                continue
            if s["m_e"][j]:
                ess, y = s["ess_e"][j], s["y_e"][j]
                futile[j] = bool(beta_cdf(y + 1.0, ess - y + 1.0, self.phi_e) > self.c_e)
        return tox_from, futile

    # ------------------------------------------------------------------ engine fast path
    def decide_patients_batch(self, dose, dlt, followup, complete, current_index, time=None, *, eff, eff_complete,
                              eff_followup):
        """Decisions for B trials from per-patient arrays (the calendar engine's fast path,
        :mod:`dosefind.simulations.calendar`; ``eff``/``eff_complete``/``eff_followup`` as
        ``dlt``/``complete``/``followup`` for the response).  The same rule as
        :meth:`decide`: BOIN12's decision (cached per count state) for trials with nothing
        pending, :meth:`decide_effective` on the same summaries otherwise."""
        dose = np.asarray(dose, dtype=np.int64)
        B, D = dose.shape[0], self.num_doses
        valid = dose >= 0
        is_dlt = valid & (np.asarray(dlt) == 1)
        is_resp = valid & (np.asarray(eff) == 1)
        pend_t = valid & ~np.asarray(complete, bool) & ~is_dlt
        pend_e = valid & ~np.asarray(eff_complete, bool) & ~is_resp
        pend_any = pend_t | pend_e
        wt = np.minimum(np.asarray(followup, float), self.dlt_window) / self.dlt_window
        we = np.minimum(np.asarray(eff_followup, float), self.eff_window) / self.eff_window
        n = _per_dose(dose, D)
        s = {"n": n, "y_t": _per_dose(np.where(is_dlt, dose, -1), D), "m_t": _per_dose(np.where(pend_t, dose, -1), D),
             "y_e": _per_dose(np.where(is_resp, dose, -1), D), "m_e": _per_dose(np.where(pend_e, dose, -1), D),
             "m_any": _per_dose(np.where(pend_any, dose, -1), D)}
        s["ess_t"] = n - s["m_t"] + _per_dose(np.where(pend_t, dose, -1), D, wt)
        s["ess_e"] = n - s["m_e"] + _per_dose(np.where(pend_e, dose, -1), D, we)
        with np.errstate(divide="ignore", invalid="ignore"):
            s["p_t"] = np.where(s["ess_t"] > 0, s["y_t"] / s["ess_t"], np.nan)
            s["p_e"] = np.where(s["ess_e"] > 0, s["y_e"] / s["ess_e"], np.nan)
        rows = np.arange(B)[:, None]
        dd = np.where(valid, dose, 0)
        t_i = np.where(pend_t, _expected_arr(s["p_t"][rows, dd], wt), is_dlt.astype(float))
        e_i = np.where(pend_e, _expected_arr(s["p_e"][rows, dd], we), is_resp.astype(float))
        s["tox"] = _per_dose(dose, D, t_i)
        s["eff"] = _per_dose(dose, D, e_i)
        s["both"] = _per_dose(dose, D, t_i * e_i)
        cur = np.asarray(current_index, dtype=np.int64).reshape(-1)
        nxt = np.full(B, -1, np.int64)
        action = np.zeros(B, np.int8)
        codes = np.empty(B, dtype=object)
        full = n.sum(1) >= self.max_n
        action[full], codes[full] = 2, R.MAX_N
        pending = (s["m_t"].sum(1) + s["m_e"].sum(1)) > 0
        tox_from, futile = self._elimination_batch(s)
        memo = self.__dict__.setdefault("_batch_memo", {})
        if len(memo) > 200_000:
            memo.clear()
        for i in np.flatnonzero(~full):
            if pending[i]:
                dec = self.decide_effective({k: v[i] for k, v in s.items()}, int(cur[i]),
                                            (int(tox_from[i]), futile[i].tolist()))
            else:
                key = (n[i].tobytes(), s["y_t"][i].tobytes(), s["y_e"][i].tobytes(), s["both"][i].tobytes(), int(cur[i]))
                dec = memo.get(key)
                if dec is None:
                    dec = memo[key] = self.decide_counts(n[i].astype(int).tolist(), s["y_t"][i].astype(int).tolist(),
                                                         s["y_e"][i].astype(int).tolist(), int(cur[i]),
                                                         np.rint(s["both"][i]).astype(int).tolist())
            nxt[i] = -1 if dec.dose_index is None else dec.dose_index
            action[i] = 2 if dec.stop else (1 if dec.wait else 0)
            codes[i] = dec.code
        return nxt, action, list(codes)

    def _elimination_batch(self, s):
        """:meth:`_effective_elimination` for arrays of trials (B, D): BOIN's elimination
        table on the counts, the effective-data posteriors where patients are pending."""
        from dosefind._beta import beta_cdf

        N = s["n"].astype(np.int64)
        D = self.num_doses
        elim = self._elim_counts(int(N.max(initial=0)))
        big = N >= 3
        with np.errstate(invalid="ignore"):
            tox = big & (s["y_t"] >= elim[N])
            futile = big & (beta_cdf(s["y_e"] + 1.0, s["ess_e"] - s["y_e"] + 1.0, self.phi_e) > self.c_e)
        tox_from = np.where(tox.any(1), tox.argmax(1), D)
        return tox_from, futile

    def _elim_counts(self, n_max: int) -> np.ndarray:
        """BOIN12's toxicity elimination count (:meth:`BOIN12._bounds`) for n = 0..n_max."""
        v = self.__dict__.get("_elim_arr")
        if v is None or len(v) <= n_max:
            v = self.__dict__["_elim_arr"] = np.array([self._bounds(n)[2] for n in range(max(n_max, self.max_n) + 1)],
                                                      np.int64)
        return v

    def select_obd_batch(self, n_at_dose, tox_at_dose, eff_at_dose, current_index):
        """(OBD, MTD) per trial (-1: none) for complete final data given as counts, by
        :meth:`select_obd`, once per distinct row; None when the utility is not additive
        (the selection then needs each patient's two outcomes, not counts)."""
        if not self.additive:
            return None
        D = self.num_doses
        rows = np.hstack([np.asarray(a, np.int64).reshape(-1, D) for a in (n_at_dose, tox_at_dose, eff_at_dose)]
                         + [np.asarray(current_index, np.int64).reshape(-1, 1)])
        uniq, inv = np.unique(rows, axis=0, return_inverse=True)
        out = np.empty((uniq.shape[0], 2), np.int64)
        for i, r in enumerate(uniq.tolist()):
            cur = r[3 * D]
            sel = self.select_obd(TrialState.from_counts(r[:D], r[D:2 * D], None if cur < 0 else cur + 1,
                                                         eff=r[2 * D:3 * D]))
            out[i] = (-1 if sel.obd_index is None else sel.obd_index, -1 if sel.mtd_index is None else sel.mtd_index)
        res = out[inv.ravel()]
        return res[:, 0], res[:, 1]

    # ------------------------------------------------------------------ reporting
    def params(self) -> dict:
        p = super().params()
        p.update(dlt_window=self.dlt_window, eff_window=self.eff_window, maxpen=self.maxpen)
        return p

    def describe(self) -> str:
        return (super().describe().replace("BOIN12 phase I/II design (Lin et al., 2020)",
                                           "TITE-BOIN12 phase I/II design (Zhou et al., 2022)")
                + f" Patients are assessed for DLT over {self.dlt_window:g} days and for response over "
                  f"{self.eff_window:g} days; decisions do not wait for every assessment: a pending outcome counts "
                  f"with the share of its window already followed (the approximated likelihood of Lin and Yuan, "
                  f"2020), and accrual is suspended while more than {self.maxpen:.0%} of the patients at the "
                  f"current dose are pending for either outcome. The optimal biological dose is selected once "
                  f"every patient has completed both assessments.")
