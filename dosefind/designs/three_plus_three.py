"""The rule-based 3+3 design.

The traditional algorithmic design (Storer 1989; reviewed by Le Tourneau, Lee & Siu
2009).  Patients are treated in cohorts of three:

* 0/3 DLTs at the current dose: escalate to the next dose.
* 1/3: treat three more at the same dose.
* 0 or 1 DLT in 6: escalate.
* >= 2 DLTs (in 3 or in 6): the dose is too toxic; escalation stops.  The MTD
  candidate is the dose below.  If fewer than six patients were treated there, three
  more are treated there (``expand_lower``); if it then shows >= 2 DLTs in 6 it is too
  toxic as well, and the rule moves down again.  If the lowest dose is too toxic the
  trial stops with no MTD.
* At the highest dose, 0/3 adds three more there (``expand_top``), so the MTD always
  has six patients; <= 1/6 there makes the highest dose the MTD.

The MTD is the highest dose below the lowest too-toxic dose with <= 1 DLT in 6
patients (or the highest dose when none is too toxic).

The rule has no model: :meth:`~dosefind.designs.base.Design.tox_estimates` gives the
observed rates y/n and :meth:`~dosefind.designs.base.Design.prob_tox_exceeds` the Beta(1, 1)
posterior on each dose's counts (None for untried doses), the defaults of the base class.

Variants (both switches default to the standard rule above):

``expand_lower=False``
    No expansion of the dose below a too-toxic dose: it is declared the MTD with the
    three patients it has (0/3).
``expand_top=False``
    0/3 at the highest dose ends the trial with the highest dose as MTD.

References
----------
Storer BE. Design and analysis of phase I clinical trials. *Biometrics* 1989;45:925-937.
Le Tourneau C, Lee JJ, Siu LL. Dose escalation methods in phase I cancer clinical
trials. *J Natl Cancer Inst* 2009;101:708-720.

Example
-------
>>> from dosefind import TrialState
>>> d = ThreePlusThree(num_doses=5)
>>> d.decide(TrialState.from_outcomes("1NNN 2NTN", num_doses=5)).next_dose
2
>>> d.decide(TrialState.from_outcomes("1NNN 2NTN 2NNN", num_doses=5)).next_dose
3
>>> d.decide(TrialState.from_outcomes("1NNN 2NNN 3TTN", num_doses=5)).next_dose
2
>>> d.select_mtd(TrialState.from_outcomes("1NNN 2NNN 3TTN 2NTN", num_doses=5)).mtd
2
"""

from __future__ import annotations

from dosefind import _validate as V
from dosefind.designs.base import Design
from dosefind.state import Decision, DoseLevels, MTDSelection, TrialState, to_level
from dosefind.state import ReasonCode as R


