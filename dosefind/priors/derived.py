r"""What a design takes from a fitted prior: Beta approximations and effective sample
size, the robust mixture, a CRM skeleton, and prior scenarios.

Effective sample size by moment matching (RBesT's ``ess(method="moment")``): a Beta(a, b)
with the mean m and variance s^2 of the predictive draws has

.. math::  a + b = m (1 - m) / s^2 - 1, \quad a = m (a + b), \quad \mathrm{ESS} = a + b.

(Morita, Thall and Mueller 2008 define a different, curvature-based ESS; the ELIR ESS of
Neuenschwander et al. 2020 is in ``dosefind.priors.ess``.)

Robust mixture (Schmidli et al. 2014, Biometrics 70:1023-1032): ``(1 - w) Beta(a, b) + w
Beta(1, 1)``, where w is the user's weight on the vague component (prior-data conflict
moves the posterior toward the vague part). Its ESS is reported by the same moment
matching of the mixture's mean and variance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dosefind import _validate as v


def moment_matched_beta(draws) -> tuple[float, float]:
    """Beta(a, b) with the mean and variance of ``draws`` (probabilities)."""
    x = np.asarray(draws, dtype=float).ravel()
    m, s2 = float(x.mean()), float(x.var(ddof=1))
    if not 0 < m < 1 or s2 <= 0:
        raise ValueError("cannot match a Beta distribution: draws must vary and lie in (0, 1)")
    total = m * (1 - m) / s2 - 1
    if total <= 0:
        raise ValueError("draws are more spread than any Beta distribution with their mean")
    return m * total, (1 - m) * total


def robust_mixture(a: float, b: float, weight: float, vague=(1.0, 1.0)) -> dict:
    """``(1 - weight) Beta(a, b) + weight Beta(vague)``, with mean, sd and moment ESS."""
    w = v.probability(weight, "robust_weight", open_interval=False)
    comps = [((1 - w), a, b), (w, vague[0], vague[1])]
    mean = sum(p * ca / (ca + cb) for p, ca, cb in comps)
    second = sum(p * ca * (ca + 1) / ((ca + cb) * (ca + cb + 1)) for p, ca, cb in comps)
    var = second - mean ** 2
    return dict(weight_vague=w, informative=dict(a=a, b=b), vague=dict(a=vague[0], b=vague[1]),
                mean=mean, sd=var ** 0.5, ess=mean * (1 - mean) / var - 1)


@dataclass(frozen=True)
class SkeletonResult:
    """A CRM skeleton read off a fit, beside the indifference-interval skeleton."""

    doses: tuple[float, ...]
    skeleton: tuple[float, ...]
    statistic: str
    target: float
    nu: int
    halfwidth: float
    indifference_skeleton: tuple[float, ...]

    def to_dict(self) -> dict:
        return dict(doses=list(self.doses), skeleton=list(self.skeleton), statistic=self.statistic,
                    target=self.target, nu=self.nu, halfwidth=self.halfwidth,
                    indifference_skeleton=list(self.indifference_skeleton))

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(dict(dose=range(1, len(self.doses) + 1), dose_per_kg=self.doses,
                                 skeleton=self.skeleton, indifference_skeleton=self.indifference_skeleton))


def skeleton_from_fit(fit, target: float, *, halfwidth: float = 0.05, statistic: str = "median",
                      model: str = "empiric") -> SkeletonResult:
    """CRM skeleton = posterior ``statistic`` ("median" or "mean") of the predictive
    toxicity at each candidate dose, and, for comparison, the indifference-interval
    skeleton (Lee & Cheung 2009, ``getprior``) for the same target with nu = the dose
    whose posterior median is closest to the target."""
    from dosefind.designs.skeleton import getprior

    fit.require_dose_response("a skeleton")
    target = v.probability(target, "target")
    halfwidth = v.positive(halfwidth, "halfwidth")
    if statistic not in ("median", "mean"):
        raise ValueError(f"statistic must be 'median' or 'mean', got {statistic!r}")
    tox = fit.prob_tox_draws()
    skel = np.median(tox, axis=0) if statistic == "median" else tox.mean(axis=0)
    if np.any(np.diff(skel) <= 0):  # only possible by rounding at 0 or 1
        raise ValueError(f"posterior {statistic} toxicity is not strictly increasing across the doses: "
                         f"{np.round(skel, 4).tolist()}; choose doses further apart")
    nu = int(np.argmin(np.abs(np.median(tox, axis=0) - target))) + 1
    indiff = getprior(halfwidth, target, nu, len(skel), model=model)
    return SkeletonResult(fit.doses, tuple(float(p) for p in skel), statistic, target, nu, halfwidth,
                          tuple(float(p) for p in indiff))


def draw_scenarios(fit, n: int, seed: int | np.random.Generator | None = 0):
    """``n`` dose-toxicity curves (and response probabilities, if fitted) drawn from the
    posterior predictive, in the simulation engine's long format: columns ``scenario``
    (1..n), ``dose`` (1-based level), ``dose_per_kg``, ``true_prob_tox`` and, when the fit
    has a response model, ``true_prob_response`` (toxicity and response from the same
    posterior draw). Draws are taken without replacement while n allows."""
    import pandas as pd

    fit.require_dose_response("scenarios")
    n = v.integer(n, "n", minimum=1)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(v.integer(seed, "seed", minimum=0))
    tox = fit.prob_tox_draws()
    pick = rng.choice(tox.shape[0], size=n, replace=n > tox.shape[0])
    k = len(fit.doses)
    out = dict(scenario=np.repeat(np.arange(1, n + 1), k), dose=np.tile(np.arange(1, k + 1), n),
               dose_per_kg=np.tile(np.asarray(fit.doses, dtype=float), n),
               true_prob_tox=tox[pick].ravel())
    if fit.has_response:
        out["true_prob_response"] = fit.prob_response_draws()[pick].ravel()
    return pd.DataFrame(out)
