"""Study files: one TOML file describes a whole evaluation.

A study names the dose levels, the target DLT rate, the designs (with their options), the
scenarios (explicit toxicity curves and/or curves from a fitted prior), the trial size,
the number of simulated trials and the seed.  :func:`load_study` parses the file with the
standard library (:mod:`tomllib`; user text is never evaluated), checks every key, builds
every design and every explicit scenario, and raises ``ValueError`` naming the file, the
key and the problem *before* anything is simulated.

The format is documented field by field in ``docs/study-file.md``; ``dosefind init``
writes :data:`TEMPLATE`.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from dosefind._validate import MAX_N_TRIALS as V_MAX_N_TRIALS
from dosefind._validate import MAX_PATIENTS, boolean
from dosefind.state import DoseLevels, format_amount

__all__ = ["DesignSpec", "ScenarioSpec", "Study", "load_study", "parse_study", "parse_study_doc", "default_study",
           "default_study_text", "read_toml", "TEMPLATE", "DESIGN_TYPES", "LEAST_INFORMATIVE", "TOP_TABLES", "closest"]

#: Study-file ``type`` -> key of :data:`dosefind.designs.REGISTRY` (aliases welcome).
DESIGN_TYPES = {
    "3+3": "3+3", "three_plus_three": "3+3", "3plus3": "3+3",
    "boin": "boin",
    "crm": "crm",
    "tite-boin": "tite-boin", "tite_boin": "tite-boin", "titeboin": "tite-boin",
    "tite-crm": "tite-crm", "tite_crm": "tite-crm", "titecrm": "tite-crm",
    "blrm": "blrm",
    "boin12": "boin12",
    "tite-boin12": "tite-boin12", "tite_boin12": "tite-boin12", "titeboin12": "tite-boin12",
}

#: Rule-based designs stop by their own rule: the study's max_n is not passed to them
#: (a design table may still set its own max_n as a hard cap).
RULE_BASED = ("3+3",)

#: Modifiers a design table may switch on, and the keyword their class takes.
MODIFIER_KEYS = ("stop_at_n", "stop_when_n_at_dose", "dont_skip_doses", "stop_when_too_toxic", "backfill")

STUDY_KEYS = {
    "title": "a short title shown at the top of the report",
    "description": "a paragraph describing the study",
    "target": "target DLT rate, a probability between 0 and 1 (required)",
    "max_n": "maximum number of patients per simulated trial (required)",
    "cohort_size": "patients per cohort (default 3)",
    "start_dose": "1-based starting dose level (default 1)",
    "n_trials": "number of simulated trials per design and scenario (required)",
    "seed": "seed of the random number generator (required, so that runs reproduce)",
    "method": "simulation engine: 'auto' (default: exact where the design allows, else Monte Carlo), 'exact' or 'mc'",
}
DOSES_KEYS = ("amounts", "unit", "labels")
DESIGN_COMMON_KEYS = ("type", "label")
#: Keys of a design table that take its prior from a fit file (CRM: skeleton; BLRM: prior).
DESIGN_PRIOR_KEYS = ("prior_fit", "endpoint", "robust_weight")
#: Designs that can take their prior from a fit, and what they take from it.
PRIOR_FIT_DESIGNS = {"crm": "skeleton", "blrm": "prior"}
#: Most curves a prior scenario may draw (each is reported as its own scenario).
MAX_DRAWN_CURVES = 20
SCENARIO_KEYS = ("name", "description", "true_prob_tox", "prior", "endpoint", "summary", "draws", "seed",
                 "true_prob_eff", "tox_eff_correlation")
#: The toxicity endpoint a bundled-prior scenario is fitted to by default.  None of the
#: published CD7 CAR-T reports saw a protocol-defined DLT, so grade >= 3 CRS (the
#: dominant dose-related severe toxicity of CAR-T) stands in for a DLT.
DEFAULT_PRIOR_ENDPOINT = "crs_grade3"
PRIOR_SUMMARIES = ("mean", "median")
METHODS = ("auto", "exact", "mc")
BUNDLED_PRIOR = "bundled"
MAX_N_TRIALS = V_MAX_N_TRIALS  # dosefind._validate.MAX_N_TRIALS, named here too (study files' limit)
#: ``prior_var = "least_informative"`` (CRM, TITE-CRM): sigma_LI^2 of the design's own
#: skeleton (Lee & Cheung 2011; :mod:`dosefind.designs.prior_variance`).
LEAST_INFORMATIVE = "least_informative"
#: Top-level tables of a study file.  ``[grid]`` belongs to ``dosefind grid``
#: (:mod:`dosefind.grid.spec`); ``run`` and ``compare`` evaluate the study as written.
TOP_TABLES = ("study", "doses", "designs", "scenarios", "trial", "grid", "criterion")


# ---------------------------------------------------------------------------- objects
@dataclass(frozen=True)
class DesignSpec:
    """One design of the study: its label, registry type, options as written, and the
    built design object (with modifiers applied)."""

    label: str
    type: str
    options: dict
    design: object = field(compare=False)
    #: ``prior_fit = "..."`` resolved: the fit file's path and SHA-256, and the prior's
    #: strength for the report (:class:`dosefind.priors.checks.PriorStrength`: ESS per
    #: dose by ELIR and moments, warnings such as a fit resting on one study). None
    #: when the design names no fit.
    prior_fit: str | None = None
    prior_sha256: str | None = None
    prior_strength: object = field(default=None, compare=False)

    def prior_to_dict(self) -> dict | None:
        """The design's fitted prior (path, SHA-256, ESS, warnings) as plain data."""
        if self.prior_fit is None:
            return None
        return {"path": self.prior_fit, "sha256": self.prior_sha256,
                **(self.prior_strength.to_dict() if self.prior_strength is not None else {})}


