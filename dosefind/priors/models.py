r"""PyMC models that turn the evidence table into priors.

PyMC is imported inside the functions, so ``import dosefind.priors`` stays fast.

Meta-analytic predictive (MAP) prior, one endpoint (Neuenschwander et al. 2010,
Clin Trials 7:5-18). Rows from the same report share a trial effect:

.. math::

    y_i \sim \mathrm{Binomial}(n_i, \pi_i), \quad
    \operatorname{logit} \pi_i = \mu + \tau z_{t(i)}, \quad z_t \sim N(0, 1),

    \mu \sim N(m_0, s_0^2)\ \text{(or Logistic(0, 1), i.e. a uniform mean rate)}, \quad
    \tau \sim \text{Half-Normal}(\sigma_\tau),

and the prediction for a new trial is :math:`\pi_\star = \operatorname{logit}^{-1}(\mu +
\tau z_\star)`, :math:`z_\star \sim N(0, 1)`. ``tau_scale=0`` fixes :math:`\tau = 0`
(complete pooling); with one trial and the uniform mean prior the posterior of
:math:`\pi_\star` is then Beta(y + 1, n - y + 1), the check used in the tests.

Dose-response model, one toxicity endpoint (and optionally ``response`` beside it):

.. math::

    \operatorname{logit} p_t(d) = \alpha + \tau z_t + \beta \log(d / d_{ref}),

    \alpha \sim N(m_0, s_0^2), \quad \log\beta \sim N(0, s_\beta^2)\ \text{(toxicity:
    } \beta > 0), \quad \beta \sim N(0, s_\beta^2)\ \text{(response)}, \quad
    \tau \sim \text{Half-Normal}(\sigma_\tau).

A row at one dose d has :math:`y \sim \mathrm{Binomial}(n, p_t(d))`. A row that pools two
levels (``dose_low``, ``dose_high``) without splitting its counts is a mixture over the
reported levels: each patient's level is unknown and taken as ``dose_low`` with
probability w (default 1/2), so

.. math::

    y \sim \mathrm{Binomial}(n,\ w\, p_t(d_{low}) + (1 - w)\, p_t(d_{high})),

which is exactly the sum over every possible split of the n patients (and of the events)
between the two levels when the split is Binomial(n, w). No row is silently put at one
dose. The prediction for a new trial at each candidate dose uses a new trial effect
:math:`z_\star \sim N(0, 1)`, so between-trial heterogeneity widens the intervals; each
posterior draw gives one increasing dose-toxicity curve.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager

import numpy as np

from dosefind import _validate as v
from dosefind.priors.evidence import (TOXICITY_ENDPOINTS, check_endpoint, dose_bounds, evidence_records,
                                      load_evidence, rows_for, validate_evidence)
from dosefind.priors.fit import PriorFit

DEFAULT_DRAWS = 1000
DEFAULT_TUNE = 1000
DEFAULT_CHAINS = 4
DEFAULT_SEED = 20240601


def _pymc():
    import pytensor

    # Reproducible seeded fits whether the compile cache is cold or warm.
    pytensor.config.numba__fastmath = False
    import pymc as pm

    return pm


@contextmanager
def _quiet_pymc():
    # PyMC logs its own convergence warnings; PriorFit.diagnostics() reports them with the fix.
    loggers = [logging.getLogger(name) for name in ("pymc", "pymc.sampling.mcmc", "pymc.stats.convergence")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _sampling(draws, tune, chains, seed, target_accept, sampler="pymc"):
    return dict(
        sampler=_sampler(sampler),
        draws=v.integer(draws, "draws", minimum=10),
        tune=v.integer(tune, "tune", minimum=0),
        chains=v.integer(chains, "chains", minimum=1),
        seed=v.integer(seed, "seed", minimum=0),
        target_accept=v.probability(target_accept, "target_accept"),
    )


SAMPLERS = ("auto", "nutpie", "pymc")


def _sampler(name: str) -> str:
    """The NUTS implementation to use: nutpie (compiled with numba, an order of magnitude
    faster per fit) when installed and asked for or "auto", else PyMC's own."""
    if name not in SAMPLERS:
        raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}, got {name!r}")
    if name == "pymc":
        return "pymc"
    try:
        import nutpie  # noqa: F401
    except ImportError:
        if name == "nutpie":
            raise ValueError("sampler 'nutpie' needs the nutpie package: pip install nutpie") from None
        return "pymc"
    return "nutpie"


