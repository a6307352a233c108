"""What both engines share: trial states as integer arrays, a decision oracle that
caches a design's answers per distinct state (or calls its vectorised ``decide_batch``),
and the tally of final trial states from which operating characteristics are computed.

A batch of trial states is four integer arrays:

``n`` (T, D)      patients treated at each dose
``y`` (T, D)      DLTs at each dose
``cur`` (T,)      0-based current dose, -1 before the first cohort
``last`` (T,)     DLTs in the most recent cohort, -1 before the first cohort

which is exactly ``TrialState.key()``; for designs with ``memory = "counts"`` equal
rows give equal decisions, so each distinct row is decided once.
"""

from __future__ import annotations

import inspect

import numpy as np

from dosefind._rows import distinct_rows
from dosefind.designs.base import Design
from dosefind.state import Cohort, ReasonCode, TrialState

__all__ = ["Decider", "Tally", "count_state", "unique_rows"]

#: Cached decisions kept per Decider before the cache is emptied (bounds memory).
_CACHE_LIMIT = 1_000_000

#: Largest mixed-radix frame of decision keys held as a dense array of answers.
_DENSE_KEYS = 1 << 22

#: Shared Deciders (general engine) kept per process, oldest dropped first.
_DECIDERS_KEPT = 4
_DECIDERS: dict = {}


def unique_rows(rows: np.ndarray):
    """Distinct rows of an integer matrix: (index of first occurrence, inverse)."""
    rows = np.ascontiguousarray(rows)
    if rows.shape[0] == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    view = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
    _, first, inverse = np.unique(view, return_index=True, return_inverse=True)
    return first, inverse.ravel()


def state_rows(n, y, cur, last) -> np.ndarray:
    return np.concatenate([n, y, cur[:, None], last[:, None]], axis=1).astype(np.int32, copy=False)


_COHORTS: dict = {}


def count_state(design, n, y, cur: int, last: int, eff=None) -> TrialState:
    """The TrialState an engine shows a count design for the count state (n, y, cur, last),
    with ``eff`` responses per dose for phase I/II engines.

    Its cohort history holds only the last cohort (all a count-based design may look at, by
    the ``memory`` contract).  Both engines and the decision tables build states here, so
    they ask the design the same question."""
    D = design.num_doses
    n = tuple(n.tolist() if isinstance(n, np.ndarray) else map(int, n))
    y = tuple(y.tolist() if isinstance(y, np.ndarray) else map(int, y))
    if eff is not None:
        eff = tuple(eff.tolist() if isinstance(eff, np.ndarray) else map(int, eff))
    cur, last = int(cur), int(last)
    if cur < 0:
        return TrialState(D, n, y, eff_at_dose=eff)
    size = min(design.cohort_size, n[cur])
    size = max(size, last, 1)
    cohort = _COHORTS.get((cur, last, size))
    if cohort is None:
        cohort = _COHORTS[(cur, last, size)] = Cohort(cur, (1,) * last + (0,) * (size - last))
    return TrialState(D, n, y, (cohort,), cur, eff_at_dose=eff)


def _is_plain(design) -> bool:
    from dosefind.designs.modifiers import Modified

    return not isinstance(design, Modified)


