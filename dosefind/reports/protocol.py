"""``protocol.md``: the statistical-design section a protocol writer pastes into a protocol.

Generated from the same study, designs and report tables as ``report.html``: design
descriptions come from each design's ``describe()``, rules from its decision tables,
numbers from the report tables' display text (:func:`dosefind.reports.tables.fmt`), so
the protocol can never disagree with the tables.
"""

from __future__ import annotations

from dosefind.reports.design_text import design_text, modifier_texts
from dosefind.reports.tables import fmt, md_text, to_markdown
from dosefind.study import describe_doses

__all__ = ["render_protocol", "summary_lines"]


def summary_lines(run, tables) -> list[str]:
    """One sentence per scenario: correct and overdose selection of every design; in a
    phase I/II run, one more per scenario with response rates: correct OBD selection."""
    comp = next(t for t in tables if t.group == "comparison").data
    lines = []
    for s in run.scenarios:
        sub = comp[comp["scenario"] == s.name]
        truth = "every dose is overly toxic" if s.true_mtd is None or not s.correct else f"true MTD DL{s.true_mtd}"
        if s.true_mtd is None or not s.correct:
            parts = [f"{r.design} {fmt(r.no_selection_pct)}%" for r in sub.itertuples()]
            lines.append(f"Scenario \"{s.name}\" ({truth}): no MTD selected in " + ", ".join(parts) + " of trials.")
            continue
        parts = [f"{r.design} {fmt(r.pcs)}%" for r in sub.itertuples()]
        od = [f"{r.design} {fmt(r.overdose_selection_pct)}%" for r in sub.itertuples()]
        lines.append(f"Scenario \"{s.name}\" ({truth}): correct selection {', '.join(parts)}; "
                     f"selection above the MTD {', '.join(od)}.")
    return lines + _obd_lines(run, tables)


def _obd_lines(run, tables) -> list[str]:
    """Phase I/II: one sentence per scenario with response rates, read from the ``obd``
    table (correct OBD, and the utility of the selected dose, of every design scored)."""
    obd = next((t for t in tables if t.name == "obd"), None)
    if obd is None:
        return []
    lines = []
    for s in run.scenarios:
        sub = obd.data[obd.data["scenario"] == s.name]
        scored = [r for r in sub.itertuples()          # NaN (a missing value in the frame) is not scored
                  if r.pct_correct_obd is not None and r.pct_correct_obd == r.pct_correct_obd]
        if sub.empty or not scored:
            continue
        def truth(correct):
            return ("correct OBD " + ", ".join(f"DL{j}" for j in str(correct).split(";")) if correct
                    else "every dose above the DLT limit: selecting no dose is correct")

        same = len({r.correct_obd for r in scored}) == 1     # designs with different utilities differ
        parts = [f"{r.design} {fmt(r.pct_correct_obd)}%" + ("" if same else f" ({truth(r.correct_obd)})")
                 for r in scored]
        util = [f"{r.design} {fmt(r.utility_selected_mean)}" for r in scored]
        head = f"Scenario \"{s.name}\"" + (f" ({truth(scored[0].correct_obd)})" if same else "")
        lines.append(f"{head}: correct OBD selection {', '.join(parts)}; mean true "
                     f"utility of the selected dose {', '.join(util)}.")
    return lines


def _sentence_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _methods_sentence(run) -> str:
    """Which results are exact and which Monte Carlo, as the results record it."""
    study = run.study
    exact = [d.label for d in run.designs if all(run.oc(d.label, s.name).method == "exact" for s in run.scenarios)]
    mc = [d.label for d in run.designs if all(run.oc(d.label, s.name).method == "mc" for s in run.scenarios)]
    mixed = [d.label for d in run.designs if d.label not in exact and d.label not in mc]
    parts = []
    if exact:
        parts.append(f"{_sentence_list(exact)} {'was' if len(exact) == 1 else 'were'} evaluated exactly, by "
                     "propagating probability over every possible trial history (no Monte Carlo error)")
    if mc:
        parts.append(f"{_sentence_list(mc)} by Monte Carlo simulation of {study.n_trials:,} trials per scenario "
                     f"with random seed {study.seed}, the same simulated patients for every design")
    if mixed:
        parts.append(f"{_sentence_list(mixed)} exactly where the number of trial histories allowed and otherwise "
                     f"by Monte Carlo simulation of {study.n_trials:,} trials (seed {study.seed})")
    return "; ".join(parts) + "."


def _comment_safe(text: str) -> str:
    """Text inside an HTML comment: no '--' (which could end the comment early)."""
    return " ".join(str(text).split()).replace("--", "-\u2010")