def _sample(model, s):
    pm = _pymc()
    with _quiet_pymc():
        return pm.sample(draws=s["draws"], tune=s["tune"], chains=s["chains"], cores=1,
                         random_seed=s["seed"], nuts_sampler="pymc", target_accept=s["target_accept"],
                         progressbar=False, compute_convergence_checks=False, model=model)


def _table(evidence):
    if evidence is None:
        return load_evidence()
    if isinstance(evidence, str) or hasattr(evidence, "__fspath__"):
        return load_evidence(evidence)
    return validate_evidence(evidence)


def _intercept(pm, name, prior, mean, sd):
    if prior == "normal":
        return pm.Normal(name, mean, sd)
    if prior == "uniform":
        # logit of a Uniform(0, 1) rate is Logistic(0, 1).
        return pm.Logistic(name, 0.0, 1.0)
    raise ValueError(f"intercept_prior must be 'normal' or 'uniform', got {prior!r}")


def fit_map(evidence=None, endpoint: str = "crs_grade3", *, tau_scale: float = 1.0,
            intercept_prior: str = "normal", intercept_mean: float = 0.0, intercept_sd: float = 2.0,
            robust_weight: float | None = None, draws: int = DEFAULT_DRAWS, tune: int = DEFAULT_TUNE,
            chains: int = DEFAULT_CHAINS, seed: int = DEFAULT_SEED, target_accept: float = 0.95,
            on_fail: str = "warn") -> PriorFit:
    """Meta-analytic predictive prior for the event rate of ``endpoint`` in a new trial.

    ``evidence``: a table (DataFrame), a CSV path, or None for the bundled CD7 table.
    ``tau_scale``: scale of the half-normal prior on between-trial heterogeneity (0 = no
    heterogeneity). ``robust_weight``: weight of a vague Beta(1, 1) component in the
    robust mixture reported by the summary (Schmidli et al. 2014), None for none.
    Diagnostics failing their thresholds give a warning (``on_fail="warn"``) or an
    error (``"raise"``) that says what to change.
    """
    check_endpoint(endpoint)
    table = _table(evidence)
    rows = rows_for(table, endpoint)
    tau_scale = v.nonnegative(tau_scale, "tau_scale")
    intercept_sd = v.positive(intercept_sd, "intercept_sd")
    intercept_mean = v._num(intercept_mean, "intercept_mean")
    if robust_weight is not None:
        robust_weight = v.probability(robust_weight, "robust_weight", open_interval=False)
    s = _sampling(draws, tune, chains, seed, target_accept)
    pm = _pymc()

    trials, trial_idx = np.unique(rows["source"].to_numpy(str), return_inverse=True)
    y = rows[endpoint].to_numpy(int)
    n = rows["n"].to_numpy(int)
    with pm.Model(coords={"trial": list(trials)}) as model:
        mu = _intercept(pm, "mu", intercept_prior, intercept_mean, intercept_sd)
        if tau_scale > 0:
            tau = pm.HalfNormal("tau", tau_scale)
            z = pm.Normal("z", 0.0, 1.0, dims="trial")
            eta = mu + tau * z[trial_idx]
            z_new = pm.Normal("z_new", 0.0, 1.0)
            pm.Deterministic("prob_new", pm.math.invlogit(mu + tau * z_new))
        else:
            eta = mu + 0.0 * trial_idx
            pm.Deterministic("prob_new", pm.math.invlogit(mu))
        pm.Binomial("events", n=n, p=pm.math.invlogit(eta), observed=y)
    idata = _sample(model, s)
    meta = dict(kind="map", endpoint=endpoint, tau_scale=tau_scale, intercept_prior=intercept_prior,
                intercept_mean=intercept_mean, intercept_sd=intercept_sd, robust_weight=robust_weight,
                sampling=s, evidence=evidence_records(rows))
    return PriorFit(idata, meta).checked(on_fail)


