"""Posterior dose-toxicity curve with its interval, and the observed rates (PNG/SVG).

matplotlib is imported here only, with the Agg backend (no display needed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

FORMATS = (".png", ".svg", ".pdf")


def curve_draws(fit, grid: np.ndarray, response: bool = False) -> np.ndarray:
    """Predictive probability for a new trial on a dose grid, shape (samples, len(grid))."""
    sfx = "_response" if response else ""
    beta = fit.draws(f"beta{sfx}")
    if not response and "alpha_new" in fit.idata["posterior"]:   # covariates / EXNEX
        intercept = fit.draws("alpha_new")
    else:
        alpha, tau, z = (fit.draws(f"{name}{sfx}") for name in ("alpha", "tau", "z_new"))
        intercept = alpha + tau * z
    x = np.log(np.asarray(grid, dtype=float) / fit.meta["reference_dose"])
    eta = intercept[:, None] + beta[:, None] * x[None, :]
    return 1.0 / (1.0 + np.exp(-eta))


def plot_fit(fit, path, *, prob: float = 0.95, response: bool = False):
    """Draw the fitted dose-toxicity (or dose-response) curve, median and central
    ``prob`` interval, the candidate doses, and each report's observed rate with y/n
    (a pooled two-level row is drawn as a bar spanning its two doses). Returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fit.require_dose_response("a dose-toxicity plot")
    if response and not fit.has_response:
        raise ValueError("this fit has no response model (fit with --with-response)")
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise ValueError(f"plot file must end in {', '.join(FORMATS)}, got {path.name!r}")
    endpoint = "response" if response else fit.endpoint
    rows = fit.meta["evidence_response" if response else "evidence"]
    lows = [r["dose_low"] if r["dose_low"] is not None else r["dose_per_kg"] for r in rows]
    highs = [r["dose_high"] if r["dose_high"] is not None else r["dose_per_kg"] for r in rows]
    span = np.array(lows + highs + list(fit.doses), dtype=float)
    grid = np.geomspace(span.min() / 1.5, span.max() * 1.5, 120)
    draws = curve_draws(fit, grid, response)
    lo, hi = (1 - prob) / 2, 1 - (1 - prob) / 2

    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.fill_between(grid, np.quantile(draws, lo, axis=0), np.quantile(draws, hi, axis=0), alpha=0.25,
                    color="C0", label=f"{prob:.0%} predictive interval (new trial)")
    ax.plot(grid, np.median(draws, axis=0), color="C0", label="posterior median")
    at = fit.draws("prob_response" if response else "prob_tox")
    ax.errorbar(fit.doses, np.median(at, axis=0),
                yerr=[np.median(at, axis=0) - np.quantile(at, lo, axis=0),
                      np.quantile(at, hi, axis=0) - np.median(at, axis=0)],
                fmt="s", color="C0", ms=4, capsize=3, label="candidate doses")
    for i, (r, dl, dh) in enumerate(zip(rows, lows, highs)):
        rate = r[endpoint] / r["n"]
        mid = (dl * dh) ** 0.5
        ax.scatter([mid], [rate], s=20 + 8 * r["n"], color="C3", alpha=0.7, zorder=3)
        if dh > dl:
            ax.plot([dl, dh], [rate, rate], color="C3", lw=2, alpha=0.7)
        ax.annotate(f"{r[endpoint]}/{r['n']}", (mid, rate), textcoords="offset points", xytext=(6, 6 if i % 2 else -12), fontsize=8)
    ax.scatter([], [], s=40, color="C3", alpha=0.7, label="observed (size ~ n; bar = pooled levels)")
    ax.set_xscale("log")
    ax.set_ylim(-0.03, 1.05)
    ax.set_xlabel("CAR-T cells per kg")
    ax.set_ylabel(f"P({endpoint})")
    ax.set_title(f"{endpoint}: posterior predictive for a new trial")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _figure_path(path):
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise ValueError(f"plot file must end in {', '.join(FORMATS)}, got {path.name!r}")
    return path


def plot_sensitivity(sens, path):
    """One panel: the predictive median and interval at each dose under every variant of a
    :class:`~dosefind.priors.sensitivity.Sensitivity`, side by side. Returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = _figure_path(path)
    f = sens.to_frame()
    variants = list(dict.fromkeys(f["variant"]))
    levels = sorted(f["level"].unique())
    fig, ax = plt.subplots(figsize=(8, 4.5))
    width = 0.8 / max(len(variants), 1)
    for j, var in enumerate(variants):
        g = f[f["variant"] == var].set_index("level").reindex(levels)
        xs = np.arange(len(levels)) + (j - (len(variants) - 1) / 2) * width
        ax.errorbar(xs, g["median"], yerr=[g["median"] - g["lower"], g["upper"] - g["median"]], fmt="o", ms=3,
                    capsize=2, color=f"C{j % 10}", label=var)
    dose_of = dict(zip(f["level"], f["dose"]))
    beyond = dict(zip(f["level"], f["beyond_data"]))
    ax.set_xticks(range(len(levels)))
    ax.set_xticklabels([f"{dose_of[lv]:.1e}" + ("*" if beyond[lv] else "") for lv in levels])
    ax.set_xlabel("candidate dose (CAR-T cells/kg; * beyond the data)")
    ax.set_ylabel(f"P({sens.endpoint}), median and {sens.prob:.0%} interval")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"{sens.endpoint}: prior sensitivity")
    ax.legend(fontsize=7, ncol=2, loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_checks(checks, path):
    """Observed rate of each study against its posterior predictive (within-fit) and
    leave-one-study-out intervals, from :func:`~dosefind.priors.checks.predictive_checks`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = _figure_path(path)
    f = checks.to_frame()
    fig, ax = plt.subplots(figsize=(7, 0.6 * len(f) + 1.5))
    y = np.arange(len(f))
    ax.errorbar(f["ppc_median"], y + 0.12, xerr=[f["ppc_median"] - f["ppc_lower"], f["ppc_upper"] - f["ppc_median"]],
                fmt="o", color="C0", capsize=3, label="posterior predictive (own study effect)")
    if "loo_median" in f and f["loo_median"].notna().any():
        ax.errorbar(f["loo_median"], y - 0.12,
                    xerr=[f["loo_median"] - f["loo_lower"], f["loo_upper"] - f["loo_median"]],
                    fmt="s", color="C1", capsize=3, label="leave-one-study-out (new study)")
    ax.scatter(f["observed"], y, marker="x", color="C3", zorder=3, label="observed rate")
    ax.set_yticks(y)
    ax.set_yticklabels([f"{s[:12]} ({e}/{n})" for s, e, n in zip(f["source"], f["events"], f["n"])])
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel(f"rate of {checks.endpoint} (95% predictive interval of the observed proportion)")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
