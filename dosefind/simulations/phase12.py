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

__all__ = ["EFFICACY_STREAM", "EffDecider", "EfficacyTally", "Phase12Setup", "UTILITY_KEYS", "correct_obd",
           "efficacy_block", "efficacy_metrics", "obd_truth", "simulate_exact12", "simulate_mc12", "tox_limit",
           "true_mtd_at", "true_utility", "utility_cells"]

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


def obd_truth(design, joint, target=None, utility=None, limit=None):
    """(true utility per dose or None, true MTD index or None, correct OBD doses) for a
    design and a joint truth (``utility`` and ``limit`` override the design's); phase I
    designs without a utility table get no utility and no correct OBD."""
    table = utility if utility is not None else getattr(design, "utility", None)
    mtd = true_mtd_at(joint.p_tox, limit if limit is not None else tox_limit(design, target))
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
    An engine gets an empty one with the run's truth from ``Phase12Setup(...).tallies()[1]``
    (what ``simulate`` passes a calendar engine as ``phase12=``).
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
        self.E_sum = it(0)
        self.E_sq = it(0)
        for f in ("N_sum", "N_sq", "at_obd_sum", "at_obd_sq", "at_obd_cross", "above_sum",
                  "above_sq", "above_cross", "stop_tox", "stop_futility", "w", "util_w"):
            setattr(self, f, it(0))
        self.util_sum = ft(0)  # utilities are real numbers whatever the engine
        self.util_sq = ft(0)

    def add(self, n, y, e, obd, codes, labels, weights=None) -> "EfficacyTally":
        """Add final trial states (shapes in the class docstring)."""
        n = np.asarray(n, np.int64)
        # The exact engine may pass expected responses (floats) for a phase I design.
        e = np.asarray(e, np.float64 if self.exact else np.int64)
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
        "obd_overdose_patients_pct": 100 * float(t.above_sum) / N_sum if N_sum else 0.0,
        "early_stop_toxicity_pct": 100 * float(t.stop_tox) / w,
        "early_stop_futility_pct": 100 * float(t.stop_futility) / w,
    }
    if exact or w < 2:
        se = {k: (None if x is None else (np.zeros(D) if isinstance(x, np.ndarray) else 0.0)) for k, x in v.items()}
        return v, se

    from dosefind.simulations.results import se_mean, se_proportion, se_ratio

    def prop(pct):
        return se_proportion(pct, w)

    def mean(s, sq, k=w):
        return se_mean(s, sq, k)

    def ratio(a, a_sq, a_cross):
        return float(se_ratio(a, a_sq, a_cross, N_sum, t.N_sq, w))

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
    se["obd_overdose_patients_pct"] = ratio(t.above_sum, t.above_sq, t.above_cross)
    return v, se


# ---------------------------------------------------------------------- decisions
#: Shared deciders kept per process (oldest dropped first), as the phase I Decider.
_DECIDERS_KEPT = 4
_DECIDERS: dict = {}
_CACHE_LIMIT = 1_000_000


