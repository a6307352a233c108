"""BOIN12 on the command line: next-dose and select-obd with --design boin12.

The CLI is a pipe to the library: each command's JSON must equal what
``BOIN12(...).decide`` / ``select_obd`` return for the same data (the design's numbers are
checked against Lin et al. 2020 in tests/published/test_boin12_lin_2020.py).  Phase I/II
data are read from outcome letters (E, T, B, N), per-dose counts (--eff) and CSV files
with an ``eff`` column, and all three give the same state.
"""

import json

import pytest
from click.testing import CliRunner

from dosefind import TrialState
from dosefind.cli import main
from dosefind.designs import BOIN12

B12 = ["--design", "boin12", "--phi-t", "0.35", "--phi-e", "0.25", "--num-doses", "5"]


def run(*args):
    return CliRunner().invoke(main, list(args))


def ok(*args):
    result = run(*args)
    assert result.exit_code == 0, result.output
    return result.output


def design():
    return BOIN12(phi_t=0.35, phi_e=0.25, num_doses=5)


@pytest.mark.parametrize("outcomes", ["1NNN 2NEN", "1NNE 2EBN 2NTE", "1EEE 2BTT"])
def test_next_dose_json_is_the_library_decision(outcomes):
    out = json.loads(ok("next-dose", *B12, "--outcomes", outcomes, "--format", "json"))
    state = TrialState.from_outcomes(outcomes, 5)
    d = design().decide(state)
    sel = design().select_obd(state)
    assert out["next_dose"] == d.next_dose and out["stop"] == d.stop
    assert out["code"] == d.code.value and out["reason"] == d.reason
    assert out["obd"] == sel.obd and out["obd_reason"] == sel.reason
    assert out["utility"] == [None if u is None else pytest.approx(u, abs=1e-6) for u in sel.utility]


def test_three_ways_of_giving_phase12_data_agree(tmp_path):
    per_patient = tmp_path / "patients.csv"
    per_patient.write_text("dose,dlt,eff\n1,0,0\n1,0,1\n1,0,0\n2,0,1\n2,1,1\n2,0,0\n")
    per_dose = tmp_path / "doses.csv"
    per_dose.write_text("dose,n,dlt,eff\n1,3,0,1\n2,3,1,2\n")
    outs = [json.loads(ok("select-obd", *B12, *src, "--format", "json")) for src in (
        ["--outcomes", "1NEN 2EBN"], ["--n", "3,3,0,0,0", "--dlt", "0,1,0,0,0", "--eff", "1,2,0,0,0"],
        ["--data", str(per_patient)], ["--data", str(per_dose)])]
    assert all(o == outs[0] for o in outs[1:])
    assert outs[0]["obd"] == design().select_obd(TrialState.from_outcomes("1NEN 2EBN", 5)).obd


def test_table_output_shows_response_and_utility():
    out = ok("next-dose", *B12, "--outcomes", "1NNN 2NEN")
    assert out.startswith("Next dose: ")
    assert "response" in out and "utility" in out


def test_bad_phase12_input_is_one_line_error():
    cases = [
        (["next-dose", "--design", "boin12", "--phi-e", "0.25", "--num-doses", "5", "--outcomes", "1NNN"], "--phi-t"),
        (["next-dose", *B12[:-4], "--phi-e", "1.2", "--num-doses", "5", "--outcomes", "1NNN"], "phi_e"),
        (["next-dose", *B12, "--utility", "100,40,60", "--outcomes", "1NNN"], "four values"),
        (["next-dose", *B12, "--utility", "100,40,160,0", "--outcomes", "1NNN"], "100"),
        (["next-dose", *B12, "--n", "3,3,0,0,0", "--dlt", "0,0,0,0,0", "--eff", "1,4,0,0,0"], "eff"),
        (["next-dose", *B12, "--outcomes", "1NXN"], "E (response)"),
        (["next-dose", "--design", "boin", "--target", "0.3", "--num-doses", "5", "--outcomes", "1NEN"],
         "phase I design"),
        (["select-obd", "--design", "boin", "--target", "0.3", "--num-doses", "5", "--outcomes", "1NNN"],
         "phase I/II design"),
        (["next-dose", *B12, "--eff", "1,0,0,0,0", "--outcomes", "1NNN"], "--eff"),
    ]
    for args, needle in cases:
        result = run(*args)
        assert result.exit_code != 0, args
        assert needle in result.output, (args, result.output)
        assert "Traceback" not in result.output


def test_simulate_boin12_json_is_the_library_result():
    from dosefind.simulations import simulate

    args = ["simulate", "--design", "boin12", "--phi-t", "0.35", "--phi-e", "0.25", "--cohorts", "10",
            "--true-tox", "0.05,0.1,0.2,0.3,0.45", "--true-eff", "0.1,0.3,0.5,0.55,0.6",
            "--tox-eff-correlation", "0.1", "--n-trials", "300", "--seed", "5", "--method", "mc",
            "--format", "json", "--quiet"]
    out = json.loads(ok(*args))
    lib = simulate(BOIN12(phi_t=0.35, phi_e=0.25, num_doses=5, n_cohorts=10), [0.05, 0.1, 0.2, 0.3, 0.45],
                   true_prob_eff=[0.1, 0.3, 0.5, 0.55, 0.6], tox_eff_correlation=0.1, n_trials=300, seed=5,
                   method="mc")
    assert out["efficacy"]["values"]["obd_selection_pct"] == pytest.approx(list(lib.obd_selection_pct))
    assert out["efficacy"]["values"]["pct_correct_obd"] == pytest.approx(lib.pct_correct_obd)


