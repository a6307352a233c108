"""Grid throughput: serial vs a Dask LocalCluster, and the per-task overhead (issue 15).

Run:  python benchmarks/bench_grid.py [--workers 2] [--trials 10000]

Case 1: a 100-cell grid (BOIN, 5 x 5 values of p_saf and p_tox, 4 scenarios) of
10^4 trials per cell, one task per cell, run serially and on a LocalCluster of
``--workers`` processes; prints wall times and the speed-up (cluster start-up excluded
and reported on its own line).
Case 2: the same 100 cells with 20 trials each in blocks of 10 (200 tiny tasks), where
the simulation itself is negligible: (cluster wall x workers - serial wall) / tasks is
the scheduling and transfer overhead per task.
Results are checked equal cell by cell between the two schedulers.  On a shared
machine the load changes during the run, so serial and cluster runs alternate
(``--repeat`` times each) and the best wall time of each is reported, with CPU times
(independent of the load): the serial process's, and the sum over the cluster's workers,
whose ratio predicts the speed-up on idle cores.  Every run starts with cold caches
(the grid's design cache and the process-wide decision tables of
:mod:`dosefind.simulations.tables`, in the parent and in every worker).
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


def _clear_cache():
    from dosefind.grid import tasks
    from dosefind.simulations import tables

    tasks._CACHE.clear()
    tables._TABLES.clear()  # the process-wide decision tables: a warm table makes a BOIN cell nearly free
    return time.process_time()


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--trials", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args(argv)

    import pandas as pd

    from dosefind.grid import parse_grid, read_results, run_grid
    from dosefind.grid.schedulers import DaskScheduler

    big = parse_grid(GRID.format(n_trials=args.trials, block_size=args.trials))
    tiny = parse_grid(GRID.format(n_trials=20, block_size=10))
    load0 = os.getloadavg()
    serial, serial_cpu, dask, dask_cpu, parent_cpu, tiny_serial, tiny_dask = [], [], [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t_start, sched = timed(lambda: DaskScheduler("local", n_workers=args.workers))
        with sched:
            for r in range(args.repeat):
                # Every run starts cold: no design or decision cache left by the last one.
                c0 = _clear_cache()
                t, _ = timed(lambda: run_grid(big, tmp / f"serial{r}", scheduler="serial"))
                serial.append(t)
                serial_cpu.append(time.process_time() - c0)
                w0 = sum(sched.client.run(_clear_cache).values())
                p0 = time.process_time()
                dask.append(timed(lambda: run_grid(big, tmp / f"dask{r}", scheduler=sched))[0])
                parent_cpu.append(time.process_time() - p0)
                dask_cpu.append(sum(sched.client.run(time.process_time).values()) - w0)
                _clear_cache()
                sched.client.run(_clear_cache)
                tiny_serial.append(timed(lambda: run_grid(tiny, tmp / f"tiny-serial{r}", scheduler="serial"))[0])
                tiny_dask.append(timed(lambda: run_grid(tiny, tmp / f"tiny-dask{r}", scheduler=sched))[0])
        drop = ["elapsed_s", "run_id"]
        pd.testing.assert_frame_equal(read_results(tmp / "serial0").drop(columns=drop),
                                      read_results(tmp / "dask0").drop(columns=drop), check_exact=True)
    load1 = os.getloadavg()
    trials = big.n_trials_total
    t_serial, t_dask = min(serial), min(dask)
    print(f"machine: {os.cpu_count()} cores; load average (1, 5, 15 min) {load0[0]:.1f} {load0[1]:.1f} "
          f"{load0[2]:.1f} at start, {load1[0]:.1f} {load1[1]:.1f} {load1[2]:.1f} at end; best of {args.repeat}")
    print()
    print("| case | cells | tasks | trials | wall (s) | trials/s |")
    print("|---|---|---|---|---|---|")
    print(f"| serial (CPU {min(serial_cpu):.1f} s) | {big.n_cells} | {big.n_tasks} | {trials:,} | {t_serial:.1f} | "
          f"{trials / t_serial:,.0f} |")
    print(f"| LocalCluster, {args.workers} workers | {big.n_cells} | {big.n_tasks} | {trials:,} | {t_dask:.1f} | "
          f"{trials / t_dask:,.0f} |")
    print()
    cpu_s, cpu_w, cpu_p = min(serial_cpu), min(dask_cpu), min(parent_cpu)
    # On idle cores the cluster run needs at least (workers' + parent's CPU) / cores of wall.
    print(f"CPU: serial process {cpu_s:.1f} s; cluster workers together {cpu_w:.1f} s plus the parent (client, "
          f"assembly, Parquet writes) {cpu_p:.1f} s, so on {args.workers} idle cores the expected speed-up is at "
          f"most {args.workers * cpu_s / (cpu_w + cpu_p):.2f} (load-independent)")
    print(f"measured wall speed-up {t_serial / t_dask:.2f} (ideal {args.workers}); all walls: serial "
          f"{', '.join(f'{t:.1f}' for t in serial)}, cluster {', '.join(f'{t:.1f}' for t in dask)} s; "
          f"LocalCluster start-up {t_start:.1f} s (not included); results equal cell by cell")
    ts, td = min(tiny_serial), min(tiny_dask)
    overhead = (td * args.workers - ts) / tiny.n_tasks
    print(f"per-task overhead: {tiny.n_tasks} tasks of 10 trials: serial {ts:.2f} s, LocalCluster {td:.2f} s -> "
          f"about {1000 * overhead:.0f} ms of worker time per task beyond the serial cost "
          f"({1000 * td / tiny.n_tasks:.0f} ms wall per task)")


if __name__ == "__main__":
    main()
