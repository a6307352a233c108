"""Issue 12: every card, caption and sentence of the report says what was computed.

The small study (tests/reports/conftest.py) runs once by Monte Carlo and once exactly (the same study with
``method = "exact"``), so each statement is checked against the run it describes.  The
facts checked come from the code that computes them: ``method`` of each result, the CRM's
prior (``prior_var`` is the variance of beta: dosefind/designs/crm.py builds its
quadrature with SD ``sqrt(prior_var)``, as dfcrm's ``scale = sqrt(1.34)``), BOIN's own
``boundaries()`` and the decision summary's numbers in ``tables/decision.csv``.
"""

import math
import re

import pandas as pd
import pytest


TOXIC = '''
[[scenarios]]
name = "All too toxic"
true_prob_tox = [0.5, 0.6, 0.7]
'''


@pytest.fixture(scope="module")
def exact_report(tmp_path_factory, small_study_file):
    from dosefind.runner import run_study
    from dosefind.study import parse_study

    study = parse_study(small_study_file.read_text(encoding="utf-8").replace('method = "mc"', 'method = "exact"') + TOXIC)
    out = tmp_path_factory.mktemp("exact") / "report"
    return run_study(study, out)


def _captions(html: str) -> str:
    return " ".join(re.findall(r"<(?:figcaption|p class=\"caption\")[^>]*>(.*?)</", html, flags=re.S))


def _cards(html: str) -> dict:
    return dict(re.findall(r'<div class="k">(.*?)</div><div class="v">(.*?)</div>', html))


def test_exact_run_has_no_trial_count_and_no_monte_carlo_wording(exact_report):
    run, out = exact_report
    assert {oc.method for oc in run.results.values()} == {"exact"}
    html = (out / "report.html").read_text(encoding="utf-8")
    cards = _cards(html)
    assert cards.get("Results") == "exact calculation"
    assert "Simulated trials" not in " ".join(cards)
    for name in ("comparison", "setup"):
        md = (out / "tables" / f"{name}.md").read_text(encoding="utf-8")
        assert "Monte Carlo standard error" not in md and "simulated trials" not in md.lower(), name
    assert "Computed exactly" in (out / "tables" / "comparison.md").read_text(encoding="utf-8")
    protocol = (out / "protocol.md").read_text(encoding="utf-8")
    assert "standard errors in parentheses" not in protocol
    assert "Error bars: 95% Monte Carlo" not in html


def test_monte_carlo_run_states_its_trials_and_standard_errors(small_report):
    run, out = small_report
    assert {oc.method for oc in run.results.values()} == {"mc"}
    html = (out / "report.html").read_text(encoding="utf-8")
    cards = _cards(html)
    assert cards["Results"] == "Monte Carlo" and cards["Simulated trials"] == f"{run.study.n_trials:,}"
    md = (out / "tables" / "comparison.md").read_text(encoding="utf-8")
    assert f"Monte Carlo estimates from {run.study.n_trials:,} simulated trials; standard errors in parentheses" in md
    assert re.search(r"\| \d+\.\d \(\d+\.\d\) \|", md)     # and the parentheses are there


def test_three_plus_three_early_stop_is_not_applicable_not_missing(exact_report):
    run, out = exact_report
    comp = pd.read_csv(out / "tables" / "comparison.csv")
    tpt = comp[comp["design"] == "3+3"]
    assert tpt["early_stop_pct"].isna().all() and (tpt["n_mean"] > 0).all()
    md = (out / "tables" / "comparison.md").read_text(encoding="utf-8")
    rows = [r for r in md.splitlines() if r.startswith("|") and "| 3+3 |" in r]
    header = [c.strip() for c in md.splitlines()[2].strip("|").split("|")]
    col = header.index("Stopped early %")
    assert rows and all(r.strip("|").split("|")[col].strip() == "n/a" for r in rows)
    assert "'n/a' for a design with no maximum sample size" in md


def test_selection_bar_chart_caption_matches_what_it_draws(exact_report):
    """A scenario with no correct dose does show bars (its correct decision, no selection,
    counts as correct), so the caption must not say it shows none."""
    run, out = exact_report
    comp = pd.read_csv(out / "tables" / "comparison.csv")
    toxic = comp[comp["scenario"] == "All too toxic"]
    assert (toxic["pcs"] > 0).any()            # bars are drawn for it
    import html as htmllib

    html = htmllib.unescape((out / "report.html").read_text(encoding="utf-8"))
    assert "show none" not in html
    assert "Correct selection where every dose is too toxic (true MTD 'none') is selecting no dose" in html


