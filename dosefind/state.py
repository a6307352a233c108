"""Trial state, dose levels and decisions.

A :class:`TrialState` is the whole history of a dose-finding trial: the cohorts in the
order they were treated, each with its dose and the DLT outcome of every patient.  It is
immutable and hashable (tuples only), so an engine can cache a design's decision per
distinct state.

Dose levels are **1-based where a person sees them** (outcome strings, CLI, reports,
JSON) and **0-based inside** (``*_index`` attributes).  The two helpers
:func:`to_level` and :func:`to_index` are the one place where we convert.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from enum import Enum
from typing import Iterable, Sequence

__all__ = [
    "Cohort",
    "Patient",
    "Decision",
    "DoseLevels",
    "MTDSelection",
    "OBDSelection",
    "ReasonCode",
    "TrialState",
    "to_index",
    "to_level",
]


def to_level(index: int | None) -> int | None:
    """0-based dose index -> 1-based dose level (None stays None)."""
    return None if index is None else int(index) + 1


def to_index(level: int | None) -> int | None:
    """1-based dose level -> 0-based dose index (None stays None)."""
    return None if level is None else int(level) - 1


def format_amount(amount: float) -> str:
    """Compact dose amount: ``5e5`` for 500000, ``2.5e6``, ``0.5``, ``10``."""
    a = float(amount)
    if a != 0 and (abs(a) >= 1e4 or abs(a) < 1e-3):
        mant, exp = f"{a:.3g}".split("e") if "e" in f"{a:.3g}" else (f"{a:.3e}".split("e"))
        mant = f"{float(mant):g}"
        return f"{mant}e{int(exp)}"
    return f"{a:g}"


def _check_num_doses(num_doses: int) -> int:
    if isinstance(num_doses, bool) or not isinstance(num_doses, (int,)) and not hasattr(num_doses, "__index__"):
        raise ValueError(f"num_doses must be a whole number >= 1, got {num_doses!r}")
    num_doses = int(num_doses)
    if num_doses < 1:
        raise ValueError(f"num_doses must be a whole number >= 1, got {num_doses}")
    return num_doses


@dataclass(frozen=True)
class DoseLevels:
    """Dose levels with optional amounts and labels.

    >>> DoseLevels.from_amounts([5e5, 1e6, 2e6], unit="cells/kg").labels
    ('5e5 cells/kg', '1e6 cells/kg', '2e6 cells/kg')
    """

    labels: tuple[str, ...]
    amounts: tuple[float, ...] | None = None
    unit: str = ""

    def __post_init__(self):
        if len(self.labels) < 1:
            raise ValueError("doses must name at least one dose level")
        if self.amounts is not None:
            if len(self.amounts) != len(self.labels):
                raise ValueError(
                    f"dose amounts ({len(self.amounts)}) and labels ({len(self.labels)}) must have the same length"
                )
            if any(not (a > 0) for a in self.amounts):
                raise ValueError(f"dose amounts must be positive, got {list(self.amounts)}")
            if any(b <= a for a, b in zip(self.amounts, self.amounts[1:])):
                raise ValueError(f"dose amounts must be strictly increasing, got {list(self.amounts)}")

    @classmethod
    def from_amounts(cls, amounts: Sequence[float], unit: str = "", labels: Sequence[str] | None = None):
        amounts = tuple(float(a) for a in amounts)
        if labels is None:
            labels = tuple(f"{format_amount(a)} {unit}".strip() for a in amounts)
        return cls(labels=tuple(labels), amounts=amounts, unit=unit)

    @classmethod
    def numbered(cls, num_doses: int):
        num_doses = _check_num_doses(num_doses)
        return cls(labels=tuple(f"Dose {i + 1}" for i in range(num_doses)))

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class Cohort:
    """One cohort: the dose index it was treated at and each patient's DLT (1) or not (0);
    ``eff`` holds each patient's response (1) or not (0) when any was recorded (phase I/II
    data), else is empty."""

    dose_index: int
    outcomes: tuple[int, ...]
    eff: tuple[int, ...] = ()

    @property
    def n(self) -> int:
        return len(self.outcomes)

    @property
    def tox(self) -> int:
        return sum(self.outcomes)

    @property
    def dose(self) -> int:
        return to_level(self.dose_index)

    @property
    def responses(self) -> int:
        return sum(self.eff)

    def to_string(self) -> str:
        eff = self.eff or (0,) * len(self.outcomes)
        return f"{self.dose}" + "".join("NTEB"[y + 2 * e] for y, e in zip(self.outcomes, eff))


_COHORT_RE = re.compile(r"^(\d+)([NTEBnteb]+)$")

#: Outcome letters (trialr / escalation, Brock et al. 2017): (DLT, response).  N and T
#: leave the response unrecorded (None), which phase I/II designs read as no response.
_LETTERS = {"N": (0, None), "T": (1, None), "E": (0, 1), "B": (1, 1)}


@dataclass(frozen=True)
class Patient:
    """One treated patient, as far as the trial knows at the state's time.

    ``dose_index`` is the 0-based dose infused (the dose the patient counts at, which may
    be lower than the dose assigned when the product reached only a lower dose).
    ``dlt`` is 1 once a DLT has been observed.  ``complete`` is True when the DLT
    assessment is finished (the window is over, or a DLT was seen); a patient with
    ``complete=False`` is *pending*.  ``followup`` is the days of DLT follow-up so far (for
    a patient with a DLT: the day of the DLT after infusion), None when the data carry no
    times; ``entry`` the calendar day of infusion, if known.  The ``eff*`` fields hold the
    response for phase I/II designs: ``eff`` is 1 once a response has been observed, 0 or
    None otherwise (None: not recorded, read as no response); ``eff_complete`` is False
    while the efficacy assessment is still running (``eff_followup`` days so far).

    >>> Patient(0, dlt=0, complete=False, followup=12.0).pending
    True
    """

    dose_index: int
    dlt: int = 0
    complete: bool = True
    followup: float | None = None
    entry: float | None = None
    eff: int | None = None
    eff_complete: bool = True
    eff_followup: float | None = None

    def __post_init__(self):
        if isinstance(self.dose_index, bool) or int(self.dose_index) != self.dose_index or self.dose_index < 0:
            raise ValueError(f"patient dose_index must be a 0-based whole number >= 0, got {self.dose_index!r}")
        if self.dlt not in (0, 1):
            raise ValueError(f"patient dlt must be 0 or 1, got {self.dlt!r}")
        if self.dlt == 1 and not self.complete:
            raise ValueError("a patient with an observed DLT has a complete DLT assessment (complete=True)")
        if self.eff not in (None, 0, 1):
            raise ValueError(f"patient eff must be 1, 0 or None, got {self.eff!r}")
        if self.eff == 1 and not self.eff_complete:
            raise ValueError("a patient with an observed response has a complete efficacy assessment "
                             "(eff_complete=True)")
        for name in ("followup", "eff_followup"):
            v = getattr(self, name)
            if v is not None and not v >= 0:
                raise ValueError(f"patient {name} must be >= 0 days (or None), got {v!r}")

    @property
    def pending(self) -> bool:
        """DLT assessment not finished yet."""
        return not self.complete

    @property
    def dose(self) -> int:
        return to_level(self.dose_index)


#: Patients of cohort-synchronous data (complete, no times) are shared, not rebuilt.
_PLAIN: dict[tuple[int, int, int | None], Patient] = {}


def _plain(dose_index: int, dlt: int, eff: int | None = None) -> Patient:
    p = _PLAIN.get((dose_index, dlt, eff))
    if p is None:
        p = _PLAIN[(dose_index, dlt, eff)] = Patient(dose_index, dlt, eff=eff)
    return p


@dataclass(frozen=True)
class TrialState:
    """Immutable history of a dose-finding trial.

    Parameters
    ----------
    num_doses : int
        Number of dose levels (>= 1).
    n_at_dose, tox_at_dose : tuple of int
        Patients treated and DLTs observed at each dose (0-based order).
    cohorts : tuple of Cohort
        Cohort history in order.  Empty when the state was built from counts only.
    current_index : int or None
        0-based dose of the most recent cohort (None before the first patient, or when
        built from counts without saying which dose is current).
    patients : tuple of Patient
        Per-patient records in enrolment order (empty when the state was built from
        counts only).  ``n_at_dose`` counts every patient treated, pending included;
        ``tox_at_dose`` counts the DLTs observed.
    time : float or None
        Calendar day at which the decision is taken (None when not known).
    eff_at_dose : tuple of int
        Responses observed at each dose (phase I/II data; all zero when none was
        recorded).  Patients whose response is unrecorded count as no response.

    Build one with :meth:`from_outcomes` (``"1NNN 2NTT"``), :meth:`from_records`
    (per-patient dose levels and DLT 0/1, optionally follow-up and completeness),
    :meth:`from_patients` or :meth:`from_counts`; grow it with :meth:`add_cohort` or
    :meth:`add_patients`, which return a new state.  Cohort-synchronous data (every
    patient complete, no times) give the same counts, cohorts and :meth:`key` whichever
    builder is used.

    >>> s = TrialState.from_outcomes("1NNN 2NTT", num_doses=5)
    >>> s.n_at_dose, s.tox_at_dose, s.current_dose
    ((3, 3, 0, 0, 0), (0, 2, 0, 0, 0), 2)

    Phase I/II outcomes use the letters E (response only), T (DLT only), B (both) and N
    (neither):

    >>> s = TrialState.from_outcomes("1NNN 2NEN 2EET", num_doses=5)
    >>> s.n_at_dose, s.tox_at_dose, s.eff_at_dose
    ((3, 6, 0, 0, 0), (0, 1, 0, 0, 0), (0, 3, 0, 0, 0))
    """

    num_doses: int
    n_at_dose: tuple[int, ...]
    tox_at_dose: tuple[int, ...]
    cohorts: tuple[Cohort, ...] = ()
    current_index: int | None = None
    patients: tuple[Patient, ...] = ()
    time: float | None = None
    eff_at_dose: tuple[int, ...] | None = None

    def __post_init__(self):
        nd = _check_num_doses(self.num_doses)
        if self.eff_at_dose is None:
            object.__setattr__(self, "eff_at_dose", (0,) * nd)
        elif len(self.eff_at_dose) != nd:
            raise ValueError(f"eff (responses per dose) must have {nd} entries (num_doses), "
                             f"got {len(self.eff_at_dose)}")
        if len(self.n_at_dose) != nd:
            raise ValueError(f"n (patients per dose) must have {nd} entries (num_doses), got {len(self.n_at_dose)}")
        if len(self.tox_at_dose) != nd:
            raise ValueError(f"dlt (DLTs per dose) must have {nd} entries (num_doses), got {len(self.tox_at_dose)}")
        for i, (n, y) in enumerate(zip(self.n_at_dose, self.tox_at_dose)):
            if n < 0:
                raise ValueError(f"n at dose {i + 1} must be >= 0, got {n}")
            if y < 0:
                raise ValueError(f"dlt at dose {i + 1} must be >= 0, got {y}")
            if y > n:
                raise ValueError(f"dlt at dose {i + 1} ({y}) cannot exceed the patients treated there ({n})")
            e = self.eff_at_dose[i]
            if not 0 <= e <= n:
                raise ValueError(f"eff (responses) at dose {i + 1} must be between 0 and the patients treated "
                                 f"there ({n}), got {e}")
        if self.current_index is not None and not 0 <= self.current_index < nd:
            raise ValueError(
                f"current dose must be a dose level between 1 and {nd}, got {to_level(self.current_index)}"
            )
        # Records are either absent or cover every patient counted (checked cheaply here;
        # from_patients checks the per-dose counts).
        if self.patients and len(self.patients) != sum(self.n_at_dose):
            raise ValueError(f"patients holds {len(self.patients)} records but the counts hold "
                             f"{sum(self.n_at_dose)} patients")

    # ------------------------------------------------------------------ builders
    @classmethod
    def empty(cls, num_doses: int) -> "TrialState":
        nd = _check_num_doses(num_doses)
        return cls(nd, (0,) * nd, (0,) * nd)

    @classmethod
    def from_counts(
        cls,
        n: Sequence[int],
        dlt: Sequence[int],
        current_dose: int | None = None,
        num_doses: int | None = None,
        *,
        eff: Sequence[int] | None = None,
    ) -> "TrialState":
        """State from per-dose counts.  ``current_dose`` is 1-based; by default the highest
        dose with patients (the usual situation in an escalation trial).  ``eff``: responses
        per dose (phase I/II designs), default none."""
        n = tuple(_whole(v, "n") for v in n)
        dlt = tuple(_whole(v, "dlt") for v in dlt)
        if eff is not None:
            eff = tuple(_whole(v, "eff") for v in eff)
            if len(eff) != len(n):
                raise ValueError(f"eff must have one entry per dose ({len(n)}), got {len(eff)}")
        if len(n) != len(dlt):
            raise ValueError(f"n and dlt must have the same length, got {len(n)} and {len(dlt)}")
        nd = len(n) if num_doses is None else _check_num_doses(num_doses)
        if len(n) != nd:
            raise ValueError(f"n and dlt must have {nd} entries (num_doses), got {len(n)}")
        if current_dose is None:
            tried = [i for i, v in enumerate(n) if v > 0]
            cur = tried[-1] if tried else None
        else:
            current_dose = _whole(current_dose, "current_dose")
            if not 1 <= current_dose <= nd:
                raise ValueError(f"current_dose must be between 1 and {nd}, got {current_dose}")
            cur = to_index(current_dose)
        return cls(nd, n, dlt, (), cur, eff_at_dose=eff)

    @classmethod
    def from_outcomes(cls, outcomes: str, num_doses: int) -> "TrialState":
        """Parse an outcome string such as ``"1NNN 2NTT"``: each space-separated group is a
        cohort, a 1-based dose level followed by one letter per patient (N = no DLT,
        T = DLT; for phase I/II data E = response without DLT, B = both)."""
        nd = _check_num_doses(num_doses)
        state = cls.empty(nd)
        text = (outcomes or "").strip()
        if not text:
            return state
        for token in text.split():
            m = _COHORT_RE.match(token)
            if not m:
                raise ValueError(
                    f"outcomes: cannot read cohort {token!r}; write a dose level then one letter per "
                    f"patient, N (no DLT) or T (DLT), and for phase I/II data E (response) or B (response "
                    f"and DLT), e.g. '1NNN 2NTT' or '1NNE 2NEB'"
                )
            level = int(m.group(1))
            if not 1 <= level <= nd:
                raise ValueError(f"outcomes: cohort {token!r} names dose {level}, but doses run from 1 to {nd}")
            pairs = [_LETTERS[c.upper()] for c in m.group(2)]
            eff = [e for _, e in pairs] if any(e for _, e in pairs) else None
            state = state.add_cohort(to_index(level), [y for y, _ in pairs], eff=eff)
        return state

    @classmethod
    def from_records(cls, doses: Iterable[int], dlts: Iterable[int], num_doses: int, *,
                     followup: Iterable[float | None] | None = None, complete: Iterable[bool] | None = None,
                     time: float | None = None, eff: Iterable[int | None] | None = None,
                     eff_complete: Iterable[bool] | None = None,
                     eff_followup: Iterable[float | None] | None = None) -> "TrialState":
        """Per-patient records in treatment order: 1-based dose level and DLT (0/1), and
        optionally each patient's days of follow-up and whether the DLT assessment is
        complete (default: all complete).  Phase I/II data add each patient's response
        ``eff`` (1, 0 or None), whether its assessment is complete and its days of efficacy
        follow-up.  Consecutive patients at the same dose form one cohort.

        >>> s = TrialState.from_records([1, 1, 2], [0, 0, 0], num_doses=3,
        ...                             followup=[28, 28, 5], complete=[True, True, False])
        >>> s.n_at_dose, s.pending_at_dose, s.n_pending
        ((2, 1, 0), (0, 1, 0), 1)
        """
        nd = _check_num_doses(num_doses)
        doses, dlts = list(doses), list(dlts)
        if len(doses) != len(dlts):
            raise ValueError(f"dose and dlt records must have the same length, got {len(doses)} and {len(dlts)}")
        fu = [None] * len(doses) if followup is None else list(followup)
        done = [True] * len(doses) if complete is None else list(complete)
        if len(fu) != len(doses):
            raise ValueError(f"followup must have one entry per record ({len(doses)}), got {len(fu)}")
        if len(done) != len(doses):
            raise ValueError(f"complete must have one entry per record ({len(doses)}), got {len(done)}")
        effs = [None] * len(doses) if eff is None else list(eff)
        e_done = [True] * len(doses) if eff_complete is None else list(eff_complete)
        e_fu = [None] * len(doses) if eff_followup is None else list(eff_followup)
        for name, v in (("eff", effs), ("eff_complete", e_done), ("eff_followup", e_fu)):
            if len(v) != len(doses):
                raise ValueError(f"{name} must have one entry per record ({len(doses)}), got {len(v)}")
        patients = []
        for k, (d, y, f, c, r, rc, rf) in enumerate(zip(doses, dlts, fu, done, effs, e_done, e_fu)):
            d = _whole(d, "dose")
            if not 1 <= d <= nd:
                raise ValueError(f"dose in record {k + 1} is {d}, but doses run from 1 to {nd}")
            y = _whole(y, "dlt")
            if y not in (0, 1):
                raise ValueError(f"dlt in record {k + 1} must be 0 or 1, got {y}")
            if not isinstance(c, (bool, int)) or c not in (0, 1):
                raise ValueError(f"complete in record {k + 1} must be True or False, got {c!r}")
            if y == 1 and not c:
                raise ValueError(f"record {k + 1} has a DLT, so its assessment is complete (complete=True)")
            if f is not None:
                try:
                    f = float(f)
                except (TypeError, ValueError):
                    raise ValueError(f"followup in record {k + 1} must be a number of days, got {f!r}") from None
                if not f >= 0:
                    raise ValueError(f"followup in record {k + 1} must be >= 0 days, got {f!r}")
            if r is not None:
                r = _whole(r, "eff")
                if r not in (0, 1):
                    raise ValueError(f"eff in record {k + 1} must be 0, 1 or None, got {r}")
            if not isinstance(rc, (bool, int)) or rc not in (0, 1):
                raise ValueError(f"eff_complete in record {k + 1} must be True or False, got {rc!r}")
            if r == 1 and not rc:
                raise ValueError(f"record {k + 1} has a response, so its efficacy assessment is complete "
                                 f"(eff_complete=True)")
            if rf is not None:
                try:
                    rf = float(rf)
                except (TypeError, ValueError):
                    raise ValueError(f"eff_followup in record {k + 1} must be a number of days, got {rf!r}") from None
            if f is None and c and rc and rf is None:
                patients.append(_plain(d - 1, y, r))
            else:
                patients.append(Patient(d - 1, y, bool(c), f, eff=r, eff_complete=bool(rc), eff_followup=rf))
        return cls.from_patients(patients, nd, time=time)

    @classmethod
    def from_patients(cls, patients: Iterable[Patient], num_doses: int, time: float | None = None) -> "TrialState":
        """State from :class:`Patient` records in enrolment order.  Consecutive patients at
        the same dose form one cohort (as in :meth:`from_records`); each cohort's outcomes
        are the DLTs observed so far (a pending patient counts as no DLT yet)."""
        return cls.empty(num_doses).add_patients(patients, time=time)

    def add_patients(self, patients: Iterable[Patient], time: float | None = None) -> "TrialState":
        """A new state with ``patients`` appended (enrolment order) and the decision time
        set to ``time``.  A first new patient at the dose of the last cohort joins that
        cohort, so ``from_patients(a + b) == from_patients(a).add_patients(b)``."""
        patients = tuple(patients)
        if self.total_n and not self.patients:
            raise ValueError("add_patients needs a state that holds per-patient records (this one was built "
                             "from counts or a partial cohort history)")
        nd = self.num_doses
        n, y, e = list(self.n_at_dose), list(self.tox_at_dose), list(self.eff_at_dose)
        cohorts = list(self.cohorts)
        for k, p in enumerate(patients):
            if not isinstance(p, Patient):
                raise TypeError(f"patients must be Patient records, got {type(p).__name__} at position {k + 1}")
            if not p.dose_index < nd:
                raise ValueError(f"patient {k + 1} was treated at dose {p.dose}, but doses run from 1 to {nd}")
            n[p.dose_index] += 1
            y[p.dose_index] += p.dlt
            r = 1 if p.eff == 1 else 0
            e[p.dose_index] += r
            if cohorts and cohorts[-1].dose_index == p.dose_index:
                last = cohorts[-1]
                eff = last.eff + (r,) if (last.eff or r) else ()
                if r and not last.eff:
                    eff = (0,) * last.n + (r,)
                cohorts[-1] = Cohort(p.dose_index, last.outcomes + (p.dlt,), eff)
            else:
                cohorts.append(Cohort(p.dose_index, (p.dlt,), (r,) if r else ()))
        cur = cohorts[-1].dose_index if cohorts else self.current_index
        t = None if time is None else float(time)
        return TrialState(nd, tuple(n), tuple(y), tuple(cohorts), cur, self.patients + patients, t, tuple(e))

    def add_cohort(self, dose_index: int, outcomes: Iterable[int], eff: Iterable[int | None] | None = None
                   ) -> "TrialState":
        """A new state with one more cohort treated at ``dose_index`` (0-based); ``eff``
        optionally gives each patient's response (1, 0 or None)."""
        outcomes = tuple(int(bool(y)) for y in outcomes)
        if not outcomes:
            raise ValueError("a cohort needs at least one patient")
        raw_eff = None if eff is None else tuple(eff)
        if raw_eff is not None and len(raw_eff) != len(outcomes):
            raise ValueError(f"eff must have one entry per patient of the cohort ({len(outcomes)}), "
                             f"got {len(raw_eff)}")
        responses = () if raw_eff is None else tuple(1 if v == 1 else 0 for v in raw_eff)
        if not any(responses):
            responses = ()
        if not 0 <= dose_index < self.num_doses:
            raise ValueError(f"dose must be between 1 and {self.num_doses}, got {to_level(dose_index)}")
        n = list(self.n_at_dose)
        y = list(self.tox_at_dose)
        n[dose_index] += len(outcomes)
        y[dose_index] += sum(outcomes)
        e = list(self.eff_at_dose)
        e[dose_index] += sum(responses)
        # Records grow with the cohort when the state holds them (or holds no patient yet).
        records = self.patients
        if records or not self.total_n:
            effs = raw_eff if raw_eff is not None else (None,) * len(outcomes)
            records = records + tuple(_plain(dose_index, v, None if r is None else int(r == 1))
                                      for v, r in zip(outcomes, effs))
        return TrialState(
            self.num_doses, tuple(n), tuple(y), self.cohorts + (Cohort(dose_index, outcomes, responses),),
            dose_index, records, self.time, tuple(e),
        )

    # ------------------------------------------------------------------ views
    @property
    def current_dose(self) -> int | None:
        """1-based dose of the most recent cohort."""
        return to_level(self.current_index)

    @property
    def total_n(self) -> int:
        return sum(self.n_at_dose)

    @property
    def total_tox(self) -> int:
        return sum(self.tox_at_dose)

    @property
    def num_cohorts(self) -> int:
        return len(self.cohorts)

    @property
    def last_cohort(self) -> Cohort | None:
        return self.cohorts[-1] if self.cohorts else None

    @property
    def tried(self) -> tuple[bool, ...]:
        return tuple(n > 0 for n in self.n_at_dose)

    @property
    def max_tried_index(self) -> int | None:
        tried = [i for i, n in enumerate(self.n_at_dose) if n > 0]
        return tried[-1] if tried else None

    @cached_property
    def pending_at_dose(self) -> tuple[int, ...]:
        """Patients per dose whose DLT assessment is not complete yet."""
        out = [0] * self.num_doses
        for p in self.patients:
            if not p.complete:
                out[p.dose_index] += 1
        return tuple(out)

    @cached_property
    def eff_pending_at_dose(self) -> tuple[int, ...]:
        """Patients per dose whose efficacy assessment is not complete yet (phase I/II)."""
        out = [0] * self.num_doses
        for p in self.patients:
            if not p.eff_complete:
                out[p.dose_index] += 1
        return tuple(out)

    @property
    def total_eff(self) -> int:
        return sum(self.eff_at_dose)

    @property
    def completed_at_dose(self) -> tuple[int, ...]:
        """Patients per dose whose DLT assessment is complete (``n_at_dose`` minus pending)."""
        return tuple(n - k for n, k in zip(self.n_at_dose, self.pending_at_dose))

    @property
    def n_pending(self) -> int:
        """Patients whose DLT assessment is not complete yet."""
        return sum(self.pending_at_dose) if self.patients else 0

    def key(self) -> tuple:
        """What a count-based design's decision may depend on: per-dose counts, the current
        dose and the last cohort's DLT count.  Designs with ``memory = "counts"`` promise
        that equal keys give equal decisions, so engines may merge such states.  A state
        with pending patients appends its pending counts per dose, so it never shares a key
        with a fully followed state (designs with ``memory = "patients"`` read more than
        this key, and engines must not merge their states by it).  Phase I/II data append
        ``("eff", responses per dose)`` when any response was observed, so states that
        differ in responses never share a key."""
        last = self.last_cohort
        key = (self.n_at_dose, self.tox_at_dose, self.current_index, None if last is None else last.tox)
        if any(self.eff_at_dose):
            key = key + (("eff", self.eff_at_dose),)
        pending = self.pending_at_dose if self.patients else None
        return key + (pending,) if pending and any(pending) else key

    def to_string(self) -> str:
        return " ".join(c.to_string() for c in self.cohorts)

    def __str__(self) -> str:
        if self.cohorts:
            return self.to_string()
        return f"TrialState(n={list(self.n_at_dose)}, dlt={list(self.tox_at_dose)})"


