"""Operating characteristics: the result object of :func:`~dosefind.simulations.simulate`.

Definitions (all percentages are of trials unless stated):

``selection_pct[d]``
    % of trials selecting dose ``d`` as the MTD.  ``no_selection_pct``: % selecting no
    dose (stopped for toxicity, or no dose qualified).
``patients_mean[d]``, ``dlt_mean[d]``
    Mean number of patients treated, and of DLTs observed, at dose ``d`` per trial.
``patients_pct[d]``
    % of all patients treated at dose ``d``: ``100 * mean(n_d) / mean(N)`` (the ratio
    of means, as BOIN's ``summary`` reports it).
``n_mean``, ``dlt_total_mean``
    Mean sample size and mean number of DLTs per trial.
``early_stop_pct``
    % of trials that stopped before the design's maximum sample size ``max_n`` for any
    reason (safety, ``n_earlystop``, a modifier); ``None`` for designs without
    ``max_n`` (the 3+3 stops by its own rule).
``pcs``
    Percentage of correct selection: % selecting a *correct* dose.  The correct doses
    are those whose true rate is closest to the target (ties: every tied dose), or,
    when ``acceptable=(lo, hi)`` is given, every dose with ``lo <= rate <= hi``.  A
    dose whose true rate is above the *overly toxic limit* is never correct; the limit
    is ``hi`` when ``acceptable`` is given and otherwise ``1.4 * target`` (BOIN's
    default ``p.tox``, "the lowest DLT rate deemed overly toxic", Liu & Yuan 2015).  When
    even the lowest dose is above that limit the correct decision is to select no dose,
    and ``pcs`` is the % of trials selecting none (``correct_doses`` is then empty).
``true MTD`` and "above the MTD"
    The true MTD is the highest correct dose (when no dose is correct: the highest
    dose whose true rate is <= target; none if every dose exceeds it).  Doses above
    it are *overdoses*.  When some true rate equals the target this is exactly the
    set BOIN's ``get.oc`` uses (doses with true rate > target).
``overdose_selection_pct``
    % of trials selecting a dose above the true MTD.
``overdose_patients_pct``
    % of all patients treated above the true MTD (ratio of means).
``overdose60_pct``, ``overdose80_pct``
    Risk of overdosing, as BOIN's ``get.oc`` reports it: % of trials in which more
    than 60% (80%) of the maximum sample size ``max_n`` (of the trial's own sample
    size for designs without ``max_n``) were treated above the true MTD.
``stop_reasons``
    % of trials ending for each reason, keyed by the typed code of the final decision
    (:class:`~dosefind.state.ReasonCode` values; ``ReasonCode(code).text`` is its text).

Phase I/II runs (a design with ``efficacy`` True, or any design simulated with true
response rates; :mod:`~dosefind.simulations.phase12`) add ``efficacy``: ``values`` and
``se`` of ``obd_selection_pct`` (per dose; ``obd_no_selection_pct``), ``pct_correct_obd``
(% selecting a dose of maximal true utility among doses not above the true MTD, the
highest dose with true DLT rate <= the design's ``phi_t`` or the target; % selecting none
when even dose 1 is above it), ``obd_overdose_pct`` (% selecting a dose above that MTD),
``responses_mean`` (per dose) and ``response_total_mean``, ``utility_selected_mean``
(mean true utility of the selected dose, over trials that selected one),
``patients_at_obd_mean`` / ``patients_at_obd_pct`` (patients treated at a correct OBD),
``obd_overdose_patients_pct`` (% of patients above that MTD) and
``early_stop_toxicity_pct`` / ``early_stop_futility_pct`` (trials ending with code
``lowest_too_toxic`` or ``extra_safe``, and ``futility``); with the truth:
``true_prob_eff``, ``tox_eff_correlation``, ``joint_table`` (N, T, E, B per dose),
``true_utility``, ``tox_limit``, ``true_mtd`` and ``correct_obd`` (1-based).  For a
phase I design the "selected dose" of these metrics is its MTD, and the utility metrics
are None (it has no utility table).  The phase I metrics (``selection_pct``, ``pcs``,
...) of a phase I/II design are about the MTD its ``select_obd`` reports.

Calendar-time runs (:mod:`~dosefind.simulations.calendar`) add ``calendar``:
``duration`` (days from the first arrival to the last patient's end of follow-up: mean,
sd, se, quantiles 5/25/50/75/95), per-trial means (with se) of ``enrolled``, ``infused``,
``failed`` (products that failed), ``turned_away`` (arrivals lost while accrual was
suspended), ``time_suspended`` (days) and ``arrivals``, and with toxicity components the
mean number of CRS >= 3, ICANS >= 3 and other DLT events per dose and per trial.  The
per-dose patient counts above count infused patients (at the dose infused).

Standard errors (``se``) are Monte Carlo standard errors: ``sqrt(p(1-p)/T)`` for a
proportion, ``sd/sqrt(T)`` for a mean and the delta method for ratios of means; all
zero for the exact engine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from dosefind.simulations._kernel import Tally

__all__ = ["OperatingCharacteristics", "correct_doses", "none_is_correct", "true_mtd_index", "METRICS"]

#: Scalar summary metrics, in the order they are reported.
METRICS = ("pcs", "overdose_selection_pct", "overdose_patients_pct", "overdose60_pct", "overdose80_pct",
           "no_selection_pct", "early_stop_pct", "n_mean", "dlt_total_mean")
_PER_DOSE = ("selection_pct", "patients_mean", "patients_pct", "dlt_mean")


#: Default overly toxic limit, as a multiple of the target (BOIN's default p.tox).
OVERLY_TOXIC_FACTOR = 1.4


def overly_toxic_limit(target=None, acceptable=None) -> float | None:
    """True DLT rate above which a dose is never a correct selection."""
    if acceptable is not None:
        return float(acceptable[1])
    return None if target is None else OVERLY_TOXIC_FACTOR * float(target)


def none_is_correct(true_prob_tox, target=None, acceptable=None) -> bool:
    """True when even the lowest dose is overly toxic: the right answer is no MTD."""
    limit = overly_toxic_limit(target, acceptable)
    return limit is not None and float(true_prob_tox[0]) > limit + 1e-12


def correct_doses(true_prob_tox, target=None, acceptable=None) -> tuple[int, ...]:
    """0-based indices of the correct doses (see the module docstring)."""
    p = np.asarray(true_prob_tox, dtype=float)
    limit = overly_toxic_limit(target, acceptable)
    if limit is None:
        return ()
    if acceptable is not None:
        lo, hi = acceptable
        return tuple(int(i) for i in np.flatnonzero((p >= lo - 1e-12) & (p <= hi + 1e-12)))
    allowed = np.flatnonzero(p <= limit + 1e-12)
    if allowed.size == 0:
        return ()
    dist = np.abs(p[allowed] - target)
    return tuple(int(i) for i in allowed[dist <= dist.min() + 1e-12])


def true_mtd_index(true_prob_tox, target=None, acceptable=None, *, correct=None) -> int | None:
    """0-based true MTD (see the module docstring; -1: every dose is above it; None: no
    target).  ``correct``: the scenario's :func:`correct_doses`, when already known."""
    if correct is None:
        correct = correct_doses(true_prob_tox, target, acceptable)
    if correct:
        return max(correct)
    limit = acceptable[1] if acceptable is not None else target
    if limit is None:
        return None
    ok = [i for i, v in enumerate(true_prob_tox) if v <= limit + 1e-12]
    return max(ok) if ok else -1


