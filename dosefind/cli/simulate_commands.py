"""``dosefind simulate`` and ``dosefind compare``: parse, call the library, print."""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

import click

from dosefind.cli.calendar_options import calendar_options, pop_calendar
from dosefind.cli.options import N_TRIALS, build_design, design_options, parse_probabilities

FORMATS = ("table", "csv", "json", "markdown")

#: Keys a ``compare --config`` file may hold at its top level.
CONFIG_KEYS = {
    "designs": "one [designs.NAME] table per design",
    "scenarios": "a list of true DLT curves",
    "scenarios_csv": "a long-format scenario CSV (scenario,dose,true_prob_tox)",
    "n_trials": "simulated trials per design and scenario",
    "seed": "random seed",
    "method": "auto, exact or mc",
    "workers": "processes",
    "target": "target DLT rate defining the correct dose",
    "acceptable": "[low, high] band of true DLT rates counted as correct",
}


#: From this many trials the engine's own bar (trials done, ETA) is shown on a terminal: it
#: advances once per block of 50,000 trials, so below that it would sit at 0% throughout.
ENGINE_BAR_TRIALS = 100_000


def _progress(flag, quiet, n_trials) -> bool:
    """The engine's bar: --progress/--no-progress, or by default for long runs on a terminal."""
    if quiet:
        return False
    if flag is not None:
        return flag
    return sys.stderr.isatty() and (n_trials or 0) >= ENGINE_BAR_TRIALS


def _feedback(quiet, flag, bar: bool):
    """Without the engine's bar: on a terminal a one-step bar whose clock keeps moving;
    otherwise plain 'still running' lines once the command has run a few seconds."""
    import contextlib

    from dosefind.cli.progress import Progress

    if quiet or bar or flag is False:
        return contextlib.nullcontext(lambda *a: None)
    return Progress(enabled=True, only_slow=True)


def _quiet(quiet) -> None:
    if quiet:
        import warnings

        warnings.simplefilter("ignore")


def _monotone_note(curves, quiet) -> None:
    if quiet:
        return
    for c in curves:
        c = list(c)
        if any(b < a for a, b in zip(c, c[1:])):
            click.echo(f"Note: the true DLT rate decreases with dose somewhere ({', '.join(f'{p:g}' for p in c)}); "
                       "simulated as given", err=True)


def _acceptable(text):
    if text is None:
        return None
    vals = parse_probabilities(text, "acceptable")
    if len(vals) != 2:
        raise ValueError(f"--acceptable must be two DLT rates 'low,high', got {text!r}")
    return tuple(vals)


def _split_target(design_name, options):
    """The 3+3 and the BLRM have no target of their own: --target then only defines the
    correct dose (the BLRM aims at an interval; it must be given)."""
    target = options.get("target")
    if design_name is not None and design_name.lower() == "blrm" and target is None:
        raise ValueError("--design blrm aims at an interval, not a target: give --target (the DLT rate "
                         "defining the correct dose, e.g. 0.25)")
    if design_name is not None and design_name.lower() in ("3+3", "blrm"):
        options = dict(options)
        options.pop("target", None)
        return options, target
    return options, target


def _blrm_acceptable(design, acceptable):
    """A BLRM's correct doses default to its target interval [a, b)."""
    if acceptable is None and getattr(design, "name", None) == "BLRM":
        return tuple(design.intervals)
    return acceptable


def _md_table(df) -> str:
    """Markdown via the report's table writer, with floats to 2 decimals and missing as '-'."""
    from dosefind.reports.tables import to_markdown

    shown = df.astype(object).map(lambda v: ("-" if v != v else f"{v:.2f}") if isinstance(v, float) else v)
    return to_markdown(shown)


def _oc_long(oc):
    """One tidy table: metric, dose (blank for scalars), value, se."""
    import pandas as pd

    rows = []
    for key in ("selection_pct", "patients_mean", "patients_pct", "dlt_mean"):
        for i, v in enumerate(oc.values[key]):
            rows.append({"metric": key, "dose": i + 1, "value": v, "se": oc.se[key][i]})
    for key in ("no_selection_pct", "pcs", "overdose_selection_pct", "overdose_patients_pct", "overdose60_pct",
                "overdose80_pct", "early_stop_pct", "n_mean", "dlt_total_mean"):
        rows.append({"metric": key, "dose": None, "value": oc.values[key], "se": oc.se[key]})
    for key, (value, se) in oc.calendar_rows().items():  # calendar time: duration, enrolment
        rows.append({"metric": key, "dose": None, "value": value, "se": se})
    return pd.DataFrame(rows).astype({"dose": "Int64"})


