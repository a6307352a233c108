r"""The BLRM prior from a literature fit: the meta-analytic predictive (MAP) prior of
(log alpha, log beta), as a bivariate normal mixture plus a robust component.

The dose-response fit (``fit_dose_response``) has, for a new trial,
logit p(d) = alpha + tau z_new + beta log(d / d_ref) (plus covariate terms, fixed at the
new trial's values). That is the BLRM of ``dosefind.designs.blrm`` with reference dose
d* = d_ref, log(alpha_BLRM) = alpha + tau z_new (+ covariates) and log(beta_BLRM) =
log(beta). Its posterior-predictive draws are approximated by a mixture of bivariate
normals (EM, 1-3 components by BIC; RBesT's ``automixfit(type = "mvnorm")`` uses AIC),
then robustified, as in OncoBayes2's MAP-approach vignette:

.. math::  \pi(\theta) = (1 - w) \sum_k w_k N_2(m_k, \Sigma_k) + w\, N_2(\bar m, \mathrm{diag}(2^2, 1^2)),

with the robust weight w (default 0.2) set by the user and the robust component centred
on the mixture mean with the sds of OncoBayes2's weakly informative single-agent prior.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dosefind.priors.mixture import DEFAULT_ROBUST_SD, DEFAULT_ROBUST_WEIGHT, BivariateNormalMixture

__all__ = ["BLRMPrior", "blrm_prior_from_fit", "blrm_theta_draws"]


@dataclass(frozen=True)
class BLRMPrior:
    """A BLRM prior built from a fit, with everything a design needs to use it."""

    mixture: BivariateNormalMixture
    informative: BivariateNormalMixture
    robust_weight: float
    reference_dose: float
    doses: tuple[float, ...]
    endpoint: str

    def design_kwargs(self) -> dict:
        """Keyword arguments for ``BLRM(**kwargs, cohort_size=..., ...)``."""
        return dict(doses=list(self.doses), prior=self.mixture, reference_dose=self.reference_dose)

    def to_dict(self) -> dict:
        return dict(endpoint=self.endpoint, reference_dose=self.reference_dose, doses=list(self.doses),
                    robust_weight=self.robust_weight, prior=self.mixture.to_dict(),
                    informative=self.informative.to_dict())

    def to_frame(self):
        import pandas as pd

        m = self.mixture
        k = m.n_components
        role = ["MAP"] * (k - (1 if self.robust_weight > 0 else 0)) + (["robust"] if self.robust_weight > 0 else [])
        return pd.DataFrame(dict(component=range(1, k + 1), role=role, weight=m.weights,
                                 mean_log_alpha=[x[0] for x in m.means], mean_log_beta=[x[1] for x in m.means],
                                 sd_log_alpha=[x[0] for x in m.sds], sd_log_beta=[x[1] for x in m.sds],
                                 rho=m.rhos))


def blrm_theta_draws(fit) -> np.ndarray:
    """Posterior-predictive draws of (log alpha, log beta) for a new trial, shape (S, 2)."""
    fit.require_dose_response("a BLRM prior")
    post = fit.idata["posterior"]
    alpha = fit.draws("alpha")
    if "alpha_new" in post:       # covariates / EXNEX: the new trial's intercept is stored
        log_alpha = fit.draws("alpha_new")
    else:
        log_alpha = alpha + fit.draws("tau") * fit.draws("z_new")
    return np.column_stack([log_alpha, np.log(fit.draws("beta"))])


def blrm_prior_from_fit(fit, *, endpoint: str | None = None, robust_weight: float = DEFAULT_ROBUST_WEIGHT,
                        n_components: int | str = "auto", robust_sd=DEFAULT_ROBUST_SD) -> BLRMPrior:
    """The BLRM prior implied by a toxicity dose-response ``fit``.

    ``endpoint``: if given, the fit must be of this endpoint (a fit of another endpoint is
    refused, so a CRS fit is never used silently as a DLT prior). ``robust_weight``: weight
    of the robust component, in [0, 1] (0: none). ``n_components``: mixture size or "auto".
    """
    fit.require_dose_response("a BLRM prior")
    if endpoint is not None and fit.endpoint != endpoint:
        raise ValueError(f"the fit is of {fit.endpoint}, not {endpoint}: a BLRM prior for {endpoint} needs a "
                         f"dose-response fit of {endpoint} (dosefind priors fit --endpoint {endpoint} ...)")
    w = float(robust_weight)
    if not 0 <= w <= 1:
        raise ValueError(f"robust_weight must be between 0 and 1, got {robust_weight}")
    theta = blrm_theta_draws(fit)
    informative = BivariateNormalMixture.fit(theta, n_components)
    mixture = informative.with_robust(w, sd=robust_sd)
    return BLRMPrior(mixture, informative, w, float(fit.meta["reference_dose"]), fit.doses, fit.endpoint)
