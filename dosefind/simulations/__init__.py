"""Operating characteristics of dose-finding designs, exactly or by Monte Carlo.

>>> from dosefind.designs import ThreePlusThree
>>> oc = simulate(ThreePlusThree(num_doses=3), [0.05, 0.25, 0.5], method="exact", target=0.25)
>>> oc.method, oc.n_trials is None          # no Monte Carlo: every path's probability is summed
('exact', True)
>>> round(sum(oc.values["selection_pct"]) + oc.values["no_selection_pct"], 9)
100.0

Two engines share one design interface (:mod:`~dosefind.simulations.exact`,
:mod:`~dosefind.simulations.monte_carlo`); ``method="auto"`` uses the exact engine when
the design's decisions depend only on counts and the state space is small, Monte Carlo
otherwise.  Definitions of every reported quantity are in
:mod:`~dosefind.simulations.results`; the patient model (common random numbers) in
:mod:`~dosefind.simulations.patients`.
"""

from __future__ import annotations

from dataclasses import dataclass

from dosefind import _validate as V
from dosefind.designs.base import Design
from dosefind.simulations.exact import DEFAULT_MAX_STATES, StateSpaceTooLarge, simulate_exact
from dosefind.simulations.monte_carlo import simulate_mc
from dosefind.simulations.patients import CHUNK_SIZE, resolve_seed
from dosefind.simulations.results import OperatingCharacteristics, above_mtd_mask, correct_doses
from dosefind.simulations.scenarios import Scenario, as_scenario, as_scenarios, read_scenarios
from dosefind.simulations.timing import Accrual, Manufacturing, ToxicityComponents, ToxicityTiming

__all__ = ["Accrual", "Comparison", "Manufacturing", "OperatingCharacteristics", "Scenario", "StateSpaceTooLarge",
           "ToxicityComponents", "ToxicityTiming", "compare", "read_scenarios", "simulate"]

METHODS = ("auto", "exact", "mc")

#: States the exact engine may visit under method="auto" before falling back to Monte
#: Carlo (typical trials of 10 cohorts of 3 with 5 doses visit about 26,000).
AUTO_MAX_STATES = 100_000


#: States the phase I/II exact engine may visit under method="auto" (each state is decided
#: by the design; BOIN12 with 3 doses and 12 patients visits about 7,000).
AUTO_MAX_STATES_PHASE12 = 30_000


#: Most trials one call may simulate (about 10 minutes per 10^9 on one core): a larger
#: ``n_trials`` is a typo, refused with a message rather than run for days.
MAX_TRIALS = 10 ** 9


def _check_common(n_trials, method, workers, acceptable):
    n_trials = V.integer(n_trials, "n_trials", minimum=1)
    if n_trials > MAX_TRIALS:
        raise ValueError(f"n_trials must be at most {MAX_TRIALS:,} (10^9), got {n_trials:.3g}; "
                         "use a few million trials at most (Monte Carlo error falls as 1/sqrt(n_trials))")
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    workers = V.integer(workers, "workers", minimum=1)
    if acceptable is not None:
        try:
            lo, hi = acceptable
        except (TypeError, ValueError):
            raise ValueError(f"acceptable must be a pair (low, high) of DLT rates, got {acceptable!r}") from None
        lo = V.probability(lo, "acceptable low", open_interval=False)
        hi = V.probability(hi, "acceptable high", open_interval=False)
        if lo > hi:
            raise ValueError(f"acceptable must be (low, high) with low <= high, got ({lo}, {hi})")
        acceptable = (lo, hi)
    return n_trials, workers, acceptable


def _target_of(design, scenario, target):
    if target is not None:
        return V.probability(target, "target")
    if scenario.target is not None:
        return scenario.target
    t = getattr(design, "target", None)
    return None if t is None else float(t)