class EffDecider:
    """A design's decisions and final selections for arrays of phase I/II count states
    ``(n, y, e, cur, last)`` (shapes as in :class:`EfficacyTally`; ``cur``/``last`` as in
    :mod:`~dosefind.simulations._kernel`), each distinct state asked once.

    A phase I/II design is asked ``design.decide(state)`` and ``design.select_obd(state)``
    on the count state with its responses per dose (the rules live in the design only);
    its OBDSelection's ``mtd_index`` is the MTD reported beside the OBD.  A phase I design
    (responses only tallied) is asked through the phase I
    :class:`~dosefind.simulations._kernel.Decider` on ``(n, y, cur, last)``, so its
    decisions are those of the phase I engines, and its recommended dose is its MTD.
    """

    def __init__(self, design):
        from dosefind.simulations._kernel import Decider

        if design.memory != "counts":
            raise ValueError(f"{design.name}: the cohort phase I/II engine needs a design whose decisions depend on "
                             f"counts only (memory='counts'), got memory={design.memory!r}")
        self.design = design
        self.num_doses = design.num_doses
        self.uses_eff = bool(design.efficacy)
        self.phase1 = None if self.uses_eff else Decider.shared(design)
        self.labels = self.phase1.labels if self.phase1 is not None else []
        self._label_code: dict[str, int] = {}
        self._decide_cache: dict = {}
        self._select_cache: dict = {}
        self.decide_calls = 0
        self.select_calls = 0
        from dosefind.simulations._kernel import _is_plain

        self.pool = None  # a process pool answering new states (simulate_mc12 with workers > 1)
        self.pool_workers = 1
        self._full_stop = None
        if self.uses_eff and design.max_n is not None and _is_plain(design):
            dec = design.decide_pending(design.max_n, 0)
            if dec is not None and dec.stop:
                self._full_stop = (-1, self.code(dec.code.value))

    @classmethod
    def shared(cls, design) -> "EffDecider":
        from dosefind.simulations.tables import design_key

        key = design_key(design, False)
        d = _DECIDERS.get(key)
        if d is None or (key[3][0] == "id" and d.design is not design):
            while len(_DECIDERS) >= _DECIDERS_KEPT:
                _DECIDERS.pop(next(iter(_DECIDERS)))
            d = _DECIDERS[key] = cls(design)
        return d

    def code(self, label: str) -> int:
        if self.phase1 is not None:
            return self.phase1.code(label)
        c = self._label_code.get(label)
        if c is None:
            c = self._label_code[label] = len(self.labels)
            self.labels.append(label)
        return c

    def state(self, n, y, e, cur, last):
        """The TrialState shown to the design: the phase I count state (its last cohort's
        DLTs and current dose) with the responses per dose."""
        from dosefind.simulations._kernel import count_state

        return count_state(self.design, n, y, cur, last, eff=e)

    def _distinct(self, n, y, e, cur, last):
        from dosefind.simulations._kernel import unique_rows

        rows = np.concatenate([n, y, e, cur[:, None], last[:, None]], axis=1).astype(np.int32, copy=False)
        first, inverse = unique_rows(rows)
        distinct = rows[first]
        return distinct, inverse, [r.tobytes() for r in distinct]

    def answer(self, rows: np.ndarray, what: str) -> list:
        """The design's answers for state rows (n, y, e, cur, last): ``(next index or -1,
        code value)`` for ``what="decide"``, ``(OBD index, MTD index)`` (-1: none) for
        ``"select"``."""
        D = self.num_doses
        out = []
        for r in rows.tolist():
            state = self.state(r[:D], r[D:2 * D], r[2 * D:3 * D], r[3 * D], r[3 * D + 1])
            if what == "decide":
                dec = self.design.decide(state)
                out.append((-1 if dec.stop else int(dec.dose_index), dec.code.value))
            else:
                sel = self.design.select_obd(state)
                out.append((-1 if sel.obd_index is None else int(sel.obd_index),
                            -1 if sel.mtd_index is None else int(sel.mtd_index)))
        return out

    def _ask(self, rows: np.ndarray, what: str) -> list:
        """:meth:`answer` here, or split over the worker pool when one is attached and
        there are enough new states to pay for the transfer (same answers either way)."""
        if what == "decide":
            self.decide_calls += len(rows)
        else:
            self.select_calls += len(rows)
        pool = self.pool
        if pool is None or len(rows) < POOL_MIN_STATES:
            return self.answer(rows, what)
        parts = np.array_split(rows, 2 * self.pool_workers)
        out = []
        for part in pool.map(_pool_answer, parts, [what] * len(parts)):
            out.extend(part)
        return out

    def decide(self, n, y, e, cur, last):
        """Next dose index (-1: stop) and reason code (index into ``labels``) per state."""
        if self.phase1 is not None:
            return self.phase1.decide(n, y, cur, last)
        if n.shape[0] == 0:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        T = n.shape[0]
        out_n = np.empty(T, np.int64)
        out_c = np.empty(T, np.int64)
        todo = np.arange(T)
        if self._full_stop is not None:
            # The size limit is the design's own rule (Design.decide_pending), asked once.
            full = n.sum(axis=1) >= self.design.max_n
            out_n[full], out_c[full] = self._full_stop
            todo = np.flatnonzero(~full)
            if not todo.size:
                return out_n, out_c
            n, y, e, cur, last = n[todo], y[todo], e[todo], cur[todo], last[todo]
        distinct, inverse, keys = self._distinct(n, y, e, cur, last)
        cache = self._decide_cache
        if len(cache) > _CACHE_LIMIT:
            cache.clear()
        miss = [j for j, k in enumerate(keys) if k not in cache]
        for j, (a, label) in zip(miss, self._ask(distinct[miss], "decide")):
            cache[keys[j]] = (a, self.code(label))
        nxt = np.empty(len(keys), np.int64)
        code = np.empty(len(keys), np.int64)
        for j, k in enumerate(keys):
            nxt[j], code[j] = cache[k]
        out_n[todo], out_c[todo] = nxt[inverse], code[inverse]
        return out_n, out_c

    def select(self, n, y, e, cur, last):
        """(OBD index, MTD index) per final state, -1 for none."""
        if self.phase1 is not None:
            mtd = self.phase1.select(n, y, cur, last)
            return mtd, mtd
        if n.shape[0] == 0:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        distinct, inverse, keys = self._distinct(n, y, e, cur, last)
        cache = self._select_cache
        if len(cache) > _CACHE_LIMIT:
            cache.clear()
        miss = [j for j, k in enumerate(keys) if k not in cache]
        for j, pair in zip(miss, self._ask(distinct[miss], "select")):
            cache[keys[j]] = pair
        obd = np.empty(len(keys), np.int64)
        mtd = np.empty(len(keys), np.int64)
        for j, k in enumerate(keys):
            obd[j], mtd[j] = cache[k]
        return obd[inverse], mtd[inverse]