def render_protocol(run, tables, *, version: str) -> str:
    study = run.study
    by_name = {t.name: t for t in tables}
    designs = run.designs
    labels = [d.label for d in designs]
    out = [f"# Statistical design: {md_text(study.title)}", "",
           f"<!-- Generated by dosefind {version} from {_comment_safe(study.source)} (SHA-256 {study.sha256}), "
           f"seed {study.seed}. Regenerate with `dosefind run` rather than editing the numbers by hand. -->", ""]
    out += ["## Objective and dose levels", "",
            f"The primary objective of the dose-escalation part is to identify the maximum tolerated dose (MTD), "
            f"defined as the dose level with a dose-limiting toxicity (DLT) rate closest to the target of "
            f"{study.target:g}. The study evaluates {md_text(describe_doses(study.doses))}. Patients are enrolled in "
            f"cohorts of {study.cohort_size}, starting at dose level {study.start_dose}, up to a maximum of "
            f"{study.max_n} patients.", "", to_markdown(by_name["doses"].display), ""]
    phase12 = [d.label for d in designs if getattr(d.design, "efficacy", False)]
    if phase12:                 # phase I/II designs recommend an optimal biological dose
        many = len(phase12) > 1
        k = next(i for i, line in enumerate(out) if line.startswith("The primary objective"))
        out[k] += (f" The phase I/II design{'s' if many else ''} ({md_text(_sentence_list(phase12))}) "
                    f"{'use' if many else 'uses'} response as well as DLT and {'recommend' if many else 'recommends'} "
                    "the optimal biological dose (OBD): the dose with the best trade-off between response and "
                    "toxicity, scored by the design's utility table, among doses not exceeding the MTD.")
    if study.description.strip():
        out += [md_text(study.description, block=True), ""]

    out += ["## Dose-escalation design", ""]
    if len(designs) > 1:
        out += [f"This section gives the text for each of the {len(designs)} designs evaluated "
                f"({md_text(_sentence_list(labels))}); keep the one chosen for the protocol.", ""]
    for spec in designs:
        out += [f"### {md_text(spec.label)}", "", "**Design and decision rules.** " + md_text(design_text(spec.design)), ""]
        mods = modifier_texts(spec.design)      # each stated once: not also inside the text above
        if mods:
            out += ["**Additional stopping rules.**", ""] + [f"- {md_text(m)}" for m in mods] + [""]
        for t in tables:
            if t.group == "design" and t.key == spec.label:
                title = t.title.split(": ", 1)[-1]
                out += [f"*{md_text(title[:1].upper() + title[1:])}.*", "", to_markdown(t.display), ""]
        cap = spec.design.max_n
        limit = (f"or when {cap} patients have been treated" if cap is not None
                 else f"(at most {6 * spec.design.num_doses} patients, six per dose level, by the rule itself)")
        what = ("the MTD and the optimal biological dose are" if getattr(spec.design, "efficacy", False)
                else "the MTD is")
        head = "MTD and OBD selection" if getattr(spec.design, "efficacy", False) else "MTD selection"
        out += [f"**{head} and stopping.** The trial ends when the rule above says stop {limit}; "
                f"{what} then selected as described above.", ""]

    comp = by_name["comparison"]
    out += ["## Simulation study", "",
            f"The operating characteristics of {md_text(_sentence_list(labels))} were evaluated with dosefind {version}. "
            + md_text(_methods_sentence(run)) + " Each scenario fixes the true DLT probability at every dose:", "",
            to_markdown(by_name["scenarios"].display), ""]
    if "scenarios-efficacy" in by_name:      # phase I/II: response rates, true utilities, correct OBD
        tr = by_name["scenarios-efficacy"]
        out += [f"*{md_text(tr.title)}.*", "", to_markdown(tr.display), "", md_text(tr.caption), ""]
    prior_sc = [s for s in run.scenarios if s.source != "explicit"]
    if prior_sc:
        out += ["Scenarios from the prior: " + md_text("; ".join(f"\"{s.name}\": {s.detail or s.source}"
                                                             for s in prior_sc)) + ".", ""]
    if "evidence" in by_name:
        ev = by_name["evidence"]
        out += [f"*{md_text(ev.title)}.*", "", to_markdown(ev.display), "", md_text(ev.caption), ""]
    out += ["### Results", ""] + [f"- {md_text(line)}" for line in summary_lines(run, tables)] + [""]
    decision = by_name.get("decision")
    if decision is not None:    # the decision summary, as report.html opens with it
        out += ["### Choice of design", ""] + [f"- {md_text(line)}" for line in decision.notes] + [""]
        out += [to_markdown(decision.display), "", md_text(decision.caption), ""]
    out += [to_markdown(comp.display), "", md_text(comp.caption), ""]
    if "obd" in by_name:                     # phase I/II: the optimal biological dose
        ob = by_name["obd"]
        out += [f"*{md_text(ob.title)}.*", "", to_markdown(ob.display), "", md_text(ob.caption), ""]
    for t in tables:
        if t.group == "scenario":
            out += [f"#### {md_text(t.title)}", "", to_markdown(t.display), ""]
            for o in tables:
                if o.group == "obd" and o.key == t.key:
                    out += [f"*{md_text(o.title)}.*", "", to_markdown(o.display), "", md_text(o.caption), ""]
    out += ["Per-dose tables, figures and the full results are in the accompanying report "
            "(`report.html`, `tables/`, `figures/`); `manifest.json` records the software versions and the "
            "study file's hash.", ""]
    return "\n".join(out)
