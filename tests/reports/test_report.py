"""The report folder: HTML parses, every table and figure is present, protocol.md and
the tables agree, the manifest audits the run, and writing is atomic."""

import base64
import hashlib
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from dosefind.reports.tables import COMPARISON_METRICS


class ReportParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tables, self.imgs, self.links, self.stack = [], [], [], []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag not in ("meta", "img", "br", "link"):
            self.stack.append(tag)
        if tag == "table":
            self.tables.append(a.get("data-table"))
        if tag == "img":
            self.imgs.append(a)
        if tag == "script":
            self.scripts += 1
        for k in ("src", "href"):
            if k in a:
                self.links.append(a[k])

    def handle_endtag(self, tag):
        if tag in ("meta", "img", "br", "link"):
            return
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1] if self.stack else None}>"
        self.stack.pop()


def parse(path: Path) -> ReportParser:
    p = ReportParser()
    p.feed(path.read_text(encoding="utf-8"))
    p.close()
    assert p.stack == [], f"unclosed tags: {p.stack}"
    return p


def test_folder_layout(small_report):
    run, out = small_report
    for name in ("report.html", "protocol.md", "manifest.json", "results.json", "report.docx"):
        assert (out / name).stat().st_size > 0
    assert sorted(p.stem for p in (out / "tables").glob("*.csv")) == sorted(p.stem for p in (out / "tables").glob("*.md"))
    assert sorted(p.stem for p in (out / "figures").glob("*.png")) == sorted(p.stem for p in (out / "figures").glob("*.svg"))
    # One table and one figure per scenario, the comparison, each design's pathways.
    stems = {p.stem for p in (out / "tables").glob("*.csv")}
    assert {"doses", "setup", "scenarios", "comparison", "scenario-mtd-at-dl2", "scenario-all-safe",
            "design-3-3-pathways", "design-boin-boundaries", "design-crm-skeleton", "decision"} <= stems
    figs = {p.stem for p in (out / "figures").glob("*.png")}
    assert figs == {"scenarios", "comparison", "scenario-mtd-at-dl2", "scenario-all-safe",
                    "design-3-3-decisions", "design-boin-decisions", "design-crm-decisions"}   # + decision charts
    assert not list(out.parent.glob(".report.tmp-*")), "temporary folder left behind"


def test_html_parses_and_shows_every_table(small_report):
    _, out = small_report
    p = parse(out / "report.html")
    assert sorted(p.tables) == sorted(x.stem for x in (out / "tables").glob("*.csv"))
    html = (out / "report.html").read_text(encoding="utf-8")
    for section in ("study", "summary", "designs", "scenarios", "results", "reproducibility"):
        assert f'id="{section}"' in html
    # User text is escaped, never interpreted.
    assert "Small &lt;test&gt; study &amp; co" in html and "<test>" not in html


def test_html_is_self_contained(small_report):
    _, out = small_report
    p = parse(out / "report.html")
    assert p.scripts == 0
    for link in p.links:
        assert link.startswith(("data:", "#")), f"external reference {link[:60]!r}"


def test_images_present_and_non_empty(small_report):
    _, out = small_report
    p = parse(out / "report.html")
    assert len(p.imgs) == len(list((out / "figures").glob("*.svg")))
    for img in p.imgs:
        assert img.get("alt")
        head, data = img["src"].split(",", 1)
        assert head == "data:image/svg+xml;base64"
        svg = base64.b64decode(data)
        assert len(svg) > 5000
        root = ET.fromstring(svg)
        assert root.tag.endswith("svg")
        assert len(list(root.iter())) > 50   # drawn, not an empty canvas
    import matplotlib.image as mpimg

    for png in (out / "figures").glob("*.png"):
        img = mpimg.imread(png)
        assert img.shape[0] > 100 and img.shape[1] > 100
        assert img[..., :3].std() > 0.02, f"{png.name} looks blank"


