"""Decision charts agree with the designs' decision rules.

BOIN: every cell of the chart equals what ``BOIN.decide`` does with that many DLTs among
that many patients at a middle dose, and elimination cells are where the posterior
Pr(p > target | y, n) under Beta(1, 1) exceeds cutoff_eli (Liu & Yuan 2015, computed
here with scipy); the figure's table shows the chart's cells.  3+3: the chart's actions
are Storer's (1989) rules.  CRM: each restriction box is shown exactly when the design
applies it, checked on histories where the restriction changes the decision.
"""

import pytest
from scipy.stats import beta

from dosefind.designs import BOIN, CRM, ThreePlusThree
from dosefind.designs.modifiers import StopWhenTooToxic
from dosefind.reports.flowchart import decision_chart, decision_figure, figure_png
from dosefind.state import ReasonCode as R
from dosefind.state import TrialState

SKELETON = [0.05, 0.12, 0.25, 0.40, 0.55]


def figure_table(fig):
    cells = fig.axes[0].tables[0].get_celld()
    n_rows = 1 + max(r for r, _ in cells)
    n_cols = 1 + max(c for _, c in cells)
    return [[cells[(r, c)].get_text().get_text() for c in range(n_cols)] for r in range(n_rows)]


@pytest.mark.parametrize("target, n_earlystop", [(0.25, 100), (0.3, 100), (0.2, 12)])
def test_boin_chart_is_the_design_decision(target, n_earlystop):
    design = BOIN(target=target, num_doses=3, cohort_size=3, max_n=30, n_earlystop=n_earlystop)
    chart = decision_chart(design)
    ns = [int(h.removeprefix("n=")) for h in chart.header[1:]]
    assert ns == list(range(3, min(30, n_earlystop) + 1, 3))
    checked = 0
    for row in chart.rows:
        y = int(row[0])
        for n, cell in zip(ns, row[1:]):
            if y > n:
                assert cell == ""
                continue
            if n >= min(30, n_earlystop):      # the trial stops there (max_n / n_earlystop): checked by the table
                continue
            state = TrialState.from_outcomes("2" + "T" * y + "N" * (n - y), num_doses=3)
            d = design.decide(state)
            if d.code == R.ESCALATE:
                expected = "E"
            elif d.code == R.STAY:
                expected = "S"
            else:
                assert d.code == R.DE_ESCALATE
                eliminated = n >= 3 and beta.sf(target, y + 1, n - y + 1) > design.cutoff_eli
                expected = "DU" if eliminated else "D"
            assert cell == expected, (n, y)
            checked += 1
    assert checked > 20
    assert figure_table(decision_figure(design)) == [chart.header] + chart.rows


def test_boin_chart_matches_the_r_package_table():
    """BOIN 2.7 manual, get.boundary example: get.boundary(target = 0.3, ncohort = 10,
    cohortsize = 3)$boundary_tab at n = 3, 6, ..., 30 (the same printed rows as
    tests/published/test_boin_r_package.py)."""
    chart = decision_chart(BOIN(target=0.3, num_doses=5, cohort_size=3, max_n=30))
    esc = [0, 1, 2, 2, 3, 4, 4, 5, 6, 7]
    deesc = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    elim = [3, 4, 5, 7, 8, 9, 10, 11, 12, 14]
    for k in range(10):
        col = [row[k + 1] for row in chart.rows]
        assert max(i for i, c in enumerate(col) if c == "E") == esc[k]
        assert min(i for i, c in enumerate(col) if c in ("D", "DU")) == deesc[k]
        assert min(i for i, c in enumerate(col) if c == "DU") == elim[k]


#: Storer (1989): 0/3 escalate; 1/3 three more; >= 2 of 3 or 6 too toxic (the dose below
#: is expanded to six); <= 1/6 escalate; the lowest dose too toxic: no MTD.
STORER = ["escalate to the next dose", "treat 3 more at this dose", "too toxic: treat 3 more at the dose below",
          "escalate to the next dose", "too toxic: treat 3 more at the dose below",
          "stop: no MTD (lowest dose too toxic)", "treat 3 more at this dose", "stop: MTD = this dose"]


def test_three_plus_three_chart_is_storers_rule():
    design = ThreePlusThree(num_doses=5)
    chart = decision_chart(design)
    assert [r[2] for r in chart.rows] == STORER
    assert figure_table(decision_figure(design)) == [chart.header] + chart.rows


def test_three_plus_three_variants_show_in_the_chart():
    chart = decision_chart(ThreePlusThree(num_doses=4, expand_lower=False, expand_top=False))
    actions = [r[2] for r in chart.rows]
    assert actions[2] == actions[4] == "stop: MTD = the dose below"
    assert actions[6] == "stop: MTD = this dose"


def crm(**kw):
    return CRM(SKELETON, target=0.25, cohort_size=3, max_n=24, **kw)


@pytest.mark.parametrize("skip, after_dlt", [(False, False), (True, False), (False, True), (True, True)])
def test_crm_restriction_boxes_follow_the_design(skip, after_dlt):
    design = crm(skip_escalation=skip, escalate_after_dlt=after_dlt)
    steps = decision_chart(design).steps
    no_skip_box = "Restriction: escalate by at most one dose level above the current dose" in steps
    no_esc_box = any("no escalation when the last cohort" in s for s in steps)
    # 0/3 at dose 1: the model alone recommends dose 4 (checked with restrict=False).
    jump = design.decide(TrialState.from_outcomes("1NNN", num_doses=5)).next_dose
    assert no_skip_box == (jump == 2) and (no_skip_box or jump == 4)
    # 1/3 in the last cohort at dose 2 after 0/6 there: without the rule the model escalates.
    after = crm(skip_escalation=False, escalate_after_dlt=after_dlt).decide(
        TrialState.from_outcomes("1NNN 2NNN 2NNN 2TNN", num_doses=5)).next_dose
    assert no_esc_box == (after == 2) and (no_esc_box or after == 3)


def test_crm_safety_stop_or_warning():
    assert decision_chart(crm()).steps[-1].startswith("WARNING: no safety stop")
    steps = decision_chart(crm(stop_tox_cutoff=0.9)).steps
    assert "Safety stop: stop with no MTD if Pr(DLT rate at dose 1 > 0.25) > 0.9" in steps
    assert not any(s.startswith("WARNING") for s in steps)
    mod = StopWhenTooToxic(threshold=0.25, confidence=0.95, dose=1, min_n=3)
    steps = decision_chart(crm().then(mod)).steps
    assert f"Added rule: {mod.describe()}" in steps and not any(s.startswith("WARNING") for s in steps)
    fig = decision_figure(crm())
    texts = [t.get_text().replace("\n", " ") for t in fig.axes[0].texts]
    assert texts == decision_chart(crm()).steps
    assert figure_png(fig)[:8] == b"\x89PNG\r\n\x1a\n"