@dataclass(frozen=True)
class ScenarioSpec:
    """One scenario entry of the study file.

    Either ``true_prob_tox`` is given (an explicit curve), or ``prior`` names a fitted
    prior (``"bundled"`` or a path to a fit) from which ``summary`` (``"median"`` or
    ``"mean"``) curve or ``draws`` random curves are taken at run time.
    """

    name: str
    description: str = ""
    true_prob_tox: tuple[float, ...] | None = None
    prior: str | None = None
    summary: str | None = None
    draws: int | None = None
    seed: int | None = None
    endpoint: str | None = None
    true_prob_eff: tuple[float, ...] | None = None
    tox_eff_correlation: float = 0.0

    @property
    def from_prior(self) -> bool:
        return self.prior is not None


@dataclass(frozen=True)
class Study:
    """A validated study.  ``source`` is the file path (or ``"<bundled ...>"``),
    ``sha256`` the hash of the file's bytes."""

    source: str
    text: str
    sha256: str
    title: str
    description: str
    target: float
    max_n: int
    cohort_size: int
    start_dose: int
    n_trials: int
    seed: int
    method: str
    doses: DoseLevels
    designs: tuple[DesignSpec, ...]
    scenarios: tuple[ScenarioSpec, ...]
    base_dir: Path | None = None
    trial: dict = field(default_factory=dict)  # [trial]: calendar time (docs/calendar.md)
    has_grid: bool = False                      # a [grid] table: evaluated by `dosefind grid` only
    #: [criterion]: how the report's decision summary ranks the designs
    #: (:class:`dosefind.simulations.decision.Criterion`); None: the documented default.
    criterion: object = None

    @property
    def calendar(self) -> dict:
        """simulate() keywords for the [trial] table (empty: cohort engines)."""
        from dosefind.simulations.timing import calendar_settings

        return calendar_settings(self.trial) if self.trial else {}

    @property
    def num_doses(self) -> int:
        return len(self.doses)

    def with_overrides(self, *, n_trials: int | None = None, seed: int | None = None, method: str | None = None,
                       draws: int | None = None) -> "Study":
        """The same study with fewer/more trials, another seed, another engine (``method``)
        or another number of curves drawn by each prior scenario that draws curves
        (``draws``; an error when the study has none)."""
        from dataclasses import replace

        changes = {}
        if n_trials is not None:
            changes["n_trials"] = _int(n_trials, "n_trials", minimum=1, maximum=MAX_N_TRIALS, named=True)
        if seed is not None:
            changes["seed"] = _int(seed, "seed", minimum=0, named=True)
        if method is not None:
            if method not in METHODS:
                raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
            if method == "exact" and self.trial:
                raise ValueError("method 'exact' cannot run in calendar time ([trial]); use 'auto' or 'mc'")
            changes["method"] = method
        if draws is not None:
            draws = _int(draws, "draws", minimum=1, maximum=MAX_DRAWN_CURVES, named=True)
            if not any(sc.draws is not None for sc in self.scenarios):
                raise ValueError("draws: the study has no scenario that draws curves from a prior (a [[scenarios]] "
                                 "table with prior = ... and draws = N); it applies only to those")
            changes["scenarios"] = tuple(replace(sc, draws=draws) if sc.draws is not None else sc
                                         for sc in self.scenarios)
        return replace(self, **changes)

    def with_scenarios(self, tables: list, *, source: str) -> "Study":
        """The same study on other scenarios, given as ``[[scenarios]]`` tables (``name``,
        ``true_prob_tox``, ...) and validated as the file's are, with messages that start
        with ``source`` (``compare --true-tox`` / ``--scenarios`` use this)."""
        from dataclasses import replace

        return replace(self, scenarios=tuple(_parse_scenarios(_Where(source), tables, self.num_doses,
                                                              self.base_dir)))

    def to_dict(self) -> dict:
        """Plain data (JSON-ready) describing the study as validated."""
        return {
            "source": self.source, "sha256": self.sha256, "title": self.title,
            "description": self.description, "target": self.target, "max_n": self.max_n,
            "cohort_size": self.cohort_size, "start_dose": self.start_dose, "n_trials": self.n_trials,
            "seed": self.seed, "method": self.method,
            "doses": {"labels": list(self.doses.labels),
                      "amounts": None if self.doses.amounts is None else list(self.doses.amounts),
                      "unit": self.doses.unit},
            "designs": [{"label": d.label, "type": d.type, "options": _jsonable(d.options),
                         **({"prior": d.prior_to_dict()} if d.prior_fit is not None else {})}
                        for d in self.designs],
            "scenarios": [{k: v for k, v in {
                "name": s.name, "description": s.description or None,
                "true_prob_tox": None if s.true_prob_tox is None else list(s.true_prob_tox),
                "prior": s.prior, "endpoint": s.endpoint, "summary": s.summary, "draws": s.draws, "seed": s.seed}.items() if v is not None}
                for s in self.scenarios],
            **({"trial": _jsonable(self.trial)} if self.trial else {}),
            **({"criterion": {"metric": self.criterion.metric,
                              "max_overdose_selection": self.criterion.max_overdose_selection}}
               if self.criterion is not None else {}),
        }


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)


