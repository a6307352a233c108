"""Issue 12: a design's own ``describe()`` says the right thing, so the report takes it as
it is (dosefind/reports/design_text.py rewrites nothing).

* CRM / TITE-CRM: ``prior_var`` is the variance of beta (crm.py builds its quadrature with
  SD ``sqrt(prior_var)``, as dfcrm's default ``scale = sqrt(1.34)``), so the text gives
  both; the skeleton is at 3 decimals, as the report's skeleton table shows it.
* BOIN: the text refers to the decision table (``boundaries()``) and does not list it;
  ``describe(detail=True)`` spells the table out, clause by clause, from ``boundaries()``.
"""

import math
import re

import pandas as pd
import pytest

from dosefind.designs import BOIN, CRM, TITECRM
from dosefind.reports.design_text import design_text


@pytest.mark.parametrize("make", [
    lambda v: CRM([0.05, 0.12, 0.25, 0.4], target=0.25, prior_var=v),
    lambda v: TITECRM([0.05, 0.12, 0.25, 0.4], target=0.25, prior_var=v, dlt_window=28),
])
@pytest.mark.parametrize("var", [1.34, 4.0, 0.5])
def test_crm_prior_states_variance_and_sd(make, var):
    text = make(var).describe()
    assert f"Normal(0, {var:g}) prior (mean 0, variance {var:g}, standard deviation {math.sqrt(var):.3g})" in text
    assert text.count("Normal(0,") == 1


@pytest.mark.parametrize("cls", [CRM, TITECRM])
def test_skeleton_is_written_at_three_decimals(cls):
    kw = {"dlt_window": 28} if cls is TITECRM else {}
    design = cls([0.05, 0.1234, 0.25, 0.4], target=0.25, **kw)
    skel = re.search(r"skeleton s = \(([^)]*)\)", design.describe()).group(1)
    assert skel == "0.050, 0.123, 0.250, 0.400"


def test_boin_refers_to_its_decision_table_and_detail_spells_it_out():
    boin = BOIN(target=0.3, num_doses=5, max_n=18)
    text = boin.describe()
    assert "n=3:" not in text and "the decision table gives these boundaries as numbers of DLTs" in text
    assert design_text(boin) == text
    full = boin.describe(detail=True)
    assert full.startswith(text)
    clauses = full[len(text):].removeprefix(" Decision table: ").rstrip(".").split("; ")
    tab = boin.boundaries()
    assert len(clauses) == len(tab)
    for clause, r in zip(clauses, tab.itertuples()):
        want = f"n={r.n}: escalate if DLTs <= {r.escalate_if_dlt_le}, de-escalate if >= {r.deescalate_if_dlt_ge}"
        if not pd.isna(r.eliminate_if_dlt_ge):
            want += f", eliminate if >= {r.eliminate_if_dlt_ge}"
        assert clause == want


def test_liu_yuan_boundaries_for_target_0_3_in_the_detail():
    # Liu and Yuan (2015), Table 1 / R BOIN get.boundary(target = 0.3): lambda_e = 0.236,
    # lambda_d = 0.358; n = 3: escalate if 0 DLTs, de-escalate if >= 2, eliminate if 3.
    boin = BOIN(target=0.3, num_doses=5, max_n=9)
    text = boin.describe(detail=True)
    assert "lambda_e = 0.2365" in text and "lambda_d = 0.3585" in text
    assert "n=3: escalate if DLTs <= 0, de-escalate if >= 2, eliminate if >= 3" in text


def test_modified_design_text_is_the_base_text():
    from dosefind.designs import StopAtN

    crm = CRM([0.05, 0.12, 0.25, 0.4], target=0.25).then(StopAtN(12))
    assert design_text(crm) == crm.base.describe()