class Decider:
    """A design's decisions and MTD selections for arrays of count states.

    For ``memory = "counts"`` designs each distinct state is decided once per engine
    run (the cache lives as long as the Decider).  When the design itself (not a
    modifier chain) offers ``decide_batch``, it is used for states after the first
    cohort; likewise an optional ``select_mtd_batch`` (returning the 0-based MTD per
    state, -1 for none) replaces ``select_mtd`` on the distinct final states.  Their
    keyword arguments are matched by name among ``n_at_dose``, ``tox_at_dose``,
    ``current_index``, ``n_total``, ``last_cohort_tox`` and ``max_tried_index``.
    """

    def __init__(self, design: Design, use_batch: bool = True, use_keys: bool = True):
        if not isinstance(design, Design):
            raise TypeError(f"design must be a dosefind Design, got {type(design).__name__}")
        self.design = design
        self.num_doses = design.num_doses
        self.labels: list[str] = []
        self._label_code: dict[str, int] = {}
        self._decide_cache: dict[bytes, tuple[int, int]] = {}
        self._select_cache: dict[bytes, int] = {}
        self.batch = None
        self._batch_params: list[str] = []
        self._batch_codes: dict[int, int] = {}
        fn = getattr(type(design), "decide_batch", None) if _is_plain(design) else None
        if use_batch and fn is not None and design.memory == "counts":
            self.batch = design.decide_batch
            self._batch_params = [p for p in inspect.signature(self.batch).parameters]
        self.select_batch = None
        self._select_params: list[str] = []
        sfn = getattr(type(design), "select_mtd_batch", None) if _is_plain(design) else None
        if use_batch and sfn is not None and design.memory == "counts":
            self.select_batch = design.select_mtd_batch
            self._select_params = [p for p in inspect.signature(self.select_batch).parameters]
        # Decisions per distinct decision key, for designs that key them (and have no batch rule).
        self._key_index: dict[bytes, int] = {}
        self._key_rows: list[np.ndarray] = []
        self._key_nxt = np.empty(0, np.int64)
        self._key_code = np.empty(0, np.int64)
        self._frame = None
        self._seen = None
        z = np.zeros((1, self.num_doses), np.int64)
        self._keyed = (use_keys and self.batch is None and design.memory == "counts"
                       and design.decision_key(z, z, np.full(1, -1), np.full(1, -1)) is not None)
        self.max_n_code = self.code(ReasonCode.MAX_N.value)
        self._setup_keys()
        self.decide_calls = 0
        self.select_calls = 0

    @property
    def keyed(self) -> bool:
        """Whether decisions are asked once per decision key (``Design.decision_key``)."""
        return self._keyed

    @property
    def selects_from_counts(self) -> bool:
        """Whether final selections go through the design's ``select_mtd_batch`` reading
        only counts (per-dose n and DLTs, their totals, the highest dose tried): equal count
        rows then select alike, whatever the current dose or last cohort."""
        return self.select_batch is not None and set(self._select_params) <= {
            "n_at_dose", "tox_at_dose", "n_total", "max_tried_index"}

    @classmethod
    def shared(cls, design: Design, use_batch: bool = True) -> "Decider":
        """The process-wide Decider of ``design`` (keyed on its configuration, as the
        decision tables), so repeated calls, scenarios and grids reuse its caches."""
        from dosefind.simulations.tables import design_key

        key = design_key(design, use_batch)
        d = _DECIDERS.get(key)
        if d is None or (key[3][0] == "id" and d.design is not design):
            while len(_DECIDERS) >= _DECIDERS_KEPT:
                _DECIDERS.pop(next(iter(_DECIDERS)))
            d = _DECIDERS[key] = cls(design, use_batch=use_batch)
        return d

    # ------------------------------------------------------------------ reasons
    def code(self, label: str) -> int:
        c = self._label_code.get(label)
        if c is None:
            c = self._label_code[label] = len(self.labels)
            self.labels.append(label)
        return c

    # ------------------------------------------------------------------ states
    def state(self, row: np.ndarray) -> TrialState:
        """A TrialState with the counts of ``row`` (see :func:`count_state`)."""
        D = self.num_doses
        return count_state(self.design, row[:D], row[D:2 * D], int(row[2 * D]), int(row[2 * D + 1]))

    # ------------------------------------------------------------------ keys
    def _keys(self, n, y, cur, last):
        """One hashable key per state: an int64 (mixed radix) when the counts are bounded
        by ``max_n`` and the code fits, otherwise the raw bytes of the row.  Returns the
        index of the first occurrence of each distinct key, the inverse map and the
        distinct keys as a Python list (for the caches)."""
        if self._radix is not None:
            R = self._radix
            k = np.zeros(n.shape[0], dtype=np.int64)
            for col in range(self.num_doses):
                k = k * R + n[:, col]
            for col in range(self.num_doses):
                k = k * R + y[:, col]
            k = k * (self.num_doses + 1) + (cur + 1)
            k = k * (self._last_radix) + (last + 1)
            uniq, first, inverse = np.unique(k, return_index=True, return_inverse=True)
            return first, inverse.ravel(), uniq.tolist()
        rows = state_rows(n, y, cur, last)
        # One integer (or checked hash) per row, not a byte sort: the groups are the same,
        # and their order only orders the design's calls for new states.
        first, inverse = distinct_rows(rows)
        return first, inverse, [rows[i].tobytes() for i in first]

    def _setup_keys(self):
        design = self.design
        self._radix = None
        self._last_radix = design.cohort_size + 2
        if design.max_n is not None:
            R = design.max_n + 1
            if R ** (2 * self.num_doses) * (self.num_doses + 1) * self._last_radix < 2 ** 62:
                self._radix = R

    # ------------------------------------------------------------------ decisions
    def decide(self, n, y, cur, last):
        """Next dose index (-1: stop) and reason code for each state.  Each distinct state
        is decided once per Decider (cache), new ones together by ``decide_batch`` when
        the design has it."""
        T = n.shape[0]
        if T == 0:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        if self._keyed:
            return self._decide_keyed(n, y, cur, last)
        first, inverse, ukeys = self._keys(n, y, cur, last)
        U = len(ukeys)
        nxt = np.empty(U, dtype=np.int64)
        code = np.empty(U, dtype=np.int64)
        cache = self._decide_cache
        hits, miss = _lookup(cache, ukeys)
        for j, (a, b) in hits:
            nxt[j], code[j] = a, b
        if miss:
            m = first[np.asarray(miss)]
            mn, mc = self._decide_uncached(n[m], y[m], cur[m], last[m])
            for j, a, b in zip(miss, mn.tolist(), mc.tolist()):
                nxt[j], code[j] = a, b
                cache[ukeys[j]] = (a, b)
        return nxt[inverse], code[inverse]

    def _decide_keyed(self, n, y, cur, last):
        """:meth:`decide` for a design that keys its decisions (``Design.decision_key``):
        the scalar rule is asked once per distinct key (cached), never per state, so trial
        states of any size (20 cohorts, 10 doses) cost a few array passes per cohort.

        Keys are numbered in a mixed-radix frame wide enough for every key seen so far; when
        the frame has at most :data:`_DENSE_KEYS` codes the answers sit in a dense array
        (one gather per cohort), otherwise they are found by sorting."""
        K = np.asarray(self.design.decision_key(n, y, cur, last), dtype=np.int64)
        lo, hi = K.min(axis=0), K.max(axis=0)
        if self._frame is None or (lo < self._frame[0]).any() or (hi >= self._frame[0] + self._frame[1]).any():
            self._new_frame(lo, hi)
        base, span, dense = self._frame
        code = np.zeros(K.shape[0], np.int64)
        for c in range(K.shape[1]):
            code = code * span[c] + (K[:, c] - base[c])
        if dense is not None:
            answer = dense[code]
            missing = answer < 0
            if missing.any():
                for i in np.flatnonzero(missing)[np.unique(code[missing], return_index=True)[1]].tolist():
                    dense[code[i]] = self.ask_key(K[i], n[i], y[i], cur[i], last[i])
                answer = dense[code]
        else:
            uniq, first, inverse = np.unique(code, return_index=True, return_inverse=True)
            answer = np.array([self.ask_key(K[i], n[i], y[i], cur[i], last[i]) for i in first.tolist()],
                              np.int64)[inverse.ravel()]
        return self._key_nxt[answer], self._key_code[answer]

    def ask_key(self, key_row, n, y, cur, last) -> int:
        """Index of the answer for one decision key (a :meth:`Design.decision_key` row of
        the state n, y, cur, last), asking the scalar rule if it is new; the answers are
        :meth:`key_answers`."""
        key = key_row.tobytes()
        j = self._key_index.get(key)
        if j is None:
            decision = self.design.decide(count_state(self.design, n, y, cur, last))
            self.decide_calls += 1
            j = self._key_index[key] = len(self._key_rows)
            self._key_rows.append(key_row.copy())
            self._key_nxt = np.append(self._key_nxt, -1 if decision.stop else int(decision.dose_index))
            self._key_code = np.append(self._key_code, self.code(decision.code.value))
        return j

    def key_answers(self, index) -> tuple[np.ndarray, np.ndarray]:
        """(next dose, -1 to stop; reason code) of the answers ``index`` of :meth:`ask_key`."""
        return self._key_nxt[index], self._key_code[index]

    def _new_frame(self, lo, hi) -> None:
        if self._seen is not None:  # the keys seen so far, not the last frame's room
            lo, hi = np.minimum(lo, self._seen[0]), np.maximum(hi, self._seen[1])
        if self._key_rows:  # and every key answered (the keyed walker asks through ask_key too)
            known = np.array(self._key_rows, np.int64)
            lo, hi = np.minimum(lo, known.min(axis=0)), np.maximum(hi, known.max(axis=0))
        self._seen = (lo, hi)
        span = hi - lo + 1
        span = span + (span + 1) // 2  # room to grow before the next frame
        dense = None
        if float(np.prod(span.astype(float))) <= _DENSE_KEYS:
            dense = np.full(int(np.prod(span)), -1, np.int64)
            if self._key_rows:
                rows = np.array(self._key_rows, np.int64)
                code = np.zeros(rows.shape[0], np.int64)
                for c in range(rows.shape[1]):
                    code = code * span[c] + (rows[:, c] - lo[c])
                dense[code] = np.arange(rows.shape[0])
        elif float(np.prod(span.astype(float))) >= 2.0 ** 62:  # pragma: no cover - very wide keys
            span = hi - lo + 1
        self._frame = (lo, span, dense)

    def _decide_uncached(self, n, y, cur, last):
        T = n.shape[0]
        nxt = np.empty(T, dtype=np.int64)
        code = np.empty(T, dtype=np.int64)
        if self.batch is None:
            rows = state_rows(n, y, cur, last)
            for i in range(T):
                decision = self.design.decide(self.state(rows[i]))
                self.decide_calls += 1
                nxt[i] = -1 if decision.stop else int(decision.dose_index)
                code[i] = self.code(decision.code.value)
            return nxt, code
        total = n.sum(axis=1)
        scalar = cur < 0
        max_n = self.design.max_n
        if max_n is not None:
            full = (total >= max_n) & ~scalar
            nxt[full] = -1
            code[full] = self.max_n_code
            scalar_or_full = scalar | full
        else:
            scalar_or_full = scalar
        for i in np.flatnonzero(scalar):
            decision = self.design.decide(self.state(state_rows(n[i:i + 1], y[i:i + 1], cur[i:i + 1],
                                                                last[i:i + 1])[0]))
            nxt[i] = -1 if decision.stop else int(decision.dose_index)
            code[i] = self.code(decision.code.value)
        idx = np.flatnonzero(~scalar_or_full)
        if idx.size:
            self.decide_calls += idx.size
            b_next, b_code = self._call_batch(n[idx], y[idx], cur[idx], last[idx], total[idx])
            nxt[idx] = b_next
            stopped = np.flatnonzero(b_next < 0)
            if stopped.size:
                code[idx[stopped]] = self._map_codes(b_code[stopped], idx[stopped], n, y, cur, last)
        return nxt, code

    def _map_codes(self, raw, where, n, y, cur, last) -> np.ndarray:
        """Batch stop codes -> reason labels.  A new code is labelled with the reason the
        scalar ``decide`` gives for the first state showing it, so both paths tally alike."""
        values, first, inverse = np.unique(raw, return_index=True, return_inverse=True)
        mapped = np.empty(values.size, dtype=np.int64)
        for j, (v, i) in enumerate(zip(values, first)):
            c = self._batch_codes.get(int(v))
            if c is None:
                t = where[i]
                decision = self.design.decide(self.state(state_rows(n[t:t + 1], y[t:t + 1], cur[t:t + 1],
                                                                    last[t:t + 1])[0]))
                # Label the batch code by the typed code the scalar rule gives (both paths tally
                # alike); a batch stop the scalar rule does not make is a conformance bug,
                # tallied under the generic code.
                label = decision.code.value if decision.stop else ReasonCode.STOP.value
                c = self._batch_codes[int(v)] = self.code(label)
            mapped[j] = c
        return mapped[inverse.ravel()]

    def _call_batch(self, n, y, cur, last, total, fn=None, params=None):
        available = batch_kwargs(self._batch_params if params is None else params, n, y, cur, last, total)
        if fn is not None:
            return fn(**available)
        nxt, code = self.batch(**available)
        return np.asarray(nxt, dtype=np.int64), np.asarray(code)

    def select(self, n, y, cur, last) -> np.ndarray:
        """Selected MTD index (-1: none) for each final state (cached per distinct state;
        new ones together by ``select_mtd_batch`` when the design has it)."""
        if n.shape[0] == 0:
            return np.empty(0, np.int64)
        if self._radix is None and self.select_batch is not None:
            # Wide states (many doses or cohorts) rarely repeat: a per-state cache costs more
            # than it saves, and the design's batch selection is a pure function of the counts.
            self.select_calls += n.shape[0]
            res = self._call_batch(n, y, cur, last, n.sum(axis=1), fn=self.select_batch, params=self._select_params)
            return np.asarray(res[0] if isinstance(res, tuple) else res, dtype=np.int64)
        first, inverse, ukeys = self._keys(n, y, cur, last)
        out = np.empty(len(ukeys), dtype=np.int64)
        cache = self._select_cache
        hits, missing = _lookup(cache, ukeys)
        for j, v in hits:
            out[j] = v
        if missing and self.select_batch is not None:
            m = first[np.asarray(missing)]
            res = self._call_batch(n[m], y[m], cur[m], last[m], n[m].sum(axis=1), fn=self.select_batch,
                                   params=self._select_params)
            res = np.asarray(res[0] if isinstance(res, tuple) else res, dtype=np.int64)
            self.select_calls += len(missing)
            for j, v in zip(missing, res.tolist()):
                out[j] = cache[ukeys[j]] = v
        else:
            for j in missing:
                i = first[j]
                sel = self.design.select_mtd(self.state(state_rows(n[i:i + 1], y[i:i + 1], cur[i:i + 1],
                                                                   last[i:i + 1])[0]))
                self.select_calls += 1
                out[j] = cache[ukeys[j]] = -1 if sel.mtd_index is None else int(sel.mtd_index)
        return out[inverse]



