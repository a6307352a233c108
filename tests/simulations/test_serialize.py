"""Round trips of the JSON that `dosefind simulate/compare --format json` print:
reading it back with from_json and writing it again gives the same JSON."""

import json

import pytest
from click.testing import CliRunner

from dosefind.cli import main
from dosefind.simulations import Comparison, OperatingCharacteristics

TRUE = "0.05,0.10,0.20,0.30,0.45"


def cli(args):
    r = CliRunner().invoke(main, args, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.output


@pytest.mark.parametrize("extra", [["--method", "exact"], ["--method", "mc", "--n-trials", "300", "--seed", "4"]])
def test_simulate_json_round_trip(extra):
    out = cli(["simulate", "--design", "boin", "--target", "0.3", "--true-tox", TRUE, "--cohort-size", "3",
               "--cohorts", "6", "--format", "json", *extra])
    oc = OperatingCharacteristics.from_json(out)
    assert oc.to_dict() == json.loads(out)
    assert oc.pcs == json.loads(out)["pcs"] and oc.correct == (3,)
    assert OperatingCharacteristics.from_json(oc.to_json()).to_dict() == oc.to_dict()


def test_every_dose_toxic_round_trip():
    out = cli(["simulate", "--design", "3+3", "--target", "0.2", "--true-tox", "0.5,0.6,0.7", "--method", "exact",
               "--format", "json"])
    oc = OperatingCharacteristics.from_json(out)
    assert oc.true_mtd == -1 and oc.correct == () and oc.to_dict() == json.loads(out)


def test_compare_json_round_trip(tmp_path):
    cfg = tmp_path / "c.toml"
    # the study-file layout `compare --config` reads (docs/study-file.md)
    cfg.write_text('[study]\ntarget = 0.3\nmax_n = 12\nn_trials = 200\nseed = 3\nmethod = "mc"\n'
                   '[doses]\nlabels = ["1", "2", "3"]\n'
                   '[[designs]]\ntype = "boin"\nlabel = "boin"\n'
                   '[[designs]]\ntype = "crm"\nlabel = "crm"\nskeleton = [0.1, 0.3, 0.5]\n'
                   '[[scenarios]]\nname = "low"\ntrue_prob_tox = [0.05, 0.1, 0.3]\n'
                   '[[scenarios]]\nname = "high"\ntrue_prob_tox = [0.3, 0.45, 0.6]\n')
    out = cli(["compare", "--config", str(cfg), "--format", "json"])
    comp = Comparison.from_json(out)
    assert comp.to_dict() == json.loads(out)
    assert comp.designs == ["boin", "crm"] and [s.name for s in comp.scenarios] == ["low", "high"]
    path = tmp_path / "comp.json"
    path.write_text(out)
    assert Comparison.from_json(path).to_dict() == comp.to_dict()


def test_errors(tmp_path):
    with pytest.raises(ValueError, match="missing method, design"):
        OperatingCharacteristics.from_json('{"pcs": 1}')
    with pytest.raises(ValueError, match="JSON text: not valid JSON"):
        OperatingCharacteristics.from_json("{not json")
    with pytest.raises(FileNotFoundError, match="results file not found"):
        Comparison.from_json(tmp_path / "none.json")
    with pytest.raises(ValueError, match="expected 'designs' and a 'results' list"):
        Comparison.from_json({"designs": []})
