"""Dose-finding designs: one design per module, plus composable modifiers.

The design modules are imported on first use (``from dosefind.designs import BOIN`` loads
only ``boin.py``), so a command that builds one design does not pay for the others.
"""

from importlib import import_module

from dosefind.designs.base import Design
from dosefind.designs.modifiers import (
    DontSkipDoses,
    Modified,
    Modifier,
    StopAtN,
    StopWhenNAtDose,
    StopWhenTooToxic,
)

#: Public name -> the module defining it.
_LAZY = {
    "ThreePlusThree": "three_plus_three", "BOIN": "boin", "BOIN12": "boin12", "CRM": "crm", "BLRM": "blrm",
    "TITEBOIN": "tite_boin", "TITECRM": "tite_crm", "TITEBOIN12": "tite_boin12", "Backfill": "backfill",
}

#: Command-line design name -> class name (:data:`REGISTRY` holds the classes).
_REGISTRY_NAMES = {"3+3": "ThreePlusThree", "boin": "BOIN", "boin12": "BOIN12", "crm": "CRM", "blrm": "BLRM",
                   "tite-boin": "TITEBOIN", "tite-crm": "TITECRM", "tite-boin12": "TITEBOIN12"}

__all__ = [
    "Backfill", "BLRM", "BOIN", "BOIN12", "CRM", "Design", "DontSkipDoses", "Modified", "Modifier", "REGISTRY", "StopAtN",
    "StopWhenNAtDose", "StopWhenTooToxic", "ThreePlusThree", "TITEBOIN", "TITEBOIN12", "TITECRM",
]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(import_module(f"dosefind.designs.{_LAZY[name]}"), name)
    elif name == "REGISTRY":
        #: Every registered design, by the name used on the command line.
        value = {key: __getattr__(cls) for key, cls in _REGISTRY_NAMES.items()}
    elif name in _LAZY.values() or name in ("isotonic", "skeleton", "prior_variance"):
        return import_module(f"dosefind.designs.{name}")   # a design module, as the eager package gave it
    else:
        raise AttributeError(f"module 'dosefind.designs' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
