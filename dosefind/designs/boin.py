r"""The Bayesian optimal interval (BOIN) design, exact to the R package BOIN 2.7.

Idea
----
BOIN compares the observed DLT rate :math:`\hat p_j = y_j / n_j` at the current dose with
two fixed boundaries.  Escalate if :math:`\hat p_j \le \lambda_e`, de-escalate if
:math:`\hat p_j \ge \lambda_d`, otherwise stay.  The boundaries minimise the chance of a
wrong decision between three point hypotheses, :math:`H_0: p = \phi` (the target),
:math:`H_1: p = \phi_1` (``p_saf``, too low) and :math:`H_2: p = \phi_2` (``p_tox``, too
high), with equal prior probabilities (the "local" BOIN of Liu & Yuan 2015):

.. math::

    \lambda_e = \frac{\log\{(1-\phi_1)/(1-\phi)\}}{\log\{\phi(1-\phi_1)/(\phi_1(1-\phi))\}},
    \qquad
    \lambda_d = \frac{\log\{(1-\phi)/(1-\phi_2)\}}{\log\{\phi_2(1-\phi)/(\phi(1-\phi_2))\}}.

With the defaults :math:`\phi_1 = 0.6\phi`, :math:`\phi_2 = 1.4\phi` and :math:`\phi = 0.3`,
:math:`\lambda_e = 0.2365` and :math:`\lambda_d = 0.3585` (the papers print 0.236 and
0.358).  In counts, with :math:`n` patients at the dose: escalate if
:math:`y \le \lfloor \lambda_e n \rfloor`, de-escalate if :math:`y \ge \lceil \lambda_d n
\rceil`, except that when :math:`\lambda_d n` is within :math:`10^{-12}` of a whole number
:math:`k` the de-escalation count is :math:`k + 1` (BOIN 2.7.2's ``get.boundary``; see
:meth:`BOIN.boundaries`).  With :math:`\lambda_d = 1/2` (target 0.3, ``p_tox=0.7``), 1 DLT
in 2 patients therefore stays, and 2 of 2 de-escalate.

Safety.  With a Beta(1, 1) prior, if :math:`n_j \ge 3` and
:math:`\Pr(p_j > \phi \mid y_j, n_j) > c_{eli}` (``cutoff_eli``, default 0.95), dose
:math:`j` and all higher doses are eliminated; the trial stops with no MTD when the lowest
dose is eliminated.  With ``extrasafe=True`` the trial also stops when the lowest dose has
:math:`n_1 \ge 3` and :math:`\Pr(p_1 > \phi \mid y_1, n_1) > c_{eli} - \text{offset}`.

MTD.  At the end, on the doses tried and not eliminated, the smoothed rates
:math:`(y_j + 0.05)/(n_j + 0.1)` are made non-decreasing by pool-adjacent-violators
weighted by the inverse of :math:`(y_j+0.05)(n_j-y_j+0.05)/\{(n_j+0.1)^2(n_j+1.1)\}`;
the MTD is the dose whose isotonic estimate is closest to :math:`\phi`.

How the package does it (followed here; the papers are silent or differ)
-----------------------------------------------------------------------
Sources read: CRAN mirror ``cran/BOIN``: ``R/get.boundary.R``, ``R/get.oc.R`` and
``R/select.mtd.R`` (2.7.0, 2.7.1 -- the release that added ``boundMTD`` -- and 2.7.2).

* The de-escalation count is capped by the elimination count:
  ``deescalate_if_dlt_ge = min(ceil(lambda_d n), eliminate_if_dlt_ge)``, where (2.7.2)
  ``ceil(lambda_d n)`` becomes ``round(lambda_d n) + 1`` when ``lambda_d n`` is within
  1e-12 of a whole number: an observed rate exactly equal to lambda_d stays.
* The boundary table ``$boundary_tab`` lists n = cohort_size, 2*cohort_size, ... up to
  ``min(max_n, n_earlystop)``; ``$full_boundary_tab`` (only when cohort size > 1) lists
  every n from 1.  Decisions always use the full table.
* ``n_earlystop`` does **not** stop the trial as soon as the current dose has that many
  patients: ``get.oc`` stops only if, in addition, the rule would *stay* at the current
  dose (DLTs strictly between the boundaries; or at the lowest dose with DLTs at or above
  the de-escalation boundary; or at the highest dose, or below an eliminated dose, with
  DLTs at or below the escalation boundary).  The papers describe the plain rule.
* The ``extrasafe`` stop is checked only when the elimination boundary exists at the
  lowest dose's sample size (in ``get.oc`` it sits inside ``if (!is.na(b.elim[n[d]]))``);
  this matters only for high targets (e.g. target 0.5 with 3 patients).
  ``select_mtd`` applies ``extrasafe`` without that condition, as ``select.mtd`` does.
* Ties in MTD selection: the package adds ``k * 1e-10`` to the k-th admissible estimate
  and takes the first minimum of ``|estimate - target|``.  Among doses pooled to the same
  value, the highest wins when the value is below the target and the lowest when above.
* ``bound_mtd`` (``boundMTD``, BOIN 2.7.2): only doses whose isotonic estimate (with the
  tie-break added) is at or below :math:`\lambda_d` may be selected; none means no MTD
  (2.7.1 required strictly below).
* The per-dose estimates reported by ``select.mtd`` pool *all* tried doses, including
  eliminated ones; untried doses have none.  We report the same, to 4 decimals (the
  package prints 2).  ``details`` adds Pr(DLT rate > target) and 95% credible limits as
  ``select.mtd`` computes them, but aligned to the right dose (the package looks the
  limits up by dose number in a vector of treated doses only).
* ``get.oc`` keeps eliminated doses in a list that only grows; because an eliminated dose
  is never treated again, this equals recomputing elimination from the current counts of
  every dose, which is what :meth:`BOIN.decide` does (so the decision depends on counts
  only and engines may merge states).  For states BOIN itself cannot reach (treatment
  above an eliminated dose) the next dose is capped below the lowest eliminated dose.

Trial size.  The R functions require ``ncohort`` and ``cohortsize``; here ``max_n`` or
``n_cohorts`` (max_n = n_cohorts * cohort_size) sets it, and if neither is given we use
``n_cohorts=10`` (30 patients with cohorts of 3, the setting of the package's own
``get.boundary`` example).  The trial stops when ``max_n`` patients have been treated.

Estimates.  :meth:`BOIN.tox_estimates` gives the isotonic estimates that
:meth:`BOIN.select_mtd` reports, and :meth:`BOIN.prob_tox_exceeds` the isotonic
(pool-adjacent-violators) Beta(y + 0.05, n - y + 0.05) tails that ``select.mtd`` reports
as overdosing probabilities and that escalation's BOIN selector returns (None for untried
doses in both).  The elimination rule itself uses the Beta(1, 1) posterior of each dose.

Parameters and ranges
---------------------
target : 0.05 <= target <= 0.6 (the range of BOIN 2.7's ``get.boundary`` and ``get.oc``;
    ``select.mtd`` alone checks no range, but dosefind builds one design for decisions
    and selection alike, so the same range applies to both).
max_n : whole number from 1 to 10,000 (``dosefind._validate.MAX_PATIENTS``).
p_saf : 0 < p_saf <= 0.9*target (default 0.6*target).
p_tox : 1.1*target <= p_tox < 1 (default 1.4*target).
cutoff_eli : 0 < cutoff_eli < 1 (default 0.95).
offset : 0 < offset < 0.5 and offset < cutoff_eli (default 0.05).
n_earlystop : whole number >= 1 (default 100, i.e. off; the package warns at <= 6).

References
----------
Liu S, Yuan Y. Bayesian optimal interval designs for phase I clinical trials. Journal of
the Royal Statistical Society: Series C 2015;64:507-523.

Yuan Y, Hess KR, Hilsenbeck SG, Gilbert MR. Bayesian optimal interval design: a simple
and well-performing design for phase I oncology trials. Clinical Cancer Research
2016;22:4291-4301.

Yan F, Zhang L, Zhou Y, Pan H, Liu S, Yuan Y. BOIN: an R package for designing
single-agent and drug-combination dose-finding trials using Bayesian optimal interval
designs. Journal of Statistical Software 2020;94(13):1-32.

Example
-------
>>> from dosefind.state import TrialState
>>> design = BOIN(target=0.3, num_doses=5, cohort_size=3, max_n=30)
>>> d = design.decide(TrialState.from_outcomes("1NNN 2NNT 2NNN 3NTT", num_doses=5))
>>> d.next_dose
2
>>> d.reason
'de-escalate: 2/3 DLTs at dose 3 >= 2 (de-escalation boundary at n=3)'
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from dosefind import _validate as V
from dosefind._rows import distinct_rows
from dosefind.designs.base import Design, beta_prob_exceeds
from dosefind.designs.isotonic import pava, pava_rows
from dosefind.designs.keys import DoseKeyLayout
from dosefind.state import Decision, DoseLevels, MTDSelection, TrialState, to_level
from dosefind.state import ReasonCode as R

__all__ = ["BOIN"]

_NONE = np.iinfo(np.int64).max // 4  # "no boundary": a count no trial reaches
_TOL = 1e-12                          # get.boundary's tolerance for "lambda_d * n is a whole number"


def _deescalation_counts(lambda_d: float, ns) -> np.ndarray:
    """ceil(lambda_d * n), or round(lambda_d * n) + 1 when lambda_d * n is within 1e-12
    of a whole number (BOIN 2.7.2's get.boundary)."""
    x = lambda_d * np.asarray(ns, dtype=float)
    r = np.rint(x)
    return np.where(np.abs(r - x) < _TOL, r + 1, np.ceil(x)).astype(np.int64)


def _first_count_exceeding(target: float, ns, cutoff: float) -> np.ndarray:
    """For each n, the smallest y in 1..n with Pr(p > target | y of n, Beta(1,1) prior) >
    cutoff (n + 1 where there is none).

    get.boundary scans y = 1, 2, ... for every n, O(n^2) in all.  The probability
    1 - I_target(y + 1, n - y + 1) increases with y, so a bisection over y finds the same
    first count with the same comparisons in O(log n) evaluations per n."""
    from dosefind._beta import beta_sf  # whole-number parameters: exact, and no scipy at start-up

    ns = np.asarray(ns, dtype=np.int64)
    lo, hi = np.ones_like(ns), ns + 1           # the answer lies in [lo, hi]; hi = n + 1: none
    while True:
        active = lo < hi
        if not active.any():
            return lo
        mid = np.minimum((lo + hi) // 2, ns)
        ok = beta_sf(mid + 1, ns - mid + 1, target) > cutoff
        hi = np.where(active & ok, mid, hi)
        lo = np.where(active & ~ok, mid + 1, lo)


class BOIN(Design):
    """Bayesian optimal interval design (Liu & Yuan 2015), exact to R BOIN 2.7.

    See the module docstring for the method, the package details it follows and the
    parameter ranges.
    """

    name = "BOIN"
    memory = "counts"

    def __init__(self, target: float, num_doses: int | None = None, *, cohort_size: int = 3,
                 max_n: int | None = None, n_cohorts: int | None = None, p_saf: float | None = None,
                 p_tox: float | None = None, cutoff_eli: float = 0.95, extrasafe: bool = False,
                 offset: float = 0.05, n_earlystop: int = 100, start_dose: int = 1,
                 bound_mtd: bool = False, doses: DoseLevels | None = None):
        target = V.probability(target, "target")
        if not 0.05 <= target <= 0.6:
            raise ValueError(f"target must be between 0.05 and 0.6 for BOIN, got {target:g} (the range of BOIN 2.7's "
                             f"get.boundary and get.oc; dosefind applies it to MTD selection too)")
        cohort_size = V.integer(cohort_size, "cohort_size", minimum=1)
        if n_cohorts is not None:
            n_cohorts = V.integer(n_cohorts, "n_cohorts", minimum=1)
        if max_n is not None:
            max_n = V.integer(max_n, "max_n", minimum=1)
        if max_n is None:
            n_cohorts = 10 if n_cohorts is None else n_cohorts
            if n_cohorts * cohort_size > V.MAX_PATIENTS:
                raise ValueError(f"n_cohorts * cohort_size must be at most {V.MAX_PATIENTS} patients, got {n_cohorts} "
                                 f"* {cohort_size} = {n_cohorts * cohort_size}: no dose-finding trial comes near "
                                 f"that size")
            max_n = n_cohorts * cohort_size
        elif n_cohorts is not None and max_n != n_cohorts * cohort_size:
            raise ValueError(f"max_n ({max_n}) must equal n_cohorts * cohort_size ({n_cohorts} * {cohort_size} = "
                             f"{n_cohorts * cohort_size}) when both are given; give only one of them")
        super().__init__(num_doses, cohort_size=cohort_size, max_n=max_n, start_dose=start_dose, doses=doses)

        self.target = target
        p_saf = 0.6 * target if p_saf is None else V._num(p_saf, "p_saf")
        if not 0 < p_saf < target:
            raise ValueError(f"p_saf must be between 0 and target ({target:g}), exclusive, got {p_saf:g}")
        if (target - p_saf) < (0.1 * target):
            raise ValueError(f"p_saf must be at most 0.9 * target ({0.9 * target:g}): BOIN 2.7's get.boundary rejects a p_saf "
                             f"higher than or too close to the target, got {p_saf:g}")
        p_tox = 1.4 * target if p_tox is None else V._num(p_tox, "p_tox")
        if not target < p_tox < 1:
            raise ValueError(f"p_tox must be between target ({target:g}) and 1, exclusive, got {p_tox:g}")
        if (p_tox - target) < (0.1 * target):
            raise ValueError(f"p_tox must be at least 1.1 * target ({1.1 * target:g}): BOIN 2.7's get.boundary rejects a p_tox "
                             f"lower than or too close to the target, got {p_tox:g}")
        self.p_saf, self.p_tox = p_saf, p_tox
        self.cutoff_eli = V.probability(cutoff_eli, "cutoff_eli")
        offset = V._num(offset, "offset")
        if not 0 < offset < 0.5:
            raise ValueError(f"offset must be between 0 and 0.5 (exclusive), got {offset:g}")
        if offset >= self.cutoff_eli:
            raise ValueError(f"offset must be smaller than cutoff_eli ({self.cutoff_eli:g}), got {offset:g}")
        self.offset = offset
        self.extrasafe = V.boolean(extrasafe, "extrasafe")
        self.bound_mtd = V.boolean(bound_mtd, "bound_mtd")
        self.n_earlystop = V.integer(n_earlystop, "n_earlystop", minimum=1)
        if self.n_earlystop <= 6:
            warnings.warn(f"n_earlystop={self.n_earlystop} is too low to ensure good operating characteristics; "
                          f"BOIN 2.7 recommends 9 to 18", UserWarning, stacklevel=2)
        self.n_cohorts = max_n // cohort_size if max_n % cohort_size == 0 else None
        self._tables = self._boundary_arrays(np.arange(self.max_n + 1))
        self._extra: dict[int, tuple[int, int, int, int]] = {}
        self._gone = None  # per (n, y): does _eliminated_from eliminate the dose (engines' cache)

    # ------------------------------------------------------------------ boundaries
    @property
    def lambda_e(self) -> float:
        """Escalation boundary on the DLT rate (escalate if y/n <= lambda_e)."""
        t, p = self.target, self.p_saf
        return math.log((1 - p) / (1 - t)) / math.log(t * (1 - p) / (p * (1 - t)))

    @property
    def lambda_d(self) -> float:
        """De-escalation boundary on the DLT rate (de-escalate if y/n >= lambda_d)."""
        t, p = self.target, self.p_tox
        return math.log((1 - t) / (1 - p)) / math.log(p * (1 - t) / (t * (1 - p)))

    def _boundary_arrays(self, ns) -> tuple[np.ndarray, ...]:
        """Boundaries for an array of sample sizes n (n = 0 gives "no boundary"): escalate
        if y <= esc, de-escalate if y >= deesc, eliminate if y >= elim, extrasafe stop if
        y1 >= stop at the lowest dose (_NONE where there is no such count)."""
        ns = np.asarray(ns, dtype=np.int64)
        esc = np.where(ns > 0, np.floor(self.lambda_e * ns), -1).astype(np.int64)
        deesc = np.where(ns > 0, _deescalation_counts(self.lambda_d, ns), _NONE)
        first = _first_count_exceeding(self.target, ns, self.cutoff_eli)
        elim = np.where((ns >= 3) & (first <= ns), first, _NONE)
        deesc = np.minimum(deesc, elim)
        stop = np.full(ns.shape, _NONE, dtype=np.int64)
        if self.extrasafe:  # get.oc checks extrasafe only where elimination is possible
            s = _first_count_exceeding(self.target, ns, self.cutoff_eli - self.offset)
            stop = np.where((elim != _NONE) & (s <= ns), s, _NONE)
        return esc, deesc, elim, stop

    def _bounds(self, n: int) -> tuple[int, int, int, int]:
        """(esc, deesc, elim, stop) at sample size n, from the table up to max_n or, for
        larger n (states beyond the design's own size), computed once and cached."""
        b = self._extra.get(n)
        if b is None:
            n = int(n)
            if n < len(self._tables[0]):
                b = tuple(int(a[n]) for a in self._tables)
            else:
                b = tuple(int(a[0]) for a in self._boundary_arrays([n]))
            self._extra[n] = b
        return b

    def boundaries(self, full: bool = False) -> pd.DataFrame:
        """The decision table of R BOIN 2.7's ``get.boundary``.

        ``full=False`` gives ``$boundary_tab`` (n = cohort_size, 2*cohort_size, ...);
        ``full=True`` gives ``$full_boundary_tab`` (every n from 1).  Both stop at
        ``min(max_n, n_earlystop)``.  ``eliminate_if_dlt_ge`` is <NA> where no count
        eliminates (n < 3, or too few patients to be sure)."""
        import pandas as pd  # lazy: pandas costs a fraction of a second at import

        last = min(self.max_n, self.n_earlystop)
        ns = list(range(1, last + 1)) if full else [k * self.cohort_size for k in range(1, last // self.cohort_size + 1)]
        esc, deesc, elim, _ = self._tables
        return pd.DataFrame({
            "n": pd.array(ns, dtype="Int64"),
            "escalate_if_dlt_le": pd.array([int(esc[n]) for n in ns], dtype="Int64"),
            "deescalate_if_dlt_ge": pd.array([int(deesc[n]) for n in ns], dtype="Int64"),
            "eliminate_if_dlt_ge": pd.array([None if elim[n] == _NONE else int(elim[n]) for n in ns], dtype="Int64"),
        })

    def _beta_exceeds(self, n: int, y: int) -> float:
        """Pr(DLT rate > target | y DLTs in n patients) under a Beta(1, 1) prior."""
        return beta_prob_exceeds(n, y, self.target)

    def tox_estimates(self, state: TrialState) -> tuple[float | None, ...]:
        """The isotonic DLT estimates of :meth:`select_mtd` (None for untried doses), without
        its credible limits (so without scipy)."""
        self._check_state(state)
        return self._pooled_estimates(np.array(state.n_at_dose, dtype=float), np.array(state.tox_at_dose, dtype=float))

    def _pooled_estimates(self, n, y) -> tuple[float | None, ...]:
        """``select.mtd``'s per-dose estimates: the isotonic fit of (y + 0.05)/(n + 0.1) over
        every tried dose (eliminated ones too), to 4 decimals; None for untried doses."""
        est: list[float | None] = [None] * self.num_doses
        tried = n > 0
        if tried.any():
            yt, nt = y[tried], n[tried]
            iso_all = pava((yt + 0.05) / (nt + 0.1), 1.0 / _smoothed_var(yt, nt))
            for k, j in enumerate(np.flatnonzero(tried)):
                est[j] = round(float(iso_all[k]), 4)
        return tuple(est)

    def prob_tox_exceeds(self, state: TrialState, threshold: float) -> tuple[float | None, ...]:
        """Pr(DLT rate > threshold | data) per tried dose, as the R package escalation's BOIN
        selector gives it (``pava_bb_prob_tox_exceeds``) and as ``select.mtd`` computes its
        overdosing probabilities: the Beta(y + 0.05, n - y + 0.05) tail at each tried dose,
        made non-decreasing by pool-adjacent-violators.  None for untried doses."""
        from dosefind._beta import beta_sf

        self._check_state(state)
        threshold = V.probability(threshold, "threshold")
        n = np.array(state.n_at_dose, dtype=float)
        y = np.array(state.tox_at_dose, dtype=float)
        tried = np.flatnonzero(n > 0)
        out: list[float | None] = [None] * self.num_doses
        if tried.size:
            smooth = pava(beta_sf(y[tried] + 0.05, n[tried] - y[tried] + 0.05, threshold))
            for k, j in enumerate(tried):
                out[j] = float(smooth[k])
        return tuple(out)

    # ------------------------------------------------------------------ decisions
    def _eliminated_from(self, n_at_dose, tox_at_dose) -> int:
        """0-based index of the lowest eliminated dose (num_doses if none)."""
        for j, (n, y) in enumerate(zip(n_at_dose, tox_at_dose)):
            if n >= 3 and y >= self._bounds(n)[2]:
                return j
        return self.num_doses

    def _decision_key(self, n_at_dose, tox_at_dose, current_index, last_cohort_tox):
        """What :meth:`_decide` reads: the current dose and its counts, the lowest eliminated
        dose (each dose's elimination asked of :meth:`_eliminated_from` for its own counts)
        and, with ``extrasafe``, dose 1's counts (:meth:`_decision_key_layout`)."""
        return self._decision_key_layout().columns(n_at_dose, tox_at_dose, current_index)

    def _decision_key_layout(self):
        """:meth:`_decision_key` as a :class:`~dosefind.designs.keys.DoseKeyLayout`: the
        flag of a dose is its elimination (:meth:`_eliminated_pairs`)."""
        return DoseKeyLayout(self.num_doses, self.max_n, self._eliminated_pairs, self.extrasafe)

    def _decide(self, state: TrialState) -> Decision:
        n_all, y_all = state.n_at_dose, state.tox_at_dose
        first_elim = self._eliminated_from(n_all, y_all)
        if first_elim == 0:
            return Decision.halt(
                f"stop: the lowest dose is too toxic ({y_all[0]}/{n_all[0]} DLTs, Pr(DLT rate > {self.target:g}) = "
                f"{self._beta_exceeds(n_all[0], y_all[0]):.3f} > {self.cutoff_eli:g}); no dose is selected",
                R.LOWEST_TOO_TOXIC)
        if self.extrasafe and n_all[0] >= 3 and y_all[0] >= self._bounds(n_all[0])[3]:
            return Decision.halt(
                f"stop (extra safety rule): {y_all[0]}/{n_all[0]} DLTs at dose 1, Pr(DLT rate > {self.target:g}) = "
                f"{self._beta_exceeds(n_all[0], y_all[0]):.3f} > cutoff_eli - offset = "
                f"{self.cutoff_eli - self.offset:g}; no dose is selected", R.EXTRA_SAFE)

        d = state.current_index
        n, y = n_all[d], y_all[d]
        lvl = to_level(d)
        top = d == self.num_doses - 1
        next_out = d + 1 >= first_elim
        be, bd, elim_n, _ = self._bounds(n)

        if n >= self.n_earlystop and ((be < y < bd) or (d == 0 and y >= bd) or ((top or next_out) and y <= be)):
            return Decision.halt(f"stop: dose {lvl} has {n} patients (n_earlystop={self.n_earlystop}) and the rule "
                                 f"would stay there ({y}/{n} DLTs); select the MTD", R.N_AT_DOSE)

        frac = f"{y}/{n} DLTs at dose {lvl}"
        if y <= be and not top:
            if not next_out:
                nxt, why = d + 1, f"escalate: {frac} <= {be} (escalation boundary at n={n})"
            else:
                nxt, why = d, f"stay: {frac} <= {be} (escalation boundary at n={n}), but dose {lvl + 1} is eliminated"
        elif y >= bd and d != 0:
            nxt = d - 1
            if y >= elim_n:
                why = (f"de-escalate and eliminate: {frac} >= {elim_n} (Pr(DLT rate > {self.target:g}) = "
                       f"{self._beta_exceeds(n, y):.3f} > {self.cutoff_eli:g}); doses {lvl} and above are eliminated")
            else:
                why = f"de-escalate: {frac} >= {bd} (de-escalation boundary at n={n})"
        elif y <= be:
            nxt, why = d, f"stay: {frac} <= {be} (escalation boundary at n={n}), but dose {lvl} is the highest dose"
        elif y >= bd:
            nxt, why = d, f"stay: {frac} >= {bd} (de-escalation boundary at n={n}), but dose 1 is the lowest dose"
        else:
            nxt, why = d, f"stay: {frac} is between the boundaries ({be} < DLTs < {bd} at n={n})"
        if nxt >= first_elim:  # only reachable from states BOIN cannot produce
            nxt = first_elim - 1
            why += f"; capped at dose {to_level(nxt)}, below the lowest eliminated dose"
        code = R.ESCALATE if nxt > d else (R.DE_ESCALATE if nxt < d else R.STAY)
        return Decision.treat(nxt, why, code)

    # ------------------------------------------------------------------ MTD
    def _eliminated_pairs(self, n, y) -> np.ndarray:
        """Whether :meth:`_eliminated_from` eliminates a dose with ``n`` patients and ``y``
        DLTs (arrays of one shape), asking it once per distinct (n, y): a dose's
        elimination reads its own counts."""
        n, y = np.asarray(n, dtype=np.int64), np.asarray(y, dtype=np.int64)
        span = self.max_n + 1
        if self._gone is None:  # answers of the scalar rule per (n, y), -1 until asked
            self._gone = np.full(span * span if span <= 2048 else 0, -1, np.int8)
        pair = n * span + y
        if self._gone.size and int(n.max(initial=0)) < span:
            gone = self._gone[pair]
            if (gone < 0).any():
                for v in np.unique(pair[gone < 0]).tolist():
                    self._gone[v] = self._eliminated_from((v // span,), (v % span,)) == 0
                gone = self._gone[pair]
            return gone.view(bool)
        pairs, inverse = np.unique(pair, return_inverse=True)
        flags = [self._eliminated_from((v // span,), (v % span,)) == 0 for v in pairs.tolist()]
        return np.array(flags, dtype=bool)[inverse.reshape(n.shape)]

    def _first_eliminated_rows(self, n, y) -> np.ndarray:
        """:meth:`_eliminated_from` of each row of counts (num_doses if none)."""
        return self._decision_key_layout().lowest_flagged(n, y)

    def _select_rows(self, n_at_dose, tox_at_dose) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The selection rule of ``select.mtd`` for rows of counts (the one place it is
        written; :meth:`select_mtd` reads one row): (0-based MTD per row, -1 for none;
        per row the admissible doses first, in dose order; their count; the isotonic
        estimates in that order).

        Admissible doses are the tried ones below the lowest eliminated dose (none if the
        extra safety rule removes every dose).  Their smoothed rates (y + 0.05)/(n + 0.1)
        are fitted by pool-adjacent-violators weighted by 1/:func:`_smoothed_var`; the MTD
        is the first closest estimate to the target after the package's tie-break
        (+ k * 1e-10 on the k-th admissible dose), with ``bound_mtd`` among those at or
        below lambda_d only."""
        N = np.asarray(n_at_dose, dtype=np.int64).reshape(-1, self.num_doses)
        Y = np.asarray(tox_at_dose, dtype=np.int64).reshape(N.shape)
        T, D = N.shape
        adm = (N > 0) & (np.arange(D) < self._first_eliminated_rows(N, Y)[:, None])
        if self.extrasafe:
            n0, y0 = N[:, 0], Y[:, 0]
            pairs, inverse = np.unique(n0 * (int(y0.max(initial=0)) + 1) + y0, return_inverse=True)
            span = int(y0.max(initial=0)) + 1
            out = np.array([v // span >= 3 and self._beta_exceeds(v // span, v % span) > self.cutoff_eli - self.offset
                            for v in pairs.tolist()], dtype=bool)
            adm[out[inverse.ravel()]] = False
        count = adm.sum(axis=1)
        order = np.argsort(~adm, axis=1, kind="stable")  # admissible doses first, in dose order
        ya = np.take_along_axis(Y, order, axis=1).astype(float)
        na = np.take_along_axis(N, order, axis=1).astype(float)
        live = np.arange(D) < count[:, None]
        # Past each row's admissible doses: increasing values above any rate (PAVA never
        # pools them), weight 1.
        x = np.where(live, (ya + 0.05) / (na + 0.1), 2.0 + np.arange(D))
        w = np.where(live, 1.0 / np.where(live, _smoothed_var(ya, na), 1.0), 1.0)
        iso = pava_rows(x, w)
        phat = iso + np.arange(1, D + 1) * 1e-10  # the package's tie-break
        ok = live & (phat <= self.lambda_d) if self.bound_mtd else live  # 2.7.2: phat[phat <= lambda_d]
        k = np.argmin(np.where(ok, np.abs(phat - self.target), np.inf), axis=1)  # first minimum, as R's stable sort
        mtd = np.where(ok.any(axis=1), order[np.arange(T), k], -1)
        return mtd, order, count, iso

    def _select_index(self, n, y) -> tuple[int | None, np.ndarray, np.ndarray]:
        """:meth:`_select_rows` of one state: (0-based MTD or None, admissible doses,
        their isotonic estimates)."""
        mtd, order, count, iso = self._select_rows([n], [y])
        k = int(count[0])
        return (None if mtd[0] < 0 else int(mtd[0])), order[0, :k].astype(np.int64), iso[0, :k]

    def select_mtd_batch(self, n_at_dose, tox_at_dose):
        """The 0-based MTD (-1: none) of each row of counts, for simulation engines: the
        rule of :meth:`select_mtd` (:meth:`_select_rows`, the same code) without its per-dose
        summaries; distinct rows are computed once."""
        N = np.asarray(n_at_dose, dtype=np.int64).reshape(-1, self.num_doses)
        Y = np.asarray(tox_at_dose, dtype=np.int64).reshape(N.shape)
        if not N.shape[0]:
            return np.full(0, -1, dtype=np.int64)
        first, inverse = distinct_rows(np.hstack([N, Y]))
        return self._select_rows(N[first], Y[first])[0].astype(np.int64)[inverse.ravel()]

    def select_mtd(self, state: TrialState) -> MTDSelection:
        """MTD as R BOIN 2.7.2's ``select.mtd`` (with ``boundMTD``)."""
        from scipy.special import betaincinv  # credible limits: fractional parameters need scipy

        from dosefind._beta import beta_sf

        self._check_state(state)
        n = np.array(state.n_at_dose, dtype=float)
        y = np.array(state.tox_at_dose, dtype=float)
        D, t = self.num_doses, self.target
        mtd, adm, iso_adm = self._select_index(state.n_at_dose, state.tox_at_dose)
        first_ok = self._eliminated_from(state.n_at_dose, state.tox_at_dose)
        eliminated = np.arange(D) >= first_ok
        if self.extrasafe and n[0] >= 3 and self._beta_exceeds(int(n[0]), int(y[0])) > self.cutoff_eli - self.offset:
            eliminated[:] = True

        tried = n > 0
        est = self._pooled_estimates(n, y)
        details: dict = {"eliminated": [to_level(j) for j in np.flatnonzero(eliminated)]}
        if tried.any():
            yt, nt = y[tried], n[tried]
            w = 1.0 / _smoothed_var(yt, nt)
            over = pava(beta_sf(yt + 0.05, nt - yt + 0.05, t))
            lo = pava(betaincinv(yt + 0.05, nt - yt + 0.05, 0.025), w)
            hi = pava(betaincinv(yt + 0.05, nt - yt + 0.05, 0.975), w)
            over_all, lo_all, hi_all = [None] * D, [None] * D, [None] * D
            for k, j in enumerate(np.flatnonzero(tried)):
                over_all[j] = round(float(over[k]), 4)
                lo_all[j], hi_all[j] = round(float(lo[k]), 4), round(float(hi[k]), 4)
            details.update(prob_overdose=over_all, ci_lower=lo_all, ci_upper=hi_all)

        if adm.size == 0:
            why = ("no MTD: the lowest dose is too toxic" if eliminated[0]
                   else "no MTD: no patient was treated at an admissible dose")
            return MTDSelection(None, est, why, details)
        if mtd is None:
            return MTDSelection(None, est, f"no MTD: every admissible dose has an isotonic estimate above "
                                                  f"lambda_d = {self.lambda_d:.4f} (bound_mtd)", details)
        k = int(np.flatnonzero(adm == mtd)[0])
        why = (f"MTD is dose {to_level(mtd)}: isotonic DLT estimate {iso_adm[k]:.4f} is the closest to the target "
               f"{t:g} among doses {', '.join(str(to_level(a)) for a in adm)}")
        if self.bound_mtd:
            why += f" with estimate at or below lambda_d = {self.lambda_d:.4f}"
        return MTDSelection(mtd, est, why, details)

    # ------------------------------------------------------------------ reporting
    def params(self) -> dict:
        return {"target": self.target, "num_doses": self.num_doses, "cohort_size": self.cohort_size,
                "max_n": self.max_n, "n_cohorts": self.n_cohorts, "p_saf": self.p_saf, "p_tox": self.p_tox,
                "cutoff_eli": self.cutoff_eli, "extrasafe": self.extrasafe, "offset": self.offset,
                "n_earlystop": self.n_earlystop, "start_dose": self.start_dose, "bound_mtd": self.bound_mtd}

    def describe(self, detail: bool = False) -> str:
        """The design in words.  The boundaries' DLT counts for each number of patients
        are the decision table (:meth:`boundaries`, printed beside this text in the
        report); ``detail=True`` also spells them out, one clause per number of patients."""
        text = (
            f"Dose finding follows the Bayesian optimal interval (BOIN) design (Liu and Yuan, 2015) with a target "
            f"DLT rate of {self.target:g}, {self.num_doses} dose levels, cohorts of {self.cohort_size} and at most "
            f"{self.max_n} patients, starting at dose {self.start_dose}. After each cohort, the observed DLT rate "
            f"at the current dose is compared with the escalation boundary lambda_e = {self.lambda_e:.4f} and the "
            f"de-escalation boundary lambda_d = {self.lambda_d:.4f} (from p_saf = {self.p_saf:g} and p_tox = "
            f"{self.p_tox:g}): the next cohort is treated one dose higher if the rate is at or below lambda_e, "
            f"one dose lower if it is at or above lambda_d, and at the same dose otherwise; the decision table "
            f"gives these boundaries as numbers of DLTs for each number of patients at the dose. "
            f"For safety, with a Beta(1, 1) prior, a dose with at least 3 patients and Pr(DLT rate > "
            f"{self.target:g} | data) > {self.cutoff_eli:g} is eliminated together with all higher doses, and "
            f"the trial stops with no MTD if the lowest dose is eliminated.")
        if self.extrasafe:
            text += (f" Under the extra safety rule the trial also stops if the lowest dose has at least 3 patients "
                     f"and Pr(DLT rate > {self.target:g} | data) > {self.cutoff_eli - self.offset:g}.")
        if self.n_earlystop < self.max_n:
            text += (f" The trial stops early when the current dose has {self.n_earlystop} patients and the rule "
                     f"would treat the next cohort at that same dose.")
        text += (" At the end, the MTD is the dose, among admissible doses, whose isotonic estimate of the DLT "
                 "rate (pool-adjacent-violators on (y+0.05)/(n+0.1), weighted by inverse posterior variance) is "
                 "closest to the target"
                 + (f" and at or below lambda_d" if self.bound_mtd else "")
                 + "; ties go to the higher dose below the target and the lower dose above it.")
        if detail:
            text += " Decision table: " + self._boundary_prose() + "."
        return text

    def _boundary_prose(self) -> str:
        import pandas as pd

        return "; ".join(
            f"n={r.n}: escalate if DLTs <= {r.escalate_if_dlt_le}, de-escalate if >= {r.deescalate_if_dlt_ge}"
            + ("" if pd.isna(r.eliminate_if_dlt_ge) else f", eliminate if >= {r.eliminate_if_dlt_ge}")
            for r in self.boundaries().itertuples())


def _smoothed_var(y, n):
    """Variance BOIN uses to weight the isotonic fit of (y+0.05)/(n+0.1)."""
    return (y + 0.05) * (n - y + 0.05) / ((n + 0.1) ** 2 * (n + 0.1 + 1))