def _exact_or_mc(method: str, seed, exact, mc):
    """The engine choice of every cohort simulation: ``exact()`` under "exact" (its
    StateSpaceTooLarge raised) or "auto" (falling back), else ``mc(seed)`` with the seed
    resolved.  Returns (result, method used, seed)."""
    if method in ("auto", "exact"):
        try:
            return exact(), "exact", seed
        except StateSpaceTooLarge:
            if method == "exact":
                raise
    seed = resolve_seed(seed)
    return mc(seed), "mc", seed


def exact_state_cap(design: Design, method: str, max_states: int = DEFAULT_MAX_STATES) -> int:
    """States the exact engine may visit for ``method`` ("exact" or "auto") before giving
    up.  Under "auto" the cap is modest, so that a large state space falls back to Monte
    Carlo quickly (one rule for ``simulate``, ``compare`` and grids)."""
    if method == "exact":
        return max_states
    return min(max_states, AUTO_MAX_STATES if design.memory == "counts" else 20_000)


def simulate(design: Design, true_prob_tox=None, *, n_trials: int = 10_000, seed: int | None = None,
             method: str = "auto", workers: int = 1, progress: bool | None = None, target: float | None = None,
             acceptable: tuple[float, float] | None = None, max_states: int = DEFAULT_MAX_STATES,
             use_batch: bool = True, accrual: Accrual | None = None, timing: ToxicityTiming | None = None,
             manufacturing: Manufacturing | None = None, dlt_window: float | None = None,
             true_prob_eff=None, tox_eff_correlation=0.0, joint=None, utility: dict | None = None,
             tox_limit: float | None = None) -> OperatingCharacteristics:
    """Operating characteristics of ``design`` when the truth is ``true_prob_tox``.

    Parameters
    ----------
    design : Design
        Any dosefind design, including modified ones (``design.then(...)``).
    true_prob_tox : sequence of float or Scenario
        True DLT probability at each dose, each in [0, 1], one per dose of the design.
    n_trials : int, default 10000
        Simulated trials (Monte Carlo), 1 to :data:`MAX_TRIALS` (10^9).  Ignored by the
        exact engine.
    seed : int, optional
        Seed of the patient streams.  The same seed gives bit-identical results for any
        ``workers``; None draws a fresh seed (reported in the result).
    method : {"auto", "exact", "mc"}
        ``exact`` propagates probability over merged trial states (no Monte Carlo
        error; designs with ``memory="counts"``, or small history designs); ``mc``
        simulates; ``auto`` tries exact with a cap of :data:`AUTO_MAX_STATES` states
        (``max_states`` for ``exact``) and falls back to Monte Carlo.
    workers : int, default 1
        Processes for Monte Carlo.
    progress : bool, optional
        Show a progress bar on stderr (default: no output; ``dosefind simulate`` turns it
        on for long runs on a terminal).
    target : float, optional
        Target DLT rate defining the correct dose; default: the scenario's, then the
        design's own ``target`` (the 3+3 has none: give one to get PCS).
    acceptable : (float, float), optional
        Band of acceptable true DLT rates; every dose inside counts as correct.
    accrual, timing, manufacturing, dlt_window : optional
        Simulate in calendar time (:mod:`~dosefind.simulations.calendar`): patient
        arrivals (:class:`Accrual`, required there), time to DLT (:class:`ToxicityTiming`,
        default uniform), product manufacturing (:class:`Manufacturing`, default none) and
        the DLT assessment window in days (default: the design's ``dlt_window``).  Any of
        them, a :class:`ToxicityComponents` scenario, or a design with
        ``memory = "patients"`` (TITE designs) selects the calendar engine; results then
        carry ``calendar`` (duration, enrolment) besides the usual metrics.
    true_prob_eff : sequence of float, optional
        True response probability per dose, each in [0, 1] (default: the scenario's
        ``true_prob_response``).  Required for a phase I/II design (``design.efficacy``);
        a phase I design simulated with it also reports responses per dose, on the same
        patients (:mod:`~dosefind.simulations.phase12`).
    tox_eff_correlation : float or sequence of float, default 0
        Phi correlation of DLT and response per patient (one value or one per dose), in
        [-1, 1] and possible for the marginals (:class:`~dosefind.simulations.joint.JointOutcomes`).
    joint : JointOutcomes or sequence, optional
        The joint truth instead: a :class:`~dosefind.simulations.joint.JointOutcomes`, or
        per-dose rows of cell probabilities (N, T, E, B) or dicts with those keys;
        ``true_prob_tox`` may then be omitted (it is the table's DLT rate).
    utility, tox_limit : optional
        The truth of the OBD metrics: the utility table (keys ``eff_no_tox``,
        ``no_eff_no_tox``, ``eff_tox``, ``no_eff_tox``) and the DLT rate defining the true
        MTD; default the design's ``utility`` and ``phi_t`` (else the target).
        :func:`compare` passes its phase I/II designs' ones to phase I designs, so that
        every design is scored against the same correct OBD.

    Results of such runs carry ``efficacy`` (OBD selection, correct OBD, responses,
    utility, ...; defined in :mod:`~dosefind.simulations.results`).

    Returns
    -------
    OperatingCharacteristics
    """
    if not isinstance(design, Design):
        raise TypeError(f"design must be a dosefind Design (e.g. BOIN(...)), got {type(design).__name__}")
    joint = _joint_input(joint, true_prob_eff)
    if joint is not None and joint.num_doses != design.num_doses:
        raise ValueError(f"joint table has {joint.num_doses} doses but the design has {design.num_doses}")
    if true_prob_tox is None and joint is not None:
        true_prob_tox = [float(x) for x in joint.p_tox]
    if true_prob_tox is None:
        raise ValueError("true_prob_tox must be given (one true DLT probability per dose)")
    components = true_prob_tox if isinstance(true_prob_tox, ToxicityComponents) else None
    scenario = as_scenario(true_prob_tox if components is None else
                           Scenario(components.prob_any, name=components.name))
    scenario.check_design(design)
    n_trials, workers, acceptable = _check_common(n_trials, method, workers, acceptable)
    target = _target_of(design, scenario, target)
    above = above_mtd_mask(scenario.true_prob_tox, target, acceptable)
    explicit = joint is not None or true_prob_eff is not None
    joint = _resolve_joint(design, scenario, true_prob_eff, tox_eff_correlation, joint)
    calendar = (components is not None or design.memory == "patients"
                or any(v is not None for v in (accrual, timing, manufacturing, dlt_window)))
    if joint is not None and not explicit and not design.efficacy and (
            design.memory == "history" or (calendar and not _calendar_takes_joint())):
        # A scenario's response rates are reported where the engine can; a phase I design
        # that cannot carry them (history designs; calendar time, for now) runs without.
        joint = None
    if not calendar:
        _warn_backfill_needs_calendar(design)
    if calendar:
        return _simulate_calendar(design, scenario, components, n_trials=n_trials, seed=seed, method=method,
                                  workers=workers, progress=progress, target=target, acceptable=acceptable,
                                  above=above, accrual=accrual, timing=timing, manufacturing=manufacturing,
                                  dlt_window=dlt_window, joint=joint, utility=utility, tox_limit=tox_limit)
    if joint is not None:
        return _simulate_phase12(design, scenario, joint, n_trials=n_trials, seed=seed, method=method,
                                 workers=workers, progress=progress, target=target, acceptable=acceptable,
                                 above=above, max_states=max_states, utility=utility, tox_limit=tox_limit)
    tally, used, seed = _exact_or_mc(
        method, seed,
        lambda: simulate_exact(design, scenario.true_prob_tox, above, max_states=exact_state_cap(design, method,
                                                                                                 max_states),
                               use_batch=use_batch),
        lambda s: simulate_mc(design, scenario.true_prob_tox, n_trials, s, above, workers=workers,
                              progress=progress, use_batch=use_batch))
    labels = tuple(design.doses.labels)
    return OperatingCharacteristics.from_tally(
        tally, design=design, true_prob_tox=scenario.true_prob_tox, method=used,
        n_trials=n_trials if used == "mc" else None, seed=seed if used == "mc" else None,
        target=target, acceptable=acceptable, scenario=scenario.name, dose_labels=labels)


