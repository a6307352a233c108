"""The phase I/II parts of the report (issue 11): response rates, true utilities and the
correct OBD per scenario, each phase I/II design's utility table, and the OBD results, in
report.html, protocol.md, report.docx and tables/; the decision summary says which
criterion ranks a phase I/II design; prior scenarios carry response rates.

Reference numbers, each by exact calculation (not from a simulation):
- BOIN12's default utility (Lin et al. 2020, JCO Precis Oncol, Table 1: 100 / 60 / 40 / 0)
  is additive, so the true utility of a dose is 40 + 60 p_E - 40 p_T whatever the
  DLT-response correlation: tox (0.05, 0.20, 0.45), response (0.10, 0.40, 0.60) give
  44, 56, 58; with phi_t = 0.35 the true MTD is DL2, so the correct OBD is DL2.
- u_bar = 100 phi_E (1 - phi_T) + 40 (1 - phi_E)(1 - phi_T) + 60 phi_E phi_T: 41 for
  (0.35, 0.25), so u_b = 41 + 59/2 = 70.5 (the paper's benchmark); 46 for (0.3, 0.3), u_b 73.
"""

import json

import pytest

from dosefind.reports.phase12_tables import has_phase12, obd_summary_table
from dosefind.reports.tables import build_tables
from dosefind.runner import evaluate
from dosefind.study import parse_study

HEAD = '''
[study]
title = "Phase I/II report test"
target = 0.3
max_n = 12
cohort_size = 3
n_trials = 200
seed = 3
method = "mc"

[doses]
labels = ["A", "B", "C"]

[[designs]]
type = "boin"
label = "BOIN"
'''
BOIN12 = '''
[[designs]]
type = "boin12"
label = "BOIN12"
phi_t = 0.35
phi_e = 0.25
'''
SCEN = '''
[[scenarios]]
name = "s1"
true_prob_tox = [0.05, 0.20, 0.45]
true_prob_eff = [0.10, 0.40, 0.60]
tox_eff_correlation = 0.2
'''
STUDY = HEAD + BOIN12 + SCEN


@pytest.fixture(scope="module")
def run():
    return evaluate(parse_study(STUDY))


@pytest.fixture(scope="module")
def report(run, tmp_path_factory):
    from dosefind.reports import write_all

    folder = tmp_path_factory.mktemp("p12") / "out"
    folder.mkdir()
    write_all(run, folder)
    return folder


def _tables(run):
    return {t.name: t for t in build_tables(run)}


def test_truth_table_true_utility_and_correct_obd(run):
    t = _tables(run)["scenarios-efficacy"]
    util = t.data[t.data["metric"] == "true_utility"].iloc[0]
    assert [util[f"dose_{i}"] for i in (1, 2, 3)] == pytest.approx([44.0, 56.0, 58.0])   # 40 + 60 pE - 40 pT
    assert util["correct_obd"] == "2" and util["tox_limit"] == 0.35
    disp = t.display.set_index("Measure")
    assert list(disp.loc["True P(response)", ["DL1", "DL2", "DL3"]]) == ["0.10", "0.40", "0.60"]
    assert list(disp.loc["True utility (BOIN12)", ["DL1", "DL2", "DL3"]]) == ["44.0", "56.0 *", "58.0"]
    assert disp.loc["True utility (BOIN12)", "Correct OBD"] == "DL2"
    assert "(0.35)" in t.caption and "s1 0.2" in t.caption


def test_utility_table_from_the_design():
    other = BOIN12.replace('label = "BOIN12"', 'label = "B12b"').replace("phi_t = 0.35", "phi_t = 0.3") \
        .replace("phi_e = 0.25", "phi_e = 0.3")
    r = evaluate(parse_study(HEAD + BOIN12 + other + SCEN))
    tabs = _tables(r)
    assert "design-boin-utility" not in tabs          # a phase I design has no utility table
    u = tabs["design-boin12-utility"].data.set_index("outcome")["utility"]
    assert u.to_dict() == {"eff_no_tox": 100.0, "eff_tox": 60.0, "no_eff_no_tox": 40.0, "no_eff_tox": 0.0,
                           "u_bar": 41.0, "u_b": 70.5}
    u2 = tabs["design-b12b-utility"].data.set_index("outcome")["utility"]
    assert u2["u_bar"] == pytest.approx(46.0) and u2["u_b"] == pytest.approx(73.0)
    # two phase I/II designs with different truths: BOIN is not scored on an OBD (n/a), and says so
    summ = tabs["obd"]
    boin = summ.display[summ.display["Design"] == "BOIN"].iloc[0]
    assert boin["Correct OBD %"] == "n/a" and "'n/a' where the run gives it no utility" in summ.caption
    # and the truth table shows each design's own utilities
    truth = tabs["scenarios-efficacy"].display.set_index("Measure")
    assert "True utility (B12b)" in truth.index


