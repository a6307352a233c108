"""Fixtures of the grid tests; the files themselves are in grid_files.py."""

import pytest

pytest.importorskip("pyarrow")

from grid_files import tiny_text  # noqa: E402


@pytest.fixture
def tiny_grid_file(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text(tiny_text())
    return path
