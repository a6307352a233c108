"""Fresh-process timing of the ``dosefind`` command line, shared by the benchmark scripts.

Each run starts a new Python process running the ``dosefind`` entry point
(``dosefind.cli.main``) with this checkout first on ``PYTHONPATH``, so a figure includes
the interpreter's start-up and every import, as a user's command does.  The first run
warms the disk cache and is not counted.  Reported: the minimum and median wall time of the
counted runs, the minimum CPU time (user + system of the child, from ``getrusage``: less
sensitive than wall time to other processes on a shared machine) and the highest 1-minute
load average seen (``os.getloadavg``; above the number of CPUs every figure is an upper bound).
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENTRY = "from dosefind.cli import main; main()"


def cli_env() -> dict:
    return dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))


def repeats_option(argv: list, default: int) -> tuple[int, list]:
    """``--repeats N`` taken out of a script's argv: (N or ``default``, the other arguments)."""
    if "--repeats" not in argv:
        return default, argv
    i = argv.index("--repeats")
    return int(argv[i + 1]), argv[:i] + argv[i + 2:]


def time_cli(args, repeats: int = 5) -> dict:
    """Wall and CPU time of ``dosefind ARGS`` over ``repeats`` fresh processes (after one
    uncounted run): ``wall_s`` (minimum), ``median_s``, ``cpu_s`` (minimum), ``load``, or
    ``error`` (the last line of stderr) when the command fails."""
    return time_process([sys.executable, "-c", ENTRY, *args], repeats)


def time_process(command: list, repeats: int = 5) -> dict:
    """:func:`time_cli` for any command line (e.g. the interpreter importing numpy alone)."""
    env = cli_env()
    walls, cpus, loads = [], [], []
    for _ in range(repeats + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        out = subprocess.run(command, env=env, capture_output=True, text=True)
        walls.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        loads.append(os.getloadavg()[0])
        if out.returncode != 0:
            lines = out.stderr.strip().splitlines()
            return {"error": lines[-1] if lines else f"exit status {out.returncode}"}
    return {"wall_s": min(walls[1:]), "median_s": statistics.median(walls[1:]), "cpu_s": min(cpus[1:]),
            "load": max(loads)}


def one_case(argv: list, run_case) -> bool:
    """The child side of :func:`case_in_fresh_process`: with ``--one CASE`` in ``argv``,
    print ``run_case(CASE)`` as one JSON line and return True (the script then exits)."""
    if len(argv) > 2 and argv[1] == "--one":
        import json

        print(json.dumps(run_case(argv[2])))
        return True
    return False


def case_in_fresh_process(script: str, case: str) -> dict:
    """Run ``script --one CASE`` in a new interpreter (this checkout first on the path) and
    return the JSON it printed last, or ``{"error": last stderr line}`` when it failed."""
    import json

    out = subprocess.run([sys.executable, script, "--one", case], env=cli_env(), capture_output=True, text=True)
    if out.returncode != 0:
        lines = out.stderr.strip().splitlines()
        return {"error": lines[-1] if lines else f"exit status {out.returncode}"}
    return json.loads(out.stdout.strip().splitlines()[-1])
