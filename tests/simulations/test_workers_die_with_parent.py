"""Worker processes die with the process that started them (issue 9: SIGTERM or SIGKILL of
``dosefind simulate --workers 2`` used to leave both workers running for minutes)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = str(Path(__file__).resolve().parents[2])

# A run long enough to be killed in the middle (the general engine: no table, no JIT).
SCRIPT = """
import os, sys
from dosefind.designs import BOIN
from dosefind.simulations.monte_carlo import simulate_mc
import numpy as np
print(os.getpid(), flush=True)
simulate_mc(BOIN(target=0.3, num_doses=5, max_n=30), [0.05, 0.1, 0.2, 0.3, 0.45], 50_000_000, 1,
            np.array([0, 0, 0, 1, 1], bool), workers=2, use_table=False)
"""


def _children(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(x) for x in out.stdout.split()]


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited; only its entry is left.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses ps and /proc")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_no_worker_outlives_a_killed_parent(sig):
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=ROOT))
    workers = []
    try:
        proc.stdout.readline()
        deadline = time.time() + 60
        while len(workers) < 2 and time.time() < deadline:
            time.sleep(0.2)
            workers = _children(proc.pid)
        assert len(workers) >= 2, "the workers did not start"
        time.sleep(0.5)
        proc.send_signal(sig)
        proc.wait(timeout=10)
        deadline = time.time() + 5
        while any(_alive(w) for w in workers) and time.time() < deadline:
            time.sleep(0.1)
        assert not [w for w in workers if _alive(w)]
    finally:  # never leave this test's processes behind, even when it fails
        for w in workers:
            if _alive(w):
                os.kill(w, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
