"""The report in a real browser: headless Chromium opens report.html from disk with no
network; no console message, a rendered DOM with every table, a screenshot that is not
blank.  The same script (tests/reports/browser.py) makes docs/report-screenshot.png."""

import pytest

import browser

pytestmark = pytest.mark.slow

requires_chromium = pytest.mark.skipif(
    browser.find_chromium() is None,
    reason="headless Chromium not installed (Debian package 'chromium'; .ci/run installs it)")


@requires_chromium
def test_report_renders_in_chromium_offline(bundled_report, tmp_path):
    out, _ = bundled_report
    res = browser.open_report(out / "report.html", tmp_path / "shot.png")
    assert res.console == [], f"console messages: {res.console}"
    n_tables = len(list((out / "tables").glob("*.csv")))
    assert res.dom.count("<table") == n_tables
    assert res.dom.count("<img") == len(list((out / "figures").glob("*.svg")))
    assert "CD7 CAR-T" in res.dom
    sd, levels = browser.pixel_stats(res.screenshot)
    assert sd > 0.05 and levels > 20, f"screenshot looks blank (grey sd {sd:.3f}, {levels} levels)"


@requires_chromium
def test_console_errors_are_caught(tmp_path):
    """The check is not vacuous: a page with a script error is reported."""
    page = tmp_path / "bad.html"
    page.write_text("<html><body><p>x</p><script>console.error('boom'); notDefined();</script></body></html>")
    res = browser.open_report(page, tmp_path / "bad.png", height=300)
    assert any("boom" in m for m in res.console)
    assert any("notDefined" in m for m in res.console)
    sd, _ = browser.pixel_stats(res.screenshot)
    assert sd < 0.05   # a nearly empty page counts as blank
