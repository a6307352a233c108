"""Joint toxicity-efficacy outcomes per dose, for phase I/II simulations.

Each patient has two binary outcomes at the dose given: DLT (T) and response (E).  Their
joint law at dose ``d`` is a 2x2 table of probabilities ``(N, T, E, B)`` = (neither, DLT
only, response only, both), built either from the two marginals and a correlation or
given cell by cell.

The correlation is the Pearson correlation of the two binary outcomes (the phi
coefficient)::

    P(B) = pT pE + rho * sqrt(pT (1 - pT) pE (1 - pE))

so ``rho = 0`` makes them independent.  Not every ``rho`` in [-1, 1] is possible for
given marginals (every cell must stay in [0, 1]); an impossible one is refused with the
range that is possible at that dose.

Sampling keeps common random numbers: the DLT is ``u_tox < pT`` with the very uniform the
phase I engines use (stream 0), and the response is drawn from its own stream,
``u_eff < P(E | DLT)`` or ``u_eff < P(E | no DLT)``.  So a phase I design and a phase
I/II design simulated with the same seed see the same DLTs.

>>> j = JointOutcomes([0.1, 0.3], [0.2, 0.5], correlation=0.0)
>>> [round(float(x), 4) for x in j.table[1]]        # N, T, E, B at dose 2
[0.35, 0.15, 0.35, 0.15]
>>> JointOutcomes([0.1], [0.2], correlation=0.9)
Traceback (most recent call last):
...
ValueError: tox_eff_correlation 0.9 is impossible at dose 1 with P(DLT)=0.1 and P(response)=0.2: it must be between -0.1667 and 0.6667 there
"""

from __future__ import annotations

import math

import numpy as np

from dosefind import _validate as V

__all__ = ["JointOutcomes", "correlation_range"]

#: Cells of the per-dose table, in the order of the outcome letters.
CELLS = ("N", "T", "E", "B")

_TOL = 1e-9


def correlation_range(p_tox: float, p_eff: float) -> tuple[float, float]:
    """The (lowest, highest) phi correlation possible for binary outcomes with these
    marginals (both 0 when either marginal is 0 or 1)."""
    s = math.sqrt(p_tox * (1 - p_tox) * p_eff * (1 - p_eff))
    if s == 0:
        return 0.0, 0.0
    lo = (max(0.0, p_tox + p_eff - 1) - p_tox * p_eff) / s
    hi = (min(p_tox, p_eff) - p_tox * p_eff) / s
    return lo, hi


