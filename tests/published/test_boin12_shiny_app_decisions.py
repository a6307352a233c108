"""BOIN12 next-dose decisions against the MD Anderson BOIN12 Shiny app and the paper.

Source: the R package escalation (brockk/escalation, tests/testthat/test_boin12.R), whose
authors transcribed the decisions of the app at biostatistics.mdanderson.org/shinyapps/BOIN12
for every three-patient cohort at doses 1, 2 and 5 of five, under two settings, plus the
worked example of Lin et al. (2020, JCO Precision Oncology 4:1393, p. 1396) and the trial of
its Data Supplement (Section 6, Figure S2).  Cases escalation marks "Breaks the app" or
"ambiguous" (2NNE in setting 2, a tie) are left out, as there.

Setting 2 (phi_T 0.15, c_T 0.9) pins BOIN12's toxicity elimination from 3 DLTs: with 2 DLTs
in 3 patients at dose 1 Pr(DLT rate > 0.15 | Beta(3, 2)) = 0.988 > 0.9, yet the app keeps
treating dose 1, as the authors' get.boundary, which searches the elimination count from 3,
implies.  (BOIN's elimination table would stop the trial there.)
"""

import pytest

from dosefind import TrialState
from dosefind.designs import BOIN12

# setting 1: phi_T 0.35, phi_E 0.25, utility 100/40/60/0, c_T 0.95, c_E 0.9, N1 = 6
APP_1 = {
    "1EBB": 1, "1EEB": 1, "1EEE": 1, "1EET": 1, "1ETB": 1, "1ETT": 1, "1NBB": 1, "1NEB": 1, "1NEE": 1,
    "1NET": 2, "1NNB": 2, "1NNE": 2, "1NNN": 2, "1NNT": 2, "1NTB": 1, "1NTT": 1,
    "2BBB": 1, "2EBB": 1, "2EEB": 2, "2EEE": 2, "2EET": 2, "2ETB": 1, "2ETT": 1, "2NBB": 1, "2NEB": 2,
    "2NEE": 2, "2NET": 3, "2NNB": 3, "2NNE": 3, "2NNN": 3, "2NNT": 3, "2NTB": 1, "2NTT": 1, "2TBB": 1,
    "2TTB": 1, "2TTT": 1,
    "5BBB": 4, "5EBB": 4, "5EEB": 5, "5EEE": 5, "5EET": 5, "5ETB": 4, "5ETT": 4, "5NBB": 4, "5NEB": 5,
    "5NEE": 5, "5NET": 4, "5NNB": 4, "5NNE": 4, "5NNN": 4, "5NNT": 4, "5NTB": 4, "5NTT": 4, "5TBB": 4,
    "5TTB": 4, "5TTT": 4,
}
# setting 2: phi_T 0.15, phi_E 0.4, utility 100/50/30/0 (not additive), c_T 0.9, c_E 0.8
APP_2 = {
    "1EBB": 1, "1EEB": 1, "1EEE": 1, "1EET": 1, "1ETB": 1, "1ETT": 1, "1NBB": 1, "1NEB": 1, "1NEE": 1,
    "1NET": 1, "1NNB": 1, "1NNE": 2, "1NNN": 2, "1NTB": 1,
    "2BBB": 1, "2EBB": 1, "2EEB": 1, "2EEE": 2, "2EET": 1, "2ETB": 1, "2ETT": 1, "2NBB": 1, "2NEB": 1,
    "2NEE": 2, "2NET": 1, "2NNB": 1, "2NNN": 3, "2NNT": 1, "2NTB": 1, "2NTT": 1, "2TBB": 1, "2TTB": 1,
    "2TTT": 1,
    "5BBB": 4, "5EBB": 4, "5EEB": 4, "5EEE": 5, "5EET": 4, "5ETB": 4, "5ETT": 4, "5NBB": 4, "5NEB": 4,
    "5NEE": 5, "5NET": 4, "5NNB": 4, "5NNE": 4, "5NNN": 4, "5NNT": 4, "5NTB": 4, "5NTT": 4, "5TBB": 4,
    "5TTB": 4, "5TTT": 4,
}


def _setting(which):
    if which == 1:
        return BOIN12(phi_t=0.35, phi_e=0.25, num_doses=5, max_n=36, n_earlystop=12, n1=6, c_t=0.95, c_e=0.9,
                      utility={"eff_no_tox": 100, "no_eff_no_tox": 40, "eff_tox": 60, "no_eff_tox": 0})
    return BOIN12(phi_t=0.15, phi_e=0.4, num_doses=5, max_n=36, n_earlystop=12, n1=6, c_t=0.9, c_e=0.8,
                  utility={"eff_no_tox": 100, "no_eff_no_tox": 50, "eff_tox": 30, "no_eff_tox": 0})


@pytest.mark.parametrize("which, outcomes, dose",
                         [(1, k, v) for k, v in APP_1.items()] + [(2, k, v) for k, v in APP_2.items()])
def test_shiny_app_next_dose(which, outcomes, dose):
    dec = _setting(which).decide(TrialState.from_outcomes(outcomes, num_doses=5))
    assert not dec.stop and dec.next_dose == dose, dec.reason


def test_two_dlts_in_three_do_not_eliminate_with_phi_t_015():
    design = _setting(2)
    assert design.boundaries()["eliminate_if_dlt_ge"].tolist()[:3] == [3, 3, 3]
    dec = design.decide(TrialState.from_outcomes("1NBB", num_doses=5))
    assert (dec.next_dose, dec.code.value) == (1, "stay")
    # three DLTs do: Pr(DLT rate > 0.15 | Beta(4, 1)) = 1 - 0.15^4 > 0.9
    assert design.decide(TrialState.from_outcomes("1BBB", num_doses=5)).code.value == "lowest_too_toxic"


# Lin et al. (2020): p. 1396, and the Data Supplement's trial (Section 6, Figure S2), with
# 30 patients and a stop at 12 on a dose, as escalation sets them.
SUPPLEMENT_TRIAL = [("1NNN", 2), ("2NNB", 3), ("3NEE", 3), ("3NTN", 4), ("4ETE", 4), ("4NBE", 4), ("4BNN", 5),
                    ("5BEN", 5), ("5NBT", 4)]


def test_paper_worked_examples():
    design = BOIN12(phi_t=0.35, phi_e=0.25, num_doses=5, max_n=30, n_earlystop=12)
    dec = design.decide(TrialState.from_outcomes("1NNN 2ENT 3ETT 2EEN", num_doses=5))
    assert (dec.stop, dec.next_dose) == (False, 2)
    history = ""
    for cohort, dose in SUPPLEMENT_TRIAL:
        history = f"{history} {cohort}".strip()
        dec = design.decide(TrialState.from_outcomes(history, num_doses=5))
        assert (dec.stop, dec.next_dose) == (False, dose), (history, dec.reason)
    final = TrialState.from_outcomes(history + " 4NEN", num_doses=5)   # dose 4 reaches 12 patients
    assert design.decide(final).stop
    assert design.select_obd(final).obd == 4                            # escalation: "recommending dose 4"
