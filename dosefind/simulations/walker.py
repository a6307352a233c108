"""The table walker: Monte Carlo trials as walks over a :class:`~.tables.DecisionTable`.

Each trial starts at state 0 (no patient treated).  While its state continues, the next
cohort of ``m`` patients is treated at the state's next dose ``d``: its DLT count is the
number of the trial's next ``m`` latent uniforms below ``true_prob_tox[d]``, and the trial
jumps to ``child[state, k]``.  The uniforms are the chunk's patient matrix (patients x
trials, drawn patient-major as :class:`~.patients.PatientUniforms` draws them), so a trial
sees exactly the numbers the general engine gives it and the tallies are bit-identical.

A walk pauses at a state the table has not decided yet, or when the trial needs more
patients' uniforms than were drawn; the caller fills the table or draws more rows and
walks again from where each trial paused.

Two implementations give the same numbers: a compiled one (numba, compiled once and cached
on disk) and a numpy one, used for small runs (no compiler start-up), when numba is missing,
or when the environment variable ``DOSEFIND_NO_JIT=1`` is set.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["walk", "walk_numpy", "jit_walker", "jit_tally", "use_jit", "JIT_MIN_TRIALS"]

#: The compiled walker is loaded once a process has simulated this many trials in all:
#: importing numba and loading the cached machine code costs about half a second, which
#: the faster walk (about 0.25 us per trial less than numpy's) repays only beyond about two
#: million trials.  One call of 10^6 trials in a fresh process is quicker on numpy; many
#: calls in one process (compare, grids, studies) switch to the compiled walker.
JIT_MIN_TRIALS = 2_000_000



def walk_numpy(u, p, state, status, nxt, child, depth, row0, msize) -> None:
    """Advance every trial's ``state`` in place as far as the table and ``u`` allow."""
    R = u.shape[0]
    idx = np.arange(state.size)
    while idx.size:
        s = state[idx]
        dp = depth[s]
        r, m = row0[dp], msize[dp]
        go = (status[s] == 1) & (r + m <= R)
        if not go.all():
            idx, s, dp, r, m = idx[go], s[go], dp[go], r[go], m[go]
            if not idx.size:
                return
        q = p[nxt[s]]
        if dp[0] == dp[-1] and (dp == dp[0]).all():
            # Trials in step (the usual case): one block of patients' rows for all.
            r0, m0 = int(r[0]), int(m[0])
            k = (u[r0:r0 + m0][:, idx] < q).sum(axis=0)
        else:
            k = np.zeros(idx.size, np.int64)
            for j in range(int(m.max())):
                k += (j < m) & (u[np.minimum(r + j, R - 1), idx] < q)
        state[idx] = child[s, k]


#: Trials simulated in this process so far (the JIT is loaded once they pass JIT_MIN_TRIALS).
_trials_seen = 0


def use_jit(n_trials: int) -> bool:
    """Whether a run of ``n_trials`` should use the compiled walker: yes once this process
    has simulated (or is about to simulate) :data:`JIT_MIN_TRIALS` trials in all, so one
    large run, and many small runs in one process (compare, grids), are both served."""
    global _trials_seen
    _trials_seen += int(n_trials)
    if _compiled.loaded:
        return True
    return _trials_seen >= JIT_MIN_TRIALS


def numba_or_none():
    """The numba module, or None when it is missing or ``DOSEFIND_NO_JIT=1`` is set (every
    compiled kernel of the engines asks here, so the switch is one)."""
    if os.environ.get("DOSEFIND_NO_JIT", "") not in ("", "0"):
        return None
    try:
        import numba
    except ImportError:  # pragma: no cover - numba is a dependency
        return None
    return numba


class CompiledOnce:
    """Kernels that ``build(numba)`` compiles (numba caches them on disk), built on first
    use, once per process; None without numba (:func:`numba_or_none`) or when ``requires``
    (another CompiledOnce) is unavailable.  Every compiled kernel of the engines is one."""

    def __init__(self, build, requires=None):
        self._build, self._requires, self._tried, self._fns = build, requires, False, None

    def __call__(self):
        if not self._tried:
            self._tried = True
            numba = numba_or_none()
            if numba is not None and (self._requires is None or self._requires() is not None):
                self._fns = self._build(numba)
        return self._fns

    @property
    def loaded(self) -> bool:
        """Whether the kernels are built in this process (asking does not build them)."""
        return self._fns is not None


def _build_walk(numba):
    @numba.njit(cache=True, nogil=True)
    def _walk(u, p, state, status, nxt, child, depth, row0, msize):  # pragma: no cover - compiled
        R = u.shape[0]
        for t in range(state.shape[0]):
            s = state[t]
            while status[s] == 1:
                dp = depth[s]
                r = row0[dp]
                m = msize[dp]
                if r + m > R:
                    break
                q = p[nxt[s]]
                k = 0
                for j in range(m):
                    if u[r + j, t] < q:
                        k += 1
                s = child[s, k]
            state[t] = s

    return _walk


_compiled = CompiledOnce(_build_walk)


def _build_tally(numba):
    @numba.njit(cache=True, nogil=True)
    def _tally(ids, counts, rows, sel, code, above, D, n_labels, max_n):  # pragma: no cover - compiled
        # Integer sums over the final states ``ids`` weighted by their trial counts, laid
        # out as in DecisionTable._tally_from.
        out = np.zeros(6 * D + 1 + 11 + n_labels, np.int64)
        for i in range(ids.shape[0]):
            s = ids[i]
            c = counts[s]
            N = 0
            Y = 0
            a = 0
            for j in range(D):
                nj = np.int64(rows[s, j])
                N += nj
                Y += np.int64(rows[s, D + j])
                if above[j]:
                    a += nj
            for j in range(D):
                nj = np.int64(rows[s, j])
                yj = np.int64(rows[s, D + j])
                out[j] += c * nj
                out[D + j] += c * nj * nj
                out[2 * D + j] += c * nj * N
                out[3 * D + j] += c * yj
                out[4 * D + j] += c * yj * yj
            m = sel[s]
            out[5 * D + (D if m < 0 else m)] += c
            b = 6 * D + 1
            out[b] += c * N
            out[b + 1] += c * N * N
            out[b + 2] += c * Y
            out[b + 3] += c * Y * Y
            out[b + 4] += c * a
            out[b + 5] += c * a * a
            out[b + 6] += c * a * N
            ref = N if max_n < 0 else max_n
            if a > 0.6 * ref:
                out[b + 7] += c
            if a > 0.8 * ref:
                out[b + 8] += c
            if max_n >= 0 and N < max_n:
                out[b + 9] += c
            out[b + 10] += c
            out[b + 11 + code[s]] += c
        return out

    return _tally


_compiled_tally = CompiledOnce(_build_tally, requires=_compiled)


def jit_tally():
    """The compiled Monte Carlo tally kernel (:meth:`~.tables.DecisionTable.tally_counts`),
    once the compiled walker is loaded in this process; None otherwise (the numpy tally,
    which gives the same integers, is used then)."""
    if not _compiled.loaded:
        return None
    return _compiled_tally()


def jit_walker():
    """The compiled walker, or None (numba missing or ``DOSEFIND_NO_JIT=1``)."""
    return _compiled()


def walk(u, p, state, table, *, jit: bool) -> None:
    """Walk ``state`` (trial -> state id, in place) over ``table`` with uniforms ``u``."""
    fn = jit_walker() if jit else None
    args = (u, p, state, table.status, table.nxt, table.child, table.depth, table.row0, table.msize)
    if fn is not None:
        fn(*args)
    else:
        walk_numpy(*args)
