"""Small designs used to test the engines independently of the real designs."""

from dosefind.designs.base import Design
from dosefind.state import Decision, MTDSelection


class LastCohortRule(Design):
    """Escalate after 0 DLTs in the last cohort, stay after 1, de-escalate after >= 2;
    the MTD is the highest tried dose with observed DLT rate <= 1/3.  Count-based."""

    name = "last-cohort rule"
    memory = "counts"

    def _decide(self, state):
        d, k = state.current_index, state.last_cohort.tox
        if k == 0:
            return Decision.treat(min(d + 1, self.num_doses - 1), "escalate")
        if k == 1:
            return Decision.treat(d, "stay")
        if d == 0:
            return Decision.halt("stop: too toxic at dose 1")
        return Decision.treat(d - 1, "de-escalate")

    def select_mtd(self, state):
        ok = [i for i, (n, y) in enumerate(zip(state.n_at_dose, state.tox_at_dose)) if n > 0 and y / n <= 1 / 3]
        return MTDSelection(max(ok) if ok else None, (None,) * self.num_doses, "toy")


class NoReturnRule(LastCohortRule):
    """As LastCohortRule, but a dose once de-escalated from is never given again (the
    decision needs the cohort history, so memory = "history")."""

    name = "no-return rule"
    memory = "history"

    def _decide(self, state):
        dec = super()._decide(state)
        if dec.stop:
            return dec
        banned = {c.dose_index for a, c in zip(state.cohorts, state.cohorts[1:]) if c.dose_index < a.dose_index
                  for c in [a]}
        if dec.dose_index in banned:
            below = [i for i in range(dec.dose_index) if i not in banned]
            if not below:
                return Decision.halt("stop: no dose left")
            return Decision.treat(max(below), "avoid a dose de-escalated from")
        return dec


class ToyEfficacyRule(LastCohortRule):
    """A phase I/II toy: escalation as LastCohortRule (DLTs in the last cohort), stop for
    futility when the current dose has 6 or more patients and no response; the OBD is the
    tried dose with the most responses among doses with observed DLT rate <= 0.3 (lowest
    such dose on ties), none when no tried dose qualifies.  Count-based; its utility table
    is BOIN12's default scale (Lin et al. 2020)."""

    name = "toy efficacy rule"
    efficacy = True
    phi_t = 0.35
    utility = {"eff_no_tox": 100, "no_eff_no_tox": 40, "eff_tox": 60, "no_eff_tox": 0}

    def _decide(self, state):
        from dosefind.state import ReasonCode

        d = state.current_index
        if state.n_at_dose[d] >= 6 and state.eff_at_dose[d] == 0:
            return Decision.halt("stop: no response at the current dose", ReasonCode.FUTILITY)
        dec = super()._decide(state)
        if dec.stop:
            return Decision.halt(dec.reason, ReasonCode.LOWEST_TOO_TOXIC)
        return dec

    def select_obd(self, state):
        from dosefind.state import OBDSelection

        ok = [i for i, (n, y) in enumerate(zip(state.n_at_dose, state.tox_at_dose)) if n > 0 and y / n <= 0.3]
        if not ok:
            return OBDSelection(None, (None,) * self.num_doses, "toy: no admissible dose")
        best = max(ok, key=lambda i: (state.eff_at_dose[i], -i))
        return OBDSelection(best, tuple(float(e) for e in state.eff_at_dose), "toy", mtd_index=max(ok))
