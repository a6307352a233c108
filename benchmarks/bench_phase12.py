"""Speed of the phase I/II cohort engine (issue 11 target: BOIN12, 100,000 trials under 10 s
on 2 cores).

Run:  python benchmarks/bench_phase12.py                   (all cases)
      python benchmarks/bench_phase12.py boin12-100k       (one case)

Scenario: 5 doses, true DLT rates 0.05, 0.10, 0.20, 0.30, 0.45, true response rates 0.10,
0.30, 0.50, 0.55, 0.60 (independent), BOIN12 with phi_t 0.35, phi_e 0.25, cohorts of 3,
30 patients, the default utility (100, 40, 60, 0).  Each case runs in a fresh process
(cold caches: every decision and OBD selection is computed in that run).  ``process s``
is the whole process, from launch to exit (imports and worker start-up included);
``simulate s`` the call alone; ``cpu s`` all processes' CPU time (the figure to read when
the machine is shared).
"""

from __future__ import annotations

import os
import platform
import resource
import sys
import time

P_TOX = [0.05, 0.10, 0.20, 0.30, 0.45]
P_EFF = [0.10, 0.30, 0.50, 0.55, 0.60]

#: name -> (design, n_trials, workers, target in seconds)
CASES = {
    "boin12-100k": ("boin12", 100_000, 2, 10.0),
    "boin12-100k-1worker": ("boin12", 100_000, 1, None),
    "boin-with-responses-100k": ("boin", 100_000, 2, None),
}


def build(name):
    from dosefind import designs

    if name == "boin12":
        return designs.BOIN12(phi_t=0.35, phi_e=0.25, num_doses=5, cohort_size=3, max_n=30)
    return designs.BOIN(target=0.3, num_doses=5, cohort_size=3, max_n=30)


def run_case(case: str) -> dict:
    from dosefind.simulations import simulate

    design_name, n_trials, workers, target = CASES[case]
    design = build(design_name)
    t0 = time.perf_counter()
    oc = simulate(design, P_TOX, true_prob_eff=P_EFF, n_trials=n_trials, seed=1, workers=workers, method="mc")
    wall = time.perf_counter() - t0
    ru_s, ru_c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = ru_s.ru_utime + ru_s.ru_stime + ru_c.ru_utime + ru_c.ru_stime
    peak_kb = max(ru_s.ru_maxrss, ru_c.ru_maxrss)
    pco = oc.efficacy["values"]["pct_correct_obd"]
    return {"case": case, "n_trials": n_trials, "workers": workers, "seconds": round(wall, 3), "cpu_seconds": round(cpu, 2),
            "peak_rss_mb": round(peak_kb / 1024, 1), "target_seconds": target,
            "pct_correct_obd": None if pco is None else round(pco, 2)}


def main(argv):
    from _driver import case_in_fresh_process, one_case  # the fresh-process driver of every benchmark

    if one_case(argv, run_case):
        return
    cases = argv[1:] or list(CASES)
    print(f"# python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.platform()}")
    print(f"{'case':26} {'trials':>8} {'workers':>7} {'process s':>9} {'simulate s':>10} {'cpu s':>6} {'peak MB':>8} "
          f"{'target s':>8} {'correct OBD %':>13}")
    for case in cases:
        t0 = time.perf_counter()
        r = case_in_fresh_process(__file__, case)
        whole = time.perf_counter() - t0
        if "error" in r:
            print(f"{case}: {r['error']}")
            continue
        print(f"{r['case']:26} {r['n_trials']:>8} {r['workers']:>7} {whole:>9.2f} {r['seconds']:>10.2f} "
              f"{r['cpu_seconds']:>6.1f} {r['peak_rss_mb']:>8.0f} {r['target_seconds'] or '-':>8} "
              f"{r['pct_correct_obd'] if r['pct_correct_obd'] is not None else '-':>13}")


if __name__ == "__main__":
    main(sys.argv)
