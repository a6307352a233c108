"""Vectorised PAVA (dosefind.designs.isotonic.pava_rows), used for MTD selection over many
final trial states at once (issue 14)."""

import numpy as np
import pytest
from scipy.optimize import isotonic_regression

from dosefind.designs.isotonic import pava, pava_rows


def _cases(seed=3, count=400):
    rng = np.random.default_rng(seed)
    for t in range(count):
        n = int(rng.integers(1, 9))
        x = rng.uniform(0, 1, n)
        if t % 3 == 0:  # ties and exact repeats, as observed DLT rates have
            x = np.round(x, 1)
        yield x, rng.uniform(0.1, 5, n)


def test_rows_equal_the_one_row_loop_bit_for_bit():
    for x, w in _cases():
        assert np.array_equal(pava_rows(x[None], w[None])[0], pava(x, w))


def test_many_rows_at_once_equal_each_row_alone():
    rng = np.random.default_rng(4)
    X, W = np.round(rng.uniform(0, 1, (300, 6)), 2), rng.uniform(0.2, 4, (300, 6))
    fitted = pava_rows(X, W)
    assert np.array_equal(fitted, np.array([pava(x, w) for x, w in zip(X, W)]))


def test_rows_solve_weighted_isotonic_regression():
    # The solution is unique (Barlow et al. 1972), so scipy's independent solver must agree.
    for x, w in _cases(seed=5, count=100):
        assert pava_rows(x[None], w[None])[0] == pytest.approx(isotonic_regression(x, weights=w).x, abs=1e-12)


def test_hand_example_and_errors():
    # 0.4 and 0.2 pool to their mean; 0.5 and 0.1 with weights 1, 3 pool to 0.2.
    assert pava_rows([[0.1, 0.4, 0.2, 0.5], [0.5, 0.1, 0.6, 0.7]], [[1, 1, 1, 1], [1, 3, 1, 1]]).round(12).tolist() \
        == [[0.1, 0.3, 0.3, 0.5], [0.2, 0.2, 0.6, 0.7]]
    with pytest.raises(ValueError, match="x must be a 2-D array"):
        pava_rows([0.1, 0.2])
    with pytest.raises(ValueError, match="same shape"):
        pava_rows([[0.1, 0.2]], [[1.0]])
    with pytest.raises(ValueError, match="missing values"):
        pava_rows([[0.1, np.nan]])
