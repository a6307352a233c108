"""Scenarios: the true dose-toxicity curves a design is evaluated on.

A :class:`Scenario` is one hypothesis about the truth (a true DLT probability per dose,
optionally a true response probability, a name and the target).  Scenario sets come
from Python lists or from the long-format CSV that ``dosefind priors`` writes::

    scenario,dose,dose_per_kg,true_prob_tox,true_prob_response
    prior-mean,1,5e5,0.04,0.20
    prior-mean,2,1e6,0.09,0.35
    ...

Columns ``scenario``, ``dose`` (1-based level) and ``true_prob_tox`` are required;
``dose_per_kg`` and ``true_prob_response`` are optional.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dosefind import _validate as V

__all__ = ["Scenario", "as_scenario", "as_scenarios", "read_scenarios", "scenarios_from_frame"]


@dataclass(frozen=True)
class Scenario:
    """A true dose-toxicity scenario.

    Parameters
    ----------
    true_prob_tox : sequence of float
        True DLT probability at each dose (0-based order), each in [0, 1].
    name : str, optional
        Label used in tables (default ``"scenario"``).
    target : float, optional
        Target DLT rate used to define the correct dose(s); when omitted, the design's
        target is used.
    true_prob_response : sequence of float, optional
        True response probability per dose: the response rates of phase I/II simulations
        (:mod:`~dosefind.simulations.phase12`; ``simulate``'s ``true_prob_eff`` when that
        is not given), and reported for phase I designs where the engine can carry them.
    dose_amounts : sequence of float, optional
        Dose amounts (e.g. cells/kg), for labels only.
    """

    true_prob_tox: tuple[float, ...]
    name: str = "scenario"
    target: float | None = None
    true_prob_response: tuple[float, ...] | None = None
    dose_amounts: tuple[float, ...] | None = None

    def __post_init__(self):
        tox = V.probability_vector(_as_list(self.true_prob_tox, "true_prob_tox"), "true_prob_tox",
                                   open_interval=False)
        object.__setattr__(self, "true_prob_tox", tox)
        if self.target is not None:
            object.__setattr__(self, "target", V.probability(self.target, "target"))
        if self.true_prob_response is not None:
            resp = V.probability_vector(_as_list(self.true_prob_response, "true_prob_response"),
                                        "true_prob_response", length=len(tox), open_interval=False)
            object.__setattr__(self, "true_prob_response", resp)
        if self.dose_amounts is not None:
            amounts = tuple(float(a) for a in self.dose_amounts)
            if len(amounts) != len(tox):
                raise ValueError(f"dose_amounts must have {len(tox)} values (one per dose), got {len(amounts)}")
            object.__setattr__(self, "dose_amounts", amounts)
        object.__setattr__(self, "name", str(self.name))

    @property
    def num_doses(self) -> int:
        return len(self.true_prob_tox)

    def check_design(self, design) -> None:
        """Raise a readable error when the scenario does not fit the design."""
        if self.num_doses != design.num_doses:
            raise ValueError(
                f"scenario {self.name!r}: true_prob_tox has {self.num_doses} values but the design has "
                f"{design.num_doses} doses"
            )

    def to_dict(self) -> dict:
        out = {"name": self.name, "true_prob_tox": list(self.true_prob_tox)}
        if self.target is not None:
            out["target"] = self.target
        if self.true_prob_response is not None:
            out["true_prob_response"] = list(self.true_prob_response)
        if self.dose_amounts is not None:
            out["dose_amounts"] = list(self.dose_amounts)
        return out


def _as_list(values, name):
    if isinstance(values, (str, bytes)):
        raise ValueError(f"{name} must be a list of probabilities, got {values!r}")
    try:
        return list(values)
    except TypeError:
        raise ValueError(f"{name} must be a list of probabilities, got {values!r}") from None


def as_scenario(obj, name: str | None = None) -> Scenario:
    """A Scenario from a Scenario, a list of probabilities or a mapping of Scenario fields."""
    if isinstance(obj, Scenario):
        return obj
    if isinstance(obj, dict):
        fields = dict(obj)
        if "true_prob_tox" not in fields:
            raise ValueError("a scenario needs true_prob_tox (one probability per dose)")
        if name is not None:
            fields.setdefault("name", name)
        return Scenario(**fields)
    return Scenario(true_prob_tox=obj, name=name if name is not None else "scenario")


def as_scenarios(obj) -> list[Scenario]:
    """A list of Scenarios from: one scenario, a list of scenarios or probability lists, a
    mapping name -> probabilities, a path to a long-format CSV, or such a DataFrame."""
    if isinstance(obj, (str, Path)):
        return read_scenarios(obj)
    if hasattr(obj, "columns") and hasattr(obj, "groupby"):  # a pandas DataFrame in the long format
        return scenarios_from_frame(obj)
    if isinstance(obj, Scenario):
        return [obj]
    if isinstance(obj, dict):
        return [as_scenario(v, name=str(k)) for k, v in obj.items()]
    items = list(obj)
    if not items:
        raise ValueError("scenarios must name at least one scenario")
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in items):
        return [as_scenario(items)]
    out = []
    for i, v in enumerate(items):
        out.append(as_scenario(v, name=None if isinstance(v, (Scenario, dict)) else str(i + 1)))
    names = [s.name for s in out]
    if len(set(names)) != len(names):
        out = [s if names.count(s.name) == 1 else Scenario(s.true_prob_tox, f"{s.name} ({i + 1})", s.target,
                                                          s.true_prob_response, s.dose_amounts)
               for i, s in enumerate(out)]
    return out


def read_scenarios(path) -> list[Scenario]:
    """Read scenarios from a long-format CSV (one row per scenario and dose)."""
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"scenario file not found: {path}")
    return scenarios_from_frame(pd.read_csv(path), source=str(path))


def scenarios_from_frame(df, source: str = "scenarios") -> list[Scenario]:
    """Scenarios from a long-format DataFrame (e.g. ``dosefind.priors`` ``draw_scenarios``)."""
    path = source
    missing = [c for c in ("scenario", "dose", "true_prob_tox") if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}; expected scenario, dose, "
                         "true_prob_tox (and optionally dose_per_kg, true_prob_response)")
    out = []
    for name, grp in df.groupby("scenario", sort=False):
        grp = grp.sort_values("dose")
        levels = [int(v) for v in grp["dose"]]
        if levels != list(range(1, len(levels) + 1)):
            raise ValueError(f"{path}: scenario {name!r} must list doses 1..{len(levels)} once each, got {levels}")
        resp = list(grp["true_prob_response"]) if "true_prob_response" in grp.columns else None
        if resp is not None and any(v != v for v in resp):  # NaN: column present but empty
            resp = None
        amounts = list(grp["dose_per_kg"]) if "dose_per_kg" in grp.columns else None
        if amounts is not None and any(v != v for v in amounts):
            amounts = None
        out.append(Scenario(list(grp["true_prob_tox"]), name=str(name), true_prob_response=resp,
                            dose_amounts=amounts))
    if not out:
        raise ValueError(f"{path}: no scenarios found")
    return out
