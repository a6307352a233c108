"""Calendar-time engine: each trial on its own clock, patients arriving one at a time.

The conventions follow TITEgBOIN's simulator (``get_oc_TITE_QuasiBOIN``, cran/TITEgBOIN):

* The first patient arrives on day 0; then arrivals follow the :class:`Accrual` process.
* Decisions are taken when a patient arrives.  The design is asked at the arrival of the
  first patient of each cohort; the next ``cohort_size - 1`` arrivals join that cohort
  at the same dose (dfcrm ``titesim`` is the case ``cohort_size = 1``).  The last cohort
  is cut so that no more than ``max_n`` places are used.
* A *wait* decision (``Decision.pause``) turns the arriving patient away (counted in
  ``turned_away``); the design is asked again at the next arrival.  Count and history
  designs wait while any enrolled patient is pending (base-class rule), i.e. for the full
  follow-up of the cohort; TITE designs (``memory = "patients"``) decide with pending
  patients.  A design with a :class:`~dosefind.designs.backfill.Backfill` link offers the
  arrival to its backfill rule first (count designs only) (enrolled at a cleared lower dose, counted in
  ``backfilled``); the escalation then waits for its own cohort and decides on complete data
  (the rule's escalation design).  By default (BF-BOIN) only escalation patients count against
  ``max_n``, and the trial ends, and is analysed, when the last escalation window is over.
* A patient enrolled on day ``a`` is infused on ``a + vein_to_vein`` (unless the product
  fails; the failure is known that day), has a DLT on ``infusion + t`` if any
  (:class:`ToxicityTiming`), and is complete at the DLT or at ``infusion + window``.
* The trial ends, and its *duration* is measured, at the last infusion plus the window
  (TITEgBOIN: ``max(t.enter) + maxt``), whatever the reason for stopping; the MTD is
  selected on the complete data.

Common random numbers: patient ``k`` (enrolment order) of trial ``t`` draws row ``k`` of
each latent stream of its seed chunk; arrival ``j`` draws row ``j`` of the arrival stream.
Stream 0 is the cohort engine's patient stream (:func:`~dosefind.simulations.patients.chunk_seed`),
so with arrivals slow enough that everyone is followed before the next decision a count
design gives exactly the cohort engine's trials.  The other streams are
``SeedSequence(seed, spawn_key=(chunk, s))`` with ``s`` in :data:`STREAMS`.

How designs are called.  The empty state: ``design.decide`` once.  ``memory = "counts"``:
count rows (n, y, current dose, last cohort's DLTs) cached per distinct key, with the
design's ``decide_batch`` on new keys when it has one; while patients are pending,
:meth:`~dosefind.designs.base.Design.decide_pending`.  ``"history"``: one TrialState per
trial, cached per state.  ``"patients"``: per-patient records at the decision day; a
plain design (not a ``.then()`` chain) may offer the array fast path::

    decide_patients_batch(dose, dlt, followup, complete, current_index, time)
        dose      int64 (B, K)   0-based dose per enrolled patient (enrolment order),
                                 -1 for no patient (padding, a failed product)
        dlt       int8 (B, K)    1 if a DLT has been observed by ``time``
        followup  float64 (B, K) days of follow-up so far in [0, window] (DLT: its day;
                                 product still being made: 0)
        complete  bool (B, K)    assessment finished (DLT seen or window over)
        current_index int64 (B,) dose of the latest patient present, as TrialState.from_patients
                                 has it (never called on a trial without patients)
        time      float64 (B,)   calendar day of the decision
        -> next_index int64 (B,) (dose for action 0, else -1), action int (B,)
           (0 treat, 1 wait, 2 stop), codes: B ReasonCode members, their values, or
           integers indexing list(ReasonCode)

which must apply the same rules as ``decide`` (``max_n`` included).  Otherwise the
engine builds ``TrialState.from_patients(records, D, time=day)`` per trial.  Final
selection, on complete data: the design's ``select_mtd_batch`` on counts when a plain
design has it (for a "patients" design, its promise that the final selection depends on
counts only), else ``select_mtd`` per distinct final state.

Phase I/II (``joint`` / ``phase12`` given; docs/calendar.md).  Each patient also has a
response (stream 8, :meth:`JointOutcomes.sample` with the stream-0 DLT uniform) seen at a
day within the efficacy window (stream 9, ``setup.eff_timing``); the efficacy assessment
ends at the response or the window's end.  A design with ``efficacy = True`` and
``memory = "counts"`` decides once both assessments of everyone are complete, on
``(n, y, e, cur, last)`` through :class:`~dosefind.simulations.phase12.EffDecider`; a
"patients" design gets ``eff``, ``eff_complete`` and ``eff_followup`` (B, K) as keyword
arguments of ``decide_patients_batch`` (and in the Patient records otherwise).  The trial
ends at the last infusion plus the longer window.  Final selection: ``select_obd`` on the
complete data, or a plain "patients" design's ``select_obd_batch(n_at_dose, tox_at_dose,
eff_at_dose, current_index) -> (obd, mtd)`` (None: not possible, use the records).
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from dosefind.simulations._kernel import Tally
from dosefind.simulations.patients import CHUNK_SIZE, chunk_seed, chunk_sizes
from dosefind.simulations.timing import (Accrual, EfficacyTiming, Manufacturing, ToxicityComponents, ToxicityTiming,
                                         check_eff_window)
from dosefind.state import Cohort, Patient, ReasonCode, TrialState

__all__ = ["CalendarSetup", "STREAMS", "simulate_calendar"]

#: Latent streams after stream 0 (DLT / CRS uniform).  Part of the reproducibility
#: contract: the efficacy streams are reserved for phase I/II designs (issue 11).
STREAMS = {"icans": 1, "other": 2, "time": 3, "arrival": 4, "failure": 5, "vein_to_vein": 6, "feasibility": 7,
           "efficacy": 8, "efficacy_time": 9}

#: Safety cap on patients per trial for designs without ``max_n``.
MAX_PATIENTS = 1000
#: Cached decisions per run before the cache is emptied (bounds memory).
CACHE_LIMIT = 200_000
#: Arrivals per trial before the engine gives up (a design that never stops waiting).
MAX_ARRIVALS_FACTOR = 200

_TREAT, _WAIT, _STOP = 0, 1, 2


class CalendarSetup:
    """Everything about the calendar that a run needs (validated once)."""

    def __init__(self, *, window: float, accrual: Accrual, timing: ToxicityTiming, manufacturing: Manufacturing,
                 components: ToxicityComponents | None = None, eff_window: float | None = None,
                 eff_timing: EfficacyTiming | None = None):
        self.window = float(window)
        self.accrual = accrual
        self.timing = timing
        self.manufacturing = manufacturing
        self.components = components
        # Efficacy assessment (phase I/II runs): None = the design's eff_window, else the DLT window.
        self.eff_window = None if eff_window is None else check_eff_window(eff_window)
        if eff_timing is not None and not isinstance(eff_timing, EfficacyTiming):
            raise TypeError(f"eff_timing must be an EfficacyTiming, got {type(eff_timing).__name__}")
        self.eff_timing = EfficacyTiming.uniform() if eff_timing is None else eff_timing

    def eff_window_for(self, design) -> float:
        """The efficacy window of a run: the setup's, else the design's ``eff_window``, else
        the DLT window; a design's own window must agree with the setup's."""
        own = getattr(design, "eff_window", None)
        if self.eff_window is None:
            return float(own) if own is not None else self.window
        if own is not None and abs(float(own) - self.eff_window) > 1e-9:
            raise ValueError(f"eff_window ({self.eff_window:g}) differs from the design's eff_window ({float(own):g})")
        return self.eff_window

    def to_dict(self) -> dict:
        out = {"dlt_window": self.window, **self.accrual.to_dict(), **self.timing.to_dict(),
               "manufacturing": self.manufacturing.to_dict()}
        if self.eff_window is not None:
            out["eff_window"] = self.eff_window
        if self.components is not None:
            out["components"] = self.components.to_dict()
        return out


class _Streams:
    """Latent uniforms of a block of seed chunks, drawn row by row on demand (row ``k`` is
    the same numbers however many rows are drawn at a time)."""

    def __init__(self, seed: int, chunks, stream: int):
        self.rngs = []
        for index, size in chunks:
            ss = chunk_seed(seed, index) if stream == 0 else np.random.SeedSequence(seed, spawn_key=(index, stream))
            self.rngs.append((np.random.Generator(np.random.PCG64(ss)), size))
        self.T = sum(s for _, s in chunks)
        self.buf = np.empty((32, self.T))
        self.n_rows = 0

    def upto(self, r: int) -> np.ndarray:
        have = self.n_rows
        if r > have:
            extra = max(r - have, min(max(have, 8), 64))
            if have + extra > self.buf.shape[0]:
                buf = np.empty((max(2 * self.buf.shape[0], have + extra), self.T))
                buf[:have] = self.buf[:have]
                self.buf = buf
            self.buf[have:have + extra] = np.hstack([rng.random((extra, size)) for rng, size in self.rngs])
            self.n_rows = have + extra
        return self.buf

    def take(self, k: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Uniforms of row ``k[i]`` for trial ``t[i]``."""
        if k.size == 0:
            return np.empty(0)
        return self.upto(int(k.max()) + 1)[k, t]


