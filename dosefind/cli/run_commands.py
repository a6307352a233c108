"""``dosefind run`` and ``dosefind init``: parse, call :mod:`dosefind.runner`, print."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from dosefind.cli.options import N_TRIALS

DEFAULT_OUT = "dosefind-report"
#: Monte Carlo trials per design and scenario of `dosefind run --quick`.
QUICK_TRIALS = 200


@click.command()
@click.argument("study", required=False, type=click.Path(path_type=Path))
@click.option("--out", "-o", type=click.Path(path_type=Path), default=None,
              help=f"Output folder (default ./{DEFAULT_OUT}; with --format json, written only if given).")
@click.option("--force", is_flag=True,
              help="Replace an existing output folder, if dosefind wrote it (a folder holding other files is "
                   "never replaced).")
@click.option("--format", "fmt", type=click.Choice(["report", "json"]), default="report", show_default=True,
              help="json: print the full results to stdout (for pipelines).")
@click.option("--n-trials", type=N_TRIALS, default=None,
              help="Override the study's n_trials (Monte Carlo only: designs computed exactly do not use it; "
                   "1 to 10^9).")
@click.option("--seed", type=int, default=None, help="Override the study's seed.")
@click.option("--method", type=click.Choice(["auto", "exact", "mc"]), default=None,
              help="Override the study's engine: auto (exact where feasible), exact, or mc (Monte Carlo).")
@click.option("--draws", type=int, default=None,
              help="Curves drawn by each prior scenario that draws curves (its draws = N; 1 to 20).")
@click.option("--quick", is_flag=True,
              help=f"A quick look: Monte Carlo with {QUICK_TRIALS} trials per design and scenario (unless "
                   "--method/--n-trials say otherwise), and a prior fitted at run time with "
                   "fewer MCMC draws. The report says so; not for a protocol.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Processes for Monte Carlo simulation.")
@click.option("--quiet", "-q", is_flag=True, help="No progress, no warnings and no summary line.")
def run(study, out, force, fmt, n_trials, seed, method, draws, quick, workers, quiet):
    """Evaluate every design of a study file on every scenario and write the report.

    Without STUDY, runs the bundled CD7 CAR-T phase I study.  Writes OUT/report.html,
    OUT/protocol.md, OUT/tables/, OUT/figures/ and OUT/manifest.json.  Before simulating,
    the output is checked (an existing OUT is replaced only with --force, and only if
    dosefind wrote it; OUT must not be the current folder or hold the study file) and
    locked against a second run into the same OUT.  Progress goes to stderr: a bar on a
    terminal, plain lines otherwise.  `dosefind init study.toml` writes a template.
    """
    import contextlib
    import warnings

    from dosefind.cli.progress import Progress
    from dosefind.runner import evaluate, output_target, prepare_report_imports, write_report
    from dosefind.study import default_study, load_study

    if quiet:
        warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    spec = load_study(study) if study is not None else default_study()
    if quick:
        method = method or "mc"
        n_trials = n_trials or QUICK_TRIALS
    spec = spec.with_overrides(n_trials=n_trials, seed=seed, method=method, draws=draws)
    load_seconds = time.perf_counter() - t0
    write = fmt == "report" or out is not None
    out = Path(DEFAULT_OUT) if out is None else out

    def note(msg):
        if not quiet:
            click.echo(f"Note: {msg}", err=True)

    target = output_target(out, force=force, study=spec, note=note) if write else contextlib.nullcontext()
    with target as locked, Progress(enabled=not quiet) as progress:
        result = evaluate(spec, progress=progress, workers=workers, quick=quick,
                          while_waiting=prepare_report_imports if write else None)
        result.timings = {"load_study": load_seconds, **result.timings}
        path = write_report(result, out, force=force, target=locked, progress=progress) if write else None
    elapsed = time.perf_counter() - t0

    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=1))
    if not quiet:
        for line in prior_lines(result) + n_trials_note(result, n_trials):
            click.echo(line, err=True)
        for w in result.warnings:
            click.echo(f"Warning: {w}", err=True)
        methods = {oc.method for oc in result.results.values()}
        how = ("exact calculation" if methods == {"exact"}
               else f"{spec.n_trials:,} simulated trials each" if methods == {"mc"}
               else f"exact where feasible, else {spec.n_trials:,} simulated trials")
        what = f"{len(spec.designs)} designs x {len(result.scenarios)} scenarios, {how}, seed {spec.seed}"
        where = f"report: {path / 'report.html'}" if path is not None else "results printed as JSON"
        click.echo(f"Done in {elapsed:.1f} s ({what}); {where}", err=fmt == "json")


def n_trials_note(result, n_trials) -> list[str]:
    """Say so when ``--n-trials`` was given but every result was computed exactly (the
    number of trials then changes nothing)."""
    if n_trials is None or {oc.method for oc in result.results.values()} != {"exact"}:
        return []
    return [f"Note: --n-trials {n_trials:,} changed nothing: every design was computed exactly "
            f"(method {result.study.method}); use --method mc for Monte Carlo"]


def prior_lines(result) -> list[str]:
    """One line per prior fitted for a scenario: its convergence diagnostics, on the
    terminal as well as in the report (a failed check also comes as a warning)."""
    out = []
    for name, info in result.prior.items():
        d = info.get("diagnostics") if isinstance(info, dict) else None
        if not d or d.get("r_hat_max") is None:
            continue
        out.append(f"Prior fit for scenario {name!r}: R-hat max {d['r_hat_max']:.3f}, bulk ESS min "
                   f"{d['ess_bulk_min']:.0f}, tail ESS min {d['ess_tail_min']:.0f}, "
                   f"{d['divergences']} divergent transitions ({info.get('source', '')})")
    return out


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace an existing file.")
def init(path, force):
    """Write a commented study-file template to PATH, to edit and run with `dosefind run PATH`."""
    from dosefind.study import TEMPLATE

    if path.exists() and not force:
        raise ValueError(f"{path} already exists; use --force to replace it")
    if path.exists() and path.is_dir():
        raise ValueError(f"{path} is a folder; give a file name such as study.toml")
    if not path.resolve().parent.exists():
        raise FileNotFoundError(f"folder does not exist: {path.resolve().parent}")
    path.write_text(TEMPLATE, encoding="utf-8")
    click.echo(f"Wrote {path}; edit it, then run: dosefind run {path}")
