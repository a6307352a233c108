"""``report.html``: one self-contained page (inline CSS, figures as data URIs, no script,
no network) built from the report tables and figures.  All user text is escaped."""

from __future__ import annotations

import base64
from html import escape

from dosefind.reports.tables import unique_slugs
from dosefind.state import format_amount

__all__ = ["render_html"]

CSS = """
:root { --ink:#1d2733; --muted:#5b6776; --line:#d9dee5; --band:#f4f6f9; --accent:#0b4f8a; --ok:#2e7d32; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color:var(--ink); background:#fff; }
header.top { background:linear-gradient(120deg,#0b3d6b,#0b4f8a 60%,#1d6fb8); color:#fff; padding:28px 40px 22px; }
header.top h1 { margin:0 0 4px; font-size:26px; font-weight:600; letter-spacing:.2px; }
header.top .sub { opacity:.85; font-size:13px; }
nav.toc { position:sticky; top:0; background:#fff; border-bottom:1px solid var(--line); padding:8px 40px;
          z-index:2; font-size:13px; }
nav.toc a { color:var(--accent); text-decoration:none; margin-right:18px; }
main { max-width:1120px; margin:0 auto; padding:8px 40px 40px; }
section { margin-top:30px; }
h2 { font-size:20px; border-bottom:2px solid var(--accent); padding-bottom:4px; margin:0 0 12px; }
h3 { font-size:16px; margin:22px 0 8px; }
h4 { font-size:14px; margin:14px 0 6px; color:var(--muted); font-weight:600; }
p { margin:6px 0 10px; }
.facts { display:grid; grid-template-columns:repeat(auto-fit,minmax(150px,1fr)); gap:10px; margin:18px 0 6px; }
.fact { background:var(--band); border:1px solid var(--line); border-radius:6px; padding:10px 12px; }
.fact .k { font-size:11px; text-transform:uppercase; letter-spacing:.6px; color:var(--muted); }
.fact .v { font-size:17px; font-weight:600; }
table { border-collapse:collapse; margin:6px 0 4px; font-size:12.5px; font-variant-numeric:tabular-nums; }
th, td { padding:4px 9px; border-bottom:1px solid var(--line); text-align:right; white-space:nowrap; }
th { background:var(--band); font-weight:600; border-bottom:2px solid #b9c2ce; }
th:first-child, td:first-child, th.l, td.l { text-align:left; }
tr.sep td { border-top:2px solid #b9c2ce; }
tr.truth td { background:#fbfbf3; font-weight:600; }
.wrap { overflow-x:auto; }
.caption { font-size:12px; color:var(--muted); margin:2px 0 14px; max-width:900px; }
figure { margin:10px 0 18px; }
figure img { max-width:100%; height:auto; border:1px solid var(--line); border-radius:4px; background:#fff; }
figcaption { font-size:12px; color:var(--muted); }
.design { border-left:4px solid var(--accent); padding:2px 0 2px 14px; margin:18px 0; }
.tables { display:flex; flex-wrap:wrap; gap:10px 34px; align-items:flex-start; }
.note { background:#fff8e1; border:1px solid #ffe08a; padding:8px 12px; border-radius:6px; font-size:12.5px; }
pre.study { background:var(--band); border:1px solid var(--line); padding:12px; font-size:11.5px;
            overflow-x:auto; border-radius:6px; max-height:420px; }
footer { color:var(--muted); font-size:12px; border-top:1px solid var(--line); margin-top:36px; padding-top:10px; }
details summary { cursor:pointer; color:var(--accent); }
@media print { nav.toc { display:none; } header.top { background:#0b4f8a; -webkit-print-color-adjust:exact; } }
"""


