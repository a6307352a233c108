"""TITE-BOIN12 in calendar time: 10,000 trials (issue 11 target: under 10 s on 2 cores).

Run from the repository root:  PYTHONPATH=$PWD python benchmarks/bench_tite12.py [n_trials] [workers]

Scenario: 5 doses, DLT 0.05-0.45, response 0.15-0.60 (phi correlation 0.2), phi_t 0.35,
phi_e 0.25, 10 cohorts of 3, a 28-day DLT window and a 56-day efficacy window, Poisson
arrivals of 2 patients a month (the TITE-BOIN12 paper's setting of fast accrual relative
to the windows), uniform event times.  Prints wall time of the whole simulate() call.
"""

import sys
import time

from dosefind.designs.tite_boin12 import TITEBOIN12
from dosefind.simulations import Accrual, simulate


def main(n_trials: int = 10_000, workers: int = 2) -> None:
    design = TITEBOIN12(phi_t=0.35, phi_e=0.25, num_doses=5, max_n=30, dlt_window=28, eff_window=56)
    kw = dict(true_prob_eff=[0.15, 0.3, 0.45, 0.55, 0.6], tox_eff_correlation=0.2,
              accrual=Accrual.poisson(2 / 30), seed=2022)
    t0 = time.perf_counter()
    oc = simulate(design, [0.05, 0.1, 0.2, 0.35, 0.45], n_trials=n_trials, workers=workers, **kw)
    dt = time.perf_counter() - t0
    print(f"TITE-BOIN12 {n_trials} trials, {workers} worker(s): {dt:.2f} s; mean duration "
          f"{oc.calendar['duration']['mean']:.0f} days")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
