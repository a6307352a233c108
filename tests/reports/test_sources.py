"""dosefind/data/sources_cd7.csv against the seed texts it cites.

Every stated field is re-read from the seed file: the field must appear verbatim in its
``*_quote`` column and the quote verbatim (up to white space) in the seed text.  Fields
the text does not state stay empty, and the note says so.  The seed texts are in
shared/seeds/ beside the repository (or DOSEFIND_SEEDS).
"""

import csv
import os
import re
from pathlib import Path

import pandas as pd
import pytest

from dosefind.reports.sources import FIELDS, bundled_sources_path, citation, citations, load_sources

_CANDIDATES = [Path(os.environ["DOSEFIND_SEEDS"])] if os.environ.get("DOSEFIND_SEEDS") else []
_CANDIDATES.append(Path(__file__).resolve().parents[2].parent / "shared" / "seeds")
SEEDS = next((p for p in _CANDIDATES if p.is_dir()), None)
ROWS = load_sources()

needs_seeds = pytest.mark.skipif(SEEDS is None, reason=f"seed texts not found at {_CANDIDATES}")


def norm(text: str) -> str:
    return " ".join(text.split())


def test_one_row_per_evidence_source():
    from dosefind.priors.evidence import bundled_evidence_path

    with open(bundled_evidence_path(), encoding="utf-8", newline="") as f:
        evidence = sorted(r["source"] for r in csv.DictReader(f))
    assert sorted(r["source"] for r in ROWS) == evidence


def test_columns():
    with open(bundled_sources_path(), encoding="utf-8", newline="") as f:
        header = next(csv.reader(f))
    assert header[:3] == ["source", "report_kind", "title_is"]
    assert {f + "_quote" for f in FIELDS} <= set(header) and "note" in header


@needs_seeds
@pytest.mark.parametrize("row", ROWS, ids=[r["source"] for r in ROWS])
def test_every_field_is_read_from_the_seed_text(row):
    text = norm((SEEDS / row["source"]).read_text(encoding="utf-8"))
    assert row["title_is"] in ("title", "description")
    assert row["report_kind"] and row["title"]
    for f in FIELDS:
        value, quote = row[f], norm(row[f + "_quote"])
        if not value:
            assert not quote, f"{f}: a quote without a value"
            continue
        assert quote, f"{f} = {value!r} has no quote"
        assert norm(value) in quote, f"{f} = {value!r} is not in its quote {quote!r}"
        assert quote in text, f"{f}: quote not found in {row['source']}: {quote!r}"
    for f in ("registration", "related_registration"):
        assert not row[f] or re.fullmatch(r"NCT\d{8}", row[f]), row[f]
    assert not row["year"] or re.fullmatch(r"(19|20)\d\d", row["year"])
    missing = [f for f in ("authors", "journal", "year") if not row[f]]
    assert not missing or row["note"], "say in the note what the text does not state"


@needs_seeds
def test_a_title_is_the_documents_own():
    """title_is = "title" only for a document whose text presents it as its title, on a line of its own."""
    for row in ROWS:
        if row["title_is"] == "title":
            lines = [norm(x) for x in (SEEDS / row["source"]).read_text(encoding="utf-8").splitlines()]
            assert norm(row["title"]) in lines


def test_citations_use_only_stated_fields():
    cite = citations()
    pan = next(r for r in ROWS if r["source"].startswith("002_"))
    assert cite[pan["source"]] == (f"{pan['authors']} {pan['title']}. {pan['journal']} {pan['year']};"
                                   f"{pan['volume_pages']}. doi:{pan['doi']}. Related trial "
                                   f"{pan['related_registration']}.")
    for row in ROWS:
        text = citation(row)
        assert row["source"] not in text
        assert ("not stated in the text" in text) == (not (row["authors"] or row["journal"] or row["year"]))
        if row["registration"]:
            assert f"Registration {row['registration']}." in text


def test_evidence_table_of_a_bundled_prior_run_cites_every_row():
    """Issue 12: the evidence behind a bundled prior is shown with each report's citation
    (as the report's text gives it) beside its file name; a study without the bundled
    prior has no evidence table."""
    from dosefind.priors import load_evidence
    from dosefind.reports.tables import evidence_table
    from dosefind.study import default_study, parse_study

    class Run:
        study = default_study()

    t = evidence_table(Run)
    ev = load_evidence()
    assert list(t.display["File"]) == list(ev["source"])
    cite = citations()
    assert list(t.display["Source"]) == [cite[s] for s in ev["source"]]
    assert all(c for c in t.display["Source"])
    assert "J Clin Oncol 2021" in " ".join(t.display["Source"])
    assert "NCT05827835" in " ".join(t.display["Source"])
    # counts as the evidence table gives them, '-' where not reported
    for (_, row), (_, e) in zip(t.display.iterrows(), ev.iterrows()):
        assert row["Patients"] == str(int(e["n"]))
        assert row["DLTs"] == ("-" if pd.isna(e["dlt"]) else str(int(e["dlt"])))

    class Plain:
        study = parse_study('[study]\ntarget = 0.3\nmax_n = 6\nn_trials = 10\nseed = 1\n[doses]\namounts = [1, 2]\n'
                            '[[designs]]\ntype = "3+3"\n[[scenarios]]\nname = "a"\ntrue_prob_tox = [0.1, 0.3]\n')

    assert evidence_table(Plain) is None
