"""Issue 9: careless inputs give a one-line error naming what is wrong (exit 2), never a
traceback and never a silently wrong answer."""

import json

import pytest
from click.testing import CliRunner

from dosefind.cli import main

BOIN = ["--design", "boin", "--target", "0.3", "--num-doses", "4"]


def invoke(*args, **kw):
    return CliRunner().invoke(main, [str(a) for a in args], **kw)


def one_error_line(r) -> str:
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert r.exit_code == 2, r.output
    assert len(lines) == 1 and lines[0].startswith("Error: "), r.output
    return lines[0]


def decision(*args):
    r = invoke("next-dose", *BOIN, *args, "--format", "json")
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


# ---------------------------------------------------------------------------- --data CSV
ROWS = "1,0,1\n1,0,1\n1,0,1\n2,1,2\n2,1,2\n2,0,2\n"


def test_blank_cohort_cells_never_drop_patients(tmp_path):
    """Blank cohort cells used to drop those patients: BOIN then escalated where the same
    rows without the column de-escalate (2/3 DLTs at dose 2)."""
    plain = tmp_path / "plain.csv"
    plain.write_text("dose,dlt\n" + "\n".join(r.rsplit(",", 1)[0] for r in ROWS.splitlines()) + "\n")
    full = tmp_path / "full.csv"
    full.write_text("dose,dlt,cohort\n" + ROWS)
    assert decision("--data", plain) == decision("--data", full)
    assert decision("--data", plain)["next_dose"] == 1              # 2/3 at dose 2: de-escalate
    blank = tmp_path / "blank.csv"
    blank.write_text("dose,dlt,cohort\n" + ROWS.replace("2,1,2\n2,1,2\n", "2,1,\n2,1,\n"))
    msg = one_error_line(invoke("next-dose", *BOIN, "--data", blank))
    assert "row 5, column cohort is empty" in msg


@pytest.mark.parametrize("text, message", [
    ("dose,n,dlt\n1,3.7,0\n2,3,1\n", "row 2, column n: 3.7 is not a whole number"),
    ("dose,n,dlt\n1.9,3,0\n2,3,1\n", "row 2, column dose: 1.9 is not a whole number"),
    ("dose,n,dlt\n1,3,0.9\n2,3,1\n", "row 2, column dlt: 0.9 is not a whole number"),
    ("dose,n,dlt\n1,inf,0\n", "row 2, column n: inf is not a whole number"),
    ("dose,n,dlt\n1,3,\n", "row 2, column dlt is empty"),
    ("dose,n,dlt\n1,3,4\n", "row 2: 4 DLTs among 3 patients"),
    ("dose,n,dlt\n1,-3,0\n", "counts must be >= 0"),
    ("dose,n,dlt\n7,3,0\n", "row 2 names dose 7, but doses run from 1 to 4"),
    ("dose,dlt\n1,2\n", "row 2, column dlt must be 0 or 1"),
    ("dose,dlt\n1,abc\n", "row 2, column dlt: 'abc' is not a whole number"),
    ("dose,dlt\n1,NaN\n", "row 2, column dlt is empty"),
    ("dose,dlt,cohort\n1,0,a\n2,0,b\n1,0,a\n", "row 4: cohort a appears again"),
    ("dose,dlt,cohort\n1,0,a\n2,0,a\n", "cohort a mixes doses [1, 2]"),
    ("", "is empty"),
    ("\n\n", "is empty"),
    ("dose,dlt\n", "has a header but no data rows"),
    ("dose,toxicity\n1,0\n", "missing dlt"),
    ("dose,dlt,dlt\n1,0,0\n", "repeats a column name"),
    ("dose;dlt\n1;0\n", "separates its columns with ';'"),
    ("dose,dlt\n   ,0\n", "row 2, column dose is empty"),
    ("dose,dlt\nDL2,0\n", "row 2, column dose: 'DL2' is not a whole number"),
])
def test_bad_csv_cells_are_named(tmp_path, text, message):
    f = tmp_path / "trial.csv"
    f.write_text(text)
    assert message in one_error_line(invoke("next-dose", *BOIN, "--data", f))


