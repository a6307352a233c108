"""The overly toxic limit: a dose whose true DLT rate is above 1.4 x target is never a
correct selection (BOIN's default p.tox = 1.4 * target, "the lowest toxicity probability
that is deemed overly toxic", Liu & Yuan 2015, JRSS C 64:507-523, section 2.2).  The
scenarios put a rate just above the limit, where 1.5 x target would call it correct.
"""

import pytest

from dosefind.designs import BOIN
from dosefind.simulations import simulate
from dosefind.simulations.results import correct_doses, none_is_correct, true_mtd_index

TARGET = 0.25                     # limit 0.35
JUST_ABOVE = [0.05, 0.10, 0.36, 0.50]   # dose 3 is closest to 0.25 (0.11 < 0.15) but above 0.35


def test_a_dose_just_above_the_limit_is_not_correct():
    assert correct_doses(JUST_ABOVE, TARGET) == (1,)
    assert true_mtd_index(JUST_ABOVE, TARGET) == 1
    # just below the limit the closest dose is correct
    assert correct_doses([0.05, 0.10, 0.34, 0.50], TARGET) == (2,)


def test_lowest_dose_just_above_the_limit_means_no_dose_is_correct():
    assert none_is_correct([0.36, 0.5, 0.6], TARGET)
    assert not none_is_correct([0.34, 0.5, 0.6], TARGET)
    assert correct_doses([0.36, 0.5, 0.6], TARGET) == ()


def test_pcs_counts_only_doses_within_the_limit():
    d = BOIN(target=TARGET, num_doses=4, cohort_size=3, max_n=18)
    oc = simulate(d, JUST_ABOVE, method="exact")
    assert oc.pcs == pytest.approx(oc.selection_pct[1], abs=1e-9)
    assert oc.overdose_selection_pct == pytest.approx(oc.selection_pct[2] + oc.selection_pct[3], abs=1e-9)
    low = simulate(d, [0.36, 0.5, 0.6, 0.7], method="exact")
    assert low.pcs == pytest.approx(low.no_selection_pct, abs=1e-9)
