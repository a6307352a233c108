"""Distinct rows of integer matrices, quickly (decision tables, engines and designs' batch
rules share these).

``np.unique(..., axis=0)`` and unique over a void view sort whole rows byte by byte; sorting
one integer per row is several times quicker.  A row becomes one int64 (mixed radix over
each column's range, :func:`packed_rows`) when its values fit, otherwise a 64-bit random
linear hash (:func:`odd_multipliers`) whose groups are then checked row by row (a
collision, with chance about 2**-64 per pair, falls back to the byte sort): the groups are
always exactly the distinct rows.  :func:`unique_first` is ``np.unique`` with first indices
by an unstable sort.
"""

from __future__ import annotations

import numpy as np

__all__ = ["distinct_rows", "odd_multipliers", "packed_rows", "unique_first"]


def odd_multipliers(salt: int, width: int) -> np.ndarray:
    """Odd pseudo-random 64-bit multipliers of a row hash, fixed for a salt (decision tables
    and groupings are reproducible): SplitMix64 from a seed made of the salt.  Written in
    Python integers so that an exact run does not import numpy.random (about 10 ms in a
    fresh process).
    State ids do not depend on the multipliers (they are numbered in order of first
    appearance); only the chance of a hash collision, always checked, does."""
    mask, golden = 2 ** 64 - 1, 0x9E3779B97F4A7C15
    x = (20_261_202 * golden ^ (salt + 1) * 0xD1B54A32D192ED03) & mask
    out = []
    for _ in range(width):
        x = (x + golden) & mask
        z = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        out.append((z ^ (z >> 31)) | 1)
    return np.array(out, dtype=np.uint64)


def distinct_rows(rows) -> tuple[np.ndarray, np.ndarray]:
    """(index of the first occurrence of each distinct row, inverse: row -> its group),
    for a 2-D integer array.  Groups come in no particular order."""
    rows = np.ascontiguousarray(rows)
    T, W = rows.shape
    if T == 0:
        return np.zeros(0, np.intp), np.zeros(0, np.intp)
    key = packed_rows(rows)
    hashed = key is None
    if hashed:
        with np.errstate(over="ignore"):
            key = (rows.astype(np.uint64) * odd_multipliers(0, W)).sum(axis=1, dtype=np.uint64)
    _, first, inverse = unique_first(key)
    if hashed and not np.array_equal(rows[first][inverse], rows):  # pragma: no cover - a 2**-64 event
        view = rows.view(np.dtype((np.void, rows.dtype.itemsize * W))).ravel()
        _, first, inverse = np.unique(view, return_index=True, return_inverse=True)
        inverse = inverse.ravel()
    return first, inverse


def unique_first(h):
    """``np.unique(h, return_index=True, return_inverse=True)`` of a 1-d integer array (the
    same three arrays), by an unstable sort and the least index per group: several times
    quicker than the stable sort np.unique needs for first indices."""
    order = np.argsort(h)
    hs = h[order]
    new = np.empty(h.size, bool)
    if h.size:
        new[0] = True
        np.not_equal(hs[1:], hs[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    first = np.minimum.reduceat(order, starts) if h.size else np.empty(0, np.intp)
    inverse = np.empty(h.size, np.intp)
    inverse[order] = np.cumsum(new) - 1
    return hs[starts], first, inverse


def packed_rows(keys):
    """Rows of small integers as one int64 each (mixed radix over each column's range:
    equal rows, equal numbers, and only they), or None when they do not fit in 63 bits."""
    if not keys.shape[0]:
        return None
    keys = np.asarray(keys, dtype=np.int64)  # small integer types would wrap in keys - lo
    lo, hi = keys.min(axis=0), keys.max(axis=0)
    span = [b - a + 1 for a, b in zip(lo.tolist(), hi.tolist())]  # Python integers: no overflow
    total = 1
    for v in span:
        total *= v
    if total >= 2 ** 62:
        return None
    strides = np.cumprod([1] + span[:-1]).astype(np.int64)
    return (keys - lo) @ strides