def test_csv_encodings_and_folders(tmp_path):
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeffdose,dlt\n1,0\n1,0\n1,0\n".encode("utf-8"))   # Excel's "CSV UTF-8"
    assert decision("--data", bom)["next_dose"] == 2
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes("dose,dlt\n1,0\n".encode("utf-16"))
    assert "is not UTF-8 text" in one_error_line(invoke("next-dose", *BOIN, "--data", utf16))
    assert "Error:" in one_error_line(invoke("next-dose", *BOIN, "--data", tmp_path))


# ---------------------------------------------------------------------------- --n / --dlt
@pytest.mark.parametrize("n, dlt, message", [
    ("3.7,3", "0,1", "--n: value 1 (3.7) is not a whole number"),
    ("3,3", "0.9,1", "--dlt: value 1 (0.9) is not a whole number"),
    ("3,3", "inf,1", "--dlt: value 1 (inf) is not a whole number"),
    ("3,3", "nan,1", "--dlt: value 1 (nan) is not a whole number"),
    ("3,3", "1e400,1", "not a whole number"),
    ("3,x", "0,1", "--n must be comma-separated whole numbers"),
    (",", "0", "--n must be comma-separated whole numbers"),
])
def test_counts_are_never_truncated(n, dlt, message):
    msg = one_error_line(invoke("select-mtd", "--design", "boin", "--target", "0.3", "--n", n, "--dlt", dlt))
    assert message in msg


# ---------------------------------------------------------------------------- trial counts
@pytest.mark.parametrize("value, message", [
    ("0", "n_trials must be >= 1, got 0"),
    ("-5", "n_trials must be >= 1, got -5"),
    ("1e20", "n_trials must be <= 1,000,000,000"),
    ("100000000000000000000", "n_trials must be <= 1,000,000,000"),
    ("3.7", "n_trials must be a whole number"),
    ("inf", "n_trials must be a whole number"),
    ("many", "n_trials must be a whole number"),
])
def test_n_trials_bounds_name_the_parameter(tmp_path, value, message):
    study = tmp_path / "s.toml"
    study.write_text('[study]\ntarget = 0.3\nmax_n = 9\nn_trials = 10\nseed = 1\n[doses]\namounts = [1, 2]\n'
                     '[[designs]]\ntype = "boin"\n[[scenarios]]\nname = "a"\ntrue_prob_tox = [0.1, 0.3]\n')
    for args in (["simulate", *BOIN[:4], "--true-tox", "0.1,0.2,0.3"], ["run", study, "--out", tmp_path / "o"]):
        msg = one_error_line(invoke(*args, "--n-trials", value))
        assert "--n-trials" in msg and message in msg, msg
    assert not (tmp_path / "o").exists()


