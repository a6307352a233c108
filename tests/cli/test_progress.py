"""Issue 9: progress reaches the user in every phase, also when stderr is not a terminal."""

import io
import time

from click.testing import CliRunner

from dosefind.cli import main
from dosefind.cli.progress import Progress


def test_plain_lines_cover_every_phase_with_totals():
    out = io.StringIO()
    p = Progress(stream=out, tty=False, interval=0.2)
    p("scenarios", 0, 1, "preparing")
    p("scenarios", 1, 1, "")
    for k in range(3):
        p("simulations", k, 3, f"BOIN | s{k}")
        if k == 1:
            time.sleep(0.7)             # one long step: the heartbeat says it is alive
        p("simulations", k + 1, 3, f"BOIN | s{k}")
    p("figures", 0, 2, "curves")
    p("figures", 2, 2, "done")
    p.close()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("dosefind: preparing scenarios done (")
    assert lines[1] == "dosefind: simulating 0/3: BOIN | s0"
    assert any("still running" in line and line.startswith("dosefind: simulating 1/3: BOIN | s1") for line in lines)
    assert any(line.startswith("dosefind: simulating 3/3 (") for line in lines)
    assert lines[-2] == "dosefind: drawing figures 0/2: curves"
    assert lines[-1].startswith("dosefind: drawing figures 2/2 (")


def test_only_slow_stays_silent_for_quick_commands_and_speaks_for_slow_ones():
    out = io.StringIO()
    p = Progress(stream=out, tty=False, interval=0.3, only_slow=True)
    p("simulations", 0, 1, "CRM")
    p("simulations", 1, 1, "")
    assert out.getvalue() == ""
    p2 = Progress(stream=out, tty=False, interval=0.3, only_slow=True)
    p2("simulations", 0, 1, "CRM, 10,000 trials")
    time.sleep(1.6)
    p2("simulations", 1, 1, "")
    p2.close()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("dosefind: simulating 0/1: CRM, 10,000 trials, still running (")
    assert lines[-1].startswith("dosefind: simulating done (")


def test_disabled_prints_nothing():
    out = io.StringIO()
    with Progress(enabled=False, stream=out) as p:
        p("simulations", 0, 2, "x")
        p("simulations", 2, 2, "x")
    assert out.getvalue() == ""


def test_run_reports_every_phase_when_not_a_terminal(tmp_path):
    study = tmp_path / "s.toml"
    study.write_text('[study]\ntarget = 0.3\nmax_n = 9\nn_trials = 50\nseed = 1\n[doses]\namounts = [1, 2]\n'
                     '[[designs]]\ntype = "boin"\n[[designs]]\ntype = "3+3"\n'
                     '[[scenarios]]\nname = "a"\ntrue_prob_tox = [0.1, 0.3]\n')
    r = CliRunner().invoke(main, ["run", str(study), "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    err = r.stderr
    for phase in ("preparing scenarios", "simulating 2/2", "building tables", "drawing figures 3/3",
                  "writing the report"):
        assert f"dosefind: {phase}" in err, err
    r = CliRunner().invoke(main, ["run", str(study), "--out", str(tmp_path / "o"), "--force", "-q"])
    assert r.exit_code == 0 and r.output == ""
