"""`dosefind priors ...` through click's CliRunner: every subcommand and its error paths."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from dosefind.cli import main
from dosefind.priors import bundled_evidence_path

SMALL = ["--draws", "300", "--tune", "300", "--chains", "2", "--seed", "11"]


def run(*args):
    return CliRunner().invoke(main, ["priors", *args])


def test_data_table_json_csv():
    res = run("data")
    assert res.exit_code == 0 and "002_20257632ebbc645c.txt" in res.output and "5e5/1e6 pooled" in res.output
    rows = json.loads(run("data", "--format", "json").output)
    assert len(rows) == 5
    keys = {"source", "disease", "product", "dose_per_kg", "dose_low", "dose_high", "n", "dlt", "crs_any",
            "crs_grade3", "icans_any", "icans_grade3", "response"}
    assert all(keys <= set(r) for r in rows)
    assert rows[2]["dlt"] is None and rows[2]["crs_grade3"] == 2 and rows[0]["dose_per_kg"] is None
    csv = run("data", "--format", "csv").output
    assert csv.splitlines()[0].startswith("source,disease,product")


def test_fit_summary_skeleton_scenarios_plot(tmp_path):
    fit = tmp_path / "crs.nc"
    res = run("fit", "--endpoint", "crs_grade3", "--doses", "5e5,1e6,2e6,4e6,8e6", "--out", str(fit), *SMALL)
    assert res.exit_code == 0, res.output
    assert "Saved dose_response fit of crs_grade3" in res.output

    s = json.loads(run("summary", str(fit), "--format", "json").output)
    assert {"r_hat_max", "ess_bulk_min", "divergences"} <= set(s)
    assert [set(d) >= {"dose", "median", "lower", "upper"} for d in s["doses"]] == [True] * 5
    assert s["doses"][0]["dose"] == 5e5
    table = run("summary", str(fit))
    assert table.exit_code == 0 and "R-hat max" in table.output

    sk = json.loads(run("skeleton", str(fit), "--target", "0.25", "--format", "json").output)
    assert len(sk["skeleton"]) == 5 and len(sk["indifference_skeleton"]) == 5
    assert "indifference" in run("skeleton", str(fit), "--target", "0.25").output

    out = tmp_path / "scen.csv"
    res = run("scenarios", str(fit), "--n", "20", "--out", str(out), "--seed", "3")
    assert res.exit_code == 0, res.output
    df = pd.read_csv(out)
    assert list(df.columns) == ["scenario", "dose", "dose_per_kg", "true_prob_tox"] and len(df) == 100

    res = run("plot", str(fit), "--out", str(tmp_path / "c.png"))
    assert res.exit_code == 0 and (tmp_path / "c.png").stat().st_size > 1000


def test_map_fit_summary(tmp_path):
    fit = tmp_path / "m.nc"
    res = run("fit", "--endpoint", "crs_any", "--model", "map", "--robust-weight", "0.2", "--out", str(fit), *SMALL)
    assert res.exit_code == 0, res.output
    s = json.loads(run("summary", str(fit), "--format", "json").output)
    assert s["kind"] == "map" and "robust_mixture" in s
    assert "Robust mixture" in run("summary", str(fit)).output
    res = run("skeleton", str(fit), "--target", "0.25")
    assert res.exit_code == 2 and "Error: a skeleton needs a dose-response fit" in res.output


def test_fit_with_own_evidence_table(tmp_path):
    table = pd.read_csv(bundled_evidence_path(), dtype=str, keep_default_na=False).iloc[:3]
    path = tmp_path / "mine.csv"
    table.to_csv(path, index=False)
    rows = json.loads(run("data", "--evidence", str(path), "--format", "json").output)
    assert len(rows) == 3


def bad_table(tmp_path, **changes):
    table = pd.read_csv(bundled_evidence_path(), dtype=str, keep_default_na=False)
    drop = changes.pop("drop", None)
    if drop:
        table = table.drop(columns=drop)
    for (row, col), val in changes.get("cells", {}).items():
        table.loc[row, col] = val
    path = tmp_path / "bad.csv"
    table.to_csv(path, index=False)
    return str(path)


@pytest.mark.parametrize("setup, message", [
    (dict(drop=["crs_grade3"]), "is missing column(s): crs_grade3"),
    (dict(drop=["dose_per_kg", "dose_low", "dose_high"]), "missing column(s): dose_per_kg (or dose_low and dose_high)"),
    (dict(cells={(2, "crs_grade3"): "25"}), "crs_grade3 = 25 events is more than n = 20 patients"),
    (dict(cells={(1, "dose_per_kg"): "-5e6"}), "dose_per_kg must be a positive number"),
    (dict(cells={(0, "dlt"): "1.5"}), "dlt must be a whole number"),
    (dict(cells={(3, "crs_grade3"): "20"}), "is more than"),
    (dict(cells={(0, "dose_high"): ""}), "needs both dose_low and dose_high"),
])
def test_bad_evidence_tables(tmp_path, setup, message):
    res = run("data", "--evidence", bad_table(tmp_path, **setup))
    assert res.exit_code == 2
    assert message in res.output and res.output.startswith("Error:")


@pytest.mark.parametrize("args, message", [
    (["fit", "--endpoint", "grade5", "--doses", "1e6", "--out", "x.nc"], "endpoint must be one of"),
    (["fit", "--endpoint", "crs_grade3", "--out", "x.nc"], "--doses is required"),
    (["fit", "--endpoint", "crs_grade3", "--doses", "1e6,-2e6", "--out", "x.nc"], "doses[2] must be a positive"),
    (["fit", "--endpoint", "crs_grade3", "--doses", "2e6,1e6", "--out", "x.nc"], "strictly increasing"),
    (["fit", "--endpoint", "crs_grade3", "--doses", "1e6", "--evidence", "nope.csv", "--out", "x.nc"],
     "evidence table not found"),
    (["summary", "nope.nc"], "fit file not found"),
    (["data", "--evidence", "nope.csv"], "evidence table not found"),
])
def test_cli_errors(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = run(*args)
    assert res.exit_code == 2, res.output
    assert message in res.output


def test_skeleton_bad_target(dose_fit_file):
    res = run("skeleton", str(dose_fit_file), "--target", "1.3")
    assert res.exit_code == 2 and "target must be between 0 and 1" in res.output


def test_scenarios_to_stdout_with_response(dose_fit_file):
    res = run("scenarios", str(dose_fit_file), "--n", "2")
    lines = res.output.splitlines()
    assert lines[0] == "scenario,dose,dose_per_kg,true_prob_tox,true_prob_response" and len(lines) == 11
