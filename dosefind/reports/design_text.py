"""How the report words a design: its own ``describe()``, made exact where a reader needs it.

The report, ``protocol.md`` and ``report.docx`` all take a design's text from
:func:`design_text`, so they say the same thing.  Three things are made plain here,
without changing what the design says about its rule:

* a CRM's prior ``Normal(0, 1.34)`` says that 1.34 is the **variance** of beta (the CRM
  is built with ``prior_var``, :mod:`dosefind.designs.crm`), and gives the SD beside it;
* a CRM's skeleton is written at one precision (three decimals), as the skeleton table
  shows it;
* BOIN's boundaries, which its ``describe()`` lists as prose, are referred to the decision
  table printed below the text (the table is the design's own ``boundaries()``).

Modifiers (``design.then(...)``) are not repeated here: :func:`modifier_texts` lists
them once, as the report's "Additional stopping rules".
"""

from __future__ import annotations

import math
import re

__all__ = ["design_text", "modifier_texts", "skeleton_text", "SKELETON_DECIMALS"]

#: Decimals of a skeleton wherever the report shows one (text and table).
SKELETON_DECIMALS = 3

# BOIN's describe() lists its boundary table as "(n=3: escalate if ...; n=6: ...)".
_BOIN_PROSE = re.compile(r" \(n=\d+: [^()]*\)")


def skeleton_text(skeleton) -> str:
    return ", ".join(f"{float(p):.{SKELETON_DECIMALS}f}" for p in skeleton)


def design_text(design) -> str:
    """The description of ``design`` (its innermost design, modifiers left out)."""
    base = getattr(design, "base", design)
    text = base.describe()
    var = getattr(base, "prior_var", None)
    if var is not None:
        text = text.replace(f"Normal(0, {var:g}) prior",
                            f"Normal(0, {var:g}) prior (mean 0, variance {var:g}, standard deviation "
                            f"{math.sqrt(var):.3g})", 1)
    skel = getattr(base, "skeleton", None)
    if skel is not None:
        text = text.replace(f"skeleton s = ({', '.join(f'{p:.3g}' for p in skel)})",
                            f"skeleton s = ({skeleton_text(skel)})", 1)
    if hasattr(base, "boundaries"):
        text = _BOIN_PROSE.sub(" (the decision boundaries are in the table below)", text, count=1)
    return text


def modifier_texts(design) -> list[str]:
    """One sentence per modifier of ``design``, in the order they apply."""
    return [m.describe() for m in getattr(design, "modifiers", None) or () if m.describe()]
