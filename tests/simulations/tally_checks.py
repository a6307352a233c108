"""Shared assertion of the engine tests: two tallies are equal integer by integer."""

import numpy as np


def assert_same_tally(a, b):
    """Every field and every stop reason of tally ``b`` equals ``a``'s, and reasons are integers."""
    for f in a.FIELDS:
        assert np.array_equal(getattr(a, f), getattr(b, f)), f
    assert a.reasons == b.reasons
    assert all(isinstance(v, int) for v in b.reasons.values())
