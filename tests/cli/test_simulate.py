"""dosefind simulate / compare on the command line."""

import json

import pytest
from click.testing import CliRunner

from dosefind.cli import main

TRUE = "0.05,0.10,0.20,0.30,0.45"
BOIN = ["simulate", "--design", "boin", "--target", "0.3", "--true-tox", TRUE, "--cohort-size", "3",
        "--cohorts", "10"]


def run(args):
    return CliRunner().invoke(main, args, catch_exceptions=False)


def test_boin_json_schema():
    r = run(BOIN + ["--n-trials", "2000", "--seed", "1", "--method", "mc", "--format", "json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    for key in ("method", "n_trials", "seed", "selection_pct", "no_selection_pct", "patients_mean", "patients_pct",
                "dlt_mean", "n_mean", "dlt_total_mean", "early_stop_pct", "pcs", "overdose_selection_pct",
                "overdose_patients_pct", "se"):
        assert key in d
    assert d["method"] == "mc" and d["n_trials"] == 2000 and d["seed"] == 1
    assert d["correct_doses"] == [4] and d["max_n"] == 30


def test_workers_one_and_two_print_identical_output():
    args = BOIN + ["--n-trials", "25000", "--seed", "3", "--method", "mc", "--format", "json"]
    a = run(args + ["--workers", "1"])
    b = run(args + ["--workers", "2"])
    assert a.exit_code == 0 and a.stdout == b.stdout


def test_exact_three_plus_three_and_formats():
    base = ["simulate", "--design", "3+3", "--true-tox", TRUE, "--method", "exact"]
    r = run(base + ["--format", "json"])
    d = json.loads(r.stdout)
    assert d["method"] == "exact" and d["pcs"] is None and d["se"]["selection_pct"] == [0, 0, 0, 0, 0]
    r = run(base + ["--target", "0.2", "--format", "json"])
    assert json.loads(r.stdout)["correct_doses"] == [3]
    r = run(base + ["--format", "csv"])
    assert r.output.startswith("metric,dose,value,se\nselection_pct,1,")
    r = run(base + ["--format", "markdown"])
    assert "| dose | true P(DLT) |" in r.output
    r = run(base)
    assert "stop reasons" in r.output and "exact" in r.output.splitlines()[0]


def test_crm_options():
    r = run(["simulate", "--design", "crm", "--skeleton", "0.12,0.20,0.30,0.40,0.50", "--target", "0.3",
             "--true-tox", TRUE, "--cohort-size", "3", "--max-n", "30", "--model", "empiric", "--prior-var", "1.34",
             "--n-trials", "500", "--seed", "1", "--method", "mc", "--format", "json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["n_mean"] == 30


@pytest.mark.parametrize("args, message", [
    (["--design", "boin", "--target", "0.3", "--true-tox", "0.1,1.4,0.3"], "true_prob_tox[2] must be between 0 and 1"),
    (["--design", "boin", "--target", "0.3", "--true-tox", "0.1,abc"], "comma-separated list of probabilities"),
    (["--design", "boin", "--target", "0.3", "--true-tox", TRUE, "--n-trials", "0"], "n_trials must be >= 1"),
    (["--design", "boin", "--true-tox", TRUE], "BOIN needs --target"),
    (["--design", "boin", "--target", "0.3", "--true-tox", TRUE, "--skeleton", "0.1,0.2"],
     "--skeleton does not apply to --design boin"),
    (["--design", "crm", "--target", "0.3", "--true-tox", TRUE, "--skeleton", "0.1,0.2,0.3", "--max-n", "9"],
     "skeleton has 3 values but there are 5 doses"),
    (["--true-tox", TRUE], "choose a design"),
    (["--design", "3+3", "--true-tox", TRUE, "--cohort-size", "2"], "--cohort-size must be 3"),
])
def test_user_errors_exit_2_with_one_line(args, message):
    r = CliRunner().invoke(main, ["simulate"] + args)
    assert r.exit_code == 2, r.output
    assert message in r.output


def test_compare_from_a_study_file(tmp_path):
    """compare --config reads the study file of `dosefind run` (docs/study-file.md); the
    older [designs.NAME] layout is tested in tests/cli/test_compare_study.py."""
    cfg = tmp_path / "study.toml"
    cfg.write_text(
        '[study]\ntarget = 0.3\nmax_n = 30\nn_trials = 2000\nseed = 1\nmethod = "mc"\n\n'
        '[doses]\nlabels = ["1", "2", "3", "4", "5"]\n\n'
        '[[designs]]\ntype = "boin"\nlabel = "boin"\nn_cohorts = 10\n\n'
        '[[designs]]\ntype = "crm"\nlabel = "crm"\nskeleton = [0.12, 0.2, 0.3, 0.4, 0.5]\n\n'
        '[[designs]]\ntype = "3+3"\nlabel = "tpt"\n\n'
        '[[scenarios]]\nname = "low"\ntrue_prob_tox = [0.05, 0.10, 0.20, 0.30, 0.45]\n'
        '[[scenarios]]\nname = "high"\ntrue_prob_tox = [0.3, 0.4, 0.5, 0.6, 0.7]\n')
    r = run(["compare", "--config", str(cfg), "--format", "json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["designs"] == ["boin", "crm", "tpt"] and len(d["results"]) == 6
    assert all(x["seed"] == 1 and x["n_trials"] == 2000 for x in d["results"])
    r = run(["compare", "--config", str(cfg), "--true-tox", "0.1,0.2,0.3,0.4,0.5"])
    assert r.exit_code == 0 and "selection % per dose" in r.output
    r = run(["compare", "--config", str(cfg), "--format", "csv"])
    assert r.output.splitlines()[0].startswith("scenario,design,method,pcs")


def test_compare_config_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[study]\ntarget = 0.3\nmax_n = 9\nn_trials = 10\nseed = 1\n[doses]\nlabels = ["a", "b"]\n'
                   '[[designs]]\ntarget = 0.3\n[[scenarios]]\nname = "a"\ntrue_prob_tox = [0.1, 0.2]\n')
    r = CliRunner().invoke(main, ["compare", "--config", str(bad)])
    assert r.exit_code == 2 and "designs[1].type: missing" in r.output
    r = CliRunner().invoke(main, ["compare", "--config", str(tmp_path / "none.toml")])
    assert r.exit_code == 2 and "study file not found" in r.output