_UNKNOWN = object()


def above_mtd_mask(true_prob_tox, target=None, acceptable=None, *, mtd=_UNKNOWN) -> np.ndarray:
    """Doses above the true MTD.  ``mtd``: the scenario's :func:`true_mtd_index`, when
    already known."""
    if mtd is _UNKNOWN:
        mtd = true_mtd_index(true_prob_tox, target, acceptable)
    mask = np.zeros(len(true_prob_tox), bool)
    if mtd is not None:
        mask[mtd + 1:] = True
    return mask


#: Per-trial counts reported for calendar-time runs (means with standard errors).
CALENDAR_COUNTS = ("enrolled", "infused", "failed", "turned_away", "time_suspended", "arrivals")
DURATION_QUANTILES = (5, 25, 50, 75, 95)


def _mean_se(a) -> dict:
    a = np.asarray(a, dtype=float)
    T = a.shape[0]
    sd = float(a.std(ddof=1)) if T > 1 else 0.0
    return {"mean": float(a.mean()), "se": sd / np.sqrt(T) if T > 1 else 0.0}


def calendar_summary(arrays: dict, setup=None) -> dict:
    """The ``calendar`` block from the engine's per-trial arrays (definitions above)."""
    d = np.asarray(arrays["duration"], dtype=float)
    T = d.size
    sd = float(d.std(ddof=1)) if T > 1 else 0.0
    out = {"duration": {"mean": float(d.mean()), "sd": sd, "se": sd / np.sqrt(T) if T > 1 else 0.0,
                        "quantiles": {str(q): float(v) for q, v in
                                      zip(DURATION_QUANTILES, np.percentile(d, DURATION_QUANTILES))}}}
    for k in CALENDAR_COUNTS:
        out[k] = _mean_se(arrays[k])
    comps = {}
    for k in ("crs", "icans", "other"):
        if k in arrays:
            a = np.asarray(arrays[k], dtype=float)  # (T, D)
            comps[k] = {**_mean_se(a.sum(axis=1)), "per_dose_mean": a.mean(axis=0).tolist()}
    if comps:
        out["components"] = comps
    if "backfilled" in arrays:  # backfilling designs (dosefind.designs.backfill)
        out["backfilled"] = {**_mean_se(arrays["backfilled"]),
                             "per_dose_mean": np.asarray(arrays["backfilled_at_dose"], float).mean(axis=0).tolist()}
        if "escalation" in arrays:  # patients of the escalation, and backfilled ones left out of the analysis
            out["backfilled"]["escalation"] = _mean_se(arrays["escalation"])
            out["backfilled"]["unanalysed"] = _mean_se(arrays["backfilled_unanalysed"])
    if setup is not None:
        out["setup"] = setup
    return out


