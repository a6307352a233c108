"""``dosefind run``: evaluate every design of a study on every scenario and write the report.

Steps (each timed for the manifest): load and validate the study -> resolve the scenarios
(explicit curves, and curves from a fitted prior) -> collect each design's decision
tables -> simulate every design on every scenario with the same seed (common random
numbers) -> write the report into a temporary folder -> move it into place.  An
interrupted run therefore never leaves a half-written report, and an existing folder is
replaced only with ``force=True`` and only if dosefind wrote it
(:mod:`dosefind.reports.output`).

Nothing here prints: progress is reported through the ``progress`` callback.
"""

from __future__ import annotations

import contextlib
import sys
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from dosefind.study import BUNDLED_PRIOR, Study

__all__ = ["RunResult", "ScenarioInfo", "evaluate", "run_study", "write_report", "check_output",
           "output_target", "input_files", "decision_tables", "fit_bundled", "PriorFitsBeside", "PRIOR_SAMPLING",
           "PRIOR_SAMPLING_QUICK"]

#: MCMC settings for a prior fitted at run time (``prior = "bundled"``), on nutpie.  With
#: the model's log density compiled once (about 1-2 s, dosefind.priors.density) sampling
#: costs about 0.3 CPU seconds, so the run affords 4 chains and a long warm-up: 500 draws
#: after 500 tuning steps in 2 chains failed the R-hat check (1.018) on the bundled study;
#: these settings passed on all 6 seeds tried (R-hat <= 1.006, ESS >= 1,015;
#: docs/benchmarks.md).  A fit made once with ``dosefind priors`` and named by its path
#: uses whatever settings it was made with.
PRIOR_SAMPLING = {"draws": 1000, "tune": 2000, "chains": 4}
#: The same for ``dosefind run --quick``: half the draws (the fit's summary, ESS by a
#: Beta-mixture fit per dose, costs in proportion to them) after 1,000 tuning steps; on the
#: bundled study R-hat <= 1.008 and ESS >= 546 on all 6 seeds tried, so the diagnostics
#: pass, with less margin.  A quick run is for a first look, not a protocol.
PRIOR_SAMPLING_QUICK = {"draws": 500, "tune": 1000, "chains": 4}


@dataclass
class ScenarioInfo:
    """A scenario as evaluated: its curve, where it came from, and (from the results) its
    correct doses and true MTD (1-based)."""

    name: str
    true_prob_tox: tuple[float, ...]
    source: str = "explicit"
    description: str = ""
    correct: tuple[int, ...] = ()
    true_mtd: int | None = None
    detail: str = ""
    true_prob_eff: tuple[float, ...] | None = None
    tox_eff_correlation: float = 0.0

    def to_dict(self) -> dict:
        out = {"name": self.name, "true_prob_tox": list(self.true_prob_tox), "source": self.source,
               "detail": self.detail,
               "description": self.description, "correct_doses": list(self.correct), "true_mtd": self.true_mtd}
        if self.true_prob_eff is not None:
            out["true_prob_eff"] = list(self.true_prob_eff)
            out["tox_eff_correlation"] = self.tox_eff_correlation
        return out


@dataclass
class RunResult:
    """Everything the report shows: the study, the scenarios, the designs with their
    decision tables, the operating characteristics and the run's bookkeeping."""

    study: Study
    scenarios: list[ScenarioInfo]
    designs: list
    results: dict                     # (scenario name, design label) -> OperatingCharacteristics
    decision_tables: dict             # design label -> [(name, title, DataFrame)]
    prior: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    started_at: str = ""
    finished_at: str = ""
    warnings: list = field(default_factory=list)

    def oc(self, design_label: str, scenario_name: str):
        return self.results[(scenario_name, design_label)]

    def result(self, design_label: str, scenario_name: str) -> dict:
        """The result's JSON face (``OperatingCharacteristics.to_dict()``)."""
        return self.oc(design_label, scenario_name).to_dict()

    def to_dict(self) -> dict:
        """The full results (``dosefind run --format json``)."""
        from dosefind import __version__

        return {
            "dosefind_version": __version__,
            "study": self.study.to_dict(),
            "designs": [{"label": d.label, "type": d.type, "description": d.design.describe(),
                         "params": _plain(d.design.params()),
                         **({"prior": _plain(d.prior_to_dict())} if getattr(d, "prior_fit", None) else {})}
                        for d in self.designs],
            "scenarios": [s.to_dict() for s in self.scenarios],
            "results": [self.result(d.label, s.name) for s in self.scenarios for d in self.designs],
            "prior": self.prior,
            "timings": self.timings,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "warnings": list(self.warnings),
        }


