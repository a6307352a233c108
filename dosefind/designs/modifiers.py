"""Composable rules that wrap any design.

A modifier receives the parent design's :class:`~dosefind.state.Decision` (and, at the end
of the trial, its :class:`~dosefind.state.MTDSelection`) and overrides only what it
changes; in a chain, later links win::

    BOIN(target=0.3, num_doses=5).then(StopAtN(24), DontSkipDoses())

Modifiers follow the chained selectors of the R package *escalation* (Brock 2019):
``stop_at_n``, ``dont_skip_doses``, ``stop_when_too_toxic`` and ``stop_when_n_at_dose``.
Like escalation's selectors they ask the design they wrap for its estimates
(:meth:`Design.prob_tox_exceeds`), so a rule works with any model.

A chain's :meth:`Modified.params` lists its modifiers, and
:meth:`Design.from_params` rebuilds the chain from them:

>>> from dosefind.designs import BOIN, StopAtN
>>> d = BOIN(target=0.3, num_doses=5).then(StopAtN(12))
>>> d.params()["modifiers"]
[{'type': 'StopAtN', 'n': 12}]
>>> BOIN.from_params(d.params()).params() == d.params()
True
"""

from __future__ import annotations

from dosefind import _validate as V
from dosefind.designs.base import Design, beta_prob_exceeds
from dosefind.state import Decision, MTDSelection, TrialState, to_index, to_level
from dosefind.state import ReasonCode as R


class Modifier:
    """Base class: by default changes nothing."""

    name = "modifier"
    memory = "counts"

    def bind(self, design: Design) -> None:
        """Check the modifier fits the design it wraps (e.g. dose numbers in range)."""

    def decide(self, state: TrialState, decision: Decision, design: Design) -> Decision:
        return decision

    def select_mtd(self, state: TrialState, selection: MTDSelection, design: Design) -> MTDSelection:
        return selection

    def params(self) -> dict:
        return {}

    def describe(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.params().items())})"


class Modified(Design):
    """A design wrapped by one modifier (built by :meth:`Design.then`)."""

    def __init__(self, parent: Design, modifier: Modifier):
        if not isinstance(parent, Design):
            raise TypeError(f"parent must be a Design, got {type(parent).__name__}")
        if not isinstance(modifier, Modifier):
            raise TypeError(f"then() takes modifiers such as StopAtN(24), got {type(modifier).__name__}")
        modifier.bind(parent)
        self.parent = parent
        self.modifier = modifier
        # The wrapper is a design with the parent's shape.
        self.num_doses = parent.num_doses
        self.doses = parent.doses
        self.cohort_size = parent.cohort_size
        self.max_n = parent.max_n
        self.start_dose = parent.start_dose
        self.name = parent.name
        self.efficacy = parent.efficacy
        memories = (parent.memory, modifier.memory)
        self.memory = next((m for m in ("patients", "history") if m in memories), "counts")

    @property
    def base(self) -> Design:
        """The innermost design of the chain."""
        d = self.parent
        while isinstance(d, Modified):
            d = d.parent
        return d

    @property
    def modifiers(self) -> list[Modifier]:
        chain, d = [], self
        while isinstance(d, Modified):
            chain.append(d.modifier)
            d = d.parent
        return chain[::-1]

    def __getattr__(self, item):
        # Design-specific attributes (target, skeleton, boundaries(), ...) come from the parent.
        if item == "parent":
            raise AttributeError(item)
        return getattr(self.parent, item)

    def decide(self, state: TrialState) -> Decision:
        return self.redecide(state, self.base.decide(state))

    def redecide(self, state: TrialState, decision: Decision) -> Decision:
        """The chain's modifiers applied, in order, to ``decision`` as the innermost design's
        (a modifier that replaces the design's own rule, such as BF-BOIN's pooled escalation,
        re-runs the links before it on its decision)."""
        if isinstance(self.parent, Modified):
            decision = self.parent.redecide(state, decision)
        if decision.wait:  # waiting for follow-up: no modifier applies to a decision not taken yet
            return decision
        return self.modifier.decide(state, decision, self.parent)

    _decide = decide  # the chain replaces the whole of decide(), start dose and max_n included

    def select_mtd(self, state: TrialState) -> MTDSelection:
        return self.modifier.select_mtd(state, self.parent.select_mtd(state), self.parent)

    def select_obd(self, state: TrialState):
        """The parent's OBD selection (modifiers change escalation and the MTD, not the
        utility ranking)."""
        return self.parent.select_obd(state)

    def tox_estimates(self, state: TrialState) -> tuple[float | None, ...]:
        return self.parent.tox_estimates(state)

    def prob_tox_exceeds(self, state: TrialState, threshold: float) -> tuple[float | None, ...]:
        return self.parent.prob_tox_exceeds(state, threshold)

    def prob_tox_exceeds_at(self, state: TrialState, threshold: float, index: int) -> float | None:
        return self.parent.prob_tox_exceeds_at(state, threshold, index)

    def params(self) -> dict:
        """The innermost design's options plus ``"modifiers"``: one dict per link, in
        order, with its ``"type"`` and options (rebuild with :meth:`Design.from_params`)."""
        out = dict(self.base.params())
        out["modifiers"] = [{"type": type(m).__name__, **m.params()} for m in self.modifiers]
        return out

    def describe(self) -> str:
        return self.parent.describe() + " " + self.modifier.describe()

    def __repr__(self) -> str:
        return f"{self.parent!r}.then({self.modifier!r})"


