"""Grids with prior-drawn scenarios, calendar-time (accrual-rate) parameters, the output
lock, and grid files given to `dosefind run` (issue 15).

Golden results come from the library called directly (draw_scenarios, simulate,
simulate_calendar with the cell's seed), never from the grid itself.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dosefind.grid import load_grid, parse_grid, read_results, run_grid
from dosefind.grid.tasks import _above, design_of
from dosefind.simulations import simulate
from dosefind.simulations.timing import calendar_settings

from grid_files import tiny_text

ROOT = Path(__file__).resolve().parents[2]
VOLATILE = ("elapsed_s", "run_id")


def _stable(df):
    return df[[c for c in df.columns if c not in VOLATILE]].reset_index(drop=True)


# ------------------------------------------------------------------ prior-drawn scenarios
@pytest.fixture
def fit_file(tmp_path):
    """A dose-response fit file whose posterior draws of prob_tox are given (a stand-in for
    an MCMC fit: what the grid takes from a fit is its draws, through draw_scenarios)."""
    import arviz as az

    from dosefind.priors.fit import PriorFit

    rng = np.random.default_rng(3)
    draws = np.sort(rng.uniform(0.02, 0.6, size=(2, 40, 4)), axis=-1)
    tree = az.from_dict({"posterior": {"prob_tox": draws}})
    fit = PriorFit(tree, {"kind": "dose_response", "endpoint": "crs_grade3", "doses": [1.0, 2.0, 4.0, 8.0]})
    return fit.save(tmp_path / "fit.nc")


def _with_prior_scenarios(text: str, draws: int) -> str:
    extra = f'\n[[scenarios]]\nname = "prior"\nprior = "fit.nc"\ndraws = {draws}\nseed = 5\n'
    return text.replace("[grid]", extra + "\n[grid]")


def test_prior_drawn_scenarios_are_scenarios_of_every_parameter_set(tmp_path, fit_file):
    from dosefind.priors import draw_scenarios, load_fit

    path = tmp_path / "grid.toml"
    path.write_text(_with_prior_scenarios(tiny_text(n_trials=200, block_size=100, halfwidths="[0.05]"), 3))
    grid = load_grid(path)
    # independent: the curves draw_scenarios gives for this fit, seed and count
    df = draw_scenarios(load_fit(fit_file), 3, 5)
    expected = {f"prior #{k}": tuple(g.sort_values("dose")["true_prob_tox"]) for k, g in df.groupby("scenario")}
    assert grid.scenarios == ("A", "B", "prior #1", "prior #2", "prior #3")
    assert grid.n_cells == 2 * 2 * 5      # 2 cohort sizes x 2 designs x 5 scenarios
    for cell in grid.cells:
        if cell.scenario in expected:
            assert cell.true_prob_tox == pytest.approx(expected[cell.scenario], abs=0, rel=0)
    run_grid(grid, tmp_path / "out", scheduler="serial")
    res = read_results(tmp_path / "out")
    from dosefind.simulations.monte_carlo import simulate_mc
    from dosefind.simulations.results import OperatingCharacteristics

    for cell in [c for c in grid.cells if c.scenario.startswith("prior")][:3]:
        design = design_of(cell)
        tally = simulate_mc(design, cell.true_prob_tox, cell.n_trials, cell.seed, _above(cell),
                            chunk_size=cell.block_size)
        oc = OperatingCharacteristics.from_tally(tally, design=design, true_prob_tox=cell.true_prob_tox,
                                                 method="mc", n_trials=cell.n_trials, seed=cell.seed,
                                                 target=cell.target)
        row = res.iloc[cell.index]
        assert row["scenario"] == cell.scenario and row["pcs"] == oc.pcs
        assert list(row["selection_pct"]) == list(oc.values["selection_pct"])


def test_prior_scenario_errors_name_the_scenario(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text(_with_prior_scenarios(tiny_text(), 3))   # fit.nc does not exist
    with pytest.raises(ValueError, match=r"scenarios\[3\] \(prior\)\.prior.*not found"):
        load_grid(path)


# ------------------------------------------------------------------ calendar time (accrual rate)
def _calendar_text(block_size=10_000, n_trials=300, rates="[1, 4]"):
    text = tiny_text(n_trials=n_trials, block_size=block_size, halfwidths="[0.05]")
    text = text.replace("[grid]", "[trial]\ndlt_window = 28\npatients_per_month = 2\n\n[grid]")
    head = text[:text.index("[[grid.parameters]]")]
    return head + f'[[grid.parameters]]\nname = "trial.patients_per_month"\nvalues = {rates}\n'


def test_accrual_rate_cells_equal_simulate_in_calendar_time(tmp_path):
    # One block of the library's chunk size: each cell is simulate(..., seed=cell seed,
    # accrual=...) of the calendar engine exactly, at the cell's own accrual rate.
    grid = parse_grid(_calendar_text())
    assert all(c.calendar and c.method == "mc" for c in grid.cells)
    run_grid(grid, tmp_path / "out", scheduler="serial")
    res = read_results(tmp_path / "out")
    for cell in grid.cells:
        rate = dict(cell.params)["trial.patients_per_month"]
        kw = calendar_settings({"dlt_window": 28, "patients_per_month": rate})
        oc = simulate(design_of(cell), cell.true_prob_tox, n_trials=cell.n_trials, seed=cell.seed, method="mc",
                      target=cell.target, **kw)
        row = res.iloc[cell.index]
        assert row["pcs"] == oc.pcs
        assert list(row["patients_mean"]) == list(oc.values["patients_mean"])
        assert row["duration_mean"] == oc.calendar_rows()["duration_mean"][0]
        assert json.loads(row["calendar"])["duration_mean"][0] == row["duration_mean"]
    # slower accrual, longer trials: 1 patient a month against 4
    slow = res[res["trial.patients_per_month"] == 1].set_index(["design", "scenario"])["duration_mean"]
    fast = res[res["trial.patients_per_month"] == 4].set_index(["design", "scenario"])["duration_mean"]
    assert (slow > 2 * fast).all()


def test_calendar_cells_in_blocks_equal_the_calendar_engine(tmp_path):
    from dosefind.simulations import calendar_setup
    from dosefind.simulations.calendar import simulate_calendar

    grid = parse_grid(_calendar_text(block_size=100, n_trials=250, rates="[3]"))
    assert grid.cells[0].n_blocks == 3
    run_grid(grid, tmp_path / "out", scheduler="serial")
    res = read_results(tmp_path / "out")
    cell = grid.cells[0]
    design = design_of(cell)
    setup = calendar_setup(design, **calendar_settings({"dlt_window": 28, "patients_per_month": 3}))
    tally, arrays = simulate_calendar(design, setup, cell.true_prob_tox, cell.n_trials, cell.seed, _above(cell),
                                      chunk_size=100)
    from dosefind.simulations.results import OperatingCharacteristics

    oc = OperatingCharacteristics.from_tally(tally, design=design, true_prob_tox=cell.true_prob_tox, method="mc",
                                             n_trials=cell.n_trials, seed=cell.seed, target=cell.target,
                                             calendar=arrays, setup=setup.to_dict())
    assert list(res.iloc[0]["selection_pct"]) == list(oc.values["selection_pct"])
    assert res.iloc[0]["duration_mean"] == oc.calendar_rows()["duration_mean"][0]


def test_trial_parameter_errors():
    text = _calendar_text()
    with pytest.raises(ValueError, match=r"unknown parameter 'trial.patients_per_mont'.*did you mean "
                                         r"'patients_per_month'"):
        parse_grid(text.replace('"trial.patients_per_month"', '"trial.patients_per_mont"'))
    no_trial = tiny_text()
    no_trial = no_trial[:no_trial.index("[[grid.parameters]]")] + \
        '[[grid.parameters]]\nname = "trial.patients_per_month"\nvalues = [1, 2]\n'
    with pytest.raises(ValueError, match=r"needs a \[trial\] table"):
        parse_grid(no_trial)
    with pytest.raises(ValueError, match=r"grid row 2: trial.patients_per_month=-1\).*patients_per_month must be "
                                         r"a positive number"):
        parse_grid(text.replace("values = [1, 4]", "values = [1, -1]"))


# ------------------------------------------------------------------ one run per folder
def test_a_held_lock_refuses_a_second_run_and_writes_nothing(tiny_grid_file, tmp_path):
    from dosefind.reports.output import OutputLock

    out = tmp_path / "out"
    grid = load_grid(tiny_grid_file)
    with OutputLock(out, what="this grid folder") as lock:
        with pytest.raises(ValueError, match=rf"another dosefind run \(pid {os.getpid()}.*\) is writing this "
                                             rf"grid folder"):
            run_grid(grid, out, scheduler="serial")
        assert lock.path.exists()
    assert not out.exists() and not lock.path.exists()
    run_grid(grid, out, scheduler="serial")                  # released: the run goes ahead
    assert not lock.path.exists()


def test_concurrent_runs_into_one_folder(tmp_path):
    # A real first process (the CLI) writes cells; this process starts a second run into the
    # same folder with --resume while it does: refused at once, naming the first's pid, and
    # nothing of the first run is disturbed; the first finishes alone and equals a fresh run.
    grid_file = tmp_path / "grid.toml"
    grid_file.write_text(tiny_text(n_trials=4000, block_size=1000, halfwidths="[0.03, 0.04, 0.05, 0.06, 0.07, 0.08]"))
    grid = load_grid(grid_file)
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    cmd = [sys.executable, "-m", "dosefind.cli", "grid", str(grid_file), "--out", str(out), "--scheduler", "serial",
           "-q"]
    first = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and first.poll() is None:
        if len(list((out / "cells").glob("cell-*.parquet"))) >= 1:
            break
        time.sleep(0.01)
    try:
        with pytest.raises(ValueError, match=rf"another dosefind run \(pid {first.pid}\b.*is writing this grid folder"):
            run_grid(grid, out, scheduler="serial", resume=True)
        assert first.poll() is None, "the first run ended before the second was refused; make the grid larger"
    finally:
        assert first.wait(timeout=300) == 0, first.stderr.read()
    df = read_results(out)
    assert len(df) == grid.n_cells and len(set(df["run_id"])) == 1
    run_grid(grid, tmp_path / "fresh", scheduler="serial")
    pd.testing.assert_frame_equal(_stable(df), _stable(read_results(tmp_path / "fresh")), check_exact=True)


# ------------------------------------------------------------------ `dosefind run grid.toml`
def test_run_evaluates_a_grid_file_as_written_and_says_so(tiny_grid_file):
    from click.testing import CliRunner

    from dosefind.cli import main

    r = CliRunner().invoke(main, ["run", str(tiny_grid_file), "--format", "json", "--n-trials", "50"])
    assert r.exit_code == 0, r.output
    doc, _ = json.JSONDecoder().raw_decode(r.output[r.output.index("{"):])   # stderr lines follow
    assert any("has a [grid] table" in w and "dosefind grid" in w for w in doc["warnings"])
    # the study as written: the CRM's half-width 0.05 and its least informative variance
    from dosefind.designs.prior_variance import least_informative_variance
    from dosefind.designs.skeleton import getprior

    crm = next(d for d in doc["designs"] if d["label"] == "CRM")
    assert crm["params"]["prior_var"] == pytest.approx(least_informative_variance(getprior(0.05, 0.25, 2, 4), 0.25))


def test_least_informative_prior_variance_in_a_plain_study_file():
    # sigma_LI^2 of the design's own skeleton (getprior(0.05, 0.25, 2, 4)), resolved by the
    # study parser; checked against least_informative_variance called directly.
    from dosefind.designs.prior_variance import least_informative_variance
    from dosefind.designs.skeleton import getprior
    from dosefind.study import parse_study

    text = tiny_text()
    study = parse_study(text[:text.index("[grid]")])
    crm = next(s.design for s in study.designs if s.label == "CRM")
    assert crm.prior_var == least_informative_variance(getprior(0.05, 0.25, 2, 4), 0.25)
    bad = text[:text.index("[grid]")].replace('skeleton = { halfwidth = 0.05, prior_mtd = 2 }',
                                              'skeleton = [0.1, 0.2, 0.3, 0.4]\nmodel = "logistic"\nintercept = -2')
    with pytest.raises(ValueError, match=r"designs\[1\] \(CRM\)\.prior_var: \"least_informative\": intercept must"):
        parse_study(bad)
