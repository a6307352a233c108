r"""The dose-response model's log density and its gradient, written out for nutpie.

The model is the one :func:`dosefind.priors.models.fit_dose_response` builds in PyMC
(``_block_model``, the reference): for one endpoint, with unconstrained parameters
:math:`\theta = (\alpha, r, \log\tau, z_1..z_T, z_\star, \gamma_1..\gamma_K)`,

.. math::

    \log p(\theta \mid y) = \log N(\alpha; m_0, s_0^2) + \log N(r; 0, s_\beta^2)
        + \log \text{Half-Normal}(\tau; \sigma_\tau) + \log\tau
        + \textstyle\sum_t \log N(z_t; 0, 1) + \log N(z_\star; 0, 1)
        + \sum_k \log N(\gamma_k; 0, s_\gamma^2)
        + \sum_i \log \mathrm{Binomial}(y_i; n_i, p_i),

    p_i = w\,\operatorname{logit}^{-1}(u_i + \beta x^{low}_i)
        + (1 - w)\,\operatorname{logit}^{-1}(u_i + \beta x^{high}_i), \quad
    u_i = \alpha + \tau z_{t(i)} + X_i \gamma,

with :math:`\beta = e^r` for a toxicity endpoint and :math:`\beta = r` for response;
:math:`\log\tau` is the Jacobian of PyMC's log transform of :math:`\tau`.

Why it exists: nutpie samples a PyMC model through a log density that numba compiles
from PyMC's graph, about 10 s per process on 2 cores (and not cached between processes),
while sampling takes about a second.  This function is one small numba kernel that
compiles in about a second (and is cached on disk by numba), so a fit at run time costs
seconds, not tens of seconds (docs/benchmarks.md, "Issue 12: `dosefind run` under 15 s").
The PyMC model stays the definition: tests/priors/test_density.py checks that this log
density and its gradient equal PyMC's (``model.compile_logp``/``compile_dlogp``) at random
points on the bundled data, with pooled rows, covariates and a response endpoint.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["DoseResponseData", "log_density", "sample_nutpie"]

_LOG_2PI = math.log(2 * math.pi)


class DoseResponseData:
    """One endpoint's rows and prior constants, as float/int arrays for the kernel."""

    def __init__(self, n, y, t_idx, x_low, x_high, X, num_trials, *, intercept_mean, intercept_sd, slope_sd,
                 tau_scale, pooled_weight, covariate_sd, positive_slope: bool):
        self.n = np.ascontiguousarray(n, dtype=np.float64)
        self.y = np.ascontiguousarray(y, dtype=np.float64)
        self.t_idx = np.ascontiguousarray(t_idx, dtype=np.int64)
        self.x_low = np.ascontiguousarray(x_low, dtype=np.float64)
        self.x_high = np.ascontiguousarray(x_high, dtype=np.float64)
        m = len(self.n)
        self.X = np.ascontiguousarray(np.zeros((m, 0)) if X is None else X, dtype=np.float64)
        self.num_trials = int(num_trials)
        # Binomial coefficients, constant in theta: kept so the value equals PyMC's logp.
        log_binom = sum(math.lgamma(a + 1) - math.lgamma(b + 1) - math.lgamma(a - b + 1)
                        for a, b in zip(self.n, self.y))
        w = float(pooled_weight)
        self.consts = np.array([intercept_mean, intercept_sd, slope_sd, tau_scale, w,
                                covariate_sd, 1.0 if positive_slope else 0.0, log_binom,
                                math.log(w) if w > 0 else -np.inf,
                                math.log1p(-w) if w < 1 else -np.inf], dtype=np.float64)

    @property
    def num_covariates(self) -> int:
        return self.X.shape[1]

    @property
    def ndim(self) -> int:
        return 3 + self.num_trials + 1 + self.num_covariates

    def args(self) -> tuple:
        return self.n, self.y, self.t_idx, self.x_low, self.x_high, self.X, self.consts