def _calendar_takes_joint() -> bool:
    import inspect

    from dosefind.simulations.calendar import simulate_calendar

    params = inspect.signature(simulate_calendar).parameters
    return "phase12" in params or "joint" in params


def _joint_input(joint, true_prob_eff):
    if joint is None:
        return None
    from dosefind.simulations.joint import JointOutcomes

    if true_prob_eff is not None:
        raise ValueError("give either joint (the per-dose N/T/E/B table) or true_prob_eff (with "
                         "tox_eff_correlation), not both")
    if isinstance(joint, JointOutcomes):
        return joint
    if isinstance(joint, (str, bytes)):
        raise ValueError(f"joint must be a JointOutcomes or per-dose rows (N, T, E, B), got {joint!r}")
    return JointOutcomes.from_table(list(joint))


def _resolve_joint(design, scenario, true_prob_eff, correlation, joint):
    """The joint DLT/response truth of a run, or None for a phase I run without responses."""
    import numpy as np

    if joint is not None:
        if joint.num_doses != design.num_doses:
            raise ValueError(f"joint table has {joint.num_doses} doses but the design has {design.num_doses}")
        if np.any(np.abs(joint.p_tox - np.asarray(scenario.true_prob_tox)) > 1e-9):
            raise ValueError(f"the joint table's DLT rates {[round(float(x), 6) for x in joint.p_tox]} differ from "
                             f"true_prob_tox {list(scenario.true_prob_tox)}; give one of them")
        return joint
    eff = true_prob_eff if true_prob_eff is not None else scenario.true_prob_response
    if eff is None:
        if np.any(np.asarray(correlation, dtype=float) != 0):
            raise ValueError("tox_eff_correlation needs true response rates: give true_prob_eff too")
        if design.efficacy:
            raise ValueError(f"{design.name} is a phase I/II design: true_prob_eff must be given (one true response "
                             "probability per dose, each in [0, 1]), or joint (a per-dose N/T/E/B table)")
        return None
    if isinstance(eff, (str, bytes)):
        raise ValueError(f"true_prob_eff must be a list of probabilities, got {eff!r}")
    from dosefind.simulations.joint import JointOutcomes  # phase I/II runs only

    return JointOutcomes(scenario.true_prob_tox, list(eff), correlation)