def _plain(obj):
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    try:
        return float(obj)
    except (TypeError, ValueError):
        return str(obj)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------------------- scenarios
def _needs_response(study: Study) -> bool:
    """A study with a phase I/II design needs response rates from its prior scenarios."""
    return any(getattr(d.design, "efficacy", False) for d in study.designs)


def _bundled_key(spec, study: Study, sampling: dict) -> tuple:
    """What a bundled prior fit depends on: (endpoint, doses, seed, sampler settings, with
    a response model or not: a study with a phase I/II design fits the CD7 reports'
    response rates beside the toxicity endpoint)."""
    seed = spec.seed if spec.seed is not None else study.seed
    return (spec.endpoint, tuple(float(a) for a in study.doses.amounts), int(seed), tuple(sorted(sampling.items())),
            _needs_response(study))


@dataclass
class BundledFit:
    """A bundled prior fit made at run time, with its warnings' texts, its summary
    (``PriorFit.summary()``, computed where the fit was made) and its cost."""

    fit: object
    notes: list
    summary: dict
    seconds: float
    cpu_seconds: float


def fit_bundled(endpoint: str, doses: tuple, seed: int, sampling: tuple, with_response: bool = False) -> BundledFit:
    """The bundled CD7 CAR-T evidence fitted at ``doses`` (``sampling``: sorted items of
    :data:`PRIOR_SAMPLING` or :data:`PRIOR_SAMPLING_QUICK`).  A top-level function of
    plain arguments, so a second process can run it while this one simulates
    (:func:`evaluate`); the numbers are the same wherever it runs."""
    from dosefind.priors import fit_dose_response

    t0, c0 = time.perf_counter(), time.process_time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = fit_dose_response(endpoint=endpoint, doses=list(doses), seed=seed, with_response=with_response,
                                **dict(sampling))
        summary = fit.summary()
    return BundledFit(fit, [str(w.message) for w in caught], summary, time.perf_counter() - t0,
                      time.process_time() - c0)


def _prior_fit(spec, study: Study, cache: dict, sampling: dict = PRIOR_SAMPLING, fitted: dict | None = None):
    """The fitted prior a scenario names: the bundled evidence fitted at the study's doses
    (once per run; ``fitted`` holds fits already made, by :func:`_bundled_key`), or a fit
    file made with ``dosefind priors``."""
    # A bundled fit depends on the scenario's seed too (its own ``seed`` or the study's).
    key = (spec.prior, *_bundled_key(spec, study, sampling)) if spec.prior == BUNDLED_PRIOR and \
        study.doses.amounts is not None else (spec.prior, spec.endpoint)
    if key in cache:
        return cache[key]
    if spec.prior == BUNDLED_PRIOR:
        if study.doses.amounts is None:
            raise ValueError(_no_amounts_message(study, spec))
        bkey = _bundled_key(spec, study, sampling)
        made = fitted[bkey] if fitted is not None and bkey in fitted else fit_bundled(*bkey)
        fit, notes, summary = made.fit, made.notes, made.summary
        seed = bkey[2]
        how = (f"bundled CD7 CAR-T evidence, endpoint {spec.endpoint}"
               + (" and response (CR/CRi)" if bkey[4] else "") + ", fitted at run time "
               f"({sampling['chains']} chains x {sampling['draws']} draws after {sampling['tune']} tuning steps"
               + (f", {sampling['sampler']} sampler" if "sampler" in sampling else "") + f", seed {seed})")
    else:
        from dosefind.priors import load_fit

        fit = load_fit(spec.prior)
        notes, summary = [], None
        how = f"fit file {spec.prior}"
        if study.doses.amounts is not None and len(fit.doses) == len(study.doses) and any(
                abs(a - b) > 1e-9 * max(a, b) for a, b in zip(fit.doses, study.doses.amounts)):
            raise ValueError(f"{study.source}: scenario {spec.name!r}: the fit in {spec.prior} was made at doses "
                             f"{list(fit.doses)}, not the study's {list(study.doses.amounts)}")
    if len(fit.doses) != len(study.doses):
        raise ValueError(f"{study.source}: scenario {spec.name!r}: the prior has {len(fit.doses)} doses but the "
                         f"study has {len(study.doses)}")
    cache[key] = (fit, how, notes, summary)
    return cache[key]


