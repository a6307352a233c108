"""Design options shared by the commands that build a design (simulate, next-dose,
select-mtd, ...).

``@design_options`` adds every design option to a click command; ``build_design``
turns the parsed values into a design.  Options left unset are not passed, so each
design's own defaults apply (they equal the reference packages': BOIN's ``get.oc``,
dfcrm's ``crmsim``).  An option that does not belong to the chosen design is an error
rather than silently ignored.

CRM's estimation method is ``--crm-method bayes|mle`` because ``--method`` chooses the
simulation engine in ``dosefind simulate``.
"""

from __future__ import annotations

import click

__all__ = ["DESIGNS", "N_TRIALS", "WholeNumber", "build_design", "design_options", "parse_probabilities"]

DESIGNS = ("boin", "crm", "3+3", "blrm", "tite-boin", "tite-crm", "boin12", "tite-boin12")

# keyword name -> designs that accept it (its CLI spelling is --name-with-dashes)
_BOINS = ("boin", "tite-boin")
_CRMS = ("crm", "tite-crm")
_PHASE12 = ("boin12", "tite-boin12")
_ALL = ("boin", "crm", "3+3", "tite-boin", "tite-crm") + _PHASE12
_APPLIES = {
    "target": _BOINS + _CRMS,
    "num_doses": _ALL + ("blrm",),
    "cohort_size": _ALL + ("blrm",),
    "cohorts": _ALL + ("blrm",),
    "max_n": _ALL + ("blrm",),
    "start_dose": _ALL + ("blrm",),
    # BOIN (and TITE-BOIN, which takes BOIN's rules)
    "p_saf": _BOINS + _PHASE12, "p_tox": _BOINS + _PHASE12, "cutoff_eli": _BOINS + _PHASE12,
    "extrasafe": _BOINS, "offset": _BOINS, "n_earlystop": _BOINS + _PHASE12, "bound_mtd": ("boin",),
    # phase I/II (BOIN12)
    "phi_t": _PHASE12, "phi_e": _PHASE12, "utility": _PHASE12, "n1": _PHASE12, "n2": _PHASE12,
    "cutoff_futility": _PHASE12,
    # BF-BOIN backfilling (a modifier; calendar time)
    "backfill_cap": ("boin", "boin12"), "backfill_in_max_n": ("boin", "boin12"),
    # 3+3
    "expand_lower": ("3+3",), "expand_top": ("3+3",),
    # CRM (and TITE-CRM)
    "skeleton": _CRMS, "model": _CRMS, "prior_var": _CRMS, "intercept": _CRMS,
    "crm_method": _CRMS, "estimate": ("crm",), "restrict": _CRMS, "stop_tox_cutoff": ("crm",),
    "conf_level": _CRMS,
    # time-to-event designs (the window itself is --dlt-window, a calendar option)
    "dlt_window": ("tite-boin", "tite-crm", "tite-boin12"), "eff_window": ("tite-boin12",),
    "maxpen": ("tite-boin", "tite-boin12"), "tite_estimator": ("tite-boin",), "scheme": ("tite-crm",),
    # BLRM
    "doses": ("blrm",), "prior_fit": ("blrm",), "robust_weight": ("blrm",), "reference_dose": ("blrm",),
    "intervals": ("blrm",), "ewoc": ("blrm",), "max_increase": ("blrm",), "max_step_levels": ("blrm",),
    "min_at_mtd": ("blrm",),
}


#: Options that are true/false: a text such as "no" must not switch them on.
BOOLEAN_OPTIONS = ("extrasafe", "bound_mtd", "expand_lower", "expand_top", "restrict", "backfill_in_max_n")