def _simulate_phase12(design, scenario, joint, *, n_trials, seed, method, workers, progress, target, acceptable,
                      above, max_states, utility=None, tox_limit=None):
    from dosefind.simulations.phase12 import Phase12Setup, efficacy_block, simulate_exact12, simulate_mc12

    setup = Phase12Setup(design, joint, above, target, utility=utility, limit=tox_limit)
    cap = exact_state_cap(design, method, max_states) if method in ("auto", "exact") else 0
    if method == "auto":  # response counts multiply the states: give up sooner
        cap = min(cap, AUTO_MAX_STATES_PHASE12)
    tallies, used, seed = _exact_or_mc(
        method, seed, lambda: simulate_exact12(design, setup, max_states=cap),
        lambda s: simulate_mc12(design, setup, n_trials, s, workers=workers, progress=progress))
    mc = used == "mc"
    return OperatingCharacteristics.from_tally(
        tallies[0], design=design, true_prob_tox=scenario.true_prob_tox, method=used,
        n_trials=n_trials if mc else None, seed=seed if mc else None, target=target, acceptable=acceptable,
        scenario=scenario.name, dose_labels=tuple(design.doses.labels),
        efficacy=efficacy_block(tallies[1], setup, exact=not mc))


def _warn_backfill_needs_calendar(design) -> None:
    """Backfilling treats patients who arrive during a wait; without arrivals (no accrual)
    nobody arrives, so the trials are the plain design's: say so rather than be silent."""
    import sys

    if "dosefind.designs.backfill" not in sys.modules:
        return  # no design holds a Backfill link before its module is loaded (and its import costs)
    from dosefind.designs.backfill import backfill_rule

    rule = backfill_rule(design)
    if rule is not None and rule.cap_per_dose > 0:
        import warnings

        warnings.warn("backfilling has no effect without calendar time: nobody arrives while a cohort is "
                      "followed, so these are the plain design's trials; give accrual and a DLT window "
                      "(accrual=..., dlt_window=...; the study file's [trial] table; the CLI's --accrual-rate "
                      "and --dlt-window)", UserWarning, stacklevel=3)