#: New states per step below which the pool is not used (transfer costs more).
POOL_MIN_STATES = 400

_POOL_DESIGN = None


def _pool_init(parent_pid, design):
    from dosefind.simulations.monte_carlo import _worker_init

    global _POOL_DESIGN
    _worker_init(parent_pid)
    _POOL_DESIGN = design


def _pool_answer(rows, what):
    return EffDecider.shared(_POOL_DESIGN).answer(rows, what)


# ---------------------------------------------------------------------- setup
class Phase12Setup:
    """What one phase I/II simulation needs besides the design: the joint truth, the
    phase I above-MTD mask (of the phase I metrics) and the OBD truth."""

    def __init__(self, design, joint, above_mask, target=None, utility=None, limit=None):
        from dosefind import _validate as V

        self.joint = joint
        self.above_mask = np.asarray(above_mask, bool)
        if limit is not None:
            limit = V.probability(limit, "tox_limit")
        self.limit = limit if limit is not None else tox_limit(design, target)
        self.utility, self.mtd, self.correct = obd_truth(design, joint, target, utility=utility, limit=self.limit)
        self.max_n = design.max_n
        self.num_doses = design.num_doses

    def tallies(self, exact: bool = False):
        from dosefind.simulations._kernel import Tally

        return (Tally(self.num_doses, exact=exact),
                EfficacyTally(self.num_doses, self.utility, self.correct, self.mtd, exact=exact))


def _add_final(setup, decider, tallies, n, y, e, cur, last, reason, weights=None):
    obd, mtd = decider.select(n, y, e, cur, last)
    tally, eff = tallies
    tally.add(n, y, mtd, reason, decider.labels, setup.above_mask, setup.max_n, weights=weights)
    eff.add(n, y, e, obd, reason, decider.labels, weights=weights)


def _cohort_size(design, treated):
    from dosefind.simulations.tables import patient_cap

    m = design.cohort_size if design.max_n is None else min(design.cohort_size, design.max_n - treated)
    if m <= 0 or treated + m > patient_cap(design):
        raise RuntimeError(f"{design.name}: a simulated trial did not stop after {treated} patients; "
                           "give the design a maximum sample size (max_n)")
    return m