class _Decisions:
    """A design's answers with typed codes, tallied by code index."""

    def __init__(self, design):
        from dosefind.designs.backfill import backfill_rule

        rule = backfill_rule(design)
        # a backfilling design's escalation is decided by its rule's escalation design (the
        # size limit on escalation patients is the engine's; dosefind.designs.backfill)
        self.design = design = design if rule is None else rule.escalation_design(design)
        self.labels: list[str] = []
        self._codes: dict[str, int] = {}
        self.cache: dict = {}
        self.select_cache: dict = {}
        plain = _plain(design)
        fn = getattr(type(design), "decide_batch", None)
        self.count_batch = design.decide_batch if (plain and fn is not None and design.memory == "counts") else None
        sfn = getattr(type(design), "select_mtd_batch", None)
        self.select_batch = design.select_mtd_batch if (plain and sfn is not None and design.memory != "history") \
            else None
        self.treat_code = self.code(ReasonCode.TREAT)
        if self.select_batch is not None:
            import inspect

            params = inspect.signature(self.select_batch).parameters
            self.select_reads_position = any(p in params for p in ("current_index", "last_cohort_tox"))

    def code(self, value) -> int:
        value = getattr(value, "value", value)
        c = self._codes.get(value)
        if c is None:
            c = self._codes[value] = len(self.labels)
            self.labels.append(value)
        return c

    # ---------------------------------------------------------------- count designs
    def keys(self, n, y, cur, last):
        """One key per count state (an int64 by mixed radix when it fits, else bytes):
        distinct keys' first rows, inverse map and key list."""
        D = n.shape[1]
        R = int(max(n.max(initial=0), 1)) + 1
        L = int(max(last.max(initial=0), 0)) + 2
        if R ** (2 * D) * (D + 1) * L < 2 ** 56:  # room for the radix tag below
            k = np.zeros(n.shape[0], np.int64)
            for col in range(D):
                k = k * R + n[:, col]
            for col in range(D):
                k = k * R + y[:, col]
            k = (k * (D + 1) + (cur + 1)) * L + (last + 1)
            k = k * 64 + R  # the radix is part of the key
            uniq, first, inv = np.unique(k, return_index=True, return_inverse=True)
            return first, inv.ravel(), uniq.tolist()
        rows = np.ascontiguousarray(np.concatenate([n, y, cur[:, None], last[:, None]], axis=1))
        uniq, first, inv = np.unique(rows, axis=0, return_index=True, return_inverse=True)
        return first, inv.ravel(), [r.tobytes() for r in uniq]

    def count_decide(self, n, y, cur, last, size):
        """(next, action, code) arrays for complete count states (memory "counts")."""
        design = self.design
        first, inv, ukeys = self.keys(n, y, cur, last)
        out = np.empty((len(ukeys), 3), np.int64)
        miss = []
        for j, key in enumerate(ukeys):
            res = self.cache.get(key)
            if res is None:
                miss.append(j)
            else:
                out[j] = res
        if miss:
            miss = np.asarray(miss)
            m = first[miss]
            D = n.shape[1]
            res = np.empty((m.size, 3), np.int64)
            scalar = np.ones(m.size, bool)
            if self.count_batch is not None:
                total = n[m].sum(axis=1)
                full = np.zeros(m.size, bool) if design.max_n is None else total >= design.max_n
                if (~full).any():
                    nb = np.full(m.size, -1, np.int64)
                    nb[~full] = _call_by_name(self.count_batch, n[m[~full]], y[m[~full]], cur[m[~full]],
                                              last[m[~full]])
                    treat = ~full & (nb >= 0)
                    res[treat] = np.stack([nb[treat], np.full(treat.sum(), _TREAT), np.full(treat.sum(),
                                                                                          self.treat_code)], 1)
                    scalar = ~treat
            for i in np.flatnonzero(scalar):  # stops and the size limit: the scalar rule's typed code
                r = m[i]
                res[i] = self.encode(design.decide(_count_state(D, n[r], y[r], cur[r], last[r], size[r])))
            out[miss] = res
            cache = self.cache
            if len(cache) > 10 * CACHE_LIMIT:
                cache.clear()
            for key, row in zip([ukeys[j] for j in miss], res.tolist()):
                cache[key] = tuple(row)
        return out[inv]

    def count_select(self, n, y, cur, last, size):
        design = self.design
        if self.select_batch is not None and not self.select_reads_position:
            # a batch selection of counts only: merge states that differ only there
            cur, last = np.zeros_like(cur), np.zeros_like(last)
        first, inv, ukeys = self.keys(n, y, cur, last)
        out = np.empty(len(ukeys), np.int64)
        miss = [j for j, key in enumerate(ukeys) if self.select_cache.get(key) is None]
        for j, key in enumerate(ukeys):
            v = self.select_cache.get(key)
            if v is not None:
                out[j] = v
        if miss:
            m = first[np.asarray(miss)]
            if self.select_batch is not None:
                vals = _call_by_name(self.select_batch, n[m], y[m], cur[m], last[m])
            else:
                D = n.shape[1]
                vals = []
                for r in m:
                    sel = design.select_mtd(_count_state(D, n[r], y[r], cur[r], last[r], size[r]))
                    vals.append(-1 if sel.mtd_index is None else sel.mtd_index)
            for j, v in zip(miss, vals):
                out[j] = self.select_cache[ukeys[j]] = int(v)
        return out[inv]

    def codes(self, values) -> np.ndarray:
        """Code indices for a batch's reason codes: ReasonCode members or their values, or
        integers indexing ``list(ReasonCode)``."""
        arr = np.asarray(values)
        if arr.dtype.kind in "iu":
            members = list(ReasonCode)
            uniq, inv = np.unique(arr, return_inverse=True)
            return np.array([self.code(members[int(u)]) for u in uniq], np.int64)[inv.ravel()]
        uniq, inv = np.unique(arr.astype(str), return_inverse=True)
        return np.array([self.code(str(u)) for u in uniq], np.int64)[inv.ravel()]

    def encode(self, decision):
        if decision.stop:
            return (-1, _STOP, self.code(decision.code))
        if decision.wait:
            return (-1, _WAIT, self.code(decision.code))
        return (int(decision.dose_index), _TREAT, self.code(decision.code))



