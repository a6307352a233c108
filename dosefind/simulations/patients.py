"""Simulated patients: latent uniforms and reproducible seed streams.

**Common random numbers.**  Every simulated patient carries one latent uniform
``u``, indexed by (trial, order of enrolment).  The patient has a DLT at dose ``d``
exactly when ``u < true_prob_tox[d]``.  This is the "same patients" coupling of the R
package *escalation* (its patient samples): patient ``i`` of trial ``t`` is the same
person whichever design is run, and because ``u`` is fixed a patient who would have a
DLT at some dose would also have one at every higher dose (monotone in dose).  So when
:func:`~dosefind.simulations.compare` runs several designs with one seed, differences
between designs come from their decisions, not from different patients; a design that
doses patient ``i`` higher can only see more DLTs in that patient, never fewer.

(The alternative, one uniform per (trial, dose, k-th patient at that dose), couples
designs only when they treat the same number of patients at a dose, and breaks the
monotone link between a patient and dose; we did not choose it.)

**Seed streams.**  Trials are simulated in fixed chunks of :data:`CHUNK_SIZE`.  Chunk
``i`` draws from ``SeedSequence(seed, spawn_key=(i,))`` -- the same child that
``SeedSequence(seed).spawn(n)[i]`` gives -- so the result does not depend on how many
worker processes share the chunks.  Within a chunk, uniforms are drawn
patient-major (all trials' first patient, then all trials' second patient, ...), so a
design with cohorts of 1 and a design with cohorts of 3 see the same patient ``i``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["CHUNK_SIZE", "PatientUniforms", "chunk_sizes", "chunk_seed", "resolve_seed"]

#: Trials per seed stream.  Part of the reproducibility contract: changing it changes
#: which random numbers each trial gets.
CHUNK_SIZE = 10_000


def resolve_seed(seed) -> int:
    """The integer seed actually used (fresh OS entropy when ``seed`` is None)."""
    if seed is None:
        return int(np.random.SeedSequence().entropy)
    if isinstance(seed, bool):
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    try:
        s = int(seed)
    except (TypeError, ValueError):
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}") from None
    if s != seed or s < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    return s


def chunk_seed(seed: int, index: int) -> np.random.SeedSequence:
    """Seed sequence of chunk ``index`` (equal to ``SeedSequence(seed).spawn(k)[index]``)."""
    return np.random.SeedSequence(seed, spawn_key=(index,))


def chunk_sizes(n_trials: int, chunk_size: int = CHUNK_SIZE) -> list[int]:
    """Trial counts per chunk: full chunks, then the remainder."""
    full, rest = divmod(n_trials, chunk_size)
    return [chunk_size] * full + ([rest] if rest else [])


class PatientUniforms:
    """Latent uniforms for the patients of one chunk of trials, drawn in enrolment order.

    ``next(m)`` returns an ``(m, n_trials)`` array: the uniforms of the next ``m``
    patients of every trial in the chunk (whether or not the trial is still running, so
    that patient ``i`` is the same for every design).
    """

    def __init__(self, seed_seq: np.random.SeedSequence, n_trials: int):
        self.rng = np.random.Generator(np.random.PCG64(seed_seq))
        self.n_trials = int(n_trials)
        self.drawn = 0

    def next(self, m: int) -> np.ndarray:
        u = self.rng.random((m, self.n_trials))
        self.drawn += m
        return u
