"""The decision parts of the run report: summary of the run's own results, one chart per
design (PNG and SVG), and report.docx written from them."""

import pytest

from dosefind.reports.decision_report import chart_names, decision_parts, write_docx_report
from dosefind.simulations.decision import Criterion


def test_parts_of_a_run(small_report):
    run, _ = small_report
    parts = decision_parts(run)
    assert [d.design for d in parts.summary.designs] == [d.label for d in run.designs]
    assert [f.name for f in parts.charts] == list(chart_names([d.label for d in run.designs]).values())
    assert all(f.png.startswith(b"\x89PNG") and b"<svg" in f.svg for f in parts.charts)
    assert parts.lines[0].startswith("Criterion: designs ranked by average correct selection")
    assert parts.table.name == "decision" and len(parts.table.display) == len(run.designs)
    # the summary reads the run's results: the CRM's mean N is the mean over its scenarios
    crm = parts.summary["CRM"]
    assert crm.n_mean == pytest.approx(sum(run.oc("CRM", s.name).n_mean for s in run.scenarios) / len(run.scenarios))
    # the study's designs are asked about safety stops: all three have one
    assert all(d.safety_stop for d in parts.summary.designs) and parts.summary.flagged == []


def test_criterion_is_passed_on(small_report):
    run, _ = small_report
    parts = decision_parts(run, Criterion(metric="pcs_min"), charts=False)
    assert parts.summary.criterion.metric == "pcs_min" and parts.charts == []


def test_docx_report(small_report, tmp_path):
    docx = pytest.importorskip("docx")
    from dosefind.reports.figures import build_figures
    from dosefind.reports.tables import build_tables

    run, _ = small_report
    tables = build_tables(run)
    figures = build_figures(run, tables)
    parts = decision_parts(run)
    path = write_docx_report(run, tmp_path, tables, figures + parts.charts, parts, version="t", protocol="# P\n")
    doc = docx.Document(str(path))
    assert len(doc.inline_shapes) == len(figures) + len(parts.charts)


def test_chart_names_are_unique():
    assert chart_names(["BOIN", "boin", "B O I N", "CRM"]) == {
        "BOIN": "design-boin-decisions", "boin": "design-boin-decisions-2", "B O I N": "design-b-o-i-n-decisions",
        "CRM": "design-crm-decisions"}
