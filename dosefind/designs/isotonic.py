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

:func:`pava_rows` runs the same algorithm on many rows at once (one numpy step per merge,
for every row that still has a violation), so engines and batch selections can fit
thousands of final trial states together; :func:`pava` is its one-row case, so both give
the same bits.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["pava", "pava_rows"]


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
    # One short row: a plain loop beats numpy's per-call overhead (select_mtd fits a few
    # rows per trial state).  tests/simulations/test_pava_rows.py checks it against pava_rows bit
    # for bit.
    xs, ws, level = x.tolist(), w.tolist(), list(range(n))
    ld = np.longdouble
    while True:
        i = next((j for j in range(n - 1) if xs[j + 1] < xs[j]), None)
        if i is None:
            return np.array(xs)
        a, b = level[i], level[i + 1]
        members = [j for j in range(n) if level[j] == a or level[j] == b]
        num = den = ld(0.0)
        for j in members:                       # sequential extended-precision sums
            num += ld(xs[j] * ws[j])            # the product in double, as in R
            den += ld(ws[j])
        v = float(num) / float(den)
        for j in members:
            xs[j] = v
            level[j] = a


def pava_rows(x, weights=None) -> np.ndarray:
    """:func:`pava` of every row of the 2-D array ``x`` (weights of the same shape).

    Each row follows R BOIN's loop exactly: merge the level sets around the row's *first*
    decreasing pair and give them the weighted mean, summed left to right in extended
    precision; rows are independent, so the result equals :func:`pava` row by row.

    >>> pava_rows([[0.1, 0.4, 0.2], [0.3, 0.2, 0.1]]).round(4).tolist()
    [[0.1, 0.3, 0.3], [0.2, 0.2, 0.2]]
    """
    x = np.array(x, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"x must be a 2-D array (rows to fit), got {x.ndim} dimensions")
    w = np.ones_like(x) if weights is None else np.array(weights, dtype=float)
    if w.shape != x.shape:
        raise ValueError(f"x and weights must have the same shape, got {x.shape} and {w.shape}")
    if np.isnan(x).any() or np.isnan(w).any():
        raise ValueError("x and weights must not contain missing values")
    T, n = x.shape
    if n <= 1 or T == 0:
        return x
    level = np.broadcast_to(np.arange(n), (T, n)).copy()
    while True:
        bad = np.diff(x, axis=1) < 0
        live = np.flatnonzero(bad.any(axis=1))
        if not live.size:
            return x
        i = bad[live].argmax(axis=1)                      # first decreasing pair of each row
        lv = level[live]
        a = lv[np.arange(live.size), i][:, None]
        b = lv[np.arange(live.size), i + 1][:, None]
        members = (lv == a) | (lv == b)
        xl, wl = x[live], w[live]
        prod = np.where(members, xl * wl, 0.0)            # products in double, as in R
        # Left-to-right sums in extended precision (adding the zeros of non-members is exact).
        num = np.cumsum(prod.astype(np.longdouble), axis=1)[:, -1]
        den = np.cumsum(np.where(members, wl, 0.0).astype(np.longdouble), axis=1)[:, -1]
        mean = num.astype(float) / den.astype(float)
        x[live] = np.where(members, mean[:, None], xl)
        level[live] = np.where(members, a, lv)