def _table_html(table, *, first_col_left: int = 1) -> str:
    df = table.display
    cols = list(df.columns)
    head = "".join(f'<th class="{"l" if i < first_col_left else ""}">{escape(str(c))}</th>' for i, c in enumerate(cols))
    body = []
    for _, row in df.iterrows():
        cls = ""
        if table.group in ("scenario", "obd"):
            if row.get("Measure") in ("True P(DLT)", "True P(response)"):
                cls = "truth"
            elif row.get("Design"):
                cls = "sep"
        elif table.group in ("comparison", "obd-summary", "efficacy-truth") and row.get("Scenario"):
            cls = "sep"
        cells = "".join(f'<td class="{"l" if i < first_col_left else ""}">{escape(str(v))}</td>'
                        for i, v in enumerate(row))
        body.append(f'<tr class="{cls}">{cells}</tr>' if cls else f"<tr>{cells}</tr>")
    cap = f'<p class="caption">{escape(table.caption)}</p>' if table.caption else ""
    return (f'<div class="wrap"><table id="table-{escape(table.name)}" data-table="{escape(table.name)}">'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>{cap}")


def _figure_html(fig) -> str:
    data = base64.b64encode(fig.svg).decode("ascii")
    cap = f"<figcaption>{escape(fig.caption)}</figcaption>" if fig.caption else ""
    return (f'<figure id="figure-{escape(fig.name)}"><img alt="{escape(fig.title)}" '
            f'src="data:image/svg+xml;base64,{data}">{cap}</figure>')


def _paragraphs(text: str) -> str:
    paras = [p.strip() for p in text.strip().split("\n\n") if p.strip()]
    return "".join(f"<p>{escape(' '.join(p.split()))}</p>" for p in paras)


def _computed_facts(run) -> list:
    """The summary cards saying how the results were computed: a trial count only where
    trials were simulated (an exact result has none)."""
    from dosefind.reports.tables import run_methods

    methods = run_methods(run)
    if methods == {"exact"}:
        return [("Results", "exact calculation")]
    n = f"{run.study.n_trials:,}"
    if "exact" not in methods:
        return [("Results", "Monte Carlo"), ("Simulated trials", n)]
    return [("Results", "exact where feasible, else Monte Carlo"), ("Simulated trials (Monte Carlo)", n)]


def render_html(run, tables, figures, *, version: str, summary_lines: list[str]) -> str:
    from dosefind.reports.decision_report import chart_names
    from dosefind.reports.design_text import design_text, modifier_texts
    from dosefind.reports.print_css import REPORT_CSS

    study = run.study
    by_group = {}
    for t in tables:
        by_group.setdefault(t.group, []).append(t)
    figs = {f.name: f for f in figures}
    scen_figs = {f.key: f for f in figures if f.key}
    d = study.doses
    dose_range = (f"{format_amount(d.amounts[0])}&ndash;{format_amount(d.amounts[-1])} {escape(d.unit)}"
                  if d.amounts is not None else f"{len(d)} levels")
    facts = [("Dose levels", f"{len(d)} ({dose_range})"), ("Target DLT rate", f"{study.target:g}"),
             ("Max. patients / trial", str(study.max_n)), ("Cohort size", str(study.cohort_size)),
             ("Designs", escape(", ".join(s.label for s in run.designs))),
             ("Scenarios", str(len(run.scenarios))), *_computed_facts(run), ("Seed", str(study.seed))]
    obd_link = '<a href="#obd">OBD</a>' if by_group.get("obd-summary") else ""   # phase I/II runs
    parts = []
    parts.append(f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="dosefind {escape(version)}">
<title>{escape(study.title)} &mdash; dose-finding report</title>
<style>{CSS}{REPORT_CSS}</style></head><body>
<header class="top"><h1>{escape(study.title)}</h1>
<div class="sub">Dose-finding design evaluation &middot; dosefind {escape(version)} &middot; run {escape(run.started_at)}
&middot; study file SHA-256 {escape(study.sha256[:12])}&hellip;</div></header>
<nav class="toc"><a href="#study">Study</a><a href="#summary">Summary</a>{obd_link}<a href="#designs">Designs</a>
<a href="#scenarios">Scenarios</a><a href="#results">Results by scenario</a><a href="#reproducibility">Reproducibility</a></nav>
<main>""")
    # Study
    parts.append('<section id="study"><h2>Study</h2>')
    parts.append(_paragraphs(study.description) if study.description else "")
    parts.append('<div class="facts">' + "".join(
        f'<div class="fact"><div class="k">{k}</div><div class="v">{v}</div></div>' for k, v in facts) + "</div>")
    parts.append('<div class="tables">')
    for t in by_group.get("study", []):
        if t.name in ("doses", "setup"):
            parts.append(f'<div><h4>{escape(t.title)}</h4>{_table_html(t)}</div>')
    parts.append("</div></section>")
    # Summary
    parts.append('<section id="summary"><h2>Summary of operating characteristics</h2>')
    for t in by_group.get("decision", []):      # the decision summary: its sentences, then the ranking
        parts += [f'<p class="note">{escape(x)}</p>' if x.startswith("Warning") else f"<p>{escape(x)}</p>"
                  for x in t.notes]
        parts.append(_table_html(t, first_col_left=2))
    for line in summary_lines:
        parts.append(f"<p>{escape(line)}</p>")
    for t in by_group.get("comparison", []):
        parts.append(_table_html(t, first_col_left=2))
    for f in figures:
        if f.name == "comparison" or f.name.startswith("comparison-"):
            parts.append(_figure_html(f))
    for t in by_group.get("calendar", []):  # calendar time ([trial]): duration and enrolment
        parts.append(f"<h3>{escape(t.title)}</h3>" + _table_html(t, first_col_left=2))
    for t in by_group.get("obd-summary", []):   # phase I/II: the optimal biological dose
        parts.append(f'<h3 id="obd">{escape(t.title)}</h3>' + _table_html(t, first_col_left=2))
    if run.warnings:
        parts.append('<div class="note"><b>Notes from the run:</b> ' +
                     "; ".join(escape(w) for w in run.warnings) + "</div>")
    parts.append("</section>")
    # Designs
    parts.append('<section id="designs"><h2>Designs</h2>')
    design_tabs = by_group.get("design", [])
    ids = unique_slugs(spec.label for spec in run.designs)
    for spec in run.designs:
        parts.append(f'<div class="design" id="design-{escape(ids[spec.label])}"><h3>{escape(spec.label)}</h3>')
        parts.append(f"<p>{escape(design_text(spec.design))}</p>")
        mods = modifier_texts(spec.design)
        if mods:
            parts.append("<p><b>Additional stopping rules.</b></p><ul>"
                         + "".join(f"<li>{escape(m)}</li>" for m in mods) + "</ul>")
        parts.append(_prior_html(spec))
        chart = figs.get(chart_names([d.label for d in run.designs])[spec.label])
        parts.append(_figure_html(chart) if chart is not None else "")
        parts.append('<div class="tables">')
        for t in design_tabs:
            if t.key == spec.label:
                title = t.title.split(": ", 1)[-1]
                parts.append(f"<div><h4>{escape(title[:1].upper() + title[1:])}</h4>{_table_html(t)}</div>")
        parts.append("</div></div>")
    parts.append("</section>")
    # Scenarios
    parts.append('<section id="scenarios"><h2>Scenarios</h2>')
    for t in by_group.get("study", []):
        if t.name == "scenarios":
            parts.append(_table_html(t))
    for t in by_group.get("efficacy-truth", []):     # phase I/II: response rates, utilities, correct OBD
        parts.append(f"<h3>{escape(t.title)}</h3>" + _table_html(t, first_col_left=2))
    if "scenarios" in figs:
        parts.append(_figure_html(figs["scenarios"]))
    for s in run.scenarios:
        text = " ".join(x for x in (" ".join(s.description.split()), s.detail and f"Source: {s.detail}.") if x)
        if text:
            parts.append(f"<p><b>{escape(s.name)}.</b> {escape(text)}</p>")
    for t in by_group.get("evidence", []):     # the published reports a bundled prior was fitted to
        parts.append(f"<h3>{escape(t.title)}</h3>" + _table_html(t, first_col_left=4))
    parts.append("</section>")
    # Results
    parts.append('<section id="results"><h2>Results by scenario</h2>')
    for t in by_group.get("scenario", []):
        parts.append(f'<h3 id="scenario-{escape(t.name)}">{escape(t.title)}</h3>')
        parts.append(_table_html(t, first_col_left=2))
        for o in by_group.get("obd", []):        # phase I/II: responses and OBD selection
            if o.key == t.key:
                parts.append(f'<h4 id="{escape(o.name)}">{escape(o.title)}</h4>' + _table_html(o, first_col_left=2))
        if t.key in scen_figs:
            parts.append(_figure_html(scen_figs[t.key]))
    parts.append("</section>")
    # Reproducibility
    parts.append('<section id="reproducibility"><h2>Reproducibility</h2>')
    parts.append(f"<p>Every number in this report is reproduced by <code>dosefind run</code> on the study file "
                 f"below (SHA-256 <code>{escape(study.sha256)}</code>) with dosefind {escape(version)}; "
                 f"<code>manifest.json</code> lists the package and dependency versions, the seed and the "
                 f"timings; <code>tables/</code> holds every table as CSV and Markdown, <code>figures/</code> "
                 f"every figure as PNG and SVG, and <code>protocol.md</code> the statistical section for the "
                 f"protocol.</p>")
    parts.append(f"<details><summary>Study file ({escape(study.source)})</summary>"
                 f'<pre class="study">{escape(study.text)}</pre></details>')
    parts.append("</section>")
    parts.append(f"<footer>Generated by dosefind {escape(version)}. Simulated operating characteristics "
                 f"describe the designs under the stated scenarios; they are not predictions for a particular "
                 f"trial.</footer></main></body></html>\n")
    return "\n".join(p for p in parts if p)


def _prior_html(spec) -> str:
    """The strength of a design's fitted prior (issue 13): ESS per dose by each named
    method, and the fit's warnings, as the study computed them (nothing computed here)."""
    prior = spec.prior_to_dict() if hasattr(spec, "prior_to_dict") else None
    if not prior:
        return ""
    rows = prior.get("ess") or []
    head = (f"<p>Prior from the fit <code>{escape(str(prior['path']))}</code> (endpoint "
            f"{escape(str(prior.get('endpoint', '?')))}, SHA-256 {escape(str(prior.get('sha256', ''))[:12])}...).")
    if rows:
        elir, moment = escape(str(rows[0].get("elir_method", "ELIR"))), escape(str(rows[0].get("moment_method", "")))
        cells = "".join(f"<tr><td>{int(r['level'])}</td><td>{r['ess_elir']:.1f}</td><td>{r['ess_moment']:.1f}</td></tr>"
                        for r in rows)
        head += (f" Effective sample size of the prior at each dose, in patients:</p>"
                 f"<table><thead><tr><th>Dose level</th><th>ESS ({elir})</th><th>ESS ({moment})</th></tr></thead>"
                 f"<tbody>{cells}</tbody></table>")
    else:
        head += "</p>"
    for w in prior.get("warnings") or []:
        head += f'<p class="warning">Prior warning: {escape(str(w.get("text", "")))}</p>'
    return head