def _decide_cached(dec, design, state):
    """The design's encoded decision for a full TrialState, cached per state (per-patient
    and history states rarely repeat, so the cache is emptied when it grows too large)."""
    res = dec.cache.get(state)
    if res is None:
        if len(dec.cache) > CACHE_LIMIT:
            dec.cache.clear()
        res = dec.cache[state] = dec.encode(design.decide(state))
    return res

def _count_state(D, n, y, cur, last, size):
    if cur < 0:
        return TrialState(D, tuple(int(v) for v in n), tuple(int(v) for v in y))
    size = max(int(size), int(last), 1)
    cohort = Cohort(int(cur), (1,) * int(last) + (0,) * (size - int(last)))
    return TrialState(D, tuple(int(v) for v in n), tuple(int(v) for v in y), (cohort,), int(cur))


def _plain(design) -> bool:
    from dosefind.designs.modifiers import Modified

    return not isinstance(design, Modified)


def _call_by_name(fn, n, y, cur, last):
    import inspect

    avail = {"n_at_dose": n, "tox_at_dose": y, "current_index": cur, "n_total": n.sum(axis=1),
             "last_cohort_tox": last}
    params = inspect.signature(fn).parameters
    if "max_tried_index" in params:
        tried = n > 0
        avail["max_tried_index"] = np.where(tried.any(axis=1), n.shape[1] - 1 - np.argmax(tried[:, ::-1], axis=1), -1)
    out = fn(**{k: avail[k] for k in params if k in avail})
    return np.asarray(out[0] if isinstance(out, tuple) else out, dtype=np.int64)