# ---------------------------------------------------------------------------- errors
class _Where:
    """Builds messages of the form ``<file>: <key>: <problem>``."""

    def __init__(self, source: str):
        self.source = source

    def error(self, key: str, problem: str) -> ValueError:
        return ValueError(f"{self.source}: {key}: {problem}" if key else f"{self.source}: {problem}")


def _unique_name(where, key: str, value, seen: set, empty_problem: str, clash: str) -> str:
    """A non-empty text value not used before (design labels, scenario names)."""
    if not isinstance(value, str) or not value.strip():
        raise where.error(key, f"{empty_problem}, got {value!r}")
    if value in seen:
        raise where.error(key, f"{value!r} is used by another {clash}")
    seen.add(value)
    return value


def _unknown(where: _Where, table: str, keys, allowed) -> None:
    for k in keys:
        if k not in allowed:
            hint = _closest(k, allowed)
            raise where.error(f"{table}.{k}" if table else k,
                              f"unknown key{hint}; allowed keys: {', '.join(sorted(allowed))}")


def closest(word: str, choices) -> str:
    """`` (did you mean 'max_n'?)`` for the closest of ``choices``, or ``""``."""
    import difflib

    m = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {m[0]!r}?)" if m else ""


_closest = closest


def _int(value, name: str, *, minimum: int | None = None, maximum: int | None = None, named: bool = False) -> int:
    """A whole number; the message starts with ``name`` when ``named`` (otherwise the
    caller's ``file: key:`` prefix names it)."""
    who = f"{name} " if named else ""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            isinstance(value, float) and (not math.isfinite(value) or value != int(value))):
        raise ValueError(f"{who}must be a whole number, got {value!r}")
    v = int(value)
    if minimum is not None and v < minimum:
        raise ValueError(f"{who}must be >= {minimum}, got {v}")
    if maximum is not None and v > maximum:
        raise ValueError(f"{who}must be <= {maximum:,}, got {v:,}")
    return v


def _str(value) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be text (in quotes), got {value!r}")
    return value


