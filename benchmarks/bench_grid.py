"""Grid throughput: serial vs a Dask LocalCluster, and the per-task overhead (issue 15).

Run:  python benchmarks/bench_grid.py [--workers 2] [--trials 10000]

Case 1: a 100-cell grid (BOIN, 5 x 5 values of p_saf and p_tox, 4 scenarios) of
10^4 trials per cell, one task per cell, run serially and on a LocalCluster of
``--workers`` processes; prints wall times and the speed-up (cluster start-up excluded
and reported on its own line).
Case 2: the same 100 cells with 20 trials each in blocks of 10 (200 tiny tasks), where
the simulation itself is negligible: (cluster wall x workers - serial wall) / tasks is
the scheduling and transfer overhead per task.
Results are checked equal cell by cell between the two schedulers.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GRID = """
[study]
title = "benchmark grid"
target = 0.3
max_n = 30
cohort_size = 3
n_trials = {n_trials}
seed = 15
method = "mc"

[doses]
labels = ["1", "2", "3", "4", "5"]

[[designs]]
type = "boin"
label = "BOIN"

[[scenarios]]
name = "MTD 2"
true_prob_tox = [0.15, 0.30, 0.45, 0.55, 0.65]
[[scenarios]]
name = "MTD 3"
true_prob_tox = [0.05, 0.15, 0.30, 0.45, 0.55]
[[scenarios]]
name = "MTD 4"
true_prob_tox = [0.05, 0.10, 0.20, 0.30, 0.45]
[[scenarios]]
name = "MTD 5"
true_prob_tox = [0.02, 0.05, 0.10, 0.20, 0.30]

[grid]
block_size = {block_size}

[[grid.parameters]]
name = "BOIN.p_saf"
values = [0.12, 0.15, 0.18, 0.21, 0.24]
[[grid.parameters]]
name = "BOIN.p_tox"
values = [0.36, 0.39, 0.42, 0.45, 0.48]
"""


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--trials", type=int, default=10_000)
    args = ap.parse_args(argv)

    import pandas as pd

    from dosefind.grid import parse_grid, read_results, run_grid
    from dosefind.grid.schedulers import DaskScheduler

    big = parse_grid(GRID.format(n_trials=args.trials, block_size=args.trials))
    tiny = parse_grid(GRID.format(n_trials=20, block_size=10))
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at start")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t_serial, _ = timed(lambda: run_grid(big, tmp / "serial", scheduler="serial"))
        t_start, sched = timed(lambda: DaskScheduler("local", n_workers=args.workers))
        with sched:
            t_dask, _ = timed(lambda: run_grid(big, tmp / "dask", scheduler=sched))
            t_tiny_dask, _ = timed(lambda: run_grid(tiny, tmp / "tiny-dask", scheduler=sched))
        t_tiny_serial, _ = timed(lambda: run_grid(tiny, tmp / "tiny-serial", scheduler="serial"))
        drop = ["elapsed_s", "run_id"]
        pd.testing.assert_frame_equal(read_results(tmp / "serial").drop(columns=drop),
                                      read_results(tmp / "dask").drop(columns=drop), check_exact=True)
    trials = big.n_trials_total
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at end")
    print()
    print("| case | cells | tasks | trials | wall (s) | trials/s |")
    print("|---|---|---|---|---|---|")
    print(f"| serial | {big.n_cells} | {big.n_tasks} | {trials:,} | {t_serial:.1f} | {trials / t_serial:,.0f} |")
    print(f"| LocalCluster, {args.workers} workers | {big.n_cells} | {big.n_tasks} | {trials:,} | {t_dask:.1f} | "
          f"{trials / t_dask:,.0f} |")
    print()
    print(f"speed-up {t_serial / t_dask:.2f} (ideal {args.workers}); LocalCluster start-up {t_start:.1f} s "
          f"(not included); results equal cell by cell")
    overhead = (t_tiny_dask * args.workers - t_tiny_serial) / tiny.n_tasks
    print(f"per-task overhead: {tiny.n_tasks} tasks of 10 trials: serial {t_tiny_serial:.2f} s, LocalCluster "
          f"{t_tiny_dask:.2f} s -> about {1000 * overhead:.0f} ms of worker time per task "
          f"({1000 * t_tiny_dask / tiny.n_tasks:.0f} ms wall per task)")


if __name__ == "__main__":
    main()
