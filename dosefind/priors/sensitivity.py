"""How the dose-response prior moves under the choices a statistician would question.

``prior_sensitivity`` refits the dose-response model under each variant and returns, per
variant and candidate dose, the predictive median and central interval (with the MCSE of
each bound) and the shift of the upper bound from the base fit:

* ``tau HN(s)``: the half-normal scale of between-study heterogeneity (default 1, 0.5,
  0.25). Five small studies do not identify tau, so its prior sets the width of every
  interval (the issue's review: upper 95% bound at 4e6/kg 0.85, 0.58, 0.44).
* ``strict implied zeros``: counts read by implication are treated as not reported.
* ``no case reports``: rows whose report_type is "case report" are dropped.
* ``pooled weight w``: the probability that a patient of a pooled row had the lower dose
  (default 0.25 and 0.75 around the base 0.5).

Every row also says whether its dose is beyond the data (above the highest dose any
evidence row reports): there the interval is driven by the slope prior alone.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Sensitivity", "prior_sensitivity", "DEFAULT_TAU_SCALES", "DEFAULT_POOLED_WEIGHTS",
           "SENSITIVITY_SAMPLING"]

DEFAULT_TAU_SCALES = (1.0, 0.5, 0.25)
DEFAULT_POOLED_WEIGHTS = (0.25, 0.75)
#: Sampler settings of each refit (smaller than a production fit; settable).
SENSITIVITY_SAMPLING = dict(draws=500, tune=500, chains=2)


@dataclass(frozen=True)
class Sensitivity:
    """Long table: one row per (variant, dose)."""

    endpoint: str
    prob: float
    rows: tuple[dict, ...]
    warnings: tuple[str, ...] = field(default=())

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(list(self.rows))

    def to_dict(self) -> dict:
        return dict(endpoint=self.endpoint, prob=self.prob, rows=list(self.rows), warnings=list(self.warnings))

    def wide(self, column: str = "upper"):
        """Variants as columns, doses as rows, for ``column`` (e.g. "upper", "median")."""
        f = self.to_frame()
        return f.pivot(index="dose", columns="variant", values=column)[list(dict.fromkeys(f["variant"]))]


def prior_sensitivity(evidence=None, endpoint: str = "crs_grade3", doses=(), *, tau_scales=DEFAULT_TAU_SCALES,
                      pooled_weights=DEFAULT_POOLED_WEIGHTS, strict=True, case_reports=True, prob: float = 0.95,
                      seed: int = 20240601, sampling: dict | None = None, **fit_kwargs) -> Sensitivity:
    """Refit under each variant (see the module docstring); the first tau scale is the base.

    ``evidence`` is a path or None (the bundled table); ``fit_kwargs`` go to every
    ``fit_dose_response`` call (e.g. ``slope_sd``, ``covariates``, ``new_trial``).
    """
    from dosefind import _validate as v
    from dosefind.priors.checks import quantile_mcse
    from dosefind.priors.evidence import dose_bounds, load_evidence, rows_for
    from dosefind.priors.models import fit_dose_response

    prob = v.probability(prob, "prob")
    tau_scales = [v.positive(t, "tau_scales") for t in tau_scales]
    if not tau_scales:
        raise ValueError("tau_scales must list at least one scale (the first is the base)")
    pooled_weights = [v.probability(w, "pooled_weights", open_interval=False) for w in pooled_weights]
    samp = dict(SENSITIVITY_SAMPLING, **(sampling or {}))
    path = evidence

    def table(strict_reading=False):
        if path is None or isinstance(path, str) or hasattr(path, "__fspath__"):
            return load_evidence(path, strict=strict_reading)
        if strict_reading:
            raise ValueError("the strict reading needs an evidence file (a path), not a table")
        return path

    variants = [(f"tau HN({t:g})", dict(evidence=table(), tau_scale=t)) for t in tau_scales]
    base_tau = tau_scales[0]
    if strict:
        variants.append(("strict implied zeros", dict(evidence=table(True), tau_scale=base_tau)))
    if case_reports:
        variants.append(("no case reports", dict(evidence=table(), tau_scale=base_tau, drop_case_reports=True)))
    variants += [(f"pooled weight {w:g}", dict(evidence=table(), tau_scale=base_tau, pooled_weight=w))
                 for w in pooled_weights]

    lo_q, hi_q = (1 - prob) / 2, 1 - (1 - prob) / 2
    rows, notes, base_upper = [], [], None
    max_dose = float(np.nanmax(dose_bounds(rows_for(table(), endpoint, need_dose=True))[1]))
    for label, kw in variants:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                fit = fit_dose_response(endpoint=endpoint, doses=doses, seed=seed, **samp, **kw, **fit_kwargs)
            except ValueError as exc:   # e.g. no rows left: say so, keep the other variants
                notes.append(f"{label}: not fitted ({exc})")
                continue
        notes += [f"{label}: {w.message}" for w in caught if issubclass(w.category, UserWarning)]
        arr = np.asarray(fit.idata["posterior"]["prob_tox"].values, dtype=float)   # (chain, draw, dose)
        flat = arr.reshape(-1, arr.shape[-1])
        uppers = np.quantile(flat, hi_q, axis=0)
        if base_upper is None:
            base_upper = uppers
        for i, d in enumerate(fit.doses):
            rows.append(dict(variant=label, level=i + 1, dose=d, median=float(np.median(flat[:, i])),
                             lower=float(np.quantile(flat[:, i], lo_q)), upper=float(uppers[i]),
                             mcse_upper=quantile_mcse(arr[..., i], hi_q),
                             upper_shift=float(uppers[i] - base_upper[i]), beyond_data=bool(d > max_dose),
                             n_rows=len(fit.meta["evidence"])))
    return Sensitivity(endpoint, prob, tuple(rows), tuple(notes))