def fit_dose_response(evidence=None, endpoint: str = "crs_grade3", doses=(), *,
                      reference_dose: float | None = None, with_response: bool = False,
                      tau_scale: float = 1.0, intercept_mean: float = 0.0, intercept_sd: float = 2.0,
                      slope_sd: float = 1.0, pooled_weight: float = 0.5,
                      covariates=(), new_trial: dict | None = None, covariate_sd: float = 1.0,
                      exnex_weight: float = 1.0, drop_case_reports: bool = False,
                      draws: int = DEFAULT_DRAWS, tune: int = DEFAULT_TUNE, chains: int = DEFAULT_CHAINS,
                      seed: int = DEFAULT_SEED, target_accept: float = 0.95, sampler: str = "auto",
                      on_fail: str = "warn") -> PriorFit:
    """Logistic dose-response in log(dose / reference dose), fitted to every row with a dose.

    ``doses``: candidate doses (CAR-T cells/kg, increasing) at which the posterior
    predictive probability for a new trial is computed. ``reference_dose`` defaults to the
    geometric mean of the candidate doses. ``with_response``: also fit the ``response``
    endpoint (independent model, same form, slope of either sign) so scenarios carry
    toxicity-response pairs. ``pooled_weight``: probability that a patient of a pooled
    row received ``dose_low`` (see the module docstring).

    ``covariates``: study-level terms of the toxicity intercept, any of ``"product"``
    (donor-derived = 1, autologous = 0) and ``"disease"`` (AML = 1, T-ALL = 0, a report
    mixing both = 0.5), each with a Normal(0, ``covariate_sd``^2) coefficient;
    ``new_trial`` names the planned trial's values (e.g. ``{"product": "autologous",
    "disease": "AML"}``), required with covariates. ``exnex_weight``: probability that
    the new trial is exchangeable with the studies (EXNEX, Neuenschwander et al. 2016);
    with probability 1 - w its intercept is drawn from the intercept's own prior
    N(intercept_mean, intercept_sd^2) instead (default 1: fully exchangeable).
    ``drop_case_reports``: leave out rows whose ``report_type`` is "case report".
    ``sampler``: "auto" (nutpie when installed, else PyMC), "nutpie" or "pymc"; both run
    NUTS on the same model (nutpie on its log density written as one numba kernel,
    :mod:`dosefind.priors.density`; PyMC's model is compiled once per shape and reused
    across endpoints and refits, see ``_fit_block``).
    """
    check_endpoint(endpoint)
    if endpoint == "response":
        raise ValueError("endpoint for the dose-response model must be a toxicity endpoint "
                         f"({', '.join(TOXICITY_ENDPOINTS)}); use with_response for response")
    doses = _candidate_doses(doses)
    if reference_dose is None:
        reference_dose = float(np.exp(np.mean(np.log(doses))))
    reference_dose = v.positive(reference_dose, "reference_dose")
    tau_scale = v.positive(tau_scale, "tau_scale")
    intercept_sd = v.positive(intercept_sd, "intercept_sd")
    intercept_mean = v._num(intercept_mean, "intercept_mean")
    slope_sd = v.positive(slope_sd, "slope_sd")
    pooled_weight = v.probability(pooled_weight, "pooled_weight", open_interval=False)
    s = _sampling(draws, tune, chains, seed, target_accept, sampler)
    covariates, new_x = _covariates(covariates, new_trial)
    covariate_sd = v.positive(covariate_sd, "covariate_sd")
    exnex_weight = v.probability(exnex_weight, "exnex_weight", open_interval=False)
    table = _table(evidence)
    if drop_case_reports:
        table = _drop_case_reports(table)
    endpoints = [endpoint] + (["response"] if with_response else [])
    used = {e: rows_for(table, e, need_dose=True) for e in endpoints}

    x_new = np.log(doses / reference_dose)
    priors = dict(intercept_mean=intercept_mean, intercept_sd=intercept_sd, slope_sd=slope_sd,
                  tau_scale=tau_scale, pooled_weight=pooled_weight, covariate_sd=covariate_sd)
    parts = []
    for k, e in enumerate(endpoints):
        rows = used[e]
        X = (np.column_stack([_covariate_values(rows, c) for c in covariates])
             if e == endpoint and covariates else None)
        # Response has its own seed stream: it is an independent model sampled on its own.
        parts.append(_fit_block(rows, e, x_new, reference_dose, X, priors, s, seed_offset=k))
    idata = _merge_blocks(parts, endpoints, doses)
    if covariates or exnex_weight < 1:
        _new_trial_intercept(idata, x_new, covariates, new_x, exnex_weight, intercept_mean, intercept_sd,
                             s["seed"])
    meta = dict(kind="dose_response", endpoint=endpoint, with_response=with_response,
                doses=[float(d) for d in doses], reference_dose=reference_dose, tau_scale=tau_scale,
                intercept_mean=intercept_mean, intercept_sd=intercept_sd, slope_sd=slope_sd,
                pooled_weight=pooled_weight, sampling=s, covariates=list(covariates),
                new_trial=dict(zip(covariates, new_x)) if covariates else None, covariate_sd=covariate_sd,
                exnex_weight=exnex_weight, drop_case_reports=bool(drop_case_reports),
                evidence=evidence_records(used[endpoint]),
                evidence_response=evidence_records(used["response"]) if with_response else None)
    return PriorFit(idata, meta).checked(on_fail)


