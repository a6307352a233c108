"""Layout rules that keep every column and figure of ``report.html`` on screen and on paper.

``report.html``'s base style sheet keeps table cells on one line (``white-space: nowrap``)
inside a scrolling box, which on paper cuts the widest tables (the browser does not
scroll a printed page: the comparison table lost 4 of its 9 columns in Chromium's PDF)
and at 1,400 px with four designs hides columns behind a scroll bar.  :data:`REPORT_CSS`
follows the base sheet and overrides it:

* on screen, column headers may wrap (numbers stay on one line) and the page may use up
  to 1,360 px, so a four-design comparison fits a 1,400 px window;
* in print: A4/Letter landscape with 12 mm margins, smaller table type, headers and
  labels allowed to wrap (numbers stay whole), no scrolling boxes (``overflow:
  visible``), the table header repeated on every page, rows and figures never split
  across pages, figures scaled to the page width, the navigation bar hidden and the
  study file (a closed ``<details>``) printed in full where the browser supports
  ``::details-content`` (Chromium 131 and later).

``tests/reports/test_print.py`` renders a report to PDF in headless Chromium and checks
that every column header and every cell of every table is in the PDF's text, and that at
1,400 px nothing is wider than the window.
"""

from __future__ import annotations

__all__ = ["REPORT_CSS", "with_report_css"]

REPORT_CSS = """
/* dosefind/reports/print_css.py: keep every column and figure (screen and print) */
main { max-width: 1360px; }
th { white-space: normal; vertical-align: bottom; min-width: 3.2em; }
td { white-space: nowrap; }
td.l { white-space: normal; min-width: 6em; }
@media print {
  @page { size: landscape; margin: 12mm; }
  html, body { width: auto; }
  body { font-size: 10.5px; }
  header.top { padding: 10px 0 8px; }
  main { max-width: none; margin: 0; padding: 0; }
  nav.toc { display: none; }
  section { margin-top: 14px; }
  h2, h3, h4 { break-after: avoid; page-break-after: avoid; }
  .wrap { overflow: visible !important; }
  table { width: 100%; max-width: 100%; font-size: 8.5px; break-inside: auto; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; page-break-inside: avoid; }
  th, td.l { white-space: normal !important; overflow-wrap: anywhere; }
  th, td { padding: 2px 4px; }
  .caption, figcaption { font-size: 9px; }
  .tables { display: block; }
  .tables > div { margin-bottom: 8px; }
  figure { break-inside: avoid; page-break-inside: avoid; }
  figure img { max-width: 100% !important; max-height: 170mm; width: auto; height: auto; }
  .facts { grid-template-columns: repeat(4, 1fr); }
  pre.study { max-height: none; overflow: visible; white-space: pre-wrap; font-size: 8px; }
  details::details-content { content-visibility: visible; display: block; }
}
"""


def with_report_css(html: str) -> str:
    """``html`` with :data:`REPORT_CSS` added at the end of its head (after the base style
    sheet, so that its rules win)."""
    if "</head>" not in html:
        raise ValueError("not a report page: no </head>")
    return html.replace("</head>", f"<style>{REPORT_CSS}</style></head>", 1)