class ThreePlusThree(Design):
    """The standard 3+3 design (see the module docstring for the exact rule).

    Parameters
    ----------
    num_doses : int
        Number of dose levels (>= 1).
    start_dose : int, default 1
        1-based starting dose level.
    expand_lower : bool, default True
        When a dose is too toxic and the dose below has only three patients, treat three
        more there before declaring it the MTD.
    expand_top : bool, default True
        At the highest dose, 0/3 adds three more patients there.
    max_n : int, optional
        Hard cap on the sample size (the rule itself never exceeds 6 x num_doses).
    doses : DoseLevels, optional
        Labels and amounts of the dose levels.
    """

    name = "3+3"
    memory = "counts"

    def __init__(self, num_doses: int | None = None, *, start_dose: int = 1, expand_lower: bool = True,
                 expand_top: bool = True, max_n: int | None = None, doses: DoseLevels | None = None):
        super().__init__(num_doses, cohort_size=3, max_n=max_n, start_dose=start_dose, doses=doses)
        self.expand_lower = V.boolean(expand_lower, "expand_lower")
        self.expand_top = V.boolean(expand_top, "expand_top")

    # ------------------------------------------------------------------ rules
    @staticmethod
    def _lowest_toxic(state: TrialState) -> int | None:
        toxic = [i for i, y in enumerate(state.tox_at_dose) if y >= 2]
        return toxic[0] if toxic else None

    def _decide(self, state: TrialState) -> Decision:
        d = state.current_index
        n, x = state.n_at_dose[d], state.tox_at_dose[d]
        top = self.num_doses - 1
        level = to_level(d)
        if n not in (3, 6):
            raise ValueError(
                f"the 3+3 rule needs 3 or 6 patients at the current dose, but dose {level} has {n}; "
                "check the outcomes (cohorts of three)"
            )
        if x >= 2:
            return self._below_too_toxic(state, d, f"{x}/{n} DLTs at dose {level}: too toxic")
        if n == 3 and x == 1:
            return Decision.treat(d, f"1/3 DLTs at dose {level}: treat 3 more at dose {level}", R.EXPAND)
        # 0/3, or <= 1/6: the dose is acceptable.
        seen = f"{x}/{n} DLTs at dose {level}"
        if d == top:
            if n == 3 and self.expand_top:
                return Decision.treat(d, f"{seen}, the highest dose: treat 3 more there to confirm it", R.EXPAND)
            return Decision.halt(f"{seen}, the highest dose: stop, MTD = dose {level}", R.MTD_FOUND)
        if state.n_at_dose[d + 1] > 0:
            # The dose above was tried, so it proved too toxic: this dose is the MTD once confirmed.
            if n >= 6:
                return Decision.halt(f"{seen} and dose {level + 1} too toxic: stop, MTD = dose {level}", R.MTD_FOUND)
            return Decision.treat(d, f"{seen} and dose {level + 1} too toxic: treat 3 more at dose {level}", R.EXPAND)
        return Decision.treat(d + 1, f"{seen}: escalate to dose {level + 1}", R.ESCALATE)

    def _below_too_toxic(self, state: TrialState, d: int, why: str) -> Decision:
        if d == 0:
            return Decision.halt(f"{why}, and it is the lowest dose: stop, no MTD", R.LOWEST_TOO_TOXIC)
        e = d - 1
        n_e = state.n_at_dose[e]
        if n_e >= 6:
            return Decision.halt(f"{why}: stop, MTD = dose {to_level(e)} ({state.tox_at_dose[e]}/{n_e} DLTs)",
                                 R.MTD_FOUND)
        if self.expand_lower:
            return Decision.treat(e, f"{why}: treat 3 more at dose {to_level(e)} to confirm it as MTD", R.DE_ESCALATE)
        return Decision.halt(f"{why}: stop, MTD = dose {to_level(e)} (no expansion of the lower dose)", R.MTD_FOUND)

    def select_mtd(self, state: TrialState) -> MTDSelection:
        self._check_state(state)
        estimates = tuple(None if n == 0 else y / n for n, y in zip(state.n_at_dose, state.tox_at_dose))
        lt = self._lowest_toxic(state)
        top = self.num_doses - 1
        e = top if lt is None else lt - 1
        if e < 0:
            return MTDSelection(None, estimates, "no MTD: the lowest dose is too toxic")
        n, x = state.n_at_dose[e], state.tox_at_dose[e]
        if n >= 6 and x <= 1:
            return MTDSelection(e, estimates, f"MTD = dose {to_level(e)} ({x}/{n} DLTs)")
        may_use_three = (not self.expand_lower) if lt is not None else (not self.expand_top)
        if n == 3 and x == 0 and may_use_three:
            return MTDSelection(e, estimates, f"MTD = dose {to_level(e)} (0/3 DLTs)")
        return MTDSelection(None, estimates, f"no MTD declared: dose {to_level(e)} has not been confirmed "
                                             "by the 3+3 rule")

    # ------------------------------------------------------------------ reporting
    def params(self) -> dict:
        return {"num_doses": self.num_doses, "start_dose": self.start_dose, "expand_lower": self.expand_lower,
                "expand_top": self.expand_top, "max_n": self.max_n}

    def describe(self) -> str:
        text = (
            "Patients are enrolled in cohorts of three following the standard 3+3 rule. With 0 of 3 patients "
            "experiencing a DLT the next cohort receives the next higher dose; with 1 of 3, three more patients are "
            "treated at the same dose and escalation continues if at most 1 of the 6 has a DLT. With 2 or more "
            "DLTs at a dose, that dose is considered too toxic and escalation stops. "
        )
        if self.expand_lower:
            text += ("The next lower dose is then expanded to six patients if only three were treated there, and is "
                     "declared the maximum tolerated dose (MTD) if at most 1 of 6 patients has a DLT; otherwise the "
                     "same rule is applied to the dose below it. ")
        else:
            text += "The next lower dose is declared the maximum tolerated dose (MTD). "
        if self.expand_top:
            text += "At the highest dose, 0 of 3 DLTs is confirmed in three more patients. "
        else:
            text += "At the highest dose, 0 of 3 DLTs ends the trial with the highest dose as MTD. "
        text += "If the lowest dose is too toxic, the trial stops without selecting an MTD."
        if self.max_n is not None:
            text += f" At most {self.max_n} patients are enrolled."
        return text
