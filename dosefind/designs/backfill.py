"""Backfilling (BF-BOIN): treat patients who arrive while the escalation cohort is pending at
a dose already cleared, instead of turning them away.

Zhao Y, Yuan Y, Korn EL, Freidlin B (2024). Backfilling patients in phase I dose-escalation
trials using Bayesian optimal interval design (BOIN). *Clinical Cancer Research* 30(4):673-679.

The escalation follows the wrapped design (BOIN or BOIN12) unchanged.  While it waits for the
current cohort's follow-up, an arriving patient is *backfilled* to the highest open dose below
the current dose.  Dose :math:`d < c` (:math:`c` the current escalation dose) is open when

* it has patients with complete follow-up (and, with ``require_response=True``, a response
  observed there: BF-BOIN's condition, which needs efficacy data);
* it is *safe*: its complete data are below the design's de-escalation count
  (:math:`y_d < b_d(n_d)`), or its data pooled with those of the next dose up are
  (:math:`y_d + y_{d+1} < b_d(n_d + n_{d+1})`); the lowest dose that is not safe closes
  itself and every dose above it (bfboin's ``safe.doses``);
* fewer than ``cap_per_dose`` patients have been treated there (pending included).

Backfilled patients are patients of the trial: once their follow-up is complete their data
count in the escalation decisions at their dose and in the final selection.  Backfilling ends
with the escalation (bfboin's ``end.backfill = TRUE``).  ``cap_per_dose = 0`` turns it off.

Parameters
----------
cap_per_dose : int >= 0
    Close a dose for backfilling once this many patients have been treated there (bfboin's
    ``n.cap``, default 12).

Example
-------
>>> from dosefind import TrialState
>>> from dosefind.designs import BOIN, Backfill
>>> d = BOIN(target=0.25, num_doses=5, max_n=36).then(Backfill(cap_per_dose=12))
>>> state = TrialState.from_outcomes("1NNN 2NNN 3NN", num_doses=5)
>>> d.modifiers[-1].backfill(state, d).next_dose
2
"""

from __future__ import annotations

import numpy as np

from dosefind import _validate as V
from dosefind.designs.modifiers import MODIFIERS, Modified, Modifier
from dosefind.state import Decision, ReasonCode, TrialState, to_level

__all__ = ["Backfill", "backfill_rule"]


def _deescalation_counts(design, n: np.ndarray) -> np.ndarray:
    """The design's de-escalation count at each sample size in ``n`` (BOIN family)."""
    base = design.base if isinstance(design, Modified) else design
    boin = getattr(base, "_boin", base)  # BOIN12 keeps its toxicity boundaries in a BOIN
    flat = np.asarray(n, np.int64).ravel()
    uniq, inv = np.unique(flat, return_inverse=True)
    vals = np.array([boin._bounds(int(u))[1] if u > 0 else np.iinfo(np.int64).max for u in uniq], np.int64)
    return vals[inv].reshape(np.shape(n))


class Backfill(Modifier):
    """Backfill arriving patients at cleared doses while the escalation cohort is pending."""

    name = "backfill"

    def __init__(self, cap_per_dose: int = 12, require_response: bool = False):
        self.cap_per_dose = V.integer(cap_per_dose, "cap_per_dose", minimum=0)
        self.require_response = V.boolean(require_response, "require_response")

    def bind(self, design) -> None:
        base = design.base if isinstance(design, Modified) else design
        boin = getattr(base, "_boin", base)
        if not hasattr(boin, "_bounds"):
            raise ValueError(f"Backfill works with BOIN and BOIN12 (a de-escalation boundary), got {base.name}")

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

    def params(self) -> dict:
        return {"cap_per_dose": self.cap_per_dose, "require_response": self.require_response}

    def describe(self) -> str:
        return (f"backfilling patients at cleared doses below the current dose while its cohort is pending "
                f"(at most {self.cap_per_dose} per dose)")


def backfill_rule(design) -> "Backfill | None":
    """The chain's Backfill link (the last one), if any."""
    if isinstance(design, Modified):
        for m in reversed(design.modifiers):
            if isinstance(m, Backfill):
                return m
    return None


#: Rebuildable by Design.from_params like the other modifiers.
MODIFIERS[Backfill.__name__] = Backfill