def resolve_scenarios(study: Study, *, quick: bool = False,
                      fitted: dict | None = None) -> tuple[list[ScenarioInfo], dict, list[str]]:
    """Explicit curves as written; prior scenarios from the fit's summary (median or mean
    curve, as :meth:`PriorFit.summary` reports it) or random curves from
    :func:`dosefind.priors.draw_scenarios`.  When the fit has a response model, a prior
    scenario also carries the response rates (the summary's ``response_doses``, or each
    draw's ``true_prob_response``), DLT and response independent within a patient; a study
    with a phase I/II design needs such a fit.  ``fitted``: bundled fits already made
    (:class:`PriorFitsBeside`), else they are fitted here."""
    out, cache, prior_info, notes = [], {}, {}, []
    needs_response = _needs_response(study)
    for spec in study.scenarios:
        if not spec.from_prior:
            out.append(ScenarioInfo(spec.name, spec.true_prob_tox, "explicit", spec.description,
                                    true_prob_eff=spec.true_prob_eff, tox_eff_correlation=spec.tox_eff_correlation))
            continue
        fit, how, fit_notes, fit_summary = _prior_fit(spec, study, cache, _sampling(quick), fitted)
        notes.extend(n for n in fit_notes if n not in notes)
        if needs_response and not fit.has_response:
            raise ValueError(_no_response_message(study, spec))
        if spec.summary is not None:
            summ = fit_summary if fit_summary is not None else fit.summary()
            curve = tuple(float(d[spec.summary]) for d in summ["doses"])
            eff = (tuple(float(d[spec.summary]) for d in summ["response_doses"])
                   if fit.has_response else None)
            out.append(ScenarioInfo(spec.name, curve, f"prior {spec.summary}", spec.description,
                                    detail=f"{spec.summary} curve of the prior"
                                           + (" (DLT and response)" if eff is not None else "") + f": {how}",
                                    true_prob_eff=eff))
            prior_info[spec.name] = {"source": how, "summary": spec.summary,
                                     "doses": _plain(summ["doses"]), "diagnostics": {
                                         k: _plain(summ.get(k)) for k in ("r_hat_max", "ess_bulk_min",
                                                                          "ess_tail_min", "divergences")}}
        else:
            from dosefind.priors import draw_scenarios

            seed = spec.seed if spec.seed is not None else study.seed
            df = draw_scenarios(fit, spec.draws, seed)
            for k, (_, grp) in enumerate(df.groupby("scenario", sort=False), start=1):
                grp = grp.sort_values("dose")
                eff = (tuple(float(p) for p in grp["true_prob_response"])
                       if "true_prob_response" in grp else None)
                out.append(ScenarioInfo(f"{spec.name} #{k}", tuple(float(p) for p in grp["true_prob_tox"]),
                                        f"prior draw {k}", spec.description,
                                        detail=f"draw {k} of {spec.draws} from the prior (seed {seed})"
                                               + (", DLT and response from the same posterior draw"
                                                  if eff is not None else "") + f": {how}",
                                        true_prob_eff=eff))
            prior_info[spec.name] = {"source": how, "draws": spec.draws, "seed": seed}
    return out, prior_info, notes


def _no_amounts_message(study: Study, spec) -> str:
    return (f"{study.source}: scenario {spec.name!r}: prior = \"bundled\" needs dose amounts "
            "([doses] amounts) to place the published data on the study's doses")


