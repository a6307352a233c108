"""Ranking the parameter sets of a grid (``dosefind calibrate``).

A *candidate* is one parameter set x one design.  Its score averages, over the grid's
scenarios (equal weights), the cell metrics of :mod:`dosefind.simulations.results`:

``objective="pcs"``
    mean percentage of correct selection (higher is better).
``objective="weighted"``
    sum_k w_k * mean_k over the metrics named in ``weights``, e.g.
    ``{"pcs": 1, "overdose_selection_pct": -0.5}`` rewards correct selection and
    penalises selecting an overdose.  Any scalar metric of a cell may be weighted
    (:data:`~dosefind.grid.store.SCALARS`); ``obd_pct`` (optimal biological dose selection)
    is accepted once phase I/II designs report it, and until then is refused with a
    message saying so.

Ties keep grid order.  A parameter that names another design (``CRM.prior_var`` for a
BOIN row) is blank in that design's rows, which appear once.  The Lee & Cheung (2011) joint calibration is the case
``objective="pcs"`` on a grid over ``CRM.skeleton.halfwidth`` whose CRM has
``prior_var = "least_informative"`` (docs/grid.md).
"""

from __future__ import annotations

__all__ = ["rank", "best", "OBJECTIVES", "parse_weights"]

OBJECTIVES = ("pcs", "weighted")
_PHASE_I_II = ("obd_pct",)


def parse_weights(items) -> dict:
    """``["pcs=1", "overdose_selection_pct=-0.5"]`` -> {"pcs": 1.0, ...}."""
    out = {}
    for item in items or ():
        name, sep, value = str(item).partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"weight must be METRIC=NUMBER, e.g. overdose_selection_pct=-0.5, got {item!r}")
        try:
            out[name] = float(value)
        except ValueError:
            raise ValueError(f"weight {name}: {value!r} is not a number") from None
    return out


def rank(results, param_names, *, objective: str = "pcs", weights: dict | None = None):
    """One row per candidate (design x parameter set), best first, with its score.

    ``results`` is :func:`~dosefind.grid.store.read_results` output (every cell finished).
    """
    from dosefind.grid.store import SCALARS

    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    if objective == "pcs":
        if weights:
            raise ValueError("weights apply to objective 'weighted'; objective 'pcs' is the mean PCS")
        weights = {"pcs": 1.0}
    elif not weights:
        raise ValueError("objective 'weighted' needs weights, e.g. pcs=1 overdose_selection_pct=-0.5")
    for k in weights:
        if k in _PHASE_I_II and k not in results.columns:
            raise ValueError(f"weight {k}: optimal biological dose selection is reported by phase I/II designs "
                             f"only, and this grid has none")
        if k not in SCALARS and k not in results.columns:
            raise ValueError(f"weight {k}: unknown metric; metrics: {', '.join(SCALARS)}")
    keys = ["design", "set", *param_names]
    df = results.copy()
    for k in weights:
        if df[k].isna().any():
            raise ValueError(f"weight {k}: the metric is undefined for some cells (e.g. PCS of a design "
                             f"without a target); drop it or give every design a target")
    g = df.groupby(["design", "set"], sort=False)
    means = g[list(dict.fromkeys(["pcs", "overdose_selection_pct", *weights]))].mean()
    means["worst_pcs"] = g["pcs"].min()
    means["scenarios"] = g.size()
    means["score"] = sum(w * means[k] for k, w in weights.items())
    first = g[param_names].first() if param_names else None
    table = means if first is None else first.join(means)
    table = table.reset_index()
    # A parameter of another design does not change this design's cells: blank it, and
    # keep one row per distinct candidate.
    for name in param_names:
        head = name.partition(".")[0]
        if head != "study":
            table[name] = table[name].where(table["design"] == head)
    table = table.drop_duplicates(subset=["design", *param_names], keep="first")
    table = table.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)
    table.insert(0, "rank", range(1, len(table) + 1))
    return table[["rank", *keys, "score", *[c for c in table.columns if c not in ("rank", *keys, "score")]]]


def best(table) -> dict:
    """The top row as a plain dict."""
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in table.iloc[0].to_dict().items()}

