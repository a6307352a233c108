"""Issue 9: report file names are unique and readable, user text is inert in Markdown,
figures draw any name without warnings or boxes and scale to many scenarios, progress
covers every phase, and the manifest records what can change a number."""

import json
import re
import warnings

import pytest

from dosefind.reports.tables import md_text, slug, unique_slugs
from dosefind.runner import run_study
from dosefind.study import parse_study


def study_text(scenarios, designs=('type = "boin"\nlabel = "BOIN"',), title="t", method="exact"):
    body = "\n".join(f'[[designs]]\n{d}\n' for d in designs)
    body += "\n".join(f'[[scenarios]]\nname = {json.dumps(name)}\ntrue_prob_tox = {list(curve)}\n'
                      for name, curve in scenarios)
    return (f'[study]\ntitle = {json.dumps(title)}\ntarget = 0.3\nmax_n = 9\nn_trials = 50\nseed = 1\n'
            f'method = "{method}"\n[doses]\namounts = [1, 2, 3]\nunit = "mg"\n' + body)


def run(tmp_path, text, **kw):
    return run_study(parse_study(text, source="s.toml"), tmp_path / "report", **kw)


# ---------------------------------------------------------------------------- file names
def test_slugs_keep_letters_of_any_script_and_clashes_get_a_stable_suffix():
    assert slug("BOIN α") == "boin-α" and slug("低毒性") == "低毒性" and slug("MTD at DL2") == "mtd-at-dl2"
    names = ["s1", "S1 ", "低毒性", "高毒性", "BOIN α", "BOIN β", "", "***", "x" * 200]
    got = unique_slugs(names)
    assert len(set(got.values())) == len(names)                       # nothing overwrites anything
    assert got["低毒性"] == "低毒性" and got["BOIN α"] == "boin-α"      # readable where no clash
    assert re.fullmatch(r"s1-[0-9a-f]{6}", got["s1"]) and re.fullmatch(r"s1-[0-9a-f]{6}", got["S1 "])
    assert got == unique_slugs(list(reversed(names)))                  # stable: a name's own hash
    assert all(len(v.encode()) < 200 for v in got.values())


def test_report_files_of_clashing_names_are_all_written(tmp_path):
    names = ["s1", "S1 ", "低毒性", "高毒性"]
    curves = [(0.1, 0.3, 0.5), (0.05, 0.1, 0.3), (0.3, 0.5, 0.6), (0.02, 0.05, 0.1)]
    text = study_text(list(zip(names, curves)), designs=('type = "boin"\nlabel = "BOIN α"',
                                                         'type = "boin"\nlabel = "BOIN β"\nextrasafe = true'))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result, out = run(tmp_path, text)
    assert not [w for w in caught if "glyph" in str(w.message).lower()], [str(w.message) for w in caught]
    scen = sorted(p.stem for p in (out / "tables").glob("scenario-*.csv"))
    assert len(scen) == 4 and "scenario-低毒性" in scen and "scenario-高毒性" in scen
    assert len(list((out / "figures").glob("scenario-*.svg"))) == 4
    assert len(list((out / "tables").glob("design-boin-α-*.csv"))) == len(list((out / "tables").glob("design-boin-β-*.csv"))) > 0
    # Each scenario's table holds its own curve (nothing overwritten).
    import pandas as pd

    for name, curve in zip(names, curves):
        t = next(x for x in scen if pd.read_csv(out / "tables" / f"{x}.csv")["dose_1"].iloc[0] == curve[0])
        assert t
    # CJK has no glyphs in the installed fonts: the figures show a key, the caption says what it means.
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Key: S3 = 低毒性; S4 = 高毒性." in html
    svg = (out / "figures" / "comparison.svg").read_text(encoding="utf-8")
    assert "低毒性" not in svg and "S3" in svg


# ---------------------------------------------------------------------------- Markdown
def test_markdown_text_is_inert_and_readable():
    assert md_text("<script>x</script>") == "&lt;script>x&lt;/script>"
    assert md_text("a | b") == "a \\| b" and md_text("*bold* _it_ `code` [l](u)") == "\\*bold\\* \\_it\\_ \\`code\\` \\[l\\](u)"
    assert md_text("Escalate if DLTs <=") == "Escalate if DLTs <="        # not HTML: left as written
    assert md_text("R&D &amp;") == "R&D &amp;amp;"
    assert md_text("# not a heading", block=True) == "\\# not a heading"
    assert md_text("1. not a list", block=True) == "1\\. not a list"
    assert md_text("two\nlines") == "two lines"


