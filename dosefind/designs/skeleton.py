"""Skeleton calibration for the CRM by indifference intervals.

Lee and Cheung (2009) choose the CRM skeleton (the prior guesses of the DLT rate at each
dose) so that the design has a prescribed *indifference interval* target +/- halfwidth:
whatever the true curve, the CRM eventually settles on a dose whose DLT rate lies in
that interval.  For a one-parameter working model F(dose, beta), adjacent doses k-1 and
k exchange the recommendation at the value b_k of beta where

    F(dose_{k-1}, b_k) = target - halfwidth   and   F(dose_k, b_k) = target + halfwidth,

so, starting from the prior guess of the MTD (level ``nu``, whose skeleton value is the
target), the skeleton is built outwards one dose at a time.  For the empiric model
F = d ** exp(beta) the recursion has the closed form

    skeleton_k = target ** (rho ** (nu - k)),   rho = log(target - halfwidth) / log(target + halfwidth);

for the logistic model logit F = intercept + exp(beta) * x the scaled doses satisfy
x_k = (logit(target) - intercept) * rho_L ** (nu - k) with
rho_L = (logit(target - halfwidth) - intercept) / (logit(target + halfwidth) - intercept),
and skeleton_k = expit(intercept + x_k).  These agree with ``getprior`` of the R package
dfcrm (Cheung), which performs the same recursion step by step.

References
----------
Lee SM, Cheung YK. Model calibration in the continual reassessment method. Clin Trials
2009;6:227-238.

Cheung YK, Chappell R. A simple technique to evaluate model sensitivity in the continual
reassessment method. Biometrics 2002;58:671-674.

Cheung YK. Dose Finding by the Continual Reassessment Method. CRC Press 2011.

Example
-------
>>> [round(p, 4) for p in getprior(0.05, 0.25, 3, 5)]
[0.084, 0.1567, 0.25, 0.3545, 0.4603]
"""

from __future__ import annotations

import math

from dosefind import _validate as V

__all__ = ["getprior"]

MODELS = ("empiric", "logistic")


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def getprior(halfwidth: float, target: float, nu: int, num_doses: int, model: str = "empiric",
             intercept: float = 3.0) -> tuple[float, ...]:
    """Skeleton with indifference intervals ``target +/- halfwidth`` (Lee & Cheung 2009).

    Parameters
    ----------
    halfwidth : float
        Half-width of the indifference interval, in (0, min(target, 1 - target)).
        Lee & Cheung suggest values around 0.04-0.10 for targets 0.20-0.33.
    target : float
        Target DLT rate, in (0, 1).
    nu : int
        1-based dose level believed a priori to be the MTD (1..num_doses); its skeleton
        value equals ``target``.
    num_doses : int
        Number of dose levels (>= 1), at most as many as keep every skeleton value at
        least 1e-6 away from 0 and 1 (e.g. 51 for halfwidth 0.05, target 0.25, nu 3):
        the recursion approaches 1 quickly above ``nu`` and 0 below it, and more doses
        are refused with a message giving the limit.
    model : {"empiric", "logistic"}
        Working model the skeleton is calibrated for (must match the CRM's model).
    intercept : float
        Fixed intercept of the logistic working model (ignored for "empiric"); must
        exceed logit(target + halfwidth).

    Returns
    -------
    tuple of float
        Strictly increasing skeleton, one value per dose.
    """
    target = V.probability(target, "target")
    halfwidth = V._num(halfwidth, "halfwidth")
    limit = min(target, 1.0 - target)
    if not 0 < halfwidth < limit:
        raise ValueError(
            f"halfwidth must be between 0 and min(target, 1 - target) = {limit:g} (exclusive), got {halfwidth:g}"
        )
    num_doses = V.integer(num_doses, "num_doses", minimum=1)
    nu = V.integer(nu, "nu", minimum=1, maximum=num_doses)
    if model not in MODELS:
        raise ValueError(f"model must be 'empiric' or 'logistic', got {model!r}")
    lo, hi = target - halfwidth, target + halfwidth
    steps = [nu - 1 - k for k in range(num_doses)]  # (nu - k) with 0-based k
    if model == "empiric":
        rho = math.log(lo) / math.log(hi)
        return _checked(tuple(target ** (rho ** s) for s in steps), target, halfwidth, nu, num_doses)
    intercept = V._num(intercept, "intercept")
    if not math.isfinite(intercept) or not intercept > _logit(hi):
        raise ValueError(
            f"intercept must exceed logit(target + halfwidth) = {_logit(hi):.4g} for the logistic model, "
            f"got {intercept:g}"
        )
    rho = (_logit(lo) - intercept) / (_logit(hi) - intercept)
    x0 = _logit(target) - intercept
    return _checked(tuple(1.0 / (1.0 + math.exp(-(intercept + x0 * rho ** s))) for s in steps),
                    target, halfwidth, nu, num_doses)


#: Skeleton values must stay this far from 0 and 1: closer values print as 0 or 1, and in
#: double precision the recursion soon returns exactly 1.0 (200 doses above the MTD guess).
EDGE = 1e-6


def _checked(values, target, halfwidth, nu, num_doses):
    """Refuse skeletons whose values come within EDGE of 1 (too many doses above nu) or
    of 0 (too many below), instead of returning values that are 1.0 or 0.0 in print."""
    low = [k for k, v in enumerate(values) if v <= EDGE]
    if low:
        raise ValueError(f"nu must be between 1 and {nu - low[-1] - 1} for target={target:g} and "
                         f"halfwidth={halfwidth:g}: with nu={nu} the skeleton values of doses 1 to {low[-1] + 1} "
                         f"are within {EDGE:g} of 0, got nu={nu}")
    top = [k for k, v in enumerate(values) if v >= 1 - EDGE or (k and v <= values[k - 1])]
    if top:
        ok = top[0]
        raise ValueError(f"num_doses must be between 1 and {ok} for target={target:g}, halfwidth={halfwidth:g} and "
                         f"nu={nu}: from dose {ok + 1} on the skeleton values are within {EDGE:g} of 1 (they "
                         f"would print as 1.0), got {num_doses}")
    return values
