"""Dose-finding designs: one design per module, plus composable modifiers."""

from dosefind.designs.base import Design
from dosefind.designs.modifiers import (
    DontSkipDoses,
    Modified,
    Modifier,
    StopAtN,
    StopWhenNAtDose,
    StopWhenTooToxic,
)
from dosefind.designs.three_plus_three import ThreePlusThree
from dosefind.designs.boin import BOIN
from dosefind.designs.boin12 import BOIN12
from dosefind.designs.crm import CRM
from dosefind.designs.blrm import BLRM
from dosefind.designs.tite_boin import TITEBOIN
from dosefind.designs.tite_crm import TITECRM
from dosefind.designs.tite_boin12 import TITEBOIN12
from dosefind.designs.backfill import Backfill

#: Every registered design, by the name used on the command line.
REGISTRY = {"3+3": ThreePlusThree, "boin": BOIN, "boin12": BOIN12, "crm": CRM, "blrm": BLRM, "tite-boin": TITEBOIN, "tite-crm": TITECRM,
            "tite-boin12": TITEBOIN12}

__all__ = [
    "Backfill", "BLRM", "BOIN", "BOIN12", "CRM", "Design", "DontSkipDoses", "Modified", "Modifier", "REGISTRY", "StopAtN",
    "StopWhenNAtDose", "StopWhenTooToxic", "ThreePlusThree", "TITEBOIN", "TITEBOIN12", "TITECRM",
]
