"""Calibration figure for ``dosefind calibrate`` (draws the ranking table; computes nothing).

With one numeric grid parameter the score is drawn against it, one line per design
(the usual calibration curve, e.g. mean PCS against the skeleton half-width); otherwise
the candidates are drawn as horizontal bars, best at the top.
"""

from __future__ import annotations

__all__ = ["calibration_figure"]


def calibration_figure(table, param_names, *, score_label: str = "score"):
    """A matplotlib Figure of the ranking table from :func:`dosefind.grid.calibrate.rank`."""
    from dosefind.reports.figures import PALETTE, _plt

    plt = _plt()
    numeric = [p for p in param_names if table[p].dtype.kind in "if"]
    if len(param_names) == 1 and numeric:
        fig, ax = plt.subplots(figsize=(5.5, 3.4))
        p = param_names[0]
        for i, (design, sub) in enumerate(table.groupby("design", sort=False)):
            sub = sub.sort_values(p)
            ax.plot(sub[p], sub["score"], marker="o", color=PALETTE[i % len(PALETTE)], label=design)
        best = table.iloc[0]
        ax.axvline(best[p], color="0.6", lw=0.8, ls="--")
        ax.set_xlabel(p)
        ax.set_ylabel(score_label)
        ax.legend()
    else:
        n = len(table)
        fig, ax = plt.subplots(figsize=(6.5, max(2.0, 0.28 * n + 1)))
        labels = [f"{r['design']}: " + ", ".join(f"{p}={r[p]}" for p in param_names) for _, r in table.iterrows()]
        designs = list(dict.fromkeys(table["design"]))
        colours = [PALETTE[designs.index(d) % len(PALETTE)] for d in table["design"]]
        ax.barh(range(n)[::-1], table["score"], color=colours)
        ax.set_yticks(range(n)[::-1], labels, fontsize=7)
        ax.set_xlabel(score_label)
    ax.set_title("Calibration: " + score_label)
    fig.tight_layout()
    return fig
