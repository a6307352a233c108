r"""Backfilling (BF-BOIN): treat patients who arrive while the escalation cohort is pending at
a dose already cleared, instead of turning them away.

Zhao Y, Yuan Y, Korn EL, Freidlin B (2024). Backfilling patients in phase I dose-escalation
trials using Bayesian optimal interval design (BOIN). *Clinical Cancer Research* 30(4):673-679.
Rules as the authors' R package bfboin 0.1.1 (``sim.one.trial``) implements them (read, not
copied); differences are listed in docs/validation.md ("Backfill").

Sample size.  By default (``count_in_max_n=False``, BF-BOIN's convention) the wrapped design's
``max_n`` is the number of *escalation* patients (bfboin's ``ncohort * cohortsize``) and
backfilled patients come on top, at most ``cap_per_dose`` at each dose, so a user states "N
escalation patients, backfill up to the cap per dose".  The trial ends with the escalation
(bfboin's ``end.backfill = TRUE``): when the last escalation cohort's follow-up is over (or the
escalation stops); backfilling goes on while that cohort is followed.  The final selection reads
every patient whose follow-up is complete by then; backfilled patients still in follow-up are
treated but not analysed (bfboin's convention).  With ``count_in_max_n=True`` ``max_n`` counts
every patient, backfilled included (backfilling takes places from the escalation), and the trial
ends when everyone is followed.

Where an arrival is backfilled.  While the escalation waits for its cohort, an arriving patient
goes to the highest open dose below the current dose :math:`c`.  Dose :math:`d < c` is open when

* it has patients with complete follow-up (and, with ``require_response=True``, a response
  observed there: BF-BOIN's condition, which needs efficacy data);
* it is *safe*: its complete data are below the design's de-escalation count
  (:math:`y_d < b_d(n_d)`), or its data pooled with those of the next dose up are
  (:math:`y_d + y_{d+1} < b_d(n_d + n_{d+1})`); the lowest dose that is not safe closes
  itself and every dose above it (bfboin's ``safe.doses``);
* fewer than ``cap_per_dose`` patients have been treated there (pending included).

Escalation with backfilled data (:meth:`Backfill.decide`, BOIN only).  The escalation decides
when its own cohort is complete, on the complete data of every patient (backfilled ones
included).  Each dose :math:`k \le c` gets BOIN's decision on its own data (escalate, stay,
de-escalate, eliminate).  If the lower doses agree with the current one (all "escalate" when
the current dose says escalate; none "de-escalate"/"eliminate" otherwise) BOIN's own decision
stands.  Otherwise let :math:`b^*` be the highest lower dose that disagrees (not "escalate";
resp. "de-escalate"/"eliminate") and pool the data of doses :math:`b^*..c`: escalate if the
pooled count is at or below the escalation boundary; stay if it lies between the boundaries;
if it reaches the de-escalation boundary, go to the highest dose :math:`k \\in [b^*, c]` whose
data pooled over :math:`b^*..k` are below the de-escalation boundary, or to :math:`b^* - 1`
when there is none (stopping if :math:`b^*` is the lowest dose and its data reach the
elimination boundary).  Elimination, the extra safety rule and ``n_earlystop`` are BOIN's
(on all complete data).  With BOIN12 the escalation is BOIN12's own rule on all complete data.

Parameters
----------
cap_per_dose : int >= 0
    Close a dose for backfilling once this many patients have been treated there.  bfboin's
    ``n.cap`` counts differently: it keeps a dose open while it has at most ``n.cap``
    patients, so bfboin's default ``n.cap = 12`` is ``cap_per_dose=13`` here
    (docs/designs/backfill.md).  0 turns backfilling off (the plain design, trial by trial).
require_response : bool
    Open a dose only after a response there (needs a run with responses).
count_in_max_n : bool
    False (default, BF-BOIN): ``max_n`` counts escalation patients only.  True: every patient.

Example
-------
>>> from dosefind import TrialState
>>> from dosefind.designs import BOIN, Backfill
>>> d = BOIN(target=0.25, num_doses=5, max_n=30).then(Backfill(cap_per_dose=12))
>>> state = TrialState.from_outcomes("1NNN 2NNN 3NN", num_doses=5)
>>> d.modifiers[-1].backfill(state, d).next_dose
2
>>> # dose 3 (0/3) says escalate, but backfilled dose 2 (3 DLTs in 9) says de-escalate: pooled,
>>> # 3/12 lies between the boundaries (2 < 3 < 4): stay at dose 3
>>> d.decide(TrialState(5, (3, 9, 3, 0, 0), (0, 3, 0, 0, 0), current_index=2)).next_dose
3
"""

