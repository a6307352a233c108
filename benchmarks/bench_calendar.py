"""Speed of the calendar-time engine (issue 10 targets).

Run:  python benchmarks/bench_calendar.py                 (all cases)
      python benchmarks/bench_calendar.py boin-cal-100k   (one case)

Scenario (the issue's): 5 doses, true DLT rates 0.05, 0.10, 0.20, 0.30, 0.45, target
0.3, 30 patients, 28-day DLT window, Poisson arrivals at 2 patients per 30 days, Weibull
time to DLT with half of the DLTs in the second half of the window, manufacturing
failure 5% (replaced), vein-to-vein 21 days.  Each case runs in a fresh process; the
table gives wall time, CPU time (all processes: the figure to read when the machine is
shared), trials per second and peak memory.  TITE cases are skipped until
the TITE designs (TITEBOIN, TITECRM) are importable from ``dosefind.designs``.
"""

from __future__ import annotations

import os
import platform
import resource
import sys
import time

P = [0.05, 0.10, 0.20, 0.30, 0.45]
SKELETON = [0.12, 0.20, 0.30, 0.40, 0.50]

#: name -> (design, n_trials, workers, target in seconds)
CASES = {
    "boin-cal-100k": ("boin", 100_000, 2, 10.0),
    "boin-cal-100k-1worker": ("boin", 100_000, 1, None),
    "crm-cal-10k": ("crm", 10_000, 2, None),
    "3+3-cal-100k": ("3+3", 100_000, 2, None),
    "tite-boin-100k": ("tite-boin", 100_000, 2, 10.0),
    "tite-crm-10k": ("tite-crm", 10_000, 2, 10.0),
}


def build(name):
    from dosefind import designs

    if name == "boin":
        return designs.BOIN(target=0.3, num_doses=5, cohort_size=3, max_n=30)
    if name == "crm":
        return designs.CRM(SKELETON, 0.3, cohort_size=1, max_n=30)
    if name == "3+3":
        return designs.ThreePlusThree(num_doses=5)
    if name == "tite-boin":
        return designs.TITEBOIN(target=0.3, num_doses=5, cohort_size=3, max_n=30, dlt_window=28)
    return designs.TITECRM(SKELETON, 0.3, cohort_size=1, max_n=30, dlt_window=28)


def run_case(case: str) -> dict:
    from dosefind.simulations import Accrual, Manufacturing, ToxicityTiming, simulate

    design_name, n_trials, workers, target = CASES[case]
    try:
        design = build(design_name)
    except (AttributeError, TypeError) as exc:
        return {"case": case, "skipped": f"{design_name} not available ({exc})"}
    kw = {} if getattr(design, "dlt_window", None) is not None else {"dlt_window": 28}
    ru_s, ru_c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu0 = ru_s.ru_utime + ru_s.ru_stime + ru_c.ru_utime + ru_c.ru_stime
    t0 = time.perf_counter()
    oc = simulate(design, P, n_trials=n_trials, seed=1, workers=workers, target=0.3,
                  accrual=Accrual.poisson(2 / 30), timing=ToxicityTiming.weibull_late(0.5),
                  manufacturing=Manufacturing(failure=0.05, vein_to_vein=21), **kw)
    wall = time.perf_counter() - t0
    ru_s, ru_c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = ru_s.ru_utime + ru_s.ru_stime + ru_c.ru_utime + ru_c.ru_stime - cpu0
    peak_kb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return {"case": case, "n_trials": n_trials, "workers": workers, "seconds": round(wall, 3), "cpu_seconds": round(cpu, 2),
            "trials_per_second": round(n_trials / wall), "peak_rss_mb": round(peak_kb / 1024, 1),
            "target_seconds": target, "pcs": round(oc.pcs, 2), "duration_mean": round(oc.duration["mean"], 1)}


def main(argv):
    from _driver import case_in_fresh_process, one_case  # the fresh-process driver of every benchmark

    if one_case(argv, run_case):
        return
    cases = argv[1:] or list(CASES)
    print(f"# python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.platform()}")
    print(f"{'case':22} {'trials':>8} {'workers':>7} {'seconds':>8} {'cpu s':>6} {'trials/s':>9} {'peak MB':>8} {'target s':>8} "
          f"{'PCS %':>6} {'days':>7}")
    for case in cases:
        r = case_in_fresh_process(__file__, case)
        if "error" in r:
            print(f"{case}: {r['error']}")
            continue
        if "skipped" in r:
            print(f"{case:22} skipped: {r['skipped']}")
            continue
        print(f"{r['case']:22} {r['n_trials']:>8} {r['workers']:>7} {r['seconds']:>8.2f} {r['cpu_seconds']:>6.1f} {r['trials_per_second']:>9} "
              f"{r['peak_rss_mb']:>8.0f} {r['target_seconds'] or '-':>8} {r['pcs']:>6} {r['duration_mean']:>7}")


if __name__ == "__main__":
    main(sys.argv)
