"""Time a full literature fit: the dose-response model of every toxicity endpoint (the
first with the response model beside it), default sampler settings (4 chains x 1000
draws after 1000 tuning steps; nutpie when installed, chains in parallel), as
`dosefind priors fit` runs it (issue 13).

Run from the repository root: ``PYTHONPATH=$PWD python benchmarks/bench_prior_fits.py
[--sampler pymc]``. Prints the time per endpoint (the first includes compiling the model,
which later endpoints reuse), the whole-process time including imports, and the machine's
load average (timings on a shared machine scale with the load).

``--run-fit`` instead times, part by part (wall and CPU seconds of this process), the fit
`dosefind run` makes of the bundled study's prior (``dosefind.runner.fit_bundled`` with
``PRIOR_SAMPLING``, or ``PRIOR_SAMPLING_QUICK`` with ``--quick``): imports, compiling the
log density (numba; cold unless numba's cache holds it: set ``NUMBA_CACHE_DIR`` to an
empty folder for a cold start), sampling and the summary (issue 12).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

START = time.perf_counter()

from dosefind.priors import TOXICITY_ENDPOINTS, fit_dose_response  # noqa: E402

DOSES = (5e5, 1e6, 2e6, 4e6, 8e6)


def run_fit(quick: bool):
    wall, cpu = time.perf_counter(), time.process_time()

    def lap(what):
        nonlocal wall, cpu
        print(f"{what:34s} wall {time.perf_counter() - wall:5.2f} s  cpu {time.process_time() - cpu:5.2f} s")
        wall, cpu = time.perf_counter(), time.process_time()

    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.1f}")
    import nutpie  # noqa: F401

    from dosefind import runner
    from dosefind.priors import density
    from dosefind.priors.checks import prior_ess
    from dosefind.study import default_study
    lap("imports (nutpie, arviz, dosefind)")
    density._cfuncs()
    lap("compile the log density")
    study = default_study()
    spec = next(s for s in study.scenarios if s.from_prior)
    sampling = runner.PRIOR_SAMPLING_QUICK if quick else runner.PRIOR_SAMPLING
    endpoint, doses, seed, items = runner._bundled_key(spec, study, sampling)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fit_dose_response(endpoint=endpoint, doses=list(doses), seed=seed, **dict(items))
    d = fit.diagnostics()
    lap(f"sample {sampling['chains']} x ({sampling['tune']} + {sampling['draws']})")
    prior_ess(fit)
    lap("ESS per dose (Beta mixtures)")
    fit.summary()
    lap("whole summary (ESS again, MCSE)")
    print(f"R-hat {d.r_hat_max:.4f}, min ESS {min(d.ess_bulk_min, d.ess_tail_min):.0f}, divergences "
          f"{d.divergences}; whole process {time.perf_counter() - START:.1f} s; "
          f"load average after: {os.getloadavg()[0]:.1f}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sampler", default="auto", choices=("auto", "nutpie", "pymc"))
    parser.add_argument("--run-fit", action="store_true", help="time the parts of dosefind run's prior fit")
    parser.add_argument("--quick", action="store_true", help="with --run-fit: dosefind run --quick's settings")
    args = parser.parse_args()
    if args.run_fit:
        return run_fit(args.quick)
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