def run_block(design, setup: CalendarSetup, p_any: np.ndarray, seed: int, chunks, above_mask: np.ndarray,
              dec: "_Decisions | None" = None, joint=None, phase12=None):
    """Simulate the seed chunks ``chunks`` [(index, size), ...] together.  Returns the
    cohort engine's :class:`Tally` and a dict of per-trial calendar arrays.  ``dec``
    carries the decision caches from block to block.

    With ``joint`` (:class:`~dosefind.simulations.joint.JointOutcomes`) every patient
    also has a response, and the dict gains ``eff_at_dose`` (T, D) responses per dose,
    ``obd`` (T,) the selected dose (-1 none; a phase I design's MTD) and, with
    ``phase12`` (a :class:`~dosefind.simulations.phase12.Phase12Setup`), ``efficacy``:
    the block's :class:`~dosefind.simulations.phase12.EfficacyTally`."""
    D = design.num_doses
    T = sum(s for _, s in chunks)
    W = setup.window
    has_eff = joint is not None
    if has_eff and setup.components is not None:
        raise ValueError("responses (joint) and toxicity components cannot be combined in one calendar-time run")
    eff_design = has_eff and bool(design.efficacy)
    WE = setup.eff_window_for(design) if has_eff else W
    # A phase I/II design's trial is over when both assessments are.
    W_end = max(W, WE) if eff_design else W
    eff_timing = setup.eff_timing
    acc, timing, mf, comp = setup.accrual, setup.timing, setup.manufacturing, setup.components
    memory = design.memory
    dec = _Decisions(design) if dec is None else dec
    cs = design.cohort_size
    max_n = design.max_n
    cap_patients = max_n if max_n is not None else MAX_PATIENTS
    max_arrivals = MAX_ARRIVALS_FACTOR * cap_patients
    if acc.cap is not None:
        max_arrivals = min(max_arrivals, acc.cap)
    replace = mf.replace
    has_failure = mf.failure > 0 or mf.feasibility is not None

    s_tox = _Streams(seed, chunks, 0)
    s_comp = [_Streams(seed, chunks, STREAMS[c]) for c in ("icans", "other")] if comp is not None else None
    s_time = _Streams(seed, chunks, STREAMS["time"])
    s_arr = _Streams(seed, chunks, STREAMS["arrival"]) if acc.kind != "fixed" else None
    s_fail = _Streams(seed, chunks, STREAMS["failure"]) if mf.failure > 0 else None
    s_vtv = _Streams(seed, chunks, STREAMS["vein_to_vein"]) if not mf.fixed_time else None
    s_feas = _Streams(seed, chunks, STREAMS["feasibility"]) if mf.feasibility is not None else None
    comp_p = comp.probs if comp is not None else None  # (3, D)
    s_eff = _Streams(seed, chunks, STREAMS["efficacy"]) if has_eff else None
    s_efft = _Streams(seed, chunks, STREAMS["efficacy_time"]) if has_eff else None

    # per-patient arrays (T, K), grown on demand
    K = min(cap_patients, 64) if max_n is None else cap_patients + (8 if has_failure and replace else 0)
    P = {"assigned": np.full((T, K), -1, np.int64), "dose": np.full((T, K), -1, np.int64),
         "inf": np.full((T, K), np.inf), "fail": np.zeros((T, K), bool), "tfail": np.full((T, K), np.inf),
         "dlt": np.zeros((T, K), bool), "tdlt": np.full((T, K), np.inf),
         "eff": np.zeros((T, K), bool), "teff": np.full((T, K), np.inf), "done": np.full((T, K), np.inf)}

    def grow():
        nonlocal K
        extra = K
        for name, a in P.items():
            fill = -1 if a.dtype == np.int64 else (False if a.dtype == bool else np.inf)
            P[name] = np.concatenate([a, np.full((T, extra), fill, a.dtype)], axis=1)
        K += extra

    n_enr = np.zeros(T, np.int64)
    n_fail = np.zeros(T, np.int64)
    a_idx = np.zeros(T, np.int64)  # arrivals used so far
    t_arr = np.zeros(T)  # day of the next arrival
    lost = np.zeros(T, np.int64)
    susp_total = np.zeros(T)
    susp_start = np.full(T, np.nan)
    busy = np.zeros(T)  # day by which every enrolled patient is complete (or failed)
    made = np.zeros(T)  # day by which every enrolled patient's product is made (or failed)
    end = np.zeros(T)
    n_ev = np.zeros((T, D), np.int64)
    y_ev = np.zeros((T, D), np.int64)
    e_ev = np.zeros((T, D), np.int64)  # responses (all, as the final data have them)
    comp_ev = np.zeros((3, T, D), np.int64) if comp is not None else None
    cur = np.full(T, -1, np.int64)
    last = np.full(T, -1, np.int64)
    c_size = np.zeros(T, np.int64)  # infused patients of the current cohort at its dose
    c_dose = np.full(T, -1, np.int64)
    c_start = np.zeros(T, np.int64)
    c_target = np.zeros(T, np.int64)  # places the current cohort fills (0: closed)
    reason = np.zeros(T, np.int64)
    active = np.ones(T, bool)
    hist_states = [TrialState.empty(D)] * T if memory == "history" else None
    hist_done = np.zeros(T, np.int64) if memory == "history" else None  # patients already in hist_states

    # Backfilling (dosefind.designs.backfill): the design's rule says where an arrival
    # during a wait is treated; the escalation then waits for its own cohort only.
    from dosefind.designs.backfill import backfill_rule

    bf_rule = backfill_rule(design)
    if bf_rule is not None and memory != "counts":
        # a per-patient state reads the current dose off the latest patient, who may be a
        # backfilled one: not supported yet
        raise ValueError(f"{design.name}: backfilling works with count designs (BOIN, BOIN12), "
                         f"not with memory {memory!r} designs")
    bf_at = np.zeros((T, D), np.int64)  # backfilled patients per dose
    esc_busy = np.zeros(T)  # day by which every escalation (not backfilled) patient is complete
    # BF-BOIN's sample size (count_in_max_n=False): max_n counts escalation patients, and the
    # trial ends, and is analysed, when the escalation is over
    bf_esc = bf_rule is not None and not bf_rule.count_in_max_n and bf_rule.cap_per_dose > 0
    n_esc = np.zeros(T, np.int64)  # escalation patients enrolled
    known_esc = np.zeros(T, np.int64)  # ... whose failed product is known
    esc_end = np.full(T, -np.inf)  # last escalation infusion + window
    esc_made = np.zeros(T)  # day by which every escalation product is made (or failed)
    batch_fn = getattr(type(design), "decide_patients_batch", None) if (memory == "patients" and _plain(design)) \
        else None
    eff_dec = None
    if eff_design and memory == "counts":
        from dosefind.simulations.phase12 import EffDecider

        eff_dec = EffDecider.shared(dec.design)
    start = dec.encode(design.decide(TrialState.empty(D)))
    max_n_code, wait_code = dec.code(ReasonCode.MAX_N), dec.code(ReasonCode.WAIT_FOLLOWUP)

    # Failed products not yet known, in a few slots per trial: (day known, cohort number).
    F = 4
    f_time = np.full((T, F), np.inf)
    f_cohort = np.zeros((T, F), np.int64)
    f_next = np.full(T, np.inf)  # earliest of them
    known = np.zeros(T, np.int64)  # failures known so far (all cohorts)
    c_known = np.zeros(T, np.int64)  # ... in the current cohort
    cohort_no = np.zeros(T, np.int64)

    def learn_failures(rows, t):
        """Count the failures that become known by day ``t`` (days only grow per trial)."""
        if not has_failure or rows.size == 0:
            return
        due = f_next[rows] <= t
        if not due.any():
            return
        rows, t = rows[due], t[due]
        ft = f_time[rows]
        m = ft <= t[:, None]
        known[rows] += m.sum(axis=1)
        known_esc[rows] += (m & (f_cohort[rows] >= 0)).sum(axis=1)
        c_known[rows] += (m & (f_cohort[rows] == cohort_no[rows, None])).sum(axis=1)
        ft[m] = np.inf
        f_time[rows] = ft
        f_next[rows] = ft.min(axis=1)

    def known_failures(rows, t):
        return known[rows]

    def cohort_known_failures(rows, t):
        return c_known[rows]

    def places_used(rows, t):
        return n_enr[rows] - (known_failures(rows, t) if replace else 0)

    def limit_used(rows, t):
        """Places counted against max_n: everyone's, or the escalation's (bf_esc)."""
        if not bf_esc:
            return places_used(rows, t)
        return n_esc[rows] - (known_esc[rows] if replace else 0)

    def enrol(rows, doses, t, backfilled=False):
        nonlocal K
        if rows.size == 0:
            return
        k = n_enr[rows]
        if k.max() >= K:
            grow()
        u = s_tox.take(k, rows)
        v = s_time.take(k, rows)
        vtv = mf.times(s_vtv.take(k, rows)) if s_vtv is not None else np.full(rows.size, float(mf.vein_to_vein))
        fail = s_fail.take(k, rows) < mf.failure if s_fail is not None else np.zeros(rows.size, bool)
        d_inf = doses
        if s_feas is not None:
            reach = mf.reachable(s_feas.take(k, rows))
            fail = fail | (reach < 0)
            d_inf = np.minimum(doses, np.maximum(reach, 0))
        if comp is not None:
            uu = comp.couple(np.stack([u, s_comp[0].take(k, rows), s_comp[1].take(k, rows)]))
            hits = uu < comp_p[:, d_inf]  # (3, E)
            dlt = hits.any(axis=0)
        elif has_eff:
            dlt, resp = joint.sample(u, s_eff.take(k, rows), d_inf)
        else:
            dlt = u < p_any[d_inf]
        inf = t + vtv
        tdlt = np.where(dlt, timing.times(v, p_any[d_inf], W), np.inf)
        if has_eff:
            teff = np.where(resp, eff_timing.times(s_efft.take(k, rows), joint.p_eff[d_inf], WE), np.inf)
            P["eff"][rows, k] = resp & ~fail
            P["teff"][rows, k] = np.where(fail, np.inf, teff)
        P["assigned"][rows, k] = doses
        P["dose"][rows, k] = d_inf
        P["fail"][rows, k] = fail
        P["tfail"][rows, k] = np.where(fail, inf, np.inf)
        P["inf"][rows, k] = np.where(fail, np.inf, inf)
        P["dlt"][rows, k] = dlt & ~fail
        P["tdlt"][rows, k] = np.where(fail, np.inf, tdlt)
        done = np.where(fail, inf, inf + np.minimum(tdlt, W))
        if eff_design:
            done = np.where(fail, inf, np.maximum(done, inf + np.minimum(teff, WE)))
        busy[rows] = np.maximum(busy[rows], done)  # rows are distinct within a call
        P["done"][rows, k] = done
        if not backfilled:
            esc_busy[rows] = np.maximum(esc_busy[rows], done)
            n_esc[rows] += 1
        made[rows] = np.maximum(made[rows], inf)
        if not backfilled:
            esc_made[rows] = np.maximum(esc_made[rows], inf)
        ok = ~fail
        r_ok, d_ok = rows[ok], d_inf[ok]
        n_ev[r_ok, d_ok] += 1
        y_ev[r_ok, d_ok] += dlt[ok]
        if has_eff:
            e_ev[r_ok, d_ok] += resp[ok]
        if comp is not None:
            for c in range(3):
                comp_ev[c][r_ok, d_ok] += hits[c, ok]
        end[r_ok] = np.maximum(end[r_ok], inf[ok] + W_end)
        if not backfilled:
            esc_end[r_ok] = np.maximum(esc_end[r_ok], inf[ok] + W_end)
        n_fail[rows] += fail
        if fail.any():
            nonlocal f_time, f_cohort, F
            fr = rows[fail]
            free = np.isinf(f_time[fr])
            if not free.any(axis=1).all():
                f_time = np.concatenate([f_time, np.full((T, F), np.inf)], axis=1)
                f_cohort = np.concatenate([f_cohort, np.zeros((T, F), np.int64)], axis=1)
                F *= 2
                free = np.isinf(f_time[fr])
            slot = free.argmax(axis=1)
            f_time[fr, slot] = inf[fail]
            f_cohort[fr, slot] = -1 if backfilled else cohort_no[fr]  # a backfill failure leaves the cohort
            f_next[fr] = np.minimum(f_next[fr], inf[fail])
        # the cohort's dose and DLTs there, as a count design reads them
        at_cur = ok & (d_inf == c_dose[rows])
        c_size[rows] += at_cur
        last[rows] += (at_cur & dlt)
        n_enr[rows] += 1

    def advance(rows):
        """Consume the current arrival of ``rows``; schedule their next one."""
        a_idx[rows] += 1
        if s_arr is not None:
            gaps = acc.gaps(s_arr.take(a_idx[rows], rows))
        else:
            gaps = np.full(rows.size, acc.mean_gap)
        t_arr[rows] += gaps

    def stop(rows, codes, t):
        if rows.size == 0:
            return
        reason[rows] = codes
        active[rows] = False
        open_spell = ~np.isnan(susp_start[rows])
        susp_total[rows[open_spell]] += t[open_spell] - susp_start[rows[open_spell]]
        susp_start[rows] = np.nan
        none = n_enr[rows] == n_fail[rows]
        end[rows[none]] = np.maximum(end[rows[none]], t[none])

    def patient_arrays(rows, t):
        k_used = int(n_enr[rows].max()) if rows.size else 0
        kk = np.arange(k_used)
        tc = t[:, None]
        present = kk < n_enr[rows, None]
        if has_failure:
            present &= ~(P["fail"][rows, :k_used] & (P["tfail"][rows, :k_used] <= tc))
        inf = P["inf"][rows, :k_used]
        infused = present & (inf <= tc)
        elapsed = np.where(infused, tc - inf, 0.0)
        tdlt = P["tdlt"][rows, :k_used]
        dlt = infused & P["dlt"][rows, :k_used] & (tdlt <= elapsed)
        complete = dlt | (infused & (elapsed >= W))
        follow = np.where(dlt, tdlt, np.minimum(elapsed, W))
        if mf.feasibility is None:
            dose = np.where(present, P["dose"][rows, :k_used], -1)
        else:
            dose = np.where(present, np.where(infused, P["dose"][rows, :k_used], P["assigned"][rows, :k_used]), -1)
        effs = None
        if has_eff:
            teff = P["teff"][rows, :k_used]
            resp = infused & P["eff"][rows, :k_used] & (teff <= elapsed)
            e_complete = resp | (infused & (elapsed >= WE))
            effs = (resp.astype(np.int8), e_complete, np.where(resp, teff, np.minimum(elapsed, WE)))
        return dose, dlt.astype(np.int8), follow, complete, np.where(infused, inf, np.nan), effs

    def decide_patients(rows, t):
        """(next, action, code) for trials whose current cohort is closed, at day t."""
        B = rows.size
        nxt = np.empty(B, np.int64)
        act = np.empty(B, np.int64)
        code = np.empty(B, np.int64)
        if memory == "patients":
            dose, dlt, follow, complete, entry, effs = patient_arrays(rows, t)
            # the current dose as TrialState.from_patients sees it: the latest patient present
            K_ = dose.shape[1]
            seen = dose >= 0
            last_i = K_ - 1 - np.argmax(seen[:, ::-1], axis=1) if K_ else np.zeros(B, np.int64)
            current = np.where(seen.any(axis=1), dose[np.arange(B), last_i] if K_ else -1, -1)
            scalar = np.arange(B)
            if batch_fn is not None:
                fast = np.flatnonzero(current >= 0)  # a trial whose products all failed starts over: scalar
                if fast.size:
                    extra = {} if not eff_design else {"eff": effs[0][fast], "eff_complete": effs[1][fast],
                                                       "eff_followup": effs[2][fast]}
                    b_next, b_act, b_codes = design.decide_patients_batch(
                        dose[fast], dlt[fast], follow[fast], complete[fast], current[fast], t[fast].copy(), **extra)
                    nxt[fast] = np.asarray(b_next, np.int64)
                    act[fast] = np.asarray(b_act, np.int64)
                    code[fast] = dec.codes(b_codes)
                scalar = np.flatnonzero(current < 0)
            for i in scalar:
                keep = dose[i] >= 0
                recs = [Patient(int(d), int(y), bool(c), float(f), None if np.isnan(e) else float(e))
                        for d, y, c, f, e in zip(dose[i][keep], dlt[i][keep], complete[i][keep], follow[i][keep],
                                                 entry[i][keep])]
                if has_eff:
                    recs = [Patient(p.dose_index, p.dlt, p.complete, p.followup, p.entry, eff=int(r),
                                    eff_complete=bool(rc), eff_followup=float(rf))
                            for p, r, rc, rf in zip(recs, effs[0][i][keep], effs[1][i][keep], effs[2][i][keep])]
                state = TrialState.from_patients(recs, D, time=float(t[i]))
                nxt[i], act[i], code[i] = _decide_cached(dec, design, state)
            return nxt, act, code
        # counts / history: complete data only, else the base-class wait (or size limit)
        ready = (busy if bf_rule is None else esc_busy)[rows] <= t
        nr = np.flatnonzero(~ready)
        if nr.size:
            totals = n_enr[rows[nr]] - known_failures(rows[nr], t[nr])
            ut, inv = np.unique(totals, return_inverse=True)
            res_u = np.array([_pending(int(x)) for x in ut], np.int64).reshape(-1, 3)[inv.ravel()]
            nxt[nr], act[nr], code[nr] = res_u[:, 0], res_u[:, 1], res_u[:, 2]
        idx = np.flatnonzero(ready)
        if memory == "history":
            for i in idx:
                r = rows[i]
                state = _history_state(r)
                nxt[i], act[i], code[i] = _decide_cached(dec, design, state)
            return nxt, act, code
        if idx.size:
            rr = rows[idx]
            if bf_rule is None:
                n_s, y_s, e_s = n_ev[rr], y_ev[rr], e_ev[rr]
            else:  # backfilled patients may still be pending: decide on complete data
                n_s, y_s, e_s = observed(rr, t[idx])
            if eff_design:
                # a phase I/II count design decides on (n, y, e, cur, last): the phase I/II
                # engine's decider, one design call per distinct state
                b_next, b_code = eff_dec.decide(n_s, y_s, e_s, cur[rr], last[rr])
                nxt[idx] = np.where(b_next >= 0, b_next, -1)
                act[idx] = np.where(b_next >= 0, _TREAT, _STOP)
                code[idx] = eff_codes(b_code)
            else:
                res = dec.count_decide(n_s, y_s, cur[rr], last[rr], c_size[rr])
                nxt[idx], act[idx], code[idx] = res[:, 0], res[:, 1], res[:, 2]
        return nxt, act, code

    def observed(rows, t):
        """Patients per dose, DLTs and responses among those complete (every assessment
        over, product infused) by day ``t``."""
        k_used = int(n_enr[rows].max()) if rows.size else 0
        kk = np.arange(k_used)
        ok = (kk < n_enr[rows, None]) & ~P["fail"][rows, :k_used] & (P["done"][rows, :k_used] <= t[:, None])
        dose = P["dose"][rows, :k_used]
        n_o = np.stack([(ok & (dose == d)).sum(axis=1) for d in range(D)], axis=1)
        y_o = np.stack([(ok & (dose == d) & P["dlt"][rows, :k_used]).sum(axis=1) for d in range(D)], axis=1)
        e_o = np.stack([(ok & (dose == d) & P["eff"][rows, :k_used]).sum(axis=1) for d in range(D)], axis=1)
        return n_o.astype(np.int64), y_o.astype(np.int64), e_o.astype(np.int64)

    def eff_codes(b_code):
        labels = eff_dec.labels
        return np.array([dec.code(labels[int(c)]) for c in b_code], np.int64) if b_code.size else \
            np.empty(0, np.int64)

    def _pending(total):
        key = ("pending", total)
        res = dec.cache.get(key)
        if res is None:
            d = dec.design.decide_pending(total, 1)
            res = dec.cache[key] = (dec.encode(d) if d is not None
                                    else (-1, _WAIT, dec.code(ReasonCode.WAIT_FOLLOWUP)))
        return res

    def _history_state(r):
        state = hist_states[r]
        k0, k1 = int(hist_done[r]), int(n_enr[r])
        if k1 > k0:
            # the cohorts completed since the last decision, split where the dose infused changes
            ks = [k for k in range(k0, k1) if not P["fail"][r, k]]
            run_d, run, run_e = None, [], []
            for k in ks:
                d = int(P["dose"][r, k])
                if run and d != run_d:
                    state = state.add_cohort(run_d, run, eff=run_e if has_eff else None)
                    run, run_e = [], []
                run_d = d
                run.append(int(P["dlt"][r, k]))
                run_e.append(int(P["eff"][r, k]))
            if run:
                state = state.add_cohort(run_d, run, eff=run_e if has_eff else None)
            hist_states[r] = state
            hist_done[r] = k1
        return state

    # ------------------------------------------------------------------ the clock
    while True:
        rows = np.flatnonzero(active)
        if rows.size == 0:
            break
        t = t_arr[rows]
        learn_failures(rows, t)
        out = a_idx[rows] >= max_arrivals
        if out.any():
            if acc.cap is None:
                raise RuntimeError(f"{design.name}: a simulated trial used {max_arrivals} arrivals without stopping")
            stop(rows[out], dec.code(ReasonCode.ACCRUAL_CAP), t[out])
            rows, t = rows[~out], t[~out]
            if rows.size == 0:
                continue
        filled = (n_enr[rows] - c_start[rows]) - (cohort_known_failures(rows, t) if replace else 0)
        is_open = filled < c_target[rows]
        # arrivals joining an open cohort
        j_rows = rows[is_open]
        if j_rows.size:
            _end_spell(susp_total, susp_start, j_rows, t[is_open])
            enrol(j_rows, c_dose[j_rows], t[is_open])
            advance(j_rows)
        d_rows, d_t = rows[~is_open], t[~is_open]
        if d_rows.size == 0:
            continue
        first = n_enr[d_rows] == 0
        nxt = np.empty(d_rows.size, np.int64)
        act = np.empty(d_rows.size, np.int64)
        code = np.empty(d_rows.size, np.int64)
        nxt[first], act[first], code[first] = start
        if (~first).any():
            a, b, c = decide_patients(d_rows[~first], d_t[~first])
            nxt[~first], act[~first], code[~first] = a, b, c
        # size limit on places (a failed patient keeps their place when not replaced)
        treat = act == _TREAT
        if treat.any():
            room = cap_patients - limit_used(d_rows, d_t)
            full = treat & (room <= 0)
            if full.any():
                act[full] = _STOP
                code[full] = dec.code(ReasonCode.MAX_N)
                treat = act == _TREAT
        if replace and has_failure:
            # A full trial stays open while a product may still fail (its place would be
            # refilled); arrivals meanwhile are turned away.
            # (BF-BOIN: only an escalation product refills an escalation place)
            defer = (act == _STOP) & (code == max_n_code) & ((esc_made if bf_esc else made)[d_rows] > d_t)
            act[defer] = _WAIT
            code[defer] = wait_code
        s = act == _STOP
        stop(d_rows[s], code[s], d_t[s])
        w = act == _WAIT
        if w.any() and bf_rule is not None:
            # while the escalation waits, the design's backfill rule may treat the arrival
            wr, wt = d_rows[w], d_t[w]
            n_o, y_o, e_o = observed(wr, wt)
            bd = bf_rule.backfill_batch(design, n_ev[wr], n_o, y_o, cur[wr], e_o)
            if not bf_esc:  # backfilled patients take places of max_n
                bd[cap_patients - places_used(wr, wt) <= 0] = -1
            b = bd >= 0
            if b.any():
                br, bt = wr[b], wt[b]
                _end_spell(susp_total, susp_start, br, bt)
                enrol(br, bd[b], bt, backfilled=True)
                np.add.at(bf_at, (br, bd[b]), 1)
                advance(br)
                w[np.flatnonzero(w)[b]] = False
        if w.any():
            wr = d_rows[w]
            lost[wr] += 1
            fresh = np.isnan(susp_start[wr])
            susp_start[wr[fresh]] = d_t[w][fresh]
            advance(wr)
        if treat.any():
            tr, tt, td = d_rows[treat], d_t[treat], nxt[treat]
            _end_spell(susp_total, susp_start, tr, tt)
            room = cap_patients - limit_used(tr, tt)
            c_dose[tr] = td
            c_start[tr] = n_enr[tr]
            c_target[tr] = np.minimum(cs, room)
            cur[tr] = td
            last[tr] = 0
            c_size[tr] = 0
            c_known[tr] = 0
            cohort_no[tr] += 1
            enrol(tr, td, tt)
            advance(tr)

    # ------------------------------------------------------------------ final selection
    final_hist = [_history_state(r) for r in range(T)] if memory == "history" else None
    bf_pending = None
    if bf_esc:
        # the trial ends with the escalation; the analysis reads the data complete then
        # (backfilled patients still in follow-up are treated, not analysed: bfboin)
        end = np.where(np.isfinite(esc_end), esc_end, end)
        n_all = n_ev.sum(axis=1)
        n_ev, y_ev, e_ev = observed(np.arange(T), end)
        bf_pending = (n_all - n_ev.sum(axis=1)).astype(float)
    if eff_design:
        obd, mtd = _select_obd(design, dec, eff_dec, D, n_ev, y_ev, e_ev, cur, last, memory, final_hist, P, n_enr,
                               W, WE)
    else:
        mtd = _select(design, dec, D, n_ev, y_ev, cur, last, c_size, memory, final_hist, P, n_enr, W)
        obd = mtd
    tally = Tally(D)
    tally.add(n_ev, y_ev, mtd, reason, dec.labels, above_mask, max_n)
    cal = {"duration": end, "enrolled": n_enr.astype(float), "infused": (n_enr - n_fail).astype(float),
           "failed": n_fail.astype(float), "turned_away": lost.astype(float), "time_suspended": susp_total,
           "arrivals": a_idx.astype(float)}
    if bf_rule is not None:
        cal["backfilled"] = bf_at.sum(axis=1).astype(float)
        cal["backfilled_at_dose"] = bf_at.astype(float)
        cal["escalation"] = n_esc.astype(float)
        cal["backfilled_unanalysed"] = bf_pending if bf_pending is not None else np.zeros(T)
    if comp is not None:
        for c, name in enumerate(("crs", "icans", "other")):
            cal[name] = comp_ev[c]
    if has_eff:
        cal["eff_at_dose"] = e_ev
        cal["obd"] = obd
        if phase12 is not None:
            _, etally = phase12.tallies()
            cal["efficacy"] = etally.add(n_ev, y_ev, e_ev, obd, reason, dec.labels)
    return tally, cal