class JointOutcomes:
    """Per-dose joint probabilities of (DLT, response).

    Parameters
    ----------
    true_prob_tox, true_prob_eff : sequence of float
        Marginal DLT and response probabilities per dose, each in [0, 1].
    correlation : float or sequence of float, default 0
        Phi correlation of DLT and response, one value or one per dose, in [-1, 1] and
        possible for the marginals (see :func:`correlation_range`).
    """

    def __init__(self, true_prob_tox, true_prob_eff, correlation=0.0):
        tox = np.asarray(V.probability_vector(list(true_prob_tox), "true_prob_tox", open_interval=False))
        eff = np.asarray(V.probability_vector(list(true_prob_eff), "true_prob_eff", length=len(tox),
                                              open_interval=False))
        if np.ndim(correlation) == 0:
            rho = [correlation] * len(tox)
        else:
            rho = list(correlation)
            if len(rho) != len(tox):
                raise ValueError(f"tox_eff_correlation must be one number or one per dose ({len(tox)}), "
                                 f"got {len(rho)}")
        rho = np.array([V._num(r, "tox_eff_correlation") for r in rho])
        for d, r in enumerate(rho):
            if not -1 <= r <= 1:
                raise ValueError(f"tox_eff_correlation must be between -1 and 1, got {r:g}")
            lo, hi = correlation_range(tox[d], eff[d])
            if not lo - _TOL <= r <= hi + _TOL:
                raise ValueError(
                    f"tox_eff_correlation {r:g} is impossible at dose {d + 1} with P(DLT)={tox[d]:g} and "
                    f"P(response)={eff[d]:g}: it must be between {lo:.4f} and {hi:.4f} there")
        both = tox * eff + rho * np.sqrt(tox * (1 - tox) * eff * (1 - eff))
        table = np.column_stack([1 - tox - eff + both, tox - both, eff - both, both])
        self._set(np.clip(table, 0.0, 1.0), rho)

    def _set(self, table: np.ndarray, rho) -> None:
        self.table = table
        self.p_tox = table[:, 1] + table[:, 3]
        self.p_eff = table[:, 2] + table[:, 3]
        self.correlation = np.asarray(rho, float)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.eff_given_tox = np.where(self.p_tox > 0, table[:, 3] / self.p_tox, 0.0)
            self.eff_given_no_tox = np.where(self.p_tox < 1, table[:, 2] / (1 - self.p_tox), 0.0)

    @classmethod
    def from_table(cls, table) -> "JointOutcomes":
        """From per-dose cell probabilities: rows (N, T, E, B), or dicts with those keys."""
        rows = []
        for d, row in enumerate(table):
            if isinstance(row, dict):
                extra = set(row) - set(CELLS)
                if extra or set(row) != set(CELLS):
                    raise ValueError(f"joint table row for dose {d + 1} must have the keys N, T, E, B "
                                     f"(neither, DLT only, response only, both), got {sorted(row)}")
                row = [row[c] for c in CELLS]
            row = [V.probability(v, f"joint table cell {c} at dose {d + 1}", open_interval=False)
                   for c, v in zip(CELLS, list(row))] if len(list(row)) == 4 else None
            if row is None:
                raise ValueError(f"joint table row for dose {d + 1} must have 4 cells (N, T, E, B)")
            if abs(sum(row) - 1) > 1e-6:
                raise ValueError(f"joint table row for dose {d + 1} must sum to 1, got {sum(row):.6g}")
            rows.append(row)
        if not rows:
            raise ValueError("joint table must have one row per dose")
        obj = cls.__new__(cls)
        t = np.array(rows, float)
        t = t / t.sum(axis=1, keepdims=True)
        pt, pe = t[:, 1] + t[:, 3], t[:, 2] + t[:, 3]
        s = np.sqrt(pt * (1 - pt) * pe * (1 - pe))
        with np.errstate(invalid="ignore", divide="ignore"):
            rho = np.where(s > 0, (t[:, 3] - pt * pe) / s, 0.0)
        obj._set(t, rho)
        return obj

    @classmethod
    def from_lin_rho(cls, true_prob_tox, true_prob_eff, rho=0.0) -> "JointOutcomes":
        """From the marginals and the association parameter of the BOIN12 and TITE-BOIN12
        authors' simulation programs (``get.joint.p``)::

            P(B) = pT pE + pT (1 - pT) pE (1 - pE) (e^rho - 1) / (e^rho + 1)

        which is not the phi correlation of the constructor: the phi of these cells is
        tanh(rho / 2) sqrt(pT (1 - pT) pE (1 - pE)), much smaller.  Any real rho gives valid
        cells.  Use it to
        reproduce that code's (and, we expect, the BOIN Suite's) scenarios with a
        "correlation"; rho = 0 is independence in both.

        >>> [round(float(x), 4) for x in JointOutcomes.from_lin_rho([0.3], [0.5], 1.0).table[0]]
        [0.3743, 0.1257, 0.3257, 0.1743]
        """
        tox = np.asarray(V.probability_vector(list(true_prob_tox), "true_prob_tox", open_interval=False))
        eff = np.asarray(V.probability_vector(list(true_prob_eff), "true_prob_eff", length=len(tox),
                                              open_interval=False))
        r = np.broadcast_to(np.asarray([V._num(x, "rho") for x in np.atleast_1d(rho)], float), tox.shape)
        both = tox * eff + tox * (1 - tox) * eff * (1 - eff) * np.tanh(r / 2)   # (e^r - 1)/(e^r + 1) = tanh(r/2)
        table = np.column_stack([1 - tox - eff + both, tox - both, eff - both, both])
        return cls.from_table(np.clip(table, 0.0, 1.0).tolist())

    @property
    def num_doses(self) -> int:
        return self.table.shape[0]

    def sample(self, u_tox: np.ndarray, u_eff: np.ndarray, dose: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """DLT and response (bool arrays) of patients at 0-based ``dose`` from their two
        uniforms (common random numbers: the DLT depends on ``u_tox`` only)."""
        tox = u_tox < self.p_tox[dose]
        p = np.where(tox, self.eff_given_tox[dose], self.eff_given_no_tox[dose])
        return tox, u_eff < p

    def to_dict(self) -> dict:
        return {"true_prob_tox": [float(x) for x in self.p_tox], "true_prob_eff": [float(x) for x in self.p_eff],
                "tox_eff_correlation": [round(float(x), 12) for x in self.correlation],
                "table": [[float(x) for x in row] for row in self.table]}