def calendar_setup(design, components=None, *, accrual=None, timing=None, manufacturing=None, dlt_window=None):
    """The validated :class:`~dosefind.simulations.calendar.CalendarSetup` of a calendar-time
    run of ``design`` (what :func:`simulate` builds from the same keywords; grids build
    their calendar cells' blocks from it)."""
    from dosefind.simulations.calendar import CalendarSetup
    from dosefind.simulations.timing import check_window

    own = getattr(design, "dlt_window", None)
    if dlt_window is None and own is None:
        raise ValueError("dlt_window must be given for a calendar-time simulation (days of DLT assessment, "
                         "e.g. dlt_window=28)")
    window = check_window(dlt_window if dlt_window is not None else own)
    if own is not None and abs(float(own) - window) > 1e-9:
        raise ValueError(f"dlt_window ({window:g}) differs from the design's dlt_window ({float(own):g})")
    if accrual is None:
        raise ValueError("accrual must be given for a calendar-time simulation, e.g. Accrual.poisson(rate=2 / 30) "
                         "(patients per day)")
    for value, cls, name in ((accrual, Accrual, "accrual"), (timing, ToxicityTiming, "timing"),
                             (manufacturing, Manufacturing, "manufacturing")):
        if value is not None and not isinstance(value, cls):
            raise TypeError(f"{name} must be a {cls.__name__}, got {type(value).__name__}")
    timing = ToxicityTiming.uniform() if timing is None else timing
    manufacturing = Manufacturing() if manufacturing is None else manufacturing
    manufacturing.check_design(design.num_doses)
    if components is not None and components.num_doses != design.num_doses:
        raise ValueError(f"toxicity components have {components.num_doses} doses but the design has "
                         f"{design.num_doses}")
    return CalendarSetup(window=window, accrual=accrual, timing=timing, manufacturing=manufacturing,
                         components=components)


def _simulate_calendar(design, scenario, components, *, n_trials, seed, method, workers, progress, target,
                       acceptable, above, accrual, timing, manufacturing, dlt_window, joint=None, utility=None,
                       tox_limit=None):
    from dosefind.simulations.calendar import simulate_calendar

    if joint is not None and not _calendar_takes_joint():
        raise ValueError("responses (true_prob_eff, joint) cannot be simulated in calendar time yet; "
                         "simulate without accrual/timing, or without responses")

    if method == "exact":
        raise ValueError("method='exact' cannot run in calendar time (patients arriving over days); "
                         "use method='mc' or 'auto'")
    setup = calendar_setup(design, components, accrual=accrual, timing=timing, manufacturing=manufacturing,
                           dlt_window=dlt_window)
    seed = resolve_seed(seed)
    # Phase I/II in calendar time: the calendar engine gets the joint truth and, when it
    # takes one, the Phase12Setup whose ``tallies()[1]`` is the EfficacyTally to fill (the
    # same truth, utility and MTD as the cohort engines); it then returns that tally third.
    extra, phase12 = {}, None
    if joint is not None:
        import inspect

        from dosefind.simulations.phase12 import Phase12Setup

        phase12 = Phase12Setup(design, joint, above, target, utility=utility, limit=tox_limit)
        params = inspect.signature(simulate_calendar).parameters
        extra = {"phase12": phase12} if "phase12" in params else {"joint": joint}
    out = simulate_calendar(design, setup, scenario.true_prob_tox, n_trials, seed, above, workers=workers,
                            progress=progress, **extra)
    tally, arrays = out[0], out[1]
    efficacy = None
    if phase12 is not None and len(out) > 2 and out[2] is not None:
        from dosefind.simulations.phase12 import efficacy_block

        efficacy = efficacy_block(out[2], phase12, exact=False)
    return OperatingCharacteristics.from_tally(
        tally, design=design, true_prob_tox=scenario.true_prob_tox, method="mc", n_trials=n_trials, seed=seed,
        target=target, acceptable=acceptable, scenario=scenario.name, dose_labels=tuple(design.doses.labels),
        calendar=arrays, setup=setup.to_dict(), efficacy=efficacy)


