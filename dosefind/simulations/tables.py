"""Decision tables: a count design's decisions over its reachable count states.

A design with ``memory = "counts"`` decides from the count state alone
(``TrialState.key()``: per-dose n and DLTs, current dose, last cohort's DLT count), and
the truth never enters a decision.  So its decisions can be computed once per distinct
state and reused for every scenario, seed, worker and call.  A :class:`DecisionTable`
numbers the states reachable from the empty trial (state 0) as they are first met and
stores, per state id:

``status``   :data:`UNDECIDED`, :data:`CONTINUE`, :data:`STOP` or :data:`NO_ROOM` (the
             design continues but the trial has no patients left: an engine error)
``nxt``      0-based next dose of a continuing state
``code``     index into ``labels`` of the decision's reason code (``decision.code.value``)
``child``    (state, k) -> id of the state after a cohort with k DLTs at ``nxt``
``sel``      0-based MTD selected when the trial stops there (-1: none; -2: not yet asked)
``depth``    cohorts treated so far (all states of one depth have treated the same patients)

Every entry comes from the design's own rule, asked through
:func:`~dosefind.simulations._kernel.count_state` exactly as the general engine asks: its
scalar ``decide(state)`` once per state, or once per distinct decision key when the design
keys its decisions (``Design.decision_key``: BOIN), or its ``decide_batch`` when the design
has one and its scalar ``decide`` is that rule on one state (CRM); MTD selections by
``select_mtd_batch`` or ``select_mtd``.  Tables grow lazily, so a small run only pays for
the states it visits; the Monte Carlo walker (:mod:`~dosefind.simulations.walker`) and the
exact engine both read them.  States are indexed by id (found through a checked 64-bit
hash of the count row, per depth), not by a mixed-radix key, so any number of doses and
cohorts can be tabulated; a keyed design whose state space keeps growing (20 cohorts) runs
on the keyed walker (:mod:`~dosefind.simulations.keyed_walker`) or the general engine
instead (:data:`LARGE_SPACE_STATES`).  For Monte Carlo the table
tallies a call from the count rows of the final states its trials met (one weighted Gram
matrix, :meth:`DecisionTable.tally_counts`).

Tables are shared through :func:`table_for`, keyed on the design's configuration (type,
``repr`` and every public attribute of the design and of each link of a modifier chain),
so ``compare``, study runs and grids that rebuild equal designs reuse one table.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from dosefind._rows import distinct_rows, odd_multipliers as _multipliers, unique_first as _unique_first
from dosefind.simulations._kernel import count_state

__all__ = ["DecisionTable", "TableTooLarge", "table_for", "clear_tables", "design_key",
           "UNDECIDED", "CONTINUE", "STOP", "NO_ROOM", "TABLE_MAX_STATES"]

UNDECIDED, CONTINUE, STOP, NO_ROOM = 0, 1, 2, 3

#: States one table may hold; beyond this a design is treated as having an unbounded state
#: space and runs on the general engine (memory: about 40 bytes per state, plus about 150
#: per state of the levels still open to new states).
TABLE_MAX_STATES = 1_000_000

#: New states a run's first chunk may decide for a design with a vectorised
#: ``decide_batch`` (CRM) before the run goes to the general engine, which asks the batch
#: rule for the trials' states cohort by cohort without tabulating them: such a state
#: space keeps growing.  (CRM with 5 doses and 10 cohorts of 3 has 26,061 states in all.)
LARGE_SPACE_DECISIONS = 40_000

#: New states a run's first chunk may add to the table of a design that keys its
#: decisions (``Design.decision_key``) before the run goes to the keyed walker or the
#: general engine, which
#: then asks the scalar rule once per distinct key: its trials keep meeting new states
#: (BOIN with 20 cohorts of 3: about 170,000 in the first 10,000 trials, millions in all),
#: and tabulating each costs more than the general engine's key look-ups.  (BOIN with 10
#: cohorts meets about 12,000 in its first chunk, 26,325 in all.)
LARGE_SPACE_STATES = 50_000

#: After a Monte Carlo run of at least this many trials, the table's remaining undecided
#: states are decided too (up to COMPLETE_MAX_NEW decisions), so later runs walk without
#: pausing on rare states.
COMPLETE_AFTER_TRIALS = 200_000
COMPLETE_MAX_NEW = 30_000

#: States kept over all shared tables before the least recently used are dropped.
CACHE_MAX_STATES = 6_000_000

#: Safety cap on patients per trial for designs without ``max_n`` (as the general engine).
MAX_PATIENTS = 1000


class _Collision(Exception):
    """Internal: two distinct count states share a row hash (new multipliers are drawn)."""


class TableTooLarge(Exception):
    """Internal: the design's reachable state space outgrew :data:`TABLE_MAX_STATES`."""


