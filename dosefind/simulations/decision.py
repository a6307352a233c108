"""Decision summary: each design's performance across all scenarios, and a ranking.

A sponsor chooses a design from how it behaves over the whole set of scenarios, not in
one.  :func:`decision_summary` reads the operating characteristics of a
:class:`~dosefind.simulations.Comparison` (or the results of ``dosefind run``) and gives,
for every design:

``pcs_mean``, ``pcs_min`` (and the scenario of the minimum)
    Average and worst-case percentage of correct selection.  Scenarios without a target
    (no correct dose defined) are left out.
``overdose_selection_mean``, ``overdose_selection_max`` (and its scenario)
    Average and worst-case % of trials selecting a dose above the true MTD.
``overdose_patients_mean``, ``overdose_patients_max``
    % of patients treated above the true MTD, average and worst case, over the scenarios
    that have a dose at or below the target (in a toxic scenario, below, every patient is
    above the MTD; ``toxic_n_max`` gives how many are treated there).
``dlt_mean``, ``dlt_max``; ``n_mean``, ``n_min``, ``n_max``
    Mean DLTs per trial and mean sample size, averaged over scenarios and at their extremes.
``duration_mean``, ``duration_max``
    Mean trial duration (days), only when the results carry one (calendar-time
    simulations: ``oc.calendar["duration"]["mean"]``, or a ``duration_mean`` value),
    otherwise None.
``phase12``; ``obd_correct_mean``, ``obd_correct_min`` (and its scenario)
    Whether the design is a phase I/II design (``design.efficacy``; known when the design
    objects are given, or from a ``dosefind run`` result), and its average and
    worst-case % correct OBD (``pct_correct_obd`` of the results' ``efficacy`` block)
    over the scenarios with response rates; None where no utility defines an OBD (a
    phase I design is scored on its MTD only when the run gave it the phase I/II designs'
    utility and toxicity limit).

Every scenario counts once (an unweighted average), prior draws included.

Ranking criterion (:class:`Criterion`, settable)
------------------------------------------------
By default a design is *eligible* when its worst-case overdose selection over the
scenarios is at most ``max_overdose_selection`` (25% of trials), and eligible designs
are ranked by their average correct selection (``metric="pcs_mean"``; ``"pcs_min"``
ranks by the worst case).  Ties go to the lower worst-case overdose selection, then to
the design listed first.  Designs that are not eligible are ranked after the eligible
ones, by the same rule.  ``metric="obd_correct_mean"`` (or ``"obd_correct_min"``) ranks
by the correct OBD instead; designs without one (None) then rank last.

Phase I/II designs are ranked by the criterion's metric like any other design: with the
default metric, by the correct selection of the MTD that their ``select_obd`` reports
(against the study's target), *not* by their OBD.  The criterion's text says so when the
summary holds a phase I/II design (:meth:`Criterion.describe` with ``phase12``), and the
OBD columns are reported beside it.  Scenarios in which every dose is overly toxic have no correct
dose to overdose *to* the same way (every selection is an overdose); they count in the
worst case like any other scenario, which is the point: a design that selects a dose in
most trials of such a scenario is not safe.

Safety-stop flag
----------------
A *toxic scenario* is one in which every dose has a true DLT rate above the target (the
true MTD is "none"), so that every selection and every patient is an overdose.  A design
is flagged when it has no safety stop (no rule ends the trial when the lowest dose is too
toxic) and, in some toxic scenario, selects a dose in more than
``max_overdose_selection`` % of trials.  Whether a design has a safety stop is asked of
the design when it is given (:func:`has_safety_stop`); otherwise it is read from the
results: a design none of whose simulated trials, in any scenario, ended with a toxicity
stop (reason codes ``lowest_too_toxic`` or ``extra_safe``) is taken to have none.

When no toxic scenario was evaluated the summary says so (``toxic_scenarios`` is empty):
the designs' safety stops were then never tested.

Example
-------
>>> from dosefind.designs import BOIN, CRM
>>> from dosefind.simulations import compare
>>> comp = compare({"BOIN": BOIN(target=0.25, num_doses=3, max_n=12),
...                 "CRM": CRM([0.1, 0.25, 0.4], target=0.25, cohort_size=3, max_n=12)},
...                {"MTD at DL2": [0.1, 0.25, 0.45], "too toxic": [0.5, 0.6, 0.7]},
...                method="exact")
>>> summary = decision_summary(comp)
>>> [d.design for d in summary.ranking]
['BOIN', 'CRM']
>>> summary.flagged
['CRM']
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from dosefind.state import ReasonCode

__all__ = ["Criterion", "DesignPerformance", "DecisionSummary", "decision_summary", "has_safety_stop",
           "SAFETY_STOP_CODES", "RANK_METRICS", "DEFAULT_MAX_OVERDOSE"]

#: Reason codes of a final decision that ended a trial for toxicity.
SAFETY_STOP_CODES = (ReasonCode.LOWEST_TOO_TOXIC.value, ReasonCode.EXTRA_SAFE.value)
#: Metrics a criterion may rank by (higher is better).
RANK_METRICS = ("pcs_mean", "pcs_min", "obd_correct_mean", "obd_correct_min")
#: Default largest acceptable worst-case overdose selection (% of trials); also the
#: overdose risk above which a design without a safety stop is flagged.
DEFAULT_MAX_OVERDOSE = 25.0


@dataclass(frozen=True)
class Criterion:
    """How designs are ranked (see the module docstring).

    Parameters
    ----------
    metric : {"pcs_mean", "pcs_min", "obd_correct_mean", "obd_correct_min"}
        Average or worst-case correct selection (of the MTD), or average or worst-case
        correct OBD (phase I/II), higher is better.
    max_overdose_selection : float or None
        Largest acceptable worst-case overdose selection (% of trials, 0-100); None: no
        limit.  The same limit defines "high overdose risk" for the safety-stop flag
        (:data:`DEFAULT_MAX_OVERDOSE` when the limit is None).
    """

    metric: str = "pcs_mean"
    max_overdose_selection: float | None = DEFAULT_MAX_OVERDOSE

    def __post_init__(self):
        if self.metric not in RANK_METRICS:
            raise ValueError(f"criterion metric must be one of {', '.join(RANK_METRICS)}, got {self.metric!r}")
        if self.max_overdose_selection is not None:
            v = self.max_overdose_selection
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 100:
                raise ValueError("criterion max_overdose_selection must be a percentage between 0 and 100, "
                                 f"got {v!r}")
            object.__setattr__(self, "max_overdose_selection", float(v))

    @classmethod
    def from_mapping(cls, table: dict, where: str = "criterion") -> "Criterion":
        """A criterion from a study-file table such as ``[criterion]`` with ``metric`` and
        ``max_overdose_selection`` (``max_overdose_selection = false`` for no limit);
        unknown keys are an error naming ``where``."""
        if not isinstance(table, dict):
            raise ValueError(f"{where} must be a table with metric and/or max_overdose_selection, got {table!r}")
        unknown = sorted(set(table) - {"metric", "max_overdose_selection"})
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: metric "
                             f"({' or '.join(RANK_METRICS)}), max_overdose_selection (0-100, or false for no limit)")
        limit = table.get("max_overdose_selection", DEFAULT_MAX_OVERDOSE)
        if limit is False:
            limit = None
        try:
            return cls(metric=table.get("metric", "pcs_mean"), max_overdose_selection=limit)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None

    @property
    def by_obd(self) -> bool:
        """True when the ranking metric is the correct OBD."""
        return self.metric.startswith("obd_")

    def describe(self, phase12=()) -> str:
        """The criterion in words; ``phase12``: the phase I/II designs ranked, whose
        ranking basis is then stated."""
        what = "average" if self.metric.endswith("_mean") else "worst-case"
        chosen = "correct OBD" if self.by_obd else "correct selection"
        text = f"designs ranked by {what} {chosen} across the scenarios"
        if self.max_overdose_selection is not None:
            text += (f", those whose worst-case overdose selection is at most {self.max_overdose_selection:g}% of "
                     "trials first")
        phase12 = list(phase12)
        if phase12 and not self.by_obd:
            names = ", ".join(phase12)
            text += (f"; the phase I/II design{'s' if len(phase12) > 1 else ''} ({names}) "
                     f"{'are' if len(phase12) > 1 else 'is'} ranked by the same rule, on the MTD "
                     f"{'they report' if len(phase12) > 1 else 'it reports'}, not on the optimal biological dose "
                     "(rank by it with metric = \"obd_correct_mean\")")
        elif self.by_obd:
            text += "; a design with no correct OBD defined (no utility) ranks last"
        return text


@dataclass
class DesignPerformance:
    """One design across all scenarios (percentages 0-100; see the module docstring)."""

    design: str
    n_scenarios: int
    pcs_mean: float | None
    pcs_min: float | None
    pcs_min_scenario: str | None
    pcs_max: float | None
    pcs_max_scenario: str | None
    overdose_selection_mean: float | None
    overdose_selection_max: float | None
    overdose_selection_max_scenario: str | None
    overdose_patients_mean: float | None
    overdose_patients_max: float | None
    overdose_patients_max_scenario: str | None
    dlt_mean: float
    dlt_max: float
    n_mean: float
    n_min: float
    n_max: float
    duration_mean: float | None = None
    duration_max: float | None = None
    methods: tuple = ()
    safety_stop: bool | None = None
    toxic_overdose_max: float | None = None      # worst overdose selection in a toxic scenario
    toxic_overdose_scenario: str | None = None
    toxic_n_max: float | None = None             # most patients treated (mean) in a toxic scenario
    toxic_n_scenario: str | None = None
    phase12: bool = False
    obd_correct_mean: float | None = None
    obd_correct_min: float | None = None
    obd_correct_min_scenario: str | None = None
    eligible: bool = True
    flagged: bool = False
    rank: int = 0

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass
class DecisionSummary:
    """Per-design performance (``designs``, in input order), the ``ranking`` (best first),
    the criterion, the toxic scenarios and the flagged designs."""

    designs: list
    ranking: list
    criterion: Criterion
    scenarios: list
    toxic_scenarios: list
    flagged: list = field(default_factory=list)

    @property
    def phase12(self) -> list:
        """Labels of the phase I/II designs, in input order."""
        return [d.design for d in self.designs if d.phase12]

    def describe_criterion(self) -> str:
        """The criterion's text for this summary (naming its phase I/II designs)."""
        return self.criterion.describe(self.phase12)

    def __getitem__(self, design: str) -> DesignPerformance:
        for d in self.designs:
            if d.design == design:
                return d
        raise KeyError(design)

    @property
    def best(self) -> DesignPerformance:
        return self.ranking[0]

    def to_frame(self):
        """One row per design, in ranking order."""
        import pandas as pd

        return pd.DataFrame([d.to_dict() for d in self.ranking]).set_index("rank")

    def to_dict(self) -> dict:
        return {"criterion": {"metric": self.criterion.metric,
                              "max_overdose_selection": self.criterion.max_overdose_selection,
                              "text": self.describe_criterion()},
                "scenarios": list(self.scenarios), "toxic_scenarios": list(self.toxic_scenarios),
                "flagged": list(self.flagged), "ranking": [d.design for d in self.ranking],
                "designs": [d.to_dict() for d in self.designs]}


