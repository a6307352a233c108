"""How strong a fitted prior is and whether to trust it: ESS per dose (two named methods),
warnings (one study; data that barely move the prior), Monte Carlo error of quantiles.

These are the library functions a report or a study file calls; nothing here prints.

Warning rules (each a code plus a sentence):

* ``one_study``: every evidence row of the endpoint comes from one report. Between-study
  heterogeneity is then not identified and the predictive prior rests on that report.
* ``prior_dominates``: a hyperparameter's posterior sd is at least
  :data:`PRIOR_DOMINATES_RATIO` (0.8) of its prior sd, i.e. the data shrink its
  uncertainty by less than 20%: its posterior mostly restates the prior the user chose.
  Checked for the intercept, log slope and tau of the dose-response model and the mean
  and tau of the MAP model.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from dosefind.priors.ess import ESS_METHODS, beta_mixture_fit, ess_elir_beta_mixture, ess_moment

__all__ = ["FitWarning", "PRIOR_DOMINATES_RATIO", "fit_warnings", "prior_ess", "quantile_mcse", "PriorStrength",
           "prior_strength"]

PRIOR_DOMINATES_RATIO = 0.8


@dataclass(frozen=True)
class FitWarning:
    """A reason to distrust a fit: a stable ``code`` and a sentence for people."""

    code: str
    text: str

    def to_dict(self) -> dict:
        return {"code": self.code, "text": self.text}


def _prior_sds(fit) -> dict:
    m = fit.meta
    tau = m.get("tau_scale") or 0.0
    out = {}
    if fit.kind == "dose_response":
        out["alpha"] = ("alpha", None, float(m["intercept_sd"]))
        out["log beta"] = ("beta", np.log, float(m["slope_sd"]))
    else:
        sd = float(m.get("intercept_sd", 2.0)) if m.get("intercept_prior", "normal") == "normal" else math.pi / math.sqrt(3)
        out["mu"] = ("mu", None, sd)
    if tau > 0:
        out["tau"] = ("tau", None, tau * math.sqrt(1 - 2 / math.pi))
    return out


def fit_warnings(fit) -> tuple[FitWarning, ...]:
    """Warnings for a fit (see the module docstring); empty when there is nothing to say."""
    out = []
    rows = fit.meta.get("evidence") or []
    sources = sorted({r.get("source") for r in rows})
    if len(sources) == 1:
        n = sum(int(r.get("n") or 0) for r in rows)
        out.append(FitWarning("one_study", (
            f"the {fit.endpoint} fit rests on one study ({sources[0]}, {n} patients): between-study "
            f"heterogeneity is not identified, so the prior is only as good as that report; check "
            f"'dosefind priors sensitivity' and consider a weaker prior")))
    post = fit.idata["posterior"]
    for label, (var, transform, prior_sd) in _prior_sds(fit).items():
        if var not in post:
            continue
        x = fit.draws(var)
        if transform is not None:
            x = transform(x)
        ratio = float(np.std(x)) / prior_sd
        if ratio >= PRIOR_DOMINATES_RATIO:
            out.append(FitWarning("prior_dominates", (
                f"the data barely move the prior of {label} in the {fit.endpoint} fit: posterior sd "
                f"{np.std(x):.3g} is {ratio:.0%} of the prior sd {prior_sd:.3g}; its value reflects the "
                f"prior chosen, not the studies")))
    return tuple(out)


def prior_ess(fit) -> list[dict]:
    """ESS of the predictive prior per candidate dose (dose-response) or of the new-trial
    rate (MAP): ELIR and moment, each with its method named. Rows: ``level``, ``dose``,
    ``ess_elir``, ``ess_moment``, ``elir_method``, ``moment_method``."""
    if fit.kind == "dose_response":
        draws = fit.prob_tox_draws()
        doses = fit.doses
    else:
        draws = fit.draws("prob_new")[:, None]
        doses = (None,)
    rows = []
    for i, dose in enumerate(doses):
        p = np.clip(draws[:, i], 1e-12, 1 - 1e-12)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            w, a, b = beta_mixture_fit(p)
            elir = ess_elir_beta_mixture(w, a, b)
        rows.append(dict(level=i + 1, dose=dose, ess_elir=elir,
                         ess_moment=ess_moment(float(p.mean()), float(p.var(ddof=1))),
                         elir_method=ESS_METHODS["elir"], moment_method=ESS_METHODS["moment"]))
    return rows


def quantile_mcse(chains_by_draws: np.ndarray, prob: float) -> float:
    """Monte Carlo standard error of the ``prob`` quantile (ArviZ ``mcse(method="quantile")``)
    of draws shaped (chain, draw)."""
    import arviz as az

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(az.mcse(np.asarray(chains_by_draws, dtype=float), method="quantile", prob=prob))


@dataclass(frozen=True)
class PriorStrength:
    """What a report states next to a design that uses a fitted prior: ESS per dose (both
    methods), warnings, and (optionally) the sensitivity table."""

    endpoint: str
    kind: str
    ess: tuple[dict, ...]
    warnings: tuple[FitWarning, ...]
    sensitivity: object | None = field(default=None, compare=False)

    def to_dict(self) -> dict:
        out = dict(endpoint=self.endpoint, kind=self.kind, ess=list(self.ess),
                   warnings=[w.to_dict() for w in self.warnings])
        if self.sensitivity is not None:
            out["sensitivity"] = self.sensitivity.to_dict()
        return out

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(list(self.ess))


def prior_strength(fit, *, sensitivity=None) -> PriorStrength:
    """ESS and warnings of ``fit`` (and a :class:`~dosefind.priors.sensitivity.Sensitivity`
    if given), as one object for reports."""
    return PriorStrength(fit.endpoint, fit.kind, tuple(prior_ess(fit)), fit_warnings(fit), sensitivity)


@dataclass(frozen=True)
class PredictiveChecks:
    """Per study: observed rate, its posterior predictive interval with the study's own
    effect (within-fit check) and, if computed, its leave-one-study-out predictive
    interval as a new study; tail p-values Pr(y_rep >= y) and Pr(y_rep <= y)."""

    endpoint: str
    rows: tuple[dict, ...]
    notes: tuple[str, ...] = ()

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(list(self.rows))

    def to_dict(self) -> dict:
        return dict(endpoint=self.endpoint, rows=list(self.rows), notes=list(self.notes))


def _row_prob(fit, draws, row, intercept):
    from dosefind.priors.models import _covariate_code

    ref = fit.meta["reference_dose"]
    w = fit.meta.get("pooled_weight", 0.5)
    low = row["dose_low"] if row.get("dose_low") is not None else row["dose_per_kg"]
    high = row["dose_high"] if row.get("dose_high") is not None else row["dose_per_kg"]
    u = intercept
    covs = fit.meta.get("covariates") or []
    if covs:
        x = np.array([_covariate_code(c, row[c]) for c in covs])
        u = u + draws["gamma"] @ x
    beta = draws["beta"]
    pl = 1 / (1 + np.exp(-(u + beta * np.log(low / ref))))
    ph = 1 / (1 + np.exp(-(u + beta * np.log(high / ref))))
    return w * pl + (1 - w) * ph


def _summarise(y_rep, y, n, prefix):
    rate = y_rep / n
    return {f"{prefix}_median": float(np.median(rate)), f"{prefix}_lower": float(np.quantile(rate, 0.025)),
            f"{prefix}_upper": float(np.quantile(rate, 0.975)), f"{prefix}_p_upper": float((y_rep >= y).mean()),
            f"{prefix}_p_lower": float((y_rep <= y).mean())}


def predictive_checks(fit, *, loo: bool = False, seed: int = 0, sampling: dict | None = None) -> PredictiveChecks:
    """Posterior predictive check per study and, with ``loo=True``, leave-one-study-out
    predictions (one refit per study, with ``sampling`` settings, default draws=500,
    tune=500, chains=2). A small tail p-value (< 0.05) says the model does not reproduce
    that study."""
    import pandas as pd

    fit.require_dose_response("predictive checks")
    rng = np.random.default_rng(seed)
    names = ("alpha", "beta", "tau", "gamma")
    post = fit.idata["posterior"]
    draws = {k: fit.draws(k) for k in names if k in post}
    z = fit.draws("z")                                              # (S, trials)
    trials = [str(t) for t in post["trial"].values]
    rows_out, notes = [], []
    evidence = fit.meta.get("evidence") or []
    for row in evidence:
        y, n = int(row[fit.endpoint]), int(row["n"])
        t = trials.index(str(row["source"]))
        p = _row_prob(fit, draws, row, draws["alpha"] + draws["tau"] * z[:, t])
        y_rep = rng.binomial(n, p)
        rows_out.append(dict(source=row["source"], n=n, events=y, observed=y / n, **_summarise(y_rep, y, n, "ppc")))
    if loo:
        from dosefind.priors.evidence import validate_evidence
        from dosefind.priors.models import fit_dose_response

        table = validate_evidence(pd.DataFrame(evidence).astype(object).where(pd.DataFrame(evidence).notna(), ""))
        m = fit.meta
        samp = dict(dict(draws=500, tune=500, chains=2), **(sampling or {}))
        for out in rows_out:
            rest = table[table["source"] != out["source"]].reset_index(drop=True)
            if rest["source"].nunique() < 1 or len(rest) == 0:
                notes.append(f"{out['source']}: no other study, no leave-one-out prediction")
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    f2 = fit_dose_response(rest, fit.endpoint, fit.doses, reference_dose=m["reference_dose"],
                                           tau_scale=m["tau_scale"], intercept_mean=m["intercept_mean"],
                                           intercept_sd=m["intercept_sd"], slope_sd=m["slope_sd"],
                                           pooled_weight=m["pooled_weight"], covariates=m.get("covariates") or (),
                                           new_trial=m.get("new_trial"), covariate_sd=m.get("covariate_sd", 1.0),
                                           seed=m["sampling"]["seed"], **samp)
                except ValueError as exc:
                    notes.append(f"{out['source']}: leave-one-out fit failed ({exc})")
                    continue
            d2 = {k: f2.draws(k) for k in names if k in f2.idata["posterior"]}
            row = next(r for r in evidence if r["source"] == out["source"])
            p = _row_prob(f2, d2, row, d2["alpha"] + d2["tau"] * f2.draws("z_new"))
            out.update(_summarise(rng.binomial(out["n"], p), out["events"], out["n"], "loo"))
    return PredictiveChecks(fit.endpoint, tuple(rows_out), tuple(notes))
