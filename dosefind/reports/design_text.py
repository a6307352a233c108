"""How the report words a design: the design's own ``describe()``, nothing rewritten.

The report, ``protocol.md`` and ``report.docx`` all take a design's text from
:func:`design_text`, so they say the same thing.  What a reader needs is said by the
designs themselves: a CRM's prior states its variance and SD and its skeleton is at
:data:`~dosefind.designs.crm.SKELETON_DECIMALS` decimals (:mod:`dosefind.designs.crm`),
and BOIN's text refers to its decision table (``boundaries()``, printed beside it)
instead of listing it as prose.

Modifiers (``design.then(...)``) are not repeated here: :func:`modifier_texts` lists
them once, as the report's "Additional stopping rules".
"""

from __future__ import annotations

from dosefind.designs.crm import SKELETON_DECIMALS, skeleton_text

__all__ = ["design_text", "modifier_texts", "skeleton_text", "SKELETON_DECIMALS"]


def design_text(design) -> str:
    """The description of ``design`` (its innermost design, modifiers left out)."""
    return getattr(design, "base", design).describe()


def modifier_texts(design) -> list[str]:
    """One sentence per modifier of ``design``, in the order they apply."""
    return [m.describe() for m in getattr(design, "modifiers", None) or () if m.describe()]
