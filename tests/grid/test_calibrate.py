"""calibrate's ranking and the Lee & Cheung (2011) least informative prior variance.

Lee SM, Cheung YK. Calibration of prior variance in the Bayesian continual reassessment
method. Stat Med 2011;30:2081-2089.  The paper's tables were not available to us (see
docs/validation.md, Issue 15), so the checks are exact calculations of its definitions:
the prior MTD distribution pi_k(sigma) = Phi(b_k/sigma) - Phi(b_{k-1}/sigma), with b_k
where the plug-in CRM switches from dose k to k+1, and sigma_LI closest to uniform.
"""

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from dosefind.designs.prior_variance import least_informative_variance, prior_mtd_distribution, switch_points
from dosefind.designs.skeleton import getprior
from dosefind.grid import load_grid, read_results, run_grid
from dosefind.grid.calibrate import rank

ROOT = Path(__file__).resolve().parents[2]


def test_switch_points_are_where_the_crm_changes_its_recommendation():
    # Independent check through the design itself: with beta fixed at b_k +/- eps the
    # plug-in recommendation (closest to target) is dose k / k+1.
    skel = getprior(0.05, 0.25, 3, 5)
    b = switch_points(skel, 0.25)
    for k, bk in enumerate(b):
        for eps, expected in ((-1e-6, k), (1e-6, k + 1)):
            rates = np.asarray(skel) ** math.exp(bk + eps)
            assert int(np.argmin(np.abs(rates - 0.25))) == expected
    # and at beta = 0 (the prior mean) the recommendation is the prior MTD, level 3
    assert b[1] < 0 < b[2]


def test_least_informative_sigma_minimises_the_distance_to_uniform():
    skel = getprior(0.05, 0.25, 3, 5)
    var = least_informative_variance(skel, 0.25)
    b = np.array(switch_points(skel, 0.25))

    def dist(sigma):
        pi = np.diff(np.concatenate([[0], norm.cdf(b / sigma), [1]]))
        return np.abs(pi - 0.2).max()

    sigmas = np.linspace(0.05, 5, 20001)
    brute = sigmas[np.argmin([dist(s) for s in sigmas])]
    assert math.sqrt(var) == pytest.approx(brute, abs=5e-4)
    pi = prior_mtd_distribution(skel, 0.25, var)
    assert sum(pi) == pytest.approx(1)
    # dfcrm's default 1.34 is far from least informative here: it piles prior mass on the
    # extreme doses (Lee & Cheung 2011's point about "vague" priors).
    default = prior_mtd_distribution(skel, 0.25, 1.34)
    assert default[0] + default[-1] > 0.6 > pi[0] + pi[-1]


def test_variance_criterion_matches_the_uniform_variance():
    # criterion="variance" (Zhang, Braun & Taylor 2013; dfped::sigmaLI): Var(pi) = (K^2-1)/12.
    skel = (0.10, 0.21, 0.33, 0.55, 0.76)  # dfped's sigmaLI example skeleton
    var = least_informative_variance(skel, 0.25, criterion="variance")
    pi = np.array(prior_mtd_distribution(skel, 0.25, var))
    k = np.arange(1, 6)
    assert (pi * (k - (k * pi).sum()) ** 2).sum() == pytest.approx((25 - 1) / 12, abs=1e-6)


def test_least_informative_errors():
    with pytest.raises(ValueError, match="criterion must be one of max, variance"):
        least_informative_variance((0.1, 0.2), 0.25, criterion="kl")
    with pytest.raises(ValueError, match="skeleton must have at least 2 doses"):
        least_informative_variance((0.25,), 0.25)


def test_ranking_is_the_mean_over_scenarios(tiny_grid_file, tmp_path):
    grid = load_grid(tiny_grid_file)
    run_grid(grid, tmp_path / "out", scheduler="serial")
    df = read_results(tmp_path / "out")
    table = rank(df, grid.param_names())
    # independent: mean PCS per (design, parameter values) straight from the cells
    crm = df[df.design == "CRM"].groupby(["CRM.skeleton.halfwidth", "study.cohort_size"])["pcs"].mean()
    for _, row in table[table.design == "CRM"].iterrows():
        assert row["score"] == crm[(row["CRM.skeleton.halfwidth"], row["study.cohort_size"])]
    assert list(table["score"]) == sorted(table["score"], reverse=True)
    # the BOIN does not depend on the CRM's half-width: one row per cohort size
    assert len(table[table.design == "BOIN"]) == 2
    assert table[table.design == "BOIN"]["CRM.skeleton.halfwidth"].isna().all()

    w = rank(df, grid.param_names(), objective="weighted", weights={"pcs": 1, "overdose_selection_pct": -0.5})
    top = w.iloc[0]
    assert top["score"] == pytest.approx(top["pcs"] - 0.5 * top["overdose_selection_pct"])
    with pytest.raises(ValueError, match="phase I/II designs only"):
        rank(df, grid.param_names(), objective="weighted", weights={"obd_pct": 1})
    with pytest.raises(ValueError, match="unknown metric"):
        rank(df, grid.param_names(), objective="weighted", weights={"pcss": 1})


def test_calibrate_command_writes_table_and_plot(tiny_grid_file, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "dosefind.cli", "calibrate", str(tiny_grid_file), "--out", str(out),
                        "--scheduler", "serial", "-q"], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    table = pd.read_csv(out / "calibration.csv")
    assert (out / "calibration.png").stat().st_size > 1000
    assert r.stdout.splitlines()[1].split()[:2] == ["1", table.iloc[0]["design"]]