def _print_oc(oc, fmt):
    if fmt == "json":
        click.echo(oc.to_json(indent=2))
    elif fmt == "csv":
        click.echo(_oc_long(oc).to_csv(index=False), nl=False)
    elif fmt == "markdown":
        click.echo(oc.to_markdown())
    else:
        click.echo(_oc_text(oc))


def _oc_text(oc) -> str:
    """The terminal face of one simulation: the per-dose table, the summary and the stop
    reasons, laid out as pandas prints them (reports.text.frame_text) without loading pandas."""
    from dosefind.reports.text import human_table

    head = f"{oc.design} on {list(oc.true_prob_tox)}: " + (
        "exact" if oc.method == "exact" else f"Monte Carlo, {oc.n_trials} trials, seed {oc.seed}")
    exact = oc.method == "exact"
    cols = oc.per_dose_columns()
    del cols["dose"]
    if "obd_selection_pct" in cols:  # phase I/II: the MTD is the cap the OBD sits under
        cols = {{"selection_pct": "MTD selected %", "selection_se": "MTD selected % SE"}.get(k, k): v
                for k, v in cols.items()}
    rows = oc.summary_rows()
    lines = [head, human_table(range(1, oc.num_doses + 1), cols, index_name="level", exact=exact), "",
             human_table(list(rows), {"value": [v for v, _ in rows.values()], "se": [s for _, s in rows.values()]},
                         exact=exact)]
    if oc.stop_reasons:
        lines += ["", "stop reasons (% of trials):"]
        lines += [f"  {v:7.2f}  {_reason_text(k)}" for k, v in oc.stop_reasons.items()]
    return "\n".join(lines)


@click.command()
@design_options
@calendar_options
@click.option("--true-tox", default=None, help="True DLT probability per dose, e.g. 0.05,0.10,0.20,0.30,0.45 "
              "(or give --crs/--icans components).")
@click.option("--true-eff", default=None, help="True response probability per dose, e.g. 0.2,0.4,0.6,0.6,0.6 "
              "(required by phase I/II designs; a phase I design then also reports responses).")
@click.option("--tox-eff-correlation", type=float, default=None,
              help="Correlation (phi) of DLT and response in the same patient, in [-1, 1] (default 0).")
@click.option("--n-trials", type=N_TRIALS, default=10_000, show_default=True,
              help="Simulated trials (Monte Carlo; 1 to 10^9).")
@click.option("--seed", type=int, default=None, help="Random seed (default: fresh; reported in the output).")
@click.option("--method", type=click.Choice(["auto", "exact", "mc"]), default="auto", show_default=True,
              help="Exact probability propagation, Monte Carlo, or exact when the state space is small.")
@click.option("--workers", type=int, default=1, show_default=True, help="Processes (identical result for any N).")
@click.option("--acceptable", default=None, help="Band 'low,high' of true DLT rates counted as correct.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar of the simulated trials on stderr (default: for 100,000 trials or more on a "
                   "terminal; otherwise a clock on a terminal, or a line every 10 s elsewhere).")