# ---------------------------------------------------------------------------- loading
def load_study(path) -> Study:
    """Read and validate a study file; raises ``ValueError`` (or ``FileNotFoundError``)
    naming the file, the key and the problem."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"study file not found: {path}")
    if path.is_dir():
        raise ValueError(f"{path}: is a folder; give a study file (.toml), e.g. from `dosefind init study.toml`")
    data = path.read_bytes()
    return parse_study(data, source=str(path), base_dir=path.resolve().parent)


def default_study_text() -> str:
    """Text of the bundled CD7 CAR-T phase I study (``dosefind/data/cd7_phase1.toml``)."""
    return resources.files("dosefind").joinpath("data/cd7_phase1.toml").read_text(encoding="utf-8")


def default_study() -> Study:
    """The bundled CD7 CAR-T phase I study, validated."""
    return parse_study(default_study_text().encode("utf-8"), source="<bundled cd7_phase1.toml>")


def read_toml(data: bytes | str, *, source: str = "<study>") -> tuple[dict, str, str]:
    """The tables of a study (or grid) file's bytes: ``(doc, text, sha256 of the bytes)``.
    One reader for ``run``, ``compare --config`` and grids, so a file that is not UTF-8
    or not TOML gets the same message whichever command reads it."""
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    where = _Where(source)
    try:
        text = raw.decode("utf-8-sig")   # a byte-order mark (Windows editors) is not an error
    except UnicodeDecodeError:
        raise where.error("", "is not UTF-8 text; a study file is a TOML text file") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise where.error("", f"not valid TOML: {exc}") from None
    return doc, text, hashlib.sha256(raw).hexdigest()


def parse_study(data: bytes | str, *, source: str = "<study>", base_dir: Path | None = None) -> Study:
    """Validate study-file content (bytes or text); see :func:`load_study`."""
    doc, text, sha256 = read_toml(data, source=source)
    return parse_study_doc(doc, source=source, base_dir=base_dir, text=text, sha256=sha256)


#: Top-level keys of the layout ``dosefind compare --config`` read before it read study
#: files (dosefind 0.1), and where each went (docs/study-file.md, "compare --config").
OLD_COMPARE_KEYS = {
    "designs": "[designs.NAME] design = \"boin\" -> [[designs]] type = \"boin\", label = \"NAME\"",
    "scenarios": "scenarios = {A = [...]} -> [[scenarios]] name = \"A\", true_prob_tox = [...]",
    "scenarios_csv": "scenarios_csv -> compare --scenarios FILE.csv",
    "n_trials": "n_trials -> [study] n_trials", "seed": "seed -> [study] seed",
    "method": "method -> [study] method", "target": "target -> [study] target (with max_n and [doses])",
    "workers": "workers -> compare --workers", "acceptable": "acceptable -> simulate --acceptable",
}


def _old_compare_layout(where: _Where, doc: dict) -> None:
    """A file in the older ``compare --config`` layout: say what each key became rather
    than "unknown key" (it is not translated: its designs had no common max_n, doses or
    seed, so a translation would have to invent them)."""
    if "study" in doc or not (isinstance(doc.get("designs"), dict) or (
            set(doc) & (set(OLD_COMPARE_KEYS) - {"designs", "scenarios"}))):
        return
    moves = "; ".join(OLD_COMPARE_KEYS[k] for k in OLD_COMPARE_KEYS if k in doc)
    raise where.error("", "is in the older `dosefind compare --config` layout; compare now reads the study file "
                          f"that `dosefind run` reads ([study], [doses], [[designs]], [[scenarios]]; "
                          f"docs/study-file.md): {moves}")


def parse_study_doc(doc: dict, *, source: str = "<study>", base_dir: Path | None = None, text: str | None = None,
                    sha256: str | None = None) -> Study:
    """Validate a study given as the dict :mod:`tomllib` returns (what :func:`parse_study`
    does after reading the TOML); ``text`` and ``sha256`` default to a canonical JSON
    form of ``doc`` and its hash.  A ``[grid]`` table is accepted and not evaluated here."""
    where = _Where(source)
    if not isinstance(doc, dict):
        raise where.error("", f"must be a table of study tables, got {type(doc).__name__}")
    if text is None:
        import json

        text = json.dumps(doc, sort_keys=True, default=str)
    if sha256 is None:
        sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
    _old_compare_layout(where, doc)
    _unknown(where, "", doc, set(TOP_TABLES))
    for table in ("study", "doses"):
        if table not in doc:
            raise where.error(f"[{table}]", "missing table")
        if not isinstance(doc[table], dict):
            raise where.error(table, f"must be a table ([{table}])")
    st = doc["study"]
    _unknown(where, "study", st, STUDY_KEYS)

    def req(key):
        if key not in st:
            raise where.error(f"study.{key}", f"missing; {STUDY_KEYS[key]}")
        return st[key]

    def checked(key, fn, value):
        try:
            return fn(value)
        except ValueError as exc:
            raise where.error(f"study.{key}", str(exc)) from None

    target = checked("target", _prob_open, req("target"))
    max_n = checked("max_n", lambda v: _int(v, "max_n", minimum=1, maximum=MAX_PATIENTS), req("max_n"))
    n_trials = checked("n_trials", lambda v: _int(v, "n_trials", minimum=1, maximum=MAX_N_TRIALS), req("n_trials"))
    seed = checked("seed", lambda v: _int(v, "seed", minimum=0), req("seed"))
    cohort_size = checked("cohort_size", lambda v: _int(v, "cohort_size", minimum=1, maximum=MAX_PATIENTS),
                          st.get("cohort_size", 3))
    title = checked("title", _str, st.get("title", "Dose-finding study"))
    description = checked("description", _str, st.get("description", ""))
    method = checked("method", _str, st.get("method", "auto"))
    if method not in METHODS:
        raise where.error("study.method", f"must be one of {', '.join(METHODS)}, got {method!r}")

    doses = _parse_doses(where, doc["doses"])
    start_dose = checked("start_dose", lambda v: _int(v, "start_dose", minimum=1), st.get("start_dose", 1))
    if start_dose > len(doses):
        raise where.error("study.start_dose", f"must be between 1 and {len(doses)} (the number of doses), "
                                              f"got {start_dose}")

    trial = _parse_trial(where, doc.get("trial"), method)
    common = {"target": target, "max_n": max_n, "cohort_size": cohort_size, "start_dose": start_dose}
    if "dlt_window" in trial:  # the TITE designs weigh pending patients over the trial's window
        common["dlt_window"] = trial["dlt_window"]
    designs = _parse_designs(where, doc.get("designs"), doses, common, base_dir)
    scenarios = _parse_scenarios(where, doc.get("scenarios"), len(doses), base_dir)
    criterion = _parse_criterion(where, doc.get("criterion"))

    return Study(source=source, text=text, sha256=sha256, title=title,
                 description=description, target=target, max_n=max_n, cohort_size=cohort_size,
                 start_dose=start_dose, n_trials=n_trials, seed=seed, method=method, doses=doses,
                 designs=tuple(designs), scenarios=tuple(scenarios), base_dir=base_dir, trial=trial,
                 has_grid="grid" in doc, criterion=criterion)


def _parse_criterion(where: _Where, tbl):
    """[criterion]: the decision summary's ranking (``metric``, ``max_overdose_selection``)."""
    if tbl is None:
        return None
    from dosefind.simulations.decision import Criterion

    try:
        return Criterion.from_mapping(tbl, where="criterion")
    except ValueError as exc:
        raise where.error("", str(exc)) from None


#: [trial] keys (calendar time); toxicity components belong to scenarios, not here.
TRIAL_KEYS = ("dlt_window", "accrual", "patients_per_month", "accrual_cap", "timing", "late_onset",
              "manufacturing_failure", "vein_to_vein", "replace")


def _parse_trial(where: _Where, tbl, method: str) -> dict:
    """The [trial] table: DLT window, arrivals, time to DLT, manufacturing (calendar time)."""
    if tbl is None:
        return {}
    if not isinstance(tbl, dict):
        raise where.error("trial", "must be a table ([trial])")
    _unknown(where, "trial", tbl, TRIAL_KEYS)
    from dosefind.simulations.timing import calendar_settings

    try:
        calendar_settings(tbl)
    except (ValueError, TypeError) as exc:
        raise where.error("trial", str(exc)) from None
    for key, why in (("dlt_window", "the DLT assessment window in days, e.g. 28"),
                     ("patients_per_month", "patients arriving per 30 days, e.g. 2")):
        if key not in tbl:
            raise where.error(f"trial.{key}", f"missing; {why}")
    if method == "exact":
        raise where.error("study.method", "'exact' cannot run in calendar time ([trial]); use 'auto' or 'mc'")
    return dict(tbl)


def _prob_open(v) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"must be a number between 0 and 1, got {v!r}")
    if not 0 < v < 1:
        raise ValueError(f"must be between 0 and 1 (exclusive), got {v}")
    return float(v)