def _end_spell(total, start, rows, t):
    open_spell = ~np.isnan(start[rows])
    if open_spell.any():
        r = rows[open_spell]
        total[r] += t[open_spell] - start[r]
        start[r] = np.nan


def _select(design, dec, D, n, y, cur, last, c_size, memory, hist, P, n_enr, W):
    T = n.shape[0]
    if memory == "counts" or (memory == "patients" and dec.select_batch is not None):
        return dec.count_select(n, y, cur, last, c_size)
    mtd = np.empty(T, np.int64)
    for t in range(T):
        if memory == "history":
            s = hist[t]
        else:
            recs = []
            for k in range(int(n_enr[t])):
                if P["fail"][t, k]:
                    continue
                dl = bool(P["dlt"][t, k])
                recs.append(Patient(int(P["dose"][t, k]), int(dl), True,
                                    float(P["tdlt"][t, k]) if dl else W, float(P["inf"][t, k])))
            s = TrialState.from_patients(recs, D)
        v = dec.select_cache.get(s)
        if v is None:
            if len(dec.select_cache) > CACHE_LIMIT:
                dec.select_cache.clear()
            sel = design.select_mtd(s)
            v = dec.select_cache[s] = -1 if sel.mtd_index is None else sel.mtd_index
        mtd[t] = v
    return mtd


