"""report.docx opened with python-docx: every report table is a Word table with all its
columns and the same cells; the decision table's numbers equal the results; every figure
and every design's decision chart is a picture; the protocol text is there."""

import pytest

docx = pytest.importorskip("docx", reason="python-docx is a dependency of dosefind (pip install python-docx)")

from dosefind.reports.docx import write_docx  # noqa: E402
from dosefind.reports.figures import build_figures  # noqa: E402
from dosefind.reports.flowchart import decision_figure, figure_png  # noqa: E402
from dosefind.reports.protocol import render_protocol  # noqa: E402
from dosefind.reports.summary_text import decision_lines, decision_table  # noqa: E402
from dosefind.reports.tables import build_tables, fmt  # noqa: E402
from dosefind.simulations.decision import decision_summary  # noqa: E402


@pytest.fixture(scope="module")
def document(small_report, tmp_path_factory):
    run, _ = small_report
    tables = build_tables(run)
    figures = build_figures(run, tables)
    summary = decision_summary(run)
    charts = {d.label: figure_png(decision_figure(d.design)) for d in run.designs}
    path = tmp_path_factory.mktemp("docx") / "report.docx"
    write_docx(run, tables, figures, path, version="test", summary_lines=decision_lines(summary),
               decision_table=decision_table(summary), charts=charts,
               protocol=render_protocol(run, tables, version="test"))
    return run, tables, figures, summary, docx.Document(str(path))


def word_tables(doc):
    return [[[c.text for c in row.cells] for row in t.rows] for t in doc.tables]


def test_every_report_table_is_a_word_table(document):
    run, tables, _, summary, doc = document
    found = word_tables(doc)
    for t in tables + [decision_table(summary)]:
        expected = [[str(c) for c in t.display.columns]] + [[str(v) for v in r] for r in
                                                            t.display.itertuples(index=False)]
        assert expected in found, f"table {t.name} missing or cut in report.docx"
        assert all(len(row) == len(t.display.columns) for row in expected)
        if t.group in ("comparison", "scenario", "design") or t.name in ("doses", "scenarios"):
            # once in the report part, once in the protocol text converted from Markdown
            assert found.count(expected) >= 2, t.name


def test_decision_numbers_equal_the_results(document):
    run, _, _, _, doc = document
    table = next(t for t in word_tables(doc) if t[0][:2] == ["Rank", "Design"])
    head = table[0]
    for row in table[1:]:
        design = row[1]
        res = [run.result(design, s.name) for s in run.scenarios]
        pcs = [r["pcs"] for r in res]
        od = [r["overdose_selection_pct"] for r in res]
        cell = dict(zip(head, row))
        assert cell["Correct selection % (mean)"] == fmt(sum(pcs) / len(pcs))
        assert cell["Correct selection % (worst)"] == fmt(min(pcs))
        assert cell["Overdose selection % (worst)"] == fmt(max(od))
        assert cell["Patients (mean)"] == fmt(sum(r["n_mean"] for r in res) / len(res), 2)


def test_pictures_summary_and_protocol(document):
    run, _, figures, summary, doc = document
    assert len(doc.inline_shapes) == len(figures) + len(run.designs)
    text = "\n".join(p.text for p in doc.paragraphs)
    for line in decision_lines(summary):
        assert line in text
    assert "Protocol text (protocol.md)" in text and "Statistical design: " + run.study.title in text
    assert run.study.title in text          # the title with < and & is kept as text
    sec = doc.sections[0]
    assert sec.page_width > sec.page_height  # landscape: wide tables keep their columns
