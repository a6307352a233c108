"""BLRM with EWOC: time 10,000 Monte Carlo trials and the exact engine (issue 13).

Run from the repository root: ``PYTHONPATH=$PWD python benchmarks/bench_blrm.py``.
Prints one line per case; the numbers recorded in docs/benchmarks.md come from this script.
"""

from __future__ import annotations

import os
import time

from dosefind.designs.blrm import BLRM
from dosefind.simulations import simulate

DOSES = [5e5, 1e6, 2e6, 4e6, 8e6]     # CAR-T cells/kg, doubling steps
TRUTH = [0.05, 0.10, 0.20, 0.30, 0.50]


def design(max_n=30):
    return BLRM(DOSES, cohort_size=3, max_n=max_n)


def main():
    print(f"cores available: {os.cpu_count()}")
    for method, n_trials in (("mc", 10_000), ("exact", None)):
        d = design()
        t = time.perf_counter()
        kw = dict(n_trials=n_trials, seed=1) if method == "mc" else {}
        oc = simulate(d, TRUTH, method=method, target=0.25, acceptable=(0.16, 0.33), **kw)
        dt = time.perf_counter() - t
        pcs = oc.to_dict().get("pcs", oc.to_dict().get("prob_correct_selection"))
        print(f"BLRM max_n=30 cohorts of 3, {method:5s} {'' if n_trials is None else n_trials:>6}: "
              f"{dt:6.2f} s, {len(d._cache)} cached posteriors, PCS {pcs}")


if __name__ == "__main__":
    main()
