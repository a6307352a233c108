"""Every number of the bundled evidence table against the sentence it is quoted from.

Each quote must appear verbatim (up to white space) in its seed file in
shared/seeds/, and the counts are re-read from the quote here, by rules written for
the phrasings the reports use ("grade 1-2 occurred in 90% (n = 18)", "(n=16) at grades
1-2", "No DLT was found", "All patients achieved ..."). A grade >= 3 count of 0 that is
not stated in so many words must be listed in the row's ``implied`` column.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from dosefind.priors.evidence import ENDPOINTS, bundled_evidence_path, load_evidence

SEEDS = Path(__file__).resolve().parents[2].parent / "shared" / "seeds"
TABLE = pd.read_csv(bundled_evidence_path(), dtype=str, keep_default_na=False)
WORDS = {"one": 1, "two": 2, "three": 3, "ten": 10, "twenty": 20, "an": 1, "a": 1}
OTHER_EVENTS = ("cytopenia", "graft", "viral", "neurotoxicity", "cytokine", "ICANS")

pytestmark = pytest.mark.skipif(not SEEDS.is_dir(), reason=f"seed texts not found at {SEEDS}")


def norm(text: str) -> str:
    return " ".join(text.split())


def seed_text(source: str) -> str:
    return norm((SEEDS / source).read_text())


def clause(quote: str, start: str) -> str:
    """The part of ``quote`` about one adverse event: from ``start`` to the next event named."""
    m = re.search(start, quote, flags=re.I)
    assert m, f"{start!r} not in {quote!r}"
    rest = quote[m.end():]
    ends = [rest.lower().find(w.lower()) for w in OTHER_EVENTS if w.lower() not in start.lower()]
    ends = [e for e in ends if e >= 0]
    return quote[m.start(): m.end() + (min(ends) if ends else len(rest))]


def grade_bands(text: str, n: int) -> list[tuple[int, int]]:
    """(lowest grade of the band, count) pairs read from one event's clause."""
    band = r"grades? (\d)(?:\s*[-–]\s*\d)?"
    count = r"\(n ?= ?(\d+)\)"
    after = re.findall(count + r" at " + band, text)          # "(n=16) at grades 1-2"
    if after:
        return [(int(g), int(k)) for k, g in after]
    before = re.findall(band + r"[^()]*?" + count, text)      # "grade 1-2 occurred in 90% (n = 18)"
    if before:
        return [(int(g), int(k)) for g, k in before]
    single = re.search(r"grade (\d)", text, flags=re.I)       # a case report: "grade 1 CRS"
    assert single and n == 1, f"no grade band with a count in {text!r}"
    return [(int(single.group(1)), 1)]


def percentages_agree(text: str, n: int) -> None:
    """Each "p% ... (n=k)" must have p = 100 k / n up to rounding."""
    for pct, k in re.findall(r"(\d+(?:\.\d+)?)%[^()]*?\(n ?= ?(\d+)\)", text):
        assert abs(float(pct) - 100 * int(k) / n) < 0.06, (pct, k, n)


def read_n(quote: str) -> int:
    m = re.search(r"(\w+) (?:participants|patients|r/r AML patient|patient with)", quote, flags=re.I)
    assert m, quote
    word = m.group(1).lower()
    return int(word) if word.isdigit() else WORDS[word]


def read_doses(quote: str) -> list[float]:
    # Superscripts are lost in the seed texts: "2×106/kg" is 2 x 10^6, "2×10⁶" as well.
    found = re.findall(r"(\d+(?:\.\d+)?)\s*×\s*10(\d|⁶|⁵)", quote)
    sup = {"⁶": 6, "⁵": 5}
    return [float(a) * 10 ** (sup.get(e) or int(e)) for a, e in found]


def implied(row) -> set[str]:
    return {p.strip() for p in row["implied"].split(";") if p.strip()}


ROWS = [row for _, row in TABLE.iterrows()]
IDS = [row["source"][:3] for row in ROWS]


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_quotes_are_verbatim_from_the_source(row):
    text = seed_text(row["source"])
    for col in TABLE.columns:
        if col.startswith("quote_") and row[col]:
            assert norm(row[col]) in text, f"{row['source']} {col} is not in the source"
    assert row["note"], "every row explains its reading in note"


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_dose_and_n_match_quotes(row):
    assert read_n(row["quote_n"]) == int(row["n"])
    doses = read_doses(row["quote_dose"])
    if row["dose_per_kg"]:
        assert float(row["dose_per_kg"]) in doses
        if len(doses) > 1:  # a split dose: recorded as its total, said in the note
            assert "split" in row["note"].lower() and float(row["dose_per_kg"]) == max(doses)
    else:
        assert {float(row["dose_low"]), float(row["dose_high"])} == set(doses)
        assert "pool" in row["note"].lower()


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_counts_match_quotes(row):
    n = int(row["n"])
    if row["dlt"]:
        assert re.search(r"\bNo DLT\b", row["quote_dlt"]) and int(row["dlt"]) == 0
    else:
        assert not row["quote_dlt"]
    for event, start, any_col, g3_col in (("crs", r"(?:grade \d )?cytokine release syndrome|grade \d CRS", "crs_any", "crs_grade3"),
                                          ("icans", r"neurotoxicity|ICANS", "icans_any", "icans_grade3")):
        quote = row[f"quote_{event}"]
        if not row[any_col] and not row[g3_col]:
            assert not quote, f"{event} quoted but not recorded"
            continue
        if re.search(r"\bno\b[^.]*" + start.split("|")[-1], quote, flags=re.I):  # "no ... ICANS was found"
            assert (row[any_col], row[g3_col]) == ("0", "0")
            continue
        part = clause(quote, start)
        percentages_agree(part, n)
        bands = grade_bands(part, n)
        assert int(row[any_col]) == sum(k for _, k in bands)
        assert int(row[g3_col]) == sum(k for g, k in bands if g >= 3)
        if not any(g >= 3 for g, _ in bands) and n > 1:
            assert g3_col in implied(row), f"{g3_col} = 0 is not stated; list it in implied"
    if row["response"]:
        q = row["quote_response"]
        m = re.search(r"\(n ?= ?(\d+)\) achieved", q)
        if m:
            percentages_agree(q, n)
            assert int(row["response"]) == int(m.group(1))
        elif re.search(r"\bAll patients achieved\b", q):
            assert int(row["response"]) == n
        else:
            assert re.search(r"\bthe patient achieved CR\b", q) and n == 1 and int(row["response"]) == 1
    else:
        assert not row["quote_response"]


def test_missing_means_not_reported_never_zero():
    table = load_evidence()
    # The reports that give no DLT count: missing, not 0.
    assert table["dlt"].isna().sum() == 4 and table.loc[0, "dlt"] == 0
    assert pd.isna(table.loc[3, "icans_any"]) and pd.isna(table.loc[3, "icans_grade3"])
    strict = load_evidence(strict=True)
    assert pd.isna(strict.loc[0, "crs_grade3"]) and pd.isna(strict.loc[2, "icans_grade3"])
    assert strict.loc[2, "crs_grade3"] == 2  # stated counts survive strict reading


def test_table_covers_every_seed_file():
    seeds = sorted(p.name for p in SEEDS.glob("0*.txt"))
    assert sorted(TABLE["source"]) == seeds
    assert set(ENDPOINTS) <= set(TABLE.columns)
