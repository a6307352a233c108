r"""BOIN12: Bayesian optimal interval phase I/II design with a utility (Lin et al. 2020).

Idea
----
BOIN12 chooses doses on toxicity *and* response.  Toxicity is kept in check by BOIN's
boundaries :math:`\lambda_e, \lambda_d` (:class:`~dosefind.designs.boin.BOIN`, target
:math:`\phi_T`, defaults :math:`\phi_1 = 0.6\phi_T`, :math:`\phi_2 = 1.4\phi_T`); among the
doses the boundaries allow, the next cohort goes to the one with the highest
*desirability*, the posterior probability that its utility beats a benchmark.

Utility.  Each patient has one of four outcomes, scored on 0-100 (``utility``; the paper
and the BOIN Suite fix response without DLT at 100 and DLT without response at 0):
``eff_no_tox`` (100), ``eff_tox`` (:math:`u_{11}`, default 60), ``no_eff_no_tox``
(:math:`u_{00}`, default 40), ``no_eff_tox`` (0).  At dose :math:`j` with :math:`n_j`
patients and :math:`y_{j,k}` of them with outcome :math:`k`, the quasi-binomial count
:math:`x_j = \sum_k u_k y_{j,k} / 100` and a Beta(1, 1) prior give
:math:`u_j / 100 \mid D \sim \mathrm{Beta}(1 + x_j, 1 + n_j - x_j)`.

Benchmark.  The highest unacceptable utility :math:`\bar u` is the utility of a dose with
toxicity :math:`\phi_T` and response :math:`\phi_E`, outcomes independent; the benchmark
is half way from it to 100: :math:`u_b = \bar u + (100 - \bar u)/2`.  The desirability of
dose :math:`j` is :math:`\Pr(u_j > u_b \mid D) = 1 - I_{u_b/100}(1 + x_j, 1 + n_j - x_j)`
(an untried dose has the prior value :math:`1 - u_b/100`).  The paper tabulates its rank
over all possible data (the "rank-based desirability score", Table 3:
:func:`desirability_table`); a decision compares the probabilities themselves, which
ranks the same.

Elimination (Beta(1, 1) priors, a dose needs at least 3 patients).  Toxicity: if
:math:`\Pr(p_{T,j} > \phi_T \mid D) > c_T` (``c_t``, 0.95) and at least 3 DLTs were seen,
dose :math:`j` and every higher dose are eliminated (the authors' ``get.boundary`` counts
from 3 DLTs, and so does the BOIN Suite app); the trial stops if it is the lowest dose.
Futility: if :math:`\Pr(p_{E,j} < \phi_E \mid D) > c_E` (``c_e``, 0.9) dose :math:`j` alone
is eliminated.  There is no efficacy interval boundary: :math:`\phi_E` enters through this
rule (:meth:`BOIN12.boundaries` tabulates it) and the benchmark.  When every dose is
eliminated the trial stops (code ``FUTILITY`` unless the lowest dose is too toxic,
``LOWEST_TOO_TOXIC``).

Rules for the next cohort, current dose :math:`d` with :math:`n` patients, :math:`y` DLTs
-------------------------------------------------------------------------------------
1. ``n_earlystop`` (off by default) patients at :math:`d`: stop and select the OBD.
2. :math:`y \ge` the de-escalation count at :math:`n` (:math:`\hat p \ge \lambda_d`):
   treat the highest non-eliminated dose below :math:`d`; if there is none, stay at
   :math:`d` (stop if :math:`d` itself is eliminated).
3. Otherwise the candidates are :math:`d`, the highest non-eliminated dose below and the
   lowest non-eliminated dose above; the dose above is a candidate only while
   :math:`n < N_1` (``n1``, 6) or when :math:`y \le` the escalation count
   (:math:`\hat p \le \lambda_e`).  So with :math:`n \ge N_1` and
   :math:`\lambda_e < \hat p < \lambda_d` the choice is between :math:`d` and the dose
   below.  The candidate with the highest desirability is treated; eliminated doses are no
   candidates, and no candidate left stops the trial (``FUTILITY``).
4. Extra exploration (``n2``, 9; None turns it off, as unticking "Impose extra dose
   exploration" in the BOIN Suite does): if :math:`n \ge N_2`, :math:`y` is below the
   de-escalation count and the lowest non-eliminated dose above :math:`d` is untried, it is
   treated whatever step 3 chose.

OBD selection (:meth:`BOIN12.select_obd`).  The toxicity estimates are the observed rates
:math:`y_j/n_j` (:math:`\phi_T` at untried doses), made non-decreasing by
pool-adjacent-violators weighted by the inverse of BOIN's variance
:math:`(y_j+0.05)(n_j-y_j+0.05)/\{(n_j+0.1)^2(n_j+1.1)\}`, plus :math:`0.001 j` to break
ties; the MTD is the dose whose estimate is closest to :math:`\phi_T` (the first in a
tie).  The OBD is the dose, at or below the MTD, tried and not eliminated, with the
highest posterior mean utility :math:`100 (x_j + 1)/(n_j + 2)` (the lowest such dose in a
tie).  No such dose: no OBD.  No OBD either when the rule, applied to the final data, stops
for toxicity or futility (the authors' loop decides after the last cohort too).

Where the paper, the reference code and other packages differ (see docs/designs/boin12.md)
----------------------------------------------------------------------------------------
Reference code read: the BOIN12/TITE-BOIN12 authors' simulation programs (the BOIN12
trial loop and selection, "the same as in BOIN12" in their TITE-BOIN12 program); the CRAN
package phase12designs (``oc_boin12``, the comparative-review code of Shi, Lin & Lin); the
R package escalation 0.2.3 (``get_boin12``, ``boin12_rds``, ``select_boin12_obd``).

* Boundaries: the authors' BOIN12 code searches error-minimising cut-offs per n; dosefind
  uses BOIN's closed-form :math:`\lambda_e, \lambda_d` (R BOIN, as the TITE-BOIN12 code),
  which give the same counts (checked for phi_t 0.15 to 0.4, n up to 60).
* Ties between candidates: the authors' code breaks them at random (a 1e-15 jitter); here
  the higher dose wins (escalation's reading of the BOIN Suite app), so a decision is a
  function of the data.
* OBD: posterior-mean utility from the joint outcome counts (the authors' BOIN12 and
  TITE-BOIN12 code).  phase12designs instead scores :math:`u_{11}\hat p_E + u_{00}(1 - \hat
  p_T)` with isotonic toxicity and unimodal efficacy estimates; escalation picks the dose
  with the highest Pr(u > u_b) among all doses up to a raw-rate MTD, untried and
  eliminated doses included, and always forces the extra exploration (issue 8 there:
  about 8 points below the BOIN Suite).
* No eligible dose at or below the MTD: the authors' code then returns dose 1 (the first of
  a vector of -100s); dosefind selects none.

Data.  With the default utility (additive: 100 + 0 = 60 + 40) :math:`x_j` depends on the
per-dose DLT and response counts only, and the design has ``memory = "counts"``.  A
non-additive table needs how many patients had both outcomes, read from the cohorts or
patient records; such a design has ``memory = "history"`` and refuses states built from
counts alone.

Parameters and ranges
---------------------
phi_t : 0.05 <= phi_t <= 0.6 (BOIN's target range); phi_e : 0 < phi_e < 1.
utility : dict with exactly the four keys above, values in [0, 100], ``eff_no_tox`` 100
    and ``no_eff_tox`` 0 (None: the default table).
n1, n2 : whole numbers >= 1 (n2 may be None); c_t, c_e in (0, 1); p_saf, p_tox as BOIN;
max_n / n_cohorts as BOIN (default 10 cohorts); n_earlystop >= 1 or None.

Reference
---------
Lin R, Zhou Y, Yan F, Li D, Yuan Y. BOIN12: Bayesian optimal interval phase I/II trial
design for utility-based dose finding in immunotherapy and targeted therapies. JCO
Precision Oncology 2020;4:1393-1402.

Example
-------
>>> from dosefind.state import TrialState
>>> design = BOIN12(phi_t=0.35, phi_e=0.25, num_doses=5, max_n=30)
>>> d = design.decide(TrialState.from_outcomes("1NNN 2NEN 2EET", num_doses=5))
>>> d.next_dose, d.code.value
(3, 'escalate')
"""