def _final_records(P, t, n_enr, W, WE):
    """Complete patient records of trial ``t`` (everyone followed to the end of both windows)."""
    recs = []
    for k in range(int(n_enr[t])):
        if P["fail"][t, k]:
            continue
        dl, r = bool(P["dlt"][t, k]), bool(P["eff"][t, k])
        recs.append(Patient(int(P["dose"][t, k]), int(dl), True, float(P["tdlt"][t, k]) if dl else W,
                            float(P["inf"][t, k]), eff=int(r), eff_complete=True,
                            eff_followup=float(P["teff"][t, k]) if r else WE))
    return recs


def _select_obd(design, dec, eff_dec, D, n, y, e, cur, last, memory, hist, P, n_enr, W, WE):
    """(OBD, MTD) per trial of a phase I/II design, by ``design.select_obd`` on the complete
    final data (each distinct final state asked once)."""
    if memory == "counts":
        return eff_dec.select(n, y, e, cur, last)
    T = n.shape[0]
    batch = getattr(type(design), "select_obd_batch", None) if (memory == "patients" and _plain(design)) else None
    if batch is not None:
        # the design's promise that its final selection reads counts (and the dose of the
        # latest patient infused, as TrialState.from_patients has it)
        K = P["dose"].shape[1]
        infused = (np.arange(K) < n_enr[:, None]) & ~P["fail"]
        last_k = K - 1 - np.argmax(infused[:, ::-1], axis=1)
        final_cur = np.where(infused.any(axis=1), P["dose"][np.arange(T), last_k], -1)
        out = design.select_obd_batch(n, y, e, final_cur)
        if out is not None:
            return np.asarray(out[0], np.int64), np.asarray(out[1], np.int64)
    obd = np.empty(T, np.int64)
    mtd = np.empty(T, np.int64)
    for t in range(T):
        s = hist[t] if memory == "history" else TrialState.from_patients(_final_records(P, t, n_enr, W, WE), D)
        key = ("obd", s)
        v = dec.select_cache.get(key)
        if v is None:
            if len(dec.select_cache) > CACHE_LIMIT:
                dec.select_cache.clear()
            sel = design.select_obd(s)
            v = dec.select_cache[key] = (-1 if sel.obd_index is None else sel.obd_index,
                                         -1 if sel.mtd_index is None else sel.mtd_index)
        obd[t], mtd[t] = v
    return obd, mtd