def _parse_doses(where: _Where, tbl: dict) -> DoseLevels:
    _unknown(where, "doses", tbl, DOSES_KEYS)
    if "amounts" not in tbl and "labels" not in tbl:
        raise where.error("doses.amounts", "missing; list the dose levels, e.g. amounts = [5e5, 1e6, 2e6]")
    unit = tbl.get("unit", "")
    if not isinstance(unit, str):
        raise where.error("doses.unit", f"must be text, e.g. \"cells/kg\", got {unit!r}")
    labels = tbl.get("labels")
    if labels is not None:
        if not isinstance(labels, list) or not labels or not all(isinstance(x, str) for x in labels):
            raise where.error("doses.labels", f"must be a list of text labels, got {labels!r}")
        if len(set(labels)) != len(labels):
            raise where.error("doses.labels", "labels must be distinct")
    amounts = tbl.get("amounts")
    if amounts is None:
        return DoseLevels(labels=tuple(labels), unit=unit)
    if not isinstance(amounts, list) or not amounts:
        raise where.error("doses.amounts", f"must be a list of positive numbers, got {amounts!r}")
    for i, a in enumerate(amounts):
        if isinstance(a, bool) or not isinstance(a, (int, float)) or not (a > 0 and math.isfinite(a)):
            raise where.error(f"doses.amounts[{i + 1}]", f"must be a positive number, got {a!r}")
    if any(b <= a for a, b in zip(amounts, amounts[1:])):
        raise where.error("doses.amounts", f"must be strictly increasing, got {amounts}")
    if labels is not None and len(labels) != len(amounts):
        raise where.error("doses.labels", f"has {len(labels)} labels but doses.amounts has {len(amounts)} doses")
    return DoseLevels.from_amounts(amounts, unit=unit, labels=labels)


def _registry():
    from dosefind.designs import REGISTRY

    return REGISTRY


def _accepted(cls) -> set[str]:
    """Keyword options a design class's constructor accepts, with those of the parent
    constructors it passes ``**options`` on to (TITE-BOIN12's BOIN12 options: max_n,
    cohort_size, start_dose, ...)."""
    out = set()
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        sig = inspect.signature(vars(klass)["__init__"])
        out |= {n for n, p in sig.parameters.items()
                if n != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        if not any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()):
            break
    return out


def _parse_designs(where: _Where, items, doses: DoseLevels, common: dict,
                   base_dir: Path | None = None) -> list[DesignSpec]:
    if items is None:
        raise where.error("[[designs]]", "missing; name at least one design, e.g. [[designs]] type = \"boin\"")
    if not isinstance(items, list) or not all(isinstance(x, dict) for x in items) or not items:
        raise where.error("designs", "must be one or more [[designs]] tables")
    registry = _registry()
    out, labels = [], set()
    for i, tbl in enumerate(items, start=1):
        key = f"designs[{i}]"
        if "type" not in tbl:
            raise where.error(f"{key}.type", f"missing; one of {', '.join(sorted(set(DESIGN_TYPES.values())))}")
        kind = tbl["type"]
        if not isinstance(kind, str) or kind.strip().lower() not in DESIGN_TYPES:
            raise where.error(f"{key}.type", f"unknown design {kind!r}; known designs: "
                                             f"{', '.join(sorted(set(DESIGN_TYPES.values())))}")
        kind = DESIGN_TYPES[kind.strip().lower()]
        cls = registry[kind]
        label = _unique_name(where, f"{key}.label", tbl.get("label", getattr(cls, "name", kind)), labels,
                             "must be non-empty text", "design; give each design its own label")
        key = f"designs[{i}] ({label})"
        accepted = _accepted(cls) - {"num_doses", "doses"}
        if "target" in tbl:
            raise where.error(f"{key}.target", "the target is set once for the whole study, in [study]")
        allowed = set(DESIGN_COMMON_KEYS) | accepted | set(MODIFIER_KEYS) | set(DESIGN_PRIOR_KEYS)
        _unknown(where, key, tbl, allowed)
        options = {k: v for k, v in tbl.items() if k not in DESIGN_COMMON_KEYS}
        prior_opts = {k: options.pop(k) for k in DESIGN_PRIOR_KEYS if k in options}
        _check_option_types(where, key, cls, options)
        kwargs = {k: v for k, v in common.items() if k in accepted and not (k == "max_n" and kind in RULE_BASED)}
        kwargs.update({k: v for k, v in options.items() if k in accepted})
        if "phi_t" in accepted and "phi_t" not in kwargs:  # phase I/II: the study's target is phi_T
            kwargs["phi_t"] = common["target"]
        fitted = _design_prior(where, key, kind, prior_opts, options, doses, common["target"], base_dir)
        if fitted is not None:
            kwargs.update(fitted.kwargs)
            kwargs.pop("doses", None)   # the study's DoseLevels (labels, unit); the fit's match them
        if "skeleton" in kwargs and isinstance(kwargs["skeleton"], dict):
            kwargs["skeleton"] = _skeleton(where, f"{key}.skeleton", kwargs["skeleton"], common["target"], len(doses))
        if kwargs.get("prior_var") == LEAST_INFORMATIVE:
            kwargs["prior_var"] = _least_informative(where, f"{key}.prior_var", kwargs, common["target"])
        kwargs["doses"] = doses if "doses" in _accepted(cls) else None
        if kwargs["doses"] is None:
            kwargs.pop("doses")
            kwargs["num_doses"] = len(doses)
        elif "num_doses" in _accepted(cls):
            kwargs["num_doses"] = len(doses)
        if "dlt_window" in accepted and "dlt_window" not in kwargs:
            raise where.error(key, "a time-to-event design needs the DLT window: add a [trial] table with "
                                   "dlt_window = 28 (days) and the accrual (docs/calendar.md)")
        try:
            design = cls(**kwargs)
        except (ValueError, TypeError) as exc:
            raise where.error(key, str(exc)) from None
        design = _apply_modifiers(where, key, design, {k: v for k, v in options.items()
                                                       if k in MODIFIER_KEYS and k not in accepted})
        options.update(prior_opts)
        out.append(DesignSpec(label=label, type=kind, options=options, design=design,
                              prior_fit=None if fitted is None else fitted.path,
                              prior_sha256=None if fitted is None else fitted.sha256,
                              prior_strength=None if fitted is None else fitted.strength))
    return out


