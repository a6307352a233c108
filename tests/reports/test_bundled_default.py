"""`dosefind run` with no study file: the bundled CD7 CAR-T study end to end (fewer
trials than the default, the same code path)."""

import json

import pandas as pd
import pytest

from dosefind.study import default_study

pytestmark = pytest.mark.slow


def test_bundled_default_end_to_end(bundled_report):
    out, output = bundled_report
    assert f"report: {out / 'report.html'}" in output.strip().splitlines()[-1]
    study = default_study()
    comp = pd.read_csv(out / "tables" / "comparison.csv")
    assert list(dict.fromkeys(comp["design"])) == ["3+3", "BOIN", "CRM"]
    scen = list(dict.fromkeys(comp["scenario"]))
    assert len(scen) == len(study.scenarios) and "Literature prior (median)" in scen
    # The literature-prior scenario is a real increasing curve from the fit.
    sc = pd.read_csv(out / "tables" / "scenarios.csv").set_index("scenario")
    curve = sc.loc["Literature prior (median)", [f"dose_{i}" for i in range(1, 6)]].astype(float).tolist()
    assert all(0 < p < 1 for p in curve) and curve == sorted(curve)
    m = json.loads((out / "manifest.json").read_text())
    assert m["n_trials"] == 200 and m["seed"] == study.seed
    assert m["study"]["sha256"] == study.sha256
    for name in ("report.html", "protocol.md"):
        assert (out / name).stat().st_size > 10_000
    # the bundled prior's evidence, cited (issue 12), in the page, the protocol and tables/
    ev = pd.read_csv(out / "tables" / "evidence.csv")
    assert ev["citation"].str.len().gt(0).all()
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'data-table="evidence"' in html and "J Clin Oncol 2021" in html
    assert "J Clin Oncol 2021" in (out / "protocol.md").read_text(encoding="utf-8")