def _no_response_message(study: Study, spec) -> str:
    """What to do when a phase I/II design meets a prior without a response model."""
    where = f"{study.source}: scenario {spec.name!r}: "
    doses = ",".join(f"{a:g}" for a in study.doses.amounts) if study.doses.amounts is not None else "D1,D2,..."
    how = (f"fit one with `dosefind priors fit --endpoint {spec.endpoint} --doses {doses} --with-response "
           f"--out prior_response.nc` and name it (prior = \"prior_response.nc\")")
    return (where + f"a phase I/II design needs response rates, but the fit {spec.prior} has no response model; "
            + how + ", or give the scenario true_prob_tox and true_prob_eff")


# ---------------------------------------------------------------------------- designs
def decision_tables(design, max_cohorts: int = 2) -> list:
    """What the report shows for a design, asked of the design itself: its boundary
    table (BOIN), its skeleton (CRM), and the dose-transition pathways of the first
    cohorts (Yap et al. 2017): the next dose after every possible number of DLTs."""
    import pandas as pd

    from dosefind.state import TrialState

    tables = []
    base = getattr(design, "base", design)
    if hasattr(base, "boundaries"):
        b = base.boundaries()
        b = b.rename(columns={"n": "Patients at dose", "escalate_if_dlt_le": "Escalate if DLTs <=",
                              "deescalate_if_dlt_ge": "De-escalate if DLTs >=",
                              "eliminate_if_dlt_ge": "Eliminate if DLTs >="})
        tables.append(("boundaries", "decision boundaries", b))
    skel = getattr(base, "skeleton", None)
    if skel is not None:
        tables.append(("skeleton", "skeleton (prior guess of the DLT rate)",
                       pd.DataFrame({"Dose level": range(1, len(skel) + 1), "Skeleton": [float(p) for p in skel]})))

    cs = design.cohort_size
    rows = []

    def walk(state, depth, path):
        d = design.decide(state)
        if depth == max_cohorts or d.stop:
            row = dict(path)
            row[f"Cohort {depth + 1}"] = "stop" if d.stop else f"DL{d.next_dose}"
            rows.append(row)
            return
        for y in range(cs + 1):
            nxt = state.add_cohort(d.dose_index, [1] * y + [0] * (cs - y))
            walk(nxt, depth + 1, path + [(f"Cohort {depth + 1}", f"DL{d.next_dose}"),
                                         (f"DLTs {depth + 1}", f"{y}/{cs}")])

    walk(TrialState.empty(design.num_doses), 0, [])
    dtp = pd.DataFrame(rows)
    tables.append(("pathways", f"dose-transition pathways for the first {max_cohorts} cohorts", dtp.fillna("")))
    return tables


# ---------------------------------------------------------------------------- run
def _sampling(quick: bool) -> dict:
    return PRIOR_SAMPLING_QUICK if quick else PRIOR_SAMPLING


def _bundled_fits_needed(study: Study, quick: bool) -> list[tuple]:
    """The distinct bundled prior fits the study's scenarios need (the study having passed
    :func:`_check_bundled_scenarios`)."""
    keys = []
    for spec in study.scenarios:
        if spec.from_prior and spec.prior == BUNDLED_PRIOR:
            k = _bundled_key(spec, study, _sampling(quick))
            if k not in keys:
                keys.append(k)
    return keys


@contextlib.contextmanager
def _main_module_hidden():
    """Start processes without the caller's ``__main__``: a spawned process normally
    re-imports the script that started it, so a script calling :func:`evaluate` without an
    ``if __name__ == "__main__":`` guard would run again in the second process.  What that
    process runs (:func:`fit_bundled`) lives in this module, so it needs no ``__main__``."""
    main = sys.modules.get("__main__")
    saved = {k: getattr(main, k) for k in ("__file__", "__spec__") if main is not None and hasattr(main, k)}
    try:
        if "__file__" in saved:
            del main.__file__
        if "__spec__" in saved:
            main.__spec__ = None      # multiprocessing reads it unguarded
        yield
    finally:
        for k, val in saved.items():
            setattr(main, k, val)


