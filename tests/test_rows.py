"""dosefind._rows.distinct_rows: its groups are exactly the distinct rows (checked against
numpy's own row-wise unique), on both of its paths."""

import numpy as np
import pytest

from dosefind._rows import distinct_rows


@pytest.mark.parametrize("shape, high, low", [((5000, 4), 6, 0),       # one mixed-radix integer per row
                                              ((5000, 20), 60, 0),     # 61**20 does not fit: hashed
                                              ((3000, 3), 4, -2)])     # negative values: hashed
def test_groups_are_the_distinct_rows(shape, high, low):
    rows = np.random.default_rng(3).integers(low, high + 1, size=shape)
    rows[::7] = rows[0]  # plenty of repeats
    first, inverse = distinct_rows(rows)
    assert np.array_equal(rows[first][inverse], rows)  # every row is its group's row
    assert len(first) == len(np.unique(rows, axis=0))  # and groups are distinct


def test_empty():
    first, inverse = distinct_rows(np.zeros((0, 3), np.int64))
    assert first.size == 0 and inverse.size == 0