def _kernel(theta, grad, n, y, t_idx, x_low, x_high, X, consts):
    """Log density at ``theta``; writes its gradient into ``grad``.  Plain loops, so
    numba compiles it as one small function."""
    m0, s0, sb, st, w, sc, positive, log_binom, log_w, log_1mw = (
        consts[0], consts[1], consts[2], consts[3], consts[4], consts[5], consts[6], consts[7], consts[8],
        consts[9])
    T = theta.shape[0] - 4 - X.shape[1]
    K = X.shape[1]
    alpha, raw, log_tau = theta[0], theta[1], theta[2]
    tau = math.exp(log_tau)
    beta = math.exp(raw) if positive > 0.5 else raw
    for j in range(theta.shape[0]):
        grad[j] = 0.0
    # priors (with their normalising constants, as PyMC's logp has them)
    lp = -0.5 * ((alpha - m0) / s0) ** 2 - math.log(s0) - 0.5 * _LOG_2PI
    grad[0] = -(alpha - m0) / (s0 * s0)
    lp += -0.5 * (raw / sb) ** 2 - math.log(sb) - 0.5 * _LOG_2PI
    grad[1] = -raw / (sb * sb)
    lp += math.log(2.0) - 0.5 * _LOG_2PI - math.log(st) - 0.5 * (tau / st) ** 2 + log_tau
    grad[2] = -(tau / st) ** 2 + 1.0
    for j in range(3, 3 + T + 1):          # z_1..z_T and z_new
        lp += -0.5 * theta[j] ** 2 - 0.5 * _LOG_2PI
        grad[j] = -theta[j]
    for k in range(K):
        g = theta[4 + T + k]
        lp += -0.5 * (g / sc) ** 2 - math.log(sc) - 0.5 * _LOG_2PI
        grad[4 + T + k] = -g / (sc * sc)
    # likelihood
    lp += log_binom
    g_beta = 0.0
    for i in range(n.shape[0]):
        t = t_idx[i]
        u = alpha + tau * theta[3 + t]
        for k in range(K):
            u += X[i, k] * theta[4 + T + k]
        a = u + beta * x_low[i]
        b = u + beta * x_high[i]
        # log p and log(1 - p) of the two-level mixture, each as a log-sum of its parts
        la1, lb1 = -np.logaddexp(0.0, -a), -np.logaddexp(0.0, -b)     # log sigmoid(a), log sigmoid(b)
        la0, lb0 = -np.logaddexp(0.0, a), -np.logaddexp(0.0, b)       # log sigmoid(-a), log sigmoid(-b)
        log_p = np.logaddexp(log_w + la1, log_1mw + lb1)
        log_q = np.logaddexp(log_w + la0, log_1mw + lb0)
        yi, fi = y[i], n[i] - y[i]
        if yi > 0:
            lp += yi * log_p
        if fi > 0:
            lp += fi * log_q
        # d/da of [y log p + f log q]: w s(a) s(-a) (y / p - f / q), in logs for stability
        ca = math.exp(log_w + la1 + la0)
        cb = math.exp(log_1mw + lb1 + lb0)
        r = (yi * math.exp(-log_p) if yi > 0 else 0.0) - (fi * math.exp(-log_q) if fi > 0 else 0.0)
        ga, gb = ca * r, cb * r
        gu = ga + gb
        grad[0] += gu
        grad[3 + t] += gu * tau
        grad[2] += gu * tau * theta[3 + t]
        for k in range(K):
            grad[4 + T + k] += gu * X[i, k]
        g_beta += ga * x_low[i] + gb * x_high[i]
    grad[1] += g_beta * (beta if positive > 0.5 else 1.0)
    return lp


_JIT = None


def _compiled():
    """The kernel compiled by numba (once per process; numba's on-disk cache makes later
    processes load it instead of compiling)."""
    global _JIT
    if _JIT is None:
        import numba

        _JIT = numba.njit(cache=True, fastmath=False, error_model="numpy")(_kernel)
    return _JIT


def log_density(theta, data: DoseResponseData, *, compiled: bool = True) -> tuple[float, np.ndarray]:
    """(log density, gradient) at ``theta`` (see the module docstring for its layout)."""
    theta = np.ascontiguousarray(theta, dtype=np.float64)
    grad = np.empty_like(theta)
    fn = _compiled() if compiled else _kernel
    return float(fn(theta, grad, *data.args())), grad


