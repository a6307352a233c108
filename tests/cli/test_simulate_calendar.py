"""dosefind simulate in calendar time (issue 10): the issue's example and bad input."""

import json

import pytest
from click.testing import CliRunner

from dosefind.cli import main
from dosefind.simulations import Accrual, Manufacturing, ToxicityTiming, simulate
from dosefind.designs import BOIN

ISSUE = ["simulate", "--design", "boin", "--target", "0.3", "--true-tox", "0.05,0.10,0.20,0.30,0.45",
         "--max-n", "30", "--dlt-window", "28", "--accrual-rate", "2", "--accrual", "poisson", "--late-onset", "0.5",
         "--manufacturing-failure", "0.05", "--vein-to-vein", "21", "--n-trials", "400", "--seed", "3"]


def run(args):
    return CliRunner().invoke(main, args, catch_exceptions=False)


def test_issue_example_json_equals_the_library_call():
    r = run(ISSUE + ["--format", "json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    # --accrual-rate is in patients per 30 days: 2 -> Accrual.poisson(2 / 30) per day.
    oc = simulate(BOIN(target=0.3, num_doses=5, max_n=30), [0.05, 0.10, 0.20, 0.30, 0.45], n_trials=400, seed=3,
                  accrual=Accrual.poisson(2 / 30), timing=ToxicityTiming.weibull_late(0.5),
                  manufacturing=Manufacturing(failure=0.05, vein_to_vein=21), dlt_window=28)
    assert d == json.loads(oc.to_json())
    assert d["calendar"]["setup"]["mean_gap_days"] == 15.0
    for key in ("duration", "enrolled", "infused", "failed", "turned_away", "time_suspended"):
        assert key in d["calendar"]


def test_components_on_the_command_line():
    r = run(["simulate", "--design", "boin", "--target", "0.3", "--crs", "0.05,0.1,0.2", "--icans", "0.02,0.05,0.1",
             "--dlt-window", "28", "--accrual-rate", "3", "--max-n", "12", "--n-trials", "200", "--seed", "1",
             "--format", "json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["true_prob_tox"][0] == pytest.approx(1 - 0.95 * 0.98)
    assert set(d["calendar"]["components"]) == {"crs", "icans", "other"}


W = ["--dlt-window", "28"]
A = ["--accrual-rate", "2"]


@pytest.mark.parametrize("extra, message", [
    (A + ["--dlt-window", "0"], "dlt_window must be a positive number of days"),
    (W + ["--accrual-rate", "-1"], "--accrual-rate must be a positive number"),
    (W + A + ["--late-onset", "1.2"], "late-onset share must be in"),
    (W + A + ["--manufacturing-failure", "1"], "manufacturing failure must be a probability in [0, 1)"),
    (W + ["--accrual", "fixed"], "--accrual needs --accrual-rate"),
    (W + A + ["--crs", "0.1,0.2"], "need both --crs and --icans"),
    (W, "accrual must be given"),
])
def test_bad_calendar_options_one_line_exit_2(extra, message):
    args = ["simulate", "--design", "boin", "--target", "0.3", "--true-tox", "0.1,0.2", "--max-n", "6",
            "--n-trials", "10"]
    r = CliRunner().invoke(main, args + extra)
    assert r.exit_code == 2, r.output
    assert message in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1


# The TITE designs on the command line: the issue's example with --design tite-boin is the
# library call TITEBOIN(..., dlt_window=28) in calendar time (the window is given once,
# as --dlt-window, and reaches both the design and the engine).
def test_tite_boin_from_the_command_line_equals_the_library_call():
    from dosefind.designs import TITEBOIN

    args = [a if a != "boin" else "tite-boin" for a in ISSUE] + ["--maxpen", "0.4", "--format", "json"]
    r = run(args)
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    oc = simulate(TITEBOIN(target=0.3, num_doses=5, max_n=30, dlt_window=28, maxpen=0.4),
                  [0.05, 0.10, 0.20, 0.30, 0.45], n_trials=400, seed=3, accrual=Accrual.poisson(2 / 30),
                  timing=ToxicityTiming.weibull_late(0.5), manufacturing=Manufacturing(failure=0.05, vein_to_vein=21),
                  dlt_window=28)
    assert d == json.loads(oc.to_json()) and d["design"] == "TITE-BOIN"


def test_tite_crm_from_the_command_line_equals_the_library_call():
    from dosefind.designs import TITECRM

    sk = [0.05, 0.12, 0.25, 0.40, 0.55]
    r = run(["simulate", "--design", "tite-crm", "--target", "0.25", "--skeleton", ",".join(map(str, sk)),
             "--true-tox", "0.05,0.10,0.20,0.30,0.45", "--max-n", "12", "--dlt-window", "28", "--accrual-rate", "6",
             "--scheme", "adaptive", "--n-trials", "60", "--seed", "2", "--format", "json"])
    assert r.exit_code == 0, r.output
    oc = simulate(TITECRM(sk, 0.25, max_n=12, dlt_window=28, scheme="adaptive"), [0.05, 0.10, 0.20, 0.30, 0.45],
                  n_trials=60, seed=2, accrual=Accrual.poisson(6 / 30), dlt_window=28)
    assert json.loads(r.output) == json.loads(oc.to_json())


@pytest.mark.parametrize("extra, message", [
    ([], "tite-boin needs --dlt-window"),
    (["--dlt-window", "28", "--maxpen", "1.5"], "maxpen must be in (0, 1]"),
])
def test_tite_boin_bad_input_is_one_line(extra, message):
    r = CliRunner().invoke(main, ["simulate", "--design", "tite-boin", "--target", "0.3", "--true-tox", "0.1,0.2,0.3",
                                  "--max-n", "12", "--accrual-rate", "2", "--n-trials", "10", *extra])
    assert r.exit_code == 2 and message in r.output and "Traceback" not in r.output
