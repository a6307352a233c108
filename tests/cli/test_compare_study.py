"""Issue 12: one study-file layout for `dosefind run` and `dosefind compare --config`.

The same file goes through both commands: `compare` reads it with dosefind.study's loader
(one parser, one set of messages) and must give, for the same seed, the numbers `run`
writes (Monte Carlo: bit-for-bit, as docs/simulation.md promises for a seed; exact: the
same propagation).  The documented example in docs/study-file.md is run and its printed
table checked.
"""

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from dosefind.cli import main

from studies import SMALL  # noqa: E402  (tests/cli is on sys.path under pytest's rootdir import)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "study-file.md"
SECTION = "## One file for `dosefind run` and `dosefind compare --config`"

#: SMALL plus a CRM (3 designs) and a second scenario, Monte Carlo: the seed matters.
STUDY = SMALL + '''
[[designs]]
type = "crm"
skeleton = [0.15, 0.3, 0.45]

[[scenarios]]
name = "toxic"
true_prob_tox = [0.45, 0.6, 0.7]
'''


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def one_error_line(r) -> str:
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert r.exit_code == 2, r.output
    assert len(lines) == 1 and lines[0].startswith("Error: "), r.output
    return lines[0]


def _by_cell(results):
    return {(x["scenario"], x["design"]): x for x in results}


@pytest.mark.parametrize("method", ["mc", "exact"])
def test_same_file_through_run_and_compare_gives_the_same_numbers(tmp_path, method):
    study = tmp_path / "study.toml"
    study.write_text(STUDY.replace('method = "mc"', f'method = "{method}"'))
    r = invoke("run", study, "--format", "json", "-q")
    assert r.exit_code == 0, r.output
    ran = json.loads(r.stdout)
    r = invoke("compare", "--config", study, "--format", "json", "-q")
    assert r.exit_code == 0, r.output
    compared = json.loads(r.stdout)
    assert compared["designs"] == ["3+3", "BOIN", "CRM"] == [d["label"] for d in ran["designs"]]
    assert [s["name"] for s in compared["scenarios"]] == ["middle", "toxic"]
    from dosefind.simulations import Comparison

    assert Comparison.from_json(r.stdout).to_dict() == compared     # what --format json writes reads back
    a, b = _by_cell(ran["results"]), _by_cell(compared["results"])
    assert set(a) == set(b) and len(a) == 6
    for cell in a:
        assert b[cell] == a[cell], cell          # every number, SE, seed and method
        assert b[cell]["method"] == method and b[cell]["seed"] == (11 if method == "mc" else None)
    # the overrides act on both commands alike, and a different seed gives other numbers
    r1 = invoke("run", study, "--format", "json", "-q", "--seed", "5", "--n-trials", "300")
    r2 = invoke("compare", "--config", study, "--format", "json", "-q", "--seed", "5", "--n-trials", "300")
    a5, b5 = _by_cell(json.loads(r1.stdout)["results"]), _by_cell(json.loads(r2.stdout)["results"])
    assert a5 == b5
    if method == "mc":
        assert a5[("middle", "BOIN")]["selection_pct"] != a[("middle", "BOIN")]["selection_pct"]


def test_compare_table_names_the_engine_and_uses_the_study_labels(tmp_path):
    study = tmp_path / "study.toml"
    study.write_text(STUDY)
    r = invoke("compare", "--config", study)
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0] == "Dose-finding study: Monte Carlo, 200 simulated trials, seed 11"
    assert "Correct selection %" in lines[1] and "selection % per dose:" in r.stdout
    assert "e-0" not in r.stdout and "e+0" not in r.stdout   # fixed decimals, never 1.2e-05
    per_dose = r.stdout.split("selection % per dose:\n")[1].splitlines()[0].split()
    assert per_dose == ["Scenario", "Design", "DL1", "%", "DL2", "%", "DL3", "%", "No", "MTD", "%"]
    # Monte Carlo: each value with its standard error, said once; exact: neither
    mc = json.loads(invoke("compare", "--config", study, "--format", "json").stdout)["results"]
    boin = _by_cell(mc)[("middle", "BOIN")]
    row = next(line for line in lines if line.split()[:2] == ["middle", "BOIN"])
    assert f"{boin['pcs']:.2f} ({boin['se']['pcs']:.2f})" in row
    assert "Monte Carlo standard errors in parentheses." in r.stdout
    r = invoke("compare", "--config", study, "--method", "exact")
    assert r.stdout.splitlines()[0] == "Dose-finding study: exact calculation"
    assert not re.search(r"\d \(\d", r.stdout) and "Monte Carlo" not in r.stdout
    r = invoke("compare", "--config", study, "--format", "csv")
    assert r.stdout.splitlines()[0].startswith("scenario,design,method,pcs")


