"""``dosefind simulate`` and ``dosefind compare``: parse, call the library, print."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import click

from dosefind.cli.calendar_options import calendar_options, pop_calendar
from dosefind.cli.options import N_TRIALS, build_design, design_options, parse_probabilities

FORMATS = ("table", "csv", "json", "markdown")

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
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Processes (identical result for any N).")
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


def _override_scenarios(study, true_tox, scenarios_csv):
    """``--true-tox`` (repeatable) or ``--scenarios FILE.csv`` in place of the study's
    scenarios, validated as ``[[scenarios]]`` tables are."""
    if true_tox:
        tables = [{"name": f"S{i}", "true_prob_tox": parse_probabilities(t, "--true-tox")}
                  for i, t in enumerate(true_tox, start=1)]
        return study.with_scenarios(tables, source="--true-tox")
    if scenarios_csv:
        from dosefind.simulations.scenarios import read_scenarios

        tables = [{"name": sc.name, "true_prob_tox": list(sc.true_prob_tox),
                   **({} if sc.true_prob_response is None else {"true_prob_eff": list(sc.true_prob_response)})}
                  for sc in read_scenarios(Path(scenarios_csv))]
        return study.with_scenarios(tables, source=f"--scenarios {scenarios_csv}")
    return study


def _comparison(run):
    """A study's results (:class:`dosefind.runner.RunResult`) as the library's
    :class:`~dosefind.simulations.Comparison`, the object ``--format json`` writes."""
    from dosefind.simulations import Comparison
    from dosefind.simulations.scenarios import Scenario

    amounts = run.study.doses.amounts
    scenarios = [Scenario(s.true_prob_tox, name=s.name, target=run.study.target, true_prob_response=s.true_prob_eff,
                          dose_amounts=None if amounts is None else tuple(amounts)) for s in run.scenarios]
    return Comparison(results=dict(run.results), designs=[d.label for d in run.designs], scenarios=scenarios)


@click.command()
@click.option("--config", "config_path", required=True, type=click.Path(path_type=Path),
              help="Study file (docs/study-file.md): the file `dosefind run` reads.")
@click.option("--true-tox", multiple=True, help="A scenario (repeatable); replaces the study's scenarios.")
@click.option("--scenarios", "scenarios_csv", default=None,
              help="Long-format scenario CSV (scenario,dose,true_prob_tox); replaces the study's scenarios.")
@click.option("--n-trials", type=N_TRIALS, default=None,
              help="Override the study's n_trials (Monte Carlo only: designs computed exactly do not use it; "
                   "1 to 10^9).")
@click.option("--seed", type=int, default=None, help="Override the study's seed.")
@click.option("--method", type=click.Choice(["auto", "exact", "mc"]), default=None,
              help="Override the study's engine (mc: every design sees the same simulated patients).")
@click.option("--draws", type=int, default=None,
              help="Curves drawn by each prior scenario that draws curves (its draws = N; 1 to 20).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Processes (identical result for any N).")
@click.option("--progress/--no-progress", default=None,
              help="Progress lines on stderr (default: once a phase has run a few seconds; --progress: from the "
                   "start).")
@click.option("--quiet", "-q", is_flag=True, help="No progress and no warnings.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
def compare(config_path, true_tox, scenarios_csv, n_trials, seed, method, draws, workers, progress, quiet, fmt):
    """Compare a study's designs on its scenarios with the same simulated patients.

    Reads the study file of `dosefind run` (one parser, the same messages) and prints
    the comparison table instead of writing a report; the same file and seed give the
    same numbers as `dosefind run`.  A file in the older compare layout is refused
    with what each of its keys became.
    """
    import pandas as pd

    from dosefind.cli.progress import Progress
    from dosefind.runner import evaluate
    from dosefind.study import load_study

    _quiet(quiet)
    study = load_study(config_path).with_overrides(n_trials=n_trials, seed=seed, method=method, draws=draws)
    study = _override_scenarios(study, true_tox, scenarios_csv)
    with Progress(enabled=not quiet and progress is not False, only_slow=progress is None) as feedback:
        run = evaluate(study, progress=feedback, workers=workers)
    if not quiet:
        from dosefind.cli.run_commands import n_trials_note, prior_lines

        for line in prior_lines(run) + n_trials_note(run, n_trials):
            click.echo(line, err=True)
        for w in run.warnings:
            click.echo(f"Warning: {w}", err=True)
    result = _comparison(run)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
        return
    summary = result.to_frame()
    cols = ["scenario", "design", "pcs", "overdose_selection_pct", "overdose_patients_pct", "no_selection_pct",
            "n_mean", "dlt_total_mean"]
    phase12 = any(oc.efficacy is not None for oc in run.results.values())
    if phase12:   # scenarios with response rates: the OBD figures beside the MTD's
        cols[2:2] = ["pct_correct_obd", "utility_selected_mean"]
    sel = result.selection_frame()
    if fmt == "csv":
        click.echo(summary.merge(sel, on=["scenario", "design"]).to_csv(index=False), nl=False)
    elif fmt == "markdown":
        click.echo(_md_table(summary[cols[:2] + ["method"] + cols[2:]]))   # method: exact or mc, per row
        click.echo()
        click.echo(_md_table(sel))
        if phase12:
            click.echo()
            click.echo(_md_table(result.efficacy_frame()))
    else:
        from dosefind.reports.text import human_frame

        exact = {oc.method for oc in run.results.values()} == {"exact"}
        two = "{:.2f}".format   # fixed decimals: exact results have tiny values pandas would print as 1e-05
        with pd.option_context("display.width", 200, "display.max_columns", 30):
            click.echo(_engine_line(run))
            table = human_frame(_with_se(summary, cols), exact=exact)
            if phase12:   # both selections are shown: say which one "correct selection" is
                table = table.rename(columns={"Correct selection %": "Correct MTD %"})
            click.echo(table.to_string(index=False, float_format=two))
            if not exact:
                mixed = {oc.method for oc in run.results.values()} != {"mc"}
                click.echo("Monte Carlo standard errors in parentheses"
                           + ("; rows computed exactly have none (no Monte Carlo error)." if mixed else "."))
            click.echo()
            click.echo("selection % per dose:")
            sel = sel.rename(columns=lambda c: f"DL{c[5:]} %" if c.startswith("dose_") else
                             "No MTD %" if c == "none" else c)
            click.echo(human_frame(sel, exact=exact).to_string(index=False, float_format=two))
            if phase12:
                obd = result.efficacy_frame()
                obd = obd[["scenario", "design"] + [c for c in obd.columns if c.startswith("obd_")]].rename(
                    columns=lambda c: f"DL{c[9:]} %" if c.startswith("obd_dose_") else "No OBD %" if c == "obd_none"
                    else c)
                click.echo()
                click.echo("OBD selection % per dose (a phase I design's MTD taken as its OBD):")
                click.echo(human_frame(obd, exact=exact).to_string(index=False, float_format=two))
        for line in _decision_lines(run):
            click.echo()
            click.echo(textwrap.fill(line, width=100))


def _decision_lines(run) -> list[str]:
    """The report's decision summary, short: the criterion, the design ranked first, and
    the warnings (a design with no safety stop that overdoses when every dose is too toxic)."""
    from dosefind.reports.summary_text import decision_lines
    from dosefind.simulations.decision import decision_summary

    lines = decision_lines(decision_summary(run, run.study.criterion))
    return lines[:2] + [x for x in lines[2:] if x.startswith("Warning:") or x.startswith("No scenario with")]


def _with_se(summary, cols):
    """The summary columns, each Monte Carlo value followed by its standard error in
    parentheses (``62.20 (2.17)``); exact values alone (they have no Monte Carlo error)."""
    out = summary[cols].copy()
    mc = summary["method"] == "mc"
    if not mc.any():
        return out
    for c in cols[2:]:
        se = summary.get(f"{c}_se")
        if se is None:
            continue
        out[c] = [f"{v:.2f} ({e:.2f})" if m else f"{v:.2f}" for v, e, m in zip(summary[c], se, mc)]
    return out


def _engine_line(run) -> str:
    """What was computed: exact, or Monte Carlo with its trials and seed."""
    methods = {oc.method for oc in run.results.values()}
    st = run.study
    if methods == {"exact"}:
        return f"{st.title}: exact calculation"
    mc = f"Monte Carlo, {st.n_trials:,} simulated trials, seed {st.seed}"
    return f"{st.title}: " + (mc if methods == {"mc"} else f"exact where feasible, else {mc}")


def _reason_text(code: str) -> str:
    from dosefind.state import ReasonCode

    try:
        return f"{ReasonCode(code).text} ({code})"
    except ValueError:
        return code
