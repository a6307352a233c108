"""Issue 14 benchmarks: whole-process times of the quick commands (``next-dose``, ``simulate``).

Run:  python benchmarks/bench_cli.py               (every case, prints a Markdown table)
      python benchmarks/bench_cli.py boin-next-dose  (one case)
      python benchmarks/bench_cli.py --repeats 9     (more runs per case; default 7)

Each case runs the ``dosefind`` command in fresh Python processes (benchmarks/_driver.py:
one uncounted run, then ``--repeats`` counted ones) and reports the minimum and median wall
time, the minimum CPU time, and the highest 1-minute load average seen.  The targets of
issue 14: next-dose under 0.3 s, simulate of 1,000 trials under 0.5 s, as whole processes.
For reference, the case ``python-numpy`` is the interpreter importing numpy and nothing
else: the floor of any command that uses numpy.
"""

from __future__ import annotations

import os
import platform
import sys

from _driver import repeats_option, time_cli, time_process

TOX = "0.05,0.10,0.20,0.30,0.45"
SKELETON = "0.12,0.20,0.30,0.40,0.50"
SIM = ["--true-tox", TOX, "--n-trials", "1000", "--method", "mc", "--seed", "1"]

CASES = {
    "boin-next-dose": ["next-dose", "--design", "boin", "--target", "0.3", "--num-doses", "5", "--outcomes",
                       "1NNN 2NTN"],
    "3+3-next-dose": ["next-dose", "--design", "3+3", "--num-doses", "5", "--outcomes", "1NNN 2NTN"],
    "crm-next-dose": ["next-dose", "--design", "crm", "--target", "0.3", "--skeleton", SKELETON, "--outcomes",
                      "1NNN 2NTN"],
    "boin-simulate-1000": ["simulate", "--design", "boin", "--target", "0.3", *SIM],
    "boin-simulate-1000-json": ["simulate", "--design", "boin", "--target", "0.3", *SIM, "--format", "json"],
    "3+3-simulate-1000": ["simulate", "--design", "3+3", *SIM],
    "crm-simulate-1000": ["simulate", "--design", "crm", "--target", "0.3", "--skeleton", SKELETON, "--cohorts",
                          "10", *SIM],
    "version": ["--version"],
}


def main(argv):
    repeats, argv = repeats_option(argv, 7)
    cases = argv[1:] or [*CASES, "python-numpy"]
    unknown = [c for c in cases if c not in CASES and c != "python-numpy"]
    if unknown:
        sys.exit(f"usage: bench_cli.py [--repeats N] [CASE ...]; unknown case(s) {', '.join(unknown)}; "
                 f"cases: {', '.join([*CASES, 'python-numpy'])}")
    print(f"<!-- python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.platform()}; "
          f"{repeats} fresh processes per case after one uncounted run -->")
    print("| case | wall min (s) | wall median (s) | CPU min (s) | load (1 min) |")
    print("|---|---:|---:|---:|---:|")
    for case in cases:
        r = (time_process([sys.executable, "-c", "import numpy"], repeats) if case == "python-numpy"
             else time_cli(CASES[case], repeats))
        if "error" in r:
            print(f"| {case} | {r['error']} | | | |", flush=True)
            continue
        print(f"| {case} | {r['wall_s']:.3f} | {r['median_s']:.3f} | {r['cpu_s']:.3f} | {r['load']:.1f} |", flush=True)


if __name__ == "__main__":
    main(sys.argv)