def _md_rows(text: str, header_start: str) -> list[list[str]]:
    """Rows of the Markdown table whose header line starts with ``header_start``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows


@pytest.mark.parametrize("fixture", ["small_report"])
def test_protocol_numbers_equal_table_numbers(fixture, request):
    run, out = request.getfixturevalue(fixture)
    protocol = (out / "protocol.md").read_text(encoding="utf-8")
    comp = pd.read_csv(out / "tables" / "comparison.csv")
    rows = _md_rows(protocol, "| Scenario | Design | Correct selection %")
    assert len(rows) == len(comp)
    scenario = None
    for cells, (_, rec) in zip(rows, comp.iterrows()):
        scenario = cells[0] or scenario
        assert (scenario, cells[1]) == (rec["scenario"], rec["design"])
        for cell, (key, _, digits) in zip(cells[2:], COMPARISON_METRICS):
            if pd.isna(rec[key]):
                # a metric that does not apply (early stop of a design with no maximum sample size)
                assert cell == ("n/a" if key == "early_stop_pct" else "-")
                continue
            m = re.fullmatch(r"(-?[\d.]+)(?: \((-?[\d.]+)\))?", cell)
            assert m, cell
            assert m.group(1) == f"{rec[key]:.{digits}f}", (key, cell, rec[key])
            if rec["method"] == "mc":
                assert m.group(2) == f"{rec[key + '_se']:.{digits}f}"
    # The summary sentences quote the same percentages.
    for _, rec in comp.iterrows():
        if not pd.isna(rec["pcs"]):
            assert f"{rec['design']} {rec['pcs']:.1f}%" in protocol
    # Per-scenario selection tables match the scenario CSVs.
    for s in run.scenarios:
        slug = re.sub(r"[^a-z0-9]+", "-", s.name.lower()).strip("-")
        data = pd.read_csv(out / "tables" / f"scenario-{slug}.csv")
        sel = data[data["metric"] == "selection_pct"].set_index("design")
        section = protocol.split(f"#### Scenario: {s.name}", 1)[1]
        mrows = _md_rows(section, "| Design | Measure")
        for cells in mrows:
            if cells[1] == "Selection %":
                for i, cell in enumerate(cells[2:2 + len(s.true_prob_tox)]):
                    assert cell.split(" (")[0] == f"{sel.loc[cells[0], f'dose_{i + 1}']:.1f}"


def test_protocol_describes_design_and_simulation(small_report):
    run, out = small_report
    text = (out / "protocol.md").read_text(encoding="utf-8")
    from dosefind.reports.tables import md_text

    for spec in run.designs:
        assert f"### {md_text(spec.label)}" in text
        assert md_text(spec.design.describe())[:80] in text
    assert "Monte Carlo simulation of 300 trials per scenario with random seed 7" in text
    assert "Additional stopping rules" in text     # the CRM's modifier
    assert "Escalate if DLTs <=" in text            # BOIN's boundary table


def test_manifest_audits_the_run(small_report, small_study_file):
    run, out = small_report
    m = json.loads((out / "manifest.json").read_text())
    assert m["study"]["sha256"] == hashlib.sha256(small_study_file.read_bytes()).hexdigest()
    assert m["seed"] == 7 and m["n_trials"] == 300
    assert m["dosefind_version"] and m["python"]
    assert {"numpy", "scipy", "pandas", "matplotlib", "pymc"} <= set(m["dependencies"])
    assert m["started_at"] <= m["finished_at"]
    for step in ("scenarios", "simulations", "tables", "figures", "html_protocol"):
        assert m["timings_seconds"][step] >= 0
    for rel, digest in m["files"].items():
        assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == digest
    assert "report.html" in m["files"] and "protocol.md" in m["files"]


def test_results_json_has_documented_keys(small_report):
    _, out = small_report
    res = json.loads((out / "results.json").read_text())
    keys = {"method", "n_trials", "seed", "selection_pct", "no_selection_pct", "patients_mean", "patients_pct",
            "dlt_mean", "n_mean", "dlt_total_mean", "early_stop_pct", "pcs", "overdose_selection_pct",
            "overdose_patients_pct", "se"}
    assert len(res["results"]) == 6
    for r in res["results"]:
        assert keys <= set(r)


# ---------------------------------------------------------------------------- atomic writes
def test_existing_output_is_refused_before_simulating(small_study_file, tmp_path, monkeypatch):
    import dosefind.simulations as sims
    from dosefind.runner import run_study
    from dosefind.study import load_study

    out = tmp_path / "report"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    monkeypatch.setattr(sims, "simulate", lambda *a, **k: pytest.fail("simulated before checking the output"))
    for force in (False, True):   # not dosefind's folder: refused even with force (issue 9)
        with pytest.raises(ValueError, match="not a report dosefind wrote; dosefind replaces only its own"):
            run_study(load_study(small_study_file), out, force=force)
    assert (out / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_force_replaces_and_interrupted_write_leaves_old_report(small_report, tmp_path, monkeypatch):
    import dosefind.reports as reports
    from dosefind.runner import write_report

    run, _ = small_report
    out = tmp_path / "report"
    write_report(run, out)
    before = (out / "manifest.json").read_text()

    real = reports.write_all

    def interrupted(r, folder, **kw):
        real(r, folder, **kw)
        raise KeyboardInterrupt

    monkeypatch.setattr(reports, "write_all", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_report(run, out, force=True)
    assert (out / "manifest.json").read_text() == before      # old report untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]  # no temporary folder left
    with pytest.raises(KeyboardInterrupt):
        write_report(run, tmp_path / "fresh")
    assert not (tmp_path / "fresh").exists()

    monkeypatch.setattr(reports, "write_all", real)
    (out / "figures" / "scenarios.svg").unlink()        # a file of its own report may be gone
    write_report(run, out, force=True)
    assert (out / "figures" / "scenarios.svg").exists() and (out / "report.html").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]
    (out / "stale.txt").write_text("the user's")          # but a file dosefind did not write is kept
    with pytest.raises(ValueError, match=r"holds files dosefind did not write \(stale.txt\)"):
        write_report(run, out, force=True)
    assert (out / "stale.txt").read_text() == "the user's"
