"""Distinct rows of integer matrices, quickly (engines and designs' batch rules share it).

``np.unique(..., axis=0)`` and unique over a void view sort whole rows byte by byte; sorting
one integer per row is several times quicker.  A row becomes one int64 (mixed radix) when
its values fit, otherwise a 64-bit random linear hash whose groups are then checked row by
row (a collision, with chance about 2**-64 per pair, falls back to the byte sort): the
groups are always exactly the distinct rows.
"""

from __future__ import annotations

import numpy as np

__all__ = ["distinct_rows"]

_MULT = None


def _multipliers(width: int) -> np.ndarray:
    global _MULT
    if _MULT is None or _MULT.size < width:
        rng = np.random.default_rng(20_261_202)  # fixed: the grouping is reproducible
        _MULT = rng.integers(0, 2 ** 63, size=max(width, 64), dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    return _MULT[:width]


def distinct_rows(rows) -> tuple[np.ndarray, np.ndarray]:
    """(index of one occurrence of each distinct row, inverse: row -> its group), for a 2-D
    integer array.  Groups come in no particular order."""
    rows = np.ascontiguousarray(rows)
    T, W = rows.shape
    if T == 0:
        return np.zeros(0, np.intp), np.zeros(0, np.intp)
    lo, hi = int(rows.min()), int(rows.max())
    hashed = False
    if lo >= 0 and float(hi + 1) ** W < 2.0 ** 62:
        key = np.zeros(T, np.int64)
        for col in rows.T:
            key = key * (hi + 1) + col
    else:
        hashed = True
        with np.errstate(over="ignore"):
            key = (rows.astype(np.uint64) * _multipliers(W)).sum(axis=1, dtype=np.uint64)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    if hashed and not np.array_equal(rows[first][inverse], rows):  # pragma: no cover - a 2**-64 event
        view = rows.view(np.dtype((np.void, rows.dtype.itemsize * W))).ravel()
        _, first, inverse = np.unique(view, return_index=True, return_inverse=True)
        inverse = inverse.ravel()
    return first, inverse
