"""Every error a grid user can hit: one clear message, exit code 2, nothing written."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dosefind.grid import load_grid, parse_grid, run_grid

from grid_files import tiny_text

ROOT = Path(__file__).resolve().parents[2]


def _run_cli(*args, timeout=120):
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    return subprocess.run([sys.executable, "-m", "dosefind.cli", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def _with_params(params: str) -> str:
    text = tiny_text()
    return text[:text.index("[[grid.parameters]]")] + params


def test_unknown_design_in_a_parameter_name():
    with pytest.raises(ValueError, match=r"grid.parameters\[1\].*unknown parameter 'CMR.prior_var'.*did you mean 'CRM'"):
        parse_grid(_with_params('[[grid.parameters]]\nname = "CMR.prior_var"\nvalues = [0.5]\n'))


def test_unknown_option_of_a_design():
    with pytest.raises(ValueError, match=r"grid row 1.*prior_variance: unknown key \(did you mean 'prior_var'\?\)"):
        parse_grid(_with_params('[[grid.parameters]]\nname = "CRM.prior_variance"\nvalues = [0.5]\n'))


def test_unknown_study_parameter():
    with pytest.raises(ValueError, match=r"unknown parameter 'study.maxn'.*did you mean 'max_n'"):
        parse_grid(_with_params('[[grid.parameters]]\nname = "study.maxn"\nvalues = [12]\n'))


def test_value_out_of_range_names_the_row_and_key():
    with pytest.raises(ValueError, match=r"grid row 2: CRM.prior_var=-1\).*prior_var must be a positive number"):
        parse_grid(_with_params('[[grid.parameters]]\nname = "CRM.prior_var"\nvalues = [1.0, -1]\n'))


@pytest.mark.parametrize("params, message", [
    ("", r"grid.parameters: missing"),
    ("parameters = []\n", r"the grid is empty"),
    ('[[grid.parameters]]\nname = "CRM.prior_var"\nvalues = []\n', r"values: is empty: the grid would have no cells"),
])
def test_empty_grid(params, message):
    text = tiny_text()
    text = text[:text.index("[[grid.parameters]]")]
    if params.startswith("parameters"):
        text = text.replace("[grid]\n", "[grid]\n" + params)
    else:
        text += params
    with pytest.raises(ValueError, match=message):
        parse_grid(text)


def test_rows_need_equal_lengths():
    text = tiny_text().replace("[grid]\n", "[grid]\ncombine = \"rows\"\n")
    with pytest.raises(ValueError, match=r"same number of values"):
        parse_grid(text.replace("values = [1, 3]", "values = [1, 3, 2]"))
    grid = parse_grid(text)
    assert [dict(s) for s in grid.sets] == [{"CRM.skeleton.halfwidth": 0.04, "study.cohort_size": 1},
                                            {"CRM.skeleton.halfwidth": 0.06, "study.cohort_size": 3}]


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    return port


def test_scheduler_that_does_not_answer(tiny_grid_file, tmp_path):
    pytest.importorskip("distributed")
    out = tmp_path / "out"
    t = time.perf_counter()
    r = _run_cli("grid", str(tiny_grid_file), "--out", str(out), "--scheduler", f"tcp://127.0.0.1:{_closed_port()}",
                 "--timeout", "2")
    assert time.perf_counter() - t < 60  # 2 s to connect, plus starting Python under load
    assert r.returncode == 2
    assert "Error: no Dask scheduler answers at tcp://127.0.0.1:" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()


def test_out_holding_another_grid_is_refused_even_with_resume(tiny_grid_file, tmp_path):
    out = tmp_path / "out"
    run_grid(load_grid(tiny_grid_file), out, scheduler="serial")
    before = sorted(p.stat().st_mtime_ns for p in (out / "cells").iterdir())
    other = tmp_path / "other.toml"
    other.write_text(tiny_text(halfwidths="[0.05]"))
    for extra in ([], ["--resume"]):
        r = _run_cli("grid", str(other), "--out", str(out), "--scheduler", "serial", *extra)
        assert r.returncode == 2
        assert "holds the results of another grid" in r.stderr and "Traceback" not in r.stderr
    assert sorted(p.stat().st_mtime_ns for p in (out / "cells").iterdir()) == before


def test_same_grid_reformatted_is_the_same_grid(tiny_grid_file, tmp_path):
    # The hash is of the normalised grid: a new title or comment does not make another grid.
    a = load_grid(tiny_grid_file)
    b = parse_grid("# a comment\n" + tiny_grid_file.read_text().replace('title = "tiny grid"', 'title = "renamed"'))
    assert a.grid_hash == b.grid_hash
    c = parse_grid(tiny_grid_file.read_text().replace("seed = 7", "seed = 8"))
    assert c.grid_hash != a.grid_hash


def test_foreign_folder_is_refused(tiny_grid_file, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    r = _run_cli("grid", str(tiny_grid_file), "--out", str(out), "--scheduler", "serial")
    assert r.returncode == 2 and "holds no grid results written by dosefind" in r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_dry_run_prints_cells_and_cost(tiny_grid_file, tmp_path):
    r = _run_cli("grid", str(tiny_grid_file), "--dry-run", "--out", str(tmp_path / "x"))
    assert r.returncode == 0, r.stderr
    assert "16 cells = 4 parameter sets x 2 designs x 2 scenarios; 48 tasks, 9,600 simulated trials" in r.stdout
    assert "estimated cost" in r.stdout
    assert not (tmp_path / "x").exists()


def test_missing_pyarrow_names_the_extra(tiny_grid_file, tmp_path, monkeypatch):
    import builtins

    real = builtins.__import__

    def no_pyarrow(name, *args, **kwargs):
        if name.startswith("pyarrow"):
            raise ImportError("No module named 'pyarrow'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    with pytest.raises(ImportError, match=r'pip install "dosefind\[grid\]"'):
        run_grid(load_grid(tiny_grid_file), tmp_path / "out", scheduler="serial")
    assert not (tmp_path / "out").exists()