def test_simulate_phase12_input_errors():
    base = ["simulate", "--design", "boin12", "--phi-t", "0.35", "--phi-e", "0.25", "--cohorts", "10",
            "--true-tox", "0.05,0.1,0.2,0.3,0.45", "--n-trials", "100", "--seed", "1"]
    for extra, needle in ((["--true-eff", "0.1,0.3,0.5,0.55"], "true_prob_eff"),
                          ([], "--true-eff"),
                          (["--true-eff", "0.1,0.3,0.5,0.55,1.5"], "true_prob_eff"),
                          (["--true-eff", "0.1,0.3,0.5,0.55,0.6", "--tox-eff-correlation", "0.99"], "impossible"),
                          (["--true-eff", "0.1,0.3,0.5,0.55,0.6", "--tox-eff-correlation", "-2"], "between -1 and 1")):
        result = run(*base, *extra)
        assert result.exit_code != 0 and needle in result.output, (extra, result.output)
        assert "Traceback" not in result.output


def test_tite_boin12_on_the_command_line_needs_both_windows_and_runs():
    base = ["simulate", "--design", "tite-boin12", "--phi-t", "0.35", "--phi-e", "0.25", "--cohorts", "4",
            "--true-tox", "0.05,0.1,0.2", "--true-eff", "0.2,0.4,0.5", "--accrual-rate", "2",
            "--n-trials", "50", "--seed", "1", "--format", "json", "--quiet"]
    result = run(*base, "--dlt-window", "28")
    assert result.exit_code != 0 and "--eff-window" in result.output
    out = json.loads(ok(*base, "--dlt-window", "28", "--eff-window", "56"))
    assert "efficacy" in out and out["calendar"]["duration"]["mean"] > 0


def test_backfill_cap_on_the_command_line_is_the_library_backfill():
    from dosefind.designs import BOIN, Backfill
    from dosefind.simulations import Accrual, simulate

    args = ["simulate", "--design", "boin", "--target", "0.25", "--cohorts", "8", "--true-tox",
            "0.05,0.1,0.25,0.4,0.55", "--dlt-window", "28", "--accrual-rate", "4", "--backfill-cap", "6",
            "--n-trials", "200", "--seed", "3", "--format", "json", "--quiet"]
    out = json.loads(ok(*args))
    lib = simulate(BOIN(target=0.25, num_doses=5, n_cohorts=8).then(Backfill(6)), [0.05, 0.1, 0.25, 0.4, 0.55],
                   accrual=Accrual.poisson(rate=4 / 30), dlt_window=28, n_trials=200, seed=3)
    assert out["calendar"]["backfilled"]["mean"] == pytest.approx(lib.calendar["backfilled"]["mean"])
    assert out["calendar"]["backfilled"]["mean"] > 0
    bad = run(*[a if a != "6" else "-1" for a in args])
    assert bad.exit_code != 0 and "cap_per_dose" in bad.output
    # BF-BOIN's sample size by default (8 cohorts of escalation, backfilled on top); the
    # other convention with --backfill-in-max-n
    esc = out["calendar"]["backfilled"]["escalation"]["mean"]
    assert esc <= 24 and out["calendar"]["enrolled"]["mean"] > 24
    fixed = json.loads(ok(*args, "--backfill-in-max-n"))
    lib2 = simulate(BOIN(target=0.25, num_doses=5, n_cohorts=8).then(Backfill(6, count_in_max_n=True)),
                    [0.05, 0.1, 0.25, 0.4, 0.55], accrual=Accrual.poisson(rate=4 / 30), dlt_window=28, n_trials=200,
                    seed=3)
    assert fixed["calendar"]["enrolled"]["mean"] == pytest.approx(lib2.calendar["enrolled"]["mean"])
    assert fixed["calendar"]["enrolled"]["mean"] <= 24
    alone = run(*[a for a in args if a not in ("--backfill-cap", "6")], "--backfill-in-max-n")
    assert alone.exit_code != 0 and "--backfill-cap" in alone.output and "Traceback" not in alone.output


def test_simulate_table_names_the_mtd_and_the_obd_columns_apart():
    out = ok("simulate", "--design", "boin12", "--phi-t", "0.35", "--phi-e", "0.25", "--cohorts", "4",
             "--true-tox", "0.05,0.1,0.3", "--true-eff", "0.2,0.4,0.5", "--n-trials", "100", "--seed", "1",
             "--method", "mc", "--quiet")
    header = out.splitlines()[1]
    assert "MTD selected %" in header and "OBD selected %" in header
    assert "  Selected %" not in header
