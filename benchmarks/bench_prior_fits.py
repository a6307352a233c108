"""Time a full literature fit: the dose-response model of every toxicity endpoint (the
first with the response model beside it), default sampler settings (4 chains x 1000
draws after 1000 tuning steps; nutpie when installed, chains in parallel), as
`dosefind priors fit` runs it (issue 13).

Run from the repository root: ``PYTHONPATH=$PWD python benchmarks/bench_prior_fits.py
[--sampler pymc]``. Prints the time per endpoint (the first includes compiling the model,
which later endpoints reuse), the whole-process time including imports, and the machine's
load average (timings on a shared machine scale with the load).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

START = time.perf_counter()

from dosefind.priors import TOXICITY_ENDPOINTS, fit_dose_response  # noqa: E402

DOSES = (5e5, 1e6, 2e6, 4e6, 8e6)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sampler", default="auto", choices=("auto", "nutpie", "pymc"))
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.1f}, sampler: {args.sampler}")
    for i, endpoint in enumerate(TOXICITY_ENDPOINTS):
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = fit_dose_response(None, endpoint, DOSES, with_response=(i == 0), sampler=args.sampler)
        d = fit.diagnostics()
        dt = time.perf_counter() - t
        print(f"{endpoint:13s}{' + response' if i == 0 else '':11s} {dt:6.1f} s  "
              f"R-hat {d.r_hat_max:.3f}, min ESS {min(d.ess_bulk_min, d.ess_tail_min):.0f}, "
              f"divergences {d.divergences}")
    print(f"whole process (imports, compile, all endpoints): {time.perf_counter() - START:.1f} s; "
          f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
