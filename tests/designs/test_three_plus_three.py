"""3+3 decisions cohort by cohort.

The expected decisions follow the rule as stated by Storer (1989, Biometrics 45:925) and
the review of Le Tourneau, Lee & Siu (2009, JNCI 101:708, "3+3 design" section): 0/3
escalate, 1/3 expand to 6, <=1/6 escalate, >=2 DLTs stop escalation, MTD = the highest
dose with <=1/6 below it.
"""

import pytest

from dosefind import TrialState
from dosefind.designs import ThreePlusThree


def decide(outcomes, num_doses=4, **kw):
    return ThreePlusThree(num_doses=num_doses, **kw).decide(TrialState.from_outcomes(outcomes, num_doses))


def mtd(outcomes, num_doses=4, **kw):
    return ThreePlusThree(num_doses=num_doses, **kw).select_mtd(TrialState.from_outcomes(outcomes, num_doses)).mtd


@pytest.mark.parametrize(
    "outcomes, next_dose",
    [
        ("", 1),                               # start at the lowest dose
        ("1NNN", 2),                           # 0/3 escalate
        ("1NNT", 1),                           # 1/3 treat 3 more
        ("1NNT 1NNN", 2),                      # 1/6 escalate
        ("1NNN 2NNN 3TNN 3NNN", 4),            # 1/6 escalate
        ("1NNN 2NNN 3TTN", 2),                 # 2/3 too toxic: expand the dose below to 6
        ("1NNN 2NNN 3TNN 3NTN", 2),            # 2/6 too toxic: expand the dose below
        ("1NNN 2NTN 2TNN", 1),                 # 2/6 at dose 2 -> expand dose 1
        ("1NNN 2NNN 3TTN 2TTN", 1),            # the expanded dose also too toxic: move down again
        ("1NNN 2NNN 3NNN 4NNN", 4),            # 0/3 at the top: 3 more at the top
    ],
)
def test_next_dose(outcomes, next_dose):
    d = decide(outcomes)
    assert not d.stop and d.next_dose == next_dose, d.reason


@pytest.mark.parametrize(
    "outcomes, expected_mtd",
    [
        ("1TTN", None),                         # lowest dose too toxic: no MTD
        ("1NNT 1TNN", None),                    # 2/6 at the lowest dose
        ("1NNN 2NNN 3TTN 2NNN", 2),             # dose 2 confirmed at 0/6
        ("1NNN 2NNN 3TTN 2TNN", 2),             # 1/6 at dose 2
        ("1NNT 1NNN 2TTT", 1),                  # dose 1 already has 6: stop at once, MTD 1
        ("1NNN 2NNN 3NNN 4NNN 4NTN", 4),        # top dose 1/6
        ("1NNN 2NNN 3TTN 2TTN 1NNN", 1),        # walk down to dose 1, confirmed 0/6
    ],
)
def test_stop_and_mtd(outcomes, expected_mtd):
    d = decide(outcomes)
    assert d.stop, d.reason
    assert mtd(outcomes) == expected_mtd


def test_reasons_are_readable():
    assert decide("1NNT").reason == "1/3 DLTs at dose 1: treat 3 more at dose 1"
    assert decide("1TTN").reason == "2/3 DLTs at dose 1: too toxic, and it is the lowest dose: stop, no MTD"


def test_variant_no_expansion_of_lower_dose():
    d = decide("1NNN 2NNN 3TTN", expand_lower=False)
    assert d.stop
    assert mtd("1NNN 2NNN 3TTN", expand_lower=False) == 2
    # the standard rule does not declare an MTD with three patients
    assert mtd("1NNN 2NNN 3TTN") is None


def test_variant_no_confirmation_at_top():
    d = decide("1NNN 2NNN 3NNN 4NNN", expand_top=False)
    assert d.stop and mtd("1NNN 2NNN 3NNN 4NNN", expand_top=False) == 4


def test_estimates_are_observed_rates():
    sel = ThreePlusThree(num_doses=3).select_mtd(TrialState.from_outcomes("1NNN 2NNT 2NNN 3TTN", 3))
    assert sel.estimates == (0.0, 1 / 6, 2 / 3)


def test_start_dose_and_max_n():
    assert decide("", start_dose=2).next_dose == 2
    d = decide("1NNN 2NNN", max_n=6)
    assert d.stop and "maximum sample size" in d.reason


def test_bad_history_is_explained():
    with pytest.raises(ValueError, match="needs 3 or 6 patients at the current dose, but dose 1 has 2"):
        decide("1NN")


def test_parameter_errors():
    with pytest.raises(ValueError, match="num_doses must be >= 1"):
        ThreePlusThree(num_doses=0)
    with pytest.raises(ValueError, match="start_dose must be between 1 and 3"):
        ThreePlusThree(num_doses=3, start_dose=4)
    with pytest.raises(ValueError, match="the trial state has 5 doses but the design has 3"):
        ThreePlusThree(num_doses=3).decide(TrialState.empty(5))