def test_obd_tables_read_the_results(run):
    tabs = _tables(run)
    for label in ("BOIN", "BOIN12"):
        eff = run.result(label, "s1")["efficacy"]
        ev, es = eff["values"], eff["se"]
        t = tabs["obd-s1"].data
        sel = t[(t["design"] == label) & (t["metric"] == "obd_selection_pct")].iloc[0]
        assert [sel[f"dose_{i}"] for i in (1, 2, 3)] == ev["obd_selection_pct"]
        assert sel["none"] == ev["obd_no_selection_pct"]
        se = t[(t["design"] == label) & (t["metric"] == "obd_selection_pct_se")].iloc[0]
        assert [se[f"dose_{i}"] for i in (1, 2, 3)] == es["obd_selection_pct"]
        resp = t[(t["design"] == label) & (t["metric"] == "responses_mean")].iloc[0]   # phase I designs too
        assert [resp[f"dose_{i}"] for i in (1, 2, 3)] == ev["responses_mean"]
        s = tabs["obd"].data.set_index("design").loc[label]
        for key in ("pct_correct_obd", "utility_selected_mean", "patients_at_obd_mean", "early_stop_toxicity_pct",
                    "early_stop_futility_pct"):
            assert s[key] == ev[key], key
    # BOIN is scored against BOIN12's utility and phi_t, as compare() does
    assert run.result("BOIN", "s1")["efficacy"]["true_utility"] == pytest.approx([44.0, 56.0, 58.0])
    d = tabs["obd-s1"].display
    row = d[d["Measure"] == "OBD selection %"].iloc[0]
    v, e = run.result("BOIN12", "s1")["efficacy"]["values"], run.result("BOIN12", "s1")["efficacy"]["se"]
    assert row["DL2"] == f"{v['obd_selection_pct'][1]:.1f} ({e['obd_selection_pct'][1]:.1f})"
    assert d[d["Measure"] == "True P(response)"].iloc[0]["DL2"] == "0.40 *"
    assert "Selection % (MTD)" in set(d["Measure"])        # the phase I design's row is named for what it is


def test_every_output_shows_the_phase12_parts(run, report):
    html = (report / "report.html").read_text(encoding="utf-8")
    assert '<a href="#obd">OBD</a>' in html and '<h3 id="obd">' in html
    for name in ("obd", "obd-s1", "scenarios-efficacy", "design-boin12-utility"):
        assert f'id="table-{name}"' in html, name
        assert (report / "tables" / f"{name}.csv").exists() and (report / "tables" / f"{name}.md").exists()
    proto = (report / "protocol.md").read_text(encoding="utf-8")
    assert "The phase I/II design (BOIN12) uses response as well as DLT and recommends the optimal" in proto
    assert proto.count("**MTD and OBD selection and stopping.**") == 1        # BOIN12's section only
    assert proto.count("**MTD selection and stopping.**") == 1                # BOIN's
    tabs = _tables(run)
    from dosefind.reports.tables import to_markdown

    for name in ("obd", "obd-s1", "scenarios-efficacy", "design-boin12-utility"):
        assert to_markdown(tabs[name].display) in proto, name
    import docx

    doc = docx.Document(str(report / "report.docx"))
    headers = [[c.text for c in t.rows[0].cells] for t in doc.tables]
    assert any("Correct OBD %" in h for h in headers)
    assert any(h[:2] == ["Outcome", "Utility"] for h in headers)
    data = json.loads((report / "results.json").read_text(encoding="utf-8"))
    assert data["scenarios"][0]["true_prob_eff"] == [0.1, 0.4, 0.6]