def _candidate_doses(doses) -> np.ndarray:
    if isinstance(doses, str):
        doses = [d for d in doses.split(",") if d.strip()]
    doses = [v.positive(d, f"doses[{i + 1}]") for i, d in enumerate(doses)]
    if not doses:
        raise ValueError("doses must list at least one candidate dose (CAR-T cells/kg)")
    if any(b <= a for a, b in zip(doses, doses[1:])):
        raise ValueError(f"doses must be strictly increasing, got {[f'{d:g}' for d in doses]}")
    return np.asarray(doses, dtype=float)


#: Study-level covariates and how a row's text is coded (see ``fit_dose_response``).
COVARIATES = {
    "product": {"donor-derived": 1.0, "autologous": 0.0},
    "disease": {"AML": 1.0, "T-ALL": 0.0},
}


def _covariate_code(name: str, value: str) -> float:
    value = str(value).strip()
    codes = COVARIATES[name]
    if value in codes:
        return codes[value]
    parts = {p.strip() for p in value.split("/")}
    hits = [codes[p] for p in parts if p in codes]
    if name == "disease" and len(set(hits)) == 2:
        return 0.5          # a report mixing AML and T-ALL patients
    if len(set(hits)) == 1:
        return hits[0]
    raise ValueError(f"{name} {value!r} cannot be coded: expected one of {', '.join(codes)}")


