r"""Mixtures of bivariate normal distributions: the prior of a BLRM's (log alpha, log beta).

Parametrised as RBesT and OncoBayes2 print them (``mixmvnorm``): per component a weight
w_k, a mean m_k, standard deviations s_k and a correlation rho_k,

.. math::  \pi(\theta) = \sum_k w_k\, N_2(\theta;\ m_k, \Sigma_k), \quad
   \Sigma_k = \begin{pmatrix} s_{k1}^2 & \rho_k s_{k1} s_{k2} \\ \rho_k s_{k1} s_{k2} & s_{k2}^2 \end{pmatrix}.

``BivariateNormalMixture.fit`` approximates posterior draws by such a mixture with the EM
algorithm (as RBesT's ``mixfit(type = "mvnorm")``; the number of components is chosen by
BIC when ``n_components="auto"``, where RBesT's ``automixfit`` uses AIC), and
``with_robust`` adds a wide component so that prior-data conflict moves the posterior
toward it (Schmidli et al. 2014, Biometrics 70:1023-1032).

>>> prior = BivariateNormalMixture.from_sd([1.0], [(-0.85, 0.0)], [(2.0, 1.0)], [0.0])
>>> float(round(prior.mean[0], 2)), prior.n_components
(-0.85, 1)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["BivariateNormalMixture", "DEFAULT_ROBUST_SD", "DEFAULT_ROBUST_WEIGHT"]

#: Default standard deviations of the robust component on (log alpha, log beta): those of
#: the weakly informative prior of OncoBayes2's single-agent example (N(logit 0.5, 2^2) x
#: N(log 1, 1^2), Neuenschwander et al. 2008).
DEFAULT_ROBUST_SD = (2.0, 1.0)
#: Default weight of the robust component (0.2, a common choice: RBesT's robustify
#: vignette and Schmidli et al. 2014 use 0.1-0.2).
DEFAULT_ROBUST_WEIGHT = 0.2

_WEIGHT_TOL = 1e-6


@dataclass(frozen=True)
class BivariateNormalMixture:
    """A finite mixture of bivariate normals (immutable, hashable, JSON-able).

    ``weights`` sum to 1; ``means`` are (2,) and ``covs`` (2, 2) symmetric positive
    definite, one per component. Build with :meth:`from_sd` (RBesT's m, s, rho layout),
    :meth:`fit` (EM on draws) or :meth:`from_dict`.
    """

    weights: tuple[float, ...]
    means: tuple[tuple[float, float], ...]
    covs: tuple[tuple[tuple[float, float], tuple[float, float]], ...]

    def __post_init__(self):
        w = [float(x) for x in self.weights]
        k = len(w)
        if k == 0:
            raise ValueError("a mixture prior needs at least one component")
        if len(self.means) != k or len(self.covs) != k:
            raise ValueError(f"mixture has {k} weights but {len(self.means)} means and {len(self.covs)} covariances")
        if not all(math.isfinite(x) and x >= 0 for x in w):
            raise ValueError(f"mixture weights must be finite and >= 0, got {w}")
        if abs(sum(w) - 1) > _WEIGHT_TOL:
            raise ValueError(f"mixture weights must sum to 1, got {sum(w):.6g} ({' + '.join(f'{x:g}' for x in w)})")
        means, covs = [], []
        for i, (m, c) in enumerate(zip(self.means, self.covs), start=1):
            m = np.asarray(m, dtype=float)
            c = np.asarray(c, dtype=float)
            if m.shape != (2,) or not np.all(np.isfinite(m)):
                raise ValueError(f"component {i}: mean must be two finite numbers (log alpha, log beta), got {m.tolist()}")
            if c.shape != (2, 2) or not np.all(np.isfinite(c)):
                raise ValueError(f"component {i}: covariance must be a finite 2 x 2 matrix, got {c.tolist()}")
            if abs(c[0, 1] - c[1, 0]) > 1e-12 * max(1.0, abs(c[0, 1])):
                raise ValueError(f"component {i}: covariance must be symmetric, got {c.tolist()}")
            eig = np.linalg.eigvalsh(c)
            if not eig.min() > 0:
                raise ValueError(f"component {i}: covariance is not positive definite (eigenvalues "
                                 f"{eig[0]:.4g}, {eig[1]:.4g}); standard deviations must be > 0 and |rho| < 1")
            means.append((float(m[0]), float(m[1])))
            covs.append(((float(c[0, 0]), float(c[0, 1])), (float(c[1, 0]), float(c[1, 1]))))
        object.__setattr__(self, "weights", tuple(x / sum(w) for x in w))
        object.__setattr__(self, "means", tuple(means))
        object.__setattr__(self, "covs", tuple(covs))

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_sd(cls, weights, means, sds, rhos) -> "BivariateNormalMixture":
        """From RBesT's layout: weights, means (m1, m2), sds (s1, s2) and correlations rho."""
        covs = []
        for i, (s, r) in enumerate(zip(sds, rhos), start=1):
            s1, s2 = (float(x) for x in s)
            r = float(r)
            if not (s1 > 0 and s2 > 0):
                raise ValueError(f"component {i}: standard deviations must be > 0, got ({s1:g}, {s2:g})")
            if not -1 < r < 1:
                raise ValueError(f"component {i}: correlation rho must be in (-1, 1), got {r:g}")
            covs.append(((s1 * s1, r * s1 * s2), (r * s1 * s2, s2 * s2)))
        if not (len(covs) == len(tuple(weights)) == len(tuple(means))):
            raise ValueError("weights, means, sds and rhos must have one entry per component")
        return cls(tuple(weights), tuple(tuple(m) for m in means), tuple(covs))

    @classmethod
    def normal(cls, mean, sd, rho: float = 0.0) -> "BivariateNormalMixture":
        """One bivariate normal component."""
        return cls.from_sd([1.0], [mean], [sd], [rho])

    @classmethod
    def from_dict(cls, d: dict) -> "BivariateNormalMixture":
        """Inverse of :meth:`to_dict` (keys ``weights``, ``means``, ``sds``, ``rhos``)."""
        if not isinstance(d, dict):
            raise ValueError(f"a mixture prior must be a table with weights, means, sds and rhos, got {d!r}")
        missing = [k for k in ("weights", "means", "sds", "rhos") if k not in d]
        if missing:
            raise ValueError(f"mixture prior lacks {', '.join(missing)} (need weights, means, sds, rhos)")
        return cls.from_sd(d["weights"], d["means"], d["sds"], d["rhos"])

    def to_dict(self) -> dict:
        return dict(weights=list(self.weights), means=[list(m) for m in self.means],
                    sds=[list(s) for s in self.sds], rhos=list(self.rhos))

    # ------------------------------------------------------------------ views
    @property
    def n_components(self) -> int:
        return len(self.weights)

    @property
    def sds(self) -> tuple[tuple[float, float], ...]:
        return tuple((math.sqrt(c[0][0]), math.sqrt(c[1][1])) for c in self.covs)

    @property
    def rhos(self) -> tuple[float, ...]:
        return tuple(c[0][1] / math.sqrt(c[0][0] * c[1][1]) for c in self.covs)

    @property
    def mean(self) -> np.ndarray:
        return np.asarray(self.weights) @ np.asarray(self.means)

    @property
    def cov(self) -> np.ndarray:
        """Covariance of the whole mixture (within- plus between-component)."""
        w, m, c = np.asarray(self.weights), np.asarray(self.means), np.asarray(self.covs)
        mu = w @ m
        d = m - mu
        return np.einsum("k,kij->ij", w, c) + np.einsum("k,ki,kj->ij", w, d, d)

    def logpdf(self, theta) -> np.ndarray:
        """Log density at ``theta`` (shape (..., 2))."""
        theta = np.asarray(theta, dtype=float)
        return self.logpdf_xy(theta[..., 0], theta[..., 1])

    def logpdf_xy(self, x, y) -> np.ndarray:
        """Log density at (x, y) = (log alpha, log beta), arrays broadcast together."""
        out = None
        for w, m, c in zip(self.weights, self.means, self.covs):
            if w == 0:
                continue
            det = c[0][0] * c[1][1] - c[0][1] ** 2
            dx, dy = x - m[0], y - m[1]
            q = (c[1][1] * dx * dx - 2 * c[0][1] * dx * dy + c[0][0] * dy * dy) / det
            term = (math.log(w) - math.log(2 * math.pi) - 0.5 * math.log(det)) - 0.5 * q
            out = term if out is None else np.logaddexp(out, term)
        return out

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` draws, shape (n, 2)."""
        comp = rng.choice(self.n_components, size=n, p=np.asarray(self.weights))
        out = np.empty((n, 2))
        for k in range(self.n_components):
            idx = np.flatnonzero(comp == k)
            if idx.size:
                out[idx] = rng.multivariate_normal(self.means[k], self.covs[k], size=idx.size)
        return out

    def with_robust(self, weight: float = DEFAULT_ROBUST_WEIGHT, *, mean=None,
                    sd=DEFAULT_ROBUST_SD, rho: float = 0.0) -> "BivariateNormalMixture":
        """``(1 - weight) * self + weight * N(mean, diag(sd^2))``; ``mean`` defaults to the
        mixture's mean (the robust component is centred on the prior, only wider)."""
        w = float(weight)
        if not 0 <= w <= 1:
            raise ValueError(f"robust_weight must be between 0 and 1, got {weight}")
        if w == 0:
            return self
        mean = tuple(self.mean) if mean is None else mean
        robust = BivariateNormalMixture.normal(mean, sd, rho)
        return BivariateNormalMixture(tuple((1 - w) * x for x in self.weights) + (w,),
                                      self.means + robust.means, self.covs + robust.covs)

    # ------------------------------------------------------------------ EM
    @classmethod
    def fit(cls, draws, n_components: int | str = "auto", *, max_components: int = 3, iters: int = 500,
            tol: float = 1e-9) -> "BivariateNormalMixture":
        """Mixture approximation of ``draws`` (shape (n, 2)) by EM, deterministic (components
        start from quantile groups along the first principal axis). ``"auto"`` picks 1 to
        ``max_components`` components by BIC."""
        x = np.asarray(draws, dtype=float)
        if x.ndim != 2 or x.shape[1] != 2 or x.shape[0] < 10:
            raise ValueError(f"draws must have shape (n >= 10, 2), got {x.shape}")
        if not np.all(np.isfinite(x)):
            raise ValueError("draws must be finite")
        if n_components == "auto":
            fits = [_em(x, k, iters, tol) for k in range(1, max_components + 1)]
            n = x.shape[0]
            bic = [-2 * ll + (6 * k - 1) * math.log(n) for k, (_, ll) in enumerate(fits, start=1)]
            return fits[int(np.argmin(bic))][0]
        k = int(n_components)
        if k < 1:
            raise ValueError(f"n_components must be >= 1 or 'auto', got {n_components}")
        return _em(x, k, iters, tol)[0]


def _em(x, k, iters, tol):
    n = x.shape[0]
    center = x.mean(0)
    _, vecs = np.linalg.eigh(np.cov(x.T))
    order = np.argsort((x - center) @ vecs[:, -1])
    groups = np.array_split(order, k)
    resp = np.zeros((n, k))
    for j, g in enumerate(groups):
        resp[g, j] = 1.0
    ridge = 1e-9 * np.trace(np.cov(x.T)) * np.eye(2)
    ll_old = -np.inf
    for _ in range(iters):
        nk = resp.sum(0) + 1e-300
        w = nk / n
        mu = (resp.T @ x) / nk[:, None]
        covs = np.empty((k, 2, 2))
        for j in range(k):
            d = x - mu[j]
            covs[j] = (resp[:, j, None] * d).T @ d / nk[j] + ridge
        logp = np.empty((n, k))
        for j in range(k):
            c = covs[j]
            det = np.linalg.det(c)
            inv = np.linalg.inv(c)
            d = x - mu[j]
            logp[:, j] = np.log(w[j]) - math.log(2 * math.pi) - 0.5 * math.log(det) \
                - 0.5 * np.einsum("ni,ij,nj->n", d, inv, d)
        tot = np.logaddexp.reduce(logp, axis=1)
        ll = float(tot.sum())
        resp = np.exp(logp - tot[:, None])
        if abs(ll - ll_old) < tol * max(1.0, abs(ll)):
            break
        ll_old = ll
    covs = 0.5 * (covs + np.transpose(covs, (0, 2, 1)))
    mix = BivariateNormalMixture(tuple(float(v) for v in w / w.sum()), tuple(tuple(m) for m in mu),
                                 tuple(tuple(map(tuple, c)) for c in covs))
    return mix, ll
