"""Study-level covariates and EXNEX in the dose-response model (issue 13)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from dosefind.priors import blrm_theta_draws, fit_dose_response
from dosefind.priors.models import _covariate_code

DOSES = (5e5, 1e6, 2e6, 4e6, 8e6)
SMALL = dict(draws=200, tune=200, chains=2, seed=11)


@pytest.fixture(scope="module")
def exnex_fit():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_dose_response(None, "crs_grade3", DOSES, covariates=("product", "disease"),
                                 new_trial={"product": "autologous", "disease": "AML"}, exnex_weight=0.5, **SMALL)


def test_coding_of_the_bundled_rows():
    assert _covariate_code("product", "donor-derived") == 1 and _covariate_code("product", "autologous") == 0
    assert _covariate_code("disease", "AML") == 1 and _covariate_code("disease", "T-ALL") == 0
    assert _covariate_code("disease", "AML/T-LBL/T-ALL") == 0.5
    with pytest.raises(ValueError, match="cannot be coded"):
        _covariate_code("product", "allogeneic")


def test_new_trial_intercept_is_the_exnex_mixture(exnex_fit):
    """alpha_new is EX (alpha + gamma.x + tau z_new) in about half the draws and otherwise a
    draw from the intercept prior N(0, 2^2); prob_tox is recomputed from it exactly."""
    post = exnex_fit.idata["posterior"]
    assert "gamma" in post and "alpha_new" in post
    alpha, tau, z = (exnex_fit.draws(k) for k in ("alpha", "tau", "z_new"))
    gamma = exnex_fit.draws("gamma")
    ex = alpha + tau * z + gamma @ np.array([0.0, 1.0])
    a_new = exnex_fit.draws("alpha_new")
    share_ex = np.isclose(a_new, ex).mean()
    assert share_ex == pytest.approx(0.5, abs=0.06)           # 800 draws: sd 0.018
    theta = blrm_theta_draws(exnex_fit)
    np.testing.assert_allclose(theta[:, 0], a_new)
    x = np.log(np.asarray(DOSES) / exnex_fit.meta["reference_dose"])
    p = 1 / (1 + np.exp(-(a_new[:, None] + exnex_fit.draws("beta")[:, None] * x)))
    np.testing.assert_allclose(exnex_fit.prob_tox_draws(), p, rtol=1e-10)
    assert exnex_fit.meta["new_trial"] == {"product": 0.0, "disease": 1.0}


def test_saved_and_reloaded(exnex_fit, tmp_path):
    from dosefind.priors import load_fit

    again = load_fit(exnex_fit.save(tmp_path / "x.nc"))
    np.testing.assert_allclose(again.prob_tox_draws(), exnex_fit.prob_tox_draws())


@pytest.mark.parametrize("kwargs, message", [
    (dict(covariates=("product",)), "new_trial must give the planned trial's product"),
    (dict(covariates=("age",), new_trial={"age": 3}), "covariates must be among product, disease"),
    (dict(new_trial={"product": "autologous"}), "new_trial is only used with covariates"),
    (dict(exnex_weight=1.5), "exnex_weight"),
    (dict(covariates=("product",), new_trial={"product": "xeno"}), "cannot be coded"),
])
def test_bad_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        fit_dose_response(None, "crs_grade3", DOSES, **kwargs, draws=10, tune=0, chains=1)


def test_drop_case_reports_removes_rows():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fit_dose_response(None, "crs_grade3", DOSES, drop_case_reports=True, draws=50, tune=50, chains=1)
    sources = {r["source"] for r in fit.meta["evidence"]}
    assert sources == {"000_9511529d6e7fe57c.txt", "002_20257632ebbc645c.txt", "003_b86ac522baa1a4cd.txt"}
