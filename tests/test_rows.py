"""dosefind._rows: distinct rows, packed rows and np.unique with first indices.

Each result is checked against numpy's own (np.unique over rows, or with return_index),
which is slower but plainly right."""

import numpy as np
import pytest

from dosefind._rows import distinct_rows
from dosefind._rows import packed_rows as _packed
from dosefind._rows import unique_first as _unique_first


@pytest.mark.parametrize("shape, low, high, dtype, path", [
    ((5000, 4), 0, 6, np.int64, "packed"),
    ((3000, 3), -2, 4, np.int64, "packed"),       # packed from each column's minimum
    ((5000, 20), 0, 60, np.int64, "hashed"),      # 61**20 does not fit 63 bits
    ((3000, 20), -900, 900, np.int64, "hashed"),  # negative values, hashed
    ((3000, 4), -100, 100, np.int8, "packed"),    # small integer types (no wrap-around)
    ((3000, 3), -30000, 30000, np.int16, "packed"),
])
def test_groups_are_the_distinct_rows(shape, low, high, dtype, path):
    rows = np.random.default_rng(3).integers(low, high + 1, size=shape).astype(dtype)
    rows[::7] = rows[0]  # plenty of repeats
    assert (_packed(rows) is None) == (path == "hashed")
    first, inverse = distinct_rows(rows)
    assert np.array_equal(rows[first][inverse], rows)  # every row is its group's row
    _, want_first = np.unique(rows, axis=0, return_index=True)
    assert sorted(first.tolist()) == sorted(want_first.tolist())  # the distinct rows, first occurrences


def test_empty():
    first, inverse = distinct_rows(np.zeros((0, 3), np.int64))
    assert first.size == 0 and inverse.size == 0


def test_unique_first_is_numpy_unique_with_first_indices():
    # The quick np.unique(return_index, return_inverse): same three arrays.
    rng = np.random.default_rng(3)
    for h in (np.empty(0, np.uint64), np.array([5], np.uint64), rng.integers(0, 50, 2000).astype(np.uint64),
              rng.integers(0, 2 ** 63, 500, dtype=np.uint64)):
        want = np.unique(h, return_index=True, return_inverse=True)
        got = _unique_first(h)
        for a, b in zip(want, got):
            assert np.array_equal(a.ravel(), b)


def test_packed_keys_tell_rows_apart_or_decline():
    rng = np.random.default_rng(4)
    keys = rng.integers(-3, 40, size=(3000, 5))
    packed = _packed(keys)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    _, pfirst, pinverse = np.unique(packed, return_index=True, return_inverse=True)
    assert sorted(first.tolist()) == sorted(pfirst.tolist())  # the same groups
    assert np.array_equal(keys[pfirst[pinverse]], keys)
    wide = np.array([[0, 2 ** 62], [-2 ** 62, 0]], np.int64)  # ranges past 63 bits: no packing
    assert _packed(wide) is None


def test_small_integer_types_do_not_wrap():
    # int8 rows whose column range (200) exceeds int8's positive half: keys - min would wrap
    # in int8 and merge the last two rows (found in review).
    rows = np.array([[-100, 0], [100, 0], [82, 1], [27, 0]], np.int8)
    first, inverse = distinct_rows(rows)
    assert len(first) == 4
    assert len(set(_packed(rows).tolist())) == 4
