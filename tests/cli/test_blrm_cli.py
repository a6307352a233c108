"""The BLRM on the command line: next-dose, select-mtd and simulate with --design blrm.

Posterior numbers are checked against an independent brute-force integration written
here (a fine rectangular grid over (log alpha, log beta), Neuenschwander et al. 2008's
model with OncoBayes2's single-agent example prior N((0, 0), diag(2^2, 1^2))); the
--prior-fit path is checked as a faithful pipe to ``dosefind.priors.prior_for_design``.
"""

import json
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

from dosefind.cli import main

DOSES = (5e5, 1e6, 2e6, 4e6, 8e6)
D = ["--design", "blrm", "--doses", ",".join(f"{d:g}" for d in DOSES)]


def run(*args):
    return CliRunner().invoke(main, list(args))


def ok(*args):
    result = run(*args)
    assert result.exit_code == 0, result.output
    return result.output


def brute_force(n, y, doses=DOSES, ref=DOSES[-1], cuts=(0.16, 0.33)):
    """Pr(under), Pr(target), Pr(over) per dose: midpoint rule on a 2001 x 801 grid over
    log alpha in [-10, 6], log beta in [-5, 3] (the prior mass outside is below 1e-6)."""
    la = np.linspace(-10, 6, 2001)[:, None]
    lb = np.linspace(-5, 3, 801)[None, :]
    logw = -0.5 * (la / 2) ** 2 - 0.5 * lb ** 2
    x = np.log(np.asarray(doses) / ref)
    p = [0.5 * (1 + np.tanh(0.5 * (la + np.exp(lb) * xi))) for xi in x]
    for pi, ni, yi in zip(p, n, y):
        logw = logw + yi * np.log(pi + 1e-300) + (ni - yi) * np.log1p(-pi + 1e-300)
    w = np.exp(logw - logw.max())
    w /= w.sum()
    out = []
    for pi in p:
        under = float(w[pi < cuts[0]].sum())
        over = float(w[pi >= cuts[1]].sum())
        out.append((under, 1 - under - over, over))
    return np.array(out)


def test_next_dose_json_matches_independent_integration():
    out = json.loads(ok("next-dose", *D, "--outcomes", "1NNN 2NNT", "--format", "json"))
    post = out["posterior"]
    got = np.array([[r["prob_underdose"], r["prob_target"], r["prob_overdose"]] for r in post])
    np.testing.assert_allclose(got, brute_force([3, 3, 0, 0, 0], [0, 1, 0, 0, 0]), atol=2e-3)
    ok_doses = [r["dose"] for r in post if r["ewoc_ok"]]
    # EWOC: eligible iff Pr(overdose) <= 0.25; next dose is the eligible one with the largest Pr(target)
    assert ok_doses == [r["dose"] for r in post if r["prob_overdose"] <= 0.25]
    best = max(ok_doses, key=lambda k: post[k - 1]["prob_target"])
    assert out["next_dose"] == best and out["stop"] is False
    assert out["intervals"] == [0.16, 0.33] and out["ewoc"] == 0.25
    assert [r["amount"] for r in post] == list(DOSES)


def test_next_dose_table_prints_interval_probabilities():
    text = ok("next-dose", *D, "--outcomes", "1NNN 2NNT")
    assert text.startswith("Next dose: 2 ")
    assert "P(0.16-0.33)" in text and "P(>=0.33)" in text and "ewoc_ok" in text


def test_options_reach_the_design():
    # a stricter EWOC and other intervals change the eligible doses as the integration says
    out = json.loads(ok("next-dose", *D, "--outcomes", "1NNN 2NNT", "--intervals", "0.2,0.35", "--ewoc", "0.1",
                        "--format", "json"))
    ref = brute_force([3, 3, 0, 0, 0], [0, 1, 0, 0, 0], cuts=(0.2, 0.35))
    assert [r["ewoc_ok"] for r in out["posterior"]] == list(ref[:, 2] <= 0.1)
    # one level at a time after 1NNN: the step cap, not EWOC, limits the next dose
    free = json.loads(ok("next-dose", *D, "--outcomes", "1NNN", "--max-increase", "none", "--format", "json"))
    capped = json.loads(ok("next-dose", *D, "--outcomes", "1NNN", "--max-increase", "none",
                           "--max-step-levels", "1", "--format", "json"))
    assert capped["next_dose"] == 2 and free["next_dose"] >= capped["next_dose"]


def test_select_mtd_json():
    out = json.loads(ok("select-mtd", *D, "--outcomes", "1NNN 2NNT 2NNN", "--format", "json"))
    post = out["posterior"]
    given = [r for r in post[:2] if r["ewoc_ok"]]
    assert out["mtd"] == max(given, key=lambda r: r["prob_target"])["dose"]


