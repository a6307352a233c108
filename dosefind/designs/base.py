"""The design contract.

A design is a pure function of the trial history: :meth:`Design.decide` maps an
immutable :class:`~dosefind.state.TrialState` to a :class:`~dosefind.state.Decision`
(next dose or stop, with a reason), and :meth:`Design.select_mtd` maps the final state
to an :class:`~dosefind.state.MTDSelection`.  No method mutates the design.

``memory`` tells engines what a decision may depend on:

* ``"counts"``: only ``state.key()`` (per-dose counts, current dose, last cohort's DLT
  count).  Engines merge states with equal keys (exact propagation, decision caching).
* ``"history"``: the whole cohort history; engines must not merge states.
* ``"patients"``: per-patient records including pending follow-up and the state's time
  (TITE designs); engines must not merge such states by count key.

A ``"counts"`` or ``"history"`` design reads completed patients only: while any patient
is pending, :meth:`Design.decide` returns ``Decision.pause`` (code ``WAIT_FOLLOWUP``),
unless ``max_n`` patients are already treated (then it stops accrual: ``MAX_N``).

Rules compose with :meth:`Design.then`: ``BOIN(...).then(StopAtN(24))``.

Estimates.  Every design answers two questions about the DLT rate at each dose, so that
modifiers can ask the design they wrap instead of fitting a model of their own (as the
selectors of the R package *escalation* ask their parent):

* :meth:`Design.tox_estimates` -- the design's estimate of the DLT rate per dose;
* :meth:`Design.prob_tox_exceeds` -- Pr(DLT rate > threshold | data) per dose.

Both return one entry per dose, ``None`` where the design gives none (e.g. an untried
dose in a design without a dose-response model).  The defaults here are the model-free
ones: the observed rate y/n and the posterior probability under a Beta(1, 1) prior on
each dose's own counts, Pr(p > t | y, n) = 1 - I_t(y + 1, n - y + 1).  Model-based
designs (CRM) override both with their posterior; BOIN reports its isotonic estimates.
"""

from __future__ import annotations

from abc import ABC, ABCMeta, abstractmethod

from dosefind import _validate as V
from dosefind.state import (Decision, DoseLevels, MTDSelection, OBDSelection, ReasonCode, TrialState, to_index,
                            to_level)


class _Sealed(ABCMeta):
    """Seals a design once its constructor has returned (see :meth:`Design.__setattr__`)."""

    def __call__(cls, *args, **kwargs):
        obj = super().__call__(*args, **kwargs)
        object.__setattr__(obj, "_sealed", True)
        return obj


