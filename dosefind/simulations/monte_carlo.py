"""Monte Carlo engine: all trials of a chunk advance together, cohort by cohort.

Per chunk of :data:`~dosefind.simulations.patients.CHUNK_SIZE` trials the engine keeps
the count arrays of every trial (see :mod:`dosefind.simulations._kernel`), asks the
design once per distinct state (or once per step through its ``decide_batch``), treats
the next cohort with the chunk's latent uniforms, and finally tallies the final states.
Memory is the per-chunk arrays only; it does not grow with the number of trials.

Designs with ``memory = "history"`` are run with one TrialState per trial (decisions
cached per distinct history), which is slower but exact to the contract.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed

import numpy as np

from dosefind.simulations._kernel import Decider, Tally
from dosefind.simulations.patients import CHUNK_SIZE, PatientUniforms, chunk_seed, chunk_sizes

__all__ = ["simulate_mc", "run_chunk"]

#: Safety cap on patients per trial for designs without ``max_n``.
MAX_PATIENTS = 1000


def _patient_cap(design) -> int:
    return design.max_n if design.max_n is not None else MAX_PATIENTS


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


_WORKER_DECIDER: dict = {}


def _run_task(token, design, true_prob_tox, seed, chunks, above_mask, use_batch) -> Tally:
    # One Decider per worker process and run, so its cache serves all the run's tasks.
    decider = _WORKER_DECIDER.get(token)
    if decider is None:
        _WORKER_DECIDER.clear()
        decider = _WORKER_DECIDER[token] = Decider(design, use_batch=use_batch)
    tally = Tally(design.num_doses)
    for block in _blocks(chunks):
        tally.merge(run_block(decider, true_prob_tox, seed, block, above_mask))
    return tally


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
                progress=None, use_batch: bool = True, chunk_size: int = CHUNK_SIZE) -> Tally:
    """Tally of ``n_trials`` simulated trials; identical for any number of ``workers``."""
    p = np.asarray(true_prob_tox, dtype=np.float64)
    above_mask = np.asarray(above_mask, dtype=bool)
    chunks = list(enumerate(chunk_sizes(n_trials, chunk_size)))
    workers = max(1, min(int(workers), len(chunks), os.cpu_count() or 1)) if workers else 1
    show = _show_progress(progress, n_trials)
    bar = None
    if show:
        from tqdm import tqdm

        bar = tqdm(total=n_trials, unit="trial", unit_scale=True, desc=design.name, file=sys.stderr,
                   leave=False)
    total = Tally(design.num_doses)
    try:
        if workers == 1:
            decider = Decider(design, use_batch=use_batch)
            for block in _blocks(chunks):
                total.merge(run_block(decider, p, seed, block, above_mask))
                if bar is not None:
                    bar.update(sum(size for _, size in block))
        else:
            # Contiguous groups of chunks, a few per worker (for the progress bar).
            n_tasks = min(len(chunks), workers * 4)
            bounds = np.linspace(0, len(chunks), n_tasks + 1).round().astype(int)
            groups = [chunks[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]
            with ProcessPoolExecutor(max_workers=workers, mp_context=_mp_context()) as pool:
                token = os.urandom(8).hex()
                futures = {pool.submit(_run_task, token, design, p, seed, g, above_mask, use_batch): g
                           for g in groups}
                for fut in as_completed(futures):
                    # Integer tallies: the sum does not depend on the order tasks finish in.
                    total.merge(fut.result())
                    if bar is not None:
                        bar.update(sum(size for _, size in futures[fut]))
    finally:
        if bar is not None:
            bar.close()
    return total
