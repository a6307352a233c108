"""dosefind: design and simulate dose-finding clinical trials.

Public names: the trial state and decisions (``TrialState``, ``Decision``,
``MTDSelection``, ``DoseLevels``), the designs (``ThreePlusThree``, ``BOIN``, ``CRM`` and
the modifiers, also in :mod:`dosefind.designs`), and the simulation entry points
``simulate`` and ``compare`` (:mod:`dosefind.simulations`).  Priors live in
:mod:`dosefind.priors`.

Heavy packages (PyMC, ArviZ, matplotlib) are imported only by the functions that need
them, and the designs and simulation engine are loaded on first use, so
``import dosefind`` and the command line start fast.
"""

from importlib import import_module

from dosefind.state import Cohort, Decision, DoseLevels, MTDSelection, Patient, ReasonCode, TrialState

__version__ = "0.1.0"

_LAZY = {
    "simulate": "dosefind.simulations",
    "compare": "dosefind.simulations",
    "Scenario": "dosefind.simulations",
    "ThreePlusThree": "dosefind.designs",
    "BOIN": "dosefind.designs",
    "CRM": "dosefind.designs",
    "BLRM": "dosefind.designs.blrm",
    "TITEBOIN": "dosefind.designs",
    "TITECRM": "dosefind.designs",
    "StopAtN": "dosefind.designs",
    "StopWhenNAtDose": "dosefind.designs",
    "DontSkipDoses": "dosefind.designs",
    "StopWhenTooToxic": "dosefind.designs",
}

__all__ = ["Cohort", "Decision", "DoseLevels", "MTDSelection", "Patient", "ReasonCode", "TrialState", "__version__", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dosefind' has no attribute {name!r}")
