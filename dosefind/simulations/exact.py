"""Exact engine: propagate probability over the distinct trial states, cohort by cohort.

For a design whose decisions depend only on counts (``memory = "counts"``), all trial
histories with the same ``TrialState.key()`` behave identically from then on, so they
are merged and their probabilities added.  At each step every live state is decided
(once), a state that stops contributes its probability to the final tally, and a
state that continues splits into ``cohort_size + 1`` children with binomial
probabilities.  For typical trials (5 doses, 10 cohorts of 3) there are only a few
thousand distinct states, so operating characteristics come with no Monte Carlo error.

Count designs propagate over their shared decision table
(:mod:`~dosefind.simulations.tables`): the states and decisions are the ones Monte Carlo
walks, computed once per process, so a second scenario costs only the probability sums.

Designs with ``memory = "history"`` are propagated without merging (one state per
distinct history, which grows quickly); :class:`StateSpaceTooLarge` is raised when the
number of states passes ``max_states``.
"""

from __future__ import annotations

from math import comb

import numpy as np

from dosefind.simulations import tables as _tables
from dosefind.simulations._kernel import Decider, Tally, state_rows, unique_rows
from dosefind.simulations.tables import NO_ROOM, STOP, TableTooLarge
from dosefind.simulations.tables import patient_cap as _patient_cap

__all__ = ["StateSpaceTooLarge", "simulate_exact", "DEFAULT_MAX_STATES"]

#: Default cap on the total number of states visited by the exact engine.
DEFAULT_MAX_STATES = 500_000


class StateSpaceTooLarge(ValueError):
    """The exact state space is larger than ``max_states``; use Monte Carlo (method='mc')."""


def _too_large(design, max_states) -> StateSpaceTooLarge:
    return StateSpaceTooLarge(f"the exact state space of {design.name} exceeds max_states={max_states} states; "
                              "use method='mc' (Monte Carlo), or raise max_states")


def _binom_pmf(k: int, m: int, q: np.ndarray) -> np.ndarray:
    """P(k DLTs among m patients) for DLT probabilities ``q`` (0**0 = 1 at q = 0 or 1)."""
    return comb(m, k) * q ** k * (1.0 - q) ** (m - k)


def simulate_exact(design, true_prob_tox, above_mask, *, max_states: int = DEFAULT_MAX_STATES,
                   use_batch: bool = True, decider: Decider | None = None, use_table: bool = True) -> Tally:
    """Tally of final states weighted by their exact probabilities.

    Raises :class:`StateSpaceTooLarge` (a ValueError) when more than ``max_states`` states
    would be visited."""
    p = np.asarray(true_prob_tox, dtype=np.float64)
    above_mask = np.asarray(above_mask, dtype=bool)
    if use_table and decider is None:
        table = _tables.table_for(design, use_batch)
        if table is not None:
            try:
                return _exact_table(table, p, above_mask, max_states)
            except TableTooLarge:
                _tables.mark_too_large(design, use_batch)
    decider = decider or Decider.shared(design, use_batch)
    if design.memory != "counts":
        return _exact_history(design, p, above_mask, max_states, decider)
    return _exact_general(design, p, above_mask, max_states, decider)


def _exact_table(table, p, above_mask, max_states) -> Tally:
    design = table.design
    frontier = np.zeros(1, np.int64)
    prob = np.ones(1)
    final_ids, final_p = [], []
    visited = 0
    while frontier.size:
        visited += frontier.size
        if visited > max_states:
            raise _too_large(design, max_states)
        table.decide(frontier)
        status = table.status[frontier]
        if (status == NO_ROOM).any():
            i = int(frontier[status == NO_ROOM][0])
            raise RuntimeError(f"{design.name}: a trial did not stop after {int(table.row0[table.depth[i]])} patients; "
                               "give the design a maximum sample size (max_n)")
        stop = status == STOP
        if stop.any():
            final_ids.append(frontier[stop])
            final_p.append(prob[stop])
        go = ~stop
        if not go.any():
            break
        frontier, prob = frontier[go], prob[go]
        m = int(table.msize[table.depth[frontier[0]]])  # one depth per step: one cohort size
        q = p[table.nxt[frontier]]
        kids, kid_p = [], []
        for k in range(m + 1):
            pk = prob * _binom_pmf(k, m, q)
            keep = pk > 0
            kids.append(table.child[frontier[keep], k])
            kid_p.append(pk[keep])
        # Merge children reached along different paths (equal count states, equal futures).
        frontier, inverse = np.unique(np.concatenate(kids), return_inverse=True)
        prob = np.bincount(inverse.ravel(), weights=np.concatenate(kid_p), minlength=frontier.size)
        frontier = frontier.astype(np.int64)
    if final_ids:
        tally = table.tally(np.concatenate(final_ids), np.concatenate(final_p), above_mask, exact=True)
    else:
        tally = Tally(design.num_doses, exact=True)
    tally.states_visited = visited
    return tally