class StopAtN(Modifier):
    """Stop once ``n`` patients have been treated in total (escalation's ``stop_at_n``)."""

    name = "stop at N"

    def __init__(self, n: int):
        self.n = V.integer(n, "n", minimum=1)

    def decide(self, state, decision, design):
        if not decision.stop and state.total_n >= self.n:
            return Decision.halt(f"sample size reached: {state.total_n} patients treated (stop at n={self.n})",
                                 R.STOP_AT_N)
        return decision

    def params(self):
        return {"n": self.n}

    def describe(self):
        return f"The trial stops once {self.n} patients have been treated."


class StopWhenNAtDose(Modifier):
    """Stop when the dose about to be given already has ``n`` patients (the BOIN
    ``n.earlystop`` idea, escalation's ``stop_when_n_at_dose(dose='recommended')``)."""

    name = "stop when n at dose"

    def __init__(self, n: int):
        self.n = V.integer(n, "n", minimum=1)

    def decide(self, state, decision, design):
        if not decision.stop and state.n_at_dose[decision.dose_index] >= self.n:
            return Decision.halt(
                f"dose {decision.next_dose} already has {state.n_at_dose[decision.dose_index]} patients "
                f"(stop when {self.n} are at the recommended dose)", R.N_AT_DOSE
            )
        return decision

    def params(self):
        return {"n": self.n}

    def describe(self):
        return f"The trial stops when the recommended next dose already has {self.n} patients."


class DontSkipDoses(Modifier):
    """Never escalate by more than one level (and, with ``when_deescalating=True``, never
    de-escalate by more than one level) at a time.

    ``relative_to`` names the dose the cap counts from; both rules are in use:

    * ``"current"`` (default): one level above the dose the last cohort received, as
      escalation's ``dont_skip_doses`` (``last_d + 1``) and dfcrm's ``crmsim`` restriction.
      After ``1N 2N 3N 1N`` the next dose is at most 2.
    * ``"highest_tried"``: one level above the highest dose tried so far, which only
      forbids untried doses (after ``1N 2N 3N 1N``: at most 4).

    De-escalation is always counted from the current dose (escalation's ``last_d - 1``).
    """

    name = "don't skip doses"
    RELATIVE_TO = ("current", "highest_tried")

    def __init__(self, when_escalating: bool = True, when_deescalating: bool = False,
                 relative_to: str = "current"):
        self.when_escalating = V.boolean(when_escalating, "when_escalating")
        self.when_deescalating = V.boolean(when_deescalating, "when_deescalating")
        if relative_to not in self.RELATIVE_TO:
            raise ValueError(f"relative_to must be 'current' or 'highest_tried', got {relative_to!r}")
        self.relative_to = relative_to

    def decide(self, state, decision, design):
        if decision.stop or decision.wait or state.current_index is None:
            return decision
        d = decision.dose_index
        if self.when_escalating:
            ref = state.current_index if self.relative_to == "current" else state.max_tried_index
            cap = ref + 1
            if d > cap:
                what = "the current dose" if self.relative_to == "current" else "the highest dose tried"
                return Decision.treat(cap, decision.reason + f"; capped at dose {to_level(cap)}, one level above "
                                                             f"{what} (no skipping)", R.ESCALATE)
        if self.when_deescalating and d < state.current_index - 1:
            lo = state.current_index - 1
            return Decision.treat(lo, decision.reason + f"; de-escalate one level at a time, to dose {to_level(lo)}",
                                  R.DE_ESCALATE)
        return decision

    def params(self):
        return {"when_escalating": self.when_escalating, "when_deescalating": self.when_deescalating,
                "relative_to": self.relative_to}

    def describe(self):
        parts = []
        if self.when_escalating:
            ref = "the current dose" if self.relative_to == "current" else "the highest dose tried so far"
            parts.append(f"escalation is by at most one dose level above {ref}")
        if self.when_deescalating:
            parts.append("de-escalation is by one level at a time")
        return ("Additionally, " + " and ".join(parts) + ".") if parts else ""