def test_simulate_uses_target_and_intervals_as_correct_band():
    out = json.loads(ok("simulate", *D, "--max-n", "9", "--true-tox", "0.05,0.1,0.2,0.3,0.45", "--target", "0.25",
                        "--method", "exact", "-q", "--format", "json"))
    sel = out["selection_pct"]
    assert sum(sel) + out["no_selection_pct"] == pytest.approx(100, abs=1e-6)
    # correct = true rate in the target interval [0.16, 0.33): doses 3 and 4
    assert out["acceptable"] == [0.16, 0.33] and out["correct_doses"] == [3, 4] and out["target"] == 0.25
    assert out["pcs"] == pytest.approx(sel[2] + sel[3], abs=1e-6)
    # --acceptable still wins over the intervals
    band = json.loads(ok("simulate", *D, "--max-n", "9", "--true-tox", "0.05,0.1,0.2,0.3,0.45", "--target", "0.25",
                         "--acceptable", "0.15,0.25", "--method", "exact", "-q", "--format", "json"))
    assert band["correct_doses"] == [3]


@pytest.mark.parametrize("args, message", [
    (["--design", "blrm", "--outcomes", "1NNN"], "BLRM needs --doses"),
    ([*D, "--target", "0.3", "--outcomes", "1NNN"], "--target does not apply to --design blrm"),
    ([*D, "--intervals", "0.3,0.2", "--outcomes", "1NNN"], "0 < target lower bound < overdose lower bound < 1"),
    ([*D, "--intervals", "0.3", "--outcomes", "1NNN"], "--intervals must be two DLT rates"),
    ([*D, "--ewoc", "1.5", "--outcomes", "1NNN"], "ewoc must be between 0 and 1"),
    ([*D, "--max-increase", "abc", "--outcomes", "1NNN"], "--max-increase must be a number >= 0 or 'none'"),
    ([*D, "--robust-weight", "0.2", "--outcomes", "1NNN"], "--robust-weight applies only with --prior-fit"),
    ([*D, "--outcomes", "7NNN"], "doses run from 1 to 5"),
    ([*D, "--prior-fit", "missing.nc", "--outcomes", "1NNN"], "fit file not found"),
    (["--design", "blrm", "--doses", "5e5,4e5", "--outcomes", "1NNN"], "doses must be strictly increasing"),
])
def test_bad_input_one_line_exit_2(args, message):
    result = run("next-dose", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_simulate_needs_target():
    result = run("simulate", *D, "--max-n", "9", "--true-tox", "0.05,0.1,0.2,0.3,0.45")
    assert result.exit_code == 2 and "give --target" in result.output


@pytest.fixture(scope="module")
def fit_file(tmp_path_factory):
    from dosefind.priors import fit_dose_response

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # a small fit; its diagnostics are checked in tests/priors
        fit = fit_dose_response(None, "crs_grade3", DOSES, draws=200, tune=200, chains=2, seed=3)
    return str(fit.save(tmp_path_factory.mktemp("fit") / "crs.nc"))


def test_prior_fit_is_piped_to_prior_for_design(fit_file):
    from dosefind import TrialState
    from dosefind.designs import BLRM
    from dosefind.priors import prior_for_design

    out = json.loads(ok("next-dose", "--design", "blrm", "--prior-fit", fit_file, "--robust-weight", "0.3",
                        "--outcomes", "1NNN 2NNT", "--format", "json"))
    design = BLRM(**prior_for_design(fit_file, "blrm", robust_weight=0.3).kwargs)
    ref = design.posterior(TrialState.from_outcomes("1NNN 2NNT", 5))
    assert [r["prob_overdose"] for r in out["posterior"]] == pytest.approx(ref.prob_overdose, abs=1e-6)
    assert out["next_dose"] == design.decide(TrialState.from_outcomes("1NNN 2NNT", 5)).next_dose
    # the robust weight changes the prior, so the answer
    other = json.loads(ok("next-dose", "--design", "blrm", "--prior-fit", fit_file, "--robust-weight", "0.9",
                          "--outcomes", "1NNN 2NNT", "--format", "json"))
    assert other["posterior"] != out["posterior"]
    bad = run("next-dose", "--design", "blrm", "--prior-fit", fit_file, "--doses", "1,2,4,8,16",
              "--outcomes", "1NNN")
    assert bad.exit_code == 2 and "differ from the --prior-fit's doses" in bad.output
    bad = run("next-dose", "--design", "blrm", "--prior-fit", fit_file, "--reference-dose", "1e6",
              "--outcomes", "1NNN")
    assert bad.exit_code == 2 and "--reference-dose is set by --prior-fit" in bad.output
