"""The keyed walker: compiled Monte Carlo for count designs too large to tabulate.

A count design whose reachable states run into the millions (BOIN with 20 cohorts of 3)
cannot be walked over a :class:`~.tables.DecisionTable`, but when it describes its decision
key as a :class:`~dosefind.designs.keys.DoseKeyLayout` its decisions still come from a
small table: one answer per distinct *key* (current dose and its counts, the lowest
flagged dose, optionally dose 1's counts), a few thousand in all.  The walker carries each
trial's count row (patients and DLTs per dose, current dose, last cohort), computes the
key of its state in compiled code from the layout (the per-dose flag read from
:meth:`~dosefind.designs.keys.DoseKeyLayout.flag_table`, the design's own rule per (n, y)),
finds the answer in an open-addressing hash table of key codes, and treats the next cohort
with the trial's next latent uniforms, exactly as the general engine does.

A trial pauses at a key not answered yet: the engine asks the design's
:meth:`~dosefind.designs.base.Design.decision_key` for the paused states (numpy), checks
that its key codes are the walker's (a mismatch is a conformance error, never a silent
difference), asks the scalar rule once per new key through the shared
:class:`~dosefind.simulations._kernel.Decider` (the general engine's answers, shared both
ways), and resumes.  Final states are selected and tallied as the general engine does
(``Decider.select``, ``Tally.add``), so the tallies are identical for the same seed; without
numba (or with ``DOSEFIND_NO_JIT=1``) the general engine itself is the fallback.
"""

from __future__ import annotations

import numpy as np

from dosefind._rows import distinct_rows
from dosefind.simulations._kernel import Decider, Tally
from dosefind.simulations.patients import PatientUniforms, chunk_seed
from dosefind.simulations.tables import cohort_rows, patient_cap
from dosefind.simulations.walker import CompiledOnce

__all__ = ["KeyedWalker", "keyed_walker_for", "use_keyed", "KEYED_JIT_MIN_TRIALS"]

#: The keyed walker is used by default once a process has simulated this many trials in
#: all (one large run, or the many small runs of a grid): loading the compiled code costs
#: about half a second, and the general engine needs about 4 us per trial of 20 cohorts,
#: so the walker repays itself beyond about 10^5 trials.
KEYED_JIT_MIN_TRIALS = 100_000

#: Largest count (max_n) the walker's flag table covers ((max_n + 1)^2 bytes).
MAX_SPAN = 1024

RUNNING, STOPPED, NEW_KEY, NEED_ROWS, NO_ROOM = 0, 1, 2, 3, 4

#: Patients' uniforms drawn at first per chunk (more when a trial needs them).
FIRST_ROWS = 64

#: Trials whose final states are tallied together (distinct states selected once per block).
BLOCK_TRIALS = 100_000

_trials_seen = 0


def use_keyed(n_trials: int) -> bool:
    """Whether a run of ``n_trials`` should take the keyed walker where a design allows it:
    yes once the compiled code is loaded or this process has simulated (or is about to)
    :data:`KEYED_JIT_MIN_TRIALS` trials in all."""
    global _trials_seen
    _trials_seen += int(n_trials)
    return _compiled.loaded or _trials_seen >= KEYED_JIT_MIN_TRIALS


