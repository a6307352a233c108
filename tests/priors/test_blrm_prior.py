"""The BLRM prior from a literature fit: the mixture approximates the fit's own
posterior predictive (log alpha, log beta), so the BLRM's prior DLT rates match the
fit's predictive DLT rates; bad input is refused with a clear message."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from dosefind import TrialState
from dosefind.cli import main
from dosefind.designs.blrm import BLRM
from dosefind.priors import blrm_prior_from_fit, blrm_theta_draws


def test_theta_draws_reproduce_the_fits_predictive(dose_fit):
    """Exact identity: expit(log alpha + exp(log beta) log(d / d_ref)) is the fit's prob_tox."""
    theta = blrm_theta_draws(dose_fit)
    x = np.log(np.asarray(dose_fit.doses) / dose_fit.meta["reference_dose"])
    p = 1 / (1 + np.exp(-(theta[:, :1] + np.exp(theta[:, 1:]) * x)))
    np.testing.assert_allclose(p, dose_fit.prob_tox_draws(), rtol=1e-9, atol=1e-12)


def test_mixture_prior_matches_fit_predictive(dose_fit):
    """Without a robust part, the BLRM's prior mean DLT rate per dose is the fit's
    predictive mean up to the mixture approximation (0.02) and its Monte Carlo error."""
    prior = blrm_prior_from_fit(dose_fit, robust_weight=0.0)
    design = BLRM(**prior.design_kwargs(), max_increase=None)
    post = design.posterior(TrialState.empty(len(prior.doses)))
    tox = dose_fit.prob_tox_draws()
    np.testing.assert_allclose(post.mean, tox.mean(0), atol=0.02)
    np.testing.assert_allclose(post.prob_overdose, (tox >= 0.33).mean(0), atol=0.03)


def test_robust_component_widens_the_prior(dose_fit):
    a = blrm_prior_from_fit(dose_fit, robust_weight=0.0)
    b = blrm_prior_from_fit(dose_fit, robust_weight=0.5)
    assert b.mixture.n_components == a.mixture.n_components + 1
    assert b.mixture.weights[-1] == pytest.approx(0.5)
    assert np.linalg.det(b.mixture.cov) > np.linalg.det(a.mixture.cov)


def test_other_endpoint_refused(dose_fit):
    with pytest.raises(ValueError, match="the fit is of crs_grade3, not dlt"):
        blrm_prior_from_fit(dose_fit, endpoint="dlt")


def test_map_fit_refused(map_fit):
    with pytest.raises(ValueError, match="needs a dose-response fit"):
        blrm_prior_from_fit(map_fit)


@pytest.mark.parametrize("w", [-0.1, 1.5])
def test_bad_robust_weight(dose_fit, w):
    with pytest.raises(ValueError, match="robust_weight must be between 0 and 1"):
        blrm_prior_from_fit(dose_fit, robust_weight=w)


def test_cli_blrm_prior(dose_fit_file):
    run = CliRunner().invoke
    res = run(main, ["priors", "blrm-prior", str(dose_fit_file)])
    assert res.exit_code == 0, res.output
    assert "robust" in res.output and "prob_overdose" in res.output
    data = json.loads(run(main, ["priors", "blrm-prior", str(dose_fit_file), "--format", "json"]).output)
    assert abs(sum(data["prior"]["weights"]) - 1) < 1e-9 and len(data["prior_at_doses"]) == 5
    bad = run(main, ["priors", "blrm-prior", str(dose_fit_file), "--endpoint", "dlt"])
    assert bad.exit_code == 2 and "not dlt" in bad.output


def test_prior_for_design(dose_fit_file):
    from dosefind.designs import CRM
    from dosefind.priors import prior_for_design

    b = prior_for_design(dose_fit_file, "blrm", endpoint="crs_grade3")
    design = BLRM(**b.kwargs, cohort_size=3)
    assert design.prior.n_components >= 2 and len(b.sha256) == 64
    assert b.strength.ess and json.dumps(b.to_dict())
    c = prior_for_design(dose_fit_file, "crm", target=0.25)
    CRM(c.kwargs["skeleton"], target=0.25)
    with pytest.raises(ValueError, match="not dlt"):
        prior_for_design(dose_fit_file, "blrm", endpoint="dlt")
    with pytest.raises(ValueError, match="needs the target"):
        prior_for_design(dose_fit_file, "crm")
    with pytest.raises(ValueError, match="'blrm' or 'crm'"):
        prior_for_design(dose_fit_file, "boin")