def _pack(data: DoseResponseData) -> np.ndarray:
    """The data as one float64 buffer, read by the C callbacks through nutpie's user-data
    pointer: [length, rows, trials, covariates, constants (10), n, y, trial index, x_low,
    x_high, X (row-major)]."""
    m = len(data.n)
    buf = np.concatenate([[0.0, m, data.num_trials, data.num_covariates], data.consts, data.n, data.y,
                          data.t_idx.astype(np.float64), data.x_low, data.x_high, data.X.ravel()])
    buf[0] = buf.size
    return np.ascontiguousarray(buf)


_CFUNCS = None


def _cfuncs():
    """(log density, expand) as C callbacks with the signatures nutpie's sampler calls
    (the ones nutpie compiles for a PyMC model), so sampling runs without Python in the
    loop: about 0.3 CPU seconds for 4 x 3,000 iterations instead of about 2 with a Python
    callback (docs/benchmarks.md)."""
    global _CFUNCS
    if _CFUNCS is not None:
        return _CFUNCS
    import numba
    from numba import types

    kernel = _compiled()
    dbl = types.CPointer(types.double)

    @numba.cfunc(types.int64(types.uint64, dbl, dbl, dbl, types.voidptr), cache=True)
    def logp_c(dim, x_, out_, logp_, user_data):  # pragma: no cover - compiled
        size = int(numba.carray(user_data, (1,), np.float64)[0])
        buf = numba.carray(user_data, (size,), np.float64)
        m, K = int(buf[1]), int(buf[3])
        at = 14
        consts = buf[4:14]
        n, y, tf = buf[at:at + m], buf[at + m:at + 2 * m], buf[at + 2 * m:at + 3 * m]
        xl, xh = buf[at + 3 * m:at + 4 * m], buf[at + 4 * m:at + 5 * m]
        X = buf[at + 5 * m:at + 5 * m + m * K].reshape((m, K))
        ti = np.empty(m, np.int64)
        for i in range(m):
            ti[i] = int(tf[i])
        x = numba.carray(x_, (dim,))
        out = numba.carray(out_, (dim,))
        lp = kernel(x, out, n, y, ti, xl, xh, X, consts)
        logp_[0] = lp
        for j in range(dim):
            if not np.isfinite(out[j]):
                return 3
        if not np.isfinite(lp):
            return 4
        return 0

    @numba.cfunc(types.int64(types.uint64, types.uint64, dbl, dbl, types.voidptr), cache=True)
    def expand_c(dim, n_expanded, x_, out_, user_data):  # pragma: no cover - compiled
        x = numba.carray(x_, (dim,))
        out = numba.carray(out_, (n_expanded,))
        for j in range(dim):
            out[j] = x[j]
        out[2] = math.exp(x[2])         # tau from log tau; the rest are on the model's scale
        return 0

    _CFUNCS = (logp_c, expand_c)
    return _CFUNCS


def _names_shapes(data: DoseResponseData):
    T, K = data.num_trials, data.num_covariates
    names = ["alpha", "slope_raw", "tau", "z", "z_new"] + (["gamma"] if K else [])
    shapes = [(), (), (), (T,), ()] + ([(K,)] if K else [])
    coords = {"trial": np.arange(T), **({"covariate": np.arange(K)} if K else {})}
    dims = {"z": ("trial",), **({"gamma": ("covariate",)} if K else {})}
    return names, shapes, coords, dims


