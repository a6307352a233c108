"""A table's Monte Carlo tally from trial counts per final state (``tally_counts``).

Its golden numbers are the general engine's tallies for the same seed
(test_table_walker.py).  This file checks the path those runs never take: beyond
2**53 / cap**2 trials the sums are formed in integers instead of exact floating point.
Every sum of a tally is linear in the trial counts, so multiplying each count by K must
multiply every field by K exactly (exact arithmetic: no reference numbers needed).
"""

import numpy as np
import pytest

from dosefind.designs import BOIN, ThreePlusThree
from dosefind.simulations import tables
from dosefind.simulations.monte_carlo import walk_chunk
from dosefind.simulations.results import above_mtd_mask


@pytest.mark.parametrize("make", [lambda: BOIN(target=0.3, num_doses=5, max_n=30),
                                  lambda: ThreePlusThree(num_doses=4)], ids=["BOIN", "3+3"])
def test_integer_path_equals_scaled_float_path(make):
    design = make()
    tables.clear_tables()
    table = tables.table_for(design)
    p = np.linspace(0.05, 0.6, design.num_doses)
    final = walk_chunk(table, p, 7, 0, 5000, jit=False)
    counts = np.bincount(final, minlength=table.size).astype(np.int64)
    above = above_mtd_mask(p, 0.3)
    K = 10 ** 10  # 5,000 * K trials * cap**2 > 2**53: the integer path
    assert int(counts.sum()) * K * int(table.cap) ** 2 >= 2 ** 53
    small, large = table.tally_counts(counts, above), table.tally_counts(counts * K, above)
    for f in small.FIELDS:
        assert np.array_equal(np.asarray(getattr(small, f)) * K, getattr(large, f)), f
    assert large.reasons == {k: v * K for k, v in small.reasons.items()}
    assert int(small.w) == 5000 and int(small.od60) <= int(small.w)


@pytest.mark.parametrize("make", [lambda: BOIN(target=0.3, num_doses=5, max_n=30),
                                  lambda: BOIN(target=0.25, num_doses=6, max_n=31, extrasafe=True),
                                  lambda: ThreePlusThree(num_doses=4)], ids=["BOIN", "BOIN-31", "3+3"])
def test_compiled_tally_gives_the_numpy_integers(make):
    # The compiled tally (used once the compiled walker is loaded) and the numpy tally are
    # two codings of the same sums: equal integers, field by field, also for a design
    # without max_n (3+3) and in the integer range (counts * K).
    from dosefind.simulations import walker

    if walker.jit_walker() is None:
        pytest.skip("numba is not available")
    assert walker.jit_tally() is not None
    design = make()
    tables.clear_tables()
    table = tables.table_for(design)
    p = np.linspace(0.05, 0.6, design.num_doses)
    above = above_mtd_mask(p, 0.3)
    counts = np.bincount(walk_chunk(table, p, 3, 0, 5000, jit=False), minlength=table.size).astype(np.int64)
    for scale in (1, 10 ** 10):
        plain, compiled = table.tally_counts(counts * scale, above, jit=False), table.tally_counts(
            counts * scale, above, jit=True)
        for f in plain.FIELDS:
            a, b = getattr(plain, f), getattr(compiled, f)
            assert np.asarray(a).dtype == np.asarray(b).dtype and np.array_equal(a, b), f
        assert list(plain.reasons.items()) == list(compiled.reasons.items())
