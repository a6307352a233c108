"""`dosefind run` fits a bundled prior in a second process while it simulates the explicit
scenarios (dosefind.runner.PriorFitsBeside): the results must be those of fitting it in
the run's own process, the progress total must be known before the fit, and a study the
fit cannot serve must be refused before anything is simulated."""

from __future__ import annotations

import pytest

from dosefind import runner
from dosefind.study import parse_study

STUDY = '''
[study]
target = 0.25
max_n = 9
n_trials = 200
seed = 11
method = "mc"

[doses]
amounts = [5e5, 1e6, 2e6]
unit = "cells/kg"

[[designs]]
type = "3+3"

[[designs]]
type = "boin"

[[scenarios]]
name = "low"
true_prob_tox = [0.05, 0.1, 0.25]

[[scenarios]]
name = "prior median"
prior = "bundled"
endpoint = "crs_grade3"
summary = "median"

[[scenarios]]
name = "high"
true_prob_tox = [0.25, 0.4, 0.5]
'''

SETTINGS = {"draws": 500, "tune": 500, "chains": 2}


def _numbers(run):
    d = run.to_dict()
    return {k: d[k] for k in ("scenarios", "results", "prior")}


def test_prior_fitted_beside_gives_the_numbers_of_fitting_in_process(monkeypatch):
    monkeypatch.setattr(runner, "PRIOR_SAMPLING", SETTINGS)
    study = parse_study(STUDY)
    seen = []
    beside = runner.evaluate(study, progress=lambda *a: seen.append(a))
    assert beside.timings["prior_fit"] > 0 and "prior_fit_wait" in beside.timings

    class InProcess(runner.PriorFitsBeside):          # no second process: fitted when asked
        def __init__(self, keys, while_waiting=None):
            super().__init__([])
            self.keys = keys

    monkeypatch.setattr(runner, "PriorFitsBeside", InProcess)
    here = runner.evaluate(study)
    assert _numbers(beside) == _numbers(here)
    # scenarios in the study's order, the prior's curve from the fit's summary
    assert [s.name for s in beside.scenarios] == ["low", "prior median", "high"]
    med = [d["median"] for d in beside.prior["prior median"]["doses"]]
    assert list(beside.scenarios[1].true_prob_tox) == pytest.approx(med)
    # every simulation step counted against the same total, known before the fit (3 x 2)
    sims = [a for a in seen if a[0] == "simulations"]
    assert {a[2] for a in sims} == {6} and sims[-1][1] == 6
    assert any(a[3] == "waiting for the prior fit" for a in sims)
    assert [a[1] for a in sims] == sorted(a[1] for a in sims)


def test_a_bundled_prior_without_dose_amounts_is_refused_before_simulating(monkeypatch):
    study = parse_study(STUDY.replace("amounts = [5e5, 1e6, 2e6]", "labels = [\"A\", \"B\", \"C\"]"))
    calls = []
    monkeypatch.setattr("dosefind.simulations.simulate", lambda *a, **k: calls.append(a))
    with pytest.raises(ValueError, match=r"scenario 'prior median': prior = \"bundled\" needs dose amounts"):
        runner.evaluate(study)
    assert calls == []


def test_a_script_without_a_main_guard_runs_once(tmp_path):
    # The second process is spawned without the caller's __main__, so a script that calls
    # evaluate() at top level (no `if __name__ == "__main__":`) is not run again by it.
    import os
    import subprocess
    import sys

    script = tmp_path / "unguarded.py"
    script.write_text(
        "from dosefind import runner\n"
        "from dosefind.study import parse_study\n"
        f"runner.PRIOR_SAMPLING = {SETTINGS!r}\n"
        f"run = runner.evaluate(parse_study({STUDY!r}))\n"
        "print('ran', 'prior_fit' in run.timings, flush=True)\n", encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n").count("ran True") == 1


def test_closing_early_ends_the_fit_in_the_second_process():
    """A run that ends before its prior fit is made (an error, Ctrl-C) ends the second process
    too, instead of the interpreter waiting at exit for the whole fit (review finding)."""
    study = parse_study(STUDY.encode())
    keys = runner._bundled_fits_needed(study, quick=False)
    beside = runner.PriorFitsBeside(keys)
    if beside.pool is None:
        pytest.skip("no second process could be started here")
    procs = list(beside.pool._processes.values())
    assert procs and all(p.is_alive() for p in procs)
    beside.close()
    for p in procs:
        p.join(timeout=10)
    assert not any(p.is_alive() for p in procs)
