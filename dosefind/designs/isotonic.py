"""Weighted isotonic (non-decreasing) regression by pool-adjacent-violators.

:func:`pava` follows the algorithm of the ``pava`` helper inside R BOIN 2.7's
``select.mtd``: repeatedly find the *first* adjacent pair that decreases, merge the two
level sets that contain it, and give the merged set the weighted mean of its current
values.  The weighted sum is accumulated in extended precision, as R's ``sum()`` does
(``LDOUBLE``), so the fitted values agree with the package to the last bit in practice.

The solution of weighted isotonic regression is unique, so
``scipy.optimize.isotonic_regression`` (scipy >= 1.12) gives the same values up to
rounding (the tests check this); we keep our own loop because BOIN's MTD selection breaks
near-ties with a 1e-10 perturbation and we want the package's arithmetic, not just its
mathematics.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["pava"]


def pava(x: Sequence[float], weights: Sequence[float] | None = None) -> np.ndarray:
    """Non-decreasing least-squares fit to ``x`` with positive ``weights``.

    >>> pava([0.1, 0.4, 0.2, 0.5]).tolist()
    [0.1, 0.30000000000000004, 0.30000000000000004, 0.5]
    """
    x = np.array(x, dtype=float)
    n = x.size
    w = np.ones(n) if weights is None else np.array(weights, dtype=float)
    if w.shape != x.shape:
        raise ValueError(f"x and weights must have the same length, got {n} and {w.size}")
    if np.isnan(x).any() or np.isnan(w).any():
        raise ValueError("x and weights must not contain missing values")
    if n <= 1:
        return x
    level = np.arange(n)
    while True:
        viol = np.flatnonzero(np.diff(x) < 0)
        if viol.size == 0:
            return x
        i = viol[0]
        members = (level == level[i]) | (level == level[i + 1])
        prod = x[members] * w[members]          # products in double, as in R
        num = np.longdouble(0.0)
        den = np.longdouble(0.0)
        for p in prod:                          # sequential extended-precision sums
            num += p
        for v in w[members]:
            den += v
        x[members] = float(num) / float(den)
        level[members] = level[i]