def _covariates(covariates, new_trial):
    if isinstance(covariates, str):
        covariates = [c.strip() for c in covariates.split(",") if c.strip()]
    covariates = tuple(covariates)
    for c in covariates:
        if c not in COVARIATES:
            raise ValueError(f"covariates must be among {', '.join(COVARIATES)}, got {c!r}")
    if len(set(covariates)) != len(covariates):
        raise ValueError(f"covariates must not repeat, got {list(covariates)}")
    if not covariates:
        if new_trial:
            raise ValueError("new_trial is only used with covariates")
        return (), ()
    new_trial = dict(new_trial or {})
    missing = [c for c in covariates if c not in new_trial]
    if missing:
        raise ValueError(f"new_trial must give the planned trial's {', '.join(missing)} (e.g. "
                         f"new_trial={{'product': 'autologous', 'disease': 'AML'}})")
    return covariates, tuple(_covariate_code(c, new_trial[c]) for c in covariates)


def _covariate_values(rows, name: str) -> np.ndarray:
    return np.array([_covariate_code(name, v) for v in rows[name]], dtype=float)


def _drop_case_reports(table):
    if "report_type" not in table.columns:
        raise ValueError("drop_case_reports needs a report_type column in the evidence table")
    keep = table["report_type"].astype(str).str.strip().str.lower() != "case report"
    return table[keep].reset_index(drop=True)


def _new_trial_intercept(idata, x_new, covariates, new_x, exnex_weight, m0, s0, seed):
    """alpha_new = alpha + gamma . x_new + tau z_new (EX) or N(m0, s0^2) (NEX, probability
    1 - exnex_weight), and prob_tox recomputed from it; seeded, so refits are identical."""
    post = idata["posterior"]
    ds = post.to_dataset()
    alpha = ds["alpha"].values
    ex = alpha + ds["tau"].values * ds["z_new"].values
    if covariates:
        ex = ex + ds["gamma"].values @ np.asarray(new_x, dtype=float)
    rng = np.random.default_rng([seed, 13])
    nex = rng.normal(m0, s0, size=ex.shape)
    is_ex = rng.random(ex.shape) < exnex_weight
    alpha_new = np.where(is_ex, ex, nex)
    ds["alpha_new"] = (("chain", "draw"), alpha_new)
    eta = alpha_new[..., None] + ds["beta"].values[..., None] * x_new
    ds["prob_tox"] = (ds["prob_tox"].dims, 1 / (1 + np.exp(-eta)))
    idata["posterior"] = ds


# -- the model: PyMC's (the reference, and the "pymc" sampler) and nutpie's kernel ------
# Every dose-response fit (each endpoint, the response model, each leave-one-out refit)
# has the same structure; only the data and the prior constants differ. For PyMC's sampler
# the model is built once per shape with its data in pm.Data containers padded to a fixed
# size (padded rows have n = 0 and add nothing to the likelihood; padded trial effects have
# no data and are dropped from the posterior), compiled once and fed new data for each fit.
# nutpie samples the same log density written out as one numba kernel
# (dosefind.priors.density, checked against this model's logp and gradient in
# tests/priors/test_density.py): numba compiling PyMC's graph for nutpie took about 10 s
# per process, the kernel about 1 s (docs/benchmarks.md).
_MODELS: dict = {}


def _padded(k: int) -> int:
    return max(8, 1 << (int(k) - 1).bit_length())


