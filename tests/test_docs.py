"""Every Python example in README.md and docs/ runs, and prints what the page says.

Code blocks fenced as ```python are executed in order, one namespace per file, in a
temporary working directory. A block preceded by the line ``<!-- not-run -->`` is skipped
(used only for examples that need a file the reader makes first).

Printed output.  A one-line ``print(...)`` followed by the comment ``# -> EXPECTED``
must print EXPECTED: runs of whitespace compare equal, and ``...`` stands for any text
(as doctest's ELLIPSIS), so a table can be given by its first cells.  On the pages in
``STRICT`` (README.md and docs/designs/) every ``print`` must carry its expected output,
so no printed claim goes unchecked.

Docstring examples in dosefind/ run too (pytest --doctest-modules, set in pyproject);
``test_docstring_examples_run`` runs those of the designs and the trial state directly.
"""

import doctest
import importlib
import io
import re
from contextlib import redirect_stdout
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted([ROOT / "README.md", *ROOT.glob("docs/**/*.md")])
BLOCK = re.compile(r"(<!-- not-run -->\s*)?```python\n(.*?)```", re.S)
SLOW_DOCS = {"priors.md", "report.md", "study-file.md"}
STRICT = {ROOT / "README.md", *ROOT.glob("docs/designs/*.md")}
EXPECT = re.compile(r"^(?P<indent>\s*)print\((?P<args>.*)\)\s*# -> (?P<expected>.*)$")


def _params():
    for f in FILES:
        if f.is_file() and "```python" in f.read_text():
            marks = [pytest.mark.slow] if f.name in SLOW_DOCS else []
            yield pytest.param(f, id=str(f.relative_to(ROOT)), marks=marks)


def _matches(expected: str, got: str) -> bool:
    norm = lambda s: " ".join(s.split())
    return doctest._ellipsis_match(norm(expected), norm(got))  # the matcher doctest's ELLIPSIS uses


def _checked_print(where: str, expected: str, *args, **kwargs):
    buf = io.StringIO()
    print(*args, **kwargs, file=buf)
    got = buf.getvalue()
    print(got, end="")
    assert _matches(expected, got), f"{where}: printed\n{got}\nbut the page says\n{expected}"


def _instrument(code: str, name: str, strict: bool) -> str:
    """Replace ``print(args)  # -> expected`` lines by a call that checks the output."""
    out = []
    for k, line in enumerate(code.splitlines(), 1):
        m = EXPECT.match(line)
        if m:
            where = f"{name}, block line {k}"
            line = f"{m['indent']}__checked_print({where!r}, {m['expected'].strip()!r}, {m['args']})"
        elif strict and re.match(r"^\s*print\(", line):
            raise AssertionError(f"{name}, block line {k}: a print without '# -> expected output': {line.strip()}")
        out.append(line)
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("path", list(_params()))
def test_python_examples_run(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict = {"__name__": "__docs__", "__checked_print": _checked_print}
    for skip, code in BLOCK.findall(path.read_text()):
        if skip:
            continue
        code = _instrument(code, path.name, path in STRICT)
        with redirect_stdout(io.StringIO()):
            exec(compile(code, f"{path.name}", "exec"), namespace)


def test_expected_output_check_can_fail():
    code = _instrument('print(1 + 1)  # -> 3\n', "probe", True)
    with pytest.raises(AssertionError, match="probe, block line 1: printed"):
        exec(compile(code, "probe", "exec"), {"__checked_print": _checked_print})
    with pytest.raises(AssertionError, match="a print without"):
        _instrument("print(2)\n", "probe", True)
    assert _matches("Decision(next_dose=2, ...)", "Decision(next_dose=2, action='treat')\n")
    assert not _matches("Decision(next_dose=3, ...)", "Decision(next_dose=2, action='treat')\n")


DOCTEST_MODULES = ["dosefind.state", "dosefind.designs.base", "dosefind.designs.boin", "dosefind.designs.crm",
                   "dosefind.designs.modifiers", "dosefind.designs.three_plus_three", "dosefind.designs.skeleton",
                   "dosefind.designs.isotonic", "dosefind.designs.boin12", "dosefind.designs.tite_boin12",
                   "dosefind.simulations.joint"]


@pytest.mark.parametrize("module", DOCTEST_MODULES)
def test_docstring_examples_run(module):
    import numpy as np

    saved = np.get_printoptions()
    np.set_printoptions(legacy="1.25")   # one expected output for numpy 1.26 and 2.x
    try:
        result = doctest.testmod(importlib.import_module(module), optionflags=doctest.NORMALIZE_WHITESPACE)
    finally:
        np.set_printoptions(**saved)
    assert result.failed == 0
