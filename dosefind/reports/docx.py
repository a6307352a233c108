"""``report.docx``: the report for Word, with real Word tables (python-docx).

Sponsors and protocol writers work in Word.  The document holds the same content as
``report.html``, in the same order, from the same objects: the decision summary
(sentences and table), the comparison across designs, each design with its description,
its dose-decision chart and decision tables, the scenarios, the results by scenario with
their figures, and the statistical section of ``protocol.md`` (its headings, paragraphs,
lists and tables converted to Word's own).  Every table is a Word table whose header and
cells are the report table's display text (:func:`dosefind.reports.tables.fmt`), so the
document cannot disagree with the HTML, the CSV files or the protocol.  Figures are the
report's PNG files.  Pages are A4 landscape so that the widest table (design, measure,
one column per dose, none and total) keeps every column.

python-docx is imported only when a document is written.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from dosefind.reports.design_text import design_text, modifier_texts

__all__ = ["write_docx", "add_table", "add_markdown"]

#: Largest picture width on an A4 landscape page with 2 cm margins (cm).
PICTURE_WIDTH_CM = 24.0
_INLINE = re.compile(r"(\*\*[^*]+\*\*|\*[^*]+\*|`[^`]+`)")


def _document():
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.shared import Cm, Pt

    doc = Document()
    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.LANDSCAPE
    sec.page_width, sec.page_height = Cm(29.7), Cm(21.0)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(sec, side, Cm(2.0))
    doc.styles["Normal"].font.name = "Calibri"
    doc.styles["Normal"].font.size = Pt(10)
    return doc


_MD_ESCAPE = re.compile(r"\\([\\`*_\[\]|~#>+=.)-])")


def _plain(text: str) -> str:
    """Markdown text as the reader sees it: the escapes :func:`~dosefind.reports.tables.md_text`
    writes (``\\|``, ``&lt;``, ``&amp;``) undone, so Word shows user text as typed."""
    import html

    return html.unescape(_MD_ESCAPE.sub(r"\1", text))


def _runs(paragraph, text: str) -> None:
    """Add ``text`` with Markdown **bold**, *italic* and `code` as Word runs."""
    for part in _INLINE.split(text):
        if not part:
            continue
        if part.startswith("**") and part.endswith("**"):
            paragraph.add_run(_plain(part[2:-2])).bold = True
        elif part.startswith("`") and part.endswith("`"):
            paragraph.add_run(part[1:-1]).font.name = "Consolas"
        elif part.startswith("*") and part.endswith("*") and len(part) > 2:
            paragraph.add_run(_plain(part[1:-1])).italic = True
        else:
            paragraph.add_run(_plain(part))


def _repeat_header(row) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tr_pr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    tr_pr.append(el)


def add_table(doc, header, rows, *, caption: str = "", title: str = ""):
    """A Word table: bold header row (repeated on every page), one row per data row."""
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.shared import Pt

    if title:
        p = doc.add_paragraph()
        p.add_run(title).bold = True
        p.paragraph_format.keep_with_next = True     # a title never ends a page
    table = doc.add_table(rows=1 + len(rows), cols=len(header))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table_rows = table.rows           # python-docx rebuilds these lists on every access
    for cell, h in zip(table_rows[0].cells, header):
        run = cell.paragraphs[0].add_run(str(h))
        run.bold = True
        run.font.size = Pt(8)
    _repeat_header(table_rows[0])
    for row_obj, row in zip(table_rows[1:], rows):
        for cell, v in zip(row_obj.cells, row):
            cell.paragraphs[0].add_run(str(v)).font.size = Pt(8)
    if caption:
        p = doc.add_paragraph()
        run = p.add_run(caption)
        run.italic = True
        run.font.size = Pt(8)
    return table


def _report_table(doc, t, *, title: str | None = None):
    df = t.display
    return add_table(doc, [str(c) for c in df.columns], [[str(v) for v in r] for r in df.itertuples(index=False)],
                     caption=t.caption, title=t.title if title is None else title)


def _picture(doc, png: bytes, caption: str = "", width_cm: float = PICTURE_WIDTH_CM):
    from docx.shared import Cm, Pt

    doc.add_picture(io.BytesIO(png), width=Cm(width_cm))
    if caption:
        p = doc.add_paragraph()
        run = p.add_run(caption)
        run.italic = True
        run.font.size = Pt(8)


def _md_cells(line: str) -> list[str]:
    """Cells of a Markdown table row written by :func:`dosefind.reports.tables.to_markdown`
    (``|`` inside a cell is escaped as ``\\|``)."""
    body = line.strip()[1:-1] if line.strip().endswith("|") else line.strip()[1:]
    cells = re.split(r"(?<!\\)\|", body)
    return [_plain(c.strip()) for c in cells]


def add_markdown(doc, text: str, *, heading_offset: int = 0) -> None:
    """Add Markdown as written by :mod:`dosefind.reports.protocol`: ``#`` headings,
    paragraphs, ``-`` lists, tables, **bold**, *italic* and `code`; HTML comments skipped."""
    lines = text.splitlines()
    i, para = 0, []

    def flush():
        if para:
            _runs(doc.add_paragraph(), " ".join(s.strip() for s in para))
            para.clear()

    while i < len(lines):
        line = lines[i]
        s = line.strip()
        if s.startswith("<!--"):
            flush()
            while i < len(lines) and "-->" not in lines[i]:
                i += 1
        elif not s:
            flush()
        elif s.startswith("#"):
            flush()
            level = len(s) - len(s.lstrip("#"))
            doc.add_heading(_plain(s[level:].strip()), level=min(9, level + heading_offset))
        elif s.startswith("|"):
            flush()
            block = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                block.append(lines[i])
                i += 1
            rows = [_md_cells(b) for b in block if not re.fullmatch(r"\|[\s:|-]+\|?", b.strip())]
            add_table(doc, rows[0], rows[1:])
            continue
        elif s.startswith("- "):
            flush()
            _runs(doc.add_paragraph(style="List Bullet"), s[2:])
        else:
            para.append(s)
        i += 1
    flush()


def write_docx(run, tables, figures, path, *, version: str, summary_lines=(), decision_table=None,
               charts=None, protocol: str = "") -> Path:
    """Write ``report.docx`` for ``run`` to ``path``.

    ``tables`` and ``figures`` are the report's (:func:`~dosefind.reports.tables.build_tables`,
    :func:`~dosefind.reports.figures.build_figures`); ``summary_lines`` and
    ``decision_table`` the decision summary (:mod:`dosefind.reports.summary_text`);
    ``charts`` maps a design label to its dose-decision chart PNG
    (:mod:`dosefind.reports.flowchart`); ``protocol`` is the text of ``protocol.md``.
    """
    from docx.shared import RGBColor

    study = run.study
    doc = _document()
    by_group, figs = {}, {f.name: f for f in figures}
    for t in tables:
        by_group.setdefault(t.group, []).append(t)
    scen_figs = {f.key: f for f in figures if f.key}

    doc.add_heading(study.title, level=0)
    doc.add_paragraph(f"Dose-finding design evaluation. dosefind {version}; run {run.started_at}; study file "
                      f"{study.source} (SHA-256 {study.sha256}); seed {study.seed}.")
    if study.description:
        for p in study.description.strip().split("\n\n"):
            doc.add_paragraph(" ".join(p.split()))

    doc.add_heading("Decision summary", level=1)
    for line in summary_lines:
        p = doc.add_paragraph()
        run_ = p.add_run(line)
        if line.startswith("Warning"):
            run_.bold = True
            run_.font.color.rgb = RGBColor(0xB7, 0x1C, 0x1C)
    if decision_table is not None:
        _report_table(doc, decision_table)
    for t in by_group.get("comparison", []):
        _report_table(doc, t)
    if "comparison" in figs:
        _picture(doc, figs["comparison"].png, figs["comparison"].caption)
    for t in by_group.get("obd-summary", []):   # phase I/II: the optimal biological dose
        _report_table(doc, t)
    if run.warnings:
        doc.add_paragraph("Notes from the run: " + "; ".join(run.warnings))

    doc.add_heading("Study set-up", level=1)
    for t in by_group.get("study", []):
        if t.name in ("doses", "setup"):
            _report_table(doc, t)

    doc.add_heading("Designs", level=1)
    for spec in run.designs:
        doc.add_heading(spec.label, level=2)
        doc.add_paragraph(design_text(spec.design))
        for m in modifier_texts(spec.design):
            doc.add_paragraph(m, style="List Bullet")
        if charts and spec.label in charts:
            _picture(doc, charts[spec.label], f"Dose decisions of {spec.label}.", width_cm=16.0)
        for t in by_group.get("design", []):
            if t.key == spec.label:
                _report_table(doc, t)

    doc.add_heading("Scenarios", level=1)
    for t in by_group.get("study", []):
        if t.name == "scenarios":
            _report_table(doc, t)
    for t in by_group.get("efficacy-truth", []):     # phase I/II: response rates, utilities, correct OBD
        _report_table(doc, t)
    for t in by_group.get("evidence", []):
        _report_table(doc, t)
    if "scenarios" in figs:
        _picture(doc, figs["scenarios"].png, figs["scenarios"].caption, width_cm=18.0)

    doc.add_heading("Results by scenario", level=1)
    for t in by_group.get("scenario", []):
        _report_table(doc, t)
        for o in by_group.get("obd", []):
            if o.key == t.key:
                _report_table(doc, o)
        if t.key in scen_figs:
            _picture(doc, scen_figs[t.key].png, scen_figs[t.key].caption)

    if protocol:
        doc.add_page_break()
        doc.add_heading("Protocol text (protocol.md)", level=1)
        add_markdown(doc, protocol, heading_offset=1)

    path = Path(path)
    doc.save(str(path))
    return path