class StopWhenTooToxic(Modifier):
    """Safety rule on the posterior probability that the DLT rate at one dose is too high.

    If Pr(p_dose > ``threshold`` | data) >= ``confidence`` (escalation's comparison) at a
    dose with at least ``min_n`` patients, that dose and all above it are removed: if
    ``dose`` is the lowest dose the trial stops with no MTD; otherwise the next dose and
    the selected MTD are capped below it.

    ``estimate`` says whose probability is used:

    * ``"design"`` (default): the wrapped design's own :meth:`Design.prob_tox_exceeds`,
      as escalation's ``stop_when_too_toxic`` asks its parent model (the CRM's posterior,
      or the Beta(1, 1) posterior on the dose's counts for BOIN and 3+3);
    * ``"beta"``: a Beta(``prior_a``, ``prior_b``) posterior on the dose's own counts,
      whatever the design.

    ``min_n=0`` applies the rule whatever the number of patients (escalation has no
    minimum; a model-based design can then stop on its estimate for an untried dose).
    """

    name = "stop when too toxic"
    ESTIMATES = ("design", "beta")

    def __init__(self, threshold: float, confidence: float = 0.9, dose: int = 1, min_n: int = 1,
                 estimate: str = "design", prior_a: float = 1.0, prior_b: float = 1.0):
        self.threshold = V.probability(threshold, "threshold")
        self.confidence = V.probability(confidence, "confidence")
        self.dose = V.integer(dose, "dose", minimum=1)
        self.min_n = V.integer(min_n, "min_n", minimum=0)
        if estimate not in self.ESTIMATES:
            raise ValueError(f"estimate must be 'design' or 'beta', got {estimate!r}")
        self.estimate = estimate
        self.prior_a = V.positive(prior_a, "prior_a")
        self.prior_b = V.positive(prior_b, "prior_b")

    def bind(self, design):
        if self.dose > design.num_doses:
            raise ValueError(f"dose must be between 1 and {design.num_doses}, got {self.dose}")

    def prob_tox_exceeds(self, state: TrialState, design: Design | None = None) -> float | None:
        """Pr(DLT rate at ``dose`` > threshold | data): the design's (``estimate="design"``,
        needs ``design``) or the Beta posterior on the dose's counts (None: no estimate)."""
        i = to_index(self.dose)
        if self.estimate == "design":
            if design is None:
                raise ValueError("estimate='design' needs the design whose estimate is asked")
            return design.prob_tox_exceeds_at(state, self.threshold, i)
        n, y = state.n_at_dose[i], state.tox_at_dose[i]
        return beta_prob_exceeds(n, y, self.threshold, self.prior_a, self.prior_b)

    def _too_toxic(self, state, design) -> tuple[bool, float | None]:
        i = to_index(self.dose)
        if state.n_at_dose[i] < self.min_n:
            return False, None
        p = self.prob_tox_exceeds(state, design)
        return (p is not None and p >= self.confidence), p

    def decide(self, state, decision, design):
        if decision.stop or decision.wait:
            return decision
        too, p = self._too_toxic(state, design)
        if not too:
            return decision
        why = f"Pr(DLT rate at dose {self.dose} > {self.threshold:g}) = {p:.3f} reaches {self.confidence:g}"
        i = to_index(self.dose)
        if i == 0:
            return Decision.halt(f"stop: the lowest dose is too toxic, {why}", R.LOWEST_TOO_TOXIC)
        if decision.dose_index >= i:
            cur = state.current_index
            code = R.DE_ESCALATE if i - 1 < cur else (R.ESCALATE if i - 1 > cur else R.STAY)
            return Decision.treat(i - 1, f"{why}; treat at dose {i} instead", code)
        return decision

    def select_mtd(self, state, selection, design):
        if not self._too_toxic(state, design)[0]:
            return selection
        i = to_index(self.dose)
        if i == 0:
            return MTDSelection(None, selection.estimates, "no MTD: the lowest dose is too toxic", selection.details)
        if selection.mtd_index is not None and selection.mtd_index >= i:
            return MTDSelection(i - 1, selection.estimates,
                                f"MTD capped at dose {i}: dose {self.dose} is too toxic", selection.details)
        return selection

    def params(self):
        return {"threshold": self.threshold, "confidence": self.confidence, "dose": self.dose, "min_n": self.min_n,
                "estimate": self.estimate, "prior_a": self.prior_a, "prior_b": self.prior_b}

    def describe(self):
        source = ("the design's posterior" if self.estimate == "design"
                  else f"a Beta({self.prior_a:g}, {self.prior_b:g}) posterior on its own counts")
        return (f"If Pr(DLT rate at dose {self.dose} > {self.threshold:g}), from {source}, reaches {self.confidence:g}"
                + (f" with at least {self.min_n} patients there" if self.min_n > 0 else "")
                + f", dose {self.dose} and all higher doses are excluded"
                + (" and the trial stops." if self.dose == 1 else "."))


#: Modifier classes by name, for :meth:`Design.from_params`.
MODIFIERS = {c.__name__: c for c in (StopAtN, StopWhenNAtDose, DontSkipDoses, StopWhenTooToxic)}

__all__ = ["MODIFIERS", "Modifier", "Modified", "StopAtN", "StopWhenNAtDose", "DontSkipDoses", "StopWhenTooToxic"]
