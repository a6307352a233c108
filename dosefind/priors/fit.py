"""A fitted prior: posterior draws (an ArviZ DataTree) plus what was fitted, how, to what.

Saved in ArviZ's own file format (netCDF-4 groups, ``DataTree.to_netcdf``) with the fit's
description as a JSON attribute, so one fit is made once and reused by ``skeleton``,
``scenarios`` and the simulation engine: ``load_fit(path)``.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: Default convergence thresholds (Vehtari et al. 2021: R-hat < 1.01, ESS > 400).
R_HAT_MAX = 1.01
ESS_MIN = 400


class PriorFitWarning(UserWarning):
    """A fit whose diagnostics fail their thresholds; the message says what to change."""


class PriorFitError(ValueError):
    """Raised instead of PriorFitWarning when a fit is asked to be strict."""


@dataclass(frozen=True)
class Diagnostics:
    r_hat_max: float
    ess_bulk_min: float
    ess_tail_min: float
    divergences: int
    problems: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return dict(r_hat_max=self.r_hat_max, ess_bulk_min=self.ess_bulk_min, ess_tail_min=self.ess_tail_min,
                    divergences=self.divergences, converged=self.ok, problems=list(self.problems))


class PriorFit:
    """Posterior of a MAP or dose-response model (see ``dosefind.priors.models``).

    ``idata`` is the DataTree returned by ``pymc.sample``; ``meta`` says which model,
    endpoint, candidate doses, priors, sampler settings and evidence rows were used.
    """

    def __init__(self, idata, meta: dict, *, r_hat_max: float = R_HAT_MAX, ess_min: float = ESS_MIN):
        self.idata = idata
        self.meta = dict(meta)
        self.r_hat_threshold = r_hat_max
        self.ess_threshold = ess_min

    # -- what was fitted --------------------------------------------------------------
    @property
    def kind(self) -> str:
        if "kind" not in self.meta:
            raise ValueError("this fit's description lacks 'kind' (the model: 'map' or 'dose_response'); "
                             "refit with dosefind priors fit --out FILE")
        return self.meta["kind"]

    @property
    def endpoint(self) -> str:
        if "endpoint" not in self.meta:
            raise ValueError("this fit's description lacks 'endpoint' (the endpoint fitted); "
                             "refit with dosefind priors fit --out FILE")
        return self.meta["endpoint"]

    @property
    def doses(self) -> tuple[float, ...]:
        return tuple(self.meta.get("doses") or ())

    @property
    def has_response(self) -> bool:
        return bool(self.meta.get("with_response"))

    def require_dose_response(self, what: str) -> None:
        if self.kind != "dose_response":
            raise ValueError(f"{what} needs a dose-response fit (dosefind priors fit --model dose-response "
                             f"--doses ...), this is a {self.kind} fit of {self.endpoint}")

    def draws(self, name: str) -> np.ndarray:
        """Posterior draws of variable ``name``, chains stacked: shape (samples, ...)."""
        post = self.idata["posterior"]
        if name not in post:
            raise KeyError(f"this fit has no variable {name!r}")
        arr = np.asarray(post[name].values, dtype=float)
        return arr.reshape((-1,) + arr.shape[2:])

    def prob_tox_draws(self) -> np.ndarray:
        """Predictive toxicity probability for a new trial, shape (samples, num_doses)."""
        self.require_dose_response("toxicity at candidate doses")
        return self.draws("prob_tox")

    def prob_response_draws(self) -> np.ndarray:
        if not self.has_response:
            raise ValueError("this fit has no response model (fit with --with-response)")
        return self.draws("prob_response")

    # -- diagnostics ------------------------------------------------------------------
    def diagnostics(self) -> Diagnostics:
        """R-hat (rank-normalised), bulk and tail ESS over every posterior variable, and
        the number of divergent transitions; ``problems`` lists each failure with a fix."""
        import arviz as az

        def extreme(tree, fn):
            vals = [np.asarray(tree[name].values, dtype=float).ravel() for name in tree.data_vars]
            vals = np.concatenate(vals) if vals else np.array([np.nan])
            vals = vals[np.isfinite(vals)]
            return float(fn(vals)) if vals.size else float("nan")

        post = self.idata["posterior"]
        # Variables that do not vary (e.g. a fixed heterogeneity) have no R-hat.
        keep = [n for n in post.data_vars if np.ptp(np.asarray(post[n].values)) > 0]
        ds = post.to_dataset()[keep]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rhat = extreme(az.rhat(ds), np.max)
            ess_b = extreme(az.ess(ds, method="bulk"), np.min)
            ess_t = extreme(az.ess(ds, method="tail"), np.min)
        stats = self.idata["sample_stats"]
        # One flag per sampled model (a joint fit samples toxicity and response apart).
        div_names = [n for n in stats.data_vars if str(n).startswith(("diverging", "divergences"))]
        divergences = sum(int(np.asarray(stats[n].values).astype(bool).sum()) for n in div_names)
        chains = int(post.sizes.get("chain", 1))
        problems = []
        if chains > 1 and not rhat < self.r_hat_threshold:
            problems.append(f"R-hat {rhat:.3f} is not below {self.r_hat_threshold}: the chains disagree; "
                            "run longer (more --tune and --draws) or use a tighter prior (smaller --tau-scale)")
        if not min(ess_b, ess_t) >= self.ess_threshold:
            problems.append(f"effective sample size {min(ess_b, ess_t):.0f} (bulk {ess_b:.0f}, tail {ess_t:.0f}) "
                            f"is below {self.ess_threshold}: increase --draws (or --chains)")
        if divergences:
            problems.append(f"{divergences} divergent transition(s): the posterior is not explored reliably; "
                            "raise --target-accept (e.g. 0.99) or use a tighter heterogeneity prior (smaller --tau-scale)")
        return Diagnostics(rhat, ess_b, ess_t, divergences, tuple(problems))

    def checked(self, on_fail: str = "warn") -> "PriorFit":
        """Return self after checking diagnostics: warn, raise, or (``"ignore"``) neither."""
        if on_fail not in ("warn", "raise", "ignore"):
            raise ValueError(f"on_fail must be 'warn', 'raise' or 'ignore', got {on_fail!r}")
        diag = self.diagnostics()
        if not diag.ok and on_fail != "ignore":
            msg = f"{self.kind} fit of {self.endpoint} did not pass its diagnostics: " + "; ".join(diag.problems)
            if on_fail == "raise":
                raise PriorFitError(msg)
            warnings.warn(msg, PriorFitWarning, stacklevel=3)
        return self

    # -- summaries --------------------------------------------------------------------
    def summary(self, prob: float = 0.95) -> dict:
        """Diagnostics plus the posterior that matters: per candidate dose (dose-response)
        or the predictive rate with its Beta approximation and ESS (MAP). Intervals are
        central (equal-tailed) with probability ``prob``."""
        from dosefind.priors.derived import moment_matched_beta, robust_mixture

        lo, hi = (1 - prob) / 2, 1 - (1 - prob) / 2
        out = dict(kind=self.kind, endpoint=self.endpoint, prob=prob, **self.diagnostics().to_dict())
        out["draws"] = int(self.draws(next(iter(self.idata["posterior"].data_vars))).shape[0])
        out["n_rows"] = len(self.meta.get("evidence") or [])
        out["parameters"] = {name: _describe(self.draws(name), lo, hi)
                             for name in ("mu", "alpha", "beta", "tau", "alpha_response", "beta_response",
                                          "tau_response") if name in self.idata["posterior"]}
        from dosefind.priors.checks import fit_warnings, prior_ess

        out["warnings"] = [w.to_dict() for w in fit_warnings(self)]
        ess = prior_ess(self)
        if self.kind == "map":
            pred = self.draws("prob_new")
            out["predictive"] = dict(_describe(pred, lo, hi), **self._mcse("prob_new", None, lo, hi))
            a, b = moment_matched_beta(pred)
            out["beta_approximation"] = dict(a=a, b=b, ess=a + b, ess_method="moment",
                                             ess_elir=ess[0]["ess_elir"])
            w = self.meta.get("robust_weight")
            if w is not None:
                out["robust_mixture"] = robust_mixture(a, b, w)
            out["doses"] = []
        else:
            out["reference_dose"] = self.meta["reference_dose"]
            tox = self.prob_tox_draws()
            out["doses"] = [dict(level=i + 1, dose=d, **_describe(tox[:, i], lo, hi),
                                 **self._mcse("prob_tox", i, lo, hi),
                                 ess_elir=ess[i]["ess_elir"], ess_moment=ess[i]["ess_moment"])
                            for i, d in enumerate(self.doses)]
            if self.has_response:
                resp = self.prob_response_draws()
                out["response_doses"] = [dict(level=i + 1, dose=d, **_describe(resp[:, i], lo, hi))
                                         for i, d in enumerate(self.doses)]
        out["ess_methods"] = {"ess_elir": ess[0]["elir_method"], "ess_moment": ess[0]["moment_method"]}
        return out

    def _mcse(self, name: str, column: int | None, lo: float, hi: float) -> dict:
        """MCSE of the reported quantiles (ArviZ, chains kept)."""
        from dosefind.priors.checks import quantile_mcse

        arr = np.asarray(self.idata["posterior"][name].values, dtype=float)
        if column is not None:
            arr = arr[..., column]
        return dict(mcse_lower=quantile_mcse(arr, lo), mcse_median=quantile_mcse(arr, 0.5),
                    mcse_upper=quantile_mcse(arr, hi))

    def to_frame(self, prob: float = 0.95):
        """Per-dose table (dose-response) or one-row table (MAP) of the summary."""
        import pandas as pd

        s = self.summary(prob)
        if self.kind == "map":
            return pd.DataFrame([dict(endpoint=self.endpoint, **s["predictive"],
                                      ess_moment=s["beta_approximation"]["ess"],
                                      ess_elir=s["beta_approximation"]["ess_elir"])])
        frame = pd.DataFrame(s["doses"])
        if self.has_response:
            resp = pd.DataFrame(s["response_doses"])
            for col in ("median", "lower", "upper"):
                frame[f"response_{col}"] = resp[col]
        return frame

    # -- files ------------------------------------------------------------------------
    def save(self, path) -> Path:
        """Write the fit in ArviZ's netCDF format (needs h5netcdf or netCDF4)."""
        path = Path(path)
        if path.parent and not path.parent.exists():
            raise FileNotFoundError(f"folder does not exist: {path.parent}")
        tree = self.idata.copy()
        tree.attrs = {k: v for k, v in tree.attrs.items() if k != "dosefind"}
        tree.attrs["dosefind"] = json.dumps(self.meta)
        try:
            tree.to_netcdf(path)
        except ValueError as exc:
            if "backend" in str(exc) or "h5netcdf" in str(exc):
                raise ValueError("saving a fit needs the h5netcdf (or netCDF4) package: pip install h5netcdf") from None
            raise
        return path

    def __repr__(self) -> str:
        return f"PriorFit(kind={self.kind!r}, endpoint={self.endpoint!r}, doses={list(self.doses)})"