@click.option("--quiet", "-q", is_flag=True, help="No progress and no warnings.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
def simulate(design_name, true_tox, true_eff, tox_eff_correlation, n_trials, seed, method, workers, acceptable,
             progress, quiet, fmt, **options):
    """Operating characteristics of one design on one true dose-toxicity scenario.

    The true curve may decrease with dose (a note says so); the study file follows the
    same rule.
    """
    from dosefind.simulations import simulate as run

    _quiet(quiet)
    cal = pop_calendar(options, design_name)
    tox = cal.pop("toxicity", None)
    if (true_tox is None) == (tox is None):
        raise ValueError("give the truth either as --true-tox or as components (--crs, --icans), not both"
                         if tox is not None else "--true-tox is required (or components --crs, --icans)")
    probs = parse_probabilities(true_tox, "--true-tox") if tox is None else tox
    if options.get("num_doses") is None:
        options["num_doses"] = len(probs) if tox is None else tox.num_doses
    options, target = _split_target(design_name, options)
    design = build_design(design_name, **options)
    phase12 = {}
    if true_eff is not None:
        phase12["true_prob_eff"] = parse_probabilities(true_eff, "--true-eff")
    elif design.efficacy:
        raise ValueError(f"{design.name} is a phase I/II design: give the true response rate per dose with --true-eff "
                         f"(e.g. 0.2,0.4,0.6,0.6,0.6)")
    if tox_eff_correlation is not None:
        if true_eff is None:
            raise ValueError("--tox-eff-correlation needs --true-eff (the true response rates)")
        phase12["tox_eff_correlation"] = tox_eff_correlation
    if tox is None:
        _monotone_note([probs], quiet)
    bar = _progress(progress, quiet, n_trials)
    with _feedback(quiet, progress, bar) as feedback:
        feedback("simulations", 0, 1, f"{design.name}, {n_trials:,} trials" if method != "exact" else design.name)
        oc = run(design, probs, n_trials=n_trials, seed=seed, method=method, workers=workers, progress=bar,
                 target=target, acceptable=_blrm_acceptable(design, _acceptable(acceptable)), **cal, **phase12)
        feedback("simulations", 1, 1, "")
    _print_oc(oc, fmt)


def _read_config(path):
    import difflib

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"config file not found: {path}")
    if path.is_dir():
        raise ValueError(f"{path}: is a folder; give a TOML config file")
    try:
        cfg = tomllib.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError(f"{path}: is not UTF-8 text; a config file is a TOML text file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from None
    for key in cfg:
        if key not in CONFIG_KEYS:
            m = difflib.get_close_matches(key, list(CONFIG_KEYS), n=1)
            hint = f" (did you mean {m[0]!r}?)" if m else ""
            raise ValueError(f"{path}: unknown key {key!r}{hint}; allowed keys: {', '.join(sorted(CONFIG_KEYS))}")
    return cfg


def _config_value(cfg, path, key, check):
    """A config value through a library check, the message naming the file and key."""
    try:
        return check(cfg[key])
    except ValueError as exc:
        raise ValueError(f"{path}: {key}: {exc}") from None


def _config_scenarios(cfg, base: Path):
    from dosefind.simulations.scenarios import as_scenarios

    if "scenarios_csv" in cfg:
        p = Path(cfg["scenarios_csv"])
        return as_scenarios(p if p.is_absolute() else base / p)
    if "scenarios" in cfg:
        return as_scenarios(cfg["scenarios"])
    return None


def _config_designs(cfg, num_doses):
    designs = cfg.get("designs")
    if not designs or not isinstance(designs, dict):
        raise ValueError("the config needs a [designs.NAME] table per design, e.g. [designs.boin] design = \"boin\"")
    out = {}
    for label, spec in designs.items():
        if not isinstance(spec, dict) or "design" not in spec:
            raise ValueError(f"[designs.{label}] needs design = \"boin\", \"crm\" or \"3+3\"")
        spec = {k.replace("-", "_"): v for k, v in spec.items()}
        kind = spec.pop("design")
        if isinstance(spec.get("skeleton"), list):
            spec["skeleton"] = [float(v) for v in spec["skeleton"]]
        spec.setdefault("num_doses", num_doses)
        if str(kind).lower() == "3+3":
            spec.pop("target", None)
        try:
            out[str(label)] = build_design(kind, **spec)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"[designs.{label}]: {exc}") from None
    return out


@click.command()
@click.option("--config", "config_path", required=True, help="TOML file with [designs.*] and scenarios.")
@click.option("--true-tox", multiple=True, help="A scenario (repeatable); overrides the config's scenarios.")
@click.option("--scenarios", "scenarios_csv", default=None, help="Long-format scenario CSV (scenario,dose,true_prob_tox).")
@click.option("--n-trials", type=N_TRIALS, default=None,
              help="Simulated trials per design and scenario (config or 10000; 1 to 10^9).")