def _rounded(x):
    if isinstance(x, dict):
        return {k: _rounded(v) for k, v in x.items()}
    if isinstance(x, np.ndarray):
        return _rounded(x.tolist())
    if isinstance(x, (list, tuple)):
        return [_rounded(v) for v in x]
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return x
    if isinstance(x, (int, np.integer)):
        return int(x)
    try:
        return round(float(x), 6)
    except (TypeError, ValueError):
        return x


def _r(x, digits=6):
    if x is None:
        return None
    if isinstance(x, (list, tuple, np.ndarray)):
        return [_r(v, digits) for v in x]
    return round(float(x), digits)


# ---------------------------------------------------------------------- Monte Carlo errors
# One statement of each standard error, for the phase I block here and the phase I/II block
# (simulations.phase12): ``w`` trials, sums ``s`` and sums of squares ``sq`` over them.
def se_proportion(pct, w: float):
    """Standard error of a percentage of ``w`` trials: 100 sqrt(q (1 - q) / w)."""
    q = np.asarray(pct, dtype=float) / 100
    return 100 * np.sqrt(q * (1 - q) / w)


def se_mean(s, sq, w: float):
    """Standard error of a per-trial mean from its sum ``s`` and sum of squares ``sq``."""
    s, sq = np.asarray(s, dtype=float), np.asarray(sq, dtype=float)
    var = np.maximum(sq - s * s / w, 0) / (w - 1)
    return np.sqrt(var / w)


def se_ratio(a, a_sq, a_cross, N_sum: float, N_sq: float, w: float):
    """Standard error (delta method) of 100 sum(a) / sum(N), a ratio of per-trial totals:
    ``a_sq`` = sum a^2, ``a_cross`` = sum a N, ``N_sq`` = sum N^2."""
    a, a_sq, a_cross = (np.asarray(x, dtype=float) for x in (a, a_sq, a_cross))
    if not N_sum:
        return np.zeros_like(a)
    r = a / N_sum
    resid = np.maximum(a_sq - 2 * r * a_cross + r * r * float(N_sq), 0)
    return 100 * np.sqrt(resid / ((w - 1) * w)) / (N_sum / w)


