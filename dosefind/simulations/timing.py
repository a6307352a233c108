"""The patient model of a trial in calendar time: arrivals, time to DLT, manufacturing and
graded toxicity components.

Every quantity is drawn from a latent uniform that belongs to one patient (see
:mod:`~dosefind.simulations.calendar` for the streams), by an inverse distribution
function, so that two designs run with one seed see the same patients.  Days are the
unit of time throughout.

* :class:`Accrual` -- patients arrive one at a time: ``Accrual.poisson(rate)`` (gaps
  exponential with mean ``1 / rate`` days; ``rate`` in patients per day, e.g. ``2 / 30``
  for two a month) or ``Accrual.fixed(spacing)``; optional ``cap`` on the number of
  patients who ever arrive.  The first patient arrives on day 0 (TITEgBOIN's convention).
* :class:`ToxicityTiming` -- when a DLT happens within the assessment window ``W``, given
  that it happens: ``uniform()`` (dfcrm ``titesim``'s ``surv="uniform"``),
  ``weibull_late(share)`` (Yuan et al. 2018's Weibull: P(DLT by W) = p at the dose, and
  ``share`` of the DLTs in the last half of the window) or ``late_share(share)`` (uniform
  within each half, ``share`` of the DLTs in the second half).
* :class:`EfficacyTiming` -- when a response is seen within the efficacy window, given a
  response: the same shapes as :class:`ToxicityTiming` (uniform by default, as the
  TITE-BOIN12 simulations of Zhou et al. 2022), drawn from the patient's own stream.
* :class:`Manufacturing` -- vein-to-vein time (fixed, or any distribution with a
  ``ppf``), failure probability, replacement of failed patients, and the doses a
  product can reach (the patient counts at the dose infused).
* :class:`ToxicityComponents` -- per-dose probabilities of CRS grade >= 3, ICANS grade >= 3
  and other DLT, optionally correlated through a Gaussian copula; the DLT is any of them.

>>> ToxicityTiming.weibull_late(0.5).times([0.5], [0.3], window=28).round(9).tolist()  # median: mid-window
[14.0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dosefind import _validate as V

__all__ = ["Accrual", "EfficacyTiming", "Manufacturing", "ToxicityComponents", "ToxicityTiming", "check_eff_window"]


def _share(value, name: str, *, allow_zero: bool = True) -> float:
    v = V._num(value, name)
    if not (0 <= v < 1) or (v == 0 and not allow_zero):
        rng = "[0, 1)" if allow_zero else "(0, 1)"
        raise ValueError(f"{name} must be in {rng}, got {value}")
    return v


def check_eff_window(window) -> float:
    """The efficacy assessment window in days (> 0)."""
    v = V._num(window, "eff_window")
    if not (v > 0 and math.isfinite(v)):
        raise ValueError(f"eff_window must be a positive number of days, got {window}")
    return v


def check_window(window) -> float:
    """The DLT assessment window in days (> 0)."""
    v = V._num(window, "dlt_window")
    if not (v > 0 and math.isfinite(v)):
        raise ValueError(f"dlt_window must be a positive number of days, got {window}")
    return v


# ---------------------------------------------------------------------------- accrual
@dataclass(frozen=True)
class Accrual:
    """Patient arrivals.  Build with :meth:`poisson`, :meth:`fixed` or :meth:`uniform`.

    ``cap`` is the number of patients who ever arrive (turned away included); once they
    are used up the trial stops enrolling (stop code ``accrual_cap``).  None: unlimited.
    """

    kind: str
    rate: float
    cap: int | None = None
    spacing: float | None = None  # fixed accrual: the days between patients, exactly as given

    def __post_init__(self):
        if self.kind not in ("poisson", "fixed", "uniform"):
            raise ValueError(f"accrual must be 'poisson', 'fixed' or 'uniform', got {self.kind!r}")
        V.positive(self.rate, "accrual rate")
        if self.kind == "fixed" and self.spacing is None:
            object.__setattr__(self, "spacing", 1.0 / self.rate)
        if self.cap is not None:
            object.__setattr__(self, "cap", V.integer(self.cap, "accrual cap", minimum=1))

    @classmethod
    def poisson(cls, rate: float, cap: int | None = None) -> "Accrual":
        """Poisson arrivals at ``rate`` patients per day (exponential gaps, mean 1/rate)."""
        return cls("poisson", V.positive(rate, "accrual rate (patients per day)"), cap)

    @classmethod
    def fixed(cls, spacing: float, cap: int | None = None) -> "Accrual":
        """One patient every ``spacing`` days."""
        spacing = V.positive(spacing, "accrual spacing (days between patients)")
        return cls("fixed", 1.0 / spacing, cap, spacing)

    @classmethod
    def uniform(cls, rate: float, cap: int | None = None) -> "Accrual":
        """Gaps between arrivals uniform on (0, 2/rate) (mean 1/rate): the accrual of the
        BF-BOIN Shiny app and bfboin's default ``accrual = "uniform"``."""
        return cls("uniform", V.positive(rate, "accrual rate (patients per day)"), cap)

    @property
    def mean_gap(self) -> float:
        return self.spacing if self.kind == "fixed" else 1.0 / self.rate

    def gaps(self, u: np.ndarray) -> np.ndarray:
        """Days between consecutive arrivals from uniforms ``u``."""
        if self.kind == "fixed":
            return np.full(np.shape(u), self.spacing)
        if self.kind == "uniform":
            return np.asarray(u) * (2.0 / self.rate)
        return -np.log1p(-np.asarray(u)) / self.rate

    def to_dict(self) -> dict:
        out = {"accrual": self.kind, "rate_per_day": self.rate, "mean_gap_days": self.mean_gap}
        if self.cap is not None:
            out["cap"] = self.cap
        return out


