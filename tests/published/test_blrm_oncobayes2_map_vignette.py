"""OncoBayes2's "MAP approach" vignette (OncoBayes2 0.9-3, vignettes/map_approach.Rmd,
table "Posterior summary statistics for P(DLT) by dose").

The vignette approximates meta-analytic predictive draws of (log alpha, log beta) for two
drugs by bivariate normal mixtures (RBesT ``automixfit``, printed with w, m, s, rho per
component), then summarises the prior DLT rate of their combination: drug A with
reference dose 80, drug B with reference dose 1, no-interaction odds
1 - (1 - p_A)(1 - p_B) times exp(eta * 2ab / (1 + ab)) (a, b = dose / reference dose),
eta ~ N(0, (log 9 / 1.96)^2). We rebuild the two printed mixtures with
``BivariateNormalMixture.from_sd`` (RBesT's parametrisation), draw from them and compare
mean, sd and Pr(DLT rate > 0.33) at the 12 printed doses.

Tolerance: the printed values are rounded to 2 decimals (+-0.005) and come from Stan
draws of the prior: the vignette's sampling settings (vignettes/settings-sampling.txt) give
4 chains x 500 kept iterations = 2,000 draws (the printed ``rvar<500,4>``). We allow the
rounding plus 3.5 Monte Carlo standard errors of 2,000 independent draws: sd / sqrt(2000)
for a mean, sqrt(p (1 - p) / 2000) for a probability, and 0.015 for an sd. Our own Monte
Carlo error with 400,000 draws is below 0.001.
"""

import math

import numpy as np
import pytest
from scipy.special import expit, logit

from dosefind.priors.mixture import BivariateNormalMixture

MIX_A = BivariateNormalMixture.from_sd(
    [0.56206771, 0.43793229],
    [(-1.88227571, 0.59136954), (-1.52601780, 0.01259954)],
    [(0.68030368, 0.59829373), (0.92524450, 0.73241598)],
    [-0.29870546, 0.12832698])
MIX_B = BivariateNormalMixture.from_sd(
    [0.37748737, 0.37130812, 0.25120451],
    [(-2.62052660, -0.36785969), (-2.62077157, -0.78173676), (-3.09269497, -0.08761646)],
    [(0.42385373, 0.40861667), (0.66468212, 0.51156577), (0.66682656, 0.40148441)],
    [-0.39229212, -0.05739021, -0.50121005])

# drug A, drug B, mean, sd, P(DLT rate > 0.33): as printed in the vignette.
TABLE = [
    (25, 0.5, 0.10, 0.08, 0.01), (50, 0.5, 0.16, 0.12, 0.08), (80, 0.5, 0.24, 0.17, 0.26),
    (100, 0.5, 0.30, 0.20, 0.37), (25, 1.0, 0.13, 0.10, 0.05), (50, 1.0, 0.19, 0.16, 0.19),
    (80, 1.0, 0.28, 0.22, 0.33), (100, 1.0, 0.33, 0.25, 0.43), (25, 3.0, 0.23, 0.19, 0.25),
    (50, 3.0, 0.29, 0.25, 0.36), (80, 3.0, 0.35, 0.29, 0.45), (100, 3.0, 0.39, 0.31, 0.49),
]


@pytest.fixture(scope="module")
def draws():
    rng = np.random.default_rng(20080601)
    n = 400_000
    return MIX_A.sample(n, rng), MIX_B.sample(n, rng), rng.normal(0.0, math.log(9) / 1.96, n)


@pytest.mark.parametrize("dose_a, dose_b, mean, sd, p_over", TABLE)
def test_prior_dlt_rate_of_the_combination(draws, dose_a, dose_b, mean, sd, p_over):
    ta, tb, eta = draws
    a, b = dose_a / 80, dose_b / 1
    p_a = expit(ta[:, 0] + np.exp(ta[:, 1]) * math.log(a))   # the BLRM: logit p = log alpha + beta log(d/d*)
    p_b = expit(tb[:, 0] + np.exp(tb[:, 1]) * math.log(b))
    p0 = 1 - (1 - p_a) * (1 - p_b)
    p = expit(logit(p0) + eta * 2 * a * b / (1 + a * b))
    se = 3.5 / math.sqrt(2000)
    assert p.mean() == pytest.approx(mean, abs=0.005 + se * sd)
    assert p.std() == pytest.approx(sd, abs=0.015)
    assert (p > 0.33).mean() == pytest.approx(p_over, abs=0.005 + se * math.sqrt(p_over * (1 - p_over)))


def test_printed_mixture_moments():
    """The vignette prints the MAP draws' mean +- sd: intercept -1.73 +- 0.82, log slope
    0.34 +- 0.72 (drug A); -2.74 +- 0.62, -0.45 +- 0.53 (drug B). The mixtures reproduce them."""
    for mix, m, s in ((MIX_A, (-1.73, 0.34), (0.82, 0.72)), (MIX_B, (-2.74, -0.45), (0.62, 0.53))):
        np.testing.assert_allclose(mix.mean, m, atol=0.01)
        np.testing.assert_allclose(np.sqrt(np.diag(mix.cov)), s, atol=0.01)