def test_documented_example_prints_what_the_page_shows(tmp_path):
    page = DOCS.read_text(encoding="utf-8")
    part = page[page.index(SECTION):]
    toml = re.search(r"```toml\n(.*?)```", part, re.S).group(1)
    shown = re.search(r"```text\n(.*?)```", part, re.S).group(1)
    study = tmp_path / "study.toml"
    study.write_text(toml)
    r = invoke("compare", "--config", study)
    assert r.exit_code == 0, r.output
    assert r.stdout.split() == shown.split()
    assert "Warning: CRM has no safety stop" in r.stdout and "3+3 ranks first" in r.stdout
    # the page's claim: the CRM without a safety stop never stops when every dose is too toxic
    r = invoke("compare", "--config", study, "--format", "json")
    crm = _by_cell(json.loads(r.stdout)["results"])[("All too toxic", "CRM")]
    assert crm["pcs"] == 0 and crm["no_selection_pct"] == 0


def test_scenario_overrides_are_checked_as_scenario_tables(tmp_path):
    study = tmp_path / "study.toml"
    study.write_text(STUDY)
    r = invoke("compare", "--config", study, "--true-tox", "0.1,0.2,0.3", "--true-tox", "0.2,0.3,0.5",
               "--format", "json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert [s["name"] for s in d["scenarios"]] == ["S1", "S2"] and len(d["results"]) == 6
    assert "has 2 values but the study has 3 doses" in one_error_line(
        invoke("compare", "--config", study, "--true-tox", "0.1,0.2"))
    csv = tmp_path / "sc.csv"
    csv.write_text("scenario,dose,true_prob_tox\nA,1,0.1\nA,2,0.3\nA,3,0.5\n")
    r = invoke("compare", "--config", study, "--scenarios", csv, "--format", "json")
    assert r.exit_code == 0, r.output
    assert [s["name"] for s in json.loads(r.stdout)["scenarios"]] == ["A"]


@pytest.mark.parametrize("old, new, message", [
    ('max_n = 9', 'max_m = 9',
     "study.max_m: unknown key (did you mean 'max_n'?); allowed keys: cohort_size"),
    ('type = "boin"', 'type = "boin"\ncohort_sise = 3',
     "designs[2] (BOIN).cohort_sise: unknown key (did you mean 'cohort_size'?)"),
    ('type = "boin"', 'type = "boin"\nextrasafe = "no"',
     "designs[2] (BOIN).extrasafe: extrasafe must be true or false"),
    ('n_trials = 200', 'n_trials = 3.7', "study.n_trials: must be a whole number, got 3.7"),
    ('true_prob_tox = [0.1, 0.3, 0.5]', 'true_prob_tox = [0.1, 0.3]',
     "scenarios[1] (middle).true_prob_tox: has 2 values but the study has 3 doses"),
])
def test_bad_keys_give_the_same_clear_error_in_run_and_compare(tmp_path, old, new, message):
    study = tmp_path / "study.toml"
    study.write_text(SMALL.replace(old, new, 1))
    from_compare = one_error_line(invoke("compare", "--config", study))
    from_run = one_error_line(invoke("run", study, "--out", tmp_path / "o"))
    assert from_compare == from_run
    assert from_compare.startswith(f"Error: {study}: ") and message in from_compare
    assert not (tmp_path / "o").exists()


def test_files_that_are_not_study_files(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_bytes("[study]\n".encode("utf-16"))
    assert "is not UTF-8 text" in one_error_line(invoke("compare", "--config", cfg))
    assert "is a folder" in one_error_line(invoke("compare", "--config", tmp_path))
    assert "study file not found" in one_error_line(invoke("compare", "--config", tmp_path / "none.toml"))


def test_older_compare_layout_is_refused_saying_where_each_key_went(tmp_path):
    cfg = tmp_path / "designs.toml"
    cfg.write_text('n_trials = 2000\nseed = 1\nscenarios_csv = "s.csv"\n\n[designs.boin]\ndesign = "boin"\n'
                   'target = 0.3\n\n[scenarios]\nlow = [0.05, 0.10, 0.20]\n')
    msg = one_error_line(invoke("compare", "--config", cfg))
    assert msg.startswith(f"Error: {cfg}: is in the older `dosefind compare --config` layout")
    for move in ('[designs.NAME] design = "boin" -> [[designs]] type = "boin", label = "NAME"',
                 "n_trials -> [study] n_trials", "seed -> [study] seed",
                 "scenarios_csv -> compare --scenarios FILE.csv", "docs/study-file.md"):
        assert move in msg, move
    # `run` says the same of the same file
    assert one_error_line(invoke("run", cfg, "--out", tmp_path / "o")) == msg


def test_prior_fit_diagnostics_are_printed_on_the_terminal():
    """Issue 12: a prior fitted at run time shows its diagnostics on the terminal, not only
    in the report (the numbers are the run's own ``prior[...]['diagnostics']``)."""
    from types import SimpleNamespace

    from dosefind.cli.run_commands import prior_lines

    run = SimpleNamespace(prior={
        "Literature prior (median)": {"source": "bundled CD7 CAR-T evidence", "summary": "median",
                                      "diagnostics": {"r_hat_max": 1.0031, "ess_bulk_min": 1125.5,
                                                      "ess_tail_min": 1126.4, "divergences": 0}},
        "drawn": {"source": "fit.nc", "draws": 3, "seed": 1},          # draws: no summary diagnostics
        "design CRM": {"path": "fit.nc", "sha256": "x"}})
    assert prior_lines(run) == [
        "Prior fit for scenario 'Literature prior (median)': R-hat max 1.003, bulk ESS min 1126, tail ESS min "
        "1126, 0 divergent transitions (bundled CD7 CAR-T evidence)"]


@pytest.mark.parametrize("command", ["run", "compare"])
def test_n_trials_on_an_exact_study_says_it_changed_nothing(tmp_path, command):
    """Issue 12: `--n-trials 200` on an exactly computed study changed nothing, silently."""
    study = tmp_path / "study.toml"
    study.write_text(STUDY.replace('method = "mc"', 'method = "auto"'))
    args = ["run", study, "--out", tmp_path / "o"] if command == "run" else ["compare", "--config", study]
    r = invoke(*args, "--n-trials", "200")
    assert r.exit_code == 0, r.output
    assert "Note: --n-trials 200 changed nothing: every design was computed exactly (method auto)" in r.stderr
    if command == "run":
        args[-1] = tmp_path / "o2"
    r = invoke(*args, "--n-trials", "200", "--method", "mc")
    assert r.exit_code == 0, r.output
    assert "changed nothing" not in r.stderr


def test_markdown_states_each_rows_engine(tmp_path):
    study = tmp_path / "study.toml"
    study.write_text(STUDY)
    md = invoke("compare", "--config", study, "--format", "markdown").stdout.splitlines()
    assert md[0].split(" | ")[:3] == ["| scenario", "design", "method"]
    assert all(row.split(" | ")[2] == "mc" for row in md[2:8])


def test_a_grid_file_is_compared_at_the_values_in_its_tables(tmp_path):
    study = tmp_path / "grid.toml"
    study.write_text(SMALL + '\n[grid]\n[[grid.parameters]]\nname = "study.max_n"\nvalues = [6, 9]\n')
    r = invoke("compare", "--config", study, "--format", "json")
    assert r.exit_code == 0, r.output
    assert all(x["max_n"] == 9 for x in json.loads(r.stdout)["results"] if x["design"] == "BOIN")
    assert f"Warning: {study} has a [grid] table: the study was evaluated at the values written" in r.stderr


def test_progress_lines_when_not_a_terminal(tmp_path):
    """--progress: plain lines on stderr with the right total (3 designs x 2 scenarios);
    by default a quick compare stays silent, and --quiet always does."""
    study = tmp_path / "study.toml"
    study.write_text(STUDY)
    r = invoke("compare", "--config", study, "--progress", "--format", "json")
    assert "dosefind: simulating 0/6: 3+3 | middle" in r.stderr and "dosefind: simulating 6/6" in r.stderr
    assert json.loads(r.stdout)["designs"] == ["3+3", "BOIN", "CRM"]        # stdout stays JSON
    assert invoke("compare", "--config", study, "--format", "json").stderr == ""
    assert invoke("compare", "--config", study, "--progress", "-q").stderr == ""


PHASE12 = '''
[study]
target = 0.3
max_n = 12
cohort_size = 3
n_trials = 300
seed = 5
method = "mc"

[doses]
labels = ["A", "B", "C"]

[[designs]]
type = "boin"
label = "BOIN"

[[designs]]
type = "boin12"
label = "BOIN12"
phi_t = 0.35
phi_e = 0.25

[[scenarios]]
name = "s1"
true_prob_tox = [0.05, 0.20, 0.45]
true_prob_eff = [0.10, 0.40, 0.60]
'''


def test_phase12_study_shows_the_obd_beside_the_mtd(tmp_path):
    """A study with response rates: compare's table gives correct OBD % (the JSON's
    pct_correct_obd) beside the MTD's, and the OBD selection per dose (review finding: it showed
    the MTD figures only, under a title about the OBD)."""
    path = tmp_path / "p12.toml"
    path.write_text(PHASE12)
    js = json.loads(invoke("compare", "--config", path, "--format", "json", "--quiet").output)
    r = invoke("compare", "--config", path, "--quiet")
    assert r.exit_code == 0, r.output
    header = next(line for line in r.output.splitlines() if "Scenario" in line)
    assert "Correct OBD %" in header and "Correct MTD %" in header and "Correct selection %" not in header
    for res in js["results"]:
        row = next(line for line in r.output.splitlines() if re.match(rf"\s*s1\s+{res['design']}\s", line))
        assert f"{res['efficacy']['values']['pct_correct_obd']:.2f}" == row.split()[2]
    obd = r.output.split("OBD selection % per dose")[1].splitlines()
    boin12 = next(line for line in obd if re.match(r"\s*s1\s+BOIN12\s", line)).split()[2:]
    got = [float(v) for v in boin12]
    b12 = next(res for res in js["results"] if res["design"] == "BOIN12")["efficacy"]["values"]
    assert got == [round(v, 2) for v in b12["obd_selection_pct"]] + [round(b12["obd_no_selection_pct"], 2)]