# ---------------------------------------------------------------------- Monte Carlo
def run_block12(decider: EffDecider, setup: Phase12Setup, seed: int, chunks):
    """Simulate the seed chunks ``chunks`` [(index, size), ...] together, cohort by
    cohort; their (phase I Tally, EfficacyTally)."""
    from dosefind.simulations.patients import PatientUniforms, chunk_seed

    design = decider.design
    D = design.num_doses
    size = sum(s for _, s in chunks)
    tox_streams = [PatientUniforms(chunk_seed(seed, i), s) for i, s in chunks]
    eff_streams = [PatientUniforms(np.random.SeedSequence(seed, spawn_key=(i, EFFICACY_STREAM)), s)
                   for i, s in chunks]
    joint = setup.joint
    n = np.zeros((size, D), np.int32)
    y = np.zeros((size, D), np.int32)
    e = np.zeros((size, D), np.int32)
    cur = np.full(size, -1, np.int32)
    last = np.full(size, -1, np.int32)
    reason = np.zeros(size, np.int64)
    active = np.arange(size)
    treated = 0
    while True:
        nxt, code = decider.decide(n[active], y[active], e[active], cur[active], last[active])
        stop = nxt < 0
        reason[active[stop]] = code[stop]
        active, nxt = active[~stop], nxt[~stop]
        if not active.size:
            break
        m = _cohort_size(design, treated)
        # Every trial's next m patients are drawn, running or not, so patient i is the same
        # person for every design (common random numbers).
        u_t = np.hstack([s.next(m) for s in tox_streams])[:, active]
        u_e = np.hstack([s.next(m) for s in eff_streams])[:, active]
        tox, resp = joint.sample(u_t, u_e, np.broadcast_to(nxt, u_t.shape))
        k_t = tox.sum(axis=0, dtype=np.int32)
        n[active, nxt] += m
        y[active, nxt] += k_t
        e[active, nxt] += resp.sum(axis=0, dtype=np.int32)
        cur[active] = nxt
        last[active] = k_t
        treated += m
    tallies = setup.tallies()
    _add_final(setup, decider, tallies, n, y, e, cur, last, reason)
    return tallies


def simulate_mc12(design, setup: Phase12Setup, n_trials: int, seed: int, *, workers: int = 1, progress=None):
    """(Tally, EfficacyTally) of ``n_trials`` trials; identical for any ``workers``."""
    import os
    import sys

    from dosefind.simulations.monte_carlo import _mp_context
    from dosefind.simulations.patients import chunk_sizes

    chunks = list(enumerate(chunk_sizes(n_trials)))
    workers = max(1, min(int(workers), len(chunks), os.cpu_count() or 1))
    total = setup.tallies()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n_trials, unit="trial", unit_scale=True, desc=design.name, file=sys.stderr, leave=False)
    def run_all(decider):
        for block in [chunks[i:i + 5] for i in range(0, len(chunks), 5)]:
            a, b = run_block12(decider, setup, seed, block)
            total[0].merge(a)
            total[1].merge(b)
            if bar is not None:
                bar.update(sum(s for _, s in block))

    try:
        if workers == 1:
            run_all(EffDecider.shared(design))
        else:
            # Trials advance here, in one process; the design's answers for the new states
            # of each step are computed by the workers (each distinct state is asked once,
            # as with one worker, so the results are the same for any number of workers).
            from concurrent.futures import ProcessPoolExecutor

            decider = EffDecider.shared(design)
            with ProcessPoolExecutor(max_workers=workers, mp_context=_mp_context(), initializer=_pool_init,
                                     initargs=(os.getpid(), design)) as pool:
                decider.pool, decider.pool_workers = pool, workers
                try:
                    run_all(decider)
                finally:
                    decider.pool, decider.pool_workers = None, 1
    finally:
        if bar is not None:
            bar.close()
    return total


