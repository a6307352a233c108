"""Monte Carlo engine.

Count designs (``memory = "counts"``) run as walks over their shared decision table
(:mod:`~dosefind.simulations.tables`, :mod:`~dosefind.simulations.walker`): each distinct
count state is decided once per process, whatever the scenario, seed or call, and a trial
costs a few table look-ups per cohort.  Trials are tallied per distinct final state.

Other designs, and count designs whose reachable state space outgrows a table, run on the
general engine: all trials of a chunk advance together, cohort by cohort, keeping the count
arrays of every trial (see :mod:`dosefind.simulations._kernel`) and asking the design once
per distinct state (or once per step through its ``decide_batch``).  Designs with
``memory = "history"`` are run with one TrialState per trial (decisions cached per distinct
history), which is slower but exact to the contract.

Both paths give every trial the same latent uniforms (per-chunk seed streams of
:data:`~dosefind.simulations.patients.CHUNK_SIZE` trials), so their tallies are identical
for the same seed, whatever the number of workers.  Memory is the per-chunk arrays and the
table; it does not grow with the number of trials.

Worker processes die with their parent: each sets ``PR_SET_PDEATHSIG`` (Linux) and watches
the parent's pid, so a killed ``dosefind simulate --workers 2`` leaves no worker behind.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from dosefind.simulations import tables as _tables
from dosefind.simulations._kernel import Decider, Tally
from dosefind.simulations.patients import CHUNK_SIZE, PatientUniforms, chunk_seed, chunk_sizes
from dosefind.simulations.tables import MAX_PATIENTS, CONTINUE, NO_ROOM, STOP, UNDECIDED, TableTooLarge
from dosefind.simulations.tables import patient_cap as _patient_cap
from dosefind.simulations.keyed_walker import keyed_walker_for, use_keyed
from dosefind.simulations.walker import use_jit, walk

__all__ = ["simulate_mc", "run_chunk", "MAX_PATIENTS"]

#: Patients' uniforms drawn at first per chunk on the table path (more are drawn when a
#: trial needs them; the numbers do not depend on this).
FIRST_ROWS = 64


#: Seed chunks simulated together as one array block (speed only: results are the same).
BLOCK_CHUNKS = 5


class _BlockPatients:
    """Latent uniforms of several seed chunks side by side (trial axis concatenated)."""

    def __init__(self, seed, chunks):
        self.streams = [PatientUniforms(chunk_seed(seed, index), size) for index, size in chunks]

    def next(self, m):
        if len(self.streams) == 1:
            return self.streams[0].next(m)
        return np.hstack([s.next(m) for s in self.streams])


def run_chunk(decider: Decider, true_prob_tox: np.ndarray, seed: int, index: int, size: int,
              above_mask: np.ndarray) -> Tally:
    """Simulate chunk ``index`` (``size`` trials) and return its tally."""
    return run_block(decider, true_prob_tox, seed, [(index, size)], above_mask)


def run_block(decider: Decider, true_prob_tox: np.ndarray, seed: int, chunks, above_mask: np.ndarray) -> Tally:
    """Simulate the seed chunks ``chunks`` [(index, size), ...] together; their tally."""
    design = decider.design
    if design.memory != "counts":
        tally = Tally(design.num_doses)
        for index, size in chunks:
            tally.merge(_run_chunk_history(decider, true_prob_tox, seed, index, size, above_mask))
        return tally
    D = design.num_doses
    size = sum(s for _, s in chunks)
    patients = _BlockPatients(seed, chunks)
    n = np.zeros((size, D), np.int32)
    y = np.zeros((size, D), np.int32)
    cur = np.full(size, -1, np.int32)
    last = np.full(size, -1, np.int32)
    reason = np.zeros(size, np.int64)
    active = None  # None: every trial is still running (avoids fancy indexing)
    treated = 0
    cap = _patient_cap(design)
    rows = np.arange(size)
    while True:
        if active is None:
            nxt, code = decider.decide(n, y, cur, last)
        else:
            nxt, code = decider.decide(n[active], y[active], cur[active], last[active])
        stop = nxt < 0
        if stop.any():
            ids = rows[stop] if active is None else active[stop]
            reason[ids] = code[stop]
            active = rows[~stop] if active is None else active[~stop]
            nxt = nxt[~stop]
            if not active.size:
                break
        m = design.cohort_size
        if design.max_n is not None:
            m = min(m, design.max_n - treated)  # the last cohort is cut to max_n, as in BOIN's get.oc
        if m <= 0 or treated + m > cap:
            raise RuntimeError(
                f"{design.name}: a simulated trial did not stop after {treated} patients; "
                "give the design a maximum sample size (max_n)"
            )
        u = patients.next(m)
        if active is None:
            tox = (u < true_prob_tox[nxt]).sum(axis=0, dtype=np.int32)
            n[rows, nxt] += m
            y[rows, nxt] += tox
            cur[:] = nxt
            last[:] = tox
        else:
            tox = (u[:, active] < true_prob_tox[nxt]).sum(axis=0, dtype=np.int32)
            n[active, nxt] += m
            y[active, nxt] += tox
            cur[active] = nxt
            last[active] = tox
        treated += m
    mtd = decider.select(n, y, cur, last)
    tally = Tally(D)
    tally.add(n, y, mtd, reason, decider.labels, above_mask, design.max_n)
    return tally


def _run_chunk_history(decider, true_prob_tox, seed, index, size, above_mask) -> Tally:
    from dosefind.state import TrialState

    design = decider.design
    D = design.num_doses
    patients = PatientUniforms(chunk_seed(seed, index), size)
    states = [TrialState.empty(D)] * size
    reason = np.zeros(size, np.int64)
    decided: dict = {}
    active = list(range(size))
    treated = 0
    cap = _patient_cap(design)
    while active:
        going = []
        for t in active:
            dec = decided.get(states[t])
            if dec is None:
                dec = decided[states[t]] = design.decide(states[t])
            if dec.stop:
                reason[t] = decider.code(dec.code.value)
            else:
                going.append((t, dec.dose_index))
        if not going:
            break
        m = design.cohort_size if design.max_n is None else min(design.cohort_size, design.max_n - treated)
        if m <= 0 or treated + m > cap:
            raise RuntimeError(f"{design.name}: a simulated trial did not stop after {treated} patients; "
                               "give the design a maximum sample size (max_n)")
        u = patients.next(m)
        for t, d in going:
            states[t] = states[t].add_cohort(d, tuple(int(v) for v in (u[:, t] < true_prob_tox[d])))
        active = [t for t, _ in going]
        treated += m
    selected: dict = {}
    mtd = np.empty(size, np.int64)
    for t, s in enumerate(states):
        if s not in selected:
            sel = design.select_mtd(s)
            selected[s] = -1 if sel.mtd_index is None else sel.mtd_index
        mtd[t] = selected[s]
    n = np.array([s.n_at_dose for s in states], np.int64).reshape(size, D)
    y = np.array([s.tox_at_dose for s in states], np.int64).reshape(size, D)
    tally = Tally(D)
    tally.add(n, y, mtd, reason, decider.labels, above_mask, design.max_n)
    return tally


def _blocks(chunks):
    return [chunks[i:i + BLOCK_CHUNKS] for i in range(0, len(chunks), BLOCK_CHUNKS)]


# ---------------------------------------------------------------------- table path
def walk_chunk(table, true_prob_tox: np.ndarray, seed: int, index: int, size: int, *, jit: bool,
               max_new: int | None = None, max_new_states: int | None = None) -> np.ndarray:
    """Final state id of each trial of chunk ``index`` (``size`` trials), filling ``table``
    as the walk meets new states (raising TableTooLarge after ``max_new`` new decisions or
    ``max_new_states`` new states)."""
    patients = PatientUniforms(chunk_seed(seed, index), size)
    start, start_size = table.decide_calls, table.size
    u = patients.next(min(table.cap, FIRST_ROWS))
    state = np.zeros(size, np.int32)
    while True:
        walk(u, true_prob_tox, state, table, jit=jit)
        status = table.status[state]
        paused = status != STOP
        if not paused.any():
            return state
        where, why = state[paused], status[paused]
        bad = where[why == NO_ROOM]
        if bad.size:
            raise table.no_room_error(int(bad[0]))
        new = where[why == UNDECIDED]
        if new.size:
            table.decide(new)
            if max_new is not None and table.decide_calls - start > max_new:
                raise TableTooLarge("a state space too large to tabulate by scalar decisions")
            if max_new_states is not None and table.size - start_size > max_new_states:
                raise TableTooLarge("a state space too large to tabulate; its decision keys serve the general engine")
        going = where[why == CONTINUE]
        if going.size:
            dp = table.depth[going]
            need = int((table.row0[dp] + table.msize[dp]).max())
            if need > u.shape[0]:
                extra = min(max(need - u.shape[0], u.shape[0]), table.cap - u.shape[0])
                u = np.vstack([u, patients.next(extra)])


def _tally_table(table, counts: np.ndarray, above_mask) -> Tally:
    return table.tally_counts(counts, above_mask)


def _run_chunks(design, p, seed, chunks, above_mask, use_batch, jit, on_block=None, keyed=None) -> Tally:
    """Tally of the seed chunks ``chunks`` [(index, size), ...]: on the design's decision
    table when it has one; otherwise on the keyed walker when the design describes its
    decision key (:mod:`~dosefind.simulations.keyed_walker`; ``keyed``: True, False, or
    None for :func:`~.keyed_walker.use_keyed` to choose by the trials simulated), or on
    the general engine (same numbers on every path)."""
    total = Tally(design.num_doses)
    table = _tables.table_for(design, use_batch)
    done = 0
    if table is not None:
        counts = None
        budget = _decision_budget(design, use_batch)
        state_budget = _tables.LARGE_SPACE_STATES if table._keyed else None
        n_trials = sum(size for _, size in chunks)
        try:
            for index, size in chunks:
                # The first chunk probes the state space (see _decision_budget).
                final = walk_chunk(table, p, seed, index, size, jit=jit, max_new=None if done else budget,
                                   max_new_states=None if done else state_budget)
                if counts is None:  # the first chunk (the only one of a 10^4-trial call)
                    counts = np.bincount(final, minlength=table.size).astype(np.int64, copy=False)
                else:
                    if counts.size < table.size:
                        counts = np.concatenate([counts, np.zeros(table.size - counts.size, np.int64)])
                    counts += np.bincount(final, minlength=counts.size)
                done += 1
                if done == 1 and table._keyed and n_trials >= _tables.COMPLETE_AFTER_TRIALS:
                    # Keyed decisions are cheap: fill the table now, so the later chunks of a
                    # large run walk without pausing on new states.
                    table.complete(_tables.COMPLETE_MAX_NEW)
                if on_block is not None:
                    on_block(size)
        except TableTooLarge:
            _tables.mark_too_large(design, use_batch)
            table = None
        else:
            if counts is None:  # no chunk at all
                counts = np.zeros(table.size, np.int64)
            total = _tally_table(table, counts, above_mask)
            if n_trials >= _tables.COMPLETE_AFTER_TRIALS:
                try:
                    table.complete(_tables.COMPLETE_MAX_NEW)
                except TableTooLarge:
                    _tables.mark_too_large(design, use_batch)
            return total
        # A partial table is discarded: the chunks walked so far are simulated again below
        # (identical numbers), so no half-filled table is ever read.
        done = 0
    rest = chunks[done:]
    if keyed is None:
        keyed = use_keyed(sum(size for _, size in rest))
    walker = keyed_walker_for(design, use_batch) if keyed and rest else None
    if walker is not None:
        return total.merge(walker.run(p, seed, rest, above_mask, on_chunk=on_block))
    decider = Decider.shared(design, use_batch)
    for block in _blocks(rest):
        total.merge(run_block(decider, p, seed, block, above_mask))
        if on_block is not None:
            on_block(sum(size for _, size in block))
    return total


def tally_chunks(design, true_prob_tox, seed: int, chunks, above_mask) -> Tally:
    """Tally of the seed chunks ``chunks`` [(index, size), ...] of ``seed``, on the same
    path ``simulate_mc`` takes (decision table and walker where the design has one), for
    callers that schedule chunks themselves (design grids)."""
    return _run_chunks(design, np.asarray(true_prob_tox, dtype=np.float64), seed, chunks,
                       np.asarray(above_mask, dtype=bool), True, None)


def _decision_budget(design, use_batch) -> int | None:
    """New states a run's first chunk may decide for a design with a vectorised
    ``decide_batch`` before it goes to the general engine (None: no limit; keyed designs
    are bounded by new states instead, :data:`~.tables.LARGE_SPACE_STATES`)."""
    from dosefind.simulations._kernel import _is_plain

    if use_batch and _is_plain(design) and getattr(type(design), "decide_batch", None) is not None:
        return _tables.LARGE_SPACE_DECISIONS
    return None


# ---------------------------------------------------------------------- workers
def _watch_parent(parent_pid: int) -> None:
    import threading
    import time

    def watch():
        while True:
            time.sleep(0.5)
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:  # pragma: no cover - pid reused by another user
                os._exit(1)

    threading.Thread(target=watch, name="dosefind-parent-watch", daemon=True).start()


def _worker_init(parent_pid: int) -> None:
    """Tie a worker's life to the process that started the simulation: on Linux the kernel
    kills it when its parent dies (PR_SET_PDEATHSIG); everywhere, a watchdog thread exits
    when the simulating process is gone (a forkserver parent may outlive it briefly)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            libc = ctypes.CDLL(None, use_errno=True)
            PR_SET_PDEATHSIG = 1
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no prctl: the watchdog remains
            pass
    try:
        os.kill(parent_pid, 0)
    except ProcessLookupError:  # the parent died before the death signal was armed
        os._exit(1)
    _watch_parent(parent_pid)