from __future__ import annotations

import math

import numpy as np

from dosefind import _validate as V
from dosefind.designs.base import Design
from dosefind.designs.boin import BOIN, _deescalation_counts
from dosefind.designs.isotonic import pava
from dosefind.state import Decision, DoseLevels, MTDSelection, OBDSelection, TrialState, to_level
from dosefind.state import ReasonCode as R

__all__ = ["BOIN12", "DEFAULT_UTILITY", "UTILITY_KEYS", "benchmark_utility", "desirability",
           "desirability_table"]

#: The four outcomes of the utility table, in the order (response, DLT) = (1,0), (0,0), (1,1), (0,1).
UTILITY_KEYS = ("eff_no_tox", "no_eff_no_tox", "eff_tox", "no_eff_tox")
#: The paper's and the BOIN Suite's default utility.
DEFAULT_UTILITY = {"eff_no_tox": 100.0, "no_eff_no_tox": 40.0, "eff_tox": 60.0, "no_eff_tox": 0.0}


def check_utility(utility) -> dict:
    """The utility table as a dict of floats, or a ValueError naming what is wrong."""
    if utility is None:
        return dict(DEFAULT_UTILITY)
    if not isinstance(utility, dict):
        raise ValueError(f"utility must be a table with the keys {', '.join(UTILITY_KEYS)} (scores from 0 to 100), "
                         f"got {utility!r}")
    keys = set(utility)
    if keys != set(UTILITY_KEYS):
        missing = [k for k in UTILITY_KEYS if k not in keys]
        extra = sorted(str(k) for k in keys - set(UTILITY_KEYS))
        what = "; ".join(s for s in (f"missing {', '.join(missing)}" if missing else "",
                                     f"unknown {', '.join(extra)}" if extra else "") if s)
        raise ValueError(f"utility must have exactly the keys {', '.join(UTILITY_KEYS)}: {what}")
    out = {}
    for k in UTILITY_KEYS:
        v = V._num(utility[k], f"utility[{k!r}]")
        if not 0 <= v <= 100:
            raise ValueError(f"utility[{k!r}] must be between 0 and 100, got {utility[k]!r}")
        out[k] = v
    if out["eff_no_tox"] != 100 or out["no_eff_tox"] != 0:
        raise ValueError(f"utility['eff_no_tox'] must be 100 and utility['no_eff_tox'] 0 (BOIN12 scores the best "
                         f"outcome 100 and the worst 0, and its benchmark assumes that scale), got "
                         f"{out['eff_no_tox']:g} and {out['no_eff_tox']:g}")
    return out


