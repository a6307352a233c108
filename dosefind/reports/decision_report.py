"""The decision-summary parts of the ``dosefind run`` report, built in one call.

:func:`decision_parts` gathers what :func:`dosefind.reports.write_all` adds to the report:
the :class:`~dosefind.simulations.decision.DecisionSummary` of the run (its criterion is
the study's ``criterion`` when the study file states one, else the documented default),
its sentences and table (:mod:`dosefind.reports.summary_text`) and one dose-decision chart
per design (:mod:`dosefind.reports.flowchart`) as report figures named by
:func:`chart_names`.  :func:`write_docx_report` writes ``report.docx``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DecisionParts", "decision_parts", "chart_names", "write_docx_report"]


@dataclass
class DecisionParts:
    summary: object
    lines: list
    table: object
    charts: list = field(default_factory=list)


def chart_names(labels) -> dict:
    """Design label -> figure name of its chart, ``design-<slug>-decisions``, made unique
    in label order (``-2``, ``-3``, ... when two labels share a slug)."""
    from dosefind.reports.tables import slug

    out, used = {}, set()
    for label in labels:
        base = name = f"design-{slug(label)}-decisions"
        k = 2
        while name in used:
            name, k = f"{base}-{k}", k + 1
        used.add(name)
        out[label] = name
    return out


def _chart(spec, name):
    import matplotlib

    from dosefind.reports.figures import Figure
    from dosefind.reports.flowchart import decision_figure

    with matplotlib.rc_context({"svg.hashsalt": "dosefind", "svg.fonttype": "none"}):
        try:
            fig = decision_figure(spec.design)
        except TypeError:           # a design with no chart: the report simply has none
            return None
        png, svg = io.BytesIO(), io.BytesIO()
        fig.savefig(png, format="png", dpi=150, metadata={"Software": None})
        fig.savefig(svg, format="svg", metadata={"Date": None})
    return Figure(name, f"{spec.label}: dose decisions", png.getvalue(), svg.getvalue(),
                  caption="Dose decisions as the design makes them (see the design's description).")


def decision_parts(run, criterion=None, *, charts: bool = True, progress=None) -> DecisionParts:
    """Decision summary, sentences, table and per-design charts of a ``RunResult``.
    ``progress(done, total, label)`` is called before each chart and once at the end."""
    from dosefind.reports.summary_text import decision_lines, decision_table
    from dosefind.simulations.decision import decision_summary

    criterion = criterion if criterion is not None else getattr(run.study, "criterion", None)
    summary = decision_summary(run, criterion)
    names = chart_names([spec.label for spec in run.designs])
    figs = []
    if charts:
        total = len(run.designs)
        for k, spec in enumerate(run.designs):
            if progress is not None:
                progress(k, total, f"{spec.label} decision chart")
            fig = _chart(spec, names[spec.label])
            if fig is not None:
                figs.append(fig)
        if progress is not None:
            progress(total, total, f"{len(figs)} decision charts")
    return DecisionParts(summary, decision_lines(summary), decision_table(summary), figs)


def write_docx_report(run, folder, tables, figures, parts: DecisionParts, *, version: str, protocol: str) -> Path:
    """``folder/report.docx`` with the decision summary, every table and figure, the
    charts and the protocol text."""
    from dosefind.reports.docx import write_docx

    names = {name: label for label, name in chart_names([spec.label for spec in run.designs]).items()}
    charts = {names[f.name]: f.png for f in parts.charts}
    others = [f for f in figures if f.name not in names]
    return write_docx(run, tables, others, Path(folder) / "report.docx", version=version,
                      summary_lines=parts.lines, decision_table=parts.table, charts=charts, protocol=protocol)
