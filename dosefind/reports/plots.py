"""Quick-look plots of results in Python: ``oc.plot()`` and ``comparison.plot()``.

Each function returns a :class:`matplotlib.figure.Figure` built without pyplot (no
global figure state, nothing shown or saved: ``fig.savefig("oc.png")`` to keep it; a
notebook displays it).  Only values the results hold are drawn; error bars are 95%
Monte Carlo intervals (1.96 standard errors) and are absent for exact results.

>>> from dosefind.designs import BOIN
>>> from dosefind.simulations import simulate
>>> fig = simulate(BOIN(target=0.25, num_doses=3, max_n=12), [0.1, 0.25, 0.45], method="exact").plot()
>>> [ax.get_title() for ax in fig.axes]
['Selection of the MTD', 'Allocation of patients']
"""

from __future__ import annotations

import numpy as np

from dosefind.reports.figures import PALETTE
from dosefind.simulations.results import none_is_correct

__all__ = ["plot_oc", "plot_comparison"]


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def plot_oc(oc):
    """Two panels for one :class:`OperatingCharacteristics`: % of trials selecting each
    dose (and none) as the MTD, and mean patients treated at each dose."""
    D = oc.num_doses
    fig = _figure(8.4, 3.2)
    axes = fig.subplots(1, 2)
    labels = [f"DL{i + 1}\np={p:.2f}" for i, p in enumerate(oc.true_prob_tox)]
    exact = oc.method == "exact"
    sel = list(oc.values["selection_pct"]) + [oc.values["no_selection_pct"]]
    sel_se = list(oc.se["selection_pct"]) + [oc.se["no_selection_pct"]]
    panels = ((axes[0], sel, sel_se, labels + ["none"], "Selected as MTD (% of trials)", "Selection of the MTD"),
              (axes[1], list(oc.values["patients_mean"]), list(oc.se["patients_mean"]), labels,
               "Patients treated (mean per trial)", "Allocation of patients"))
    for ax, vals, se, ticks, ylabel, title in panels:
        x = np.arange(len(vals))
        colours = [PALETTE[0]] * len(vals)
        for i in oc.correct:
            colours[i] = "#2e7d32"
        if len(vals) > D and none_is_correct(oc.true_prob_tox, oc.target, oc.acceptable):
            colours[D] = "#2e7d32"   # every dose overly toxic: selecting none is correct
        ax.bar(x, vals, 0.7, color=colours)
        if not exact and se[0] is not None:
            ax.errorbar(x, vals, yerr=1.96 * np.asarray(se, dtype=float), fmt="none", ecolor="#333333",
                        elinewidth=0.8, capsize=2)
        ax.set_xticks(x, ticks)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(axis="y", color="#dddddd", lw=0.6)
        ax.set_axisbelow(True)
    axes[0].set_ylim(0, 100)
    how = "exact" if exact else f"Monte Carlo, {oc.n_trials:,} trials"
    fig.suptitle(f"{oc.design}, scenario {oc.scenario} ({how}); green: correct dose(s)", fontsize=10)
    return fig


def plot_comparison(comparison):
    """Correct selection and overdose selection (% of trials) for every design on every
    scenario of a :class:`Comparison`, as grouped horizontal bars."""
    scen = list(dict.fromkeys(s for s, _ in comparison.results))
    designs = list(comparison.designs)
    fig = _figure(9.2, 0.55 * len(scen) + 1.6)
    axes = fig.subplots(1, 2, sharey=True)
    y = np.arange(len(scen))
    h = 0.8 / max(1, len(designs))
    for ax, metric, title in ((axes[0], "pcs", "Correct selection (% of trials)"),
                              (axes[1], "overdose_selection_pct", "Overdose selection (% of trials)")):
        for k, d in enumerate(designs):
            vals = [comparison.results[(s, d)].values[metric] for s in scen]
            ses = [comparison.results[(s, d)].se[metric] for s in scen]
            vals = np.array([np.nan if v is None else v for v in vals], dtype=float)
            pos = y - 0.4 + h * (k + 0.5)
            ax.barh(pos, np.nan_to_num(vals), h * 0.92, color=PALETTE[k % len(PALETTE)], label=d)
            err = np.array([0.0 if v is None else v for v in ses], dtype=float)
            if err.any():
                ax.errorbar(np.nan_to_num(vals), pos, xerr=1.96 * err, fmt="none", ecolor="#333333",
                            elinewidth=0.7, capsize=1.5)
        ax.set_title(title)
        ax.set_xlim(0, 100)
        ax.grid(axis="x", color="#dddddd", lw=0.6)
        ax.set_axisbelow(True)
    axes[0].set_yticks(y, scen)
    axes[0].invert_yaxis()
    axes[0].legend(loc="lower right", fontsize=8, frameon=False)
    return fig