@click.option("--seed", type=int, default=None, help="Random seed (config, or fresh).")
@click.option("--method", type=click.Choice(["auto", "exact", "mc"]), default=None,
              help="Engine (default mc, so every design sees the same simulated patients).")
@click.option("--workers", type=int, default=None, help="Processes (identical result for any N).")
@click.option("--target", type=float, default=None, help="Target DLT rate defining the correct dose.")
@click.option("--acceptable", default=None, help="Band 'low,high' of true DLT rates counted as correct.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar of the simulated trials on stderr (default: for 100,000 trials or more on a "
                   "terminal; otherwise a clock on a terminal, or a line every 10 s elsewhere).")
@click.option("--quiet", "-q", is_flag=True, help="No progress and no warnings.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
def compare(config_path, true_tox, scenarios_csv, n_trials, seed, method, workers, target, acceptable, progress,
            quiet, fmt):
    """Compare designs on scenarios with the same simulated patients.

    The config file's keys: designs, scenarios, scenarios_csv, n_trials, seed, method,
    workers, target, acceptable; any other key is an error.
    """
    import pandas as pd

    from dosefind._validate import integer
    from dosefind.simulations import compare as run
    from dosefind.simulations.scenarios import as_scenarios
    from dosefind.study import MAX_N_TRIALS

    _quiet(quiet)
    cfg = _read_config(config_path)
    if "n_trials" in cfg:
        cfg["n_trials"] = _config_value(cfg, config_path, "n_trials",
                                        lambda v: integer(v, "n_trials", minimum=1, maximum=MAX_N_TRIALS))
    for key, low in (("seed", 0), ("workers", 1)):
        if key in cfg:
            cfg[key] = _config_value(cfg, config_path, key, lambda v, k=key, lo=low: integer(v, k, minimum=lo))
    base = Path(config_path).parent
    if true_tox:
        scen = as_scenarios([parse_probabilities(t, "--true-tox") for t in true_tox])
    elif scenarios_csv:
        scen = as_scenarios(Path(scenarios_csv))
    else:
        scen = _config_scenarios(cfg, base)
    if not scen:
        raise ValueError("no scenarios: give --true-tox, --scenarios FILE.csv, or scenarios in the config")
    designs = _config_designs(cfg, scen[0].num_doses)
    acc = _acceptable(acceptable) if acceptable is not None else (
        tuple(cfg["acceptable"]) if "acceptable" in cfg else None)
    n_trials = n_trials if n_trials is not None else cfg.get("n_trials", 10_000)
    _monotone_note([s.true_prob_tox for s in scen], quiet)
    bar = _progress(progress, quiet, n_trials)
    with _feedback(quiet, progress, bar) as feedback:
        feedback("simulations", 0, 1, f"{len(designs)} designs x {len(scen)} scenarios")
        result = run(designs, scen,
                     n_trials=n_trials,
                     seed=seed if seed is not None else cfg.get("seed"),
                     method=method or cfg.get("method", "mc"),
                     workers=workers if workers is not None else cfg.get("workers", 1),
                     target=target if target is not None else cfg.get("target"),
                     acceptable=acc, progress=bar)
        feedback("simulations", 1, 1, "")
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
        return
    summary = result.to_frame()
    cols = ["scenario", "design", "pcs", "overdose_selection_pct", "overdose_patients_pct", "no_selection_pct",
            "n_mean", "dlt_total_mean"]
    sel = result.selection_frame()
    if fmt == "csv":
        click.echo(summary.merge(sel, on=["scenario", "design"]).to_csv(index=False), nl=False)
    elif fmt == "markdown":
        click.echo(_md_table(summary[cols]))
        click.echo()
        click.echo(_md_table(sel))
    else:
        from dosefind.reports.text import human_frame

        with pd.option_context("display.width", 200, "display.max_columns", 30, "display.precision", 2):
            click.echo(human_frame(summary[cols]).to_string(index=False))
            click.echo()
            click.echo("selection % per dose:")
            click.echo(human_frame(sel).to_string(index=False))


def _reason_text(code: str) -> str:
    from dosefind.state import ReasonCode

    try:
        return f"{ReasonCode(code).text} ({code})"
    except ValueError:
        return code