# ---------------------------------------------------------------------- exact
def _compositions(m: int):
    """All (N, T, E, B) counts summing to m, with their multinomial coefficients."""
    from math import factorial

    out = []
    for a in range(m + 1):
        for b in range(m + 1 - a):
            for c in range(m + 1 - a - b):
                d = m - a - b - c
                out.append(((a, b, c, d), factorial(m) // (factorial(a) * factorial(b) * factorial(c) * factorial(d))))
    return out


def simulate_exact12(design, setup: Phase12Setup, *, max_states: int):
    """(Tally, EfficacyTally) weighted by exact probabilities: every cohort's outcome is
    multinomial over the joint cells (N, T, E, B) at its dose, and states with equal
    ``(n, y, e, cur, last)`` are merged (equal futures for a count design).  Raises
    :class:`~dosefind.simulations.exact.StateSpaceTooLarge` past ``max_states`` states."""
    from dosefind.simulations._kernel import unique_rows
    from dosefind.simulations.exact import StateSpaceTooLarge

    decider = EffDecider.shared(design)
    D = design.num_doses
    cells = np.asarray(setup.joint.table, float)
    # A phase I design's decisions ignore responses: its states are merged on (n, y, cur,
    # last) as in the phase I exact engine, each carrying its expected responses per dose
    # (the probability-weighted mean over the merged histories), which is all the mean
    # response metrics need.  A phase I/II design's states keep their response counts.
    track = decider.uses_eff
    n = np.zeros((1, D), np.int32)
    y = np.zeros((1, D), np.int32)
    e = np.zeros((1, D), np.int32 if track else np.float64)
    cur = np.full(1, -1, np.int32)
    last = np.full(1, -1, np.int32)
    prob = np.ones(1)
    tallies = setup.tallies(exact=True)
    treated = visited = 0
    while prob.size:
        visited += prob.size
        if visited > max_states:
            raise StateSpaceTooLarge(f"the exact phase I/II state space of {design.name} exceeds "
                                     f"max_states={max_states} states; use method='mc' (Monte Carlo), or raise "
                                     "max_states")
        nxt, code = decider.decide(n, y, e, cur, last)
        stop = nxt < 0
        if stop.any():
            _add_final(setup, decider, tallies, n[stop], y[stop], e[stop], cur[stop], last[stop], code[stop],
                       weights=prob[stop])
        go = ~stop
        if not go.any():
            break
        n, y, e, cur, last, prob, nxt = n[go], y[go], e[go], cur[go], last[go], prob[go], nxt[go]
        m = _cohort_size(design, treated)
        rows = np.arange(prob.size)
        q = cells[nxt]  # (S, 4) cell probabilities at each state's next dose
        parts = []
        for (a_n, a_t, a_e, a_b), coef in _compositions(m):
            pk = prob * coef * q[:, 0] ** a_n * q[:, 1] ** a_t * q[:, 2] ** a_e * q[:, 3] ** a_b
            keep = pk > 0
            if not keep.any():
                continue
            r = rows[keep]
            c_n, c_y, c_e = n[r].copy(), y[r].copy(), e[r].copy()
            at = np.arange(r.size), nxt[keep]
            c_n[at] += m
            c_y[at] += a_t + a_b
            c_e[at] += a_e + a_b
            parts.append((c_n, c_y, c_e, nxt[keep].astype(np.int32), np.full(r.size, a_t + a_b, np.int32), pk[keep]))
        n, y, e, cur, last, prob = (np.concatenate([p[i] for p in parts]) for i in range(6))
        cols = [n, y, e, cur[:, None], last[:, None]] if track else [n, y, cur[:, None], last[:, None]]
        first, inverse = unique_rows(np.concatenate(cols, axis=1).astype(np.int32))
        merged = np.bincount(inverse, weights=prob, minlength=first.size)
        if not track:
            e = np.stack([np.bincount(inverse, weights=prob * e[:, d], minlength=first.size) for d in range(D)],
                         axis=1) / merged[:, None]
        else:
            e = e[first]
        prob = merged
        n, y, cur, last = n[first], y[first], cur[first], last[first]
        treated += m
    tallies[0].states_visited = visited
    return tallies


# ---------------------------------------------------------------------- result block
#: Per-dose and scalar phase I/II metrics, in the order they are reported.
PER_DOSE = ("obd_selection_pct", "responses_mean")
SCALARS = ("pct_correct_obd", "obd_no_selection_pct", "obd_overdose_pct", "utility_selected_mean",
           "patients_at_obd_mean", "patients_at_obd_pct", "obd_overdose_patients_pct", "response_total_mean",
           "early_stop_toxicity_pct", "early_stop_futility_pct")


def efficacy_block(etally: EfficacyTally, setup: Phase12Setup, exact: bool) -> dict:
    """The ``efficacy`` block of an OperatingCharacteristics: metrics (values, se) and the
    truth they were measured against (1-based dose levels)."""
    v, se = efficacy_metrics(etally, exact)
    j = setup.joint
    return {"values": v, "se": se,
            "true_prob_eff": [float(x) for x in j.p_eff],
            "tox_eff_correlation": [float(x) for x in j.correlation],
            "joint_table": [[float(x) for x in row] for row in j.table],
            "true_utility": None if setup.utility is None else [float(x) for x in setup.utility],
            "tox_limit": setup.limit,
            "true_mtd": None if setup.mtd is None else setup.mtd + 1,
            "correct_obd": [i + 1 for i in setup.correct]}
