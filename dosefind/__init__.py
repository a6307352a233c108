"""dosefind: design and simulate dose-finding clinical trials.

Heavy packages (PyMC, ArviZ, matplotlib) are imported only by the functions that need
them, so ``import dosefind`` and the command line start fast.
"""

from dosefind.state import Cohort, Decision, DoseLevels, MTDSelection, TrialState

__version__ = "0.1.0"

__all__ = ["Cohort", "Decision", "DoseLevels", "MTDSelection", "TrialState", "__version__"]