def _whole(v, name: str) -> int:
    """A count or dose level as given: 3.7, 1.9, inf, nan and True are refused, never truncated."""
    if isinstance(v, bool) or type(v).__name__ == "bool_":
        raise ValueError(f"{name} must be a whole number, got {v!r}")
    try:
        f = float(v)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be a whole number, got {v!r}") from None
    if f != f or f in (float("inf"), float("-inf")) or f != int(f):
        raise ValueError(f"{name} must be a whole number, got {v!r}")
    if f < 0:
        raise ValueError(f"{name} must be >= 0, got {v!r}")
    return int(f)


class ReasonCode(str, Enum):
    """Why a design decided what it did: a stable code (its value, used as a key in
    tallies and JSON) with a short text for people.  The decision's own ``reason``
    sentence adds the numbers; tallies group by code, never by parsing that sentence.
    """

    def __new__(cls, value: str, text: str):
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.text = text
        return obj

    # continue: treat the next patients
    START = "start", "start the trial at the starting dose"
    ESCALATE = "escalate", "escalate to a higher dose"
    STAY = "stay", "stay at the current dose"
    DE_ESCALATE = "de_escalate", "de-escalate to a lower dose"
    EXPAND = "expand", "treat more patients at the same dose"
    TREAT = "treat", "treat at the recommended dose"
    # wait: suspend accrual until the next event
    WAIT_FOLLOWUP = "wait_followup", "wait for the DLT follow-up of the patients treated"
    WAIT_PENDING = "wait_pending", "accrual suspended: too many patients with pending outcomes"
    # stop
    MAX_N = "max_n", "maximum sample size reached"
    STOP_AT_N = "stop_at_n", "stopping sample size reached"
    N_AT_DOSE = "n_at_dose", "enough patients at the recommended dose"
    LOWEST_TOO_TOXIC = "lowest_too_toxic", "stopped for toxicity: the lowest dose is too toxic"
    EXTRA_SAFE = "extra_safe", "stopped by the extra safety rule at the lowest dose"
    MTD_FOUND = "mtd_found", "the rule identified the MTD"
    ACCRUAL_CAP = "accrual_cap", "no more patients: the accrual cap was reached"
    FUTILITY = "futility", "stopped for futility: no admissible dose has enough efficacy"
    STOP = "stop", "stopped"
    # phase I/II: a patient treated outside the escalation cohort
    BACKFILL = "backfill", "backfill a patient at a dose already cleared"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Decision:
    """What to do next: treat the next patients at ``next_dose`` (1-based), stop, or wait.

    ``dose_index`` is the 0-based dose (None when stopping or waiting).  ``reason`` is a
    sentence a statistician can paste into a trial log; ``code`` is its typed
    :class:`ReasonCode` (what engines tally).  A *wait* decision suspends accrual until
    the next event (a patient's outcome or follow-up); ``stop`` is False for it.
    """

    dose_index: int | None
    stop: bool
    reason: str
    code: ReasonCode = ReasonCode.TREAT
    wait: bool = False

    @property
    def next_dose(self) -> int | None:
        return to_level(self.dose_index)

    @property
    def action(self) -> str:
        """``"treat"``, ``"stop"`` or ``"wait"``."""
        return "stop" if self.stop else ("wait" if self.wait else "treat")

    @classmethod
    def treat(cls, dose_index: int, reason: str, code: ReasonCode = ReasonCode.TREAT) -> "Decision":
        return cls(int(dose_index), False, reason, ReasonCode(code))

    @classmethod
    def halt(cls, reason: str, code: ReasonCode = ReasonCode.STOP) -> "Decision":
        return cls(None, True, reason, ReasonCode(code))

    @classmethod
    def pause(cls, reason: str, code: ReasonCode = ReasonCode.WAIT_FOLLOWUP) -> "Decision":
        """Suspend accrual until the next event (named ``pause`` because ``wait`` is the
        field that marks such a decision)."""
        return cls(None, False, reason, ReasonCode(code), True)

    def with_reason(self, reason: str, code: ReasonCode | None = None) -> "Decision":
        """The same action with another reason sentence (and optionally code)."""
        return Decision(self.dose_index, self.stop, reason, self.code if code is None else ReasonCode(code),
                        self.wait)

    def __repr__(self) -> str:
        return (f"Decision(next_dose={self.next_dose}, action={self.action!r}, code={self.code.value!r}, "
                f"reason={self.reason!r})")

    def to_dict(self) -> dict:
        return {"next_dose": self.next_dose, "stop": self.stop, "action": self.action, "code": self.code.value,
                "reason": self.reason}