from __future__ import annotations

import numpy as np

from dosefind import _validate as V
from dosefind.designs.modifiers import MODIFIERS, Modified, Modifier, StopAtN
from dosefind.state import Decision, ReasonCode, TrialState, to_level

__all__ = ["Backfill", "backfill_rule"]

_ESC, _STAY, _DEESC, _ELIM = 0, 1, 2, 3
_WORDS = ("escalate", "stay", "de-escalate", "eliminate")


def _boin_of(design):
    """The BOIN whose toxicity boundaries the rule reads (BOIN12 keeps them in a BOIN)."""
    base = design.base if isinstance(design, Modified) else design
    return getattr(base, "_boin", base)


def _deescalation_counts(design, n: np.ndarray) -> np.ndarray:
    """The design's de-escalation count at each sample size in ``n`` (BOIN family)."""
    boin = _boin_of(design)
    flat = np.asarray(n, np.int64).ravel()
    uniq, inv = np.unique(flat, return_inverse=True)
    vals = np.array([boin._bounds(int(u))[1] if u > 0 else np.iinfo(np.int64).max for u in uniq], np.int64)
    return vals[inv].reshape(np.shape(n))


def _category(boin, n: int, y: int) -> int:
    """BOIN's decision on one dose's own data (bfboin's per-dose ``decision``)."""
    be, bd, elim, _ = boin._bounds(max(int(n), 1))
    if y <= be:
        return _ESC
    if y >= elim:
        return _ELIM
    return _DEESC if y >= bd else _STAY


