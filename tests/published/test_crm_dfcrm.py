"""CRM against the R package dfcrm (Cheung; R/dfcrm.R ``crm``).

Printed dfcrm outputs come from the README of the R package *escalation* (Brock;
github.com/brockk/escalation, README.md, sections get_dfcrm, dont_skip_doses, stop_at_n,
stop_when_n_at_dose, stop_when_tox_ci_covered, stop_when_too_toxic, try_rescue_dose),
whose ``get_dfcrm`` selector calls ``dfcrm::crm`` with default arguments (empiric model,
scale = sqrt(1.34), conf.level = 0.9) and reports:

* ``recommended_dose`` = crm()$mtd (no restriction applied);
* ``prob_tox_quantile(p)`` = skeleton ^ exp(qnorm(1 - p, estimate, sqrt(post.var))), which
  at p = 0.05 is exactly dfcrm's ptoxL at conf.level 0.9;
* ``prob_tox_exceeds(t)`` = pnorm(log(log(t) / log(skeleton)), estimate, sqrt(post.var)).

The last two pin dfcrm's posterior mean and variance of beta to about 7 digits.
"""

import math

import numpy as np
import pytest
from scipy.stats import norm

from dosefind import TrialState
from dosefind.designs.crm import CRM

SKELETON = [0.05, 0.1, 0.25, 0.4, 0.6]
TARGET = 0.25


def fit(outcomes, **kw):
    crm = CRM(SKELETON, TARGET, **kw)
    return crm.select_mtd(TrialState.from_outcomes(outcomes, num_doses=5))


def escalation_prob_tox_exceeds(sel, threshold):
    d = sel.details
    return norm.cdf(np.log(np.log(threshold) / np.log(SKELETON)), d["beta_mean"], math.sqrt(d["beta_var"]))


@pytest.mark.parametrize("outcomes,expected", [
    ("2NNN", 4),                                   # README get_dfcrm: "model advocates skipping straight to dose 4"
    ("1NNN 2NTN", 2),                              # get_dfcrm help-page example
    ("1NN 2NT", 2),                                # follow_path then get_dfcrm
    ("1NNN 2TNN 2NNN 3NNN", 3),                    # stop_at_n
    ("1NNN 2TNN 2NNN 3NNN 3NTN", 3),               # stop_at_n
    ("1NNN 2TNN 2NTN", 2),                         # stop_when_n_at_dose
    ("1NNN 2TNN 2NTN 2NNN", 2),                    # stop_when_n_at_dose
    ("1NNN 2NTN 2TNN 2NNN 2NNT 2NTN 2NNN 2TNN", 2),  # stop_when_tox_ci_covered
    ("1NTN", 1),                                   # stop_when_too_toxic
    ("1NNN 2NTT", 1),                              # escalation tests/testthat/test_dfcrm.R
])
def test_recommended_dose_empiric(outcomes, expected):
    assert fit(outcomes).mtd == expected


def test_recommended_dose_logistic_intercept_4():
    # README get_dfcrm: get_dfcrm(skeleton, target, intcpt = 4, model = 'logistic') on '2NNN 3TNN' -> 3.
    assert fit("2NNN 3TNN", model="logistic", intercept=4).mtd == 3


def test_ptoxL_at_conf_level_0_9():
    # README stop_when_tox_ci_covered: prob_tox_quantile(p = 0.05) printed to 8 digits.
    sel = fit("1NNN 2NTN 2TNN 2NNN 2NNT 2NTN 2NNN 2TNN")
    expected = [0.04876626, 0.09809797, 0.24712623, 0.39695491, 0.59744927]
    assert sel.details["lower"] == pytest.approx(expected, abs=2e-8)


@pytest.mark.parametrize("outcomes,expected,tol", [
    # README try_rescue_dose, printed to 7 digits.
    ("2TTT", [0.8673669, 0.9307674, 0.9857421, 0.9971830, 0.9998310], 2e-7),
    ("2TTT 1NN", [0.6683818, 0.8195981, 0.9668375, 0.9951862, 0.9998694], 2e-7),
    # README stop_when_too_toxic, printed rounded to 2 digits.
    ("1NTN", [0.35, 0.53, 0.82, 0.95, 1.00], 0.005),
    ("1NTN 1TTT", [0.87, 0.95, 1.00, 1.00, 1.00], 0.005),
])
def test_posterior_mean_and_variance_of_beta(outcomes, expected, tol):
    sel = fit(outcomes)
    assert escalation_prob_tox_exceeds(sel, 0.35) == pytest.approx(expected, abs=tol)


def test_ptox_is_model_at_posterior_mean():
    # dfcrm: ptox <- prior^exp(est); ptoxU <- prior^exp(est - z * sd).
    sel = fit("1NNN 2NTN")
    b, sd = sel.details["beta_mean"], math.sqrt(sel.details["beta_var"])
    z = norm.ppf(0.95)
    assert sel.estimates == pytest.approx([s ** math.exp(b) for s in SKELETON], abs=1e-14)
    assert sel.details["upper"] == pytest.approx([s ** math.exp(b - z * sd) for s in SKELETON], abs=1e-14)
