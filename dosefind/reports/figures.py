"""Report figures (matplotlib, Agg backend, imported only when a report is drawn).

Each figure is returned as PNG and SVG bytes.  The numbers plotted are read from the
report tables' data, so a plot always shows what the tables show.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

__all__ = ["Figure", "build_figures"]

#: Colour-blind-safe palette (Okabe & Ito 2008), one colour per design.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


@dataclass
class Figure:
    name: str
    title: str
    png: bytes
    svg: bytes
    caption: str = ""
    key: str = ""


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update({
        "font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "axes.spines.top": False,
        "axes.spines.right": False, "svg.fonttype": "none", "svg.hashsalt": "dosefind",
        "figure.dpi": 100, "savefig.dpi": 150, "legend.frameon": False,
    })
    return plt


def _save(plt, fig) -> tuple[bytes, bytes]:
    png, svg = io.BytesIO(), io.BytesIO()
    fig.savefig(png, format="png", bbox_inches="tight", metadata={"Software": None})
    fig.savefig(svg, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return png.getvalue(), svg.getvalue()


def _scenario_figure(plt, run, table) -> Figure:
    import numpy as np

    s = next(x for x in run.scenarios if x.name == table.key)
    df = table.data
    D = len(s.true_prob_tox)
    designs = [d.label for d in run.designs]
    x = np.arange(D)
    width = 0.8 / max(1, len(designs))
    fig, axes = plt.subplots(1, 2, figsize=(9.2, 3.4))
    ticks = [f"DL{i + 1}\np={p:.2f}" for i, p in enumerate(s.true_prob_tox)]
    for ax, metric, ylabel in ((axes[0], "selection_pct", "Selected as MTD (% of trials)"),
                               (axes[1], "patients_mean", "Patients treated (mean per trial)")):
        for i in s.correct:
            ax.axvspan(i - 1 - 0.45, i - 1 + 0.45, color="#2e7d32", alpha=0.08, lw=0)
        for k, label in enumerate(designs):
            row = df[(df["design"] == label) & (df["metric"] == metric)].iloc[0]
            se = df[(df["design"] == label) & (df["metric"] == metric + "_se")].iloc[0]
            vals = np.array([row[f"dose_{i + 1}"] for i in range(D)], dtype=float)
            err = np.array([se[f"dose_{i + 1}"] for i in range(D)], dtype=float)
            pos = x - 0.4 + width * (k + 0.5)
            ax.bar(pos, vals, width * 0.92, color=PALETTE[k % len(PALETTE)], label=label)
            if np.nansum(err) > 0:
                ax.errorbar(pos, vals, yerr=1.96 * err, fmt="none", ecolor="#333333", elinewidth=0.7, capsize=1.5)
        ax.set_xticks(x, ticks)
        ax.set_ylabel(ylabel)
        ax.grid(axis="y", color="#dddddd", lw=0.6)
        ax.set_axisbelow(True)
    axes[0].set_ylim(0, 100)
    axes[0].set_title("Selection of the MTD")
    axes[1].set_title("Allocation of patients")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(designs), bbox_to_anchor=(0.5, 1.06))
    fig.tight_layout()
    png, svg = _save(plt, fig)
    return Figure(f"scenario-{table.name.removeprefix('scenario-')}", f"Scenario: {s.name}", png, svg,
                  caption="Shaded: correct dose(s). Error bars: 95% Monte Carlo intervals (none for exact results). "
                          "p: true DLT probability.", key=s.name)


def _curves_figure(plt, run) -> Figure:
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    D = len(run.study.doses)
    for k, s in enumerate(run.scenarios):
        style = "--" if s.source != "explicit" else "-"
        ax.plot(range(1, D + 1), s.true_prob_tox, style, marker="o", ms=3.5, lw=1.4, label=s.name,
                color=PALETTE[k % len(PALETTE)] if k < len(PALETTE) else None)
    ax.axhline(run.study.target, color="#b71c1c", lw=1, ls=":")
    ax.text(D + 0.05, run.study.target, f" target {run.study.target:g}", va="center", color="#b71c1c", fontsize=8)
    ax.set_xticks(range(1, D + 1), [f"DL{i}\n{lab}" for i, lab in enumerate(run.study.doses.labels, start=1)])
    ax.set_ylabel("True P(DLT)")
    ax.set_ylim(0, 1)
    ax.grid(axis="y", color="#dddddd", lw=0.6)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=8)
    fig.tight_layout()
    png, svg = _save(plt, fig)
    return Figure("scenarios", "True dose-toxicity curves", png, svg,
                  caption="Dashed: scenarios taken from the fitted literature prior.")


def _comparison_figure(plt, comparison) -> Figure:
    import numpy as np

    df = comparison.data
    scen = list(dict.fromkeys(df["scenario"]))
    designs = list(dict.fromkeys(df["design"]))
    fig, axes = plt.subplots(1, 2, figsize=(9.2, 0.55 * len(scen) + 1.4), sharey=True)
    y = np.arange(len(scen))
    h = 0.8 / max(1, len(designs))
    for ax, metric, title in ((axes[0], "pcs", "Correct selection (%)"),
                              (axes[1], "overdose_selection_pct", "Overdose selection (%)")):
        for k, d in enumerate(designs):
            sub = df[df["design"] == d].set_index("scenario").reindex(scen)
            vals = sub[metric].astype(float).to_numpy()
            ax.barh(y - 0.4 + h * (k + 0.5), np.nan_to_num(vals), h * 0.92, color=PALETTE[k % len(PALETTE)], label=d)
        ax.set_title(title)
        ax.set_xlim(0, 100)
        ax.grid(axis="x", color="#dddddd", lw=0.6)
        ax.set_axisbelow(True)
    axes[0].set_yticks(y, scen)
    axes[0].invert_yaxis()
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(designs), bbox_to_anchor=(0.5, 1.04))
    fig.tight_layout()
    png, svg = _save(plt, fig)
    return Figure("comparison", "Correct and overdose selection by scenario", png, svg,
                  caption="Bars show the percentage of simulated trials; scenarios without a correct dose show none.")


def build_figures(run, tables) -> list:
    """Every figure of the report: the scenario curves, one per scenario, the comparison."""
    plt = _plt()
    out = [_curves_figure(plt, run)]
    out += [_scenario_figure(plt, run, t) for t in tables if t.group == "scenario"]
    out += [_comparison_figure(plt, t) for t in tables if t.group == "comparison"]
    return out