class Backfill(Modifier):
    """Backfill arriving patients at cleared doses while the escalation cohort is pending
    (BF-BOIN); see the module docstring for the rules."""

    name = "backfill"

    def __init__(self, cap_per_dose: int = 12, require_response: bool = False, count_in_max_n: bool = False):
        self.cap_per_dose = V.integer(cap_per_dose, "cap_per_dose", minimum=0)
        self.require_response = V.boolean(require_response, "require_response")
        self.count_in_max_n = V.boolean(count_in_max_n, "count_in_max_n")

    def bind(self, design) -> None:
        base = design.base if isinstance(design, Modified) else design
        if not hasattr(_boin_of(design), "_bounds"):
            raise ValueError(f"Backfill works with BOIN and BOIN12 (a de-escalation boundary), got {base.name}")

    # ------------------------------------------------------------------ where to backfill
    def backfill_batch(self, design, n_at_dose, n_complete, tox_complete, current_index,
                       eff_complete=None) -> np.ndarray:
        """0-based backfill dose per trial (-1: none open); arrays (B, D) and (B,).

        ``n_at_dose`` counts every patient treated (pending included) for the cap;
        ``n_complete`` / ``tox_complete`` count patients with complete follow-up and their DLTs
        (``eff_complete`` their responses, read with ``require_response``)."""
        n_at_dose = np.asarray(n_at_dose, np.int64)
        n_c = np.asarray(n_complete, np.int64)
        y_c = np.asarray(tox_complete, np.int64)
        cur = np.asarray(current_index, np.int64)
        B, D = n_c.shape
        below = np.arange(D)[None, :] < cur[:, None]
        own = y_c < _deescalation_counts(design, n_c)
        n_up = np.concatenate([n_c[:, 1:], np.zeros((B, 1), np.int64)], axis=1)
        y_up = np.concatenate([y_c[:, 1:], np.zeros((B, 1), np.int64)], axis=1)
        pooled = (y_c + y_up) < _deescalation_counts(design, n_c + n_up)
        unsafe = below & (n_c > 0) & ~(own | pooled)
        # the lowest unsafe dose closes itself and every dose above it
        blocked = np.logical_or.accumulate(unsafe, axis=1)
        open_ = below & (n_c > 0) & ~blocked & (n_at_dose < self.cap_per_dose)
        if self.require_response:
            e_c = np.zeros_like(n_c) if eff_complete is None else np.asarray(eff_complete, np.int64)
            open_ &= e_c > 0
        highest = D - 1 - np.argmax(open_[:, ::-1], axis=1)
        return np.where(open_.any(axis=1), highest, -1)

    def backfill(self, state: TrialState, design) -> Decision | None:
        """Where a patient arriving now is backfilled (None: turn away).  The scalar rule is
        :meth:`backfill_batch` on one trial."""
        if state.current_index is None:
            return None
        D = state.num_doses
        n_c, y_c, e_c = np.zeros(D, np.int64), np.zeros(D, np.int64), np.zeros(D, np.int64)
        if state.patients:
            for p in state.patients:
                if p.complete and p.eff_complete:
                    n_c[p.dose_index] += 1
                    y_c[p.dose_index] += p.dlt
                    e_c[p.dose_index] += bool(p.eff)
        else:  # a count state: everyone but the current cohort is complete
            n_c[:] = state.n_at_dose
            y_c[:] = state.tox_at_dose
            e_c[:] = state.eff_at_dose
            if state.cohorts:
                last = state.cohorts[-1]
                n_c[last.dose_index] -= last.n
                y_c[last.dose_index] -= last.tox
                e_c[last.dose_index] -= sum(last.eff)
        d = int(self.backfill_batch(design, np.asarray(state.n_at_dose)[None], n_c[None], y_c[None],
                                    np.array([state.current_index]), e_c[None])[0])
        if d < 0:
            return None
        return Decision.treat(d, f"backfill at dose {to_level(d)} (cleared, {state.n_at_dose[d]} < "
                                 f"cap {self.cap_per_dose} treated)", ReasonCode.BACKFILL)

    # ------------------------------------------------------------------ the escalation
    def decide(self, state: TrialState, decision: Decision, design) -> Decision:
        """BF-BOIN's escalation on all complete data: BOIN's decision unless a lower dose's
        data disagree with the current dose's, then the pooled rule (module docstring).  The
        pooled rule replaces the wrapped BOIN's own decision, so the links before this one
        (``StopWhenNAtDose``, ``DontSkipDoses``, ...) are applied again to its answer."""
        if decision.wait or state.current_index is None or getattr(design, "efficacy", False):
            return decision
        chained = isinstance(design, Modified)
        own = design.base.decide(state) if chained else design.decide(state)
        pooled = self._pooled(state, own, design)
        if pooled is own:
            return decision
        return design.redecide(state, pooled) if chained else pooled

    def _pooled(self, state: TrialState, decision: Decision, design) -> Decision:
        """BF-BOIN's pooled rule on the wrapped BOIN's own ``decision`` (returned as it is
        when no lower dose disagrees)."""
        if decision.wait or (decision.stop and decision.code is not ReasonCode.N_AT_DOSE):
            return decision  # max_n, toxicity at the lowest dose, extra safety: BOIN's
        c = state.current_index
        if c == 0:
            return decision
        boin = _boin_of(design)
        n, y = state.n_at_dose, state.tox_at_dose
        cat = [_category(boin, n[k], y[k]) for k in range(c + 1)]
        lower = cat[:c]
        if cat[c] == _ESC:
            disagree = [k for k in range(c) if lower[k] != _ESC]
        else:
            disagree = [k for k in range(c) if lower[k] in (_DEESC, _ELIM)]
        if not disagree:
            return decision
        b = max(disagree)
        n_p, y_p = sum(n[b:c + 1]), sum(y[b:c + 1])
        be, bd, _, _ = boin._bounds(n_p)
        why = (f"dose {to_level(c)} says {_WORDS[cat[c]]} but dose {to_level(b)} says {_WORDS[lower[b]]} "
               f"(BF-BOIN pools doses {to_level(b)}-{to_level(c)}): {y_p}/{n_p} DLTs")
        first_elim = boin._eliminated_from(n, y)
        if y_p <= be:
            nxt, why = c + 1, why + f" <= {be} (escalation boundary at n={n_p}): escalate"
        elif y_p >= bd:
            safe = [k for k in range(b, c + 1) if sum(y[b:k + 1]) < boin._bounds(sum(n[b:k + 1]))[1]]
            if safe:
                nxt = max(safe)
                why += (f" >= {bd} (de-escalation boundary at n={n_p}); highest dose whose pooled data from dose "
                        f"{to_level(b)} are below the de-escalation boundary: dose {to_level(nxt)}")
            else:
                nxt = b - 1
                why += f" >= {bd} (de-escalation boundary at n={n_p}); no dose from {to_level(b)} up is safe"
                if nxt < 0:
                    if y[0] >= boin._bounds(n[0])[2]:
                        return Decision.halt(why + ": the lowest dose is too toxic; no dose is selected",
                                             ReasonCode.LOWEST_TOO_TOXIC)
                    nxt = 0
        else:
            nxt, why = c, why + f" between the boundaries ({be} < DLTs < {bd} at n={n_p}): stay"
        if nxt > c and (c == state.num_doses - 1 or c + 1 >= first_elim):
            nxt, why = c, why + f"; dose {to_level(c)} is the highest dose or the next is eliminated: stay"
        if nxt >= first_elim:
            nxt = first_elim - 1
            why += f"; capped at dose {to_level(nxt)}, below the lowest eliminated dose"
        if nxt == c and n[c] >= boin.n_earlystop:
            return Decision.halt(why + f"; dose {to_level(c)} has {n[c]} patients (n_earlystop="
                                       f"{boin.n_earlystop}): select the MTD", ReasonCode.N_AT_DOSE)
        code = ReasonCode.ESCALATE if nxt > c else (ReasonCode.DE_ESCALATE if nxt < c else ReasonCode.STAY)
        return Decision.treat(nxt, why, code)

    def escalation_design(self, design):
        """The chain that decides the escalation in a simulation: ``design`` itself, or with
        ``count_in_max_n=False`` the same chain whose size limit never binds (the engine
        counts escalation patients against ``max_n``; the rules read everyone's data).  Cap 0
        (nobody is backfilled) is the plain design."""
        if self.count_in_max_n or design.max_n is None or self.cap_per_dose == 0:
            return design
        if isinstance(design, Modified) and any(isinstance(m, StopAtN) for m in design.modifiers):
            raise ValueError("StopAtN counts every patient treated, backfilled included, but Backfill(count_in_max_n="
                             "False) puts backfilled patients on top of the escalation's max_n: give the escalation "
                             "size as the design's max_n without StopAtN, or use Backfill(count_in_max_n=True)")
        base = design.base if isinstance(design, Modified) else design
        params = design.params()
        params["max_n"] = design.max_n + (self.cap_per_dose + 1) * design.num_doses + design.cohort_size
        if "n_cohorts" in params:
            params["n_cohorts"] = None
        return type(base).from_params(params)

    def params(self) -> dict:
        return {"cap_per_dose": self.cap_per_dose, "require_response": self.require_response,
                "count_in_max_n": self.count_in_max_n}

    def describe(self) -> str:
        size = ("the maximum sample size counts every patient, backfilled included" if self.count_in_max_n else
                "backfilled patients come on top of the escalation sample size, and backfilling ends with the "
                "escalation")
        return (f"While the escalation cohort is being followed, arriving patients are backfilled at the highest "
                f"cleared dose below the current dose (BF-BOIN; at most {self.cap_per_dose} patients per dose); "
                f"{size}. Their complete data count in the escalation decisions and the final selection.")


def backfill_rule(design) -> "Backfill | None":
    """The chain's Backfill link (the last one), if any."""
    if isinstance(design, Modified):
        for m in reversed(design.modifiers):
            if isinstance(m, Backfill):
                return m
    return None


#: Rebuildable by Design.from_params like the other modifiers.
MODIFIERS[Backfill.__name__] = Backfill
