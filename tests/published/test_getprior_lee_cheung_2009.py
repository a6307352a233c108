"""getprior: the indifference-interval skeleton of Lee & Cheung (2009), as dfcrm's getprior.

No printed getprior output could be found in public sources, so the goldens are computed
here independently of dosefind:

* the closed form of the calibration (Lee SM, Cheung YK. Clin Trials 2009;6:227-238,
  Section 3; dfcrm R/dfcrm.R ``getprior`` performs the same recursion step by step):
  empiric  s_k = target ** (rho ** (nu - k)), rho = log(target - d) / log(target + d);
* the defining property, checked with Cheung & Chappell's (2002) sensitivity analysis
  (dfcrm ``crmsens``): the dose-switching values b_k solve p_{k-1}(b) + p_k(b) = 2 target
  (found here by bisection), and at b_k the two doses sit at target -/+ halfwidth.
"""

import math

import pytest
from scipy.optimize import brentq
from scipy.special import expit

from dosefind.designs.skeleton import getprior

# Hand-computed closed form for getprior(0.05, 0.25, 3, 5) (the dfcrm manual's setting,
# empiric model), to 10 digits: 0.25 ** (rho ** j), j = 2, 1, 0, -1, -2.
RHO = math.log(0.20) / math.log(0.30)
CLOSED_FORM = [0.25 ** (RHO ** j) for j in (2, 1, 0, -1, -2)]


def test_closed_form_dfcrm_manual_setting():
    assert getprior(0.05, 0.25, 3, 5) == pytest.approx(CLOSED_FORM, abs=1e-10)
    # Rounded values for reference in the docs: 0.08397 0.15674 0.25 0.35450 0.46034.
    assert [round(p, 5) for p in getprior(0.05, 0.25, 3, 5)] == [0.08397, 0.15674, 0.25, 0.3545, 0.46034]


def _expit(v):
    return float(expit(v))


def _logit(p):
    return math.log(p / (1 - p))


def _crmsens_switch_points(skel, target, model, a=3.0):
    """dfcrm crmsens idea: b_k with p_{k-1}(b) + p_k(b) = 2 * target (bisection/Brent)."""
    if model == "empiric":
        prob = lambda s, b: s ** math.exp(min(b, 700))
    else:
        prob = lambda s, b: _expit(a + math.exp(min(b, 700)) * (_logit(s) - a))
    return [brentq(lambda b: prob(skel[k - 1], b) + prob(skel[k], b) - 2 * target, -20, 20, xtol=1e-14)
            for k in range(1, len(skel))], prob


@pytest.mark.parametrize("model", ["empiric", "logistic"])
@pytest.mark.parametrize("halfwidth,target,nu,num_doses", [
    (0.05, 0.25, 3, 5), (0.10, 0.25, 3, 6), (0.04, 0.20, 1, 4), (0.07, 0.33, 5, 5), (0.02, 0.10, 2, 7),
])
def test_indifference_intervals_are_target_plus_minus_halfwidth(model, halfwidth, target, nu, num_doses):
    skel = getprior(halfwidth, target, nu, num_doses, model=model)
    assert len(skel) == num_doses
    assert skel[nu - 1] == pytest.approx(target, abs=1e-12)
    assert all(b > a for a, b in zip(skel, skel[1:]))
    switch, prob = _crmsens_switch_points(skel, target, model)
    for k, b in enumerate(switch, start=1):
        assert prob(skel[k - 1], b) == pytest.approx(target - halfwidth, abs=1e-9)
        assert prob(skel[k], b) == pytest.approx(target + halfwidth, abs=1e-9)


def test_logistic_dfcrm_manual_example_closed_form():
    # dfcrm manual: getprior(0.10, 0.25, 3, nlevel=6, model="logistic"), intercept 3.
    a = 3.0
    rho = (_logit(0.15) - a) / (_logit(0.35) - a)
    x3 = _logit(0.25) - a
    expected = [_expit(a + x3 * rho ** j) for j in (2, 1, 0, -1, -2, -3)]
    assert getprior(0.10, 0.25, 3, 6, model="logistic") == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("kwargs,match", [
    (dict(halfwidth=0.3, target=0.25, nu=3, num_doses=5), "halfwidth must be between 0 and min"),
    (dict(halfwidth=0.0, target=0.25, nu=3, num_doses=5), "halfwidth must be between 0 and min"),
    (dict(halfwidth=0.05, target=1.2, nu=3, num_doses=5), "target must be between 0 and 1"),
    (dict(halfwidth=0.05, target=0.25, nu=6, num_doses=5), "nu must be between 1 and 5"),
    (dict(halfwidth=0.05, target=0.25, nu=0, num_doses=5), "nu must be between 1 and 5"),
    (dict(halfwidth=0.05, target=0.25, nu=1, num_doses=0), "num_doses must be >= 1"),
    (dict(halfwidth=0.05, target=0.25, nu=1, num_doses=3, model="probit"), "model must be 'empiric' or 'logistic'"),
    (dict(halfwidth=0.05, target=0.25, nu=1, num_doses=3, model="logistic", intercept=-1.0),
     "intercept must exceed logit"),
])
def test_validation_messages(kwargs, match):
    with pytest.raises(ValueError, match=match):
        getprior(**kwargs)
