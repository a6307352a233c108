"""Citations of the bundled CD7 CAR-T source documents, as the documents give them.

``dosefind/data/sources_cd7.csv`` has one row per source file of the evidence table
(``dosefind/data/evidence_cd7.csv``, joined on ``source``): the kind of report, its title
(``title_is = "title"``) or, where the text gives none, words from the text that identify
it (``title_is = "description"``), and the authors, journal, year, volume and pages, DOI,
trial registration, a related registration and the date the data are given as of, each
only where the text states it, with the sentence it was read from in the matching
``*_quote`` column.  Nothing is added from outside the texts: a field the text does not
state is empty, and ``note`` says what is missing.

>>> cite = citations()
>>> cite["002_20257632ebbc645c.txt"][:60]
'Jing Pan et al. Donor-Derived CD7 Chimeric Antigen Receptor '
>>> "NCT05827835" in cite["003_b86ac522baa1a4cd.txt"]
True
"""

from __future__ import annotations

import csv
from importlib import resources

__all__ = ["FIELDS", "load_sources", "citation", "citations", "bundled_sources_path"]

#: Citation fields, each with a ``<field>_quote`` column holding the sentence it is read from.
FIELDS = ("report_kind", "title", "authors", "journal", "year", "volume_pages", "doi", "registration",
          "related_registration", "data_as_of")


def bundled_sources_path():
    return resources.files("dosefind") / "data" / "sources_cd7.csv"


def load_sources(path=None) -> list[dict]:
    """The rows of the sources table (all values strings; empty when not stated)."""
    src = bundled_sources_path() if path is None else path
    with open(src, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def citation(row: dict) -> str:
    """A one-line citation from the stated fields only, e.g. ``Jing Pan et al. Donor-Derived
    ... Phase I Trial. J Clin Oncol 2021;39(30):3340-3351. doi:10.1200/JCO.21.00389.``"""
    title = row["title"] if row["title_is"] == "title" else f"\u201c{row['title']}\u201d ({row['report_kind']})"
    parts = [" ".join(x for x in (row["authors"], title) if x) + "."]
    where = row["journal"]
    if row["year"]:
        where += f" {row['year']}"
    if row["volume_pages"]:
        where += f";{row['volume_pages']}"
    if where.strip():
        parts.append(where.strip() + ".")
    if row["doi"]:
        parts.append(f"doi:{row['doi']}.")
    if row["registration"]:
        parts.append(f"Registration {row['registration']}.")
    if row["related_registration"]:
        parts.append(f"Related trial {row['related_registration']}.")
    if row["data_as_of"]:
        parts.append(f"Data as of {row['data_as_of']}.")
    if not (row["authors"] or row["journal"] or row["year"]):
        parts.append("Authors, journal and year not stated in the text.")
    return " ".join(parts)


def citations(path=None) -> dict:
    """Source file name -> :func:`citation`."""
    return {r["source"]: citation(r) for r in load_sources(path)}