class Design(ABC, metaclass=_Sealed):
    """Base class for dose-finding designs.

    Subclasses set ``name`` and implement :meth:`_decide` and :meth:`select_mtd`; the base
    class validates the common options and handles the start dose and the trial-size
    limit (``max_n``) so that no design repeats them.

    A design's options are fixed once it is built: a design derives tables from them in its
    constructor (BOIN's boundaries, for instance), so a changed option would be read by some
    rules and not others.  Setting a public attribute afterwards is an error; build a new
    design instead (``type(d).from_params({**d.params(), ...})`` or the constructor).
    """

    def __setattr__(self, name, value):
        if not name.startswith("_") and self.__dict__.get("_sealed"):
            raise AttributeError(
                f"{type(self).__name__}.{name} cannot be changed after the design is built (its rules "
                f"are derived from it once); build a new design with {name}={value!r} instead")
        object.__setattr__(self, name, value)

    name = "design"
    memory = "counts"
    #: True for phase I/II designs, whose decisions read responses (``state.eff_at_dose``)
    #: and which choose an optimal biological dose with :meth:`select_obd`.
    efficacy = False

    def __init__(self, num_doses: int | None = None, *, cohort_size: int = 3, max_n: int | None = None,
                 start_dose: int = 1, doses: DoseLevels | None = None):
        if num_doses is None and doses is None:
            raise ValueError("num_doses must be given (a whole number >= 1)")
        if doses is not None and not isinstance(doses, DoseLevels):
            doses = DoseLevels.from_amounts(doses)
        if num_doses is None:
            num_doses = len(doses)
        self.num_doses = V.integer(num_doses, "num_doses", minimum=1)
        if doses is not None and len(doses) != self.num_doses:
            raise ValueError(f"doses has {len(doses)} levels but num_doses is {self.num_doses}")
        self.doses = doses if doses is not None else DoseLevels.numbered(self.num_doses)
        self.cohort_size = _trial_size(cohort_size, "cohort_size")
        self.max_n = None if max_n is None else _trial_size(max_n, "max_n")
        self.start_dose = V.integer(start_dose, "start_dose", minimum=1, maximum=self.num_doses)

    # ------------------------------------------------------------------ contract
    @property
    def start_index(self) -> int:
        return to_index(self.start_dose)

    def decide(self, state: TrialState) -> Decision:
        """Next dose (or stop) given the whole history."""
        self._check_state(state)
        early = self.decide_pending(state.total_n, state.n_pending)
        if early is not None:
            return early
        if state.current_index is None:
            return Decision.treat(self.start_index, f"start the trial at dose {self.start_dose}", ReasonCode.START)
        return self._decide(state)

    def decide_pending(self, total_n: int, n_pending: int) -> Decision | None:
        """The size limit, then the wait for follow-up (``"counts"``/``"history"`` designs
        with pending patients); None when neither applies.  Engines that hold states as
        counts call this instead of building a state with pending patients."""
        if self.max_n is not None and total_n >= self.max_n:
            return Decision.halt(f"maximum sample size reached ({total_n} of max_n={self.max_n})", ReasonCode.MAX_N)
        if self.memory != "patients" and n_pending:  # a full trial stops; otherwise wait
            return Decision.pause(f"wait for the DLT follow-up of {n_pending} pending patient(s)",
                                  ReasonCode.WAIT_FOLLOWUP)
        return None

    def decision_key(self, n_at_dose, tox_at_dose, current_index, last_cohort_tox):
        """What :meth:`decide` reads of count states (an optional hint to engines).

        Takes count-state arrays (per-dose n and DLTs, shape (T, num_doses); 0-based current
        dose and last cohort's DLTs, shape (T,), -1 before the first cohort) and returns an
        integer array with one row per state such that states with equal rows get the same
        decision (next dose or stop, and its reason code), or None: the decision may read
        the whole count state.  Engines then ask :meth:`decide` once per distinct row; the
        rule itself stays in :meth:`decide`.  The start and the ``max_n`` stop of
        :meth:`decide` are keyed here; a design describes its own rule in
        :meth:`_decision_key`.  tests/designs/test_decision_keys.py checks the key against
        the decisions of every reachable state."""
        import numpy as np

        owner = _owner(type(self), "_decision_key")
        if any(not issubclass(owner, _owner(type(self), m)) for m in ("decide", "_decide")):
            return None  # a subclass changed the rule after the key was written: key nothing
        own = self._decision_key(n_at_dose, tox_at_dose, current_index, last_cohort_tox)
        if own is None:
            return None
        n = np.asarray(n_at_dose)
        cur = np.asarray(current_index)
        phase = np.where(cur < 0, 1, 0)
        if self.max_n is not None:
            phase = np.where((phase == 0) & (n.sum(axis=1) >= self.max_n), 2, phase)
        own = np.where((phase == 0)[:, None], np.asarray(own, dtype=np.int64).reshape(n.shape[0], -1), 0)
        return np.column_stack([phase, own])

    def _decision_key(self, n_at_dose, tox_at_dose, current_index, last_cohort_tox):
        """What :meth:`_decide` reads (see :meth:`decision_key`); None: anything."""
        return None

    def decision_key_layout(self):
        """How :meth:`_decision_key` builds its rows, as a
        :class:`~dosefind.designs.keys.DoseKeyLayout`, for engines that compute keys in
        compiled code; None when the design does not describe its key that way (or a
        subclass changed the rule or the key after the layout was written).  The full key
        is :meth:`decision_key`'s: a phase column (0 during the trial, 1 before the first
        cohort, 2 at ``max_n``), then the layout's columns, zeroed outside phase 0."""
        owner = _owner(type(self), "_decision_key_layout")
        if any(not issubclass(owner, _owner(type(self), m)) for m in ("decide", "_decide", "_decision_key")):
            return None
        if self.max_n is None:
            return None
        return self._decision_key_layout()

    def _decision_key_layout(self):
        """:meth:`_decision_key` as a layout (see :meth:`decision_key_layout`); None: not described."""
        return None

    @abstractmethod
    def _decide(self, state: TrialState) -> Decision:
        """The design's own rule, for a state with at least one cohort and below max_n."""

    @abstractmethod
    def select_mtd(self, state: TrialState) -> MTDSelection:
        """Final MTD selection (and per-dose estimates) from the state."""

    def select_obd(self, state: TrialState) -> OBDSelection:
        """Final optimal-biological-dose selection (phase I/II designs only)."""
        raise TypeError(f"{self.name} is a phase I design: it selects an MTD (select_mtd), not an optimal "
                        f"biological dose; use a phase I/II design such as BOIN12")

    def tox_estimates(self, state: TrialState) -> tuple[float | None, ...]:
        """Estimated DLT rate per dose (None where the design gives none).

        Default: the observed rate y/n at each tried dose."""
        self._check_state(state)
        return tuple(None if n == 0 else y / n for n, y in zip(state.n_at_dose, state.tox_at_dose))

    def prob_tox_exceeds(self, state: TrialState, threshold: float) -> tuple[float | None, ...]:
        """Pr(DLT rate > ``threshold`` | data) per dose (None where the design gives none).

        Default: the posterior under a Beta(1, 1) prior on each tried dose's own counts."""
        self._check_state(state)
        threshold = V.probability(threshold, "threshold")
        return tuple(None if n == 0 else beta_prob_exceeds(n, y, threshold)
                     for n, y in zip(state.n_at_dose, state.tox_at_dose))

    def prob_tox_exceeds_at(self, state: TrialState, threshold: float, index: int) -> float | None:
        """:meth:`prob_tox_exceeds` at one dose (0-based ``index``).  A design whose per-dose
        probabilities are separate integrals (the CRM's) computes only that one; by default
        it is the whole tuple's entry."""
        return self.prob_tox_exceeds(state, threshold)[index]

    @classmethod
    def from_params(cls, params: dict) -> "Design":
        """Rebuild a design from :meth:`params`, modifiers included: ``cls(**options)``
        wrapped in the modifiers listed under ``"modifiers"`` (``type`` and options)."""
        from dosefind.designs.modifiers import MODIFIERS

        options = dict(params)
        links = options.pop("modifiers", [])
        design = cls(**options)
        for link in links:
            link = dict(link)
            kind = link.pop("type", None)
            if kind not in MODIFIERS:
                raise ValueError(f"modifiers: unknown modifier type {kind!r}; known: {', '.join(sorted(MODIFIERS))}")
            design = design.then(MODIFIERS[kind](**link))
        return design

    def then(self, *modifiers) -> "Design":
        """Wrap this design in modifiers; later links win."""
        from dosefind.designs.modifiers import Modified

        design = self
        for m in modifiers:
            design = Modified(design, m)
        return design

    # ------------------------------------------------------------------ helpers
    def _check_state(self, state: TrialState) -> None:
        if not isinstance(state, TrialState):
            raise TypeError(f"state must be a TrialState, got {type(state).__name__}")
        if state.num_doses != self.num_doses:
            raise ValueError(f"the trial state has {state.num_doses} doses but the design has {self.num_doses}")

    def params(self) -> dict:
        """The design's options, as keyword arguments (for reports and manifests)."""
        return {"num_doses": self.num_doses, "cohort_size": self.cohort_size, "max_n": self.max_n,
                "start_dose": self.start_dose}

    def describe(self) -> str:
        """One paragraph describing the design, for reports and protocol text."""
        return self.name

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"


def _owner(cls, name):
    """The class of ``cls``'s method resolution order that defines ``name``."""
    return next(c for c in cls.__mro__ if name in vars(c))


def beta_prob_exceeds(n: int, y: int, threshold: float, a: float = 1.0, b: float = 1.0) -> float:
    """Pr(p > threshold) for p ~ Beta(a + y, b + n - y): y DLTs in n patients under a
    Beta(a, b) prior (:mod:`dosefind._beta`: exact for whole-number parameters)."""
    from dosefind._beta import beta_sf

    return beta_sf(a + y, b + n - y, threshold)


def _trial_size(value, name: str) -> int:
    v = V.integer(value, name, minimum=1)
    if v > V.MAX_PATIENTS:
        raise ValueError(f"{name} must be at most {V.MAX_PATIENTS} patients, got {v}: no dose-finding trial comes "
                         f"near that size, and larger values only make tables and simulations run for hours")
    return v


__all__ = ["Design", "beta_prob_exceeds", "to_level", "to_index"]
