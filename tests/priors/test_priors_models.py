"""PyMC models against closed forms and simulated data with known truth."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from dosefind.priors import (PriorFitError, PriorFitWarning, draw_scenarios, fit_dose_response, fit_map,
                             load_fit, moment_matched_beta, robust_mixture, skeleton_from_fit)

DOSES = (5e5, 1e6, 2e6, 4e6, 8e6)  # as in conftest.py
SMALL = dict(draws=300, tune=300, chains=2, seed=11)


def one_trial(y, n, dose=2e6):
    return pd.DataFrame(dict(source=["t1"], disease=["AML"], product=["autologous"], dose_per_kg=[dose], n=[n],
                             dlt=[y], crs_any=[y], crs_grade3=[y], icans_any=[""], icans_grade3=[""], response=[""]))


def test_single_trial_flat_prior_is_beta_binomial():
    # No heterogeneity and a uniform prior on the rate: the posterior (and prediction) is
    # Beta(y + 1, n - y + 1) exactly.
    fit = fit_map(one_trial(3, 19), "crs_grade3", tau_scale=0, intercept_prior="uniform",
                  draws=1000, tune=500, chains=2, seed=3)
    draws = fit.draws("prob_new")
    exact = stats.beta(4, 17)
    se = draws.std() / np.sqrt(fit.diagnostics().ess_bulk_min)
    assert abs(draws.mean() - exact.mean()) < 4 * se
    for q in (0.05, 0.5, 0.95):
        assert abs(np.quantile(draws, q) - exact.ppf(q)) < 0.02
    a, b = moment_matched_beta(draws)
    assert a + b == pytest.approx(21, rel=0.15)  # ESS of Beta(4, 17) is 21


def test_moment_matched_beta_and_robust_mixture_closed_forms():
    x = stats.beta(4, 17).rvs(200_000, random_state=np.random.default_rng(1))
    a, b = moment_matched_beta(x)
    assert (a, b) == (pytest.approx(4, rel=0.03), pytest.approx(17, rel=0.03))
    mix = robust_mixture(4, 17, 0.2)
    assert mix["mean"] == pytest.approx(0.8 * 4 / 21 + 0.2 * 0.5)
    # mixture variance by the law of total variance
    m1, m2 = 4 / 21, 0.5
    v1, v2 = 4 * 17 / (21 ** 2 * 22), 1 / 12
    var = 0.8 * v1 + 0.2 * v2 + 0.8 * 0.2 * (m1 - m2) ** 2
    assert mix["sd"] == pytest.approx(var ** 0.5)
    assert mix["ess"] < 21 and robust_mixture(4, 17, 0)["ess"] == pytest.approx(21)


def test_pooled_row_likelihood_is_the_sum_over_splits():
    # The documented identity behind the pooled-row likelihood: with the split of n
    # patients Binomial(n, w), summing over splits and event allocations gives
    # Binomial(n, w p_low + (1 - w) p_high).
    n, y, w, p_low, p_high = 13, 4, 0.5, 0.1, 0.4
    total = 0.0
    for n_low in range(n + 1):
        conv = sum(stats.binom.pmf(k, n_low, p_low) * stats.binom.pmf(y - k, n - n_low, p_high)
                   for k in range(0, y + 1))
        total += stats.binom.pmf(n_low, n, w) * conv
    assert total == pytest.approx(stats.binom.pmf(y, n, w * p_low + (1 - w) * p_high), rel=1e-12)


def test_parameter_recovery_on_simulated_trials():
    rng = np.random.default_rng(2024)
    alpha, beta, tau, d_ref = -1.0, 1.5, 0.3, 2e6
    rows = []
    for t in range(10):
        u = rng.normal(0, tau)
        for d in (5e5, 2e6, 8e6):
            p = 1 / (1 + np.exp(-(alpha + u + beta * np.log(d / d_ref))))
            rows.append(dict(source=f"sim{t}", disease="x", product="x", dose_per_kg=d, n=30,
                             dlt=rng.binomial(30, p), crs_any="", crs_grade3="", icans_any="",
                             icans_grade3="", response=""))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PriorFitWarning)
        fit = fit_dose_response(pd.DataFrame(rows), "dlt", [5e5, 2e6, 8e6], reference_dose=d_ref, **SMALL)
    for name, true in (("alpha", alpha), ("beta", beta)):
        x = fit.draws(name)
        assert np.quantile(x, 0.025) < true < np.quantile(x, 0.975), name
        assert abs(np.median(x) - true) < 0.35, name


def test_seeded_fit_is_reproducible(map_fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PriorFitWarning)
        again = fit_map(None, "crs_grade3", robust_weight=0.2, **SMALL)
    np.testing.assert_array_equal(again.draws("prob_new"), map_fit.draws("prob_new"))


def test_save_load_round_trip(dose_fit, dose_fit_file):
    back = load_fit(dose_fit_file)
    assert back.meta == dose_fit.meta
    np.testing.assert_array_equal(back.prob_tox_draws(), dose_fit.prob_tox_draws())
    assert back.summary() == dose_fit.summary()


def test_dose_response_summary(dose_fit):
    s = dose_fit.summary()
    assert [d["dose"] for d in s["doses"]] == list(DOSES)
    medians = [d["median"] for d in s["doses"]]
    assert all(b > a for a, b in zip(medians, medians[1:]))  # positive slope
    assert all(d["lower"] < d["median"] < d["upper"] for d in s["doses"])
    assert {"r_hat_max", "ess_bulk_min", "divergences"} <= set(s)
    # The pooled reports enter with both levels, none assigned to one dose.
    pooled = [r for r in dose_fit.meta["evidence"] if r["dose_low"] is not None]
    assert {r["source"][:3] for r in pooled} == {"000", "002"}


def test_map_summary(map_fit):
    s = map_fit.summary()
    assert s["kind"] == "map" and s["doses"] == []
    b = s["beta_approximation"]
    assert b["ess"] == pytest.approx(b["a"] + b["b"])
    assert s["robust_mixture"]["weight_vague"] == 0.2
    assert s["robust_mixture"]["ess"] < b["ess"]


def test_skeleton_from_fit(dose_fit):
    from dosefind.designs.skeleton import getprior

    res = skeleton_from_fit(dose_fit, 0.25)
    medians = np.median(dose_fit.prob_tox_draws(), axis=0)
    assert res.skeleton == pytest.approx(tuple(medians))
    assert res.nu == int(np.argmin(abs(medians - 0.25))) + 1
    assert res.indifference_skeleton == getprior(0.05, 0.25, res.nu, len(DOSES))
    mean_skel = skeleton_from_fit(dose_fit, 0.25, statistic="mean").skeleton
    assert mean_skel == pytest.approx(tuple(dose_fit.prob_tox_draws().mean(axis=0)))


def test_scenarios_long_format_read_by_the_engine(dose_fit, tmp_path):
    from dosefind.simulations.scenarios import read_scenarios

    df = draw_scenarios(dose_fit, 7, seed=5)
    assert list(df.columns) == ["scenario", "dose", "dose_per_kg", "true_prob_tox", "true_prob_response"]
    assert len(df) == 7 * len(DOSES) and df["dose"].min() == 1 and df["scenario"].max() == 7
    assert (df.groupby("scenario")["true_prob_tox"].apply(lambda s: s.is_monotonic_increasing)).all()
    pd.testing.assert_frame_equal(df, draw_scenarios(dose_fit, 7, seed=5))
    df.to_csv(tmp_path / "s.csv", index=False)
    scen = read_scenarios(tmp_path / "s.csv")
    assert len(scen) == 7 and scen[0].true_prob_response is not None


def test_plot_writes_png_and_svg(dose_fit, tmp_path):
    from dosefind.priors import plot_fit

    for name in ("c.png", "c.svg"):
        path = plot_fit(dose_fit, tmp_path / name)
        assert path.stat().st_size > 1000
    plot_fit(dose_fit, tmp_path / "r.png", response=True)


def test_failed_diagnostics_warn_or_raise():
    with pytest.warns(PriorFitWarning, match="increase --draws"):
        fit_map(None, "crs_any", draws=20, tune=20, chains=2, seed=1)
    with pytest.raises(PriorFitError, match="increase --draws"):
        fit_map(None, "crs_any", draws=20, tune=20, chains=2, seed=1, on_fail="raise")


@pytest.mark.parametrize("kwargs, message", [
    (dict(endpoint="grade5"), "endpoint must be one of"),
    (dict(endpoint="response"), "must be a toxicity endpoint"),
    (dict(doses=[1e6, 5e5]), "strictly increasing"),
    (dict(doses=[-1e6]), "positive"),
    (dict(doses=[]), "at least one candidate dose"),
    (dict(draws=0), "draws must be >= 10"),
])
def test_dose_response_bad_arguments(kwargs, message):
    args = dict(endpoint="crs_grade3", doses=DOSES) | kwargs
    with pytest.raises(ValueError, match=message):
        fit_dose_response(None, args.pop("endpoint"), args.pop("doses"), **args)


def test_derived_outputs_need_a_dose_response_fit(map_fit):
    with pytest.raises(ValueError, match="needs a dose-response fit"):
        skeleton_from_fit(map_fit, 0.25)
    with pytest.raises(ValueError, match="needs a dose-response fit"):
        draw_scenarios(map_fit, 10, 1)


def test_load_fit_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="fit file not found"):
        load_fit(tmp_path / "none.nc")
    (tmp_path / "bad.nc").write_text("not netcdf")
    with pytest.raises(ValueError, match="cannot read"):
        load_fit(tmp_path / "bad.nc")


@pytest.mark.slow
def test_full_size_fit_converges():
    fit = fit_dose_response(None, "crs_grade3", DOSES, with_response=True, on_fail="raise")
    d = fit.diagnostics()
    assert d.r_hat_max < 1.01 and d.divergences == 0 and min(d.ess_bulk_min, d.ess_tail_min) >= 400
    m = fit_map(None, "crs_grade3", on_fail="raise")
    assert m.diagnostics().r_hat_max < 1.01