def _block_model(rows_pad: int, trials_pad: int, with_cov: bool):
    """The PyMC model of one endpoint, data padded to ``rows_pad`` rows and ``trials_pad``
    trial effects (see above)."""
    key = (rows_pad, trials_pad, with_cov)
    if key in _MODELS:
        return _MODELS[key]
    pm = _pymc()
    import pytensor.tensor as pt

    f, i = np.zeros(rows_pad), np.zeros(rows_pad, dtype="int64")
    with pm.Model() as model:
        d = dict(n=pm.Data("n", i), y=pm.Data("y", i), t_idx=pm.Data("t_idx", i),
                 x_low=pm.Data("x_low", f), x_high=pm.Data("x_high", f),
                 intercept_mean=pm.Data("intercept_mean", 0.0), intercept_sd=pm.Data("intercept_sd", 1.0),
                 slope_sd=pm.Data("slope_sd", 1.0), tau_scale=pm.Data("tau_scale", 1.0),
                 pooled_weight=pm.Data("pooled_weight", 0.5), positive_slope=pm.Data("positive_slope", 1.0))
        alpha = pm.Normal("alpha", d["intercept_mean"], d["intercept_sd"])
        # A toxicity slope is LogNormal(0, s): exp of a Normal(0, s), which is also how
        # PyMC samples a LogNormal (on the log scale); a response slope is the Normal itself.
        raw = pm.Normal("slope_raw", 0.0, d["slope_sd"])
        beta = pt.switch(d["positive_slope"] > 0.5, pt.exp(raw), raw)
        tau = pm.HalfNormal("tau", d["tau_scale"])
        z = pm.Normal("z", 0.0, 1.0, shape=trials_pad)
        u = alpha + tau * z[d["t_idx"]]
        if with_cov:
            # One column per known covariate; an unused one is all zeros (its coefficient
            # has no data and is dropped from the posterior).
            d["X"] = pm.Data("X", np.zeros((rows_pad, len(COVARIATES))))
            d["covariate_sd"] = pm.Data("covariate_sd", 1.0)
            gamma = pm.Normal("gamma", 0.0, d["covariate_sd"], shape=len(COVARIATES))
            u = u + pm.math.dot(d["X"], gamma)
        w = d["pooled_weight"]
        p = w * pm.math.invlogit(u + beta * d["x_low"]) + (1 - w) * pm.math.invlogit(u + beta * d["x_high"])
        pm.Binomial("events", n=d["n"], p=p, observed=d["y"])
        # The new trial's effect; its curve at the candidate doses is computed from the
        # draws afterwards (``_fit_block``): no deterministic to compile.
        pm.Normal("z_new", 0.0, 1.0)
    _MODELS[key] = model
    return model


def _block_data(rows, e, reference_dose, X, priors):
    """One endpoint's data and prior constants: (trial names, per-row trial index, the
    kernel's data for nutpie, the padded pm.Data values for PyMC)."""
    from dosefind.priors.density import DoseResponseData

    trials, t_idx = np.unique(rows["source"].to_numpy(str), return_inverse=True)
    low, high = dose_bounds(rows)
    n, y = rows["n"].to_numpy(int), rows[e].to_numpy(int)
    x_low, x_high = np.log(low / reference_dose), np.log(high / reference_dose)
    positive = e in TOXICITY_ENDPOINTS
    kernel = DoseResponseData(n, y, t_idx, x_low, x_high, X, len(trials), positive_slope=positive,
                              **{k: priors[k] for k in ("intercept_mean", "intercept_sd", "slope_sd", "tau_scale",
                                                        "pooled_weight", "covariate_sd")})
    return trials, t_idx, kernel


def _fit_block(rows, e, x_new, reference_dose, X, priors, s, seed_offset=0):
    """Sample one endpoint's dose-response model; returns (posterior dict, diverging, trial names)."""
    trials, t_idx, kernel = _block_data(rows, e, reference_dose, X, priors)
    seed = s["seed"] + seed_offset
    if s["sampler"] == "nutpie":
        from dosefind.priors.density import sample_nutpie

        post, diverging = sample_nutpie(kernel, draws=s["draws"], tune=s["tune"], chains=s["chains"], seed=seed,
                                        target_accept=s["target_accept"],
                                        cores=min(s["chains"], os.cpu_count() or 1))
    else:
        post, diverging = _sample_pymc_block(rows, e, t_idx, len(trials), kernel, X, priors, dict(s, seed=seed))
    out = {name: post[name] for name in ("alpha", "tau", "z_new")}
    raw = post["slope_raw"]
    out["beta"] = np.exp(raw) if e in TOXICITY_ENDPOINTS else raw
    eta = (out["alpha"] + out["tau"] * out["z_new"])[..., None] + out["beta"][..., None] * np.asarray(x_new)
    out["prob"] = 0.5 * (1 + np.tanh(0.5 * eta))     # invlogit, without overflow
    out["z"] = post["z"][..., :len(trials)]
    if X is not None:
        out["gamma"] = post["gamma"][..., :X.shape[1]]
    return out, diverging, [str(t) for t in trials]