def _build_kernels(numba):
    """(walk, build) of the keyed walker, compiled by numba."""
    # Slots: Fibonacci hashing of the key code (the top bits of code * 2^64 / golden
    # ratio), written out in both functions: a jitted helper captured by the closure
    # would keep numba from caching them on disk.
    @numba.njit(cache=True, nogil=True)
    def _build(codes, bits):  # pragma: no cover - compiled
        size = 1 << bits
        keys = np.full(size, -1, np.int64)
        vals = np.zeros(size, np.int64)
        shift = 64 - bits
        mask = size - 1
        for j in range(codes.shape[0]):
            h = np.int64((np.uint64(codes[j]) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(shift))
            while keys[h] != -1:
                h = (h + 1) & mask
            keys[h] = codes[j]
            vals[h] = j
        return keys, vals

    @numba.njit(cache=True, nogil=True)
    def _walk(u, p, n, y, cur, last, depth, ntot, status, reason, miss, row0, msize, cap, max_n,
              flag, span, rad, hkeys, hvals, shift, ans_nxt, ans_code):  # pragma: no cover - compiled
        # The key code is KeyedWalker.key_codes' mixed radix over ``rad`` (the phase's
        # radix, then the layout's), its columns those of DoseKeyLayout.columns.
        R = u.shape[0]
        D = n.shape[1]
        mask = hkeys.shape[0] - 1
        extra = rad.shape[0] > 5
        width = 1
        for i in range(1, rad.shape[0]):
            width = width * rad[i]
        # Trials advance in step, one cohort depth at a time: every trial at a depth
        # reads the same rows of u, so the reads run along memory.
        lo = msize.shape[0]
        for t in range(n.shape[0]):
            if status[t] == 0 and depth[t] < lo:
                lo = depth[t]
        for level in range(lo, msize.shape[0]):
            for t in range(n.shape[0]):
                if status[t] != 0 or depth[t] != level:
                    continue
                c = cur[t]
                if c < 0:
                    code = width  # phase 1: before the first cohort
                elif ntot[t] >= max_n:
                    code = 2 * width  # phase 2: max_n reached
                else:
                    low = D
                    for j in range(D):
                        if flag[n[t, j] * span + y[t, j]] != 0:
                            low = j
                            break
                    code = ((c * rad[2] + n[t, c]) * rad[3] + y[t, c]) * rad[4] + low
                    if extra:
                        code = (code * rad[5] + n[t, 0]) * rad[6] + y[t, 0]
                h = np.int64((np.uint64(code) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(shift))
                while hkeys[h] != code and hkeys[h] != -1:
                    h = (h + 1) & mask
                if hkeys[h] == -1:
                    status[t] = 2
                    miss[t] = code
                    continue
                a = hvals[h]
                d = ans_nxt[a]
                if d < 0:
                    status[t] = 1
                    reason[t] = ans_code[a]
                    continue
                dp = depth[t]
                m = msize[dp]
                r = row0[dp]
                if m <= 0 or r + m > cap:
                    status[t] = 4
                    continue
                if r + m > R:
                    status[t] = 3
                    continue
                q = p[d]
                k = 0
                for i in range(m):
                    if u[r + i, t] < q:
                        k += 1
                n[t, d] += m
                y[t, d] += k
                cur[t] = d
                last[t] = k
                ntot[t] += m
                depth[t] = dp + 1

    return _walk, _build


_compiled = CompiledOnce(_build_kernels)


class KeyedWalker:
    """The keyed walk of one design (see the module docstring); built by
    :func:`keyed_walker_for`, which returns None when the design or machine cannot use it."""

    def __init__(self, design, layout, decider: Decider, fns):
        self.design, self.layout, self.decider = design, layout, decider
        self._walk, self._build = fns
        self.D = design.num_doses
        self.span = layout.max_n + 1
        self.flag = layout.flag_table()
        self.row0, self.msize = cohort_rows(design)
        self.cap = patient_cap(design)
        radices = [3] + layout.radices()
        self._radices = np.array(radices, np.int64)
        self.codes = np.empty(0, np.int64)  # key codes answered, in answer order of _answer
        self._answer = np.empty(0, np.int64)  # their Decider answer indices
        self._hash = None
        self._known: set[int] = set()

    def key_codes(self, keys: np.ndarray) -> np.ndarray:
        """Mixed-radix codes of :meth:`Design.decision_key` rows (the walker's codes)."""
        keys = np.asarray(keys, dtype=np.int64)
        if keys.shape[1] != self._radices.size or (keys < 0).any() or (keys >= self._radices).any():
            raise RuntimeError(f"{self.design.name}: decision_key rows do not fit the design's key layout; "
                               "a conformance bug in the design")
        code = np.zeros(keys.shape[0], np.int64)
        for c in range(keys.shape[1]):
            code = code * self._radices[c] + keys[:, c]
        return code

    def _learn(self, n, y, cur, last, miss) -> None:
        """Answer the keys the walk paused on (``miss``: the walker's codes)."""
        K = np.asarray(self.design.decision_key(n, y, cur, last), dtype=np.int64)
        codes = self.key_codes(K)
        if not np.array_equal(codes, miss):
            i = int(np.flatnonzero(codes != miss)[0])
            raise RuntimeError(f"{self.design.name}: the compiled key of the state n={n[i].tolist()}, "
                               f"y={y[i].tolist()}, current={int(cur[i])} differs from decision_key; "
                               "a conformance bug in the key layout")
        _, first = np.unique(codes, return_index=True)
        new = [i for i in first.tolist() if codes[i] not in self._known]
        if not new:  # pragma: no cover - the walker pauses only on unknown keys
            raise RuntimeError(f"{self.design.name}: the keyed walker paused on a known key")
        ask = self.decider.ask_key
        answers = [ask(K[i], n[i], y[i], cur[i], last[i]) for i in new]
        self.codes = np.concatenate([self.codes, codes[new]])
        self._answer = np.concatenate([self._answer, np.array(answers, np.int64)])
        self._known.update(codes[new].tolist())
        self._hash = None

    def _table(self):
        if self._hash is None:
            bits = max(4, int(2 * max(self.codes.size, 1) - 1).bit_length())
            keys, vals = self._build(self.codes, bits)
            self._hash = (keys, vals, 64 - bits)
        return self._hash

    def run(self, p, seed: int, chunks, above_mask, on_chunk=None) -> Tally:
        """Tally of the seed chunks ``chunks`` [(index, size), ...], identical to the
        general engine's; final states are tallied per block of :data:`BLOCK_TRIALS`."""
        tally, block, held = Tally(self.D), [], 0
        for index, size in chunks:
            block.append(self.walk_chunk(p, seed, index, size))
            held += size
            if on_chunk is not None:
                on_chunk(size)
            if held >= BLOCK_TRIALS:
                tally.merge(self._tally(block, above_mask))
                block, held = [], 0
        if block:
            tally.merge(self._tally(block, above_mask))
        return tally

    def walk_chunk(self, p, seed: int, index: int, size: int):
        """Final (n, y, current dose, last cohort's DLTs, reason code) of each trial of chunk
        ``index`` (``size`` trials)."""
        D, decider = self.D, self.decider
        patients = PatientUniforms(chunk_seed(seed, index), size)
        u = patients.next(min(self.cap, FIRST_ROWS))
        n = np.zeros((size, D), np.int16)  # counts stay below max_n <= 10,000 (memory of big blocks)
        y = np.zeros((size, D), np.int16)
        cur = np.full(size, -1, np.int64)
        last = np.full(size, -1, np.int64)
        depth = np.zeros(size, np.int64)
        ntot = np.zeros(size, np.int64)
        status = np.zeros(size, np.int8)
        reason = np.zeros(size, np.int64)
        miss = np.zeros(size, np.int64)
        max_n = self.design.max_n
        while True:
            keys, vals, shift = self._table()
            self._walk(u, p, n, y, cur, last, depth, ntot, status, reason, miss, self.row0, self.msize,
                       self.cap, max_n, self.flag, self.span, self._radices, keys, vals, shift,
                       *decider.key_answers(self._answer))
            if (status == STOPPED).all():
                return n, y, cur, last, reason
            bad = np.flatnonzero(status == NO_ROOM)
            if bad.size:
                raise RuntimeError(f"{self.design.name}: a simulated trial did not stop after "
                                   f"{int(ntot[bad[0]])} patients; give the design a maximum sample size (max_n)")
            new = np.flatnonzero(status == NEW_KEY)
            if new.size:
                self._learn(n[new], y[new], cur[new], last[new], miss[new])
                status[new] = RUNNING
            more = np.flatnonzero(status == NEED_ROWS)
            if more.size:
                need = int((self.row0[depth[more]] + self.msize[depth[more]]).max())
                extra = min(max(need - u.shape[0], u.shape[0]), self.cap - u.shape[0])
                u = np.ascontiguousarray(np.vstack([u, patients.next(extra)]))
                status[more] = RUNNING

    def _tally(self, block, above_mask) -> Tally:
        """Tally of walked chunks, per distinct final (n, y, reason): each distinct count
        row is selected once (when the design's selection reads only the counts), and the
        tally is an integer-weighted sum, equal to adding the trials one by one."""
        n, y, cur, last, reason = (np.concatenate(parts) for parts in zip(*block))
        decider, D = self.decider, self.D
        tally = Tally(D)
        if not decider.selects_from_counts:
            tally.add(n, y, decider.select(n, y, cur, last), reason, decider.labels, above_mask, self.design.max_n)
            return tally
        first, inverse = distinct_rows(np.hstack([n, y]))
        L = len(decider.labels) + 1
        combo, counts = np.unique(inverse * L + reason, return_counts=True)
        mtd = decider.select(n[first], y[first], cur[first], last[first])[combo // L]
        rows = first[combo // L]
        tally.add(n[rows], y[rows], mtd, combo % L, decider.labels, above_mask, self.design.max_n,
                  weights=counts.astype(np.int64))
        return tally


_WALKERS: dict = {}


def keyed_walker_for(design, use_batch: bool = True) -> KeyedWalker | None:
    """The shared keyed walker of ``design``, or None: the design does not describe its key
    as a layout, is a modifier chain or has a vectorised ``decide_batch`` (the general
    engine asks that), its counts exceed :data:`MAX_SPAN`, or numba is unavailable."""
    if design.memory != "counts":
        return None
    layout = design.decision_key_layout()
    if layout is None or layout.max_n + 1 > MAX_SPAN:
        return None
    if float(np.prod([3.0] + layout.radices())) >= 2.0 ** 62:
        return None  # key codes would not fit an int64 (thousands of doses)
    decider = Decider.shared(design, use_batch)
    if not decider.keyed:
        return None
    fns = _compiled()
    if fns is None:
        return None
    w = _WALKERS.get(id(decider))
    if w is None or w.decider is not decider:
        while len(_WALKERS) >= 4:
            _WALKERS.pop(next(iter(_WALKERS)))
        w = _WALKERS[id(decider)] = KeyedWalker(design, layout, decider, fns)
    return w