@dataclass
class Comparison:
    """Operating characteristics of several designs on several scenarios.

    ``results[(scenario_name, design_name)]`` is an :class:`OperatingCharacteristics`.
    """

    results: dict
    designs: list
    scenarios: list

    def to_frame(self):
        """One row per (scenario, design): the summary metrics."""
        import pandas as pd

        rows = []
        for (s, d), oc in self.results.items():
            row = {"scenario": s, "design": d, "method": oc.method}
            for k in ("pcs", "overdose_selection_pct", "overdose_patients_pct", "overdose60_pct", "overdose80_pct",
                      "no_selection_pct", "early_stop_pct", "n_mean", "dlt_total_mean"):
                row[k] = oc.values[k]
                row[k + "_se"] = oc.se[k]
            for k, (value, se) in oc.calendar_rows().items():  # calendar-time runs only
                row[k] = value
                row[k + "_se"] = se
            for k, (value, se) in oc.efficacy_rows().items():  # runs with response rates only
                row[k] = value
                row[k + "_se"] = se
            rows.append(row)
        return pd.DataFrame(rows)

    def selection_frame(self):
        """One row per (scenario, design): selection % per dose and none."""
        import pandas as pd

        rows = []
        for (s, d), oc in self.results.items():
            row = {"scenario": s, "design": d}
            for i, v in enumerate(oc.values["selection_pct"]):
                row[f"dose_{i + 1}"] = v
            row["none"] = oc.values["no_selection_pct"]
            rows.append(row)
        return pd.DataFrame(rows)

    def efficacy_frame(self):
        """One row per (scenario, design) run with response rates: OBD selection % and
        mean responses per dose, and none (phase I designs: their MTD as the dose)."""
        import pandas as pd

        rows = []
        for (s, d), oc in self.results.items():
            if oc.efficacy is None:
                continue
            v = oc.efficacy["values"]
            row = {"scenario": s, "design": d}
            for i, x in enumerate(v["obd_selection_pct"]):
                row[f"obd_dose_{i + 1}"] = x
            row["obd_none"] = v["obd_no_selection_pct"]
            for i, x in enumerate(v["responses_mean"]):
                row[f"responses_dose_{i + 1}"] = x
            rows.append(row)
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        return {"designs": self.designs, "scenarios": [s.to_dict() for s in self.scenarios],
                "results": [dict(oc.to_dict()) for oc in self.results.values()]}

    def __getitem__(self, key):
        return self.results[key]

    @classmethod
    def from_json(cls, source) -> "Comparison":
        """Read back :meth:`to_dict` as JSON (``dosefind compare --format json``), a path or a dict."""
        from dosefind.simulations.serialize import comparison_from_json

        return comparison_from_json(source)

    def plot(self):
        """Correct and overdose selection by scenario and design (a matplotlib Figure)."""
        from dosefind.reports.plots import plot_comparison

        return plot_comparison(self)