def _c_model(data: DoseResponseData, initial_point):
    """A nutpie model calling the compiled callbacks directly (nutpie's own interface for
    compiled PyMC models, ``nutpie._lib``), or None when this nutpie lacks it."""
    try:
        import dataclasses

        from nutpie import _lib
        from nutpie.sample import CompiledModel

        needed = ("LogpFunc", "ExpandFunc", "PyMcModel", "PyVariable", "PySampler")
        if not all(hasattr(_lib, n) for n in needed) or not hasattr(_lib.PySampler, "from_pymc"):
            return None
    except ImportError:
        return None
    logp_c, expand_c = _cfuncs()
    names, shapes, coords, dims = _names_shapes(data)
    buf, ndim = _pack(data), data.ndim

    @dataclasses.dataclass(frozen=True)
    class KernelModel(CompiledModel):
        @property
        def n_dim(self):
            return ndim

        @property
        def shapes(self):
            return dict(zip(names, shapes))

        @property
        def coords(self):
            return coords

        def _make_model(self, init_mean):
            sizes = {k: len(v) for k, v in coords.items()}
            logp = _lib.LogpFunc(logp_c.address, buf.ctypes.data, buf)
            expand = _lib.ExpandFunc(ndim, ndim, expand_c.address, buf.ctypes.data, buf)
            variables = _lib.PyVariable.new_variables(names, ["float64"] * len(names), shapes, sizes, dims)
            return _lib.PyMcModel(logp, expand, variables, ndim, sizes, coords, initial_point, None)

        def _make_sampler(self, settings, init_mean, cores, progress_type, extra_callback, extra_callback_rate,
                          store):
            return _lib.PySampler.from_pymc(settings, cores, self._make_model(init_mean), progress_type,
                                            extra_callback, extra_callback_rate, store)

    return KernelModel(dims=dims)


def _py_model(data: DoseResponseData, initial_point):
    """The same model through nutpie's Python-callback interface (``from_pyfunc``): the
    same draws, slower (a Python call per gradient)."""
    from nutpie.compiled_pyfunc import from_pyfunc

    fn = _compiled()
    args = data.args()
    T, K, ndim = data.num_trials, data.num_covariates, data.ndim
    names, shapes, coords, dims = _names_shapes(data)

    def make_logp():
        def logp(x):
            grad = np.empty(ndim)
            return fn(x, grad, *args), grad
        return logp

    def make_expand(seed1, seed2, chain):
        def expand(x):
            out = {"alpha": np.array(x[0]), "slope_raw": np.array(x[1]), "tau": np.array(math.exp(x[2])),
                   "z": np.array(x[3:3 + T]), "z_new": np.array(x[3 + T])}
            if K:
                out["gamma"] = np.array(x[4 + T:4 + T + K])
            return out
        return expand

    return from_pyfunc(ndim, make_logp, make_expand, [np.dtype("float64")] * len(names), shapes, names,
                       coords=coords, dims=dims, make_initial_point_fn=initial_point)


def sample_nutpie(data: DoseResponseData, *, draws: int, tune: int, chains: int, seed: int,
                  target_accept: float, cores: int, callbacks: str = "c") -> tuple[dict, np.ndarray]:
    """NUTS (nutpie) on :func:`log_density`.  Returns the draws on the model's scale,
    ``{"alpha", "slope_raw", "tau", "z", "z_new", "gamma"}`` each (chains, draws, ...), and
    the divergence flags (chains, draws).  Starting points: PyMC's (the prior's centre,
    tau at its scale) jittered by U(-1, 1) on the unconstrained scale, seeded per chain.
    ``callbacks``: "c" (compiled callbacks; Python ones when this nutpie cannot take them)
    or "python"; both give the same draws."""
    import nutpie

    ndim = data.ndim
    centre = np.zeros(ndim)
    centre[0] = data.consts[0]
    centre[2] = math.log(data.consts[3])

    def initial_point(chain_seed):
        rng = np.random.default_rng(chain_seed)
        return centre + rng.uniform(-1.0, 1.0, size=ndim)

    model = _c_model(data, initial_point) if callbacks == "c" else None
    if model is None:
        model = _py_model(data, initial_point)
    names = _names_shapes(data)[0]
    tree = nutpie.sample(model, draws=draws, tune=tune, chains=chains, cores=cores, seed=seed,
                         target_accept=target_accept, progress_bar=False, save_warmup=False)
    post = tree["posterior"].to_dataset()
    out = {name: np.asarray(post[name].values, dtype=float) for name in names}
    diverging = np.asarray(tree["sample_stats"]["diverging"].values).astype(bool)
    return out, diverging
