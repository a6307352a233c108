"""Time a full literature fit: the dose-response model of every toxicity endpoint (the
first with the response model beside it), default sampler settings (4 chains x 1000
draws after 1000 tuning steps, one process), as `dosefind priors fit` runs it (issue 13).

Run from the repository root: ``PYTHONPATH=$PWD python benchmarks/bench_prior_fits.py``.
Prints the time per endpoint, the total and the machine's load average (timings on a
shared machine scale with the load).
"""

from __future__ import annotations

import os
import time
import warnings

from dosefind.priors import TOXICITY_ENDPOINTS, fit_dose_response

DOSES = (5e5, 1e6, 2e6, 4e6, 8e6)


def main():
    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.1f}")
    total = 0.0
    for i, endpoint in enumerate(TOXICITY_ENDPOINTS):
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit_dose_response(None, endpoint, DOSES, with_response=(i == 0))
        dt = time.perf_counter() - t
        total += dt
        print(f"{endpoint:13s}{' + response' if i == 0 else '':11s} {dt:6.1f} s")
    print(f"all endpoints: {total:.1f} s; load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
