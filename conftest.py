"""Root pytest configuration: doctests in dosefind/ are collected (pyproject: --doctest-modules).

pyproject allows numpy >= 1.26, whose scalars print as ``True`` / ``0.5`` while numpy 2
prints ``np.True_`` / ``np.float64(0.5)``.  Doctests run with numpy's 1.25 print style
so one expected output holds on every supported numpy.
"""

import numpy as np
import pytest
from _pytest.doctest import DoctestItem


@pytest.fixture(autouse=True)
def _numpy_scalar_repr_for_doctests(request):
    if not isinstance(request.node, DoctestItem):
        yield
        return
    saved = np.get_printoptions()
    np.set_printoptions(legacy="1.25")
    try:
        yield
    finally:
        np.set_printoptions(**saved)


def pytest_ignore_collect(collection_path, config):
    """Docstring examples live in dosefind/; the test folders' conftest.py files share a
    basename, and importing them again as doctest modules clashes ("import file mismatch")."""
    if collection_path.name == "conftest.py" and "tests" in collection_path.parts:
        return True
    return None