def shared_obd_truth(designs) -> dict:
    """The OBD truth (``utility`` table and ``tox_limit``) phase I designs are scored
    against when they run beside phase I/II designs: that of the phase I/II designs when
    they agree on one, else none (``{}``).  Used by :func:`compare` and ``dosefind run``."""
    truths = {(tuple(sorted(d.utility.items())), float(d.phi_t)) for d in designs
              if d.efficacy and getattr(d, "utility", None) is not None and getattr(d, "phi_t", None) is not None}
    if len(truths) != 1:
        return {}
    utility, limit = next(iter(truths))
    return {"utility": dict(utility), "tox_limit": limit}


def _named_designs(designs) -> dict:
    if isinstance(designs, Design):
        designs = [designs]
    if isinstance(designs, dict):
        items = [(str(k), v) for k, v in designs.items()]
    else:
        items, seen = [], {}
        for d in designs:
            name = getattr(d, "name", type(d).__name__)
            seen[name] = seen.get(name, 0) + 1
            items.append((name if seen[name] == 1 else f"{name} ({seen[name]})", d))
    if not items:
        raise ValueError("compare needs at least one design")
    for name, d in items:
        if not isinstance(d, Design):
            raise TypeError(f"design {name!r} must be a dosefind Design, got {type(d).__name__}")
    return dict(items)


def compare(designs, scenarios, *, n_trials: int = 10_000, seed: int | None = None, method: str = "mc",
            workers: int = 1, progress: bool | None = None, target: float | None = None,
            acceptable: tuple[float, float] | None = None, accrual: Accrual | None = None,
            timing: ToxicityTiming | None = None, manufacturing: Manufacturing | None = None,
            dlt_window: float | None = None, tox_eff_correlation=0.0) -> Comparison:
    """Run every design on every scenario with the same simulated patients.

    ``designs`` is a list of designs (named by their ``name``) or a mapping name ->
    design; ``scenarios`` a list of probability lists / Scenarios, a mapping name ->
    probabilities, or the path of a long-format scenario CSV.  With one ``seed``, patient
    ``i`` of trial ``t`` carries the same latent uniform for every design and scenario
    (common random numbers; see :mod:`~dosefind.simulations.patients`), so differences
    between designs are not blurred by different patients.  ``method`` defaults to
    ``"mc"`` so that all designs share those patients; ``"auto"`` evaluates each
    design exactly where it can.  ``accrual``, ``timing``, ``manufacturing`` and
    ``dlt_window`` run every design in calendar time, on the same patients.

    Phase I and phase I/II designs compare on the same patients: scenarios with
    ``true_prob_response`` (and ``tox_eff_correlation``) give every design's patients a
    response beside the DLT (the DLT from the same uniform as without responses), so
    phase I designs report responses per dose too, and every result carries the OBD
    metrics (for a phase I design, of its MTD).  A phase I/II design needs scenarios with
    ``true_prob_response``.
    """
    named = _named_designs(designs)
    scen = as_scenarios(scenarios)
    n_trials, workers, acceptable = _check_common(n_trials, method, workers, acceptable)
    seed = resolve_seed(seed)
    for s in scen:
        for name, d in named.items():
            s.check_design(d)
    shared = shared_obd_truth(named.values())
    results = {}
    for s in scen:
        for name, d in named.items():
            oc = simulate(d, s, n_trials=n_trials, seed=seed, method=method, workers=workers, progress=progress,
                          target=target, acceptable=acceptable, accrual=accrual, timing=timing,
                          manufacturing=manufacturing, dlt_window=dlt_window,
                          tox_eff_correlation=tox_eff_correlation if s.true_prob_response is not None else 0.0,
                          **({} if d.efficacy or s.true_prob_response is None else shared))
            oc.design = name
            results[(s.name, name)] = oc
    return Comparison(results=results, designs=list(named), scenarios=scen)