def has_safety_stop(design) -> bool | None:
    """Whether ``design`` ends the trial when the lowest dose is too toxic.

    BOIN (elimination of the lowest dose) and the 3+3 (>= 2 DLTs at the lowest dose) always
    do; the CRM only with ``stop_tox_cutoff``; any design with a
    :class:`~dosefind.designs.modifiers.StopWhenTooToxic` modifier on dose 1 does.  None
    for a design this function does not know."""
    from dosefind.designs.boin import BOIN
    from dosefind.designs.crm import CRM
    from dosefind.designs.modifiers import StopWhenTooToxic
    from dosefind.designs.three_plus_three import ThreePlusThree

    for m in getattr(design, "modifiers", None) or ():
        if isinstance(m, StopWhenTooToxic) and m.dose == 1:
            return True
    from dosefind.designs.boin12 import BOIN12

    base = getattr(design, "base", design)
    if isinstance(base, (BOIN, ThreePlusThree, BOIN12)):   # BOIN12 (and TITE-BOIN12): lowest dose too toxic
        return True
    if isinstance(base, CRM):
        return base.stop_tox_cutoff is not None
    return None


def _duration(oc):
    """Mean trial duration of a calendar-time result, else None."""
    cal = getattr(oc, "calendar", None)
    if isinstance(cal, dict) and isinstance(cal.get("duration"), dict):
        return cal["duration"].get("mean")
    return oc.values.get("duration_mean")