class WholeNumber(click.ParamType):
    """A whole number within bounds, written as ``10000``, ``10_000`` or ``1e4`` (3.7, inf,
    nan and out-of-range values are refused with a message naming the parameter)."""

    name = "integer"

    def __init__(self, key: str, minimum: int, maximum: int):
        self.key, self.minimum, self.maximum = key, minimum, maximum

    def convert(self, value, param, ctx):
        if isinstance(value, int) and not isinstance(value, bool):
            v = value
        else:
            text = str(value).strip().replace("_", "")
            try:
                v = int(text)
            except ValueError:
                try:
                    f = float(text)
                except ValueError:
                    self.fail(f"{self.key} must be a whole number, got {value!r}", param, ctx)
                if f != f or f in (float("inf"), float("-inf")) or f != int(f):
                    self.fail(f"{self.key} must be a whole number, got {value!r}", param, ctx)
                v = int(f)
        if v < self.minimum:
            self.fail(f"{self.key} must be >= {self.minimum}, got {v}", param, ctx)
        if v > self.maximum:
            self.fail(f"{self.key} must be <= {self.maximum:,} (a larger number of simulated trials does not "
                      f"fit in memory or time), got {v:,}", param, ctx)
        return v


def _n_trials_type():
    from dosefind._validate import MAX_N_TRIALS  # not from dosefind.study: that loads TOML and hashing

    return WholeNumber("n_trials", 1, MAX_N_TRIALS)


#: ``--n-trials``: 1 to :data:`dosefind._validate.MAX_N_TRIALS` (also ``dosefind.study.MAX_N_TRIALS``).
N_TRIALS = _n_trials_type()


def parse_probabilities(text, name: str) -> list[float]:
    """'0.05,0.10,0.2' (commas and/or spaces) -> [0.05, 0.1, 0.2], with a readable error."""
    if text is None:
        return None
    if isinstance(text, (list, tuple)):
        return [float(v) for v in text]
    parts = [p for p in str(text).replace(",", " ").split() if p]
    if not parts:
        raise ValueError(f"{name} must be a comma-separated list of probabilities, got {text!r}")
    out = []
    for p in parts:
        try:
            out.append(float(p))
        except ValueError:
            raise ValueError(f"{name} must be a comma-separated list of probabilities, got {text!r}") from None
    return out


