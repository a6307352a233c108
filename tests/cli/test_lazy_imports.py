"""The quick commands do not load scipy or pandas (issue 14): BOIN, 3+3 and CRM.

scipy.special and pandas each cost a few tenths of a second of a command's start-up, more
than the rest of ``dosefind next-dose`` together.  The commands below need neither: BOIN's
decision tables and elimination use the exact binomial form of the Beta tail
(dosefind._beta), its estimates are an isotonic fit in numpy, and simulate's terminal table
is laid out by reports.text.frame_text; CRM's normal CDF and quantile come from the standard
library (dosefind._normal).  Each case runs the real command in a fresh Python
process (``python -m dosefind``), checks its output and then what it imported.  This is a
behaviour test, not a timing test: an eager import anywhere on these paths fails it.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("scipy", "pandas", "matplotlib", "pymc", "arviz")

PROBE = r"""
import json, runpy, sys
sys.argv = ["dosefind", *json.loads(sys.argv[1])]
try:
    runpy.run_module("dosefind", run_name="__main__")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
loaded = sorted({m.split(".")[0] for m in sys.modules})
print("\n@@" + json.dumps({"code": code, "loaded": loaded}))
"""

TOX = "0.05,0.10,0.20,0.30,0.45"
SKELETON = "0.12,0.20,0.30,0.40,0.50"
CASES = {
    "next-dose boin": (["next-dose", "--design", "boin", "--target", "0.3", "--num-doses", "5", "--outcomes",
                        "1NNN 2NTN"], "Next dose: 2"),
    "next-dose boin json": (["next-dose", "--design", "boin", "--target", "0.3", "--num-doses", "5", "--outcomes",
                             "1NNN 2NTN 2NTT", "--format", "json"], '"next_dose": 1'),
    "next-dose 3+3": (["next-dose", "--design", "3+3", "--num-doses", "5", "--outcomes", "1NNN 2NTN"],
                      "Next dose: 2"),
    "simulate boin table": (["simulate", "--design", "boin", "--target", "0.3", "--true-tox", TOX, "--n-trials",
                             "1000", "--method", "mc", "--seed", "1"], "Correct selection %"),
    "simulate boin json": (["simulate", "--design", "boin", "--target", "0.3", "--true-tox", TOX, "--n-trials",
                            "1000", "--method", "mc", "--seed", "1", "--format", "json"], '"pcs"'),
    "simulate boin exact": (["simulate", "--design", "boin", "--target", "0.3", "--true-tox", TOX, "--method",
                             "exact"], "exact"),
    "simulate 3+3": (["simulate", "--design", "3+3", "--true-tox", TOX, "--n-trials", "1000", "--method", "mc",
                      "--seed", "1"], "Selected %"),
    # CRM: the prior tails and credible limits take Phi and Phi^-1 from dosefind._normal
    "next-dose crm": (["next-dose", "--design", "crm", "--target", "0.3", "--skeleton", SKELETON, "--outcomes",
                       "1NNN 2NTN"], "Next dose: 2"),
    "next-dose crm logistic mle json": (["next-dose", "--design", "crm", "--model", "logistic", "--crm-method", "mle",
                                         "--target", "0.3", "--skeleton", SKELETON, "--outcomes", "1NNN 2NTN 3TT",
                                         "--format", "json"], '"next_dose"'),
    "simulate crm table": (["simulate", "--design", "crm", "--target", "0.3", "--skeleton", SKELETON, "--cohorts",
                            "10", "--true-tox", TOX, "--n-trials", "1000", "--method", "mc", "--seed", "1"],
                           "Correct selection %"),
    "simulate crm exact": (["simulate", "--design", "crm", "--target", "0.3", "--skeleton", SKELETON, "--cohorts",
                            "6", "--prior-var", "25", "--true-tox", TOX, "--method", "exact"], "exact"),
}


def run_probe(args):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args)], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=300)
    text, _, tail = out.stdout.rpartition("\n@@")
    assert tail, out.stderr
    return text, json.loads(tail)


@pytest.mark.parametrize("name", list(CASES))
def test_quick_commands_load_neither_scipy_nor_pandas(name):
    args, expected = CASES[name]
    text, probe = run_probe(args)
    assert probe["code"] in (0, None), text
    assert expected in text
    assert not [m for m in HEAVY if m in probe["loaded"]], probe["loaded"]


def test_the_probe_sees_a_heavy_import():
    # boundaries prints BOIN.boundaries(), a DataFrame: the probe must notice pandas
    text, probe = run_probe(["boundaries", "--target", "0.3", "--format", "csv"])
    assert probe["code"] in (0, None) and "escalate_if_dlt_le" in text
    assert "pandas" in probe["loaded"]