def test_phase1_run_has_no_phase12_parts():
    r = evaluate(parse_study(HEAD + SCEN.replace("true_prob_eff = [0.10, 0.40, 0.60]\ntox_eff_correlation = 0.2\n",
                                                  "")))
    assert not has_phase12(r)
    from dosefind.reports.protocol import render_protocol

    assert "optimal biological dose" not in render_protocol(r, build_tables(r), version="x")
    assert not any(t.name.startswith(("obd", "scenarios-efficacy")) or t.name.endswith("-utility")
                   for t in build_tables(r))


def test_phase1_design_with_response_rates_shows_responses():
    r = evaluate(parse_study(HEAD + SCEN))
    tabs = _tables(r)
    assert has_phase12(r)
    t = tabs["obd-s1"].data
    resp = t[(t["design"] == "BOIN") & (t["metric"] == "responses_mean")].iloc[0]
    assert [resp[f"dose_{i}"] for i in (1, 2, 3)] == r.result("BOIN", "s1")["efficacy"]["values"]["responses_mean"]
    # no phase I/II design: no utility, so no OBD is defined and the tables say so
    assert tabs["obd"].display.iloc[0]["Correct OBD %"] == "n/a"
    assert "No phase I/II design" in tabs["scenarios-efficacy"].caption


def test_decision_summary_states_the_phase12_criterion(run):
    from dosefind.reports.summary_text import decision_lines
    from dosefind.simulations.decision import decision_summary

    s = decision_summary(run)
    assert s.phase12 == ["BOIN12"]
    assert "phase I/II design (BOIN12) is ranked by the same rule, on the MTD it reports" in decision_lines(s)[0]
    assert s["BOIN12"].obd_correct_mean == run.result("BOIN12", "s1")["efficacy"]["values"]["pct_correct_obd"]
    phase1 = decision_summary(evaluate(parse_study(HEAD + SCEN)))
    assert phase1.phase12 == [] and "phase I/II" not in decision_lines(phase1)[0]


def test_rank_by_correct_obd():
    from dosefind.simulations.decision import Criterion, decision_summary

    r = evaluate(parse_study(STUDY + '\n[criterion]\nmetric = "obd_correct_mean"\nmax_overdose_selection = false\n'))
    s = decision_summary(r, r.study.criterion)
    assert s.criterion == Criterion(metric="obd_correct_mean", max_overdose_selection=None)
    scores = [d.obd_correct_mean for d in s.ranking]
    assert scores == sorted(scores, reverse=True)
    assert "ranked by average correct OBD" in s.describe_criterion()


def test_not_eligible_sentence_keeps_the_design_name(run):
    from dosefind.reports.summary_text import decision_lines
    from dosefind.simulations.decision import Criterion, decision_summary

    lines = decision_lines(decision_summary(run, Criterion(max_overdose_selection=0)))
    assert "every scenario; BOIN ranks first" in lines[1]        # not "bOIN"


@pytest.mark.slow
def test_prior_scenarios_carry_response_rates(tmp_path):
    import warnings

    from dosefind.priors import draw_scenarios, fit_dose_response
    from dosefind.runner import resolve_scenarios

    doses = [1e6, 2e6, 4e6]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fit_dose_response(None, "crs_grade3", doses, with_response=True, draws=150, tune=150, chains=1,
                                seed=5, sampler="pymc")
    path = fit.save(tmp_path / "resp.nc")
    study = parse_study(HEAD.replace('labels = ["A", "B", "C"]', 'amounts = [1e6, 2e6, 4e6]\nunit = "cells/kg"')
                        + BOIN12 + f'\n[[scenarios]]\nname = "d"\nprior = "{path}"\ndraws = 2\nseed = 9\n'
                        + f'\n[[scenarios]]\nname = "m"\nprior = "{path}"\nsummary = "median"\n')
    scen, _, _ = resolve_scenarios(study)
    df = draw_scenarios(fit, 2, 9)
    for k, (_, grp) in enumerate(df.groupby("scenario", sort=False)):
        assert scen[k].true_prob_eff == tuple(grp.sort_values("dose")["true_prob_response"])
        assert "DLT and response from the same posterior draw" in scen[k].detail
    med = fit.summary()["response_doses"]
    assert scen[2].true_prob_eff == tuple(d["median"] for d in med)
    run = evaluate(study)
    assert run.result("BOIN12", "m")["efficacy"]["true_prob_eff"] == pytest.approx(list(scen[2].true_prob_eff), abs=1e-6)


