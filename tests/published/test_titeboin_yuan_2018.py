"""TITE-BOIN against the paper's decision table and TITEgBOIN's documented rules.

1. Yuan, Lin, Li, Nie & Warren (2018), Clin Cancer Res 24:4921, Table 1 (target DLT rate
   0.2, cohorts of 3, accrual suspended when more than 50% are pending), as reprinted in
   PMC9260438, Table 1 (Contemporary Clinical Trials Communications 2022; "[22]" there is
   the TITE-BOIN paper).  The table gives, by number treated n, DLTs y and pending m at
   the current dose, the decision and the STFT thresholds (printed to 2 decimals).
2. TITEgBOIN 0.4.0 (R/next_TITE_QuasiBOIN.R, R/select_mtd_TITE_QuasiBOIN.R): the help-page
   examples, worked by hand from the package's formulas (comments give the arithmetic).
"""

import numpy as np
import pytest

from dosefind.designs.boin import BOIN
from dosefind.designs.tite_boin import TITEBOIN
from dosefind.state import Patient, ReasonCode, TrialState

W = 90.0  # any window: only STFT = sum(u)/W matters


def state_at_dose2(n, y, m, stft, num_doses=5):
    """Dose 1: 3 complete, no DLT.  Current dose 2: y DLTs, m pending with total STFT, the
    rest complete without DLT."""
    pts = [Patient(0, 0)] * 3
    pts += [Patient(1, 1, followup=10.0)] * y + [Patient(1, 0)] * (n - y - m)
    pts += [Patient(1, 0, complete=False, followup=stft / m * W)] * m if m else []
    return TrialState.from_patients(pts, num_doses)


E, S, D, DX, WAIT = "E", "S", "D", "DX", "W"
# (n, y values, m values, decision) for rows without an STFT threshold.
TABLE = [
    (3, [0], [0, 1], E), (3, [0], [2, 3], WAIT), (3, [1], [0, 1, 2], D), (3, [2, 3], [0, 1], DX),
    (6, [0], [0, 1, 2, 3], E), (6, [0], [4, 5, 6], WAIT), (6, [1], [0, 1, 2, 3], S), (6, [1], [4, 5], WAIT),
    (6, [2], [0, 1, 2, 3, 4], D), (6, [3, 4, 5, 6], [0, 1, 2, 3], DX),
    (9, [0], [0, 1, 2, 3, 4], E), (9, [0], [5, 6, 7, 8, 9], WAIT), (9, [1], [0, 1, 2], E),
    (9, [1], [5, 6, 7, 8], WAIT), (9, [2], [0], S), (9, [2], [5, 6, 7], WAIT), (9, [3], [0, 1, 2, 3, 4, 5, 6], D),
    (9, [4, 5, 6, 7, 8, 9], [0, 1, 2, 3, 4, 5], DX),
]
# (n, y, m, threshold, decision at or above, decision below) for the STFT rows; the table's
# "> t" / "<= t" and ">= t" / "< t" are checked 0.01 either side of the printed t.
THRESHOLDS = [
    (9, 1, 3, 0.77, E, S), (9, 1, 4, 2.15, E, S),
    (9, 2, 1, 0.52, S, D), (9, 2, 2, 1.59, S, D), (9, 2, 3, 2.66, S, D), (9, 2, 4, 3.73, S, D),
]


def outcome(decision):
    if decision.action == "wait":
        assert decision.code == ReasonCode.WAIT_PENDING
        return WAIT
    if decision.dose_index == 2:
        return E
    if decision.dose_index == 1:
        return S
    assert decision.dose_index == 0
    return DX if "eliminat" in decision.reason else D


@pytest.fixture(scope="module")
def paper():
    return TITEBOIN(target=0.2, num_doses=5, cohort_size=3, max_n=30, dlt_window=W, estimator="imputation")


@pytest.mark.parametrize("n,ys,ms,expected", TABLE)
def test_paper_table_rows(paper, n, ys, ms, expected):
    for y in ys:
        for m in ms:
            if y + m > n:
                continue
            for stft in ([0.0] if m == 0 else [0.0, m / 2, m - 0.01]):
                got = outcome(paper.decide(state_at_dose2(n, y, m, stft)))
                assert got == expected, (n, y, m, stft)


@pytest.mark.parametrize("n,y,m,t,above,below", THRESHOLDS)
def test_paper_table_stft_thresholds(paper, n, y, m, t, above, below):
    for stft in (t + 0.01, min(m - 0.01, t + 0.5)):
        assert outcome(paper.decide(state_at_dose2(n, y, m, stft))) == above, stft
    for stft in (t - 0.01, max(0.0, t - 0.5)):
        assert outcome(paper.decide(state_at_dose2(n, y, m, stft))) == below, stft