# ---------------------------------------------------------------------- driver
class CalendarTally:
    """Per-trial calendar arrays of all chunks, combined in chunk order (so sums and
    quantiles do not depend on the number of workers)."""

    def __init__(self):
        self.parts: dict[int, dict] = {}

    def add(self, first_chunk: int, cal: dict):
        self.parts[first_chunk] = cal

    def merge(self, other: "CalendarTally"):
        self.parts.update(other.parts)
        return self

    def arrays(self) -> dict:
        keys = list(next(iter(self.parts.values())).keys())
        order = sorted(self.parts)
        out = {}
        for k in keys:
            parts = [self.parts[i][k] for i in order]
            if hasattr(parts[0], "merge"):  # an EfficacyTally: integer sums
                total = parts[0]
                for p in parts[1:]:
                    total = total.merge(p)
                out[k] = total
            else:
                out[k] = np.concatenate(parts, axis=0)
        return out


def _blocks(chunks, per_block):
    return [chunks[i:i + per_block] for i in range(0, len(chunks), per_block)]


#: Seed chunks simulated together as one array block (speed only).
BLOCK_CHUNKS = 1


def _run_task(design, setup, p_any, seed, chunks, above_mask, dec=None, joint=None, phase12=None):
    tally = Tally(design.num_doses)
    cal = CalendarTally()
    dec = _Decisions(design) if dec is None else dec
    for block in _blocks(chunks, BLOCK_CHUNKS):
        t, c = run_block(design, setup, p_any, seed, block, above_mask, dec, joint=joint, phase12=phase12)
        tally.merge(t)
        cal.add(block[0][0], c)
    return tally, cal