def _exact_general(design, p, above_mask, max_states, decider) -> Tally:
    D = design.num_doses
    n = np.zeros((1, D), np.int32)
    y = np.zeros((1, D), np.int32)
    cur = np.full(1, -1, np.int32)
    last = np.full(1, -1, np.int32)
    prob = np.ones(1)
    tally = Tally(D, exact=True)
    treated, visited = 0, 0
    cap = _patient_cap(design)
    while prob.size:
        visited += prob.size
        if visited > max_states:
            raise _too_large(design, max_states)
        nxt, code = decider.decide(n, y, cur, last)
        stop = nxt < 0
        if stop.any():
            mtd = decider.select(n[stop], y[stop], cur[stop], last[stop])
            tally.add(n[stop], y[stop], mtd, code[stop], decider.labels, above_mask, design.max_n,
                      weights=prob[stop])
        go = ~stop
        if not go.any():
            break
        n, y, cur, last, prob, nxt = n[go], y[go], cur[go], last[go], prob[go], nxt[go]
        m = design.cohort_size if design.max_n is None else min(design.cohort_size, design.max_n - treated)
        if m <= 0 or treated + m > cap:
            raise RuntimeError(f"{design.name}: a trial did not stop after {treated} patients; "
                               "give the design a maximum sample size (max_n)")
        rows = np.arange(prob.size)
        parts = []
        for k in range(m + 1):
            pk = prob * _binom_pmf(k, m, p[nxt])
            keep = pk > 0
            if not keep.any():
                continue
            r = rows[keep]
            c_n, c_y = n[r].copy(), y[r].copy()
            c_n[np.arange(r.size), nxt[keep]] += m
            c_y[np.arange(r.size), nxt[keep]] += k
            parts.append((c_n, c_y, nxt[keep].astype(np.int32), np.full(r.size, k, np.int32), pk[keep]))
        n = np.concatenate([q[0] for q in parts])
        y = np.concatenate([q[1] for q in parts])
        cur = np.concatenate([q[2] for q in parts])
        last = np.concatenate([q[3] for q in parts])
        prob = np.concatenate([q[4] for q in parts])
        # Merge states with equal keys (their futures are identical for a count-based design).
        first, inverse = unique_rows(state_rows(n, y, cur, last))
        prob = np.bincount(inverse, weights=prob, minlength=first.size)
        n, y, cur, last = n[first], y[first], cur[first], last[first]
        treated += m
    tally.states_visited = visited
    return tally


def _exact_history(design, p, above_mask, max_states, decider) -> Tally:
    from dosefind.state import TrialState

    D = design.num_doses
    frontier = {TrialState.empty(D): 1.0}
    tally = Tally(D, exact=True)
    visited, treated = 0, 0
    cap = _patient_cap(design)
    finals = []
    while frontier:
        visited += len(frontier)
        if visited > max_states:
            raise _too_large(design, max_states)
        new: dict = {}
        m = design.cohort_size if design.max_n is None else min(design.cohort_size, design.max_n - treated)
        for state, pr in frontier.items():
            dec = design.decide(state)
            if dec.stop:
                sel = design.select_mtd(state)
                finals.append((state, pr, -1 if sel.mtd_index is None else sel.mtd_index,
                               decider.code(dec.code.value)))
                continue
            if m <= 0 or treated + m > cap:
                raise RuntimeError(f"{design.name}: a trial did not stop after {treated} patients; "
                                   "give the design a maximum sample size (max_n)")
            d = dec.dose_index
            for k in range(m + 1):
                pk = pr * float(_binom_pmf(k, m, p[d]))
                if pk > 0:
                    child = state.add_cohort(d, (1,) * k + (0,) * (m - k))
                    new[child] = new.get(child, 0.0) + pk
        frontier = new
        treated += m
    if finals:
        n = np.array([s.n_at_dose for s, *_ in finals], np.int64)
        y = np.array([s.tox_at_dose for s, *_ in finals], np.int64)
        w = np.array([f[1] for f in finals])
        mtd = np.array([f[2] for f in finals], np.int64)
        codes = np.array([f[3] for f in finals], np.int64)
        tally.add(n, y, mtd, codes, decider.labels, above_mask, design.max_n, weights=w)
    tally.states_visited = visited
    return tally