def _run_task(design, true_prob_tox, seed, chunks, above_mask, use_batch, jit, keyed) -> Tally:
    # The decision table (or Decider) is shared per worker process, so it serves all tasks.
    return _run_chunks(design, true_prob_tox, seed, chunks, above_mask, use_batch, jit, keyed=keyed)


def _mp_context():
    """fork is fastest, but is unsafe when the parent runs other Python threads (a lock
    held by one of them is copied locked); then use forkserver."""
    import multiprocessing as mp
    import threading

    methods = mp.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return mp.get_context("fork")
    return mp.get_context("forkserver" if "forkserver" in methods else "spawn")


def _show_progress(progress, n_trials) -> bool:
    # The library stays silent unless asked; the command line asks for long runs on a terminal.
    return bool(progress)


def simulate_mc(design, true_prob_tox, n_trials: int, seed: int, above_mask, *, workers: int = 1,
                progress=None, use_batch: bool = True, chunk_size: int = CHUNK_SIZE, use_table: bool = True,
                jit: bool | None = None) -> Tally:
    """Tally of ``n_trials`` simulated trials; identical for any number of ``workers``.

    ``use_table=False`` forces the general engine (the reference the table walker is tested
    against); ``jit`` chooses the compiled walkers: the table walker's (default: once this
    process has simulated :data:`~dosefind.simulations.walker.JIT_MIN_TRIALS` trials) and,
    for designs too large to tabulate, the keyed walker (default: once it has simulated
    :data:`~dosefind.simulations.keyed_walker.KEYED_JIT_MIN_TRIALS`), never with
    ``DOSEFIND_NO_JIT=1``.  Every path gives the same numbers.  (The final tally of a
    table run is compiled whenever the compiled walker is loaded in the process: the same
    integers.)
    """
    p = np.asarray(true_prob_tox, dtype=np.float64)
    above_mask = np.asarray(above_mask, dtype=bool)
    chunks = list(enumerate(chunk_sizes(n_trials, chunk_size)))
    workers = int(workers) if workers else 1
    if workers > 1:
        workers = max(1, min(workers, len(chunks), os.cpu_count() or 1))
    # The keyed walker (designs too large to tabulate) is compiled code too: chosen like the
    # table walker when asked, by the run's size otherwise.
    keyed = jit if jit is not None else use_keyed(n_trials)
    if jit is None:
        jit = use_jit(n_trials)
    show = _show_progress(progress, n_trials)
    bar = None
    if show:
        from tqdm import tqdm

        bar = tqdm(total=n_trials, unit="trial", unit_scale=True, desc=design.name, file=sys.stderr,
                   leave=False)
    total = Tally(design.num_doses)
    step = None if bar is None else bar.update
    try:
        if workers == 1:
            if use_table:
                total = _run_chunks(design, p, seed, chunks, above_mask, use_batch, jit, on_block=step, keyed=keyed)
            else:
                decider = Decider.shared(design, use_batch)
                for block in _blocks(chunks):
                    total.merge(run_block(decider, p, seed, block, above_mask))
                    if step is not None:
                        step(sum(size for _, size in block))
        else:
            if use_table and _tables.table_for(design, use_batch) is not None:
                # The first chunk in this process grows the decision table before the workers
                # fork, so they inherit it instead of each building their own (same numbers:
                # tallies are integer sums over chunks).
                total.merge(_run_chunks(design, p, seed, chunks[:1], above_mask, use_batch, jit, on_block=step,
                                        keyed=keyed))
                chunks = chunks[1:]
            # Contiguous groups of chunks, a few per worker (for the progress bar).
            n_tasks = min(len(chunks), workers * 4)
            bounds = np.linspace(0, len(chunks), n_tasks + 1).round().astype(int)
            groups = [chunks[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]
            from concurrent.futures import ProcessPoolExecutor, as_completed

            task = _run_task if use_table else _run_general_task
            with ProcessPoolExecutor(max_workers=workers, mp_context=_mp_context(), initializer=_worker_init,
                                     initargs=(os.getpid(),)) as pool:
                futures = {pool.submit(task, design, p, seed, g, above_mask, use_batch, jit, keyed): g for g in groups}
                for fut in as_completed(futures):
                    # Integer tallies: the sum does not depend on the order tasks finish in.
                    total.merge(fut.result())
                    if step is not None:
                        step(sum(size for _, size in futures[fut]))
    finally:
        if bar is not None:
            bar.close()
    return total


def _run_general_task(design, true_prob_tox, seed, chunks, above_mask, use_batch, jit, keyed) -> Tally:
    decider = Decider.shared(design, use_batch)
    tally = Tally(design.num_doses)
    for block in _blocks(chunks):
        tally.merge(run_block(decider, true_prob_tox, seed, block, above_mask))
    return tally