def _design_prior(where: _Where, key: str, kind: str, prior_opts: dict, options: dict, doses: DoseLevels,
                  target: float, base_dir: Path | None):
    """``prior_fit = "fit.nc"`` (path relative to the study file): the CRM's skeleton or the
    BLRM's prior from the fit (:func:`dosefind.priors.prior_for_design`), checked against
    the study's doses. None when the table names no fit."""
    if "prior_fit" not in prior_opts:
        for k in prior_opts:
            raise where.error(f"{key}.{k}", "only applies with prior_fit = \"FIT.nc\" (a dose-response fit file)")
        return None
    if kind not in PRIOR_FIT_DESIGNS:
        raise where.error(f"{key}.prior_fit", f"only the {' and '.join(PRIOR_FIT_DESIGNS)} designs take a prior "
                                              f"from a fit, not {kind}")
    takes = PRIOR_FIT_DESIGNS[kind]
    if takes in options:
        raise where.error(f"{key}.{takes}", f"give either {takes} or prior_fit (which sets the {takes}), not both")
    if kind == "blrm" and "reference_dose" in options:
        raise where.error(f"{key}.reference_dose", "is set by prior_fit (the prior is for the fit's reference dose)")
    path = prior_opts["prior_fit"]
    if not isinstance(path, str) or not path.strip():
        raise where.error(f"{key}.prior_fit", f"must be the path of a fit file (dosefind priors fit --out FIT.nc), "
                                              f"got {path!r}")
    if path == BUNDLED_PRIOR:
        raise where.error(f"{key}.prior_fit", "no fit file is bundled with dosefind; make one with dosefind priors "
                                              "fit --model dose-response --doses ... --out fit.nc and name its path")
    p = Path(path)
    if not p.is_absolute() and base_dir is not None:
        p = base_dir / p
    if not p.is_file():
        raise where.error(f"{key}.prior_fit", f"fit file not found: {p}")
    endpoint = prior_opts.get("endpoint")
    if endpoint is not None and endpoint not in _toxicity_endpoints():
        raise where.error(f"{key}.endpoint", f"must be one of {', '.join(_toxicity_endpoints())}, got {endpoint!r}")
    robust = prior_opts.get("robust_weight")
    if robust is not None and (isinstance(robust, bool) or not isinstance(robust, (int, float))):
        raise where.error(f"{key}.robust_weight", f"must be a number in [0, 1], got {robust!r}")
    from dosefind.priors import prior_for_design

    try:
        fitted = prior_for_design(p, kind, endpoint=endpoint, target=target if kind == "crm" else None,
                                  robust_weight=robust)
    except ValueError as exc:
        raise where.error(f"{key}.prior_fit", str(exc)) from None
    fit_doses = fitted.kwargs.get("doses")
    if fit_doses is None:   # a CRM skeleton carries no doses; the fit's description does
        from dosefind.priors import load_fit

        fit_doses = load_fit(p).doses
    fit_doses = [float(d) for d in fit_doses]
    if len(fit_doses) != len(doses) or (doses.amounts is not None and any(
            abs(a - b) > 1e-9 * max(a, b) for a, b in zip(fit_doses, doses.amounts))):
        raise where.error(f"{key}.prior_fit", f"the fit in {p} was made at doses "
                                              f"{[f'{d:g}' for d in fit_doses]}, not the study's "
                                              f"{list(doses.labels if doses.amounts is None else doses.amounts)}")
    return fitted


def _check_option_types(where: _Where, key: str, cls, options: dict) -> None:
    """Options whose default is true/false take only true/false (text such as "false" is
    truthy and would switch the option on); trial sizes stay within MAX_PATIENTS."""
    params = inspect.signature(cls.__init__).parameters
    for k, v in options.items():
        try:
            if k in params and isinstance(params[k].default, bool):
                boolean(v, k)
            elif k in ("max_n", "n_cohorts", "cohort_size", "stop_at_n", "stop_when_n_at_dose") and not (
                    isinstance(v, bool)) and isinstance(v, (int, float)) and v > MAX_PATIENTS:
                raise ValueError(f"must be <= {MAX_PATIENTS:,} patients, got {v:g}")
        except ValueError as exc:
            raise where.error(f"{key}.{k}", str(exc)) from None