@dataclass
class OperatingCharacteristics:
    """Operating characteristics of one design on one scenario.

    Build it with :func:`~dosefind.simulations.simulate`.  Faces: :meth:`to_frame`
    (per-dose table), :meth:`summary` (scalar metrics with standard errors),
    :meth:`to_dict` / :meth:`to_json` (the documented JSON schema) and
    :meth:`to_markdown`.
    """

    design: str
    true_prob_tox: tuple[float, ...]
    method: str
    n_trials: int | None
    seed: int | None
    target: float | None
    acceptable: tuple[float, float] | None
    correct: tuple[int, ...]
    true_mtd: int | None
    values: dict
    se: dict
    stop_reasons: dict
    scenario: str = "scenario"
    dose_labels: tuple[str, ...] = ()
    max_n: int | None = None
    extra: dict = field(default_factory=dict)
    calendar: dict | None = None
    efficacy: dict | None = None

    # ------------------------------------------------------------------ building
    @classmethod
    def from_tally(cls, tally: Tally, *, design, true_prob_tox, method, n_trials, seed, target=None,
                   acceptable=None, scenario="scenario", dose_labels=(), calendar=None, setup=None,
                   efficacy=None):
        p = tuple(float(v) for v in true_prob_tox)
        D = len(p)
        correct = correct_doses(p, target, acceptable)
        mtd = true_mtd_index(p, target, acceptable, correct=correct)
        above = above_mtd_mask(p, target, acceptable, mtd=mtd)
        has_truth = mtd is not None
        none_correct = none_is_correct(p, target, acceptable)
        w = float(tally.w)
        exact = method == "exact"
        f = lambda a: np.asarray(a, dtype=float)  # noqa: E731
        sel = f(tally.sel)
        N_sum = float(tally.N_sum)
        v = {
            "selection_pct": 100 * sel[:D] / w,
            "no_selection_pct": 100 * sel[D] / w,
            "patients_mean": f(tally.n_sum) / w,
            "patients_pct": 100 * f(tally.n_sum) / N_sum if N_sum else np.zeros(D),
            "dlt_mean": f(tally.y_sum) / w,
            "n_mean": N_sum / w,
            "dlt_total_mean": float(tally.Y_sum) / w,
            "early_stop_pct": 100 * float(tally.early) / w if design.max_n is not None else None,
            "pcs": (100 * (sel[D] if none_correct else sel[list(correct)].sum()) / w) if has_truth else None,
            "overdose_selection_pct": 100 * sel[:D][above].sum() / w if has_truth else None,
            "overdose_patients_pct": (100 * float(tally.above_sum) / N_sum if N_sum else 0.0) if has_truth else None,
            "overdose60_pct": 100 * float(tally.od60) / w if has_truth else None,
            "overdose80_pct": 100 * float(tally.od80) / w if has_truth else None,
        }
        if exact or w < 2:
            se = {k: (None if val is None else (np.zeros(D) if isinstance(val, np.ndarray) else 0.0))
                  for k, val in v.items()}
        else:
            def prop(pct):
                return se_proportion(pct, w)

            def mean(s, sq):
                return se_mean(s, sq, w)

            def ratio(a, a_sq, a_cross):
                return se_ratio(a, a_sq, a_cross, N_sum, tally.N_sq, w)

            se = {
                "selection_pct": prop(v["selection_pct"]),
                "no_selection_pct": float(prop(v["no_selection_pct"])),
                "patients_mean": mean(tally.n_sum, tally.n_sq),
                "patients_pct": ratio(tally.n_sum, tally.n_sq, tally.n_cross),
                "dlt_mean": mean(tally.y_sum, tally.y_sq),
                "n_mean": float(mean(tally.N_sum, tally.N_sq)),
                "dlt_total_mean": float(mean(tally.Y_sum, tally.Y_sq)),
                "early_stop_pct": None if v["early_stop_pct"] is None else float(prop(v["early_stop_pct"])),
            }
            for k in ("pcs", "overdose_selection_pct", "overdose60_pct", "overdose80_pct"):
                se[k] = None if v[k] is None else float(prop(v[k]))
            se["overdose_patients_pct"] = None if not has_truth else float(
                ratio(tally.above_sum, tally.above_sq, tally.above_cross))
        reasons = {k: 100 * float(c) / w for k, c in tally.reasons.items()}
        reasons = dict(sorted(reasons.items(), key=lambda kv: (-round(kv[1], 9), kv[0])))
        labels = tuple(dose_labels) if dose_labels else tuple(f"Dose {i + 1}" for i in range(D))
        extra = {}
        if getattr(tally, "states_visited", None) is not None:
            extra["states_visited"] = int(tally.states_visited)
        return cls(design=design.name, true_prob_tox=p, method=method, n_trials=n_trials, seed=seed,
                   target=target, acceptable=acceptable, correct=correct, true_mtd=mtd, values=v, se=se,
                   stop_reasons=reasons, scenario=scenario, dose_labels=labels, max_n=design.max_n, extra=extra,
                   calendar=None if calendar is None else calendar_summary(calendar, setup), efficacy=efficacy)

    # ------------------------------------------------------------------ access
    def __getattr__(self, item):
        values = self.__dict__.get("values")
        if values is not None and item in values:
            return values[item]
        eff = self.__dict__.get("efficacy")
        if eff is not None and item in eff["values"]:
            return eff["values"][item]
        raise AttributeError(item)

    def efficacy_rows(self) -> dict:
        """Phase I/II summary rows: name -> (value, se); empty without efficacy."""
        if self.efficacy is None:
            return {}
        from dosefind.simulations.phase12 import SCALARS

        v, se = self.efficacy["values"], self.efficacy["se"]
        return {k: (v[k], se[k]) for k in SCALARS}

    @property
    def num_doses(self) -> int:
        return len(self.true_prob_tox)

    @property
    def duration(self) -> dict | None:
        """Trial duration in days (mean, sd, se, quantiles); None outside calendar time."""
        return None if self.calendar is None else self.calendar["duration"]

    def calendar_rows(self) -> dict:
        """Calendar-time summary rows: name -> (value, se); empty outside calendar time."""
        if self.calendar is None:
            return {}
        c = self.calendar
        rows = {"duration_mean": (c["duration"]["mean"], c["duration"]["se"]),
                "duration_sd": (c["duration"]["sd"], None)}
        for k in CALENDAR_COUNTS:
            rows[f"{k}_mean"] = (c[k]["mean"], c[k]["se"])
        for k, v in c.get("components", {}).items():
            rows[f"{k}_mean"] = (v["mean"], v["se"])
        if "backfilled" in c:
            rows["backfilled_mean"] = (c["backfilled"]["mean"], c["backfilled"]["se"])
            if "escalation" in c["backfilled"]:
                rows["escalation_mean"] = (c["backfilled"]["escalation"]["mean"], c["backfilled"]["escalation"]["se"])
                rows["unanalysed_mean"] = (c["backfilled"]["unanalysed"]["mean"], c["backfilled"]["unanalysed"]["se"])
        return rows

    # ------------------------------------------------------------------ faces
    def per_dose_columns(self) -> dict[str, list]:
        """The per-dose table's columns, name -> one value per dose (the one place they are
        listed: :meth:`to_frame` and the command line's table both read them)."""
        D = self.num_doses
        above = np.zeros(D, bool)
        if self.true_mtd is not None:
            above[self.true_mtd + 1:] = True
        cols = {
            "dose": list(self.dose_labels),
            "true_prob_tox": list(self.true_prob_tox),
            "correct": [i in self.correct for i in range(D)],
            "above_mtd": above,
            "selection_pct": self.values["selection_pct"],
            "selection_se": self.se["selection_pct"],
            "patients_mean": self.values["patients_mean"],
            "patients_pct": self.values["patients_pct"],
            "dlt_mean": self.values["dlt_mean"],
            "dlt_se": self.se["dlt_mean"],
        }
        if self.efficacy is not None:
            eff = self.efficacy
            cols["true_prob_eff"] = eff["true_prob_eff"]
            cols["true_utility"] = eff["true_utility"] if eff["true_utility"] is not None else [None] * D
            cols["correct_obd"] = [i + 1 in eff["correct_obd"] for i in range(D)]
            cols["obd_selection_pct"] = eff["values"]["obd_selection_pct"]
            cols["obd_selection_se"] = eff["se"]["obd_selection_pct"]
            cols["responses_mean"] = eff["values"]["responses_mean"]
            cols["responses_se"] = eff["se"]["responses_mean"]
        return cols

    def to_frame(self):
        """Per-dose table (index: 1-based dose level)."""
        import pandas as pd

        return pd.DataFrame(self.per_dose_columns(), index=pd.RangeIndex(1, self.num_doses + 1, name="level"))

    def summary_rows(self) -> dict[str, tuple]:
        """Scalar metrics, name -> (value, Monte Carlo standard error): :meth:`summary`'s rows."""
        rows = {k: (self.values[k], self.se[k]) for k in METRICS}
        rows.update(self.calendar_rows())
        rows.update(self.efficacy_rows())
        return rows

    def summary(self):
        """Scalar metrics with Monte Carlo standard errors (DataFrame: value, se)."""
        import pandas as pd

        return pd.DataFrame.from_dict(self.summary_rows(), orient="index", columns=["value", "se"])

    def to_dict(self) -> dict:
        """The stable JSON schema (documented in docs/simulation.md)."""
        keys = ("selection_pct", "no_selection_pct", "patients_mean", "patients_pct", "dlt_mean", "n_mean",
                "dlt_total_mean", "early_stop_pct", "pcs", "overdose_selection_pct", "overdose_patients_pct",
                "overdose60_pct", "overdose80_pct")
        out = {"method": self.method, "n_trials": self.n_trials, "seed": self.seed}
        out.update({k: _r(self.values[k]) for k in keys[:-2]})
        out["se"] = {k: _r(self.se[k]) for k in keys}
        out.update({k: _r(self.values[k]) for k in keys[-2:]})
        out.update({
            "design": self.design,
            "scenario": self.scenario,
            "true_prob_tox": list(self.true_prob_tox),
            "target": self.target,
            "acceptable": None if self.acceptable is None else list(self.acceptable),
            "correct_doses": [i + 1 for i in self.correct],
            "true_mtd": None if self.true_mtd is None or self.true_mtd < 0 else self.true_mtd + 1,
            "max_n": self.max_n,
            "stop_reasons": {k: _r(v) for k, v in self.stop_reasons.items()},
        })
        if self.calendar is not None:
            out["calendar"] = _rounded(self.calendar)
        if self.efficacy is not None:
            out["efficacy"] = _rounded(self.efficacy)
        return out

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_json(cls, source) -> "OperatingCharacteristics":
        """Read back :meth:`to_json` (JSON text, a path or a dict); see :mod:`~dosefind.simulations.serialize`."""
        from dosefind.simulations.serialize import oc_from_json

        return oc_from_json(source)

    def plot(self):
        """Selection and allocation by dose (a matplotlib Figure; :mod:`dosefind.reports.plots`)."""
        from dosefind.reports.plots import plot_oc

        return plot_oc(self)

    def to_markdown(self, digits: int = 1) -> str:
        """Per-dose table and summary as Markdown (Monte Carlo SEs in parentheses)."""
        def fmt(x, se=None, d=digits):
            if x is None:
                return "-"
            s = f"{x:.{d}f}"
            if se is not None and self.method != "exact":
                s += f" ({se:.{d}f})"
            return s

        v, se = self.values, self.se
        lines = [f"**{self.design}**, scenario {self.scenario} ({self._how()})", "",
                 "| dose | true P(DLT) | selected % | patients (mean) | patients % | DLTs (mean) |",
                 "|---|---|---|---|---|---|"]
        for i in range(self.num_doses):
            mark = " *" if i in self.correct else ""
            lines.append(f"| {self.dose_labels[i]}{mark} | {self.true_prob_tox[i]:.2f} | "
                         f"{fmt(v['selection_pct'][i], se['selection_pct'][i])} | "
                         f"{fmt(v['patients_mean'][i], se['patients_mean'][i], 2)} | "
                         f"{fmt(v['patients_pct'][i])} | {fmt(v['dlt_mean'][i], se['dlt_mean'][i], 2)} |")
        lines += ["", "| metric | value |", "|---|---|"]
        for k in METRICS:
            lines.append(f"| {k} | {fmt(v[k], se[k], 2)} |")
        for k, (val, err) in self.calendar_rows().items():
            lines.append(f"| {k} | {fmt(val, err, 2)} |")
        if self.efficacy is not None:
            eff = self.efficacy
            ev, es = eff["values"], eff["se"]
            lines += ["", "| dose | true P(response) | true utility | OBD selected % | responses (mean) |",
                      "|---|---|---|---|---|"]
            for i in range(self.num_doses):
                mark = " †" if i + 1 in eff["correct_obd"] else ""
                u = "-" if eff["true_utility"] is None else f"{eff['true_utility'][i]:.1f}"
                lines.append(f"| {self.dose_labels[i]}{mark} | {eff['true_prob_eff'][i]:.2f} | {u} | "
                             f"{fmt(ev['obd_selection_pct'][i], es['obd_selection_pct'][i])} | "
                             f"{fmt(ev['responses_mean'][i], es['responses_mean'][i], 2)} |")
            lines += ["", "| phase I/II metric | value |", "|---|---|"]
            for k, (val, err) in self.efficacy_rows().items():
                lines.append(f"| {k} | {fmt(val, err, 2)} |")
            if eff["correct_obd"]:
                lines += ["", "† correct OBD (highest true utility among doses not above the true MTD)"]
        if self.correct:
            lines += ["", "\\* correct dose" + ("s" if len(self.correct) > 1 else "")]
        return "\n".join(lines)

    def _how(self) -> str:
        if self.method == "exact":
            return "exact"
        return f"Monte Carlo, {self.n_trials:,} trials, seed {self.seed}"

    def __repr__(self) -> str:
        pcs = self.values.get("pcs")
        pcs_s = "-" if pcs is None else f"{pcs:.1f}%"
        return (f"OperatingCharacteristics(design={self.design!r}, scenario={self.scenario!r}, "
                f"method={self.method!r}, pcs={pcs_s}, n_mean={self.values['n_mean']:.2f})")