def test_reference_implementation_differs_where_documented():
    # TITEgBOIN suspends whenever more than half are pending (3 treated, 1 DLT, 2 pending),
    # where the paper's table de-escalates at once; and TITEgBOIN de-escalates on pending
    # data with y/n below the target (6 treated, 1 DLT, 3 pending, no follow-up:
    # 1 / (6 - 3 + 0) = 0.333 >= lambda_d = 0.238), where the table stays.
    ref = TITEBOIN(target=0.2, num_doses=5, cohort_size=3, max_n=30, dlt_window=W)
    assert outcome(ref.decide(state_at_dose2(3, 1, 2, 0.5))) == WAIT
    assert outcome(ref.decide(state_at_dose2(6, 1, 3, 0.0))) == D


# ---------------------------------------------------------------- TITEgBOIN help pages
def test_next_tite_quasiboin_help_example():
    # next_TITE_QuasiBOIN(target=0.3, n=c(3,3,4,4,4,0), npend=c(0,0,0,1,2,0), y=c(0,0,1,1,1,0),
    #   ft=c(0,0,0,14,28,0), d=5, maxt=28, maxpen=0.5, n.earlystop=10):
    # dose 5: npend 2 > 4 * 0.5 is FALSE (no suspension); mu = 1 / (4 - 2 + 28/28) = 0.3333,
    # between lambda_e = 0.2365 and lambda_d = 0.3585 -> stay at dose 5.
    pts = ([Patient(0, 0)] * 3 + [Patient(1, 0)] * 3 + [Patient(2, 1, followup=5.0)] + [Patient(2, 0)] * 3
           + [Patient(3, 1, followup=5.0)] + [Patient(3, 0)] * 2 + [Patient(3, 0, complete=False, followup=14.0)]
           + [Patient(4, 1, followup=5.0), Patient(4, 0)] + [Patient(4, 0, complete=False, followup=14.0)] * 2)
    state = TrialState.from_patients(pts, 6)
    design = TITEBOIN(target=0.3, num_doses=6, cohort_size=1, max_n=30, dlt_window=28, n_earlystop=10)
    d = design.decide(state)
    assert d.next_dose == 5 and d.code == ReasonCode.STAY
    assert design.tox_estimates(state)[4] == pytest.approx(1 / 3)
    # The same patients with no follow-up yet: mu = 1 / (4 - 2 + 0) = 0.5 >= lambda_d -> dose 4.
    fresh = TrialState.from_patients(pts[:-2] + [Patient(4, 0, complete=False, followup=0.0)] * 2, 6)
    assert design.decide(fresh).next_dose == 4
    # A third pending patient (3 > 5 * 0.5): suspended.
    more = TrialState.from_patients(pts + [Patient(4, 0, complete=False, followup=1.0)], 6)
    assert design.decide(more).code == ReasonCode.WAIT_PENDING


def test_select_mtd_help_example():
    # select_mtd_TITE_QuasiBOIN(target=0.3, ntox=c(0,0,1,2,3,0), npts=c(3,3,6,9,9,0)): no
    # elimination; (y + 0.005)/(n + 0.01) = 0.0017, 0.0017, 0.1672, 0.2225, 0.3335 (already
    # increasing); closest to 0.3 is dose 5.
    s = TrialState.from_counts([3, 3, 6, 9, 9, 0], [0, 0, 1, 2, 3, 0], current_dose=5)
    sel = TITEBOIN(target=0.3, num_doses=6, max_n=30, dlt_window=28).select_mtd(s)
    assert sel.mtd == 5
    assert sel.estimates[:5] == pytest.approx([0.0017, 0.0017, 0.1672, 0.2225, 0.3335], abs=1e-4)
    assert sel.estimates[5] is None


def test_select_mtd_smoothing_0005_versus_boin_005():
    # Target 0.17, "1NNN 2TNN".  TITEgBOIN: (0.005/3.01, 1.005/3.01) = (0.00166, 0.33389),
    # distances 0.16834 and 0.16389 -> dose 2.  BOIN 2.7: (0.05/3.1, 1.05/3.1) = (0.01613,
    # 0.33871), distances 0.15387 and 0.16871 -> dose 1.
    s = TrialState.from_outcomes("1NNN 2TNN", num_doses=4)
    tite = TITEBOIN(target=0.17, num_doses=4, max_n=30, dlt_window=28)
    as_boin = TITEBOIN(target=0.17, num_doses=4, max_n=30, dlt_window=28, selection_prior=0.05)
    assert tite.select_mtd(s).mtd == 2
    assert as_boin.select_mtd(s).mtd == 1 == BOIN(target=0.17, num_doses=4, max_n=30).select_mtd(s).mtd