class PriorFitsBeside:
    """Bundled prior fits made in a second process (spawned, so safe beside this
    process's threads) while this one simulates the explicit scenarios: the fit (numba
    compiling the model, sampling, the summary) and the simulations then share the two
    cores instead of following each other.  A thread would not do: the exact engine and
    numba's compiler both hold the interpreter lock (docs/benchmarks.md).  Without a
    second process (it cannot start) the fits are made in this one, with the same numbers."""

    def __init__(self, keys: list[tuple], while_waiting: Callable | None = None):
        self.keys, self.pool, self.futures, self.waited = keys, None, {}, 0.0
        self.while_waiting = while_waiting
        if not keys:
            return
        try:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            with _main_module_hidden():
                self.pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
                self.futures = {k: self.pool.submit(fit_bundled, *k) for k in keys}
        except (OSError, ImportError, RuntimeError):
            self.close()
            self.pool, self.futures = None, {}

    def results(self) -> dict:
        """{key: fit_bundled's result}; blocks until the fits are made (errors raised here)."""
        t0 = time.perf_counter()
        from concurrent.futures.process import BrokenProcessPool

        if self.while_waiting is not None and self.futures and not all(f.done() for f in self.futures.values()):
            self.while_waiting()
        out = {}
        for k in self.keys:
            try:
                out[k] = self.futures[k].result() if k in self.futures else fit_bundled(*k)
            except BrokenProcessPool:       # the second process died (e.g. out of memory): fit here
                out[k] = fit_bundled(*k)
        self.waited = time.perf_counter() - t0
        self.close()
        return out

    def close(self) -> None:
        """Stop the second process: a fit still running when the run ends early (an error,
        Ctrl-C) is ended, so the process exits at once instead of at the fit's end."""
        if self.pool is not None:
            unfinished = any(not f.done() for f in self.futures.values())
            # The pool forgets its processes on shutdown; Python 3.14's terminate_workers() is
            # the public form of what follows.
            procs = list((getattr(self.pool, "_processes", None) or {}).values())
            self.pool.shutdown(wait=False, cancel_futures=True)
            if unfinished:
                for proc in procs:
                    proc.terminate()
            self.pool = None


def prepare_report_imports() -> None:
    """Import what the report writer will need (matplotlib with its Agg backend,
    python-docx, the report modules: about 1-2 s) while this process would otherwise wait
    for the prior fit.  Imports only: nothing is drawn or computed."""
    import importlib

    from dosefind.reports.figures import _plt

    _plt()
    for name in ("dosefind.reports", "dosefind.reports.decision_report", "dosefind.reports.html",
                 "dosefind.reports.flowchart", "docx"):
        try:
            importlib.import_module(name)
        except ImportError:     # a missing optional package is reported by the writer itself
            pass


def _check_bundled_scenarios(study: Study) -> None:
    """Refuse, before simulating anything, a bundled prior scenario the study cannot use
    (the errors :func:`resolve_scenarios` would give after the explicit simulations)."""
    for spec in study.scenarios:
        if spec.from_prior and spec.prior == BUNDLED_PRIOR:
            if study.doses.amounts is None:
                raise ValueError(_no_amounts_message(study, spec))


def _expected_scenarios(study: Study) -> int:
    """How many scenarios the run evaluates, known before any prior is fitted."""
    return sum(spec.draws if spec.from_prior and spec.summary is None else 1 for spec in study.scenarios)