def _least_informative(where: _Where, key: str, kwargs: dict, target: float) -> float:
    """sigma_LI^2 of the design's skeleton, working model and intercept (Lee & Cheung 2011)."""
    from dosefind.designs.prior_variance import least_informative_variance

    if "skeleton" not in kwargs:
        raise where.error(key, f"\"{LEAST_INFORMATIVE}\" needs the design's skeleton (a CRM design)")
    try:
        return least_informative_variance(kwargs["skeleton"], target, model=kwargs.get("model", "empiric"),
                                          intercept=kwargs.get("intercept", 3.0))
    except (ValueError, TypeError) as exc:
        raise where.error(key, f"\"{LEAST_INFORMATIVE}\": {exc}") from None


SKELETON_KEYS = ("halfwidth", "prior_mtd", "nu", "model", "intercept")


def _skeleton(where: _Where, key: str, tbl: dict, target: float, num_doses: int):
    """``skeleton = {halfwidth = 0.05, prior_mtd = 3}``: the dfcrm ``getprior`` skeleton."""
    try:
        from dosefind.designs.skeleton import getprior
    except ImportError:
        raise where.error(key, "a calibrated skeleton needs dosefind.designs.skeleton.getprior, which this "
                               "version lacks; give the skeleton as a list of probabilities") from None
    _unknown(where, key, tbl, set(SKELETON_KEYS) | {"target", "num_doses"})
    accepted = _accepted_fn(getprior)
    args = {k: v for k, v in tbl.items()}
    for name, value in (("target", target), ("num_doses", num_doses), ("nlevel", num_doses)):
        if name in accepted and name not in args:
            args[name] = value
    if "prior_mtd" in args and "prior_mtd" not in accepted and "nu" in accepted:
        args["nu"] = args.pop("prior_mtd")
    try:
        return list(getprior(**{k: v for k, v in args.items() if k in accepted}))
    except (ValueError, TypeError) as exc:
        raise where.error(key, str(exc)) from None


def _accepted_fn(fn) -> set[str]:
    return set(inspect.signature(fn).parameters)


def _apply_modifiers(where: _Where, key: str, design, mods: dict):
    from dosefind.designs import Backfill, DontSkipDoses, StopAtN, StopWhenNAtDose, StopWhenTooToxic

    for name, value in mods.items():
        k = f"{key}.{name}"
        try:
            if name == "dont_skip_doses":
                if isinstance(value, bool):
                    m = DontSkipDoses() if value else None
                elif isinstance(value, dict):
                    _unknown(where, k, value, {"when_escalating", "when_deescalating", "relative_to"})
                    for sub, flag in value.items():
                        if sub == "relative_to":
                            continue  # text; DontSkipDoses names the allowed values
                        try:
                            boolean(flag, sub)
                        except ValueError as exc:
                            raise where.error(f"{k}.{sub}", str(exc)) from None
                    m = DontSkipDoses(**value)
                else:
                    raise ValueError(f"must be true/false or a table, got {value!r}")
            elif name == "backfill":
                if not isinstance(value, dict):
                    raise ValueError("must be a table, e.g. {cap_per_dose = 12} (BF-BOIN backfilling in calendar "
                                     "time; docs/designs/backfill.md)")
                _unknown(where, k, value, {"cap_per_dose", "require_response", "count_in_max_n"})
                m = Backfill(**value)
            elif name in ("stop_at_n", "stop_when_n_at_dose"):
                n = _int(value, name, minimum=1)
                m = (StopAtN if name == "stop_at_n" else StopWhenNAtDose)(n)
            else:  # stop_when_too_toxic
                if not isinstance(value, dict):
                    raise ValueError("must be a table, e.g. {threshold = 0.35, confidence = 0.95, dose = 1}")
                _unknown(where, k, value, {"threshold", "confidence", "dose", "min_n", "estimate", "prior_a",
                                           "prior_b"})
                if "threshold" not in value:
                    raise ValueError("needs threshold (the DLT rate that is too toxic)")
                m = StopWhenTooToxic(**value)
            if m is not None:
                design = design.then(m)
        except ValueError as exc:
            msg = str(exc)
            if msg.startswith(where.source):
                raise
            raise where.error(k, msg) from None
    return design