def _mean(xs):
    xs = [x for x in xs if x is not None]
    return math.fsum(xs) / len(xs) if xs else None


def _extreme(pairs, pick):
    """(value, scenario) of the max (pick=max) or min among non-missing values; the first
    scenario wins ties."""
    pairs = [(v, s) for v, s in pairs if v is not None]
    if not pairs:
        return None, None
    best = pick(v for v, _ in pairs)
    return best, next(s for v, s in pairs if v == best)


def _obd_correct(oc):
    """% correct OBD of a result (None without response rates or without a utility)."""
    eff = getattr(oc, "efficacy", None)
    return (eff.get("values") or {}).get("pct_correct_obd") if isinstance(eff, dict) else None


def _results_of(comparison):
    """(results mapping, design order, scenario order) of a Comparison or a RunResult."""
    results = comparison.results
    designs = [getattr(d, "label", d) for d in comparison.designs]
    scen = []
    for s, _ in results:
        if s not in scen:
            scen.append(s)
    return results, designs, scen


def decision_summary(comparison, criterion: Criterion | None = None, *, designs: dict | None = None
                     ) -> DecisionSummary:
    """Summarise ``comparison`` design by design and rank the designs.

    Parameters
    ----------
    comparison : Comparison or RunResult
        Anything with ``results[(scenario, design)] -> OperatingCharacteristics`` and a
        ``designs`` list (names, or specs with a ``label``).
    criterion : Criterion, optional
        Ranking criterion (default :class:`Criterion()`).
    designs : dict, optional
        Design label -> design object, to ask each design whether it has a safety stop;
        without it the results are read (see the module docstring).
    """
    criterion = Criterion() if criterion is None else criterion
    if not isinstance(criterion, Criterion):
        raise TypeError(f"criterion must be a Criterion, got {type(criterion).__name__}")
    results, labels, scen = _results_of(comparison)
    if not labels or not scen:
        raise ValueError("the comparison has no results to summarise")
    if designs is None and hasattr(comparison, "study"):  # a RunResult carries its design objects
        designs = {d.label: d.design for d in comparison.designs}
    toxic = [s for s in scen if any(results[(s, d)].true_mtd == -1 for d in labels)]
    out = []
    for label in labels:
        ocs = [(results[(s, label)], s) for s in scen]
        v = lambda key: [(oc.values.get(key), s) for oc, s in ocs]  # noqa: E731
        pcs_min, pcs_min_s = _extreme(v("pcs"), min)
        pcs_max, pcs_max_s = _extreme(v("pcs"), max)
        od_max, od_max_s = _extreme(v("overdose_selection_pct"), max)
        op = [(oc.values.get("overdose_patients_pct"), s) for oc, s in ocs if oc.true_mtd != -1]
        op_max, op_max_s = _extreme(op, max)
        dur = [x for x in (_duration(oc) for oc, _ in ocs) if x is not None]
        tox_max, tox_s = _extreme([(oc.values.get("overdose_selection_pct"), s) for oc, s in ocs
                                   if oc.true_mtd == -1], max)
        tox_n, tox_n_s = _extreme([(oc.values["n_mean"], s) for oc, s in ocs if oc.true_mtd == -1], max)
        obd = [(_obd_correct(oc), s) for oc, s in ocs]
        obd_min, obd_min_s = _extreme(obd, min)
        phase12 = bool(getattr(designs[label], "efficacy", False)) if designs and label in designs else False
        if designs is not None and label in designs:
            stop = has_safety_stop(designs[label])
        else:
            stop = None
        if stop is None:
            stop = any(oc.stop_reasons.get(code, 0) > 0 for oc, _ in ocs for code in SAFETY_STOP_CODES)
        out.append(DesignPerformance(
            design=label, n_scenarios=len(scen),
            pcs_mean=_mean(x for x, _ in v("pcs")), pcs_min=pcs_min, pcs_min_scenario=pcs_min_s,
            pcs_max=pcs_max, pcs_max_scenario=pcs_max_s,
            overdose_selection_mean=_mean(x for x, _ in v("overdose_selection_pct")),
            overdose_selection_max=od_max, overdose_selection_max_scenario=od_max_s,
            overdose_patients_mean=_mean(x for x, _ in op),
            overdose_patients_max=op_max, overdose_patients_max_scenario=op_max_s,
            dlt_mean=_mean(x for x, _ in v("dlt_total_mean")), dlt_max=max(x for x, _ in v("dlt_total_mean")),
            n_mean=_mean(x for x, _ in v("n_mean")), n_min=min(x for x, _ in v("n_mean")),
            n_max=max(x for x, _ in v("n_mean")),
            duration_mean=_mean(dur) if dur else None, duration_max=max(dur) if dur else None,
            methods=tuple(dict.fromkeys(oc.method for oc, _ in ocs)), safety_stop=bool(stop),
            toxic_overdose_max=tox_max, toxic_overdose_scenario=tox_s, toxic_n_max=tox_n, toxic_n_scenario=tox_n_s,
            phase12=phase12, obd_correct_mean=_mean(x for x, _ in obd), obd_correct_min=obd_min,
            obd_correct_min_scenario=obd_min_s))
    limit = criterion.max_overdose_selection
    for d in out:
        d.eligible = limit is None or (d.overdose_selection_max is not None and d.overdose_selection_max <= limit)
        high = d.toxic_overdose_max is not None and d.toxic_overdose_max > (
            limit if limit is not None else DEFAULT_MAX_OVERDOSE)
        d.flagged = (not d.safety_stop) and high

    def key(item):
        k, d = item
        score = getattr(d, criterion.metric)
        od = d.overdose_selection_max
        return (not d.eligible, -(score if score is not None else -math.inf),
                od if od is not None else math.inf, k)

    ranking = [d for _, d in sorted(enumerate(out), key=key)]
    for r, d in enumerate(ranking, start=1):
        d.rank = r
    return DecisionSummary(designs=out, ranking=ranking, criterion=criterion, scenarios=scen, toxic_scenarios=toxic,
                           flagged=[d.design for d in out if d.flagged])
