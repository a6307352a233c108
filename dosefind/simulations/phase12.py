"""Phase I/II simulation: DLT and response per patient, the optimal biological dose (OBD).

A phase I/II design (``design.efficacy`` True, e.g. BOIN12) decides on toxicity and
response counts and ends with :meth:`~dosefind.designs.base.Design.select_obd`.  This
module holds what every engine that simulates such designs shares -- the truth (true
utility per dose, the true MTD and the correct OBD), :class:`EfficacyTally` (sufficient
statistics of final trial states, the way :class:`~dosefind.simulations._kernel.Tally`
holds the phase I ones) and the metrics computed from it -- and the cohort engines
(Monte Carlo and exact) for designs with ``memory = "counts"``.

**Truth.**  The true utility of dose ``d`` is the design's utility table applied to the
true joint cell probabilities (:class:`~dosefind.simulations.joint.JointOutcomes`)::

    U_d = u(E) P(response, no DLT) + u(N) P(neither) + u(B) P(both) + u(T) P(DLT, no response)

with ``design.utility`` = {"eff_no_tox": u(E), "no_eff_no_tox": u(N), "eff_tox": u(B),
"no_eff_tox": u(T)} (BOIN12's table; the utility of Lin et al. 2020 on a 0-100 scale).
The *true MTD* here is the highest dose whose true DLT rate is <= the toxicity limit
(the design's ``phi_t``, else the ``target`` of the simulation); the *correct OBD* is the
dose with the highest true utility among doses not above the true MTD (ties: every tied
dose is correct).  When even the lowest dose is above the limit there is no true MTD,
and the correct decision is to select no dose.

**Common random numbers.**  The DLT of patient ``i`` of trial ``t`` is ``u < P(DLT)``
with the very uniform the phase I engines use (chunk stream 0), and the response comes
from its own stream, ``SeedSequence(seed, spawn_key=(chunk, 8))`` (the calendar engine's
``STREAMS["efficacy"]``), drawn patient-major as well.  So a phase I design and a phase
I/II design simulated with one seed treat the same patients and see the same DLTs.
"""

from __future__ import annotations

import numpy as np

from dosefind.state import ReasonCode

__all__ = ["EFFICACY_STREAM", "EfficacyTally", "UTILITY_KEYS", "correct_obd", "efficacy_metrics",
           "obd_truth", "tox_limit", "true_mtd_at", "true_utility", "utility_cells"]

#: Seed stream (``spawn_key=(chunk, EFFICACY_STREAM)``) of the response uniforms.
EFFICACY_STREAM = 8

#: Utility-table keys per joint cell, in the cell order (N, T, E, B) of JointOutcomes.
UTILITY_KEYS = ("no_eff_no_tox", "no_eff_tox", "eff_no_tox", "eff_tox")

#: Stop codes counted as early stopping for toxicity.
TOXICITY_STOPS = frozenset({ReasonCode.LOWEST_TOO_TOXIC.value, ReasonCode.EXTRA_SAFE.value})
#: Stop codes counted as early stopping for futility.
FUTILITY_STOPS = frozenset({ReasonCode.FUTILITY.value})

_TOL = 1e-12


# ---------------------------------------------------------------------- truth
def utility_cells(utility) -> np.ndarray:
    """The utility table as an array in cell order (N, T, E, B)."""
    if utility is None:
        raise ValueError("the design has no utility table (a dict with keys " + ", ".join(UTILITY_KEYS) + ")")
    try:
        return np.array([float(utility[k]) for k in UTILITY_KEYS])
    except KeyError as exc:
        raise ValueError(f"utility table is missing {exc.args[0]!r}; it needs the keys "
                         + ", ".join(UTILITY_KEYS)) from None


def true_utility(utility, joint) -> np.ndarray:
    """True utility per dose: ``utility`` (dict or cell array) applied to ``joint.table``."""
    u = utility if isinstance(utility, np.ndarray) else utility_cells(utility)
    return np.asarray(joint.table, float) @ u


def tox_limit(design, target=None) -> float | None:
    """The DLT rate defining the true MTD for OBD metrics: the design's ``phi_t``, else
    ``target`` (the simulation's, else the design's own)."""
    for v in (getattr(design, "phi_t", None), target, getattr(design, "target", None)):
        if v is not None:
            return float(v)
    return None


def true_mtd_at(true_prob_tox, limit) -> int | None:
    """Highest 0-based dose with true DLT rate <= ``limit`` (None: none, or no limit)."""
    if limit is None:
        return None
    ok = np.flatnonzero(np.asarray(true_prob_tox, float) <= limit + _TOL)
    return int(ok.max()) if ok.size else None


def correct_obd(utility_per_dose, mtd) -> tuple[int, ...]:
    """0-based doses with the highest true utility among doses 0..``mtd`` (empty when
    ``mtd`` is None: the correct decision is then no selection)."""
    if mtd is None:
        return ()
    u = np.asarray(utility_per_dose, float)[: mtd + 1]
    return tuple(int(i) for i in np.flatnonzero(u >= u.max() - 1e-9))