def test_protocol_and_markdown_tables_escape_user_text(tmp_path):
    evil = "<img src=x onerror=alert(1)> | *x*"
    text = study_text([(evil, (0.1, 0.3, 0.5)), ("ok", (0.05, 0.1, 0.3))],
                      designs=(f'type = "boin"\nlabel = {json.dumps("B<b>OIN</b> | 1")}',),
                      title="<script>alert(1)</script>")
    text = text.replace('title = ', 'description = "# heading?\\n\\n<iframe src=x>"\ntitle = ', 1)
    _, out = run(tmp_path, text)
    md = [(out / "protocol.md").read_text(encoding="utf-8")]
    md += [p.read_text(encoding="utf-8") for p in (out / "tables").glob("*.md")]
    for doc in md:
        assert not re.search(r"<(img|script|b|iframe)\b", doc), doc[:500]
    protocol = md[0]
    assert "# Statistical design: &lt;script>alert(1)&lt;/script>" in protocol
    assert "\n\\# heading? &lt;iframe src=x>\n" in protocol
    # Escaped pipes keep every table row at its column count.
    for doc in md:
        for block in re.findall(r"(?:^\|.*\|$\n?)+", doc, flags=re.M):
            rows = [re.split(r"(?<!\\)\|", line.strip())[1:-1] for line in block.strip().splitlines()]
            assert len({len(r) for r in rows}) == 1, block


# ---------------------------------------------------------------------------- scale and progress
def test_many_scenarios_get_paged_figures_and_progress_covers_every_phase(tmp_path):
    from dosefind.reports import figures

    n = figures.PER_SCENARIO_MAX + 6
    scen = [(f"s{k}", (round(0.01 + 0.01 * k, 2), 0.3, 0.6)) for k in range(n)]
    calls = []
    result, out = run(tmp_path, study_text(scen, designs=('type = "boin"', 'type = "3+3"')),
                      progress=lambda *a: calls.append(a))
    every = sorted(p.stem for p in (out / "figures").glob("*.svg"))
    figs = [f for f in every if not f.endswith("-decisions")]      # one decision chart per design besides
    assert figs == ["comparison", "scenarios", "selection-page-01"]
    assert sorted(set(every) - set(figs)) == ["design-3-3-decisions", "design-boin-decisions"]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count("<img ") == len(every)
    phases = list(dict.fromkeys(c[0] for c in calls))
    assert phases == ["scenarios", "simulations", "tables", "charts", "figures", "writing"]
    for phase in phases:
        last = [c for c in calls if c[0] == phase][-1]
        assert last[1] == last[2], last                            # every phase ends complete
    sims = [c for c in calls if c[0] == "simulations"]
    assert {c[2] for c in sims} == {2 * n}                         # designs x scenarios
    assert [c for c in calls if c[0] == "figures"][-1][1] == len(figs)
    for c in (c for c in calls if c[0] == "figures"):
        assert 0 <= c[1] <= c[2]


def test_comparison_figure_pages_split_by_scenarios():
    from dosefind.reports.figures import PAGE_ROWS, _pages

    pages = _pages(list(range(2 * PAGE_ROWS + 1)))
    assert [len(p) for p in pages] == [PAGE_ROWS, PAGE_ROWS, 1]


# ---------------------------------------------------------------------------- manifest
def test_manifest_records_every_version_and_prior_fit_hashes(tmp_path):
    import hashlib
    from types import SimpleNamespace

    from dosefind.reports.manifest import DEPENDENCIES, input_hashes

    assert {"numpy", "scipy", "pandas", "pymc", "pytensor", "arviz", "xarray", "h5netcdf", "h5py",
            "matplotlib"} <= set(DEPENDENCIES)
    fit = tmp_path / "fit.nc"
    fit.write_bytes(b"not really netcdf")
    study = SimpleNamespace(scenarios=[SimpleNamespace(prior=str(fit)), SimpleNamespace(prior="bundled"),
                                       SimpleNamespace(prior=None)])
    assert input_hashes(study) == {str(fit): hashlib.sha256(b"not really netcdf").hexdigest()}
    _, out = run(tmp_path, study_text([("a", (0.1, 0.3, 0.5))]))
    m = json.loads((out / "manifest.json").read_text())
    assert m["python"] and m["prior_files_sha256"] == {}
    assert m["dependencies"]["pytensor"] and m["dependencies"]["xarray"] and m["dependencies"]["h5netcdf"]
