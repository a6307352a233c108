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