def obd_truth(design, joint, target=None, utility=None):
    """(true utility per dose or None, true MTD index or None, correct OBD doses) for a
    design and a joint truth; phase I designs without a utility table get no utility and
    no correct OBD."""
    table = utility if utility is not None else getattr(design, "utility", None)
    mtd = true_mtd_at(joint.p_tox, tox_limit(design, target))
    if table is None:
        return None, mtd, ()
    u = true_utility(table, joint)
    return u, mtd, correct_obd(u, mtd)


# ---------------------------------------------------------------------- tally
class EfficacyTally:
    """Sufficient statistics of final phase I/II trial states (sums over trials).

    Parameters
    ----------
    num_doses : int
    true_utility : array (D,) or None
        True utility per dose (:func:`true_utility`); None when no utility table applies
        (a phase I design): the utility metrics are then None.
    correct : tuple of int
        0-based correct OBD doses (:func:`correct_obd`); empty: no selection is correct.
    mtd : int or None
        0-based true MTD (:func:`true_mtd_at`); doses above it are overdoses.
    exact : bool
        Sums of probabilities (exact engine) instead of integer counts.

    :meth:`add` takes per-trial arrays, one row per trial (``T`` trials, ``D`` doses):

    ``n`` (T, D) int    patients treated at each dose
    ``y`` (T, D) int    DLTs at each dose
    ``e`` (T, D) int    responses at each dose
    ``obd`` (T,) int    0-based selected dose, -1 for no selection
    ``codes`` (T,) int  index into ``labels`` of the final decision's ReasonCode value
    ``labels``          sequence of ReasonCode values (str), e.g. a Decider's ``labels``
    ``weights`` (T,)    optional: trials (int) or probability (float) per row

    Integer tallies add exactly, so chunk tallies merged in any order give one result.
    """

    FIELDS = ("obd_sel", "e_sum", "e_sq", "E_sum", "E_sq", "N_sum", "N_sq", "util_sum", "util_sq", "util_w",
              "at_obd_sum", "at_obd_sq", "at_obd_cross", "above_sum", "above_sq", "above_cross", "stop_tox",
              "stop_futility", "w")

    def __init__(self, num_doses: int, true_utility=None, correct=(), mtd=None, exact: bool = False):
        D = int(num_doses)
        self.num_doses = D
        self.exact = bool(exact)
        self.true_utility = None if true_utility is None else np.asarray(true_utility, float)
        self.correct = tuple(int(i) for i in correct)
        self.mtd = None if mtd is None else int(mtd)
        self.above_mask = np.zeros(D, bool)
        self.above_mask[(0 if self.mtd is None else self.mtd + 1):] = True
        self.correct_mask = np.zeros(D, bool)
        self.correct_mask[list(self.correct)] = True
        ft = np.float64
        it = np.float64 if exact else np.int64
        self.obd_sel = np.zeros(D + 1, it)
        self.e_sum = np.zeros(D, it)
        self.e_sq = np.zeros(D, it)
        for f in ("E_sum", "E_sq", "N_sum", "N_sq", "at_obd_sum", "at_obd_sq", "at_obd_cross", "above_sum",
                  "above_sq", "above_cross", "stop_tox", "stop_futility", "w", "util_w"):
            setattr(self, f, it(0))
        self.util_sum = ft(0)  # utilities are real numbers whatever the engine
        self.util_sq = ft(0)

    def add(self, n, y, e, obd, codes, labels, weights=None) -> "EfficacyTally":
        """Add final trial states (shapes in the class docstring)."""
        n = np.asarray(n, np.int64)
        e = np.asarray(e, np.int64)
        obd = np.asarray(obd, np.int64)
        codes = np.asarray(codes, np.int64)
        D = self.num_doses
        if n.ndim != 2 or n.shape[1] != D or e.shape != n.shape or obd.shape != (n.shape[0],):
            raise ValueError(f"EfficacyTally.add needs n and e of shape (T, {D}) and obd of shape (T,), got "
                             f"{n.shape}, {e.shape} and {obd.shape}")
        if weights is None:
            w = np.ones(n.shape[0], np.int64)
        else:
            w = np.asarray(weights)
            if not self.exact and not np.issubdtype(w.dtype, np.integer):
                raise ValueError("a Monte Carlo EfficacyTally takes integer weights (trials per row)")
        wc = w[:, None]
        N = n.sum(axis=1)
        E = e.sum(axis=1)
        at = n[:, self.correct_mask].sum(axis=1)
        above = n[:, self.above_mask].sum(axis=1)
        self.obd_sel += np.bincount(np.where(obd < 0, D, obd), weights=w, minlength=D + 1).astype(self.obd_sel.dtype)
        self.e_sum += (wc * e).sum(axis=0)
        self.e_sq += (wc * e * e).sum(axis=0)
        self.E_sum += (w * E).sum()
        self.E_sq += (w * E * E).sum()
        self.N_sum += (w * N).sum()
        self.N_sq += (w * N * N).sum()
        self.at_obd_sum += (w * at).sum()
        self.at_obd_sq += (w * at * at).sum()
        self.at_obd_cross += (w * at * N).sum()
        self.above_sum += (w * above).sum()
        self.above_sq += (w * above * above).sum()
        self.above_cross += (w * above * N).sum()
        if self.true_utility is not None:
            chosen = obd >= 0
            u = self.true_utility[obd[chosen]]
            self.util_sum += float((w[chosen] * u).sum())
            self.util_sq += float((w[chosen] * u * u).sum())
            self.util_w += w[chosen].sum()
        tox = np.array([lab in TOXICITY_STOPS for lab in labels], bool)
        fut = np.array([lab in FUTILITY_STOPS for lab in labels], bool)
        if codes.size and tox.size:
            self.stop_tox += w[tox[codes]].sum()
            self.stop_futility += w[fut[codes]].sum()
        self.w += w.sum()
        return self

    def merge(self, other: "EfficacyTally") -> "EfficacyTally":
        for f in self.FIELDS:
            setattr(self, f, getattr(self, f) + getattr(other, f))
        return self