def patient_cap(design) -> int:
    return design.max_n if design.max_n is not None else MAX_PATIENTS


def cohort_rows(design) -> tuple[np.ndarray, np.ndarray]:
    """Patients treated before the cohort of each depth, and that cohort's size (the last
    cohort is cut to max_n, as in BOIN's get.oc and the general engine); the last depth is
    the one with no room (size <= 0 or beyond the patient cap)."""
    cap = patient_cap(design)
    row0, msize, treated = [], [], 0
    while True:
        m = design.cohort_size if design.max_n is None else min(design.cohort_size, design.max_n - treated)
        row0.append(treated)
        msize.append(m)
        if m <= 0 or treated + m > cap:
            break
        treated += m
    return np.array(row0, np.int64), np.array(msize, np.int64)


class DecisionTable:
    """Lazily grown table of a count design's decisions (see the module docstring)."""

    def __init__(self, design, *, use_batch: bool = True, max_states: int | None = None, use_keys: bool = True):
        if design.memory != "counts":
            raise ValueError(f"decision tables need a design with memory='counts', got {design.memory!r}")
        self.design = design
        self.D = design.num_doses
        self.M = design.cohort_size
        self.cap = patient_cap(design)
        self.max_states = int(TABLE_MAX_STATES if max_states is None else max_states)
        self.row0, self.msize = cohort_rows(design)
        self.labels: list[str] = []
        self._label_code: dict[str, int] = {}
        self._select_batch = None
        from dosefind.simulations._kernel import _is_plain

        if use_batch and _is_plain(design) and getattr(type(design), "select_mtd_batch", None) is not None:
            # A design's optional vectorised MTD selection (checked against select_mtd by
            # tests/simulations/test_select_batch_conformance.py); select_mtd otherwise.
            self._select_batch = design.select_mtd_batch
        self.decide_calls = 0
        self.select_calls = 0
        # A plain design's decide_batch, when its scalar decide is the same rule on one state
        # (see _ask_batch); reason labels per (batch code, direction).
        self._decide_batch, self._batch_params, self._batch_labels = None, [], {}
        if use_batch and _is_plain(design) and getattr(type(design), "decide_batch", None) is not None:
            import inspect

            self._decide_batch = design.decide_batch
            self._batch_params = list(inspect.signature(design.decide_batch).parameters)
        # Decisions per distinct decision key (Design.decision_key), when the design keys them.
        self._by_key: dict[bytes, tuple[bool, int, int]] = {}
        self._keyed = use_keys and getattr(design, "decision_key", None) is not None and design.decision_key(
            np.zeros((1, self.D), np.int64), np.zeros((1, self.D), np.int64), np.full(1, -1, np.int64),
            np.full(1, -1, np.int64)) is not None
        # Key -> id, one dict per depth (a state's children are one cohort deeper).  Once
        # every state of a depth is decided no new state can appear one level down, so that
        # level's dict is dropped (ids stay): memory is about one level of keys.
        self._index: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # sorted row hashes, their ids
        self._salt = 0
        self._mult = _multipliers(0, 2 * self.D + 2)
        self._undecided = np.zeros(self.msize.size + 1, np.int64)
        self.size = 0
        # The smallest integer type that holds every count (memory of big exact runs).
        top = max(self.cap, self.D)
        cdt = np.int8 if top < 2 ** 7 - 1 else np.int16 if top < 2 ** 15 - 1 else np.int32
        self._alloc(1024, cdt)
        self._add(np.zeros((1, 2 * self.D + 2), cdt) + np.array([0] * (2 * self.D) + [-1, -1], cdt),
                  np.zeros(1, np.int32))

    # ------------------------------------------------------------------ storage
    def _alloc(self, capacity, cdt=None):
        cdt = cdt or self.rows.dtype
        old = self.size
        small = np.int16 if max(self.D, self.msize.size) < 2 ** 15 - 1 else np.int32
        fields = {"rows": ((capacity, 2 * self.D + 2), cdt, 0), "depth": ((capacity,), small, 0),
                  "status": ((capacity,), np.int8, UNDECIDED), "nxt": ((capacity,), small, -1),
                  "code": ((capacity,), np.int32, 0), "child": ((capacity, self.M + 1), np.int32, -1),
                  "sel": ((capacity,), small, -2)}
        for name, (shape, dt, fill) in fields.items():
            arr = np.full(shape, fill, dt)
            if old:
                arr[:old] = getattr(self, name)[:old]
            setattr(self, name, arr)
        self.capacity = capacity

    def _add(self, rows, depth, hashes=None) -> np.ndarray:
        """Ids of ``rows`` (count-state rows n|y|cur|last), adding the new ones (numbered in
        order of first appearance, lower depths first).  ``hashes``: a function giving the
        rows' :meth:`_hash` under the current multipliers more cheaply (see :meth:`_children`)."""
        rows = np.ascontiguousarray(rows, dtype=self.rows.dtype)
        while True:
            try:
                h = self._hash(rows) if hashes is None else hashes()
                return self._add_hashed(rows, np.asarray(depth), h)
            except _Collision:
                self._rehash()

    def _hash(self, rows) -> np.ndarray:
        # A random linear form of the row, mod 2**64: equal rows, equal hashes; two distinct
        # rows share a hash with chance about 2**-64, and every match is checked row by row.
        with np.errstate(over="ignore"):
            return (rows.astype(np.uint64) * self._mult[:rows.shape[1]]).sum(axis=1, dtype=np.uint64)

    def _rehash(self) -> None:
        """New multipliers after a hash collision; the open levels are indexed again (with
        yet other multipliers if they collide too)."""
        while True:
            try:
                return self._rehash_once()
            except _Collision:
                continue

    def _rehash_once(self) -> None:
        self._salt += 1
        self._mult = _multipliers(self._salt, self._mult.size)
        for dp in list(self._index):
            ids = np.flatnonzero(self.depth[:self.size] == dp)
            h = self._hash(self.rows[ids])
            order = np.argsort(h, kind="stable")
            if (np.diff(h[order]) == 0).any():
                raise _Collision
            self._index[dp] = (h[order], ids[order].astype(np.int32))

    def _add_hashed(self, rows, depth, h) -> np.ndarray:
        ids = np.empty(rows.shape[0], np.int32)
        new, size = [], self.size
        levels = np.unique(depth).tolist()
        for dp in levels:
            where = np.arange(rows.shape[0]) if len(levels) == 1 else np.flatnonzero(depth == dp)
            uh, first, inverse = _unique_first(h[where])
            if not (rows[where] == rows[where[first[inverse]]]).all():
                raise _Collision
            keys, kid = self._index.get(dp, (np.empty(0, np.uint64), np.empty(0, np.int32)))
            pos = np.minimum(np.searchsorted(keys, uh), max(keys.size - 1, 0))
            found = (keys[pos] == uh) if keys.size else np.zeros(uh.size, bool)
            uid = np.empty(uh.size, np.int64)
            uid[found] = kid[pos[found]]
            if found.any() and not (self.rows[uid[found]] == rows[where[first[found]]]).all():
                raise _Collision
            fresh = np.flatnonzero(~found)
            fresh = fresh[np.argsort(first[fresh])]  # in order of first appearance (no ties)
            start = size + sum(part.size for part in new)
            uid[fresh] = start + np.arange(fresh.size)
            new.append(where[first[fresh]])
            if fresh.size:
                allk, alli = np.concatenate([keys, uh[fresh]]), np.concatenate([kid, uid[fresh].astype(np.int32)])
                order = np.argsort(allk)  # distinct hashes: no ties
                self._index[dp] = (allk[order], alli[order])
            ids[where] = uid[inverse]
        new = np.concatenate(new) if new else np.empty(0, np.int64)
        if new.size:
            end = size + new.size
            if end > self.max_states:
                raise TableTooLarge(f"more than {self.max_states} reachable states")
            if end > self.capacity:
                self._alloc(max(end, self.capacity + self.capacity // 4 + 1024))
            self.rows[size:end] = rows[new]
            self.depth[size:end] = depth[new]
            self._undecided += np.bincount(depth[new], minlength=self._undecided.size)[:self._undecided.size]
            self.size = end
        return ids

    def _code(self, label: str) -> int:
        c = self._label_code.get(label)
        if c is None:
            c = self._label_code[label] = len(self.labels)
            self.labels.append(label)
        return c

    def state(self, i: int):
        D, r = self.D, self.rows[i]
        return count_state(self.design, r[:D], r[D:2 * D], r[2 * D], r[2 * D + 1])

    @property
    def n(self):
        return self.rows[:self.size, :self.D]

    @property
    def y(self):
        return self.rows[:self.size, self.D:2 * self.D]

    # ------------------------------------------------------------------ filling
    def decide(self, ids) -> None:
        """Ask the design for the states ``ids`` not yet decided and add their children."""
        ids = np.unique(np.asarray(ids, dtype=np.int64))
        ids = ids[self.status[ids] == UNDECIDED]
        for start in range(0, ids.size, 16384):  # bounded temporaries for huge levels
            self._decide(ids[start:start + 16384])

    def _decide(self, ids) -> None:
        if not ids.size:
            return
        stop, nxt, code = self._ask(ids)
        self.code[ids] = code
        self.status[ids[stop]] = STOP
        go = ids[~stop]
        if go.size:
            d = nxt[~stop]
            self.nxt[go] = d
            dp = self.depth[go].astype(np.int64)
            m = np.where(dp < self.msize.size, self.msize[np.minimum(dp, self.msize.size - 1)], 0)
            room = (m > 0) & (self.row0[np.minimum(dp, self.row0.size - 1)] + m <= self.cap)
            self.status[go[~room]] = NO_ROOM
            self.status[go[room]] = CONTINUE
        self._undecided -= np.bincount(self.depth[ids], minlength=self._undecided.size)[:self._undecided.size]
        if go.size and room.any():
            self._children(go[room].astype(np.int64), d[room].astype(np.int64))
        # When every state above a depth is decided, no new state can appear at that depth:
        # its key index is no longer needed.
        for dp in [d for d in self._index if d > 0 and not self._undecided[:d].any()]:
            del self._index[dp]

    def _ask(self, ids):
        """(stop, next dose, reason code) of the states ``ids``, from the design's scalar
        ``decide``: once per state, or, when the design keys its decisions
        (``Design.decision_key``), once per distinct key, each key asked of its first state."""
        design, D = self.design, self.D
        rows = self.rows[ids].astype(np.int64)
        if self._decide_batch is not None and not self._keyed:
            return self._ask_batch(rows)
        keys = None
        if self._keyed:
            keys = design.decision_key(rows[:, :D], rows[:, D:2 * D], rows[:, 2 * D], rows[:, 2 * D + 1])
        if keys is None:
            ask = np.arange(ids.size)
            inverse = ask
        else:
            keys = np.ascontiguousarray(keys, dtype=np.int64)
            view = keys.view(np.dtype((np.void, 8 * keys.shape[1]))).ravel()  # the by-key cache's keys
            # First indices per distinct key (the order of the groups is not used).
            ask, inverse = distinct_rows(keys)
        stop = np.empty(ask.size, bool)
        nxt = np.empty(ask.size, np.int64)
        code = np.empty(ask.size, np.int32)
        known = self._by_key
        for j in np.argsort(ask).tolist():  # in the states' order, as one call per state asks
            i = int(ask[j])
            key = None if keys is None else view[i].tobytes()
            answer = None if key is None else known.get(key)
            if answer is None:
                r = rows[i]
                decision = design.decide(count_state(design, r[:D], r[D:2 * D], r[2 * D], r[2 * D + 1]))
                self.decide_calls += 1
                answer = (bool(decision.stop), -1 if decision.stop else int(decision.dose_index),
                          self._code(decision.code.value))
                if key is not None:
                    known[key] = answer
            stop[j], nxt[j], code[j] = answer
        return stop[inverse], nxt[inverse], code[inverse]

    def _ask_batch(self, rows):
        """:meth:`_ask` through the design's ``decide_batch``, for a design whose scalar
        ``decide`` is that batch rule on one state (CRM: ``_rule``), so one rule answers
        both (tests/designs/test_decision_keys.py compares every reachable state with its
        scalar decision).  Reason codes are the scalar rule's: each distinct (batch code,
        stop / down / stay / up) is labelled by the scalar decision of its first state."""
        from dosefind.simulations._kernel import batch_kwargs

        D = self.D
        n, y, cur, last = rows[:, :D], rows[:, D:2 * D], rows[:, 2 * D], rows[:, 2 * D + 1]
        nxt, raw = self._decide_batch(**batch_kwargs(self._batch_params, n, y, cur, last, n.sum(axis=1)))
        nxt = np.asarray(nxt, dtype=np.int64)
        self.decide_calls += rows.shape[0]
        stop = nxt < 0
        combo = np.asarray(raw, dtype=np.int64) * 4 + np.where(stop, 3, np.sign(nxt - cur) + 1)
        code = np.empty(rows.shape[0], np.int32)
        values, first, inverse = np.unique(combo, return_index=True, return_inverse=True)
        labels = np.empty(values.size, np.int32)
        for j, (v, i) in enumerate(zip(values.tolist(), first.tolist())):
            c = self._batch_labels.get(v)
            if c is None:
                r = rows[i]
                decision = self.design.decide(count_state(self.design, r[:D], r[D:2 * D], r[2 * D], r[2 * D + 1]))
                if bool(decision.stop) != bool(stop[i]) or (not decision.stop and decision.dose_index != nxt[i]):
                    raise RuntimeError(f"{self.design.name}: decide_batch and decide disagree on the state "
                                       f"{r.tolist()}; a conformance bug in the design")
                c = self._batch_labels[v] = self._code(decision.code.value)
            labels[j] = c
        code[:] = labels[inverse.ravel()]
        return stop, nxt, code

    def _children(self, parents, doses) -> None:
        depth = self.depth[parents].astype(np.int64)
        msize = self.msize[depth]
        D = self.D
        for m in np.unique(msize).tolist():
            sel = msize == m
            p, d = parents[sel], doses[sel]
            base = self.rows[p]  # a copy, in the table's small integer type
            base[np.arange(p.size), d] += m
            base[:, 2 * D] = d
            base[:, 2 * D + 1] = 0
            ks = np.arange(m + 1)
            kids = np.repeat(base, m + 1, axis=0)  # (B * (m+1), row): parent-major
            kids[:, 2 * D + 1] = np.tile(ks, p.size)
            kids[np.arange(kids.shape[0]), np.repeat(D + d, m + 1)] += kids[:, 2 * D + 1]

            def hashes(base=base, d=d, ks=ks):
                # The row hash is linear in the row: a kid's is its base row's (k = 0) plus
                # k times the multipliers of its dose's DLT count and of the last cohort's.
                step = self._mult[D + d] + self._mult[2 * D + 1]
                with np.errstate(over="ignore"):
                    return (self._hash(base)[:, None] + step[:, None] * ks.astype(np.uint64)).ravel()

            cid = self._add(kids, np.repeat(self.depth[p] + 1, m + 1), hashes)
            self.child[p, :m + 1] = cid.reshape(p.size, m + 1)

    def complete(self, max_new: int) -> bool:
        """Decide every state still undecided, level by level, while that takes at most
        ``max_new`` new decisions in all; True when the table is complete.  A run of many
        trials then never pauses on a rare state (each pause costs a walk round)."""
        spent = 0
        while True:
            und = np.flatnonzero(self.status[:self.size] == UNDECIDED)
            if not und.size:
                break
            if spent + und.size > max_new:
                return False
            spent += und.size
            self.decide(und)
        # Every final state is known now: select (and keep the tally rows of) those not met
        # yet, so that later calls (other scenarios, seeds) never stop to ask for one.
        final = np.flatnonzero(self.status[:self.size] == STOP)
        if (self.sel[final] == -2).sum() + spent > max_new:
            return False
        self.select(final)
        return True

    def select(self, ids) -> None:
        """Record the MTD selection of the final states ``ids`` not yet asked."""
        ids = np.asarray(ids, dtype=np.int64)
        ids = ids[self.sel[ids] == -2]
        if ids.size > 1 and not (ids[1:] > ids[:-1]).all():
            ids = np.unique(ids)
        for start in range(0, ids.size, 16384):  # bounded temporaries for huge exact runs
            self._select(ids[start:start + 16384])

    def _select(self, ids) -> None:
        if not ids.size:
            return
        self.select_calls += ids.size
        if self._select_batch is not None:
            res = self._select_batch(n_at_dose=self.rows[ids, :self.D].astype(np.int64),
                                     tox_at_dose=self.rows[ids, self.D:2 * self.D].astype(np.int64))
            self.sel[ids] = np.asarray(res[0] if isinstance(res, tuple) else res, dtype=np.int64)
            return
        D, design = self.D, self.design
        for i, r in zip(ids.tolist(), self.rows[ids].tolist()):
            s = design.select_mtd(count_state(design, r[:D], r[D:2 * D], r[2 * D], r[2 * D + 1]))
            self.sel[i] = -1 if s.mtd_index is None else int(s.mtd_index)

    # ------------------------------------------------------------------ Monte Carlo tallies
    def tally_counts(self, counts, above_mask, jit: bool | None = None):
        """Tally of Monte Carlo trials from ``counts`` (trials ending in each state id): the
        same integers as :meth:`tally` (every sum is over integers, so the order does not
        matter).  Every sum of the tally is a weighted first or second moment of the final
        states' count rows x = (n | y) and of three sums per row (N, Y and the patients above
        the MTD), so a call reads only the compact count rows of the states its trials
        ended in.  ``jit`` (default: when the compiled walker is loaded in this process)
        forms the sums in one compiled pass (:func:`~.walker.jit_tally`); otherwise a few
        matrix-vector products over the rows give the same integers."""
        from dosefind.simulations import walker

        ids = np.flatnonzero(counts > 0)  # a bool scan: several times quicker than on int64
        self.select(ids)  # no-op once complete() has selected every final state
        kernel = walker.jit_tally() if jit is None or jit else None
        if kernel is not None:
            D = self.D
            out = kernel(ids, counts.astype(np.int64, copy=False), self.rows, self.sel, self.code,
                         np.asarray(above_mask, dtype=np.bool_), D, len(self.labels),
                         -1 if self.design.max_n is None else int(self.design.max_n))
            return self._tally_from(out[:5 * D].reshape(5, D), out[5 * D:6 * D + 1], out[6 * D + 1:6 * D + 12],
                                    out[6 * D + 12:])
        return self._tally_numpy(ids, counts[ids].astype(np.int64), above_mask)

    def _tally_numpy(self, ids, c, above_mask):
        D = self.D
        w = int(c.sum())
        # Every product and partial sum is a whole number below 2**53 (at most 10**9 trials
        # times at most MAX_PATIENTS**2, all terms >= 0), so the floating-point products
        # are exact and equal to the integer ones, several times quicker; beyond that
        # bound, integers.
        exact_float = w * max(1, int(self.cap)) ** 2 < 2 ** 53
        dt = np.float64 if exact_float else np.int64
        x = self.rows.take(ids, axis=0)[:, :2 * D].astype(dt)
        cw = c.astype(dt)
        m = above_mask.astype(dt)
        k = np.zeros((2 * D, 3), dt)  # row sums: N, Y, patients above the MTD
        k[:D, 0], k[D:, 1], k[:D, 2] = 1, 1, m
        s = x @ k
        N, above = s[:, 0], s[:, 2]
        first = cw @ x
        sq = cw @ (x * x)
        cross = (cw * N) @ x[:, :D]
        moments = s.T @ (cw[:, None] * s)  # sums of N^2, Y^2, above^2, above*N, ...
        as_int = (lambda a: np.rint(a).astype(np.int64)) if exact_float else (lambda a: np.asarray(a, np.int64))
        per_dose = np.stack([as_int(first[:D]), as_int(sq[:D]), as_int(cross), as_int(first[D:]), as_int(sq[D:])])
        max_n = self.design.max_n
        ref = N if max_n is None else max_n
        scalars = [*as_int([first[:D].sum(), moments[0, 0], first[D:].sum(), moments[1, 1], first[:D] @ m,
                            moments[2, 2], moments[2, 0]]),
                   c[above > 0.6 * ref].sum(), c[above > 0.8 * ref].sum(),
                   0 if max_n is None else c[N < max_n].sum(), w]
        sel = self.sel[ids].astype(np.intp)
        sel = np.bincount(np.where(sel < 0, D, sel), weights=c, minlength=D + 1).round().astype(np.int64)
        reasons = np.bincount(self.code[ids], weights=c, minlength=len(self.labels)).round().astype(np.int64)
        return self._tally_from(per_dose, sel, scalars, reasons)

    def _tally_from(self, per_dose, sel, scalars, reasons):
        """A Tally from its integer sums: per dose (n, n^2, n N, y, y^2), the selections
        (last: none), the scalars (N, N^2, Y, Y^2, above, above^2, above N, overdosed 60%
        and 80%, stopped early, trials) and trials per reason code."""
        from dosefind.simulations._kernel import Tally

        tally = Tally(self.D)
        tally.n_sum, tally.n_sq, tally.n_cross, tally.y_sum, tally.y_sq = (np.array(a, np.int64) for a in per_dose)
        tally.sel = np.array(sel, np.int64)
        (tally.N_sum, tally.N_sq, tally.Y_sum, tally.Y_sq, tally.above_sum, tally.above_sq, tally.above_cross,
         tally.od60, tally.od80, tally.early, tally.w) = (np.int64(v) for v in scalars)
        for j in np.flatnonzero(reasons).tolist():
            tally.reasons[self.labels[j]] = int(reasons[j])
        return tally

    def tally(self, ids, weights, above_mask, exact: bool = False):
        """Tally of the final states ``ids`` with ``weights`` (trial counts or probabilities),
        added in slices so that the temporaries stay small for huge exact runs."""
        from dosefind.simulations._kernel import Tally

        ids = np.asarray(ids, dtype=np.int64)
        self.select(ids)
        tally = Tally(self.D, exact=exact)
        D = self.D
        for a in range(0, ids.size, 65536):
            i, w = ids[a:a + 65536], weights[a:a + 65536]
            tally.add(self.rows[i, :D], self.rows[i, D:2 * D], self.sel[i].astype(np.int64),
                      self.code[i].astype(np.int64), self.labels, above_mask, self.design.max_n, weights=w)
        return tally

    def no_room_error(self, i: int) -> RuntimeError:
        return RuntimeError(f"{self.design.name}: a simulated trial did not stop after {int(self.row0[self.depth[i]])} "
                            "patients; give the design a maximum sample size (max_n)")

    def nbytes(self) -> int:
        arrays = sum(getattr(self, f).nbytes for f in ("rows", "depth", "status", "nxt", "code", "child", "sel"))
        return arrays + sum(k.nbytes + i.nbytes for k, i in self._index.values())


# ---------------------------------------------------------------------- shared cache
_TABLES: "OrderedDict[tuple, DecisionTable | None]" = OrderedDict()
_MISSING = object()


#: Types described by (type name, value) directly: the common leaves of a configuration.
_LEAVES = frozenset({bool, int, float, str, bytes, type(None)})
_CONFIG_TYPES: tuple = ()


def _fingerprint(obj, depth=0):
    """A hashable description of a design's configuration (public attributes, recursively)."""
    global _CONFIG_TYPES
    if depth > 6:
        raise TypeError("configuration nested too deeply")
    t = type(obj)
    if t in _LEAVES:  # most leaves: no isinstance chain
        return (t.__name__, obj)
    if not _CONFIG_TYPES:
        from dosefind.designs.base import Design
        from dosefind.designs.modifiers import Modifier

        _CONFIG_TYPES = (Design, Modifier)
    if obj is None or isinstance(obj, (bool, int, float, str, bytes)):
        return (type(obj).__name__, obj)
    if isinstance(obj, np.generic):
        return (type(obj).__name__, obj.item())
    if isinstance(obj, np.ndarray):
        return ("ndarray", obj.dtype.str, obj.shape, obj.tobytes())
    if isinstance(obj, (tuple, list)):
        return (type(obj).__name__, tuple([_fingerprint(v, depth + 1) for v in obj]))
    if isinstance(obj, dict):
        return ("dict", tuple(sorted((repr(k), _fingerprint(v, depth + 1)) for k, v in obj.items())))
    if isinstance(obj, _CONFIG_TYPES) or hasattr(obj, "__dataclass_fields__"):
        attrs = vars(obj) if hasattr(obj, "__dict__") else {}
        public = tuple(sorted([(k, _fingerprint(v, depth + 1)) for k, v in attrs.items() if k[:1] != "_"]))
        return (type(obj).__module__, type(obj).__qualname__, public)
    raise TypeError(f"cannot fingerprint {type(obj).__name__}")


def design_key(design, use_batch: bool = True) -> tuple:
    """Cache key of a design: equal configurations give equal keys.  A design whose
    configuration cannot be described (e.g. holds a function) is keyed by its identity."""
    try:
        fp = _fingerprint(design)
        hash(fp)
    except TypeError:
        fp = ("id", id(design))
    return (type(design).__module__, type(design).__qualname__, repr(design), fp, bool(use_batch))


def table_for(design, use_batch: bool = True) -> DecisionTable | None:
    """The shared decision table of ``design`` (None when it has no bounded count table:
    ``memory='history'`` designs, or a state space beyond :data:`TABLE_MAX_STATES`)."""
    if design.memory != "counts":
        return None
    key = design_key(design, use_batch)
    table = _TABLES.get(key, _MISSING)
    if table is not _MISSING:
        _TABLES.move_to_end(key)
        if table is None or table.design is design or key[3][0] != "id":
            return table
    table = DecisionTable(design, use_batch=use_batch)
    _TABLES[key] = table
    _trim()
    return table


def mark_too_large(design, use_batch: bool = True) -> None:
    """Remember that ``design`` outgrew its table (later calls go to the general engine)."""
    _TABLES[design_key(design, use_batch)] = None


def _trim() -> None:
    total = sum(t.size for t in _TABLES.values() if t is not None)
    while total > CACHE_MAX_STATES and len(_TABLES) > 1:
        _, old = _TABLES.popitem(last=False)
        total -= old.size if old is not None else 0


def clear_tables() -> None:
    """Forget every shared table (for benchmarks of cold starts and for tests)."""
    _TABLES.clear()