@dataclass(frozen=True)
class MTDSelection:
    """Final MTD selection.

    ``mtd_index`` is 0-based (None: no dose selected).  ``estimates`` holds the design's
    per-dose toxicity estimates (None where the design gives none, e.g. untried doses in
    BOIN).  ``details`` carries design-specific extras (CRM's ``beta_mean``, credible
    limits, ...).
    """

    mtd_index: int | None
    estimates: tuple[float | None, ...]
    reason: str
    details: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def mtd(self) -> int | None:
        return to_level(self.mtd_index)

    def __repr__(self) -> str:
        est = ", ".join("None" if e is None else f"{e:.4f}" for e in self.estimates)
        return f"MTDSelection(mtd={self.mtd}, estimates=[{est}], reason={self.reason!r})"

    def to_dict(self) -> dict:
        out = {
            "mtd": self.mtd,
            "estimates": [None if e is None else float(e) for e in self.estimates],
            "reason": self.reason,
        }
        out.update(self.details)
        return out


@dataclass(frozen=True)
class OBDSelection:
    """Final optimal-biological-dose selection of a phase I/II design.

    ``obd_index`` is 0-based (None: no dose selected).  ``utility`` holds the design's
    estimated utility per dose (None where a dose is not admissible or untried);
    ``mtd_index`` the dose the design takes as the MTD (the admissible ceiling), if any.
    ``details`` carries design-specific extras (per-dose toxicity and efficacy estimates).
    """

    obd_index: int | None
    utility: tuple[float | None, ...]
    reason: str
    mtd_index: int | None = None
    details: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def obd(self) -> int | None:
        return to_level(self.obd_index)

    @property
    def mtd(self) -> int | None:
        return to_level(self.mtd_index)

    def __repr__(self) -> str:
        u = ", ".join("None" if e is None else f"{e:.2f}" for e in self.utility)
        return f"OBDSelection(obd={self.obd}, utility=[{u}], reason={self.reason!r})"

    def to_dict(self) -> dict:
        out = {
            "obd": self.obd,
            "mtd": self.mtd,
            "utility": [None if e is None else float(e) for e in self.utility],
            "reason": self.reason,
        }
        out.update(self.details)
        return out
