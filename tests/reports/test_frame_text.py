"""reports.text.frame_text lays a table out as pandas' DataFrame.to_string() does (issue 14:
the quick commands print without importing pandas, and the terminal table keeps its look).

The reference is pandas itself (installed with dosefind): each case builds the DataFrame
the command line used to print and compares the two texts character for character.
"""

import math

import numpy as np
import pandas as pd
import pytest

from dosefind.designs import BOIN, BOIN12, CRM, ThreePlusThree
from dosefind.reports.text import frame_text, human_frame
from dosefind.simulations import Accrual, ToxicityTiming, simulate

P = [0.05, 0.10, 0.20, 0.30, 0.45]


def pandas_text(index, columns, index_name=None, precision=3):
    frame = pd.DataFrame(columns, index=pd.Index(list(index), name=index_name))
    with pd.option_context("display.precision", precision):
        return frame.to_string()


CASES = {
    "floats sharing zeros": {"a": [0.05, 0.10, 0.20], "b": [1.0, 2.0, 30.0]},
    "three decimals": {"a": [47.0, 6.651, 0.0], "se": [1.578, 0.043, 0.0]},
    "negative and NaN": {"a": [-1.5, float("nan"), 2.25], "b": [None, 1.0, 2.0]},
    "small values go scientific": {"a": [0.0004, 0.5, 1.0], "b": [0.0, 0.0, 0.0]},
    "large values": {"a": [1.5e7, 2.0, 3.0], "b": [123456.789, 1.0, 2.0]},
    "booleans and numpy booleans": {"t": [True, False, True], "n": list(np.array([False, True, False]))},
    "whole numbers": {"n": [3, 12, 0], "m": [np.int64(4), np.int64(-5), np.int64(60)]},
    "only None": {"u": [None, None, None], "x": [1.0, 2.0, 3.0]},
    "objects with floats": {"o": ["a", 1.5, None], "s": ["x", "yy", "zzz"]},
    "long names": {"Trials >60% of patients above MTD %": [0.0, 1.0, 2.5], "v": [math.inf, 1.0, 0.5]},
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("index_name", [None, "Dose level"])
def test_columns_laid_out_as_pandas(name, index_name):
    cols = CASES[name]
    for index in ([1, 2, 3], ["Correct selection %", "No MTD %", "DLTs (mean)"]):
        assert frame_text(index, cols, index_name=index_name) == pandas_text(index, cols, index_name)
    assert frame_text([1, 2, 3], cols, precision=2) == pandas_text([1, 2, 3], cols, precision=2)


def _pandas_oc_text(oc):
    """What `dosefind simulate` printed before issue 14: human_frame(...).to_string()."""
    exact = oc.method == "exact"
    frame = oc.to_frame().drop(columns=["dose"])
    if "obd_selection_pct" in frame.columns:
        frame = frame.rename(columns={"selection_pct": "MTD selected %", "selection_se": "MTD selected % SE"})
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.precision", 3):
        return human_frame(frame, exact=exact).to_string(), human_frame(oc.summary(), exact=exact).to_string()


OCS = {
    "boin mc": lambda: simulate(BOIN(0.3, 5), P, method="mc", n_trials=1000, seed=1, target=0.3),
    "boin exact": lambda: simulate(BOIN(0.3, 5), P, method="exact", target=0.3),
    "3+3 without target": lambda: simulate(ThreePlusThree(num_doses=5), P, method="mc", n_trials=300, seed=1),
    "crm": lambda: simulate(CRM([0.1, 0.2, 0.3, 0.4, 0.5], 0.3, max_n=12), P, method="mc", n_trials=200, seed=2,
                            target=0.3),
    "every dose too toxic": lambda: simulate(BOIN(0.3, 5), [0.5, 0.6, 0.7, 0.8, 0.9], method="mc", n_trials=300,
                                             seed=3, target=0.3),
    "boin12": lambda: simulate(BOIN12(phi_t=0.35, phi_e=0.25, num_doses=5), P,
                               true_prob_eff=[0.2, 0.4, 0.6, 0.6, 0.6], method="mc", n_trials=300, seed=1),
    "phase I design with responses": lambda: simulate(BOIN(0.3, 5), P, true_prob_eff=[0.2, 0.4, 0.6, 0.6, 0.6],
                                                      method="mc", n_trials=300, seed=1, target=0.3),
    "calendar time": lambda: simulate(BOIN(0.3, 5, max_n=12), P, n_trials=100, seed=3, accrual=Accrual.poisson(0.1),
                                      timing=ToxicityTiming.weibull_late(0.5), dlt_window=28),
}


@pytest.mark.parametrize("name", list(OCS))
def test_simulate_table_is_the_pandas_table(name):
    from dosefind.cli.simulate_commands import _oc_text

    oc = OCS[name]()
    per_dose, summary = _pandas_oc_text(oc)
    lines = _oc_text(oc).split("\n")
    assert "\n".join(lines[1:1 + len(per_dose.split("\n"))]) == per_dose
    start = 2 + len(per_dose.split("\n"))
    assert "\n".join(lines[start:start + len(summary.split("\n"))]) == summary
