"""Speed and memory of the simulation engines (issue 3 targets).

Run:  python benchmarks/bench_engine.py            (all cases)
      python benchmarks/bench_engine.py boin-mc-1m  (one case)

Every case runs in a fresh Python process so that its peak memory (max resident set
size of the process and of its worker processes, from getrusage) is its own.  The
printed table gives wall time, trials per second (Monte Carlo) or states per second
(exact) and peak memory.  Scenario: 5 doses, true DLT rates 0.05, 0.10, 0.20, 0.30,
0.45, target 0.3, cohorts of 3, 10 cohorts (30 patients).
"""

from __future__ import annotations

import os
import platform
import resource
import sys
import time

P = [0.05, 0.10, 0.20, 0.30, 0.45]
SKELETON = [0.12, 0.20, 0.30, 0.40, 0.50]

#: name -> (design, method, n_trials, workers, target in seconds)
CASES = {
    "boin-mc-1m": ("boin", "mc", 1_000_000, 2, 3.0),
    "boin-mc-1m-1worker": ("boin", "mc", 1_000_000, 1, None),
    "boin-mc-100k": ("boin", "mc", 100_000, 1, None),
    "boin-exact": ("boin", "exact", None, 1, 0.5),
    "3+3-exact": ("3+3", "exact", None, 1, 0.5),
    "crm-exact": ("crm", "exact", None, 1, 5.0),
    "crm-mc-100k": ("crm", "mc", 100_000, 2, 10.0),
    "3+3-mc-1m": ("3+3", "mc", 1_000_000, 2, None),
}


def build(name):
    from dosefind.designs import BOIN, CRM, ThreePlusThree

    if name == "boin":
        return BOIN(target=0.3, num_doses=5, cohort_size=3, n_cohorts=10)
    if name == "crm":
        return CRM(SKELETON, 0.3, model="empiric", prior_var=1.34, cohort_size=3, max_n=30)
    return ThreePlusThree(num_doses=5)


def run_case(case: str) -> dict:
    from dosefind.simulations import simulate

    design_name, method, n_trials, workers, target = CASES[case]
    design = build(design_name)
    t0 = time.perf_counter()
    oc = simulate(design, P, method=method, n_trials=n_trials or 1, seed=1, workers=workers, target=0.3,
                  progress=False)
    wall = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = {"case": case, "design": design_name, "method": oc.method, "n_trials": n_trials, "workers": workers,
           "seconds": round(wall, 3), "peak_rss_mb": round(max(peak_kb, child_kb) / 1024, 1),
           "target_seconds": target, "pcs": round(oc.pcs, 3)}
    if method == "mc":
        out["trials_per_second"] = round(n_trials / wall)
    else:
        states = oc.extra.get("states_visited")
        out["states"] = states
        out["states_per_second"] = round(states / wall) if states else None
    return out


def main(argv):
    from _driver import case_in_fresh_process, one_case  # the fresh-process driver of every benchmark

    if one_case(argv, run_case):
        return
    cases = argv[1:] or list(CASES)
    print(f"# python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.platform()}")
    print(f"{'case':22} {'method':6} {'trials':>9} {'workers':>7} {'seconds':>8} {'trials/s':>10} "
          f"{'states/s':>9} {'peak MB':>8} {'target s':>8}")
    for case in cases:
        r = case_in_fresh_process(__file__, case)
        if "error" in r:
            print(f"{case}: {r['error']}")
            continue
        print(f"{r['case']:22} {r['method']:6} {r['n_trials'] or '-':>9} {r['workers']:>7} {r['seconds']:>8.2f} "
              f"{r.get('trials_per_second') or '-':>10} {r.get('states_per_second') or '-':>9} "
              f"{r['peak_rss_mb']:>8.0f} {r['target_seconds'] or '-':>8}")


if __name__ == "__main__":
    main(sys.argv)
