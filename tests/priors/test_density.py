"""nutpie's dose-response log density (dosefind.priors.density) is PyMC's model.

The reference is the PyMC model that ``fit_dose_response`` samples with ``sampler="pymc"``
(``models._block_model``): its ``compile_logp``/``compile_dlogp`` at random points must
equal the kernel's value and gradient, on the bundled evidence and on data with pooled
rows, covariates, a response endpoint (slope of either sign) and extreme pooling weights.
PyMC's padded trial effects and unused covariate coefficients (no data) add one Normal
term each, taken off the value.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from dosefind.priors import density as D
from dosefind.priors import models as M
from dosefind.priors.evidence import load_evidence, rows_for

DOSES = np.array([5e5, 1e6, 2e6, 3e6, 5e6])
REF = float(np.exp(np.mean(np.log(DOSES))))


def _priors(**kw):
    base = dict(intercept_mean=-1.2, intercept_sd=2.0, slope_sd=1.0, tau_scale=0.7, pooled_weight=0.5,
                covariate_sd=1.5)
    base.update(kw)
    return base


def _pymc_logp_and_grad(rows, e, X, priors):
    """PyMC's logp and gradient functions of the reference model fed these rows."""
    trials, t_idx, kernel = M._block_data(rows, e, REF, X, priors)
    trials_pad = M._padded(len(trials))
    model = M._pymc_block(rows, e, t_idx, len(trials), kernel, X, priors)
    return model, kernel, len(trials), trials_pad, model.compile_logp(), model.compile_dlogp()


def _point(theta, T, trials_pad, K):
    z = np.zeros(trials_pad)
    z[:T] = theta[3:3 + T]
    pt = {"alpha": theta[0], "slope_raw": theta[1], "tau_log__": theta[2], "z": z, "z_new": theta[3 + T]}
    if K:
        g = np.zeros(len(M.COVARIATES))
        g[:K] = theta[4 + T:]
        pt["gamma"] = g
    return pt


def _pymc_grad_flat(model, grad, T, trials_pad, K):
    """PyMC's gradient (value variables in model order) laid out as the kernel's theta."""
    sizes = {"alpha": 1, "slope_raw": 1, "tau_log__": 1, "z": trials_pad, "z_new": 1, "gamma": len(M.COVARIATES)}
    parts, at = {}, 0
    for v in model.value_vars:
        k = sizes[v.name]
        parts[v.name] = grad[at:at + k]
        at += k
    out = [parts["alpha"], parts["slope_raw"], parts["tau_log__"], parts["z"][:T], parts["z_new"]]
    if K:
        out.append(parts["gamma"][:K])
    return np.concatenate(out)


def _check(rows, e, X=None, n_points=12, **prior_kw):
    priors = _priors(**prior_kw)
    model, kernel, T, trials_pad, logp, dlogp = _pymc_logp_and_grad(rows, e, X, priors)
    K = 0 if X is None else X.shape[1]
    rng = np.random.default_rng(7)
    for _ in range(n_points):
        theta = rng.normal(0.0, 1.5, size=kernel.ndim)
        value, grad = D.log_density(theta, kernel)
        pt = _point(theta, T, trials_pad, K)
        # padded trial effects: N(0, 1) at 0 each, -log(2 pi)/2; unused covariate
        # coefficients: N(0, covariate_sd^2) at 0 each
        ref = float(logp(pt)) + (trials_pad - T) * 0.5 * math.log(2 * math.pi)
        if X is not None:
            ref += (len(M.COVARIATES) - K) * (math.log(priors["covariate_sd"]) + 0.5 * math.log(2 * math.pi))
        assert value == pytest.approx(ref, rel=1e-10, abs=1e-9)
        ref_grad = _pymc_grad_flat(model, np.asarray(dlogp(pt)), T, trials_pad, K)
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-9, atol=1e-9)
        # the plain-Python kernel (what numba compiles) gives the same
        v2, g2 = D.log_density(theta, kernel, compiled=False)
        assert v2 == pytest.approx(value, rel=1e-12, abs=1e-12)
        np.testing.assert_allclose(g2, grad, rtol=1e-12, atol=1e-12)


def test_bundled_toxicity_rows_match_pymc():
    _check(rows_for(load_evidence(), "crs_grade3", need_dose=True), "crs_grade3")


def test_response_rows_slope_of_either_sign_match_pymc():
    _check(rows_for(load_evidence(), "response", need_dose=True), "response")


def _pooled_table():
    # two reports, one with a row pooling two dose levels, events at both extremes (y = 0, y = n)
    return pd.DataFrame(dict(
        source=["a", "a", "b", "c"], disease=["AML", "AML", "T-ALL", "AML/T-ALL"],
        product=["autologous", "autologous", "donor-derived", "autologous"],
        dose_per_kg=[5e5, None, 2e6, 3e6], dose_low=[None, 1e6, None, None], dose_high=[None, 5e6, None, None],
        n=[3, 9, 6, 4], crs_grade3=[0, 4, 6, 1]))


@pytest.mark.parametrize("w", [0.5, 0.2, 0.0, 1.0])
def test_pooled_rows_and_pooling_weights_match_pymc(w):
    rows = _pooled_table()
    assert "dose_low" in rows and rows["dose_low"].notna().any()
    _check(rows, "crs_grade3", pooled_weight=w)


def test_covariates_match_pymc():
    rows = _pooled_table()
    X = np.column_stack([M._covariate_values(rows, c) for c in ("product", "disease")])
    _check(rows, "crs_grade3", X=X)
    _check(rows, "crs_grade3", X=X[:, :1])


def test_nutpie_fit_is_seeded_and_agrees_with_pymc_sampler():
    # Same seed, same draws (two fits); and the two samplers' posteriors of the same model
    # agree within Monte Carlo error (medians of prob_tox at each dose, 4 MCSE).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kw = dict(endpoint="crs_grade3", doses=DOSES, draws=1000, tune=1000, chains=4, seed=5)
        a = M.fit_dose_response(sampler="nutpie", **kw)
        b = M.fit_dose_response(sampler="nutpie", **kw)
        c = M.fit_dose_response(sampler="pymc", **kw)
    np.testing.assert_array_equal(a.prob_tox_draws(), b.prob_tox_draws())
    sa, sc = a.summary(), c.summary()
    for da, dc in zip(sa["doses"], sc["doses"]):
        se = math.hypot(da["mcse_median"], dc["mcse_median"])
        assert abs(da["median"] - dc["median"]) < 4 * se + 1e-3


def test_compiled_and_python_callbacks_give_the_same_draws():
    # nutpie calls the kernel through C callbacks when it can, else through Python ones
    # (nutpie's from_pyfunc): the same seed must give the same draws either way.
    rows = _pooled_table()
    X = np.column_stack([M._covariate_values(rows, c) for c in ("product", "disease")])
    _, _, kernel = M._block_data(rows, "crs_grade3", REF, X, _priors())
    kw = dict(draws=200, tune=200, chains=2, seed=3, target_accept=0.9, cores=2)
    c_draws, c_div = D.sample_nutpie(kernel, callbacks="c", **kw)
    py_draws, py_div = D.sample_nutpie(kernel, callbacks="python", **kw)
    assert set(c_draws) == set(py_draws) == {"alpha", "slope_raw", "tau", "z", "z_new", "gamma"}
    for name in c_draws:
        np.testing.assert_array_equal(c_draws[name], py_draws[name])
    np.testing.assert_array_equal(c_div, py_div)
    assert D._c_model(kernel, lambda seed: np.zeros(kernel.ndim)) is not None   # the fast path is the one used
