r"""Beta tail probabilities: the one place dosefind evaluates the regularised incomplete beta function.

Every design that asks Pr(p > x) or Pr(p <= x) for p ~ Beta(a, b) (BOIN's elimination and
extra-safety rules, BOIN12's admissibility and futility, the stop-when-too-toxic modifier,
TITE designs) calls :func:`beta_sf` or :func:`beta_cdf` here.

Whole-number parameters (the usual case: y DLTs in n patients under a Beta(1, 1) prior gives
Beta(1 + y, 1 + n - y)) need no special functions.  For whole a, b >= 1 and m = a + b - 1,

.. math::

    I_x(a, b) = \Pr\{\mathrm{Binomial}(m, x) \ge a\},
    \qquad 1 - I_x(a, b) = \Pr\{\mathrm{Binomial}(m, x) \le a - 1\},

so with y DLTs in n patients, :math:`1 - I_x(y + 1, n - y + 1) = \Pr\{\mathrm{Bin}(n + 1, x) \le y\}`.
The binomial sum is computed exactly in integer arithmetic (x is a binary fraction p / 2^k, so
every term is an integer over 2^(k m)) and rounded once to the nearest double: the result is
correctly rounded, and it needs neither scipy nor floating-point care.  Its cost grows with m,
so beyond :data:`EXACT_MAX_TRIALS` (and for fractional parameters, e.g. BOIN's
Beta(y + 0.05, n - y + 0.05) summaries) the value comes from ``scipy.special.betainc`` /
``betaincc``, imported only then: scipy.special costs a few tenths of a second of a command's
start-up, which the quick commands (``next-dose``, ``simulate`` of a BOIN) no longer pay.

Both functions take scalars (returning a float) or arrays (returning an array, broadcast as
numpy does).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

#: Largest m = a + b - 1 summed exactly (larger go to scipy): one value at m = 100 takes about
#: 0.1 ms in Python integers (each distinct value is computed once and kept), still far less than
#: importing scipy.special, and dose-finding trials rarely treat 100 patients.
EXACT_MAX_TRIALS = 100

__all__ = ["beta_cdf", "beta_sf", "EXACT_MAX_TRIALS"]


def beta_sf(a, b, x):
    """Pr(p > x) for p ~ Beta(a, b), i.e. 1 - I_x(a, b) (scipy's ``betaincc``)."""
    return _tail(a, b, x, upper=True)


def beta_cdf(a, b, x):
    """Pr(p <= x) for p ~ Beta(a, b), i.e. I_x(a, b) (scipy's ``betainc``)."""
    return _tail(a, b, x, upper=False)


def _exact_ok(a: float, b: float, x: float) -> bool:
    return (math.isfinite(a) and math.isfinite(b) and a >= 1 and b >= 1 and a == int(a) and b == int(b)
            and a + b - 1 <= EXACT_MAX_TRIALS and 0.0 <= x <= 1.0)


def _binomial_le(k: int, m: int, x: float) -> tuple[int, int]:
    """Pr(Binomial(m, x) <= k) as an exact fraction (numerator, denominator)."""
    p, q = float(x).as_integer_ratio()
    r = q - p
    total = q ** m
    if k < 0:
        return 0, total
    if k >= m:
        return total, total
    # Sum the shorter side: j = 0..k, or j = k+1..m and take the complement (still exact).
    lower = k + 1 <= m - k
    lo, hi = (0, k) if lower else (k + 1, m)
    # sum_{j=lo..hi} C(m, j) p^j r^(m-j) = p^lo r^(m-hi) * sum_i C(m, lo+i) p^i r^(hi-lo-i), by Horner in r
    c = math.comb(m, lo)
    acc, pp = c, 1
    for j in range(lo + 1, hi + 1):
        c = c * (m - j + 1) // j
        pp *= p
        acc = acc * r + c * pp
    s = acc * p ** lo * r ** (m - hi)
    return (s if lower else total - s), total


@lru_cache(maxsize=1 << 16)
def _exact(a: float, b: float, x: float, upper: bool) -> float:
    a, b = int(a), int(b)
    num, den = _binomial_le(a - 1, a + b - 1, x)   # 1 - I_x(a, b)
    return num / den if upper else (den - num) / den


def _tail(a, b, x, upper: bool):
    if isinstance(a, _SCALARS) and isinstance(b, _SCALARS) and isinstance(x, _SCALARS) or (
            np.ndim(a) == 0 and np.ndim(b) == 0 and np.ndim(x) == 0):
        a, b, x = float(a), float(b), float(x)
        if _exact_ok(a, b, x):
            return _exact(a, b, x, upper)
        return float(_scipy(upper)(a, b, x))
    A, B, X = np.broadcast_arrays(np.asarray(a, float), np.asarray(b, float), np.asarray(x, float))
    with np.errstate(invalid="ignore"):
        ok = ((A >= 1) & (B >= 1) & (A == np.floor(A)) & (B == np.floor(B)) & (A + B - 1 <= EXACT_MAX_TRIALS)
              & (X >= 0) & (X <= 1))
    out = np.empty(A.shape)
    if ok.any():  # each distinct (a, b, x) once: engines pass many trials with the same counts
        a_ok, b_ok, x_ok = A[ok].astype(np.int64), B[ok].astype(np.int64), X[ok]
        vals = np.empty(a_ok.shape)
        for x in np.unique(x_ok):              # usually one threshold
            at = x_ok == x
            keys, inv = np.unique(a_ok[at] * (EXACT_MAX_TRIALS + 2) + b_ok[at], return_inverse=True)
            vals[at] = np.array([_exact(float(k // (EXACT_MAX_TRIALS + 2)), float(k % (EXACT_MAX_TRIALS + 2)),
                                        float(x), upper) for k in keys.tolist()])[inv]
        out[ok] = vals
    if not ok.all():
        rest = ~ok
        out[rest] = _scipy(upper)(A[rest], B[rest], X[rest])
    return out


_SCALARS = (int, float, np.integer, np.floating)
_SCIPY: dict = {}


def _scipy(upper: bool):
    if not _SCIPY:
        from scipy.special import betainc, betaincc  # lazily: only fractional or very large parameters need it

        _SCIPY.update({True: betaincc, False: betainc})
    return _SCIPY[upper]