def _pymc_block(rows, e, t_idx, num_trials, kernel, X, priors):
    """The padded PyMC model of one endpoint's block with these rows' data set in it
    (what PyMC's sampler runs, and what tests compare the numba density with)."""
    m, rows_pad, trials_pad = len(rows), _padded(len(rows)), _padded(num_trials)

    def pad(a, dtype=float):
        out = np.zeros((rows_pad,) + np.shape(a)[1:], dtype=dtype)
        out[:m] = a
        return out

    data = dict(n=pad(rows["n"].to_numpy(int), "int64"), y=pad(rows[e].to_numpy(int), "int64"),
                t_idx=pad(t_idx, "int64"), x_low=pad(kernel.x_low), x_high=pad(kernel.x_high),
                intercept_mean=priors["intercept_mean"], intercept_sd=priors["intercept_sd"],
                slope_sd=priors["slope_sd"], tau_scale=priors["tau_scale"],
                pooled_weight=priors["pooled_weight"], positive_slope=float(e in TOXICITY_ENDPOINTS))
    if X is not None:
        Xp = np.zeros((len(X), len(COVARIATES)))
        Xp[:, :X.shape[1]] = X
        data.update(X=pad(Xp), covariate_sd=priors["covariate_sd"])
    model = _block_model(rows_pad, trials_pad, X is not None)
    pm = _pymc()
    with model:
        pm.set_data(data)
    return model


def _sample_pymc_block(rows, e, t_idx, num_trials, kernel, X, priors, s):
    """PyMC's NUTS on the padded PyMC model: (draws by name, divergence flags)."""
    model = _pymc_block(rows, e, t_idx, num_trials, kernel, X, priors)
    tree = _sample(model, s)
    post = tree["posterior"].to_dataset()
    names = ("alpha", "slope_raw", "tau", "z", "z_new") + (("gamma",) if X is not None else ())
    draws = {name: np.asarray(post[name].values, dtype=float) for name in names}
    return draws, np.asarray(tree["sample_stats"]["diverging"].values).astype(bool)


def _merge_blocks(parts, endpoints, doses):
    """One DataTree (posterior + sample_stats) from the per-endpoint samples, with the
    variable names and coordinates of the joint model (``alpha``, ``beta``, ``tau``, ``z``
    [trial], ``z_new``, ``prob_tox`` [dose], and the same with ``_response``)."""
    import xarray as xr

    post, stats = {}, {}
    coords = {"dose": [float(d) for d in doses]}
    for k, (out, diverging, trials) in enumerate(parts):
        sfx = "" if k == 0 else "_response"
        coords[f"trial{sfx}"] = trials
        for name, arr in out.items():
            if name == "prob":
                post["prob_tox" if k == 0 else "prob_response"] = (("chain", "draw", "dose"), arr)
            elif name == "z":
                post[f"z{sfx}"] = (("chain", "draw", f"trial{sfx}"), arr)
            elif name == "gamma":
                post["gamma"] = (("chain", "draw", "gamma_dim_0"), arr)
            else:
                post[f"{name}{sfx}"] = (("chain", "draw"), arr)
        stats["diverging" if k == 0 else "diverging_response"] = (("chain", "draw"), diverging)
    chains, draws = parts[0][1].shape
    coords.update(chain=np.arange(chains), draw=np.arange(draws))
    return xr.DataTree.from_dict({"posterior": xr.Dataset(post, coords=coords),
                                  "sample_stats": xr.Dataset(stats, coords=dict(chain=np.arange(chains),
                                                                                 draw=np.arange(draws)))})
