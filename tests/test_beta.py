"""dosefind._beta: Beta tails by the exact binomial identity, checked against scipy.

For whole a, b >= 1, 1 - I_x(a, b) = Pr{Binomial(a + b - 1, x) <= a - 1} (the order-statistic
identity; e.g. Abramowitz & Stegun 26.5.24 with 26.5.26).  The reference values come from
scipy.special.betainc / betaincc (Boost's incomplete beta) and, for the identity itself, from
a hand sum in exact fractions.
"""

from fractions import Fraction
from math import comb

import numpy as np
import pytest
from scipy.special import betainc, betaincc
from scipy.stats import beta as beta_dist

from dosefind._beta import EXACT_MAX_TRIALS, beta_cdf, beta_sf

GRID_P = [0.0, 1e-6, 0.01, 0.05, 0.1, 0.18, 0.25, 0.3, 1 / 3, 0.42, 0.5, 0.6, 0.75, 0.9, 0.99, 1.0]


@pytest.mark.parametrize("p", GRID_P)
def test_whole_parameters_agree_with_scipy_on_a_grid(p):
    # y DLTs of n patients under a Beta(1, 1) prior: Beta(y + 1, n - y + 1), n up to 99
    ab = np.array([(y + 1, n - y + 1) for n in range(EXACT_MAX_TRIALS) for y in range(n + 1)], dtype=float)
    a, b = ab[:, 0], ab[:, 1]
    sf = np.array([beta_sf(int(ai), int(bi), p) for ai, bi in ab])      # the scalar path
    cdf = np.array([beta_cdf(int(ai), int(bi), p) for ai, bi in ab])
    assert np.max(np.abs(sf - betaincc(a, b, p))) < 1e-12
    assert np.max(np.abs(sf - beta_dist.sf(p, a, b))) < 1e-12
    assert np.max(np.abs(cdf - betainc(a, b, p))) < 1e-12
    assert np.array_equal(beta_sf(a, b, p), sf)                          # the array path: the same values


def test_identity_by_hand_in_exact_fractions():
    # Pr(p > 0.3 | 2 DLTs of 3, Beta(1, 1)) = Pr(Bin(4, 0.3) <= 2), summed in fractions of the double 0.3
    x = Fraction(0.3)
    want = sum(comb(4, j) * x ** j * (1 - x) ** (4 - j) for j in range(3))
    assert beta_sf(3, 2, 0.3) == float(want)        # correctly rounded: one rounding of the exact value
    assert beta_cdf(3, 2, 0.3) == float(1 - want)


def test_prior_parameters_other_than_one():
    # Beta(0.5 + y, 0.5 + n - y) (fractional): scipy's value, unchanged
    assert beta_sf(2.5, 1.5, 0.3) == betaincc(2.5, 1.5, 0.3)
    # Beta(2 + y, 3 + n - y): still whole numbers, so the exact sum
    assert beta_sf(2 + 1, 3 + 2, 0.25) == pytest.approx(betaincc(3, 5, 0.25), abs=1e-15)


def test_arrays_mix_exact_and_scipy_and_broadcast():
    a = np.array([[1.0, 3.0, 2.05], [150.0, 4.0, 7.0]])    # 150 + 60 - 1 > EXACT_MAX_TRIALS: scipy
    b = np.array([[1.0, 2.0, 1.95], [60.0, 4.0, 0.5]])
    got = beta_sf(a, b, 0.3)
    assert got.shape == (2, 3)
    np.testing.assert_allclose(got, betaincc(a, b, 0.3), rtol=0, atol=1e-14)
    np.testing.assert_allclose(beta_cdf(a, b, np.array([0.1, 0.3, 0.6])), betainc(a, b, np.array([0.1, 0.3, 0.6])),
                               rtol=0, atol=1e-14)


def test_out_of_range_and_nan_follow_scipy():
    assert np.isnan(beta_sf(2, 3, 1.5)) and np.isnan(betaincc(2, 3, 1.5))
    assert np.isnan(beta_cdf(2, 3, float("nan")))
    assert beta_sf(1, 1, 0.0) == 1.0 and beta_sf(1, 1, 1.0) == 0.0


def test_scalars_give_python_floats():
    assert type(beta_sf(2, 3, 0.3)) is float and type(beta_sf(2.5, 3, 0.3)) is float


@pytest.mark.parametrize("cutoff", [0.8, 0.85, 0.9, 0.95, 0.99])
def test_boin_elimination_counts_are_the_scipy_ones(cutoff):
    # BOIN 2.7.2's get.boundary: the first y in 1..n with 1 - pbeta(target, y + 1, n - y + 1) > cutoff.eli,
    # here scanned with scipy's betaincc; BOIN's tables (dosefind._beta, exact sums) must give the same counts,
    # for the elimination and (cutoff - offset) the extra-safety rule, every n up to 100.
    from dosefind.designs import BOIN
    from dosefind.designs.boin import _NONE

    for target in np.round(np.arange(0.05, 0.601, 0.05), 2):
        d = BOIN(target=target, num_doses=2, cohort_size=1, max_n=100, n_earlystop=100, cutoff_eli=cutoff,
                 extrasafe=True, offset=0.05)
        _, _, elim, stop = d._tables
        for n in range(3, 101):
            y = np.arange(1, n + 1)
            first = lambda c: next((int(k) for k in y[betaincc(y + 1.0, n - y + 1.0, target) > c]), None)
            want_elim, want_stop = first(cutoff), first(cutoff - 0.05)
            assert (None if elim[n] == _NONE else elim[n]) == want_elim, (target, n)
            if want_elim is not None:
                assert (None if stop[n] == _NONE else stop[n]) == want_stop, (target, n)


def test_infinite_parameters_go_to_scipy_not_an_overflow():
    """int(inf) would raise OverflowError on the exact path (review finding): such parameters
    take scipy's path and give its answer."""
    from scipy.special import betaincc

    from dosefind._beta import beta_sf

    assert beta_sf(float("inf"), 1, 0.3) == betaincc(float("inf"), 1, 0.3)