def test_n_trials_accepts_scientific_notation():
    r = invoke("simulate", *BOIN[:4], "--true-tox", "0.1,0.2,0.3", "--n-trials", "1e2", "--method", "mc",
               "--seed", "1", "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["n_trials"] == 100


def test_max_n_is_capped():
    msg = one_error_line(invoke("simulate", *BOIN[:4], "--true-tox", "0.1,0.2,0.3", "--max-n", "1000000000"))
    assert "max_n must be between 1 and 10000" in msg


# ---------------------------------------------------------------------------- compare --config
def test_compare_config_rejects_unknown_keys(tmp_path):
    """compare --config reads study files: the study loader's messages (the full set, and
    the same file through `run`, are in tests/cli/test_compare_study.py)."""
    head = '[doses]\nlabels = ["a", "b", "c"]\n[[designs]]\ntype = "boin"\n[[scenarios]]\nname = "s"\n' \
           'true_prob_tox = [0.1, 0.3, 0.5]\n'
    cfg = tmp_path / "c.toml"
    cfg.write_text('[study]\ntarget = 0.3\nmax_n = 9\nseed = 1\nn_trails = 50\n' + head)
    msg = one_error_line(invoke("compare", "--config", cfg))
    assert "study.n_trails: unknown key (did you mean 'n_trials'?); allowed keys: cohort_size" in msg
    cfg.write_text('[study]\ntarget = 0.3\nmax_n = 9\nseed = 1\nn_trials = 3.7\n' + head)
    assert "study.n_trials: must be a whole number" in one_error_line(invoke("compare", "--config", cfg))
    cfg.write_text('[study]\ntarget = 0.3\nmax_n = 9\nseed = 1\nn_trials = 5\n'
                   + head.replace('type = "boin"', 'type = "boin"\nextrasafe = "no"'))
    assert "designs[1] (BOIN).extrasafe: extrasafe must be true or false" in one_error_line(
        invoke("compare", "--config", cfg))
    cfg.write_bytes("n_trials = 5\n".encode("utf-16"))
    assert "is not UTF-8 text" in one_error_line(invoke("compare", "--config", cfg))
    assert "is a folder" in one_error_line(invoke("compare", "--config", tmp_path))


# ---------------------------------------------------------------------------- one rule for curves
def test_decreasing_true_tox_is_simulated_with_a_note():
    """The same rule as the study file: allowed, and said (docs/study-file.md)."""
    r = invoke("simulate", *BOIN[:4], "--true-tox", "0.3,0.2,0.4", "--method", "exact", "--format", "json")
    assert r.exit_code == 0, r.output
    assert "Note: the true DLT rate decreases with dose somewhere (0.3, 0.2, 0.4)" in r.stderr
    r = invoke("simulate", *BOIN[:4], "--true-tox", "0.3,0.2,0.4", "--method", "exact", "--format", "json", "-q")
    assert r.stderr == ""


# ---------------------------------------------------------------------------- warnings and errors
def test_warnings_are_one_line_and_obey_quiet():
    args = ["simulate", *BOIN[:4], "--true-tox", "0.1,0.2,0.3", "--n-earlystop", "3", "--method", "exact",
            "--format", "json"]
    r = invoke(*args)
    assert r.exit_code == 0, r.output
    warns = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(warns) == 1 and warns[0].startswith("Warning: n_earlystop=3"), r.stderr
    r = invoke(*args, "--quiet")
    assert r.exit_code == 0 and r.stderr == ""


def test_state_space_too_large_is_a_clean_error(monkeypatch):
    import dosefind.simulations as sims
    from dosefind.simulations.exact import StateSpaceTooLarge

    def too_large(*a, **k):
        raise StateSpaceTooLarge("the exact state space of CRM exceeds 500000 states; use method='mc'")

    monkeypatch.setattr(sims, "simulate", too_large)
    msg = one_error_line(invoke("simulate", *BOIN[:4], "--true-tox", "0.1,0.2,0.3", "--method", "exact"))
    assert msg == "Error: the exact state space of CRM exceeds 500000 states; use --method mc (or auto)"


@pytest.mark.parametrize("exc, line", [
    (OSError(28, "No space left on device", "/full/report.html"), "Error: No space left on device: /full/report.html"),
    (PermissionError(13, "Permission denied", "/ro/x"), "Error: Permission denied: /ro/x"),
    (MemoryError(), "Error: ran out of memory; ask for fewer simulated trials"),
])
def test_os_errors_are_one_line(monkeypatch, exc, line):
    import dosefind.simulations as sims

    def fail(*a, **k):
        raise exc

    monkeypatch.setattr(sims, "simulate", fail)
    assert one_error_line(invoke("simulate", *BOIN[:4], "--true-tox", "0.1,0.2,0.3")).startswith(line)


def test_a_bug_is_an_internal_error_and_debug_shows_it(monkeypatch):
    import dosefind.simulations as sims

    def bug(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(sims, "simulate", bug)
    r = invoke("simulate", *BOIN[:4], "--true-tox", "0.1,0.2,0.3")
    assert r.exit_code == 1
    assert r.stderr.startswith("Internal error: RuntimeError: boom. This is a bug in dosefind")
    assert "--debug" in r.stderr and "Traceback" not in r.output
    r = invoke("--debug", "simulate", *BOIN[:4], "--true-tox", "0.1,0.2,0.3")
    assert isinstance(r.exception, RuntimeError)         # the traceback reaches the user


def test_closed_pipe_ends_quietly():
    """`dosefind ... | head` closes the pipe early: no "Error: Broken pipe", Unix's exit code 141."""
    import os
    import subprocess
    import sys

    read, write = os.pipe()
    os.close(read)  # the reader has gone before the first line is written
    try:
        proc = subprocess.run([sys.executable, "-m", "dosefind.cli", "boundaries", "--target", "0.3",
                               "--format", "csv"], stdout=write, stderr=subprocess.PIPE, text=True,
                              timeout=60)
    finally:
        os.close(write)
    assert proc.stderr == ""
    assert proc.returncode == 141
