"""Prior sensitivity and predictive checks (issue 13).

The issue's independent review of the crs_grade3 dose-response prior (doses 5e5-8e6/kg)
found the 95% upper bound at 4e6/kg to be 0.85 under tau ~ HN(1), 0.58 under HN(0.5) and
0.44 under HN(0.25). Our refits must reproduce the direction (narrower with a tighter
tau prior) and the size: each bound within 0.05 + 3 MCSE of the quoted value. 0.05 covers
the review's own Monte Carlo error (its fits were also MCMC; 97.5% quantiles of a few
thousand draws carry 0.01-0.04 of error, as the issue states) and rounding; 3 MCSE
covers ours (small test fits: 2 chains x 400 draws).
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from dosefind.cli import main
from dosefind.priors.checks import predictive_checks
from dosefind.priors.sensitivity import prior_sensitivity

DOSES = (5e5, 1e6, 2e6, 4e6, 8e6)
QUOTED_UPPER_4E6 = {"tau HN(1)": 0.85, "tau HN(0.5)": 0.58, "tau HN(0.25)": 0.44}


@pytest.fixture(scope="module")
def sens():
    return prior_sensitivity(None, "crs_grade3", DOSES, pooled_weights=(), strict=True, case_reports=True,
                             sampling=dict(draws=400, tune=400, chains=2), seed=5)


@pytest.mark.slow
def test_tau_prior_shifts_match_the_review(sens):
    f = sens.to_frame()
    at = f[f["dose"] == 4e6].set_index("variant")
    for variant, quoted in QUOTED_UPPER_4E6.items():
        got, mcse = at.loc[variant, "upper"], at.loc[variant, "mcse_upper"]
        assert got == pytest.approx(quoted, abs=0.05 + 3 * mcse), variant
    ups = [at.loc[v, "upper"] for v in QUOTED_UPPER_4E6]
    assert ups[0] > ups[1] > ups[2]
    assert (at.loc["tau HN(0.5)", "upper_shift"] < 0) and at.loc["tau HN(1)", "upper_shift"] == 0


@pytest.mark.slow
def test_other_variants_and_beyond_data(sens):
    f = sens.to_frame()
    assert set(f["variant"]) >= {"strict implied zeros", "no case reports"}
    # Only 8e6/kg lies above every reported dose (the highest is 5e6/kg, case report 001).
    assert f[f["beyond_data"]]["dose"].unique().tolist() == [8e6]
    # Dropping the case reports removes the single 1/1 grade-3 CRS: the upper bounds fall.
    at = f[f["dose"] == 4e6].set_index("variant")
    assert at.loc["no case reports", "upper"] < at.loc["tau HN(1)", "upper"]
    assert sens.wide("upper").shape == (5, 5)


def test_predictive_checks_table(dose_fit, tmp_path):
    res = predictive_checks(dose_fit, seed=1)
    f = res.to_frame()
    assert len(f) == 5 and set(f["source"]) == {r["source"] for r in dose_fit.meta["evidence"]}
    assert ((f["ppc_lower"] <= f["ppc_median"]) & (f["ppc_median"] <= f["ppc_upper"])).all()
    assert ((0 <= f["ppc_p_upper"]) & (f["ppc_p_upper"] <= 1)).all()
    from dosefind.priors.plots import plot_checks

    out = plot_checks(res, tmp_path / "c.png")
    assert out.stat().st_size > 1000


@pytest.mark.slow
def test_leave_one_study_out(dose_fit):
    res = predictive_checks(dose_fit, loo=True, seed=1, sampling=dict(draws=150, tune=150, chains=1))
    f = res.to_frame()
    assert f["loo_median"].notna().all()
    # A new study is predicted with more uncertainty than the same study with its own effect.
    assert ((f["loo_upper"] - f["loo_lower"]) >= (f["ppc_upper"] - f["ppc_lower"]) - 0.05).mean() >= 0.6


def test_cli_check_and_sensitivity_errors(dose_fit_file, tmp_path):
    run = CliRunner().invoke
    res = run(main, ["priors", "check", str(dose_fit_file), "--format", "json"])
    assert res.exit_code == 0, res.output
    assert len(json.loads(res.output)["rows"]) == 5
    bad = run(main, ["priors", "sensitivity", "--endpoint", "crs_grade3", "--doses", "1e6,2e6",
                     "--tau-scales", "1,x"])
    assert bad.exit_code == 2 and "--tau-scales must be comma-separated numbers" in bad.output
    bad = run(main, ["priors", "sensitivity", "--endpoint", "crs_grade3", "--doses", "1e6,2e6",
                     "--plot", str(tmp_path / "no" / "s.png")])
    assert bad.exit_code == 2 and "does not exist" in bad.output