def evaluate(study: Study, *, progress: Callable | None = None, workers: int = 1, quick: bool = False,
             while_waiting: Callable | None = None) -> RunResult:
    """Simulate every design of ``study`` on every scenario (no files written).

    ``progress(phase, done, total, label)`` is called as the run goes: phase
    ``"scenarios"`` (0 of 1, then 1 of 1) around preparing the scenarios, then
    ``"simulations"`` before (done < total) and after each design x scenario simulation
    (the total counts the scenarios drawn from a prior before it is fitted).  The report
    writer continues with ``"tables"``, ``"figures"`` and ``"writing"``
    (:func:`dosefind.reports.write_all`).  A prior fitted at run time (``prior =
    "bundled"``) is fitted in a second process while the explicit scenarios are simulated
    (:class:`PriorFitsBeside`); its scenarios are simulated when it is ready (label
    "waiting for the prior fit" meanwhile).  Results do not depend on that order: every
    simulation starts from the study's seed.  ``quick=True`` fits with
    :data:`PRIOR_SAMPLING_QUICK` and says so in the run's warnings.  ``while_waiting()``
    is called once if this process would otherwise wait for that fit (``dosefind run``
    imports its report writer then: :func:`prepare_report_imports`).
    """
    from dosefind.simulations import shared_obd_truth, simulate

    def tell(phase, done, total, label):
        if progress is not None:
            progress(phase, done, total, label)

    started, timings = _now(), {}
    t0 = time.perf_counter()
    needs_fit = any(s.from_prior for s in study.scenarios)
    _check_bundled_scenarios(study)
    keys = _bundled_fits_needed(study, quick)
    tell("scenarios", 0, 1, "starting the prior fit" if keys else "preparing scenarios")
    beside = PriorFitsBeside(keys, while_waiting)
    try:
        if keys:
            explicit = [ScenarioInfo(spec.name, spec.true_prob_tox, "explicit", spec.description,
                                     true_prob_eff=spec.true_prob_eff, tox_eff_correlation=spec.tox_eff_correlation)
                        for spec in study.scenarios if not spec.from_prior]
        else:       # no fit to wait for: every scenario now (a bad fit file is refused before simulating)
            explicit, prior, notes = resolve_scenarios(study, quick=quick)
        t1 = time.perf_counter()
        tables = {spec.label: decision_tables(spec.design) for spec in study.designs}
        timings["decision_tables"] = time.perf_counter() - t1
        timings["scenarios"] = time.perf_counter() - t0 - timings["decision_tables"]
        tell("scenarios", 1, 1, f"{len(explicit)} explicit scenarios, the prior being fitted beside them" if keys
             else f"{len(explicit)} scenarios")

        results, sim_times = {}, {}
        total, done = _expected_scenarios(study) * len(study.designs), 0
        shared = shared_obd_truth([spec.design for spec in study.designs])
        sim_seconds = 0.0

        def simulate_all(scenarios):
            nonlocal done, sim_seconds
            t2 = time.perf_counter()
            for s in scenarios:
                for spec in study.designs:
                    label = f"{spec.label} | {s.name}"
                    tell("simulations", done, total, label)
                    t1 = time.perf_counter()
                    phase12 = ({} if s.true_prob_eff is None else
                               {"true_prob_eff": list(s.true_prob_eff), "tox_eff_correlation": s.tox_eff_correlation,
                                **({} if spec.design.efficacy else shared)})
                    if spec.design.efficacy and not phase12:
                        raise ValueError(f"design {spec.label!r} is a phase I/II design: scenario {s.name!r} needs "
                                         f"true_prob_eff (the true response rate per dose)")
                    oc = simulate(spec.design, list(s.true_prob_tox), n_trials=study.n_trials, seed=study.seed,
                                  method=study.method, workers=workers, progress=False, target=study.target,
                                  **study.calendar, **phase12)
                    oc.design = spec.label
                    oc.scenario = s.name
                    sim_times[label] = round(time.perf_counter() - t1, 4)
                    results[(s.name, spec.label)] = oc
                    done += 1
                    tell("simulations", done, total, label)
                first = results[(s.name, study.designs[0].label)].to_dict()
                s.correct = tuple(first.get("correct_doses") or ())
                s.true_mtd = first.get("true_mtd")
            sim_seconds += time.perf_counter() - t2

        simulate_all(explicit)
        if keys:
            tell("simulations", done, total, "waiting for the prior fit")
            fitted = beside.results()
            t1 = time.perf_counter()
            scenarios, prior, notes = resolve_scenarios(study, quick=quick, fitted=fitted)
            timings["scenarios"] += time.perf_counter() - t1
            # the explicit scenarios as simulated (with their correct doses), in the study's order
            by_name = {s.name: s for s in explicit}
            scenarios = [by_name.get(s.name, s) if s.source == "explicit" else s for s in scenarios]
            simulate_all([s for s in scenarios if s.source != "explicit"])
            timings["prior_fit"] = sum(v.seconds for v in fitted.values())
            timings["prior_fit_cpu"] = sum(v.cpu_seconds for v in fitted.values())
            timings["prior_fit_wait"] = beside.waited
        else:
            scenarios = explicit
    finally:
        beside.close()
    if quick:
        notes = ["quick run (dosefind run --quick): a first look, not results for a protocol"
                 + ("; the prior was fitted with fewer MCMC draws" if needs_fit else "")] + notes
    prior.update(design_priors(study))
    timings["simulations"] = sim_seconds
    timings["simulation_by_design_scenario"] = {f"{d.label} | {s.name}": sim_times[f"{d.label} | {s.name}"]
                                                for s in scenarios for d in study.designs}
    return RunResult(study=study, scenarios=scenarios, designs=list(study.designs), results=results,
                     decision_tables=tables, prior=prior, timings=timings, started_at=started,
                     warnings=notes + _scenario_notes(scenarios) + _grid_note(study))