def design_options(func):
    """Add every design option to a click command (keyword names as in :func:`build_design`)."""
    opts = [
        click.option("--design", "design_name", type=click.Choice(DESIGNS, case_sensitive=False), default=None,
                     help="Design: boin, crm, 3+3, blrm, tite-boin or tite-crm (the TITE designs need "
                          "--dlt-window and run in calendar time), or the phase I/II designs boin12 and "
                          "tite-boin12 (also --eff-window)."),
        click.option("--target", type=float, default=None, help="Target DLT rate (BOIN, CRM)."),
        click.option("--num-doses", type=int, default=None,
                     help="Number of dose levels (default: from --true-tox or --skeleton)."),
        click.option("--cohort-size", type=int, default=None,
                     help="Patients per cohort (BOIN default 3, CRM 1 as dfcrm's crmsim, 3+3 is 3)."),
        click.option("--cohorts", type=int, default=None,
                     help="Number of cohorts; the maximum sample size is cohorts x cohort size (BOIN default 10)."),
        click.option("--max-n", type=int, default=None, help="Maximum sample size (alternative to --cohorts)."),
        click.option("--start-dose", type=int, default=None, help="1-based starting dose level (default 1)."),
        click.option("--p-saf", type=float, default=None, help="BOIN: highest sub-therapeutic DLT rate (0.6 x target)."),
        click.option("--p-tox", type=float, default=None, help="BOIN: lowest overly toxic DLT rate (1.4 x target)."),
        click.option("--cutoff-eli", type=float, default=None, help="BOIN: dose elimination cutoff (0.95)."),
        click.option("--extrasafe/--no-extrasafe", default=None, help="BOIN: stricter stopping rule at dose 1."),
        click.option("--offset", type=float, default=None, help="BOIN: offset of the extra-safe rule (0.05)."),
        click.option("--n-earlystop", type=int, default=None,
                     help="BOIN: stop when the current dose has this many patients (100 = off)."),
        click.option("--bound-mtd/--no-bound-mtd", default=None,
                     help="BOIN: the selected MTD's estimate must be below the de-escalation boundary."),
        click.option("--expand-lower/--no-expand-lower", default=None,
                     help="3+3: expand the dose below a too-toxic dose to six patients (default yes)."),
        click.option("--expand-top/--no-expand-top", default=None,
                     help="3+3: confirm 0/3 at the highest dose in three more patients (default yes)."),
        click.option("--skeleton", type=str, default=None, help="CRM: prior DLT rates, e.g. 0.05,0.12,0.25,0.40."),
        click.option("--model", type=click.Choice(["empiric", "logistic"]), default=None,
                     help="CRM: working model (default empiric)."),
        click.option("--prior-var", type=float, default=None, help="CRM: prior variance of beta (1.34)."),
        click.option("--intercept", type=float, default=None, help="CRM: logistic intercept (3)."),
        click.option("--crm-method", type=click.Choice(["bayes", "mle"]), default=None,
                     help="CRM: estimation method (default bayes)."),
        click.option("--estimate", type=click.Choice(["plugin", "posterior_mean"]), default=None,
                     help="CRM: per-dose DLT estimate (default plugin, as dfcrm)."),
        click.option("--restrict/--no-restrict", default=None,
                     help="CRM: no dose skipping and no escalation right after a DLT (default on, as crmsim)."),
        click.option("--stop-tox-cutoff", type=float, default=None,
                     help="CRM: stop if Pr(DLT rate at dose 1 > target) exceeds this (default: no stopping)."),
        click.option("--conf-level", type=float, default=None, help="CRM: level of the per-dose limits (0.90)."),
        click.option("--phi-t", type=float, default=None, help="BOIN12: highest acceptable DLT rate."),
        click.option("--phi-e", type=float, default=None, help="BOIN12: lowest acceptable response rate."),
        click.option("--utility", type=str, default=None,
                     help="BOIN12: utilities (0-100) of response without DLT, neither, both, DLT without "
                          "response, as 100,40,60,0 (the default) or eff_no_tox=100,no_eff_no_tox=40,...'"),
        click.option("--n1", type=int, default=None,
                     help="BOIN12: from this many patients at the current dose, escalate only if its DLT rate is "
                          "at or below the escalation boundary (6)."),
        click.option("--n2", type=int, default=None,
                     help="BOIN12: from this many patients at the current dose, explore the next untried dose "
                          "above if it is safe (9; 0 turns the extra exploration off)."),
        click.option("--cutoff-futility", type=float, default=None,
                     help="BOIN12: drop a dose when Pr(response rate < phi_e) exceeds this (0.9)."),
        click.option("--backfill-cap", type=int, default=None,
                     help="BOIN, BOIN12 in calendar time: backfill arriving patients at cleared doses below the "
                          "current one while its cohort is pending, at most this many treated per dose (BF-BOIN; bfboin's "
                          "n.cap = k is --backfill-cap k+1). "
                          "Backfilled patients come on top of --max-n/--cohorts (the escalation)."),
        click.option("--backfill-in-max-n/--backfill-on-top", default=None,
                     help="With --backfill-cap: count backfilled patients in --max-n (they take places from the "
                          "escalation) instead of on top of it (BF-BOIN's convention, the default)."),
        click.option("--maxpen", type=float, default=None,
                     help="TITE-BOIN, TITE-BOIN12: suspend accrual while more than this share of the current dose's "
                          "patients are pending (0.5)."),
        click.option("--eff-window", type=float, default=None,
                     help="TITE-BOIN12: response assessment window in days (e.g. 56)."),
        click.option("--tite-estimator", type=click.Choice(["ess", "imputation"]), default=None,
                     help="TITE-BOIN: DLT-rate estimate with pending patients (default ess, as TITEgBOIN)."),
        click.option("--scheme", type=click.Choice(["linear", "adaptive"]), default=None,
                     help="TITE-CRM: weights of pending patients (default linear, as dfcrm's titecrm)."),
        click.option("--doses", type=str, default=None,
                     help="BLRM: dose amounts, increasing, e.g. 5e5,1e6,2e6,4e6,8e6 (default: the --prior-fit's)."),
        click.option("--prior-fit", type=click.Path(dir_okay=False), default=None,
                     help="BLRM: prior from a dose-response fit file (dosefind priors fit --out FIT.nc); "
                          "default prior N((0, 0), diag(2^2, 1^2)) on (log alpha, log beta)."),
        click.option("--robust-weight", type=float, default=None,
                     help="BLRM: weight of the robust component of the --prior-fit prior (0.2)."),
        click.option("--reference-dose", type=float, default=None,
                     help="BLRM: reference dose d* (default the highest dose; set by --prior-fit)."),
        click.option("--intervals", type=str, default=None,
                     help="BLRM: lower bounds of the target and overdose intervals (0.16,0.33)."),
        click.option("--ewoc", type=float, default=None, help="BLRM: largest overdose probability allowed (0.25)."),
        click.option("--max-increase", type=str, default=None,
                     help="BLRM: largest relative increase over the highest dose given (1.0 = doubling; "
                          "'none' = no limit)."),
        click.option("--max-step-levels", type=int, default=None,
                     help="BLRM: most levels above the highest dose given (default: no limit)."),
        click.option("--min-at-mtd", type=int, default=None,
                     help="BLRM: stop when the next dose already has this many patients (default: never)."),
    ]
    for opt in reversed(opts):
        func = opt(func)
    return func


