"""Read results back from their JSON face.

:func:`oc_from_dict` inverts :meth:`OperatingCharacteristics.to_dict` and
:func:`comparison_from_dict` inverts :meth:`Comparison.to_dict`: what ``dosefind simulate
--format json`` and ``dosefind compare --format json`` print, and the ``results`` list of
``dosefind run --format json`` / ``results.json``.  Reading and writing again gives the
same JSON (the numbers are those JSON holds, rounded to 6 decimals).  Dose labels, which
the JSON does not carry, become "Dose 1", "Dose 2", ...; the true MTD is recomputed from
the true curve, the target and the acceptable band with the same rule as the simulation
(the JSON writes a true MTD of "none" as null).

>>> from dosefind.designs import BOIN
>>> from dosefind.simulations import simulate, OperatingCharacteristics
>>> oc = simulate(BOIN(target=0.25, num_doses=3, max_n=12), [0.1, 0.25, 0.45], method="exact")
>>> OperatingCharacteristics.from_json(oc.to_json()).to_dict() == oc.to_dict()
True
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np

__all__ = ["oc_from_dict", "oc_from_json", "comparison_from_dict", "comparison_from_json", "read_json"]

_PER_DOSE = ("selection_pct", "patients_mean", "patients_pct", "dlt_mean")
_SCALARS = ("no_selection_pct", "n_mean", "dlt_total_mean", "early_stop_pct", "pcs", "overdose_selection_pct",
            "overdose_patients_pct", "overdose60_pct", "overdose80_pct")
_REQUIRED = ("method", "design", "true_prob_tox", "se") + _PER_DOSE + _SCALARS


def read_json(source) -> dict:
    """A JSON object from a string of JSON, a path, or an already parsed dict."""
    if isinstance(source, dict):
        return source
    if isinstance(source, bytes):
        source = source.decode("utf-8")
    if isinstance(source, str) and source.lstrip().startswith("{"):
        text = source
        where = "JSON text"
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"results file not found: {path}")
        text = path.read_text(encoding="utf-8")
        where = str(path)
    else:
        raise TypeError(f"from_json needs JSON text, a path or a dict, got {type(source).__name__}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(data).__name__}")
    return data


def _arr(v):
    return np.asarray(v, dtype=float)


def _num(v):
    return None if v is None else float(v)


def oc_from_dict(d: dict):
    """An :class:`OperatingCharacteristics` from its ``to_dict()`` form."""
    from dosefind.simulations.results import OperatingCharacteristics, correct_doses, true_mtd_index

    missing = [k for k in _REQUIRED if k not in d]
    if missing:
        raise ValueError("not the JSON of a dosefind result (OperatingCharacteristics.to_dict()): missing "
                         + ", ".join(missing))
    p = tuple(float(x) for x in d["true_prob_tox"])
    target = _num(d.get("target"))
    acceptable = None if d.get("acceptable") is None else tuple(float(x) for x in d["acceptable"])
    values = {k: _arr(d[k]) for k in _PER_DOSE}
    values.update({k: _num(d[k]) for k in _SCALARS})
    se_in = d["se"]
    se = {k: (None if se_in.get(k) is None else _arr(se_in[k])) for k in _PER_DOSE}
    se.update({k: _num(se_in.get(k)) for k in _SCALARS})
    correct = tuple(int(i) - 1 for i in d.get("correct_doses") or ())
    if correct != correct_doses(p, target, acceptable):
        raise ValueError(f"correct_doses {d.get('correct_doses')} do not follow from true_prob_tox {list(p)} and "
                         f"target {target}")
    optional = {}
    if d.get("calendar") is not None and "calendar" in {f.name for f in dataclasses.fields(OperatingCharacteristics)}:
        optional["calendar"] = d["calendar"]      # calendar-time results carry their summary block
    if d.get("efficacy") is not None:
        optional["efficacy"] = _efficacy_block(d["efficacy"])
    return OperatingCharacteristics(
        **optional, design=str(d["design"]), true_prob_tox=p, method=str(d["method"]), n_trials=d.get("n_trials"),
        seed=d.get("seed"), target=target, acceptable=acceptable, correct=correct,
        true_mtd=true_mtd_index(p, target, acceptable), values=values, se=se,
        stop_reasons={str(k): float(v) for k, v in (d.get("stop_reasons") or {}).items()},
        scenario=str(d.get("scenario", "scenario")), dose_labels=tuple(f"Dose {i + 1}" for i in range(len(p))),
        max_n=d.get("max_n"))


def _efficacy_block(block: dict) -> dict:
    """The phase I/II block with its per-dose metrics as arrays again."""
    from dosefind.simulations.phase12 import PER_DOSE, SCALARS

    out = dict(block)
    for part in ("values", "se"):
        src = block.get(part) or {}
        missing = [k for k in PER_DOSE + SCALARS if k not in src]
        if missing:
            raise ValueError(f"efficacy.{part} is missing " + ", ".join(missing))
        out[part] = {k: (None if src[k] is None else (_arr(src[k]) if k in PER_DOSE else float(src[k])))
                     for k in PER_DOSE + SCALARS}
    return out


def oc_from_json(source):
    return oc_from_dict(read_json(source))


def comparison_from_dict(d: dict):
    """A :class:`Comparison` from its ``to_dict()`` form (also accepts the output of
    ``dosefind run --format json``, whose designs are objects with a ``label``)."""
    from dosefind.simulations import Comparison
    from dosefind.simulations.scenarios import Scenario

    if not isinstance(d.get("results"), list) or "designs" not in d:
        raise ValueError("not the JSON of a dosefind comparison: expected 'designs' and a 'results' list")
    designs = [x["label"] if isinstance(x, dict) else str(x) for x in d["designs"]]
    scenarios = []
    for s in d.get("scenarios") or []:
        fields = {k: s[k] for k in ("name", "true_prob_tox", "target", "true_prob_response", "dose_amounts")
                  if s.get(k) is not None}
        scenarios.append(Scenario(**fields))
    results = {}
    for r in d["results"]:
        oc = oc_from_dict(r)
        results[(oc.scenario, oc.design)] = oc
    return Comparison(results=results, designs=designs, scenarios=scenarios)


def comparison_from_json(source):
    return comparison_from_dict(read_json(source))
