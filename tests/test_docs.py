"""Every Python example in README.md and docs/ runs.

Code blocks fenced as ```python are executed in order, one namespace per file, in a
temporary working directory. A block preceded by the line ``<!-- not-run -->`` is skipped
(used only for examples that need a file the reader makes first).
"""

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted([ROOT / "README.md", *ROOT.glob("docs/**/*.md")])
BLOCK = re.compile(r"(<!-- not-run -->\s*)?```python\n(.*?)```", re.S)
SLOW_DOCS = {"priors.md", "report.md", "study-file.md"}


def _params():
    for f in FILES:
        if f.is_file() and "```python" in f.read_text():
            marks = [pytest.mark.slow] if f.name in SLOW_DOCS else []
            yield pytest.param(f, id=str(f.relative_to(ROOT)), marks=marks)


@pytest.mark.parametrize("path", list(_params()))
def test_python_examples_run(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict = {"__name__": "__docs__"}
    for skip, code in BLOCK.findall(path.read_text()):
        if skip:
            continue
        exec(compile(code, f"{path.name}", "exec"), namespace)