def load_fit(path) -> PriorFit:
    """Read a fit written by ``PriorFit.save`` (or ``dosefind priors fit --out``)."""
    import arviz as az

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"fit file not found: {path}")
    try:
        tree = az.from_netcdf(path)
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read {path} as an ArviZ netCDF file: {' '.join(str(exc).split())}") from None
    tree = tree.load()
    tree.close()
    raw = tree.attrs.get("dosefind")
    if raw is None or "posterior" not in tree.children:
        raise ValueError(f"{path} is not a dosefind prior fit (no 'dosefind' description or no posterior)")
    try:
        meta = json.loads(raw)
    except (TypeError, ValueError):
        meta = None
    if not isinstance(meta, dict):
        raise ValueError(f"{path}: its 'dosefind' description is not a JSON object; "
                         "refit with dosefind priors fit --out FILE")
    return validate_fit(PriorFit(tree, meta), str(path))


#: What every fit file's description must name, and what each field means (for messages).
REQUIRED_META = {"kind": "the model ('map' or 'dose_response')", "endpoint": "the endpoint fitted"}
KINDS = ("map", "dose_response")


def validate_fit(fit: PriorFit, name: str = "fit") -> PriorFit:
    """Refuse a fit that would give wrong numbers: missing description fields, unknown
    kind, NaN or infinite draws, probabilities outside [0, 1], or a dose-response fit
    whose draws do not have one column per candidate dose. Returns ``fit``."""
    fix = "refit with dosefind priors fit --out FILE (a file written by dosefind is never edited by hand)"
    missing = [f"'{k}' ({what})" for k, what in REQUIRED_META.items() if k not in fit.meta]
    if missing:
        raise ValueError(f"{name}: the fit description lacks {', '.join(missing)}; {fix}")
    if fit.kind not in KINDS:
        raise ValueError(f"{name}: kind must be one of {', '.join(KINDS)}, got {fit.kind!r}; {fix}")
    post = fit.idata["posterior"]
    for var in post.data_vars:
        vals = np.asarray(post[var].values, dtype=float)
        bad = int((~np.isfinite(vals)).sum())
        if bad:
            raise ValueError(f"{name}: {bad} of {vals.size} draws of {var!r} are NaN or infinite; {fix}")
    probs = ["prob_new"] if fit.kind == "map" else ["prob_tox"] + (["prob_response"] if fit.has_response else [])
    for var in probs:
        if var not in post:
            raise ValueError(f"{name}: a {fit.kind} fit needs the variable {var!r}, which is missing; {fix}")
        vals = np.asarray(post[var].values, dtype=float)
        if vals.size and not (vals.min() >= 0 and vals.max() <= 1):
            raise ValueError(f"{name}: draws of {var!r} must be probabilities in [0, 1], found values in "
                             f"[{vals.min():.4g}, {vals.max():.4g}]; {fix}")
        if fit.kind == "dose_response":
            if not fit.doses:
                raise ValueError(f"{name}: a dose_response fit must list its candidate doses ('doses'); {fix}")
            if vals.ndim != 3 or vals.shape[-1] != len(fit.doses):
                cols = vals.shape[-1] if vals.ndim == 3 else "no"
                raise ValueError(f"{name}: {var!r} has {cols} dose column(s) but the fit lists "
                                 f"{len(fit.doses)} candidate doses; {fix}")
    return fit


def _describe(x: np.ndarray, lo: float, hi: float) -> dict:
    x = np.asarray(x, dtype=float)
    return dict(mean=float(x.mean()), median=float(np.median(x)),
                lower=float(np.quantile(x, lo)), upper=float(np.quantile(x, hi)))
