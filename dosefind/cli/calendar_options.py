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

__all__ = ["calendar_options", "pop_calendar"]


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


#: CLI keyword -> settings key of :func:`~dosefind.simulations.timing.calendar_settings`.
_KEYS = {"dlt_window": "dlt_window", "accrual": "accrual", "accrual_rate": "patients_per_month",
         "accrual_cap": "accrual_cap", "timing": "timing", "late_onset": "late_onset",
         "manufacturing_failure": "manufacturing_failure", "vein_to_vein": "vein_to_vein", "replace": "replace",
         "crs": "crs", "icans": "icans", "other_dlt": "other", "tox_correlation": "correlation"}


def pop_calendar(options: dict, design_name: str | None = None) -> dict:
    """Remove the calendar options from ``options`` (a command's keywords) and return the
    matching :func:`~dosefind.simulations.simulate` keywords; ``toxicity`` holds a
    :class:`~dosefind.simulations.ToxicityComponents` scenario when components were given.
    A design that takes ``dlt_window`` itself (TITE designs) gets it back in ``options``."""
    from dosefind.cli import options as design_opts
    from dosefind.simulations.timing import calendar_settings

    table = {}
    for cli, key in _KEYS.items():
        value = options.pop(cli, None)
        if value is not None and key in ("crs", "icans", "other"):
            value = parse_probabilities(value, "--" + cli.replace("_", "-"))
        if value is not None:
            table[key] = value
    flags = {key: "--" + cli.replace("_", "-") for cli, key in _KEYS.items()}
    out = calendar_settings(table, names=flags)
    if "dlt_window" in out:
        applies = getattr(design_opts, "_APPLIES", {}).get("dlt_window", ())
        if design_name is not None and str(design_name).lower() in applies:
            options["dlt_window"] = out["dlt_window"]
    return out