def _grid_note(study: Study) -> list[str]:
    """A grid file run as a study: say that its [grid] table was not evaluated."""
    if not study.has_grid:
        return []
    return [f"{study.source} has a [grid] table: the study was evaluated at the values written in its tables, "
            f"the grid was not expanded; evaluate the grid with `dosefind grid {study.source}` (docs/grid.md)"]


def _scenario_notes(scenarios) -> list[str]:
    """Say so when a true curve decreases with dose: allowed (see docs/study-file.md),
    but rarely meant."""
    return [f"scenario {s.name!r}: the true DLT rate decreases with dose somewhere "
            f"({', '.join(f'{p:g}' for p in s.true_prob_tox)})"
            for s in scenarios if any(b < a for a, b in zip(s.true_prob_tox, s.true_prob_tox[1:]))]


def design_priors(study: Study) -> dict:
    """Each design's fitted prior (``prior_fit`` in its table), keyed ``"design LABEL"``
    beside the scenarios' priors in ``RunResult.prior`` (and so in the manifest): the fit
    file's path and SHA-256, ESS per dose and the fit's warnings."""
    return {f"design {d.label}": {"design": d.label, **d.prior_to_dict()}
            for d in study.designs if d.prior_fit is not None}


def input_files(study: Study) -> list[Path]:
    """The files a run reads (the study file, prior fits it names): an output folder must
    never contain them, since replacing the folder would delete them."""
    files = []
    if study.base_dir is not None and Path(study.source).is_file():
        files.append(Path(study.source))
    files += [Path(s.prior) for s in study.scenarios if s.prior not in (None, BUNDLED_PRIOR)]
    files += [Path(d.prior_fit) for d in study.designs if d.prior_fit is not None]
    return files


def check_output(out, force: bool, study: Study | None = None) -> Path:
    """Refuse, before simulating, an output that may not be (re)written (see
    :mod:`dosefind.reports.output`)."""
    from dosefind.reports.output import check_output as check

    return check(out, force, inputs=input_files(study) if study is not None else ())


def output_target(out, *, force: bool = False, study: Study | None = None, note: Callable | None = None):
    """The checked, locked output folder of a run (:class:`dosefind.reports.output.ReportTarget`)."""
    from dosefind.reports.output import ReportTarget

    return ReportTarget(out, force=force, inputs=input_files(study) if study is not None else (), note=note)


def write_report(run: RunResult, out, *, force: bool = False, timings: dict | None = None, target=None,
                 progress: Callable | None = None) -> Path:
    """Write the report folder atomically: into a temporary sibling folder, then moved
    into place.  An existing folder is replaced only with ``force`` and only if dosefind
    wrote it.  ``target`` is an already entered :func:`output_target` (the CLI takes the
    lock before simulating); without it the output is checked and locked here."""
    from dosefind.reports import write_all

    def writer(tmp):
        write_all(run, tmp, timings=timings, progress=progress)

    if target is not None:
        return target.write(writer)
    with output_target(out, force=force, study=run.study) as t:
        return t.write(writer)


def run_study(study: Study, out, *, force: bool = False, progress: Callable | None = None,
              workers: int = 1, load_seconds: float = 0.0, note: Callable | None = None) -> tuple[RunResult, Path]:
    """Evaluate ``study`` and write its report folder to ``out``; returns both.  The
    output is checked and locked before anything is simulated."""
    with output_target(out, force=force, study=study, note=note) as target:
        run = evaluate(study, progress=progress, workers=workers, while_waiting=prepare_report_imports)
        if load_seconds:
            run.timings = {"load_study": load_seconds, **run.timings}
        path = write_report(run, out, force=force, target=target, progress=progress)
    return run, path