def _check_sizes(given: dict) -> None:
    """Booleans are booleans; trial sizes stay within :data:`dosefind._validate.MAX_PATIENTS`."""
    from dosefind._validate import MAX_PATIENTS, boolean, integer

    for k in BOOLEAN_OPTIONS:
        if k in given:
            given[k] = boolean(given[k], k)
    for k in ("cohort_size", "cohorts", "max_n"):
        if k in given:
            given[k] = integer(given[k], k, minimum=1, maximum=MAX_PATIENTS)
    size = given.get("cohorts", 0) * given.get("cohort_size", 1)
    if "cohorts" in given and size > MAX_PATIENTS:
        raise ValueError(f"cohorts x cohort_size must be <= {MAX_PATIENTS:,} patients, got {size:,}")


def build_design(design_name: str | None, *, require_size: bool = True, **options):
    """Build a design from the (CLI) options; None values are left to the design's defaults.

    Keywords: ``target``, ``num_doses``, ``cohort_size``, ``cohorts``, ``max_n``,
    ``start_dose``; BOIN ``p_saf``, ``p_tox``, ``cutoff_eli``, ``extrasafe``, ``offset``,
    ``n_earlystop``, ``bound_mtd``; 3+3 ``expand_lower``, ``expand_top``; CRM
    ``skeleton`` (list or "0.1,0.2,..."), ``model``, ``prior_var``, ``intercept``,
    ``crm_method``, ``estimate``, ``restrict``, ``stop_tox_cutoff``, ``conf_level``.

    ``require_size=False`` lets a CRM be built without ``max_n`` (for deciding the next
    dose of a running trial, where the trial size does not enter the decision).
    """
    from dosefind import designs as D  # each design's module loads when it is built

    if design_name is None:
        raise ValueError("choose a design with --design boin, crm, 3+3, blrm, tite-boin, tite-crm or boin12")
    name = str(design_name).lower()
    if name in ("3+3", "tpt", "three_plus_three", "3plus3"):
        name = "3+3"
    if name not in DESIGNS:
        raise ValueError(f"design must be one of {', '.join(DESIGNS)}, got {design_name!r}")
    unknown = [k for k in options if k not in _APPLIES]
    if unknown:
        raise ValueError(f"unknown design option(s): {', '.join(sorted(unknown))}")
    given = {k: v for k, v in options.items() if v is not None}
    wrong = [k for k in given if name not in _APPLIES[k]]
    if wrong:
        flags = ", ".join("--" + k.replace("_", "-") for k in wrong)
        raise ValueError(f"{flags} do{'es' if len(wrong) == 1 else ''} not apply to --design {name}")
    if "cohorts" in given and "max_n" in given:
        raise ValueError("give either --cohorts or --max-n, not both")
    _check_sizes(given)
    if "backfill_in_max_n" in given and "backfill_cap" not in given:
        raise ValueError("--backfill-in-max-n/--backfill-on-top need --backfill-cap")
    if "backfill_cap" in given:
        from dosefind.designs import Backfill

        cap = given.pop("backfill_cap")
        in_max_n = given.pop("backfill_in_max_n", False)
        return build_design(name, require_size=require_size, **given).then(Backfill(cap, count_in_max_n=in_max_n))

    if name in _PHASE12:
        return _build_phase12(name, given)
    if name in ("tite-boin", "tite-crm") and "dlt_window" not in given:
        raise ValueError(f"{name} needs --dlt-window (the DLT assessment window in days)")
    if name in _BOINS:
        label = "BOIN" if name == "boin" else "TITE-BOIN"
        if "target" not in given:
            raise ValueError(f"{label} needs --target (the target DLT rate)")
        if "num_doses" not in given:
            raise ValueError(f"{label} needs the number of doses (--num-doses, or --true-tox)")
        kw = dict(given)
        if "cohorts" in kw:
            kw["n_cohorts"] = kw.pop("cohorts")
        if "tite_estimator" in kw:
            kw["estimator"] = kw.pop("tite_estimator")
        return D.BOIN(**kw) if name == "boin" else D.TITEBOIN(**kw)
    if name == "blrm":
        return _build_blrm(given, require_size)
    if name == "3+3":
        kw = dict(given)
        if kw.pop("cohort_size", 3) != 3:
            raise ValueError("the 3+3 design treats cohorts of 3; --cohort-size must be 3")
        if "num_doses" not in kw:
            raise ValueError("3+3 needs the number of doses (--num-doses, or --true-tox)")
        if "cohorts" in kw:
            kw["max_n"] = 3 * kw.pop("cohorts")
        return D.ThreePlusThree(**kw)
    # CRM and TITE-CRM
    label = "CRM" if name == "crm" else "TITE-CRM"
    kw = dict(given)
    if "skeleton" not in kw:
        raise ValueError(f"{label} needs --skeleton (prior DLT rates, one per dose)")
    if "target" not in kw:
        raise ValueError(f"{label} needs --target (the target DLT rate)")
    kw["skeleton"] = parse_probabilities(kw["skeleton"], "skeleton")
    num_doses = kw.pop("num_doses", None)
    if num_doses is not None and num_doses != len(kw["skeleton"]):
        raise ValueError(f"skeleton has {len(kw['skeleton'])} values but there are {num_doses} doses")
    if "crm_method" in kw:
        kw["method"] = kw.pop("crm_method")
    if "cohorts" in kw:
        kw["max_n"] = kw.pop("cohorts") * kw.get("cohort_size", 1)
    if "max_n" not in kw and require_size:
        raise ValueError(f"{label} needs a trial size: --max-n or --cohorts")
    skeleton = kw.pop("skeleton")
    target = kw.pop("target")
    return (D.CRM if name == "crm" else D.TITECRM)(skeleton, target, **kw)


