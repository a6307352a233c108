r"""Standard normal CDF and quantile without scipy: the one place the CRM family evaluates them.

CRM and TITE-CRM need :math:`\Phi` for the prior mass beyond their integration grid (a handful
of scalar values per design, and one per threshold left of the grid) and :math:`\Phi^{-1}` for
the credible limits of ``select_mtd``.  ``scipy.special`` costs about 0.2 s of a command's
start-up, more than the rest of ``dosefind next-dose --design crm``, so both come from the
standard library instead:

* :func:`ndtr` is :math:`\Phi(x) = \tfrac12 \operatorname{erfc}(-x/\sqrt2)` with ``math.erfc``.
  The argument is formed as ``x * sqrt(0.5)``, the same rounded product scipy's ``ndtr`` uses,
  so the two agree to a few units in the last place of ``erfc``: within 1e-15 relative for
  :math:`|x| \le 3` and, in the lower tail, within about :math:`10^{-16} x^2` relative (the
  condition number of :math:`\Phi` there is about :math:`x^2`), i.e. below 6e-14 down to the
  smallest normal double (x = -37.5).  Arrays are evaluated element by element, which suits the
  few values the CRM family needs; it is not meant for large arrays.
* :func:`ndtri` is ``statistics.NormalDist().inv_cdf`` (Wichura's AS 241, accurate to about
  1e-16 relative), with scipy's conventions at the ends: ``ndtri(0) = -inf``, ``ndtri(1) = inf``
  and NaN outside [0, 1].

Both take scalars (returning a float) or arrays (returning an array of the same shape).
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

__all__ = ["ndtr", "ndtri"]

_SQRT_HALF = math.sqrt(0.5)
_STANDARD = NormalDist()


def _ndtr(x: float) -> float:
    return 0.5 * math.erfc(-x * _SQRT_HALF)


def _ndtri(p: float) -> float:
    if 0.0 < p < 1.0:
        return _STANDARD.inv_cdf(p)
    if p == 0.0:
        return -math.inf
    if p == 1.0:
        return math.inf
    return math.nan


def _apply(f, x):
    a = np.asarray(x, dtype=float)
    if a.ndim == 0:
        return f(float(a))
    return np.fromiter((f(v) for v in a.ravel().tolist()), dtype=float, count=a.size).reshape(a.shape)


def ndtr(x):
    """Standard normal CDF :math:`\\Phi(x)` (scipy's ``ndtr``) for a scalar or an array."""
    return _apply(_ndtr, x)


def ndtri(p):
    """Standard normal quantile :math:`\\Phi^{-1}(p)` (scipy's ``ndtri``) for a scalar or an array."""
    return _apply(_ndtri, p)
