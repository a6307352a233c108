"""Terminal tables use human column names (issue 12); JSON and CSV keep the field names."""

import json

from click.testing import CliRunner

from dosefind.cli import main

ARGS = ["simulate", "--design", "boin", "--target", "0.25", "--true-tox", "0.1,0.25,0.4", "--max-n", "12"]


def test_simulate_table_has_human_names_and_no_zero_se_when_exact():
    r = CliRunner().invoke(main, ARGS + ["--method", "exact"])
    assert r.exit_code == 0, r.output
    for name in ("True P(DLT)", "Selected %", "Patients (mean)", "Correct selection %", "Overdose selection %",
                 "No MTD %"):
        assert name in r.output, name
    for raw in ("selection_pct", "overdose_selection_pct", "true_prob_tox", "_se"):
        assert raw not in r.output, raw
    assert " SE" not in r.output                 # exact: no Monte Carlo error to show
    r = CliRunner().invoke(main, ARGS + ["--method", "mc", "--n-trials", "50", "--seed", "1"])
    assert "Selected % SE" in r.output


def test_json_keeps_field_names():
    r = CliRunner().invoke(main, ARGS + ["--method", "exact", "--format", "json"])
    d = json.loads(r.output)
    assert "pcs" in d and "overdose_selection_pct" in d
