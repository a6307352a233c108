"""Calendar-time options of ``dosefind simulate`` (issue 10): the DLT window, patient
arrivals, time to DLT, manufacturing and graded toxicity components.

Units: days, except ``--accrual-rate``, in **patients per 30 days** (a month), as the
issue's example ``--accrual-rate 2`` reads; the library's ``Accrual.poisson(rate)`` takes
patients per day (``2 / 30``).  ``@calendar_options`` adds the options;
:func:`pop_calendar` takes them out of a command's keyword arguments and returns the
keywords for :func:`dosefind.simulations.simulate` (empty when none was given, so the
cohort engines run as before).
"""

from __future__ import annotations

import click

from dosefind.cli.options import parse_probabilities

__all__ = ["calendar_options", "pop_calendar", "DAYS_PER_MONTH"]

#: ``--accrual-rate`` is in patients per this many days.
DAYS_PER_MONTH = 30.0

_NAMES = ("dlt_window", "accrual", "accrual_rate", "accrual_cap", "timing", "late_onset", "manufacturing_failure",
          "vein_to_vein", "replace", "crs", "icans", "other_dlt", "tox_correlation")


def calendar_options(func):
    opts = [
        click.option("--dlt-window", type=float, default=None,
                     help="Calendar time: DLT assessment window in days (e.g. 28)."),
        click.option("--accrual", type=click.Choice(["poisson", "fixed"]), default=None,
                     help="Calendar time: Poisson arrivals or fixed spacing (default poisson)."),
        click.option("--accrual-rate", type=float, default=None,
                     help="Calendar time: patients per 30 days (fixed: one every 30/rate days)."),
        click.option("--accrual-cap", type=int, default=None,
                     help="Calendar time: patients who ever arrive (turned away included)."),
        click.option("--timing", type=click.Choice(["uniform", "weibull", "late-share"]), default=None,
                     help="Time to DLT: uniform on the window (dfcrm titesim), the TITE-BOIN paper's Weibull, "
                          "or a given share uniform on the second half (default: weibull with --late-onset, "
                          "else uniform)."),
        click.option("--late-onset", type=float, default=None,
                     help="Share of DLTs in the second half of the window, in [0, 1) (0.5 in the TITE-BOIN paper)."),
        click.option("--manufacturing-failure", type=float, default=None,
                     help="Probability a patient's product fails (never infused), in [0, 1)."),
        click.option("--vein-to-vein", type=float, default=None, help="Days from enrolment to infusion."),
        click.option("--replace/--no-replace", default=None,
                     help="Replace patients whose product failed (default: replace)."),
        click.option("--crs", default=None, help="Per-dose probability of CRS grade >= 3 (toxicity components)."),
        click.option("--icans", default=None, help="Per-dose probability of ICANS grade >= 3."),
        click.option("--other-dlt", default=None, help="Per-dose probability of any other DLT."),
        click.option("--tox-correlation", type=float, default=None,
                     help="Gaussian-copula correlation between the components, in (-1, 1) (default 0)."),
    ]
    for opt in reversed(opts):
        func = opt(func)
    return func


def pop_calendar(options: dict, design_name: str | None = None) -> dict:
    """Remove the calendar options from ``options`` (a command's keywords) and return the
    matching :func:`~dosefind.simulations.simulate` keywords; ``toxicity`` holds a
    :class:`~dosefind.simulations.ToxicityComponents` scenario when components were given.
    A design that takes ``dlt_window`` itself (TITE designs) gets it back in ``options``."""
    from dosefind.cli import options as design_opts
    from dosefind.simulations import Accrual, Manufacturing, ToxicityComponents, ToxicityTiming

    v = {k: options.pop(k, None) for k in _NAMES}
    out: dict = {}
    if v["dlt_window"] is not None:
        out["dlt_window"] = v["dlt_window"]
        applies = getattr(design_opts, "_APPLIES", {}).get("dlt_window", ())
        if design_name is not None and str(design_name).lower() in applies:
            options["dlt_window"] = v["dlt_window"]
    if v["accrual"] is not None and v["accrual_rate"] is None:
        raise ValueError("--accrual needs --accrual-rate (patients per 30 days)")
    if v["accrual_cap"] is not None and v["accrual_rate"] is None:
        raise ValueError("--accrual-cap needs --accrual-rate (patients per 30 days)")
    if v["accrual_rate"] is not None:
        rate = v["accrual_rate"]
        if not rate > 0:
            raise ValueError(f"--accrual-rate must be a positive number of patients per 30 days, got {rate}")
        if (v["accrual"] or "poisson") == "poisson":
            out["accrual"] = Accrual.poisson(rate / DAYS_PER_MONTH, cap=v["accrual_cap"])
        else:
            out["accrual"] = Accrual.fixed(DAYS_PER_MONTH / rate, cap=v["accrual_cap"])
    timing = v["timing"] or ("weibull" if v["late_onset"] is not None else None)
    if timing == "uniform":
        if v["late_onset"] is not None:
            raise ValueError("--late-onset does not apply to --timing uniform")
        out["timing"] = ToxicityTiming.uniform()
    elif timing == "weibull":
        out["timing"] = ToxicityTiming.weibull_late(0.5 if v["late_onset"] is None else v["late_onset"])
    elif timing == "late-share":
        if v["late_onset"] is None:
            raise ValueError("--timing late-share needs --late-onset (the share of DLTs in the second half)")
        out["timing"] = ToxicityTiming.late_share(v["late_onset"])
    mf = {k: v[k] for k in ("manufacturing_failure", "vein_to_vein", "replace") if v[k] is not None}
    if mf:
        out["manufacturing"] = Manufacturing(failure=mf.get("manufacturing_failure", 0.0),
                                             vein_to_vein=mf.get("vein_to_vein", 0.0), replace=mf.get("replace", True))
    if any(v[k] is not None for k in ("crs", "icans", "other_dlt")) or v["tox_correlation"] is not None:
        if v["crs"] is None or v["icans"] is None:
            raise ValueError("toxicity components need both --crs and --icans (and optionally --other-dlt)")
        out["toxicity"] = ToxicityComponents(
            crs=parse_probabilities(v["crs"], "--crs"), icans=parse_probabilities(v["icans"], "--icans"),
            other=parse_probabilities(v["other_dlt"], "--other-dlt"),
            correlation=0.0 if v["tox_correlation"] is None else v["tox_correlation"])
    return out
