"""The real-trial commands: boundaries, next-dose, select-mtd, skeleton.

Numbers checked here are the published ones also used in tests/published (BOIN boundary
table for target 0.3 from Liu & Yuan 2015 / the BOIN R package's get.boundary example;
getprior from Lee & Cheung 2009) so the CLI is tested as a faithful pipe to the library.
"""

import json

import pytest
from click.testing import CliRunner

from dosefind.cli import main


def run(*args):
    result = CliRunner().invoke(main, list(args))
    return result


def ok(*args):
    result = run(*args)
    assert result.exit_code == 0, result.output
    return result.output


def test_boundaries_json_schema_and_values():
    out = json.loads(ok("boundaries", "--target", "0.3", "--cohort-size", "3", "--max-n", "30", "--format", "json"))
    assert set(out) >= {"lambda_e", "lambda_d", "table"}
    # Liu & Yuan (2015) / Yuan et al. (2016) Table 1: 0.236 and 0.358 for target 0.3 (printed to 3
    # decimals, truncated: the exact values are 0.23649 and 0.35852)
    assert out["lambda_e"] == pytest.approx(0.236, abs=1e-3) and out["lambda_d"] == pytest.approx(0.358, abs=1e-3)
    rows = out["table"]
    assert [r["n"] for r in rows] == [3, 6, 9, 12, 15, 18, 21, 24, 27, 30]
    # BOIN R package get.boundary(target=0.3, ncohort=10, cohortsize=3)
    assert [r["escalate_if_dlt_le"] for r in rows] == [0, 1, 2, 2, 3, 4, 4, 5, 6, 7]
    assert [r["deescalate_if_dlt_ge"] for r in rows] == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert [r["eliminate_if_dlt_ge"] for r in rows] == [3, 4, 5, 7, 8, 9, 10, 11, 12, 14]
    assert set(rows[0]) == {"n", "escalate_if_dlt_le", "deescalate_if_dlt_ge", "eliminate_if_dlt_ge"}


def test_boundaries_table_and_csv():
    text = ok("boundaries", "--target", "0.3", "--max-n", "9")
    assert "Eliminate if # of DLT >=" in text and "lambda_e = 0.2365" in text
    csv = ok("boundaries", "--target", "0.3", "--max-n", "6", "--full", "--format", "csv")
    lines = csv.strip().splitlines()
    assert lines[0] == "n,escalate_if_dlt_le,deescalate_if_dlt_ge,eliminate_if_dlt_ge"
    assert lines[1].endswith(",NA") and len(lines) == 7   # n = 1..6; no elimination below n = 3


def test_next_dose_boin_json():
    out = json.loads(ok("next-dose", "--design", "boin", "--target", "0.3", "--num-doses", "5",
                        "--outcomes", "1NNN 2NNT 2NNN 3NTT", "--format", "json"))
    # 2/3 DLTs at dose 3 >= the de-escalation boundary 2 at n = 3 (table above): back to dose 2
    assert out["next_dose"] == 2 and out["stop"] is False and "de-escalate" in out["reason"]
    assert len(out["estimates"]) == 5 and out["estimates"][3] is None


def test_next_dose_inputs_agree():
    """--outcomes, --data and --n/--dlt describe the same trial -> the same decision."""
    a = json.loads(ok("next-dose", "--design", "3+3", "--num-doses", "4", "--outcomes", "1NNN 2NTN",
                      "--format", "json"))
    b = json.loads(ok("next-dose", "--design", "3+3", "--n", "3,3,0,0", "--dlt", "0,1,0,0", "--format", "json"))
    assert a == b and a["next_dose"] == 2


