"""Argument checks shared by designs, engines and priors.

Every message names the parameter, the allowed range and the value received, in words
a statistician understands ("target must be between 0 and 1, got 1.3").
"""

from __future__ import annotations

import math
from typing import Sequence

#: The largest trial size (patients) any option may ask for.  No dose-finding trial comes
#: near it; larger values only make tables and simulations run for hours or exhaust memory.
MAX_PATIENTS = 10_000
#: The most simulated trials per design and scenario a study (or ``--n-trials``) may ask
#: for: 10^9 already takes days; more exhausts memory rather than giving a better answer.
MAX_N_TRIALS = 10**9


def _num(value, name: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if math.isnan(v):
        raise ValueError(f"{name} must be a number, got NaN")
    return v


def probability(value, name: str, *, open_interval: bool = True) -> float:
    """A probability in (0, 1) (or [0, 1] when ``open_interval`` is False)."""
    v = _num(value, name)
    if open_interval and not 0 < v < 1:
        raise ValueError(f"{name} must be between 0 and 1 (exclusive), got {value}")
    if not open_interval and not 0 <= v <= 1:
        raise ValueError(f"{name} must be between 0 and 1, got {value}")
    return v


def share(value, name: str, meaning: str) -> float:
    """A share in (0, 1]; ``meaning`` says what it is, in the message."""
    v = _num(value, name)
    if not 0 < v <= 1:
        raise ValueError(f"{name} must be in (0, 1] ({meaning}), got {value}")
    return v


def positive(value, name: str) -> float:
    v = _num(value, name)
    if not (v > 0 and math.isfinite(v)):
        raise ValueError(f"{name} must be a positive number, got {value}")
    return v


def nonnegative(value, name: str) -> float:
    v = _num(value, name)
    if not (v >= 0 and math.isfinite(v)):
        raise ValueError(f"{name} must be >= 0, got {value}")
    return v


def integer(value, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    v = _num(value, name)
    if not math.isfinite(v) or v != int(v):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    v = int(v)
    if minimum is not None and maximum is not None and not minimum <= v <= maximum:
        raise ValueError(f"{name} must be between {minimum} and {maximum}, got {v}")
    if minimum is not None and v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {v}")
    if maximum is not None and v > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {v}")
    return v


def probability_vector(values: Sequence, name: str, *, length: int | None = None,
                       increasing: bool = False, open_interval: bool = False) -> tuple[float, ...]:
    """A vector of probabilities; optionally of a given length and strictly increasing."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise ValueError(f"{name} must be a list of probabilities, got {values!r}")
    vals = tuple(probability(v, f"{name}[{i + 1}]", open_interval=open_interval) for i, v in enumerate(values))
    if length is not None and len(vals) != length:
        raise ValueError(f"{name} must have {length} values (one per dose), got {len(vals)}")
    if not vals:
        raise ValueError(f"{name} must have at least one value")
    if increasing and any(b <= a for a, b in zip(vals, vals[1:])):
        raise ValueError(f"{name} must be strictly increasing, got {list(vals)}")
    return vals


def boolean(value, name: str) -> bool:
    """A true/false option.  Only real booleans are accepted: a text such as ``"false"``
    or ``"no"`` is truthy in Python and would silently switch the option on."""
    if isinstance(value, bool):
        return value
    if type(value).__name__ == "bool_":  # numpy.bool_ without importing numpy
        return bool(value)
    raise ValueError(f"{name} must be true or false (a boolean, not text or a number), got {value!r}")