# ---------------------------------------------------------------------- metrics
def efficacy_metrics(t: EfficacyTally, exact: bool = False) -> tuple[dict, dict]:
    """(values, se) of the phase I/II operating characteristics (definitions in
    docs/simulation.md and :mod:`~dosefind.simulations.results`).  ``se`` holds Monte
    Carlo standard errors (zero for the exact engine; None where the value is None)."""
    D = t.num_doses
    f = lambda a: np.asarray(a, dtype=float)  # noqa: E731
    w = float(t.w)
    sel = f(t.obd_sel)
    N_sum = float(t.N_sum)
    has_util = t.true_utility is not None
    uw = float(t.util_w)
    v = {
        "obd_selection_pct": 100 * sel[:D] / w,
        "obd_no_selection_pct": float(100 * sel[D] / w),
        "pct_correct_obd": (float(100 * (sel[list(t.correct)].sum() if t.correct else sel[D]) / w)
                            if has_util else None),
        "obd_overdose_pct": float(100 * sel[:D][t.above_mask].sum() / w),
        "responses_mean": f(t.e_sum) / w,
        "response_total_mean": float(t.E_sum) / w,
        "utility_selected_mean": (float(t.util_sum) / uw if uw else None) if has_util else None,
        "patients_at_obd_mean": float(t.at_obd_sum) / w if has_util and t.correct else None,
        "patients_at_obd_pct": (100 * float(t.at_obd_sum) / N_sum if N_sum else 0.0) if has_util and t.correct
        else None,
        "overdose_patients_pct": 100 * float(t.above_sum) / N_sum if N_sum else 0.0,
        "early_stop_toxicity_pct": 100 * float(t.stop_tox) / w,
        "early_stop_futility_pct": 100 * float(t.stop_futility) / w,
    }
    if exact or w < 2:
        se = {k: (None if x is None else (np.zeros(D) if isinstance(x, np.ndarray) else 0.0)) for k, x in v.items()}
        return v, se

    def prop(pct):
        q = np.asarray(pct, float) / 100
        return 100 * np.sqrt(q * (1 - q) / w)

    def mean(s, sq, k=w):
        s, sq = f(s), f(sq)
        var = np.maximum(sq - s * s / k, 0) / (k - 1)
        return np.sqrt(var / k)

    def ratio(a, a_sq, a_cross):
        a, a_sq, a_cross = float(a), float(a_sq), float(a_cross)
        if not N_sum:
            return 0.0
        r = a / N_sum
        resid = max(a_sq - 2 * r * a_cross + r * r * float(t.N_sq), 0.0)
        return float(100 * np.sqrt(resid / ((w - 1) * w)) / (N_sum / w))

    se = {k: None for k in v}
    se["obd_selection_pct"] = prop(v["obd_selection_pct"])
    for k in ("obd_no_selection_pct", "obd_overdose_pct", "early_stop_toxicity_pct", "early_stop_futility_pct"):
        se[k] = float(prop(v[k]))
    if v["pct_correct_obd"] is not None:
        se["pct_correct_obd"] = float(prop(v["pct_correct_obd"]))
    se["responses_mean"] = mean(t.e_sum, t.e_sq)
    se["response_total_mean"] = float(mean(t.E_sum, t.E_sq))
    se["utility_selected_mean"] = (float(mean(t.util_sum, t.util_sq, uw)) if uw >= 2 else 0.0) \
        if v["utility_selected_mean"] is not None else None
    if v["patients_at_obd_mean"] is not None:
        se["patients_at_obd_mean"] = float(mean(t.at_obd_sum, t.at_obd_sq))
        se["patients_at_obd_pct"] = ratio(t.at_obd_sum, t.at_obd_sq, t.at_obd_cross)
    se["overdose_patients_pct"] = ratio(t.above_sum, t.above_sq, t.above_cross)
    return v, se