def _mp_context():
    import multiprocessing as mp
    import threading

    methods = mp.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return mp.get_context("fork")
    return mp.get_context("forkserver" if "forkserver" in methods else "spawn")


def simulate_calendar(design, setup: CalendarSetup, true_prob_tox, n_trials: int, seed: int, above_mask, *,
                      workers: int = 1, progress=None, chunk_size: int = CHUNK_SIZE, joint=None, phase12=None):
    """Tally and calendar arrays of ``n_trials`` trials in calendar time; identical for
    any number of ``workers``.

    With ``phase12`` (the run's :class:`~dosefind.simulations.phase12.Phase12Setup`, as
    :func:`~dosefind.simulations.simulate` passes it) or ``joint``
    (:class:`~dosefind.simulations.joint.JointOutcomes`; the Phase12Setup is then built
    from the design's utility and ``phi_t``) every patient also has a response (stream
    8) at a time within the efficacy window (stream 9, ``setup.eff_timing``); the
    arrays then hold ``eff_at_dose`` (T, D) and ``obd`` (T,), and a third value is
    returned: the run's :class:`~dosefind.simulations.phase12.EfficacyTally`."""
    p_any = np.asarray(true_prob_tox, dtype=np.float64)
    above_mask = np.asarray(above_mask, dtype=bool)
    if joint is None and phase12 is not None:
        joint = phase12.joint
    if joint is not None and phase12 is None:
        from dosefind.simulations.phase12 import Phase12Setup

        phase12 = Phase12Setup(design, joint, above_mask)
    chunks = list(enumerate(chunk_sizes(n_trials, chunk_size)))
    workers = max(1, min(int(workers), len(chunks), os.cpu_count() or 1))
    bar = None
    if progress:
        import sys

        from tqdm import tqdm

        bar = tqdm(total=n_trials, unit="trial", unit_scale=True, desc=design.name, file=sys.stderr, leave=False)
    total, cal = Tally(design.num_doses), CalendarTally()
    try:
        if workers == 1:
            dec = _Decisions(design)
            for block in _blocks(chunks, BLOCK_CHUNKS):
                t, c = _run_task(design, setup, p_any, seed, block, above_mask, dec, joint, phase12)
                total.merge(t)
                cal.merge(c)
                if bar is not None:
                    bar.update(sum(s for _, s in block))
        else:
            # one task per worker keeps one decision cache per worker; more tasks only to
            # move a progress bar
            n_tasks = min(len(chunks), workers * (4 if bar is not None else 1))
            bounds = np.linspace(0, len(chunks), n_tasks + 1).round().astype(int)
            groups = [chunks[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]
            with ProcessPoolExecutor(max_workers=workers, mp_context=_mp_context()) as pool:
                futures = [pool.submit(_run_task, design, setup, p_any, seed, g, above_mask, None, joint, phase12)
                           for g in groups]
                for fut, g in zip(futures, groups):
                    t, c = fut.result()
                    total.merge(t)
                    cal.merge(c)
                    if bar is not None:
                        bar.update(sum(s for _, s in g))
    finally:
        if bar is not None:
            bar.close()
    arrays = cal.arrays()
    if joint is None:
        return total, arrays
    return total, arrays, arrays.pop("efficacy")