def test_next_dose_from_csv(tmp_path):
    f = tmp_path / "trial.csv"
    f.write_text("dose,dlt\n1,0\n1,0\n1,0\n2,0\n2,1\n2,1\n")
    out = json.loads(ok("next-dose", "--design", "3+3", "--num-doses", "4", "--data", str(f), "--format", "json"))
    assert out["next_dose"] == 1           # 2/3 at dose 2: expand dose 1 (3+3 rule)
    g = tmp_path / "counts.csv"
    g.write_text("dose,n,dlt\n1,3,0\n2,3,2\n")
    out2 = json.loads(ok("next-dose", "--design", "3+3", "--num-doses", "4", "--data", str(g),
                         "--format", "json"))
    assert out2 == out


def test_next_dose_stop_is_null():
    out = json.loads(ok("next-dose", "--design", "3+3", "--num-doses", "3", "--outcomes", "1TTN",
                        "--format", "json"))
    assert out["next_dose"] is None and out["stop"] is True


def test_select_mtd_boin_json():
    out = json.loads(ok("select-mtd", "--design", "boin", "--target", "0.3", "--n", "3,3,15,9,0",
                        "--dlt", "0,0,4,4,0", "--format", "json"))
    # BOIN R manual, select.mtd example (npts=c(3,3,15,9,0), ntox=c(0,0,4,4,0)): MTD = dose 3
    assert out["mtd"] == 3
    assert out["estimates"][4] is None and len(out["estimates"]) == 5


def test_select_mtd_crm_has_beta():
    # no --max-n: the trial size does not enter a CRM decision on data already observed
    out = json.loads(ok("select-mtd", "--design", "crm", "--target", "0.25",
                        "--skeleton", "0.05,0.12,0.25,0.40,0.55", "--n", "3,6,9,3,0", "--dlt", "0,1,2,2,0",
                        "--format", "json"))
    assert {"mtd", "estimates", "beta_mean", "beta_var"} <= set(out)
    assert all(e is not None for e in out["estimates"]) and len(out["estimates"]) == 5
    assert out["beta_var"] > 0


def test_skeleton_json():
    out = json.loads(ok("skeleton", "--target", "0.25", "--halfwidth", "0.05", "--nu", "3", "--num-doses", "5",
                        "--format", "json"))
    assert out["skeleton"][2] == pytest.approx(0.25)        # the prior MTD guess carries the target
    assert out["skeleton"] == sorted(out["skeleton"]) and len(out["skeleton"]) == 5


@pytest.mark.parametrize(
    "args, message",
    [
        (["next-dose", "--design", "boin", "--target", "1.3", "--num-doses", "5", "--outcomes", "1NNN"],
         "target must be between 0 and 1"),
        (["next-dose", "--design", "boin", "--target", "0.3", "--num-doses", "3", "--outcomes", "4NNN"],
         "names dose 4, but doses run from 1 to 3"),
        (["select-mtd", "--design", "boin", "--target", "0.3", "--n", "3,3", "--dlt", "0,4"],
         r"dlt at dose 2 \(4\) cannot exceed"),
        (["select-mtd", "--design", "boin", "--target", "0.3", "--n", "3,-3", "--dlt", "0,0"],
         "n must be >= 0"),
        (["next-dose", "--design", "crm", "--target", "0.3", "--max-n", "20", "--skeleton", "0.3,0.2,0.4",
          "--outcomes", "1N"], "skeleton must be strictly increasing"),
        (["next-dose", "--design", "crm", "--target", "0.3", "--max-n", "20", "--num-doses", "4",
          "--skeleton", "0.1,0.2,0.4", "--outcomes", "1N"], "skeleton has 3 values but there are 4 doses"),
        (["next-dose", "--design", "3+3", "--outcomes", "1NNN"], "give the number of doses"),
        (["next-dose", "--design", "3+3", "--num-doses", "3"], "give the trial data once"),
        (["next-dose", "--design", "3+3", "--num-doses", "3", "--data", "/no/such.csv"], "no such file"),
        (["boundaries", "--target", "0"], "target must be between 0 and 1"),
        (["skeleton", "--target", "0.25", "--nu", "7", "--num-doses", "5"], "nu"),
    ],
)
def test_user_errors_are_one_line(args, message):
    result = run(*args)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert pytest.importorskip("re").search(message, lines[0]), lines[0]