# ---------------------------------------------------------------------------- time to DLT
@dataclass(frozen=True)
class ToxicityTiming:
    """Distribution of the time to DLT within the window, given a DLT.

    ``uniform()``: uniform on (0, W] (dfcrm ``titesim``).  ``weibull_late(share,
    late_fraction=0.5)``: the Weibull of Yuan, Lin, Li, Nie & Warren (2018, Clin Cancer
    Res 24:4921) and of TITEgBOIN's ``gen.tite``: at a dose with DLT probability ``p``,
    P(T <= W) = p and P(T <= (1 - late_fraction) W) = (1 - share) p, so ``share`` of the
    DLTs happen in the last ``late_fraction`` of the window; shape
    ``a = log(log(1-p) / log(1-(1-share)p)) / log(1/(1-late_fraction))`` and, given a DLT,
    ``T = W (log(1 - v p) / log(1 - p))^(1/a)`` for a uniform ``v``.  ``late_share(share)``:
    ``share`` of the DLTs uniform on the second half of the window, the rest on the first.
    """

    kind: str = "uniform"
    share: float = 0.5
    late_fraction: float = 0.5

    def __post_init__(self):
        if self.kind not in ("uniform", "weibull", "late_share"):
            raise ValueError(f"timing must be 'uniform', 'weibull' or 'late_share', got {self.kind!r}")
        _share(self.share, "late-onset share", allow_zero=self.kind != "weibull")
        _share(self.late_fraction, "late_fraction", allow_zero=False)

    @classmethod
    def uniform(cls) -> "ToxicityTiming":
        return cls("uniform")

    @classmethod
    def weibull_late(cls, share: float = 0.5, late_fraction: float = 0.5) -> "ToxicityTiming":
        return cls("weibull", _share(share, "late-onset share", allow_zero=False),
                   _share(late_fraction, "late_fraction", allow_zero=False))

    @classmethod
    def late_share(cls, share: float) -> "ToxicityTiming":
        return cls("late_share", _share(share, "late-onset share"))

    def times(self, v, p, window: float) -> np.ndarray:
        """Day of the DLT after infusion, given a DLT, from uniforms ``v`` at doses whose
        DLT probability is ``p`` (arrays of one shape)."""
        v = np.asarray(v, dtype=float)
        W = float(window)
        if self.kind == "uniform":
            return v * W
        if self.kind == "late_share":
            s = self.share
            first = v < 1 - s
            with np.errstate(divide="ignore", invalid="ignore"):
                early = v / (1 - s) * (W / 2)
                late = W / 2 + (v - (1 - s)) / s * (W / 2) if s > 0 else np.zeros_like(v)
            return np.where(first, early, late)
        p = np.clip(np.asarray(p, dtype=float), 1e-12, 1 - 1e-12)
        shape = np.log(np.log1p(-p) / np.log1p(-(1 - self.share) * p)) / math.log(1 / (1 - self.late_fraction))
        return W * (np.log1p(-v * p) / np.log1p(-p)) ** (1 / shape)

    def to_dict(self) -> dict:
        out = {"timing": self.kind}
        if self.kind != "uniform":
            out["late_onset_share"] = self.share
        if self.kind == "weibull":
            out["late_fraction"] = self.late_fraction
        return out