CALENDAR = '''
[study]
target = 0.3
max_n = 9
cohort_size = 3
n_trials = 40
seed = 2

[doses]
labels = ["A", "B"]

[[designs]]
type = "boin"

[[designs]]
type = "tite-boin12"
label = "TB12"
phi_t = 0.35
phi_e = 0.25
eff_window = 56

[[scenarios]]
name = "a"
true_prob_tox = [0.1, 0.3]
true_prob_eff = [0.2, 0.5]

[trial]
dlt_window = 28
patients_per_month = 3
vein_to_vein = 14
'''


def test_calendar_time_obd_table_has_duration_and_study_max_n():
    r = evaluate(parse_study(CALENDAR))
    tb12 = next(d for d in r.designs if d.label == "TB12").design
    assert tb12.max_n == 9                     # the study's max_n reaches TITE-BOIN12 (passed on to BOIN12)
    t = obd_summary_table(r)
    for label in ("BOIN", "TB12"):
        row = t.data.set_index("design").loc[label]
        c = r.result(label, "a")["calendar"]["duration"]
        assert row["duration_mean"] == c["mean"] and row["duration_se"] == c["se"]
        assert r.result(label, "a")["n_mean"] <= 9
    assert "Duration, days (mean)" in t.display.columns and "Duration:" in t.caption
    assert "Duration, days (mean)" not in obd_summary_table(evaluate(parse_study(STUDY))).display.columns


