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
    alpha, beta, tau, z = (fit.draws(f"{name}{sfx}") for name in ("alpha", "beta", "tau", "z_new"))
    x = np.log(np.asarray(grid, dtype=float) / fit.meta["reference_dose"])
    eta = (alpha + tau * z)[:, None] + beta[:, None] * x[None, :]
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