#: Order of the four utilities when --utility is a plain list (the BOIN Suite's order).
UTILITY_KEYS = ("eff_no_tox", "no_eff_no_tox", "eff_tox", "no_eff_tox")


def parse_utility(text) -> dict | None:
    """'100,40,60,0' or 'eff_no_tox=100,no_eff_no_tox=40,eff_tox=60,no_eff_tox=0' -> dict;
    the design checks the range of each value."""
    if text is None or isinstance(text, dict):
        return text
    parts = [p for p in str(text).replace(";", ",").split(",") if p.strip()]
    if parts and all("=" in p for p in parts):
        out = {}
        for p in parts:
            k, v = (x.strip() for x in p.split("=", 1))
            try:
                out[k] = float(v)
            except ValueError:
                raise ValueError(f"--utility: {k} must be a number between 0 and 100, got {v!r}") from None
        return out
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"--utility must be four numbers (response without DLT, neither, both, DLT without "
                         f"response), e.g. 100,40,60,0, or key=value pairs; got {text!r}") from None
    if len(values) != 4:
        raise ValueError(f"--utility must have four values ({', '.join(UTILITY_KEYS)}), got {len(values)}")
    return dict(zip(UTILITY_KEYS, values))


def _build_phase12(name: str, kw: dict):
    from dosefind.designs import BOIN12, TITEBOIN12

    kw = dict(kw)
    if name == "tite-boin12":
        for need, flag in (("dlt_window", "--dlt-window"), ("eff_window", "--eff-window")):
            if need not in kw:
                raise ValueError(f"tite-boin12 needs {flag} (the {'DLT' if need == 'dlt_window' else 'response'} "
                                 f"assessment window in days)")
    for need, what in (("phi_t", "the highest acceptable DLT rate"), ("phi_e", "the lowest acceptable response rate"),
                       ("num_doses", "the number of doses (--num-doses, or --true-tox)")):
        if need not in kw:
            flag = "--" + need.replace("_", "-")
            raise ValueError(f"BOIN12 needs {what}" + ("" if need == "num_doses" else f" ({flag})"))
    if "cohorts" in kw:
        kw["n_cohorts"] = kw.pop("cohorts")
    if "cutoff_eli" in kw:
        kw["c_t"] = kw.pop("cutoff_eli")
    if "cutoff_futility" in kw:
        kw["c_e"] = kw.pop("cutoff_futility")
    if "utility" in kw:
        kw["utility"] = parse_utility(kw["utility"])
    if kw.get("n2") == 0:  # the CLI's way of saying None: no extra exploration
        kw["n2"] = None
    return (TITEBOIN12 if name == "tite-boin12" else BOIN12)(**kw)