def batch_kwargs(params, n, y, cur, last, total) -> dict:
    """Keyword arguments of a design's ``decide_batch``/``select_mtd_batch``, matched by name."""
    available = {}
    for name in params:
        if name == "n_at_dose":
            available[name] = n
        elif name == "tox_at_dose":
            available[name] = y
        elif name == "current_index":
            available[name] = cur
        elif name == "n_total":
            available[name] = total
        elif name == "last_cohort_tox":
            available[name] = last
        elif name == "max_tried_index":
            tried = n > 0
            available[name] = np.where(tried.any(axis=1), n.shape[1] - 1 - np.argmax(tried[:, ::-1], axis=1), -1)
    return available


def _lookup(cache: dict, ukeys) -> tuple[list, list]:
    """Split distinct state keys into cached ``(index, value)`` pairs and the indices still
    to compute; an overgrown cache is emptied before new values are stored."""
    hits, missing = [], []
    for j, key in enumerate(ukeys):
        value = cache.get(key)
        if value is None:
            missing.append(j)
        else:
            hits.append((j, value))
    if missing and len(cache) > _CACHE_LIMIT:
        cache.clear()
    return hits, missing

class Tally:
    """Sufficient statistics of final trial states.

    Monte Carlo adds integer counts (weights 1), so chunk tallies add up exactly and
    the result does not depend on the order chunks finish in; the exact engine adds
    probabilities.  Everything in :class:`~dosefind.simulations.results.OperatingCharacteristics`
    is computed from these sums.
    """

    FIELDS = ("sel", "n_sum", "n_sq", "n_cross", "y_sum", "y_sq", "N_sum", "N_sq", "Y_sum", "Y_sq",
              "above_sum", "above_sq", "above_cross", "od60", "od80", "early", "w")

    def __init__(self, num_doses: int, exact: bool = False):
        dt = np.float64 if exact else np.int64
        D = num_doses
        self.exact = exact
        self.sel = np.zeros(D + 1, dt)  # last entry: no dose selected
        for f in ("n_sum", "n_sq", "n_cross", "y_sum", "y_sq"):
            setattr(self, f, np.zeros(D, dt))
        for f in ("N_sum", "N_sq", "Y_sum", "Y_sq", "above_sum", "above_sq", "above_cross", "od60", "od80",
                  "early", "w"):
            setattr(self, f, dt(0))
        self.reasons: dict[str, float] = {}

    def add(self, n, y, mtd, reason_codes, labels, above_mask, max_n, weights=None):
        """Add final states (arrays as in the module docstring) with their selections."""
        n = n.astype(np.int64, copy=False)
        y = y.astype(np.int64, copy=False)
        N = n.sum(axis=1)
        Y = y.sum(axis=1)
        above = n[:, above_mask].sum(axis=1) if above_mask.any() else np.zeros_like(N)
        ref = N if max_n is None else np.full_like(N, max_n)
        D = n.shape[1]
        sel_idx = np.where(mtd < 0, D, mtd)
        early = (N < max_n) if max_n is not None else np.zeros(N.shape, bool)
        if weights is None:
            s = lambda a: a.sum(axis=0)  # noqa: E731
            self.sel += np.bincount(sel_idx, minlength=D + 1)
            self.w += N.size
            counts = np.bincount(reason_codes, minlength=len(labels))
        else:
            # Integer weights (Monte Carlo counts of trials per distinct final state) keep the
            # tally in integers, equal to adding the trials one by one.
            integral = np.issubdtype(np.asarray(weights).dtype, np.integer)
            s = lambda a: (weights[:, None] * a).sum(axis=0) if a.ndim == 2 else (weights * a).sum()  # noqa: E731
            sel = np.bincount(sel_idx, weights=weights, minlength=D + 1)
            counts = np.bincount(reason_codes, weights=weights, minlength=len(labels))
            if integral:
                sel, counts = np.rint(sel).astype(np.int64), np.rint(counts).astype(np.int64)
            self.sel += sel
            self.w += weights.sum()
        self.n_sum += s(n)
        self.n_sq += s(n * n)
        self.n_cross += s(n * N[:, None])
        self.y_sum += s(y)
        self.y_sq += s(y * y)
        self.N_sum += s(N)
        self.N_sq += s(N * N)
        self.Y_sum += s(Y)
        self.Y_sq += s(Y * Y)
        self.above_sum += s(above)
        self.above_sq += s(above * above)
        self.above_cross += s(above * N)
        self.od60 += s((above > 0.6 * ref).astype(np.int64))
        self.od80 += s((above > 0.8 * ref).astype(np.int64))
        self.early += s(early.astype(np.int64))
        for c, v in enumerate(counts):
            if v:
                v = int(v) if (weights is None or integral) else v
                self.reasons[labels[c]] = self.reasons.get(labels[c], 0) + v

    def merge(self, other: "Tally") -> "Tally":
        for f in self.FIELDS:
            setattr(self, f, getattr(self, f) + getattr(other, f))
        for k, v in other.reasons.items():
            self.reasons[k] = self.reasons.get(k, 0) + v
        return self
