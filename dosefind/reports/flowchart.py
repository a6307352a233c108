"""Dose-decision charts for protocols: one figure per design, asked of the design itself.

* **BOIN**: the decision table the BOIN papers and the R package print, as a grid of
  the number of patients treated at the current dose (columns) by the number of DLTs
  among them (rows): E (escalate), S (stay), D (de-escalate), DU (de-escalate and
  eliminate the dose and all higher doses).  The cells are laid out from
  :meth:`BOIN.boundaries` (``escalate_if_dlt_le``, ``deescalate_if_dlt_ge``,
  ``eliminate_if_dlt_ge``), the same table the design decides from.
* **3+3**: the rule as a decision table (patients at the dose, DLTs, action).  Each
  action is what :meth:`ThreePlusThree.decide` returns for a representative history, so
  the chart shows what the design does (including ``expand_lower``/``expand_top``).
* **CRM**: a flowchart of one decision: the model fit, the recommendation, dfcrm's
  restrictions in force, the safety stop (or a warning that there is none) and the end
  of the trial.
* Modifiers (``design.then(...)``) add their own ``describe()`` sentences below.

Nothing here decides a dose: the charts only arrange what the designs state.

>>> from dosefind.designs import BOIN
>>> chart = decision_chart(BOIN(target=0.3, num_doses=5, max_n=12))
>>> chart.header
['DLTs', 'n=3', 'n=6', 'n=9', 'n=12']
>>> chart.rows[0]
['0', 'E', 'E', 'E', 'E']
>>> chart.rows[3]
['3', 'DU', 'D', 'S', 'S']
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass, field

__all__ = ["DecisionChart", "decision_chart", "decision_figure", "figure_png", "BOIN_CODES"]

#: Cell codes of the BOIN grid and their meaning (and colours).
BOIN_CODES = {"E": ("escalate", "#d8ecd9"), "S": ("stay", "#f4f6f9"), "D": ("de-escalate", "#fde7c8"),
              "DU": ("de-escalate and eliminate this and higher doses", "#f6c1c1")}


@dataclass
class DecisionChart:
    """What a chart shows: ``kind`` ("grid", "table" or "flow"), a title, a table
    (``header`` and ``rows`` of strings) or flow ``steps``, and ``notes`` below."""

    kind: str
    title: str
    header: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    steps: list = field(default_factory=list)
    notes: list = field(default_factory=list)


# ---------------------------------------------------------------------------- BOIN
def _boin_chart(design, base) -> DecisionChart:
    tab = base.boundaries()
    ns = [int(n) for n in tab["n"]]
    header = ["DLTs"] + [f"n={n}" for n in ns]
    rows = []
    for y in range(max(ns) + 1):
        row = [str(y)]
        for r in tab.itertuples():
            n = int(r.n)
            if y > n:
                row.append("")
            elif y <= int(r.escalate_if_dlt_le):
                row.append("E")
            elif not _na(r.eliminate_if_dlt_ge) and y >= int(r.eliminate_if_dlt_ge):
                row.append("DU")
            elif y >= int(r.deescalate_if_dlt_ge):
                row.append("D")
            else:
                row.append("S")
        rows.append(row)
    notes = [f"{k}: {v[0]}." for k, v in BOIN_CODES.items()]
    notes.append(f"Boundaries lambda_e = {base.lambda_e:.4f}, lambda_d = {base.lambda_d:.4f}; elimination when "
                 f"Pr(DLT rate > {base.target:g} | data) > {base.cutoff_eli:g} with at least 3 patients; the trial "
                 "stops with no MTD when the lowest dose is eliminated.")
    notes.append("At the lowest dose D means stay; at the highest dose E means stay; never escalate to an "
                 "eliminated dose.")
    if base.n_earlystop < base.max_n:
        notes.append(f"Stop when the current dose has {base.n_earlystop} patients and the rule says stay.")
    return DecisionChart("grid", f"{design.name}: decision table (target {base.target:g})", header, rows,
                         notes=notes)


def _na(v) -> bool:
    import pandas as pd

    return v is None or bool(pd.isna(v))


# ---------------------------------------------------------------------------- 3+3
#: Representative histories of a 3+3 at a middle dose (dose 2; dose 1 had 0/3), and one
#: at the lowest and one at the highest dose: (patients, DLTs, outcome string).
_THREE_PLUS_THREE_CASES = (
    ("3", "0", "1NNN 2NNN"),
    ("3", "1", "1NNN 2TNN"),
    ("3", "2 or 3", "1NNN 2TTN"),
    ("6", "0 or 1", "1NNN 2TNN 2NNN"),
    ("6", "2 or more", "1NNN 2TNN 2TTN"),
    ("3 at the lowest dose", "2 or 3", "1TTN"),
    ("3 at the highest dose", "0", "1NNN 2NNN 3NNN"),
    ("6 below a too-toxic dose", "0 or 1", "1NNN 2TTN 1TNN"),
)


def _action_text(design, decision, state) -> str:
    from dosefind.state import ReasonCode as R

    cur = state.current_index
    if decision.stop:
        if decision.code == R.LOWEST_TOO_TOXIC:
            return "stop: no MTD (lowest dose too toxic)"
        mtd = design.select_mtd(state).mtd_index
        if mtd is None:
            return f"stop, no MTD ({decision.code.text})"
        return "stop: MTD = this dose" if mtd == cur else (
            "stop: MTD = the dose below" if mtd == cur - 1 else f"stop: MTD = dose {mtd + 1}")
    if decision.dose_index > cur:
        return "escalate to the next dose"
    if decision.dose_index == cur:
        return "treat 3 more at this dose"
    return "too toxic: treat 3 more at the dose below"


def _three_plus_three_chart(design, base) -> DecisionChart:
    from dosefind.state import TrialState

    if design.num_doses < 3:  # the middle-dose rules need a dose below and above
        raise TypeError("a 3+3 decision chart needs at least 3 dose levels")
    rows = []
    for n, y, outcomes in _THREE_PLUS_THREE_CASES:
        state = TrialState.from_outcomes(outcomes, num_doses=design.num_doses)
        if "highest" in n:
            last = design.num_doses
            state = TrialState.from_outcomes(" ".join(f"{k}NNN" for k in range(1, last + 1)), num_doses=last)
        rows.append([n, y, _action_text(design, design.decide(state), state)])
    notes = ["The MTD is the highest dose with at most 1 DLT in 6 patients below the lowest too-toxic dose."]
    if not base.expand_lower:
        notes.append("The dose below a too-toxic dose is not expanded: it is the MTD with its 3 patients.")
    return DecisionChart("table", f"{design.name}: decision rules", ["Patients at dose", "DLTs", "Action"], rows,
                         notes=notes)


# ---------------------------------------------------------------------------- CRM
def _crm_chart(design, base) -> DecisionChart:
    prior = f"Normal(0, variance {base.prior_var:g})"
    fit = "posterior mean" if base.method == "bayes" else "maximum likelihood"
    skel = ", ".join(f"{p:.3f}" for p in base.skeleton)
    steps = [f"Treat a cohort of {base.cohort_size} at the current dose (start: dose {base.start_dose})",
             f"Fit the {base.model} working model to all DLT data ({fit}; prior on beta {prior}; skeleton {skel})",
             f"Recommend the dose whose estimated DLT rate is closest to the target {base.target:g}"]
    if not base.skip_escalation:
        steps.append("Restriction: escalate by at most one dose level above the current dose")
    if not base.escalate_after_dlt:
        steps.append("Restriction: no escalation when the last cohort's DLT proportion is at least the target")
    if base.stop_tox_cutoff is not None:
        steps.append(f"Safety stop: stop with no MTD if Pr(DLT rate at dose 1 > {base.target:g}) > "
                     f"{base.stop_tox_cutoff:g}")
    cap = "the maximum sample size" if design.max_n is None else f"{design.max_n} patients"
    steps.append(f"Repeat until {cap}; the MTD is the dose whose estimated DLT rate is closest to the target")
    return DecisionChart("flow", f"{design.name}: one dose decision", steps=steps)


# ---------------------------------------------------------------------------- dispatch
def decision_chart(design) -> DecisionChart:
    """The chart of ``design`` (BOIN, CRM, 3+3, optionally modified)."""
    from dosefind.designs.boin import BOIN
    from dosefind.designs.crm import CRM
    from dosefind.designs.three_plus_three import ThreePlusThree
    from dosefind.simulations.decision import has_safety_stop

    base = getattr(design, "base", design)
    if isinstance(base, BOIN):
        chart = _boin_chart(design, base)
    elif isinstance(base, ThreePlusThree):
        chart = _three_plus_three_chart(design, base)
    elif isinstance(base, CRM):
        chart = _crm_chart(design, base)
    else:
        raise TypeError(f"no decision chart for {type(base).__name__}; known: BOIN, CRM, 3+3")
    mods = [m.describe() for m in getattr(design, "modifiers", None) or () if m.describe()]
    if chart.kind == "flow":
        chart.steps[-1:-1] = [f"Added rule: {m}" for m in mods]
    else:
        chart.notes += [f"Added rule: {m}" for m in mods]
    if has_safety_stop(design) is False:
        warning = "WARNING: no safety stop: the trial continues even if every dose is too toxic"
        (chart.steps if chart.kind == "flow" else chart.notes).append(warning)
    return chart


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


def decision_figure(design):
    """A matplotlib Figure of :func:`decision_chart` (built without pyplot)."""
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    chart = decision_chart(design)
    notes = "\n".join(_wrap(n, 110) for n in chart.notes)
    n_note_lines = notes.count("\n") + 1 if notes else 0
    if chart.kind == "flow":
        k = len(chart.steps)
        height = 0.75 * k + 0.55
        fig = Figure(figsize=(7.2, height))
        ax = fig.add_axes((0, 0.02, 1, 1 - 0.5 / height))     # the top 0.5 inch holds the title
        ax.set_xlim(0, 1)
        ax.set_ylim(0, k)
        ax.axis("off")
        for i, step in enumerate(chart.steps):
            yc = k - i - 0.5
            warn = step.startswith("WARNING")
            colour = "#f6c1c1" if warn else ("#fff8e1" if step.startswith(("Restriction", "Safety", "Added"))
                                             else "#eaf1f8")
            ax.add_patch(FancyBboxPatch((0.06, yc - 0.32), 0.88, 0.64, boxstyle="round,pad=0.01",
                                        fc=colour, ec="#0b4f8a" if not warn else "#b71c1c", lw=1))
            ax.text(0.5, yc, _wrap(step, 80), ha="center", va="center", fontsize=8.5)
            if i < k - 1:
                ax.add_patch(FancyArrowPatch((0.5, yc - 0.33), (0.5, yc - 0.67), arrowstyle="-|>",
                                             mutation_scale=10, color="#5b6776"))
        fig.text(0.5, 1 - 0.12 / height, chart.title, fontsize=10, ha="center", va="top")
        return fig
    n_rows = len(chart.rows) + 1
    row_h, note_h, title_h, pad = 0.24, 0.16, 0.45, 0.15        # inches
    height = title_h + n_rows * row_h + n_note_lines * note_h + 2 * pad
    width = min(11.0, 0.75 * len(chart.header) + 1.0) if chart.kind == "grid" else 7.2
    width = max(width, 6.5 if notes else 4.0)
    fig = Figure(figsize=(width, height))
    bottom = (pad + n_note_lines * note_h + 0.1) / height
    ax = fig.add_axes((0.02, bottom, 0.96, n_rows * row_h / height))
    ax.axis("off")
    colours = None
    if chart.kind == "grid":
        colours = [["#ffffff"] + [BOIN_CODES[c][1] if c else "#ffffff" for c in row[1:]] for row in chart.rows]
    tab = ax.table(cellText=chart.rows, colLabels=chart.header, cellColours=colours, bbox=(0, 0, 1, 1),
                   cellLoc="center", colLoc="center")
    tab.auto_set_font_size(False)
    tab.set_fontsize(8)
    if chart.kind == "table":
        for (r, c), cell in tab.get_celld().items():
            cell.set_width((0.3, 0.15, 0.55)[c])
    fig.text(0.5, 1 - pad / height, chart.title, fontsize=10, ha="center", va="top")
    if notes:
        fig.text(0.02, pad / height, notes, fontsize=7.5, va="bottom", ha="left", color="#1d2733")
    return fig


def figure_png(fig, dpi: int = 150) -> bytes:
    """PNG bytes of a Figure (for report.docx and the report folder)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()