@dataclass(frozen=True)
class EfficacyTiming(ToxicityTiming):
    """Distribution of the time to response within the efficacy window, given a response:
    the shapes of :class:`ToxicityTiming` (``uniform()`` default; ``weibull_late`` uses the
    dose's response probability as ``p``).

    >>> EfficacyTiming.uniform().times([0.25], [0.6], window=56).tolist()
    [14.0]
    """

    def to_dict(self) -> dict:
        return {"eff_" + k: v for k, v in super().to_dict().items()}


# ---------------------------------------------------------------------------- manufacturing
class Manufacturing:
    """Making the product: failure, vein-to-vein time, replacement, reachable doses.

    Parameters
    ----------
    failure : float in [0, 1)
        Probability that a patient's product fails (the patient is enrolled, never
        infused).  The failure becomes known at the planned infusion day.
    vein_to_vein : float or distribution, default 0
        Days from enrolment (apheresis) to infusion: a number, or a frozen
        ``scipy.stats`` distribution (anything with ``ppf``) drawn by inverse transform.
    replace : bool, default True
        True: a failed patient does not count towards ``max_n`` and the cohort stays open
        until it has its patients (the next arrival after the failure is known replaces
        them).  False: the failed patient still takes one of the ``max_n`` places.
    feasibility : sequence of float, optional
        ``feasibility[d]`` = probability that a product can reach dose level ``d + 1``
        (non-increasing).  A patient is infused at the highest reachable dose not above
        the assigned one and counts at the dose infused; when not even the first dose is
        reachable the product has failed.
    """

    def __init__(self, failure: float = 0.0, vein_to_vein=0.0, replace: bool = True, feasibility=None):
        f = V._num(failure, "manufacturing failure")
        if not 0 <= f < 1:
            raise ValueError(f"manufacturing failure must be a probability in [0, 1), got {failure}")
        self.failure = f
        if hasattr(vein_to_vein, "ppf"):
            q = np.asarray(vein_to_vein.ppf([1e-9, 0.5, 1 - 1e-9]), dtype=float)
            if not (np.all(np.isfinite(q)) and np.all(q >= 0)):
                raise ValueError("vein_to_vein distribution must give finite times >= 0 days "
                                 f"(quantiles 1e-9, 0.5, 1-1e-9: {q.tolist()})")
            self.vein_to_vein = vein_to_vein
        else:
            self.vein_to_vein = V.nonnegative(vein_to_vein, "vein_to_vein (days)")
        self.replace = V.boolean(replace, "replace")
        if feasibility is not None:
            feas = V.probability_vector(list(feasibility), "feasibility", open_interval=False)
            if any(b > a for a, b in zip(feas, feas[1:])):
                raise ValueError(f"feasibility must be non-increasing with dose, got {list(feas)}")
            feasibility = np.asarray(feas)
        self.feasibility = feasibility

    @property
    def fixed_time(self) -> bool:
        return not hasattr(self.vein_to_vein, "ppf")

    def times(self, u) -> np.ndarray:
        """Vein-to-vein days from uniforms ``u``."""
        if self.fixed_time:
            return np.full(np.shape(u), float(self.vein_to_vein))
        return np.asarray(self.vein_to_vein.ppf(u), dtype=float)

    def reachable(self, u) -> np.ndarray:
        """Highest reachable 0-based dose for feasibility uniforms ``u`` (-1: none)."""
        if self.feasibility is None:
            return np.full(np.shape(u), np.iinfo(np.int64).max // 2, dtype=np.int64)
        return (np.asarray(u)[..., None] < self.feasibility).sum(axis=-1) - 1

    def check_design(self, num_doses: int) -> None:
        if self.feasibility is not None and len(self.feasibility) != num_doses:
            raise ValueError(f"feasibility must have {num_doses} values (one per dose), got {len(self.feasibility)}")

    @property
    def trivial(self) -> bool:
        return self.failure == 0 and self.fixed_time and self.vein_to_vein == 0 and self.feasibility is None

    def to_dict(self) -> dict:
        if self.fixed_time:
            v = self.vein_to_vein
        else:
            dist = self.vein_to_vein
            v = {"distribution": getattr(getattr(dist, "dist", None), "name", type(dist).__name__),
                 "args": [float(a) for a in getattr(dist, "args", ())],
                 "kwds": {k: float(x) for k, x in getattr(dist, "kwds", {}).items()},
                 "median": float(dist.ppf(0.5))}
        out = {"failure": self.failure, "vein_to_vein": v, "replace": self.replace}
        if self.feasibility is not None:
            out["feasibility"] = self.feasibility.tolist()
        return out

    def __repr__(self) -> str:
        return (f"Manufacturing(failure={self.failure}, vein_to_vein={self.vein_to_vein!r}, replace={self.replace}"
                + ("" if self.feasibility is None else f", feasibility={self.feasibility.tolist()}") + ")")


# ---------------------------------------------------------------------------- toxicity components
COMPONENTS = ("crs", "icans", "other")


class ToxicityComponents:
    """Graded toxicities the way CAR-T reports write them: per-dose probabilities of CRS
    grade >= 3, ICANS grade >= 3 and other DLT; a patient has a DLT when any occurs.

    Each component ``c`` of a patient is ``u_c < p_c[d]`` for the patient's own uniform
    ``u_c`` (monotone in dose).  With ``correlation = r`` the three uniforms are coupled
    by a Gaussian copula with equal pairwise correlation ``r`` (``z = L Phi^-1(u)``, ``L``
    the Cholesky factor; the first component keeps its uniform).  ``prob_any`` is the
    per-dose DLT probability, ``1 - Phi_3(Phi^-1(1 - p); R)``: the true P(DLT) that
    defines the MTD.  ``correlation`` must lie in (-1, 1) and keep R positive definite
    (r > -1/2 for three components).

    >>> tc = ToxicityComponents(crs=[0.05, 0.10], icans=[0.02, 0.05], other=[0.0, 0.05])
    >>> [round(p, 4) for p in tc.prob_any]
    [0.069, 0.1878]
    """

    def __init__(self, crs, icans, other=None, correlation: float = 0.0, name: str = "components"):
        crs = V.probability_vector(list(crs), "crs", open_interval=False)
        icans = V.probability_vector(list(icans), "icans", length=len(crs), open_interval=False)
        other = ((0.0,) * len(crs) if other is None
                 else V.probability_vector(list(other), "other", length=len(crs), open_interval=False))
        self.probs = np.array([crs, icans, other], dtype=float)  # (3, D)
        r = V._num(correlation, "correlation")
        if not -1 < r < 1:
            raise ValueError(f"correlation must be between -1 and 1 (exclusive), got {correlation}")
        if r <= -0.5:
            raise ValueError(f"correlation must be > -0.5 for three components (a valid correlation matrix), got {r}")
        self.correlation = r
        self.name = str(name)
        self.prob_any = tuple(float(v) for v in self._prob_any())

    @property
    def num_doses(self) -> int:
        return self.probs.shape[1]

    def _prob_any(self) -> np.ndarray:
        p = self.probs
        if self.correlation == 0:
            return 1 - np.prod(1 - p, axis=0)
        from scipy.special import ndtr, ndtri

        a = ndtri(1 - p)  # no component <=> z_c < a_c for all c (+inf where p_c = 0)
        r = self.correlation
        if r > 0:
            # Equicorrelated normal orthant: integrate over the common factor (exact up to
            # Gauss-Hermite quadrature error, < 1e-12 here).
            s, w = np.polynomial.hermite_e.hermegauss(96)
            w = w / w.sum()
            inner = ndtr((a[:, :, None] - math.sqrt(r) * s) / math.sqrt(1 - r))  # (3, D, Q)
            none = (np.prod(inner, axis=0) * w).sum(axis=-1)
        else:
            from scipy.stats import multivariate_normal

            cov = np.full((3, 3), r) + (1 - r) * np.eye(3)
            mvn = multivariate_normal(np.zeros(3), cov, seed=12345)
            none = np.array([mvn.cdf(np.clip(a[:, d], -40, 40)) for d in range(a.shape[1])])
        return np.clip(1 - none, 0.0, 1.0)

    def couple(self, u: np.ndarray) -> np.ndarray:
        """Copula-coupled uniforms from independent ones, ``u`` of shape (3, ...)."""
        if self.correlation == 0:
            return u
        from scipy.special import ndtr, ndtri

        r = self.correlation
        L = np.linalg.cholesky(np.full((3, 3), r) + (1 - r) * np.eye(3))
        z = ndtri(np.clip(u, 1e-300, 1 - 1e-16))
        out = ndtr(np.tensordot(L, z, axes=1))
        out[0] = u[0]  # L[0] = (1, 0, 0): keep the first uniform bit for bit
        return out

    def to_dict(self) -> dict:
        out = {c: self.probs[i].tolist() for i, c in enumerate(COMPONENTS)}
        out["correlation"] = self.correlation
        out["prob_any"] = list(self.prob_any)
        return out

    def __repr__(self) -> str:
        return (f"ToxicityComponents(crs={self.probs[0].tolist()}, icans={self.probs[1].tolist()}, "
                f"other={self.probs[2].tolist()}, correlation={self.correlation})")


# ---------------------------------------------------------------------------- settings
#: Keys of a calendar settings table (a study file's [trial] table, the CLI's options).
SETTINGS = ("dlt_window", "accrual", "patients_per_month", "accrual_cap", "timing", "late_onset",
            "manufacturing_failure", "vein_to_vein", "replace", "crs", "icans", "other", "correlation")

#: ``patients_per_month`` is per this many days.
DAYS_PER_MONTH = 30.0


def calendar_settings(table: dict, names: dict | None = None) -> dict:
    """Keyword arguments of :func:`~dosefind.simulations.simulate` from flat settings
    (``SETTINGS``; None values are ignored).  ``names`` maps a key to the name the user
    wrote (a CLI flag), for messages.  ``toxicity`` in the result holds a
    :class:`ToxicityComponents` when ``crs``/``icans`` were given.

    >>> kw = calendar_settings({"dlt_window": 28, "patients_per_month": 2, "late_onset": 0.5})
    >>> kw["accrual"].mean_gap, kw["timing"].kind
    (15.0, 'weibull')
    """
    names = names or {}
    n = lambda k: names.get(k, k)  # noqa: E731
    unknown = [k for k in table if k not in SETTINGS]
    if unknown:
        raise ValueError(f"unknown calendar setting(s): {', '.join(sorted(unknown))} "
                         f"(allowed: {', '.join(SETTINGS)})")
    v = {k: table.get(k) for k in SETTINGS}
    out: dict = {}
    if v["dlt_window"] is not None:
        out["dlt_window"] = check_window(v["dlt_window"])
    rate = v["patients_per_month"]
    if rate is None:
        for k in ("accrual", "accrual_cap"):
            if v[k] is not None:
                raise ValueError(f"{n(k)} needs {n('patients_per_month')} (patients per 30 days)")
    else:
        r = V._num(rate, n("patients_per_month"))
        if not (r > 0 and math.isfinite(r)):
            raise ValueError(f"{n('patients_per_month')} must be a positive number of patients per 30 days, got {rate}")
        kind = v["accrual"] or "poisson"
        if kind not in ("poisson", "fixed"):
            raise ValueError(f"{n('accrual')} must be 'poisson' or 'fixed', got {kind!r}")
        out["accrual"] = (Accrual.poisson(r / DAYS_PER_MONTH, cap=v["accrual_cap"]) if kind == "poisson"
                          else Accrual.fixed(DAYS_PER_MONTH / r, cap=v["accrual_cap"]))
    timing = v["timing"] or ("weibull" if v["late_onset"] is not None else None)
    if timing == "uniform":
        if v["late_onset"] is not None:
            raise ValueError(f"{n('late_onset')} does not apply to uniform timing")
        out["timing"] = ToxicityTiming.uniform()
    elif timing == "weibull":
        out["timing"] = ToxicityTiming.weibull_late(0.5 if v["late_onset"] is None else v["late_onset"])
    elif timing in ("late-share", "late_share"):
        if v["late_onset"] is None:
            raise ValueError(f"late-share timing needs {n('late_onset')} (the share of DLTs in the second half)")
        out["timing"] = ToxicityTiming.late_share(v["late_onset"])
    elif timing is not None:
        raise ValueError(f"{n('timing')} must be 'uniform', 'weibull' or 'late-share', got {timing!r}")
    if any(v[k] is not None for k in ("manufacturing_failure", "vein_to_vein", "replace")):
        out["manufacturing"] = Manufacturing(
            failure=0.0 if v["manufacturing_failure"] is None else v["manufacturing_failure"],
            vein_to_vein=0.0 if v["vein_to_vein"] is None else v["vein_to_vein"],
            replace=True if v["replace"] is None else v["replace"])
    if any(v[k] is not None for k in ("crs", "icans", "other", "correlation")):
        if v["crs"] is None or v["icans"] is None:
            raise ValueError(f"toxicity components need both {n('crs')} and {n('icans')} "
                             f"(and optionally {n('other')})")
        out["toxicity"] = ToxicityComponents(crs=v["crs"], icans=v["icans"], other=v["other"],
                                             correlation=0.0 if v["correlation"] is None else v["correlation"])
    return out
