"""CPU cost of the issue-12 report parts: decision summary, decision charts, report.docx.

Run:  python benchmarks/bench_report_parts.py

Evaluates the bundled CD7 study's designs (3+3, BOIN, CRM) on two explicit scenarios with
the exact engine (the simulation itself is not what is measured), then times, in CPU
seconds of this process (``time.process_time``, so other load on the machine does not
count): the decision summary and its sentences, one chart per design (PNG and SVG), and
report.docx from the report's tables and figures.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path


def main() -> None:
    from dosefind.reports.decision_report import decision_parts, write_docx_report
    from dosefind.reports.figures import build_figures
    from dosefind.reports.protocol import render_protocol
    from dosefind.reports.summary_text import decision_lines, decision_table
    from dosefind.reports.tables import build_tables
    from dosefind.runner import evaluate
    from dosefind.simulations.decision import decision_summary
    from dosefind.study import default_study_text, parse_study

    # The bundled study with only its 2nd and 3rd scenarios (explicit curves: no prior fit).
    blocks = default_study_text().split("[[scenarios]]")
    study = parse_study("[[scenarios]]".join([blocks[0], blocks[2], blocks[3]]), source="bench")
    run = evaluate(study)
    tables = build_tables(run)
    figures = build_figures(run, tables)
    t = time.process_time()
    s = decision_summary(run)
    decision_lines(s), decision_table(s)
    t_summary = time.process_time() - t
    t = time.process_time()
    parts = decision_parts(run)
    t_parts = time.process_time() - t - t_summary
    with tempfile.TemporaryDirectory() as tmp:
        t = time.process_time()
        write_docx_report(run, Path(tmp), tables + [parts.table], figures + parts.charts, parts, version="bench",
                          protocol=render_protocol(run, tables, version="bench"))
        t_docx = time.process_time() - t
    print(f"designs {len(run.designs)}, scenarios {len(run.scenarios)}, figures {len(figures)}")
    print(f"decision summary + sentences + table: {t_summary:.3f} s CPU")
    print(f"decision charts (PNG + SVG, all designs): {t_parts:.3f} s CPU")
    print(f"report.docx: {t_docx:.3f} s CPU")


if __name__ == "__main__":
    main()