def test_example_phase12_study_runs_with_the_documented_obds():
    """examples/cd7_car_t_phase12.toml (fewer trials): correct OBDs by hand from
    40 + 60 P(response) - 40 P(DLT) among doses with DLT rate <= phi_t = 0.25:
    plateau DL3 (78 > 75.2 at DL4), rising DL3 (DL4, DL5 above 0.25), flat DL1, all toxic none."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "examples" / "cd7_car_t_phase12.toml"
    text = path.read_text(encoding="utf-8").replace("n_trials = 2000", "n_trials = 100")
    r = evaluate(parse_study(text))
    got = {s.name: run_eff["correct_obd"] for s in r.scenarios
           for run_eff in [r.result("BOIN12", s.name)["efficacy"]]}
    prior = "Literature prior (median)"
    assert got.pop(prior) == _obd_by_hand(next(s for s in r.scenarios if s.name == prior))
    assert got == {"Plateau from DL3": [3], "Rising response, MTD at DL3": [3], "Flat response": [1],
                   "All doses too toxic": []}
    truth = _tables(r)["scenarios-efficacy"].display
    assert truth[truth["Measure"] == "True utility (BOIN12)"]["Correct OBD"].tolist()[:4] == [
        "DL3", "DL3", "DL1", "none (select no dose)"]


def _obd_by_hand(scenario):
    """The paper's default utility with DLT and response independent, 100 pE(1-pT) + 60 pE pT
    + 40 (1-pE)(1-pT) = 40 + 60 pE - 40 pT, maximised over doses with pT <= phi_t = 0.25."""
    u = [40 + 60 * e - 40 * t for t, e in zip(scenario.true_prob_tox, scenario.true_prob_eff)]
    ok = [i for i, t in enumerate(scenario.true_prob_tox) if t <= 0.25]
    best = max(u[i] for i in ok) if ok else None
    return [i + 1 for i in ok if abs(u[i] - best) < 1e-9]


def test_bundled_prior_in_a_phase12_study_is_fitted_with_response():
    """prior = "bundled" in a study with a phase I/II design fits the CD7 reports' CR/CRi rates
    beside the DLT proxy (fit_dose_response(with_response=True)), so the scenario carries both."""
    from dosefind.runner import _bundled_key, _needs_response

    study = parse_study(HEAD.replace('labels = ["A", "B", "C"]', 'amounts = [1e6, 2e6, 4e6]\nunit = "cells/kg"')
                        + BOIN12 + '\n[[scenarios]]\nname = "p"\nprior = "bundled"\nsummary = "median"\n')
    assert _needs_response(study) and _bundled_key(study.scenarios[0], study, {})[-1] is True
    phase1 = parse_study(HEAD.replace('labels = ["A", "B", "C"]', 'amounts = [1e6, 2e6, 4e6]\nunit = "cells/kg"')
                         + '\n[[scenarios]]\nname = "p"\nprior = "bundled"\n'
                         'summary = "median"\n')
    assert not _needs_response(phase1) and _bundled_key(phase1.scenarios[0], phase1, {})[-1] is False


def test_results_sentences_give_the_obd_numbers(run, report):
    from dosefind.reports.protocol import summary_lines

    lines = summary_lines(run, build_tables(run))
    v = {d: run.result(d, "s1")["efficacy"]["values"] for d in ("BOIN", "BOIN12")}
    want = (f'Scenario "s1" (correct OBD DL2): correct OBD selection BOIN {v["BOIN"]["pct_correct_obd"]:.1f}%, '
            f'BOIN12 {v["BOIN12"]["pct_correct_obd"]:.1f}%; mean true utility of the selected dose '
            f'BOIN {v["BOIN"]["utility_selected_mean"]:.1f}, BOIN12 {v["BOIN12"]["utility_selected_mean"]:.1f}.')
    assert want in lines
    assert want in (report / "protocol.md").read_text(encoding="utf-8").replace("\\", "")


@pytest.mark.slow
def test_fit_file_without_response_model_says_what_to_do(tmp_path):
    import warnings

    from dosefind.priors import fit_dose_response

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fit_dose_response(None, "crs_grade3", [1e6, 2e6, 4e6], draws=100, tune=100, chains=1, seed=5,
                                sampler="pymc")
    path = fit.save(tmp_path / "tox.nc")
    study = parse_study(HEAD.replace('labels = ["A", "B", "C"]', 'amounts = [1e6, 2e6, 4e6]\nunit = "cells/kg"')
                        + BOIN12 + f'\n[[scenarios]]\nname = "m"\nprior = "{path}"\nsummary = "median"\n')
    with pytest.raises(ValueError, match=r"scenario 'm': a phase I/II design needs response rates, but the fit "
                                         r".*tox\.nc has no response model; fit one with .*--with-response"):
        evaluate(study)
    # a phase I study may use the same fit
    phase1 = parse_study(HEAD.replace('labels = ["A", "B", "C"]', 'amounts = [1e6, 2e6, 4e6]\nunit = "cells/kg"')
                         + f'\n[[scenarios]]\nname = "m"\nprior = "{path}"\nsummary = "median"\n')
    assert evaluate(phase1).scenarios[0].true_prob_eff is None


def test_results_sentence_with_designs_of_different_truths():
    """phi_t = 0.15 makes DL1 (DLT 0.05) the only dose within the limit, so its OBD is DL1."""
    from dosefind.reports.protocol import summary_lines

    other = BOIN12.replace('label = "BOIN12"', 'label = "B12b"').replace("phi_t = 0.35", "phi_t = 0.15")
    r = evaluate(parse_study(HEAD + BOIN12 + other + SCEN))
    line = summary_lines(r, build_tables(r))[-1]
    v = r.result("B12b", "s1")["efficacy"]["values"]["pct_correct_obd"]
    assert "BOIN12" in line and "(correct OBD DL2)" in line
    assert f"B12b {v:.1f}% (correct OBD DL1)" in line and "BOIN " not in line    # BOIN has no truth here


def test_bundled_scenarios_with_their_own_seeds_get_their_own_fits():
    """Two bundled scenarios with different seeds name two fits (review finding): the run-time
    cache is keyed like the fits made beside the run (_bundled_key), not by endpoint alone."""
    from types import SimpleNamespace

    from dosefind.runner import BundledFit, _bundled_key, _prior_fit

    text = (HEAD.replace('labels = ["A", "B", "C"]', 'amounts = [1e6, 2e6, 4e6]\nunit = "cells/kg"')
            + '\n[[scenarios]]\nname = "a"\nprior = "bundled"\nsummary = "median"\n'
            + '\n[[scenarios]]\nname = "b"\nprior = "bundled"\nsummary = "median"\nseed = 7\n')
    study = parse_study(text)
    sampling = {"chains": 1, "draws": 10, "tune": 10}
    fitted = {_bundled_key(s, study, sampling): BundledFit(SimpleNamespace(doses=(1e6, 2e6, 4e6), seed=s.seed),
                                                          [], {}, 0.0, 0.0) for s in study.scenarios}
    cache = {}
    fits = [_prior_fit(s, study, cache, sampling, fitted)[0] for s in study.scenarios]
    assert [f.seed for f in fits] == [None, 7] and len(cache) == 2