def _is_additive(u: dict) -> bool:
    """True when the utility is a sum of a response and a no-DLT score, so that the
    quasi-binomial count needs the marginal counts only."""
    return math.isclose(u["eff_tox"] + u["no_eff_no_tox"], u["eff_no_tox"] + u["no_eff_tox"], abs_tol=1e-9)


def benchmark_utility(phi_t: float, phi_e: float, utility: dict | None = None) -> tuple[float, float]:
    """(u_bar, u_b): the utility of a dose with DLT rate phi_t and response rate phi_e
    (outcomes independent), and the benchmark half way from it to 100.

    >>> benchmark_utility(0.35, 0.25)
    (41.0, 70.5)
    """
    u = check_utility(utility)
    u_bar = (u["eff_no_tox"] * phi_e * (1 - phi_t) + u["no_eff_no_tox"] * (1 - phi_e) * (1 - phi_t)
             + u["eff_tox"] * phi_e * phi_t + u["no_eff_tox"] * (1 - phi_e) * phi_t)
    u_bar = round(u_bar, 10)  # 41.00000000000001 is 41: the inputs are given to a few digits
    return u_bar, u_bar + (100 - u_bar) / 2


def _quasi_count(u: dict, n: int, tox: int, eff: int, both: int) -> float:
    """x = sum_k u_k y_k / 100 from the counts (both = patients with response and DLT)."""
    return (u["eff_no_tox"] * (eff - both) + u["eff_tox"] * both + u["no_eff_no_tox"] * (n - tox - eff + both)
            + u["no_eff_tox"] * (tox - both)) / 100


def desirability(x: float, n: int, u_b: float) -> float:
    """Pr(utility > u_b | x, n) = 1 - I_{u_b/100}(1 + x, 1 + n - x) (Beta(1, 1) prior)."""
    from dosefind._beta import beta_sf

    return beta_sf(1.0 + x, 1.0 + n - x, u_b / 100)


def desirability_table(sample_sizes, phi_t: float, phi_e: float, utility: dict | None = None, *,
                       c_t: float = 0.95, c_e: float = 0.9):
    """The rank-based desirability scores of Lin et al. (2020), Table 3.

    One row per (patients, DLTs, responses) for each n in ``sample_sizes``: whether the
    dose is admissible (Pr(DLT rate > phi_t) < c_t and Pr(response rate < phi_e) < c_e,
    Beta(1, 1) priors; as in the design, no dose with fewer than 3 patients is eliminated),
    Pr(utility > u_b) and its rank among the admissible rows of the whole table (average rank in ties, R's ``rank``); inadmissible rows have no rank
    (the paper prints "E").  Needs an additive utility (the table has marginal counts)."""
    import pandas as pd

    from dosefind._beta import beta_cdf, beta_sf

    u = check_utility(utility)
    if not _is_additive(u):
        raise ValueError("desirability_table needs an additive utility (eff_tox + no_eff_no_tox = 100): with "
                         "another table the score depends on how many patients had both outcomes")
    phi_t = V.probability(phi_t, "phi_t")
    phi_e = V.probability(phi_e, "phi_e")
    c_t = V.probability(c_t, "c_t")
    c_e = V.probability(c_e, "c_e")
    _, u_b = benchmark_utility(phi_t, phi_e, u)
    rows = []
    for n in sample_sizes:
        n = V.integer(n, "sample_sizes", minimum=0)
        for tox in range(n + 1):
            for eff in range(n + 1):
                ok = n < 3 or (beta_sf(tox + 1.0, n - tox + 1.0, phi_t) < c_t
                               and beta_cdf(eff + 1.0, n - eff + 1.0, phi_e) < c_e)
                x = _quasi_count(u, n, tox, eff, 0)
                rows.append((n, tox, eff, bool(ok), desirability(x, n, u_b)))
    df = pd.DataFrame(rows, columns=["n", "tox", "eff", "admissible", "prob_utility_exceeds"])
    ranks = df.loc[df.admissible, "prob_utility_exceeds"].rank(method="average")
    df["score"] = ranks.reindex(df.index)
    return df