def _parse_scenarios(where: _Where, items, num_doses: int, base_dir: Path | None) -> list[ScenarioSpec]:
    if items is None:
        raise where.error("[[scenarios]]", "missing; give at least one scenario with true_prob_tox = [...]")
    if not isinstance(items, list) or not all(isinstance(x, dict) for x in items) or not items:
        raise where.error("scenarios", "must be one or more [[scenarios]] tables")
    out, names = [], set()
    for i, tbl in enumerate(items, start=1):
        key = f"scenarios[{i}]"
        name = _unique_name(where, f"{key}.name", tbl.get("name"), names,
                            "missing or empty; give each scenario a name", "scenario; names must be distinct")
        key = f"scenarios[{i}] ({name})"
        _unknown(where, key, tbl, SCENARIO_KEYS)
        desc = tbl.get("description", "")
        if not isinstance(desc, str):
            raise where.error(f"{key}.description", f"must be text, got {desc!r}")
        has_curve, has_prior = "true_prob_tox" in tbl, "prior" in tbl
        if has_curve == has_prior:
            raise where.error(key, "give exactly one of true_prob_tox (an explicit curve) or prior "
                                   "(\"bundled\" or a path to a fitted prior)")
        if has_curve:
            for extra in ("summary", "draws", "seed", "endpoint"):
                if extra in tbl:
                    raise where.error(f"{key}.{extra}", "only applies to scenarios drawn from a prior")
            curve = tbl["true_prob_tox"]
            if not isinstance(curve, list):
                raise where.error(f"{key}.true_prob_tox", f"must be a list of probabilities, got {curve!r}")
            if len(curve) != num_doses:
                raise where.error(f"{key}.true_prob_tox",
                                  f"has {len(curve)} values but the study has {num_doses} doses")
            for j, p in enumerate(curve, start=1):
                if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
                    raise where.error(f"{key}.true_prob_tox[{j}]", f"must be a probability in [0, 1], got {p!r}")
            eff, rho = _scenario_efficacy(where, key, tbl, curve, num_doses)
            out.append(ScenarioSpec(name=name, description=desc, true_prob_tox=tuple(float(p) for p in curve),
                                    true_prob_eff=eff, tox_eff_correlation=rho))
            continue
        for extra in ("true_prob_eff", "tox_eff_correlation"):
            if extra in tbl:
                raise where.error(f"{key}.{extra}", "applies to explicit curves (true_prob_tox); a prior scenario "
                                                    "takes its response rates from the prior's response model")
        prior = tbl["prior"]
        if not isinstance(prior, str) or not prior:
            raise where.error(f"{key}.prior", f"must be \"{BUNDLED_PRIOR}\" or a path to a fitted prior, got {prior!r}")
        if prior != BUNDLED_PRIOR:
            p = Path(prior)
            if not p.is_absolute() and base_dir is not None:
                p = base_dir / p
            if not p.exists():
                raise where.error(f"{key}.prior", f"fitted prior not found: {p}")
            prior = str(p)
        summary, draws = tbl.get("summary"), tbl.get("draws")
        if (summary is None) == (draws is None):
            raise where.error(key, "a prior scenario needs exactly one of summary = \"median\" or \"mean\" "
                                   "(one curve) or draws = N (N random curves)")
        if summary is not None and summary not in PRIOR_SUMMARIES:
            raise where.error(f"{key}.summary", f"must be one of {', '.join(PRIOR_SUMMARIES)}, got {summary!r}")
        if draws is not None:
            try:
                draws = _int(draws, "draws", minimum=1)
            except ValueError as exc:
                raise where.error(f"{key}.draws", str(exc)) from None
            if draws > MAX_DRAWN_CURVES:
                raise where.error(f"{key}.draws", f"at most {MAX_DRAWN_CURVES} drawn curves are reported one by one, "
                                                  f"got {draws}")
        seed = tbl.get("seed")
        if seed is not None:
            try:
                seed = _int(seed, "seed", minimum=0)
            except ValueError as exc:
                raise where.error(f"{key}.seed", str(exc)) from None
        endpoint = tbl.get("endpoint", DEFAULT_PRIOR_ENDPOINT)
        if endpoint not in _toxicity_endpoints():
            raise where.error(f"{key}.endpoint", f"must be one of {', '.join(_toxicity_endpoints())}, got {endpoint!r}")
        out.append(ScenarioSpec(name=name, description=desc, prior=prior, summary=summary, draws=draws, seed=seed,
                                endpoint=endpoint))
    return out


def _scenario_efficacy(where: _Where, key: str, tbl: dict, tox, num_doses: int):
    """A scenario's true response rates and DLT-response correlation (phase I/II), checked
    by the engine's own joint model so that an impossible correlation fails here."""
    eff = tbl.get("true_prob_eff")
    rho = tbl.get("tox_eff_correlation", 0.0)
    if eff is None:
        if "tox_eff_correlation" in tbl:
            raise where.error(f"{key}.tox_eff_correlation", "needs true_prob_eff (the true response rates)")
        return None, 0.0
    if not isinstance(eff, list) or len(eff) != num_doses:
        raise where.error(f"{key}.true_prob_eff", f"must be a list of {num_doses} probabilities (one per dose), "
                                                  f"got {eff!r}")
    for j, p in enumerate(eff, start=1):
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
            raise where.error(f"{key}.true_prob_eff[{j}]", f"must be a probability in [0, 1], got {p!r}")
    if isinstance(rho, bool) or not isinstance(rho, (int, float)):
        raise where.error(f"{key}.tox_eff_correlation", f"must be a number in [-1, 1], got {rho!r}")
    from dosefind.simulations.joint import JointOutcomes

    try:
        JointOutcomes([float(p) for p in tox], [float(p) for p in eff], correlation=float(rho))
    except ValueError as exc:
        raise where.error(f"{key}.tox_eff_correlation", str(exc)) from None
    return tuple(float(p) for p in eff), float(rho)


def _toxicity_endpoints() -> tuple[str, ...]:
    try:
        from dosefind.priors.evidence import TOXICITY_ENDPOINTS
    except ImportError:  # pragma: no cover - priors not installed
        return (DEFAULT_PRIOR_ENDPOINT,)
    return tuple(TOXICITY_ENDPOINTS)


def describe_doses(doses: DoseLevels) -> str:
    """'5 dose levels: 5e5, 1e6, 2e6, 4e6 and 8e6 cells/kg'."""
    if doses.amounts is None:
        return f"{len(doses)} dose levels: " + ", ".join(doses.labels)
    amts = [format_amount(a) for a in doses.amounts]
    body = amts[0] if len(amts) == 1 else ", ".join(amts[:-1]) + " and " + amts[-1]
    return f"{len(doses)} dose levels: {body} {doses.unit}".rstrip()


#: Commented study-file template that ``dosefind init`` writes (dosefind/data/study_template.toml).
TEMPLATE = resources.files("dosefind").joinpath("data/study_template.toml").read_text(encoding="utf-8")
