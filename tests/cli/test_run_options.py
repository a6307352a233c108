"""`dosefind run --method/--quick/--draws`, the study file's [criterion] table and the
`dosefind init` template's safety stops (issue 12)."""

import json

import pytest
from click.testing import CliRunner

from dosefind.cli import main
from dosefind.study import TEMPLATE, parse_study

from studies import SMALL as _SMALL  # noqa: E402

SMALL = _SMALL.replace('method = "mc"', 'method = "exact"')


def _run(tmp_path, *args, text=SMALL):
    study = tmp_path / "s.toml"
    study.write_text(text)
    return CliRunner().invoke(main, ["run", str(study), "--format", "json", "-q", *args])


def test_method_option_overrides_the_study(tmp_path):
    r = _run(tmp_path)
    assert r.exit_code == 0, r.output
    assert {x["method"] for x in json.loads(r.output)["results"]} == {"exact"}
    r = _run(tmp_path, "--method", "mc", "--n-trials", "50")
    assert r.exit_code == 0, r.output
    res = json.loads(r.output)
    assert {x["method"] for x in res["results"]} == {"mc"} and res["study"]["method"] == "mc"
    assert {x["n_trials"] for x in res["results"]} == {50}


def test_quick_is_monte_carlo_with_few_trials_and_says_so(tmp_path):
    from dosefind.cli.run_commands import QUICK_TRIALS

    r = _run(tmp_path, "--quick")
    assert r.exit_code == 0, r.output
    res = json.loads(r.output)
    assert {x["method"] for x in res["results"]} == {"mc"}
    assert {x["n_trials"] for x in res["results"]} == {QUICK_TRIALS}
    assert any(w.startswith("quick run") for w in res["warnings"])
    r = _run(tmp_path, "--quick", "--method", "exact")      # an explicit choice wins
    assert {x["method"] for x in json.loads(r.output)["results"]} == {"exact"}


def test_draws_option_needs_a_scenario_that_draws_curves(tmp_path):
    r = _run(tmp_path, "--draws", "3")
    assert r.exit_code == 2
    assert "draws: the study has no scenario that draws curves from a prior" in r.output
    assert "Traceback" not in r.output


def test_draws_override_changes_only_drawing_scenarios():
    text = SMALL + '''
[[scenarios]]
name = "from a fit"
prior = "bundled"
draws = 2
'''
    st = parse_study(text)
    new = st.with_overrides(draws=5)
    assert [s.draws for s in new.scenarios] == [None, 5]
    with pytest.raises(ValueError, match=r"draws must be <= 20, got 21"):
        st.with_overrides(draws=21)
    with pytest.raises(ValueError, match=r"method must be one of auto, exact, mc, got 'fast'"):
        st.with_overrides(method="fast")


def test_criterion_table_sets_the_decision_summary_ranking(tmp_path):
    st = parse_study(SMALL + '\n[criterion]\nmetric = "pcs_min"\nmax_overdose_selection = 40\n')
    assert (st.criterion.metric, st.criterion.max_overdose_selection) == ("pcs_min", 40.0)
    assert parse_study(SMALL).criterion is None
    assert st.to_dict()["criterion"] == {"metric": "pcs_min", "max_overdose_selection": 40.0}
    with pytest.raises(ValueError, match=r"<study>: criterion: unknown key\(s\) rank"):
        parse_study(SMALL + '\n[criterion]\nrank = "x"\n')
    with pytest.raises(ValueError, match=r"<study>: criterion: criterion metric must be one of pcs_mean, pcs_min"):
        parse_study(SMALL + '\n[criterion]\nmetric = "best"\n')
    # and the report's decision summary ranks by it
    from dosefind.reports.decision_report import decision_parts
    from dosefind.runner import evaluate

    parts = decision_parts(evaluate(st), charts=False)
    assert parts.lines[0].startswith("Criterion: ") and "worst-case" in parts.lines[0]
    assert "at most 40%" in parts.lines[0]


def test_init_template_designs_all_have_a_safety_stop():
    """A template CRM without a stop selected a dose in 100% of trials where every dose is
    too toxic (issue 12); every template design must stop for toxicity at dose 1."""
    from dosefind.simulations import simulate
    from dosefind.simulations.decision import has_safety_stop

    st = parse_study(TEMPLATE)
    assert all(has_safety_stop(d.design) for d in st.designs), [d.label for d in st.designs]
    crm = next(d for d in st.designs if d.type == "crm")
    toxic = next(s for s in st.scenarios if s.name == "All doses too toxic")
    oc = simulate(crm.design, list(toxic.true_prob_tox), method="exact", target=st.target)
    # every dose above the target: the correct decision is no MTD, and the stop makes it likely
    assert oc.to_dict()["no_selection_pct"] > 50