class BOIN12(Design):
    """BOIN12 phase I/II design (Lin et al. 2020), as the authors' code runs it.

    See the module docstring for the method, the choices where sources differ and the
    parameter ranges.
    """

    name = "BOIN12"
    efficacy = True

    def __init__(self, phi_t: float, phi_e: float, num_doses: int | None = None, *, cohort_size: int = 3,
                 max_n: int | None = None, n_cohorts: int | None = None, utility: dict | None = None,
                 n1: int = 6, n2: int | None = 9, c_t: float = 0.95, c_e: float = 0.9,
                 p_saf: float | None = None, p_tox: float | None = None, n_earlystop: int | None = None,
                 start_dose: int = 1, doses: DoseLevels | None = None):
        phi_t = V.probability(phi_t, "phi_t")
        if not 0.05 <= phi_t <= 0.6:
            raise ValueError(f"phi_t must be between 0.05 and 0.6 for BOIN12, got {phi_t:g} (BOIN12 uses BOIN's "
                             f"boundaries, whose target range this is)")
        self.phi_e = V.probability(phi_e, "phi_e")
        c_t = V.probability(c_t, "c_t")
        # BOIN checks the trial size, cohorts, p_saf/p_tox and the start dose; its
        # boundary and elimination tables are the ones BOIN12 uses.
        self._boin = BOIN(target=phi_t, num_doses=num_doses, cohort_size=cohort_size, max_n=max_n,
                          n_cohorts=n_cohorts, p_saf=p_saf, p_tox=p_tox, cutoff_eli=c_t, start_dose=start_dose,
                          doses=doses)
        super().__init__(self._boin.num_doses, cohort_size=cohort_size, max_n=self._boin.max_n,
                         start_dose=start_dose, doses=self._boin.doses)
        self.phi_t, self.c_t = phi_t, c_t
        self.c_e = V.probability(c_e, "c_e")
        self.utility = check_utility(utility)
        self.n1 = V.integer(n1, "n1", minimum=1)
        self.n2 = None if n2 is None else V.integer(n2, "n2", minimum=1)
        self.n_earlystop = None if n_earlystop is None else V.integer(n_earlystop, "n_earlystop", minimum=1)
        self.u_bar, self.u_b = benchmark_utility(phi_t, self.phi_e, self.utility)
        self.additive = _is_additive(self.utility)
        # A non-additive utility reads how many patients had both outcomes, which the
        # count key does not hold: engines must not merge states then.
        self.memory = "counts" if self.additive else "history"
        self._fut: dict[tuple[int, int], bool] = {}
        self._counts: dict[int, tuple[int, int, int]] = {}  # n -> (esc, deesc, elim) counts
        self._des: dict[tuple[float, int], float] = {}
        self._flags: dict[tuple, tuple[bool, bool]] = {}   # (n, y, e) at a dose -> (too toxic, futile)
        self._iso: dict[tuple, tuple[list, tuple, int]] = {}  # (n, y) per dose -> isotonic fit, estimates, MTD
        self._info: dict[tuple, tuple] = {}                 # (n, y, e, both) at a dose -> elimination, score

    # ------------------------------------------------------------------ pieces
    @property
    def target(self) -> float:
        """phi_T, the DLT rate at which :meth:`select_mtd` places the MTD (so engines score
        MTD selection against it, as for BOIN's target)."""
        return self.phi_t

    @property
    def lambda_e(self) -> float:
        return self._boin.lambda_e

    @property
    def lambda_d(self) -> float:
        return self._boin.lambda_d

    def boundaries(self, full: bool = False):
        """The decision table: BOIN's toxicity columns (:meth:`BOIN.boundaries
        <dosefind.designs.boin.BOIN.boundaries>`, with elimination from 3 DLTs as in
        :meth:`_bounds`) and ``eliminate_if_eff_le``, the largest
        response count that eliminates the dose as futile (<NA>: none does; n < 3 never),
        as the authors' ``get.boundary`` prints "Eliminate if # of Eff <=".  BOIN12 has no
        efficacy interval boundary: phi_e enters through this table and the benchmark."""
        import pandas as pd

        tab = self._boin.boundaries(full=full)
        counts = [self._bounds(int(n)) for n in tab["n"]]
        tab["deescalate_if_dlt_ge"] = pd.array([c[1] for c in counts], dtype="Int64")
        tab["eliminate_if_dlt_ge"] = pd.array([c[2] if 3 <= int(n) and c[2] <= int(n) else None
                                               for n, c in zip(tab["n"], counts)], dtype="Int64")
        col = []
        for n in tab["n"]:
            n = int(n)
            e = next((k for k in range(n, -1, -1) if self._futile(n, k)), None)
            col.append(e)
        tab["eliminate_if_eff_le"] = pd.array(col, dtype="Int64")
        return tab

    def _both_at_dose(self, state: TrialState) -> tuple[int, ...]:
        """Patients with both a response and a DLT, per dose (0s for an additive utility,
        which does not need them)."""
        if self.additive:
            return (0,) * self.num_doses
        out = [0] * self.num_doses
        if state.patients:
            for p in state.patients:
                out[p.dose_index] += int(p.dlt == 1 and p.eff == 1)
        elif state.cohorts and sum(c.n for c in state.cohorts) == state.total_n:
            for c in state.cohorts:
                out[c.dose_index] += sum(y * e for y, e in zip(c.outcomes, c.eff))
        elif state.total_n:
            raise ValueError("this BOIN12 utility is not additive (eff_tox + no_eff_no_tox != 100), so it needs to "
                             "know which patients had both a response and a DLT; give the outcomes per patient "
                             "(TrialState.from_outcomes or from_records), not counts per dose")
        return tuple(out)

    def _bounds(self, n: int) -> tuple[int, int, int]:
        """(escalate if DLTs <=, de-escalate if DLTs >=, eliminate if DLTs >=) at n patients.

        BOIN's closed-form counts, except that toxicity elimination needs at least 3 DLTs
        (the authors' ``get.boundary`` searches the elimination count from 3, and the BOIN
        Suite app keeps treating dose 1 after 2 DLTs in 3 patients with phi_T = 0.15,
        c_T = 0.9, where BOIN would eliminate it); the de-escalation count is capped by
        this elimination count, as both do.  A count no trial reaches means "none"."""
        b = self._counts.get(n)
        if b is None:
            esc, deesc, elim, _ = self._boin._bounds(n)
            if elim <= n and elim < 3:
                elim = 3  # the posterior rises with the count, so 3 DLTs exceed c_T too
                deesc = min(int(_deescalation_counts(self.lambda_d, [n])[0]), elim)
            b = self._counts[n] = (esc, deesc, elim)
        return b

    def _futile(self, n: int, e: int) -> bool:
        key = (n, e)
        v = self._fut.get(key)
        if v is None:
            from dosefind._beta import beta_cdf

            v = self._fut[key] = bool(n >= 3 and beta_cdf(e + 1.0, n - e + 1.0, self.phi_e) > self.c_e)
        return v

    def _desirability(self, n: int, tox: int, eff: int, both: int) -> float:
        x = _quasi_count(self.utility, n, tox, eff, both)
        key = (x, n)
        v = self._des.get(key)
        if v is None:
            v = self._des[key] = desirability(x, n, self.u_b)
        return v

    def _eliminated(self, n, y, e):
        """(lowest dose eliminated for toxicity or num_doses, futile flags per dose): BOIN's
        elimination count and :meth:`_futile`, cached per dose's (n, y, e)."""
        flags = self._flags
        tox_from, futile = self.num_doses, []
        for j, key in enumerate(zip(n, y, e)):
            f = flags.get(key)
            if f is None:
                a, b, c = (int(v) for v in key)
                f = flags[key] = (a >= 3 and b >= self._bounds(a)[2], self._futile(a, c))
            if f[0] and j < tox_from:
                tox_from = j
            futile.append(f[1])
        return tox_from, futile

    # ------------------------------------------------------------------ decisions
    def decide(self, state: TrialState) -> Decision:
        self._check_state(state)
        pending_eff = sum(state.eff_pending_at_dose) if state.patients else 0
        if pending_eff and not (self.max_n is not None and state.total_n >= self.max_n):
            return Decision.pause(f"wait for the efficacy assessment of {pending_eff} pending patient(s)",
                                  R.WAIT_FOLLOWUP)
        return super().decide(state)

    def _decide(self, state: TrialState) -> Decision:
        return self.decide_counts(state.n_at_dose, state.tox_at_dose, state.eff_at_dose, state.current_index,
                                  self._both_at_dose(state))

    def decide_counts(self, n, tox, eff, current_index: int, both=None) -> Decision:
        """The BOIN12 rule on per-dose counts (0-based ``current_index``; ``both``: patients
        with a response and a DLT, needed only for a non-additive utility).  :meth:`decide`
        calls it; the steps themselves are :meth:`_rule`, shared with TITE-BOIN12."""
        both = (0,) * self.num_doses if both is None else both
        return self._decide_pieces(n, tox, self._pieces(n, tox, eff, both), current_index)

    def _pieces(self, n, tox, eff, both) -> tuple[int, list, list, list]:
        """(lowest dose eliminated for toxicity or num_doses, futile flag, desirability,
        posterior mean utility (None if untried) per dose), each dose's entry cached by its
        (n, y, e, both)."""
        info, tox_from, futile, scores, utils = self._info, self.num_doses, [], [], []
        for j, key in enumerate(zip(n, tox, eff, both)):
            f = info.get(key)
            if f is None:
                a, b, c, u = (int(v) for v in key)
                first, fut = self._eliminated((a,), (b,), (c,))  # this dose alone: first is 0 if too toxic
                f = info[key] = (first == 0, fut[0], self._desirability(a, b, c, u),
                                 self._utilities((a,), (b,), (c,), (u,))[0])
            if f[0] and j < tox_from:
                tox_from = j
            futile.append(f[1])
            scores.append(f[2])
            utils.append(f[3])
        return tox_from, futile, scores, utils

    def _decide_pieces(self, n, tox, pieces, current_index: int) -> Decision:
        tox_from, futile, scores, _ = pieces
        d = int(current_index)
        nd, yd = int(n[d]), int(tox[d])
        esc, deesc, _ = self._bounds(nd)
        return self._rule(d, nd, tox_from, futile, n, yd >= deesc, yd <= esc, scores.__getitem__,
                          lambda: f"{yd}/{nd} DLTs at dose {to_level(d)}", (esc, deesc),
                          lowest=lambda: f"{tox[0]}/{n[0]} DLTs, ")

    def _rule(self, d: int, nd: int, tox_from: int, futile, n, down: bool, up_ok: bool, score, frac,
              bounds: tuple[int, int] | None = None, where: str = "", lowest=None,
              pause: Decision | None = None) -> Decision:
        """BOIN12's steps (module docstring, rules 1-4, and the elimination stops): the one
        place they are written, for :meth:`decide_counts` and TITE-BOIN12's effective data.

        ``d``: current dose (0-based) with ``nd`` patients; ``tox_from``: lowest dose
        eliminated for toxicity (num_doses: none); ``futile``: futility flag per dose;
        ``n``: patients per dose (an untried dose has 0); ``down``: the current dose's DLT
        estimate is at or above lambda_d (BOIN's de-escalation count for whole counts);
        ``up_ok``: it is at or below lambda_e; ``score(j)``: the desirability of dose j.
        Texts (``frac`` and ``lowest`` are called only when a reason needs them, so the
        common decision builds no unused string): ``frac()`` describes the DLT data at d,
        ``bounds`` the (escalation, de-escalation) counts compared (None: the estimate
        against lambda_e/lambda_d), ``where`` qualifies the data (" on the effective
        data"), ``lowest()`` opens the lowest-dose stop.  ``pause``: the decision to return instead of a treatment
        (TITE-BOIN12's accrual suspension), checked after the stops."""
        D = self.num_doses
        out = [j >= tox_from or futile[j] for j in range(D)]
        if tox_from == 0:
            return Decision.halt(f"stop: the lowest dose is too toxic ({lowest() if lowest else ""}Pr(DLT rate > {self.phi_t:g}) > "
                                 f"{self.c_t:g}{where}); no dose is selected", R.LOWEST_TOO_TOXIC)
        if all(out):
            toxic = f"doses {to_level(tox_from)}+ too toxic, " if tox_from < D else ""
            return Decision.halt(f"stop: every dose is eliminated ({toxic}"
                                 f"{_levels([j for j in range(D) if futile[j]])} futile: Pr(response rate < "
                                 f"{self.phi_e:g}) > {self.c_e:g}{where}); no dose is selected", R.FUTILITY)
        lvl = to_level(d)
        if self.n_earlystop is not None and nd >= self.n_earlystop:
            return Decision.halt(f"stop: dose {lvl} has {nd} patients (n_earlystop={self.n_earlystop}); select the "
                                 f"OBD", R.N_AT_DOSE)
        if pause is not None:
            return pause
        below = above = None
        for j in range(d - 1, -1, -1):
            if not out[j]:
                below = j
                break
        for j in range(d + 1, D):
            if not out[j]:
                above = j
                break
        if down:
            ge, boundary = ((f" >= {bounds[1]}", f" (de-escalation boundary at n={nd})") if bounds is not None
                            else ("", " at or above the de-escalation boundary"))
            if d > 0 and below is not None:
                nxt, why = below, f"de-escalate: {frac()}{ge}{boundary}"
            elif out[d]:
                return Decision.halt(f"stop: {frac()}{ge} calls for a lower dose but none is left and dose {lvl} is "
                                     f"futile; no dose is selected", R.FUTILITY)
            else:
                nxt, why = d, f"stay: {frac()}{ge}{boundary} but no lower dose is left"
        else:
            cands = [j for j in (below, d) if j is not None and not out[j]]
            if above is not None and (nd < self.n1 or up_ok):
                cands.append(above)
            if not cands:
                return Decision.halt(f"stop: no admissible dose next to dose {lvl} (futile or too toxic); no dose is "
                                     f"selected", R.FUTILITY)
            # cands ascend; the highest score wins, the higher dose in a tie
            scores = [score(j) for j in cands]
            nxt, best = cands[0], scores[0]
            for j, s in zip(cands[1:], scores[1:]):
                if s >= best:
                    nxt, best = j, s
            pretty = ", ".join([f"dose {to_level(j)} {s:.3f}" for j, s in zip(cands, scores)])
            why = f"highest desirability Pr(utility > {self.u_b:g}){where} among {pretty}"
            if above is not None and above not in cands:
                gt = f" > {bounds[0]}" if bounds is not None else " above the escalation boundary"
                why += f" (no escalation: {frac()}{gt} with n >= n1={self.n1})"
        if self.n2 is not None and above is not None and nd >= self.n2 and n[above] == 0 and not down \
                and nxt != above:
            nxt = above
            lt = f" < {bounds[1]}" if bounds is not None else " below the de-escalation boundary"
            why = (f"explore: dose {lvl} has {nd} >= n2={self.n2} patients and {frac()}{lt}, so untried dose "
                   f"{to_level(above)} is treated")
        code = R.ESCALATE if nxt > d else (R.DE_ESCALATE if nxt < d else R.STAY)
        return Decision(nxt, False, why, code)

    # ------------------------------------------------------------------ selection
    def _tox_fit(self, n, y) -> tuple[list, tuple, int]:
        """(isotonic DLT estimates over all doses with the 0.001 j tie-break, the same
        without it rounded to 10 digits (None at untried doses), the MTD index), cached per
        (n, y).  Untried doses enter at phi_t; the weights are BOIN's inverse variances
        (module docstring).  Plain floats: for five doses a Python loop beats numpy's
        per-call cost, and the IEEE operations are the same ones, in the same order."""
        key = (tuple(n), tuple(y))
        v = self._iso.get(key)
        if v is None:
            phi = self.phi_t
            raw, w = [], []
            for k, t in zip(n, y):
                k, t = float(k), float(t)
                raw.append(t / k if k > 0 else phi)
                a = k + 0.1
                w.append(1.0 / ((t + 0.05) * (k - t + 0.05) / (a * a * (k + 1.1))))
            iso = [f + 0.001 * j for j, f in enumerate(pava(raw, w).tolist(), 1)]
            est = tuple(None if k == 0 else round(f - 0.001 * j, 10) for j, (k, f) in enumerate(zip(n, iso), 1))
            mtd = min(range(len(iso)), key=lambda j: abs(iso[j] - phi))  # the first in a tie, as argmin
            if len(self._iso) > 200_000:
                self._iso.clear()
            v = self._iso[key] = (iso, est, mtd)
        return v

    def _tox_isotonic(self, n, y) -> np.ndarray:
        """Isotonic DLT estimates over all doses (untried at phi_t), with the 0.001 j tie-break."""
        return np.array(self._tox_fit(n, y)[0])

    def _mtd_index(self, n, y) -> int:
        return self._tox_fit(n, y)[2]

    def tox_estimates(self, state: TrialState) -> tuple[float | None, ...]:
        """The isotonic DLT estimates :meth:`select_obd` uses (without the 0.001 j
        tie-break), None at untried doses."""
        self._check_state(state)
        return self._tox_fit(state.n_at_dose, state.tox_at_dose)[1]

    def select_mtd(self, state: TrialState) -> MTDSelection:
        """The MTD that caps :meth:`select_obd`: the dose whose isotonic DLT estimate is
        closest to phi_t (may be an untried dose, whose estimate is phi_t, when every
        tried dose is further away); none if the lowest dose is too toxic."""
        self._check_state(state)
        est = self.tox_estimates(state)
        if self._eliminated(state.n_at_dose, state.tox_at_dose, state.eff_at_dose)[0] == 0:
            return MTDSelection(None, est, "no MTD: the lowest dose is too toxic")
        m = self._mtd_index(state.n_at_dose, state.tox_at_dose)
        return MTDSelection(m, est, f"MTD is dose {to_level(m)}: isotonic DLT estimate closest to {self.phi_t:g}")

    def utility_estimates(self, state: TrialState) -> tuple[float | None, ...]:
        """Posterior mean utility 100 (x + 1)/(n + 2) per tried dose (None if untried)."""
        self._check_state(state)
        return self._utilities(state.n_at_dose, state.tox_at_dose, state.eff_at_dose, self._both_at_dose(state))

    def _utilities(self, n, y, e, both) -> tuple[float | None, ...]:
        u = self.utility
        return tuple(None if k == 0 else 100 * (_quasi_count(u, k, t, r, b) + 1) / (k + 2)
                     for k, t, r, b in zip(n, y, e, both))

    def select_obd(self, state: TrialState) -> OBDSelection:
        """OBD: highest posterior mean utility among tried, non-eliminated doses at or
        below the isotonic MTD (module docstring)."""
        self._check_state(state)
        n, y, e = state.n_at_dose, state.tox_at_dose, state.eff_at_dose
        D = self.num_doses
        both = self._both_at_dose(state)
        pieces = self._pieces(n, y, e, both)
        tox_from, futile, scores, util_list = pieces
        util = tuple(util_list)
        eliminated = [j for j in range(D) if j >= tox_from or futile[j]]
        _, est, mtd = self._tox_fit(n, y)
        details = {"tox_estimates": list(est),
                   "eff_estimates": [None if k == 0 else r / k for k, r in zip(n, e)],
                   "desirability": [v if k else None for k, v in zip(n, scores)],
                   "eliminated": [to_level(j) for j in eliminated], "u_b": self.u_b}
        if tox_from == 0:
            return OBDSelection(None, util, "no OBD: the lowest dose is too toxic", None, details)
        if len(eliminated) == D:
            return OBDSelection(None, util, "no OBD: every dose is eliminated (too toxic or futile)", None, details)
        if state.current_index is not None:
            # The authors' loop applies the rule after every cohort, the last one included,
            # and a toxicity or futility stop there means no selection.
            rule = self._decide_pieces(n, y, pieces, state.current_index)
            if rule.stop and rule.code in (R.FUTILITY, R.LOWEST_TOO_TOXIC):
                return OBDSelection(None, util, f"no OBD: the rule stops the trial ({rule.reason})", None, details)
        ok = [j for j in range(mtd + 1) if n[j] > 0 and j not in eliminated]
        if not ok:
            return OBDSelection(None, util, f"no OBD: no dose at or below the MTD (dose {to_level(mtd)}) was tried "
                                            f"and kept", mtd, details)
        # first maximum: the lower dose in a tie; rounded so that equal utilities reached by
        # different arithmetic (100 x 11.2 / 14 and 100 x 8.8 / 11) tie
        obd = max(ok, key=lambda j: (round(util[j], 9), -j))
        why = (f"OBD is dose {to_level(obd)}: posterior mean utility {util[obd]:.1f} is the highest among doses "
               f"{_levels(ok)} (tried, not eliminated, at or below the MTD, dose {to_level(mtd)})")
        return OBDSelection(obd, util, why, mtd, details)

    # ------------------------------------------------------------------ reporting
    def params(self) -> dict:
        return {"phi_t": self.phi_t, "phi_e": self.phi_e, "num_doses": self.num_doses,
                "cohort_size": self.cohort_size, "max_n": self.max_n, "utility": dict(self.utility),
                "n1": self.n1, "n2": self.n2, "c_t": self.c_t, "c_e": self.c_e, "p_saf": self._boin.p_saf,
                "p_tox": self._boin.p_tox, "n_earlystop": self.n_earlystop, "start_dose": self.start_dose}

    def describe(self) -> str:
        u = self.utility
        text = (
            f"Dose finding follows the BOIN12 phase I/II design (Lin et al., 2020) with {self.num_doses} dose levels, "
            f"cohorts of {self.cohort_size} and at most {self.max_n} patients, starting at dose {self.start_dose}. "
            f"Each patient's outcome is scored by a utility: response without DLT {u['eff_no_tox']:g}, response with "
            f"DLT {u['eff_tox']:g}, neither {u['no_eff_no_tox']:g}, DLT without response {u['no_eff_tox']:g}. "
            f"Toxicity is controlled by the BOIN boundaries for a DLT rate of {self.phi_t:g} (lambda_e = "
            f"{self.lambda_e:.4f}, lambda_d = {self.lambda_d:.4f}): if the observed DLT rate at the current dose is "
            f"at or above lambda_d the next cohort is treated at the next lower dose; otherwise it goes to the dose, "
            f"among the current dose and its neighbours, with the highest posterior probability that its utility "
            f"exceeds the benchmark {self.u_b:g} (half way from the utility {self.u_bar:g} of a dose with DLT rate "
            f"{self.phi_t:g} and response rate {self.phi_e:g} to 100). Once the current dose has {self.n1} patients, "
            f"escalation is allowed only if the observed DLT rate is at or below lambda_e.")
        if self.n2 is not None:
            text += (f" When the current dose has {self.n2} or more patients and a DLT rate below lambda_d, the next "
                     f"higher dose is tried if it has not been.")
        text += (f" With Beta(1, 1) priors and at least 3 patients, a dose with Pr(DLT rate > {self.phi_t:g}) > "
                 f"{self.c_t:g} is eliminated with all higher doses, and a dose with Pr(response rate < "
                 f"{self.phi_e:g}) > {self.c_e:g} is eliminated as futile; the trial stops when the lowest dose is too "
                 f"toxic or every dose is eliminated.")
        if self.n_earlystop is not None:
            text += f" The trial stops when the current dose has {self.n_earlystop} patients."
        text += (" At the end, the MTD is the dose whose isotonic DLT estimate is closest to the target, and the "
                 "optimal biological dose is the tried, non-eliminated dose at or below it with the highest "
                 "posterior mean utility.")
        return text


def _levels(idx) -> str:
    return ", ".join(str(to_level(j)) for j in idx) or "none"
