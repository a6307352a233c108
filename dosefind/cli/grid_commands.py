"""``dosefind grid`` and ``dosefind calibrate``: parse, call :mod:`dosefind.grid`, print."""

from __future__ import annotations

import sys
from pathlib import Path

import click

DEFAULT_OUT = "dosefind-grid"


def _fail(exc: BaseException):
    from dosefind.cli import UserError, _one_line

    raise UserError(_one_line(exc)) from None


def _duration(s) -> str:
    if s is None:
        return "?"
    s = float(s)
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


def _printer(quiet: bool, every: float = 1.0):
    import time

    last = [0.0]

    def show(p):
        if quiet:
            return
        now = time.monotonic()
        if p.last_cell is not None and p.done < p.total and now - last[0] < every:
            return
        last[0] = now
        if p.last_cell is None:
            where = f"scheduler {p.scheduler}" + (f", dashboard {p.dashboard}" if p.dashboard else "")
            skipped = f", {p.skipped} already finished (kept)" if p.skipped else ""
            click.echo(f"grid: {p.total} cells{skipped}; {where}", err=True)
            return
        rate = f"{p.trials_per_s:,.0f} trials/s" if p.trials_per_s else "- trials/s"
        click.echo(f"  cells {p.done}/{p.total}  {rate}  ETA {_duration(p.eta_s)}", err=True)
    return show


def _run(grid, out, scheduler, workers, resume, quiet, timeout):
    from dosefind.grid import run_grid

    try:
        return run_grid(grid, out, scheduler=scheduler, resume=resume, n_workers=workers,
                        progress=_printer(quiet), timeout=timeout)
    except (ImportError, ConnectionError) as exc:
        _fail(exc)


_common = [
    click.option("--out", "-o", type=click.Path(path_type=Path), default=Path(DEFAULT_OUT), show_default=True,
                 help="Output folder: one Parquet file per finished cell, results.parquet, doses.parquet."),
    click.option("--scheduler", default="local", show_default=True,
                 help="serial (one process, no Dask), local (a Dask LocalCluster) or a scheduler address "
                      "such as tcp://host:8786."),
    click.option("--workers", type=int, default=None, help="Worker processes of the LocalCluster (default: all cores)."),
    click.option("--resume", is_flag=True, help="Finish the grid already in --out (same grid only; finished "
                                                "cells are kept, never recomputed)."),
    click.option("--timeout", type=float, default=5.0, show_default=True,
                 help="Seconds to wait for a scheduler address to answer."),
    click.option("--quiet", "-q", is_flag=True, help="No progress lines."),
]


def _options(f):
    for opt in reversed(_common):
        f = opt(f)
    return f


@click.command()
@click.argument("grid_file", type=click.Path(path_type=Path))
@_options
@click.option("--dry-run", is_flag=True, help="Print the cell count and estimated cost; simulate nothing else.")
def grid(grid_file, out, scheduler, workers, resume, timeout, quiet, dry_run):
    """Evaluate every cell (parameter set x design x scenario) of a grid file.

    A grid file is a study file plus a [grid] table (docs/grid.md).  Each finished cell is
    written to OUT/cells/ as it completes; an interrupted grid continues with --resume.

    Example: dosefind grid grid.toml --out grid/ --scheduler serial
    """
    from dosefind.grid import estimate_cost, load_grid

    g = load_grid(grid_file)
    if dry_run:
        c = estimate_cost(g)
        click.echo(f"{c['cells']} cells = {c['parameter_sets']} parameter sets x {c['designs']} designs x "
                   f"{c['scenarios']} scenarios; {c['tasks']} tasks, {c['trials']:,} simulated trials")
        click.echo(f"estimated cost: {_duration(c['cpu_seconds'])} of CPU "
                   f"(about {_duration(c['cpu_seconds'] / max(1, workers or _cores()))} on "
                   f"{workers or _cores()} workers), from a short probe per design")
        return
    r = _run(g, out, scheduler, workers, resume, quiet, timeout)
    if not quiet:
        click.echo(f"wrote {r.out}/results.parquet ({g.n_cells} cells; {len(r.computed)} computed now, "
                   f"{len(r.skipped)} kept) in {_duration(r.elapsed_s)}", err=True)


def _cores() -> int:
    import os

    return os.cpu_count() or 1


@click.command()
@click.argument("grid_file", type=click.Path(path_type=Path))
@_options
@click.option("--objective", type=click.Choice(["pcs", "weighted"]), default="pcs", show_default=True,
              help="pcs: mean percentage of correct selection over the scenarios; weighted: see --weight.")
@click.option("--weight", "weights", multiple=True, metavar="METRIC=W",
              help="Weight of a metric's scenario mean in the weighted objective, e.g. pcs=1 "
                   "overdose_selection_pct=-0.5 (repeatable).")
@click.option("--top", type=int, default=10, show_default=True, help="Rows of the ranking to print.")
def calibrate(grid_file, out, scheduler, workers, resume, timeout, quiet, objective, weights, top):
    """Rank the parameter sets of a grid by an objective; write a table and a plot.

    Runs the grid into OUT first unless OUT already holds all its cells, then writes
    OUT/calibration.csv and OUT/calibration.png.  For the Lee & Cheung (2011) joint
    calibration, grid over CRM.skeleton.halfwidth with prior_var = "least_informative".

    Example: dosefind calibrate grid.toml --out grid/ --objective pcs
    """
    from dosefind.grid import load_grid, read_results
    from dosefind.grid.calibrate import parse_weights, rank
    from dosefind.grid.store import check_out

    g = load_grid(grid_file)
    w = parse_weights(weights)
    if objective == "pcs" and w:
        _fail(ValueError("--weight applies to --objective weighted"))
    state = check_out(out, g, True)
    done = 0
    if state == "resume":
        done = len(list((Path(out) / "cells").glob("cell-*.parquet")))
    if done < g.n_cells:
        _run(g, out, scheduler, workers, state == "resume", quiet, timeout)
    table = rank(read_results(out), g.param_names(), objective=objective, weights=w or None)
    table.to_csv(Path(out) / "calibration.csv", index=False)
    from dosefind.reports.grid_figures import calibration_figure

    label = "mean PCS (%)" if objective == "pcs" else "weighted score"
    fig = calibration_figure(table, g.param_names(), score_label=label)
    fig.savefig(Path(out) / "calibration.png")
    shown = table.head(top)
    cols = ["rank", "design", *g.param_names(), "score", "pcs", "worst_pcs", "overdose_selection_pct"]
    click.echo(shown[list(dict.fromkeys(cols))].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    click.echo(f"wrote {out}/calibration.csv and {out}/calibration.png", err=True)