def _build_blrm(kw: dict, require_size: bool):
    """BLRM from the CLI options: doses and prior given, or taken from --prior-fit."""
    from dosefind.designs import BLRM

    if "prior_fit" in kw:
        from dosefind.priors import prior_for_design

        if "reference_dose" in kw:
            raise ValueError("--reference-dose is set by --prior-fit (its prior is for the fit's reference dose)")
        fitted = prior_for_design(kw.pop("prior_fit"), "blrm", robust_weight=kw.pop("robust_weight", None)).kwargs
        if "doses" in kw:
            doses = parse_probabilities(kw.pop("doses"), "doses")
            if [float(d) for d in doses] != [float(d) for d in fitted["doses"]]:
                raise ValueError(f"--doses {', '.join(f'{d:g}' for d in doses)} differ from the --prior-fit's "
                                 f"doses {', '.join(f'{d:g}' for d in fitted['doses'])}; refit at these doses")
        kw.update(fitted)
    else:
        if "robust_weight" in kw:
            raise ValueError("--robust-weight applies only with --prior-fit")
        if "doses" not in kw:
            raise ValueError("BLRM needs --doses (dose amounts, e.g. 5e5,1e6,2e6,4e6,8e6) or --prior-fit FIT.nc")
        kw["doses"] = parse_probabilities(kw["doses"], "doses")
    num_doses = kw.pop("num_doses", None)
    if num_doses is not None and num_doses != len(kw["doses"]):
        raise ValueError(f"--doses has {len(kw['doses'])} values but there are {num_doses} doses")
    if "intervals" in kw:
        kw["intervals"] = parse_probabilities(kw["intervals"], "intervals")
        if len(kw["intervals"]) != 2:
            raise ValueError(f"--intervals must be two DLT rates 'target_from,overdose_from' (e.g. 0.16,0.33), "
                             f"got {len(kw['intervals'])} values")
    if "max_increase" in kw:
        text = str(kw["max_increase"]).strip().lower()
        if text == "none":
            kw["max_increase"] = None
        else:
            try:
                kw["max_increase"] = float(text)
            except ValueError:
                raise ValueError(f"--max-increase must be a number >= 0 or 'none', got {kw['max_increase']!r}") \
                    from None
    if "cohorts" in kw:
        kw["max_n"] = kw.pop("cohorts") * kw.get("cohort_size", 3)
    if "max_n" not in kw and require_size:
        raise ValueError("BLRM needs a trial size: --max-n or --cohorts")
    return BLRM(**kw)
