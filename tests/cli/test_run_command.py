"""`dosefind run` and `dosefind init` on the command line (fast cases; the bundled
default end to end is tests/reports/test_bundled_default.py)."""

import json

from click.testing import CliRunner

from dosefind.cli import main
from dosefind.study import TEMPLATE

from studies import SMALL  # noqa: E402  (tests/cli is on sys.path under pytest's rootdir import)


def test_init_writes_the_template_and_refuses_to_overwrite(tmp_path):
    p = tmp_path / "study.toml"
    r = CliRunner().invoke(main, ["init", str(p)])
    assert r.exit_code == 0 and p.read_text() == TEMPLATE
    assert f"dosefind run {p}" in r.output
    r = CliRunner().invoke(main, ["init", str(p)])
    assert r.exit_code == 2 and "already exists; use --force" in r.output


def test_run_writes_report_and_summary_line(tmp_path):
    study = tmp_path / "s.toml"
    study.write_text(SMALL)
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["run", str(study), "--out", str(out)])
    assert r.exit_code == 0, r.output
    last = r.output.strip().splitlines()[-1]
    assert last.startswith("Done in ") and f"report: {out / 'report.html'}" in last
    assert "2 designs x 1 scenarios, 200 simulated trials each, seed 11" in last
    assert (out / "report.html").exists()
    r = CliRunner().invoke(main, ["run", str(study), "--out", str(out)])
    assert r.exit_code == 2 and "already exists; use --force" in r.output
    r = CliRunner().invoke(main, ["run", str(study), "--out", str(out), "--force", "--seed", "12", "-q"])
    assert r.exit_code == 0 and r.output == ""
    assert json.loads((out / "manifest.json").read_text())["seed"] == 12


def test_run_format_json_prints_full_results(tmp_path):
    study = tmp_path / "s.toml"
    study.write_text(SMALL)
    r = CliRunner().invoke(main, ["run", str(study), "--format", "json", "-q", "--n-trials", "50"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["study"]["n_trials"] == 50
    assert [(x["design"], x["scenario"]) for x in data["results"]] == [("3+3", "middle"), ("BOIN", "middle")]
    assert {"selection_pct", "pcs", "se", "n_mean"} <= set(data["results"][0])
    assert not (tmp_path / "dosefind-report").exists()    # json alone writes no folder


def test_bad_study_is_rejected_before_simulating(tmp_path):
    study = tmp_path / "bad.toml"
    study.write_text(SMALL.replace('type = "boin"', 'type = "bion"'))
    r = CliRunner().invoke(main, ["run", str(study), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2
    assert r.output.strip() == (f"Error: {study}: designs[2].type: unknown design 'bion'; "
                                "known designs: 3+3, blrm, boin, boin12, crm, tite-boin, tite-boin12, tite-crm")
    assert not (tmp_path / "o").exists()
    r = CliRunner().invoke(main, ["run", str(tmp_path / "missing.toml")])
    assert r.exit_code == 2 and "study file not found" in r.output
