"""oc.plot() and comparison.plot(): matplotlib Figures whose bars are the results' values."""

import pytest

from dosefind.designs import BOIN, CRM
from dosefind.simulations import compare, simulate


def bar_heights(ax):
    return [p.get_height() for p in ax.patches]


def test_oc_plot_bars_are_the_values():
    from matplotlib.figure import Figure

    oc = simulate(BOIN(target=0.25, num_doses=3, max_n=12), [0.1, 0.25, 0.45], n_trials=300, seed=2, method="mc")
    fig = oc.plot()
    assert isinstance(fig, Figure)
    sel, alloc = fig.axes[:2]
    assert bar_heights(sel) == pytest.approx(list(oc.selection_pct) + [oc.no_selection_pct])
    assert bar_heights(alloc) == pytest.approx(list(oc.patients_mean))
    assert [t.get_text() for t in sel.get_xticklabels()][-1] == "none"
    assert sel.patches[1].get_facecolor()[:3] != sel.patches[0].get_facecolor()[:3]   # dose 2 is correct
    assert len(sel.collections) == 1          # Monte Carlo: error bars drawn


def test_comparison_plot_bars_are_the_values():
    comp = compare({"BOIN": BOIN(target=0.25, num_doses=3, max_n=12),
                    "CRM": CRM([0.1, 0.25, 0.4], target=0.25, cohort_size=3, max_n=12)},
                   {"a": [0.1, 0.25, 0.45], "b": [0.02, 0.05, 0.25]}, method="exact")
    fig = comp.plot()
    pcs_ax, od_ax = fig.axes[:2]
    widths = [p.get_width() for p in pcs_ax.patches]
    expected = [comp[(s, d)].pcs for d in ("BOIN", "CRM") for s in ("a", "b")]
    assert widths == pytest.approx(expected)
    assert [p.get_width() for p in od_ax.patches] == pytest.approx(
        [comp[(s, d)].overdose_selection_pct for d in ("BOIN", "CRM") for s in ("a", "b")])
    assert not pcs_ax.collections              # exact: no error bars
    assert [t.get_text() for t in pcs_ax.get_yticklabels()] == ["a", "b"]
