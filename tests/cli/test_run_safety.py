"""Issue 9: `dosefind run` never loses a user's files.

--force replaces only a report folder dosefind wrote; the output is checked, locked and
proved writable before anything is simulated; leftovers of a killed run are tidied.
Several cases run the real command in separate processes (two concurrent runs, a
read-only location).
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from dosefind.cli import main
from dosefind.reports.output import MARKER

ROOT = Path(__file__).resolve().parents[2]

SMALL = '''
[study]
target = 0.3
max_n = 9
n_trials = 100
seed = 11
method = "mc"

[doses]
amounts = [1, 2, 3]
unit = "mg"

[[designs]]
type = "boin"

[[scenarios]]
name = "middle"
true_prob_tox = [0.1, 0.3, 0.5]
'''


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def one_error_line(r) -> str:
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert r.exit_code == 2, r.output
    assert len(lines) == 1 and lines[0].startswith("Error: "), r.output
    return lines[0]


@pytest.fixture
def study(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text(SMALL)
    return p


@pytest.fixture
def no_simulation(monkeypatch):
    import dosefind.simulations as sims

    monkeypatch.setattr(sims, "simulate", lambda *a, **k: pytest.fail("simulated before checking the output"))


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------------- --force
def test_force_refuses_a_folder_dosefind_did_not_write(tmp_path, study, no_simulation):
    mine = tmp_path / "thesis"
    (mine / "chapter").mkdir(parents=True)
    (mine / "chapter" / "1.tex").write_text("years of work")
    (mine / "manifest.json").write_text('{"something": "else"}')
    before = snapshot(mine)
    msg = one_error_line(invoke("run", study, "--out", mine, "--force"))
    assert f"--out {mine}" in msg and "not a report dosefind wrote" in msg and "even with --force" in msg
    assert snapshot(mine) == before


def test_force_refuses_a_report_folder_holding_other_files(tmp_path, study):
    out = tmp_path / "report"
    assert invoke("run", study, "--out", out, "-q").exit_code == 0
    (out / "my-notes.txt").write_text("keep me")
    msg = one_error_line(invoke("run", study, "--out", out, "--force", "-q"))
    assert "files dosefind did not write (my-notes.txt)" in msg
    assert (out / "my-notes.txt").read_text() == "keep me"
    (out / "my-notes.txt").unlink()
    r = invoke("run", study, "--out", out, "--force", "-q", "--seed", "3")
    assert r.exit_code == 0, r.output
    assert json.loads((out / "manifest.json").read_text())["seed"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report", "s.toml"]   # no lock or temp left


@pytest.mark.parametrize("where", ["study-folder", "dot", "pwd", "home", "parent"])
def test_out_never_holds_the_study_or_the_current_folder(tmp_path, monkeypatch, where, no_simulation):
    proj = tmp_path / "proj"
    proj.mkdir()
    study = proj / "study.toml"
    study.write_text(SMALL)
    monkeypatch.chdir(proj)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    out = {"study-folder": proj, "dot": Path("."), "pwd": Path(os.getcwd()), "home": tmp_path / "home",
           "parent": Path("..")}[where]
    before = sorted(p.name for p in tmp_path.rglob("*"))
    msg = one_error_line(invoke("run", study, "--out", out, "--force"))
    assert msg.startswith(f"Error: --out {out}: ")
    assert any(s in msg for s in ("current folder", "home folder", "contains the input file")), msg
    assert study.read_text() == SMALL
    assert sorted(p.name for p in tmp_path.rglob("*")) == before     # nothing left behind


def test_study_inside_a_dosefind_report_is_never_deleted(tmp_path):
    out = tmp_path / "report"
    study = tmp_path / "s.toml"
    study.write_text(SMALL)
    assert invoke("run", study, "--out", out, "-q").exit_code == 0
    inside = out / "study.toml"
    inside.write_text(SMALL)
    msg = one_error_line(invoke("run", inside, "--out", out, "--force", "-q"))
    assert "contains the input file" in msg and inside.read_text() == SMALL


def test_symlinks_and_files_as_out(tmp_path, study, no_simulation):
    dangling = tmp_path / "link"
    dangling.symlink_to(tmp_path / "nowhere")
    msg = one_error_line(invoke("run", study, "--out", dangling))
    assert "is a symbolic link (to a missing target" in msg
    assert not (tmp_path / "nowhere").exists()
    f = tmp_path / "file.txt"
    f.write_text("x")
    assert "exists and is not a folder" in one_error_line(invoke("run", study, "--out", f, "--force"))
    assert f.read_text() == "x"
    assert "folder does not exist" in one_error_line(invoke("run", study, "--out", tmp_path / "no" / "out"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt", "link", "s.toml"]


# ---------------------------------------------------------------------------- read-only location
def _read_only_parent(tmp_path) -> Path:
    """A folder this process cannot write in: chmod works for ordinary users; root ignores
    it, so then a read-only system location is used (/sys refuses new files even to root)."""
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        return ro
    for cand in (Path("/sys"), Path("/proc")):
        try:
            (cand / ".dosefind-probe").touch()
        except OSError:
            return cand
        (cand / ".dosefind-probe").unlink()
    pytest.skip("running as root with no read-only location available")


def test_read_only_location_fails_before_simulating(tmp_path, study, no_simulation):
    out = _read_only_parent(tmp_path) / "dosefind-report"
    msg = one_error_line(invoke("run", study, "--out", out))
    assert f"--out {out}: cannot write in {out.parent}" in msg


def test_read_only_location_real_process(tmp_path, study):
    """The real command: a clear one-line error within seconds, before the simulation
    (a run of 10^8 trials would take hours)."""
    out = _read_only_parent(tmp_path) / "dosefind-report"
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "dosefind.cli", "run", str(study), "--out", str(out),
                        "--n-trials", "100000000"], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert p.returncode == 2, p.stderr
    assert p.stderr.strip().splitlines() == [f"Error: --out {out}: cannot write in {out.parent}: Permission denied"] \
        or "cannot write in" in p.stderr and "Traceback" not in p.stderr
    assert time.monotonic() - t0 < 60


# ---------------------------------------------------------------------------- lock
def test_two_concurrent_runs_real_processes(tmp_path):
    """Two real `dosefind run` into one --out: the second refuses at once with a clear
    message; the first finishes and its report is intact."""
    study = tmp_path / "slow.toml"
    study.write_text(SMALL.replace("n_trials = 100", "n_trials = 60000").replace('method = "mc"', 'method = "mc"')
                     .replace('type = "boin"', 'type = "crm"\nskeleton = [0.1, 0.3, 0.5]\ncohort_size = 1')
                     .replace("max_n = 9", "max_n = 24"))
    out = tmp_path / "report"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "dosefind.cli", "run", str(study), "--out", str(out), "-q"]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        lock = tmp_path / ".report.dosefind-lock"
        deadline = time.monotonic() + 60
        while not lock.exists():
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first run never took the lock"
            time.sleep(0.05)
        second = subprocess.run(cmd + ["--force"], capture_output=True, text=True, env=env, timeout=120)
        assert first.poll() is None, "the first run ended before the second was tried; make it slower"
        assert second.returncode == 2, second.stderr
        assert "another dosefind run (pid" in second.stderr and "is writing this report" in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1
    finally:
        stdout, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    assert (out / "report.html").exists() and not lock.exists()


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path, study):
    import socket

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock = tmp_path / ".report.dosefind-lock"
    lock.write_text(json.dumps({"written_by": "dosefind", "pid": dead.pid, "host": socket.gethostname()}))
    r = invoke("run", study, "--out", tmp_path / "report", "-q")
    assert r.exit_code == 0, r.output
    assert not lock.exists()
    # A lock of a live process (this one) is respected.
    lock.write_text(json.dumps({"written_by": "dosefind", "pid": os.getpid(), "host": socket.gethostname()}))
    assert invoke("run", study, "--out", tmp_path / "other", "-q").exit_code == 0   # another output
    msg = one_error_line(invoke("run", study, "--out", tmp_path / "report", "--force", "-q"))
    assert f"another dosefind run (pid {os.getpid()}" in msg and str(lock) in msg


# ---------------------------------------------------------------------------- leftovers
def test_leftovers_of_a_killed_run_are_tidied_or_reported(tmp_path, study):
    import socket

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    marker = json.dumps({"written_by": "dosefind", "kind": "temporary", "pid": dead.pid, "host": socket.gethostname()})
    ours = tmp_path / ".report.tmp-abc123"
    (ours / "tables").mkdir(parents=True)
    (ours / MARKER).write_text(marker)
    foreign = tmp_path / ".report.tmp-zzz"
    foreign.mkdir()
    (foreign / "data.txt").write_text("not dosefind's")
    r = invoke("run", study, "--out", tmp_path / "report")
    assert r.exit_code == 0, r.output
    assert not ours.exists()
    assert (foreign / "data.txt").read_text() == "not dosefind's"
    assert f"Note: removed {ours}, left by an interrupted run" in r.output
    assert f"Note: left in place {foreign}: not marked as a dosefind folder" in r.output


def test_previous_report_caught_mid_replacement_is_restored(tmp_path, study):
    import socket

    out = tmp_path / "report"
    assert invoke("run", study, "--out", out, "-q").exit_code == 0
    before = (out / "manifest.json").read_text()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    old = tmp_path / ".report.old-xyz"
    old.mkdir()
    (old / MARKER).write_text(json.dumps({"written_by": "dosefind", "kind": "previous", "pid": dead.pid,
                                          "host": socket.gethostname()}))
    os.replace(out, old / "report")            # killed between the two renames
    r = invoke("run", study, "--out", out, "--seed", "5")
    # The previous report is put back first, so without --force the run refuses to replace it.
    assert r.exit_code == 2 and "already exists; use --force" in r.output
    assert (out / "manifest.json").read_text() == before and not old.exists()