def test_skeleton_is_shown_at_one_precision(exact_report):
    from dosefind.reports.design_text import design_text

    run, out = exact_report
    crm = next(d for d in run.designs if d.label == "CRM")
    md = next((out / "tables").glob("design-crm-skeleton.md")).read_text(encoding="utf-8")
    cells = re.findall(r"\| \d+ \| ([\d.]+) \|", md)
    assert cells == [f"{p:.3f}" for p in crm.design.base.skeleton]
    assert {len(c.split(".")[1]) for c in cells} == {3}
    text = design_text(crm.design)
    skel = re.search(r"skeleton s = \(([^)]*)\)", text).group(1).split(", ")
    assert skel == cells


def test_crm_prior_says_variance_and_sd():
    from dosefind.designs import CRM
    from dosefind.reports.design_text import design_text

    crm = CRM([0.1, 0.25, 0.4], target=0.25, prior_var=1.34)
    text = design_text(crm)
    # dfcrm's default prior: beta ~ Normal(0, variance 1.34), SD sqrt(1.34) = 1.158
    assert f"variance 1.34, standard deviation {math.sqrt(1.34):.3g}" in text
    assert "1.16" in text
    text = design_text(CRM([0.1, 0.25, 0.4], target=0.25, prior_var=4.0))
    assert "variance 4, standard deviation 2" in text


def test_crm_stop_rule_is_stated_once_in_protocol(exact_report):
    run, out = exact_report
    protocol = (out / "protocol.md").read_text(encoding="utf-8")
    crm = next(d for d in run.designs if d.label == "CRM")
    (rule,) = [m.describe() for m in crm.design.modifiers]
    from dosefind.reports.tables import md_text

    assert protocol.count(md_text(rule)) == 1
    # report.docx: once in its Designs section and once in the protocol text it carries
    report, protocol_part = _docx_text(out / "report.docx").split("Statistical design:", 1)
    assert report.count(rule) == 1 and protocol_part.count(rule) == 1


def _docx_text(path) -> str:
    import docx

    return "\n".join(p.text for p in docx.Document(str(path)).paragraphs)


def test_boin_boundaries_are_a_table_not_prose(exact_report):
    run, out = exact_report
    boin = next(d for d in run.designs if d.label == "BOIN")
    protocol = (out / "protocol.md").read_text(encoding="utf-8")
    section = protocol.split("### BOIN", 1)[1].split("\n### ", 1)[0]
    assert not re.search(r"n=\d+: escalate if DLTs", section)
    # BOIN's own describe() refers to its decision table (dosefind/designs/boin.py)
    assert "the decision table gives these boundaries as numbers of DLTs" in section
    b = boin.design.boundaries()
    # the design's own table, one row per number of patients, with its numbers
    for r in b.itertuples():
        assert re.search(rf"\| {r.n} \| {r.escalate_if_dlt_le} \| {r.deescalate_if_dlt_ge} \|", section), r


def test_protocol_has_the_decision_section_with_the_results_numbers(exact_report):
    run, out = exact_report
    protocol = (out / "protocol.md").read_text(encoding="utf-8")
    assert "### Choice of design" in protocol
    section = protocol.split("### Choice of design", 1)[1]
    dec = pd.read_csv(out / "tables" / "decision.csv")
    for r in dec.itertuples():
        assert re.search(rf"\| {r.rank} \| {re.escape(r.design)} \| {r.pcs_mean:.1f} \| {r.pcs_min:.1f} \|",
                         section), r
    assert "ranks first" in section


def test_decision_charts_report_progress(small_study_file):
    from dosefind.reports.decision_report import decision_parts
    from dosefind.runner import evaluate
    from dosefind.study import parse_study

    text = small_study_file.read_text(encoding="utf-8")
    run = evaluate(parse_study(text.replace("n_trials = 300", "n_trials = 20")))
    calls = []
    parts = decision_parts(run, progress=lambda *a: calls.append(a))
    assert calls[0] == (0, 3, "3+3 decision chart") and calls[-1] == (3, 3, f"{len(parts.charts)} decision charts")


def test_manifest_records_python_docx(small_report):
    import json
    from importlib import metadata

    _, out = small_report
    deps = json.loads((out / "manifest.json").read_text())["dependencies"]
    assert deps["python-docx"] == metadata.version("python-docx")
