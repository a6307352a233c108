"""Decision-key layouts: how a design's decision key is built, for compiled engines.

:meth:`Design.decision_key <dosefind.designs.base.Design.decision_key>` tells engines what
a count design's decision reads of a count state, as rows of integers computed by numpy.
A compiled engine cannot call numpy per trial and cohort, so a design whose key has the
common shape below also describes it as a :class:`DoseKeyLayout`, and builds its numpy key
through :meth:`DoseKeyLayout.columns` (one description of the key, read by both).

The shape: the current dose, its patients and DLTs, the lowest dose that a per-dose rule
*flags* (reading only that dose's own n and DLTs; BOIN: eliminated), and optionally dose
1's patients and DLTs (BOIN's extra safety rule).  Designs of the BOIN family (BOIN,
keyboard, mTPI-2, i3+3 and the like) decide from exactly these.  The flag is the design's
own scalar rule, asked once per (n, y) pair (:attr:`DoseKeyLayout.flagged`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["DoseKeyLayout"]


@dataclass(frozen=True, eq=False)
class DoseKeyLayout:
    """Key columns ``[current dose, its n, its DLTs, lowest flagged dose (num_doses if
    none)]``, then ``[n, DLTs at dose 1]`` when ``first_dose_counts``.

    ``flagged(n, y)`` answers the design's per-dose rule for arrays of (n, y) pairs of one
    dose (same shape in, bool array out); ``max_n`` bounds every count (the key's radix).
    """

    num_doses: int
    max_n: int
    flagged: Callable[[np.ndarray, np.ndarray], np.ndarray]
    first_dose_counts: bool = False

    def radices(self) -> list[int]:
        """Each column's range (values 0 .. radix - 1), in column order."""
        span = self.max_n + 1
        return [self.num_doses, span, span, self.num_doses + 1] + ([span, span] if self.first_dose_counts else [])

    def lowest_flagged(self, n, y) -> np.ndarray:
        """0-based lowest flagged dose of each row of counts (num_doses if none)."""
        n, y = np.asarray(n), np.asarray(y)
        flags = np.asarray(self.flagged(n, y), dtype=bool).reshape(n.shape)
        first = flags.argmax(axis=1)
        return np.where(flags[np.arange(n.shape[0]), first], first, self.num_doses)

    def columns(self, n_at_dose, tox_at_dose, current_index) -> np.ndarray:
        """The key rows of count states (before a design's first cohort the current dose
        reads as 0; :meth:`Design.decision_key` keys the start apart)."""
        n, y = np.asarray(n_at_dose), np.asarray(tox_at_dose)
        d = np.maximum(np.asarray(current_index), 0)
        rows = np.arange(n.shape[0])
        cols = [d, n[rows, d], y[rows, d], self.lowest_flagged(n, y)]
        if self.first_dose_counts:
            cols += [n[:, 0], y[:, 0]]
        return np.column_stack(cols)

    def flag_table(self) -> np.ndarray:
        """The per-dose rule over every (n, y) with 0 <= y <= n <= max_n, flattened as
        ``n * (max_n + 1) + y`` (int8; pairs with y > n read 0)."""
        span = self.max_n + 1
        n, y = np.divmod(np.arange(span * span), span)
        ok = y <= n
        table = np.zeros(span * span, np.int8)
        table[ok] = np.asarray(self.flagged(n[ok], y[ok]), dtype=bool)
        return table
