"""Grid cells are the library's simulations, whatever the scheduler (issue 15 proof).

Golden results come from dosefind.simulations (an independent call of the engine with
the cell's seed), never from the grid itself.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dosefind.grid import load_grid, parse_grid, read_results, run_grid
from dosefind.grid.spec import cell_seed
from dosefind.grid.tasks import _above, design_of
from dosefind.simulations import simulate
from dosefind.simulations.monte_carlo import simulate_mc
from dosefind.simulations.results import OperatingCharacteristics

from grid_files import tiny_text

ROOT = Path(__file__).resolve().parents[2]
VOLATILE = ("elapsed_s", "run_id")


def _stable(df):
    return df[[c for c in df.columns if c not in VOLATILE]].reset_index(drop=True)


def test_each_cell_equals_the_engine_with_the_cells_seed(tiny_grid_file, tmp_path):
    grid = load_grid(tiny_grid_file)
    run_grid(grid, tmp_path / "out", scheduler="serial")
    df = read_results(tmp_path / "out")
    assert list(df["cell"]) == list(range(1, grid.n_cells + 1))
    for cell in grid.cells[:6]:
        design = design_of(cell)
        tally = simulate_mc(design, cell.true_prob_tox, cell.n_trials, cell.seed, _above(cell),
                            chunk_size=cell.block_size)
        oc = OperatingCharacteristics.from_tally(tally, design=design, true_prob_tox=cell.true_prob_tox, method="mc",
                                                 n_trials=cell.n_trials, seed=cell.seed, target=cell.target)
        row = df.iloc[cell.index]
        assert row["pcs"] == oc.pcs and row["n_mean"] == oc.n_mean
        assert list(row["selection_pct"]) == list(oc.values["selection_pct"])
        assert row["seed"] == cell.seed


def test_block_size_10000_equals_simulate(tmp_path):
    # One block of the library's chunk size: the cell is simulate(seed=cell seed) exactly.
    grid = parse_grid(tiny_text(n_trials=300, block_size=10_000, halfwidths="[0.05]"))
    run_grid(grid, tmp_path / "out", scheduler="serial")
    df = read_results(tmp_path / "out")
    cell = grid.cells[0]
    oc = simulate(design_of(cell), cell.true_prob_tox, n_trials=300, seed=cell.seed, method="mc", target=0.25)
    assert df.iloc[0]["pcs"] == oc.pcs
    assert list(df.iloc[0]["patients_mean"]) == list(oc.values["patients_mean"])


def test_seeds_come_from_the_cell_not_its_position():
    a = parse_grid(tiny_text(halfwidths="[0.04, 0.06]"))
    b = parse_grid(tiny_text(halfwidths="[0.06, 0.03, 0.04]"))
    seeds_a = {(c.params, c.design, c.scenario): c.seed for c in a.cells}
    seeds_b = {(c.params, c.design, c.scenario): c.seed for c in b.cells}
    shared = set(seeds_a) & set(seeds_b)
    assert len(shared) == len(seeds_a)
    assert all(seeds_a[k] == seeds_b[k] for k in shared)
    # and different cells get different streams
    assert len(set(seeds_a.values())) == len({c.key for c in a.cells})
    # the seed is the SeedSequence child of the study seed keyed on the content hash
    assert cell_seed(7, {"x": 1}) != cell_seed(8, {"x": 1}) != cell_seed(7, {"x": 2})


def test_local_cluster_equals_serial_bit_for_bit(tiny_grid_file, tmp_path):
    pytest.importorskip("distributed")
    grid = load_grid(tiny_grid_file)
    run_grid(grid, tmp_path / "serial", scheduler="serial")
    t = time.perf_counter()
    run = run_grid(grid, tmp_path / "dask", scheduler="local", n_workers=2)
    assert time.perf_counter() - t < 120
    assert run.dashboard is None or run.dashboard.startswith("http")
    pd.testing.assert_frame_equal(_stable(read_results(tmp_path / "serial")), _stable(read_results(tmp_path / "dask")),
                                  check_exact=True)


def _cli(*args, env_extra=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    return [sys.executable, "-m", "dosefind.cli", *args], env


def test_killed_run_resumes_without_recomputing(tmp_path):
    # 24 CRM/BOIN cells of 2000 trials: long enough to kill midway.
    grid_file = tmp_path / "grid.toml"
    grid_file.write_text(tiny_text(n_trials=2000, block_size=500, halfwidths="[0.03, 0.04, 0.05, 0.06, 0.07, 0.08]"))
    out = tmp_path / "out"
    cmd, env = _cli("grid", str(grid_file), "--out", str(out), "--scheduler", "serial", "-q")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    cells = out / "cells"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if cells.is_dir() and len(list(cells.glob("cell-*.parquet"))) >= 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, f"the grid finished or failed before it could be killed: {proc.stderr.read()!r}"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    before = {p.name: (p.stat().st_mtime_ns, p.stat().st_ino) for p in cells.glob("cell-*.parquet")}
    grid = load_grid(grid_file)
    assert 3 <= len(before) < grid.n_cells
    first_run = set(read_results(out)["run_id"])
    assert len(first_run) == 1

    # Without --resume the folder is refused; with it the grid finishes.
    cmd, env = _cli("grid", str(grid_file), "--out", str(out), "--scheduler", "serial", "-q")
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "--resume" in r.stderr
    r = subprocess.run(cmd + ["--resume"], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr

    after = {p.name: (p.stat().st_mtime_ns, p.stat().st_ino) for p in cells.glob("cell-*.parquet")}
    assert len(after) == grid.n_cells                                  # none missing
    assert all(after[name] == before[name] for name in before)          # none rewritten
    df = read_results(out)
    old = df[df["cell"].isin([int(n[5:11]) for n in before])]
    assert set(old["run_id"]) == first_run                              # computed by the killed run
    assert set(df["run_id"]) - first_run                                 # the rest by the resumed one
    assert not list(cells.glob(".*.tmp"))
    fresh = tmp_path / "fresh"
    run_grid(grid, fresh, scheduler="serial")
    pd.testing.assert_frame_equal(_stable(df), _stable(read_results(fresh)), check_exact=True)
    info = json.loads((out / "grid.json").read_text())
    assert len(info["runs"]) == 2


def test_outputs_one_row_per_cell_and_a_per_dose_table(tiny_grid_file, tmp_path):
    grid = load_grid(tiny_grid_file)
    run_grid(grid, tmp_path / "out", scheduler="serial")
    res = pd.read_parquet(tmp_path / "out" / "results.parquet")
    doses = pd.read_parquet(tmp_path / "out" / "doses.parquet")
    assert len(res) == grid.n_cells and len(doses) == 4 * grid.n_cells
    first = doses[doses["cell"] == 1].sort_values("level")
    assert np.allclose(first["selection_pct"], res.iloc[0]["selection_pct"])
    # every selection table sums to 100% with "no dose"
    totals = res["selection_pct"].apply(sum) + res["no_selection_pct"]
    assert np.allclose(totals, 100)


def test_exact_cells_equal_simulate_exact(tmp_path):
    # method = "auto": BOIN's small state space is evaluated exactly, as simulate() does.
    text = tiny_text(halfwidths="[0.05]").replace('method = "mc"', 'method = "auto"')
    grid = parse_grid(text.replace("values = [1, 3]", "values = [3]"))
    run_grid(grid, tmp_path / "out", scheduler="serial")
    df = read_results(tmp_path / "out")
    for cell in grid.cells:
        oc = simulate(design_of(cell), cell.true_prob_tox, method="auto", target=0.25)
        row = df.iloc[cell.index]
        assert row["method"] == oc.method
        assert row["pcs"] == oc.pcs
        assert list(row["selection_pct"]) == list(oc.values["selection_pct"])


def test_auto_cells_too_large_for_exact_fall_back_to_monte_carlo_blocks(tmp_path, monkeypatch):
    # With the auto cap forced down, every "auto" cell falls back to Monte Carlo, run as
    # (cell, block) tasks: each cell must equal the engine with its own seed and blocks.
    import dosefind.simulations as sims

    monkeypatch.setattr(sims, "AUTO_MAX_STATES", 3)
    monkeypatch.setattr("dosefind.simulations.exact.DEFAULT_MAX_STATES", 3)
    grid = parse_grid(tiny_text(halfwidths="[0.05]").replace('method = "mc"', 'method = "auto"'))
    run_grid(grid, tmp_path / "auto", scheduler="serial")
    df = read_results(tmp_path / "auto")
    assert set(df["method"]) == {"mc"}
    for cell in grid.cells:
        design = design_of(cell)
        tally = simulate_mc(design, cell.true_prob_tox, cell.n_trials, cell.seed, _above(cell),
                            chunk_size=cell.block_size)
        oc = OperatingCharacteristics.from_tally(tally, design=design, true_prob_tox=cell.true_prob_tox, method="mc",
                                                 n_trials=cell.n_trials, seed=cell.seed, target=cell.target)
        row = df.iloc[cell.index]
        assert row["pcs"] == oc.pcs and list(row["selection_pct"]) == list(oc.values["selection_pct"])
