"""BOIN decisions cohort by cohort, safety rules, MTD selection and validation.

Expected values come from the BOIN rules worked out by hand (boundaries for target 0.3,
n=3: escalate if 0 DLTs, de-escalate if >= 2, eliminate if 3; n=9: <= 2, >= 4, >= 5) or
from exact calculation with scipy in the test, never from dosefind's own output.
"""

import itertools
import warnings

import numpy as np
import pytest
from scipy.optimize import isotonic_regression
from scipy.stats import beta

from dosefind.designs import BOIN, StopAtN
from dosefind.designs.isotonic import pava
from dosefind.state import TrialState


def boin(**kw):
    args = dict(target=0.3, num_doses=5, cohort_size=3, max_n=30)
    args.update(kw)
    return BOIN(**args)


def decide(design, outcomes):
    return design.decide(TrialState.from_outcomes(outcomes, num_doses=design.num_doses))


# ---------------------------------------------------------------- cohort by cohort
@pytest.mark.parametrize("outcomes, next_dose, word", [
    ("", 1, "start"),
    ("1NNN", 2, "escalate"),                   # 0/3 <= 0
    ("1NNN 2NNT", 2, "stay"),                  # 1/3 between 0 and 2
    ("1NNN 2NNT 2NNN", 3, "escalate"),         # 1/6 <= 1
    ("1NNN 2NNT 2NNN 3NTT", 2, "de-escalate"),  # 2/3 >= 2
    ("1NNN 2NNT 2NNN 3NTT 2NNN", 3, "escalate"),  # 1/9 <= 2
    ("1NNN 2NNT 2NNN 3NTT 2NNN 3NNT", 2, "de-escalate"),  # 3/6 >= ceil(0.3585*6) = 3
    ("1NNN 2NNN 3NNN 4NNT 4NNN 4NTT", 4, "stay"),  # 3/9: 2 < 3 < 4
])
def test_cohort_by_cohort(outcomes, next_dose, word):
    d = decide(boin(), outcomes)
    assert d.next_dose == next_dose and not d.stop
    assert d.reason.startswith(word)


def test_reason_names_counts_dose_and_boundary():
    d = decide(boin(), "1NNN 2NNN")
    assert d.reason == "escalate: 0/3 DLTs at dose 2 <= 0 (escalation boundary at n=3)"


def test_no_escalation_from_the_top_dose():
    d = decide(boin(num_doses=2), "1NNN 2NNN")
    assert d.next_dose == 2 and "highest dose" in d.reason


def test_lowest_dose_cannot_de_escalate():
    d = decide(boin(), "1NTT")                  # 2/3 >= 2 but not eliminated (Pr < 0.95)
    assert beta.sf(0.3, 1 + 2, 1 + 1) < 0.95
    assert d.next_dose == 1 and "lowest dose" in d.reason


def test_trial_stops_at_max_n():
    d = decide(boin(max_n=6), "1NNN 2NNN")
    assert d.stop and "maximum sample size" in d.reason


# ---------------------------------------------------------------- elimination
def test_elimination_de_escalates_and_blocks_re_escalation():
    design = boin()
    assert beta.sf(0.3, 1 + 3, 1 + 0) > 0.95     # 3/3 at target 0.3 is eliminated
    d = decide(design, "1NNN 2TTT")
    assert d.next_dose == 1 and "eliminate" in d.reason
    d = decide(design, "1NNN 2TTT 1NNN")         # 0/6 would escalate, but dose 2 is out
    assert d.next_dose == 1 and "dose 2 is eliminated" in d.reason
    sel = design.select_mtd(TrialState.from_outcomes("1NNN 2TTT 1NNN", 5))
    assert sel.mtd == 1 and sel.details["eliminated"] == [2, 3, 4, 5]


def test_lowest_dose_eliminated_stops_with_no_mtd():
    design = boin()
    d = decide(design, "1TTT")
    assert d.stop and "lowest dose is too toxic" in d.reason
    sel = design.select_mtd(TrialState.from_outcomes("1TTT", 5))
    assert sel.mtd is None and sel.estimates[0] is not None


def test_elimination_needs_three_patients():
    design = boin(cohort_size=1)
    d = decide(design, "1N 2TT")                  # 2/2: de-escalate, no elimination yet
    assert d.next_dose == 1 and "eliminate" not in d.reason
    assert decide(design, "1N 2TT 1N").next_dose == 2


def test_cutoff_eli_changes_elimination():
    # 4/6 at target 0.3: Pr(p > 0.3) is between 0.95 and 0.99
    p = beta.sf(0.3, 1 + 4, 1 + 2)
    assert 0.95 < p < 0.99
    assert "eliminate" in decide(boin(), "1NNN 2NTT 2TTN").reason
    assert "eliminate" not in decide(boin(cutoff_eli=0.99), "1NNN 2NTT 2TTN").reason


# ---------------------------------------------------------------- extrasafe
def test_extrasafe_stops_earlier_at_the_lowest_dose():
    # 2/3 at dose 1: Pr(p > 0.3) = 0.916 > 0.95 - 0.05 but < 0.95
    p = beta.sf(0.3, 1 + 2, 1 + 1)
    assert 0.90 < p < 0.95
    assert not decide(boin(), "1NTT").stop
    d = decide(boin(extrasafe=True), "1NTT")
    assert d.stop and "extra safety" in d.reason
    assert boin(extrasafe=True).select_mtd(TrialState.from_outcomes("1NTT", 5)).mtd is None
    # a larger offset makes it stricter: 1/3 gives Pr = 0.6517 > 0.95 - 0.3
    assert decide(boin(extrasafe=True, offset=0.3), "1NTN").stop
    assert not decide(boin(extrasafe=True), "1NTN").stop


def test_extrasafe_only_where_elimination_is_possible_as_in_get_oc():
    # target 0.5, 3/3 at dose 1: Pr(p > 0.5) = 1 - 0.5^4 = 0.9375, so no elimination
    # boundary exists at n=3; get.oc checks extrasafe only inside that branch, so the trial
    # goes on, while select.mtd (no such condition) declares no MTD.
    assert 0.90 < beta.sf(0.5, 4, 1) < 0.95
    design = boin(target=0.5, extrasafe=True)
    d = decide(design, "1TTT")
    assert not d.stop and d.next_dose == 1
    assert design.select_mtd(TrialState.from_outcomes("1TTT", 5)).mtd is None


# ---------------------------------------------------------------- n_earlystop
def test_n_earlystop_stops_only_when_the_rule_stays():
    design = boin(n_earlystop=9)
    # 2/9 at dose 3: escalate (<= 2), so the trial goes on even with 9 patients there
    d = decide(design, "1NNN 2NNN 3NTN 3NNN 3TNN")
    assert not d.stop and d.next_dose == 4
    # 3/9: stay -> stop
    d = decide(design, "1NNN 2NNN 3NTN 3NNN 3TTN")
    assert d.stop and "n_earlystop=9" in d.reason
    # 4/9 at dose 3: de-escalate, so it goes on
    d = decide(design, "1NNN 2NNN 3NTN 3NNT 3TTN")
    assert not d.stop and d.next_dose == 2


def test_n_earlystop_at_the_edges():
    # at the lowest dose with DLTs >= de-escalation boundary (4/9, not eliminated): stop
    assert beta.sf(0.3, 1 + 4, 1 + 5) < 0.95
    assert decide(boin(n_earlystop=9), "1TTN 1NNN 1NTN").stop
    # at the highest dose with DLTs <= escalation boundary: stop
    assert decide(boin(num_doses=2, n_earlystop=9), "1NNN 2NNN 2NNN 2NNN").stop
    # below an eliminated dose with DLTs <= escalation boundary: stop
    assert decide(boin(n_earlystop=9), "1NNN 2TTT 1NNN 1NNN").stop
    # fewer patients than n_earlystop: never
    assert not decide(boin(n_earlystop=12), "1NNN 2NNN 3NTN 3NNN 3TTN").stop


def test_low_n_earlystop_warns_like_the_package():
    with pytest.warns(UserWarning, match="n_earlystop=6 is too low"):
        boin(n_earlystop=6)


# ---------------------------------------------------------------- MTD selection
def test_ties_go_up_below_target_and_down_above_target():
    # 1/3 then 0/3: pooled by PAVA into one value well below 0.3 -> the higher dose
    sel = BOIN(target=0.3, num_doses=2).select_mtd(TrialState.from_counts([3, 3], [1, 0]))
    assert sel.estimates[0] == sel.estimates[1] < 0.3
    assert sel.mtd == 2
    # 3/4 then 2/4 (no elimination with cutoff 0.99): pooled above 0.3 -> the lower dose
    sel = BOIN(target=0.3, num_doses=2, cutoff_eli=0.99).select_mtd(TrialState.from_counts([4, 4], [3, 2]))
    assert sel.estimates[0] == sel.estimates[1] > 0.3
    assert sel.mtd == 1


def test_pooled_estimate_is_the_inverse_variance_weighted_mean():
    y, n = np.array([1.0, 0.0]), np.array([3.0, 3.0])
    p = (y + 0.05) / (n + 0.1)
    w = 1 / ((y + 0.05) * (n - y + 0.05) / ((n + 0.1) ** 2 * (n + 1.1)))
    expected = round(float((p * w).sum() / w.sum()), 4)
    sel = BOIN(target=0.3, num_doses=2).select_mtd(TrialState.from_counts([3, 3], [1, 0]))
    assert sel.estimates == (expected, expected)


def test_bound_mtd_excludes_doses_at_or_above_lambda_d():
    state = TrialState.from_counts([3, 12], [0, 5])
    phat2 = 5.05 / 12.1                           # 0.417: closest to 0.3, but >= lambda_d 0.3585
    assert abs(phat2 - 0.3) < abs(0.05 / 3.1 - 0.3) and phat2 > 0.3585
    assert BOIN(target=0.3, num_doses=2).select_mtd(state).mtd == 2
    assert BOIN(target=0.3, num_doses=2, bound_mtd=True).select_mtd(state).mtd == 1
    only = TrialState.from_counts([12], [5])
    sel = BOIN(target=0.3, num_doses=1, bound_mtd=True).select_mtd(only)
    assert sel.mtd is None and "lambda_d" in sel.reason


def test_no_patients_no_mtd():
    sel = boin().select_mtd(TrialState.empty(5))
    assert sel.mtd is None and sel.estimates == (None,) * 5


def test_pava_matches_scipy_and_a_hand_example():
    assert pava([0.1, 0.4, 0.2, 0.5]).tolist() == pytest.approx([0.1, 0.3, 0.3, 0.5])
    assert pava([0.5, 0.1], [1, 3]).tolist() == pytest.approx([0.2, 0.2])
    rng = np.random.default_rng(1)
    for _ in range(200):
        k = rng.integers(1, 8)
        x, w = rng.random(k), rng.random(k) + 0.1
        assert pava(x, w) == pytest.approx(isotonic_regression(x, weights=w).x, abs=1e-12)


# ---------------------------------------------------------------- tables, params, text
def test_default_trial_size_is_ten_cohorts():
    assert boin(max_n=None).max_n == 30
    assert boin(max_n=None, n_cohorts=8, cohort_size=4).max_n == 32
    assert boin(max_n=24).n_cohorts == 8


def test_params_rebuild_and_describe():
    d = boin(extrasafe=True, n_earlystop=12, bound_mtd=True)
    clone = BOIN(**d.params())
    assert clone.params() == d.params()
    text = d.describe()
    for phrase in ("target DLT rate of 0.3", "0.2365", "0.3585", "0.95", "extra safety", "12 patients",
                   "isotonic", "Liu and Yuan"):
        assert phrase in text


def test_works_inside_a_modifier_chain():
    chained = boin().then(StopAtN(12))
    assert chained.boundaries()["n"].tolist()[:2] == [3, 6]
    assert decide(chained, "1NNN 2NNN 3NNN 4NNN").stop


@pytest.mark.parametrize("kwargs, message", [
    (dict(target=1.3), r"target must be between 0 and 1 \(exclusive\), got 1.3"),
    (dict(target=0.7), r"target must be between 0.05 and 0.6 for BOIN, got 0.7 \(the range of BOIN 2.7.s get.boundary"),
    (dict(target="x"), r"target must be a number, got 'x'"),
    (dict(p_saf=0.35), r"p_saf must be between 0 and target \(0.3\), exclusive, got 0.35"),
    (dict(p_saf=0.29), r"p_saf must be at most 0.9 \* target \(0.27\).*got 0.29"),
    (dict(p_tox=0.2), r"p_tox must be between target \(0.3\) and 1, exclusive, got 0.2"),
    (dict(p_tox=0.31), r"p_tox must be at least 1.1 \* target \(0.33\).*got 0.31"),
    (dict(cutoff_eli=1.0), r"cutoff_eli must be between 0 and 1 \(exclusive\), got 1.0"),
    (dict(offset=0.5), r"offset must be between 0 and 0.5 \(exclusive\), got 0.5"),
    (dict(offset=0), r"offset must be between 0 and 0.5 \(exclusive\), got 0"),
    (dict(offset=0.2, cutoff_eli=0.15), r"offset must be smaller than cutoff_eli \(0.15\), got 0.2"),
    (dict(n_earlystop=0), r"n_earlystop must be >= 1, got 0"),
    (dict(n_earlystop=2.5), r"n_earlystop must be a whole number, got 2.5"),
    (dict(extrasafe="yes"), r"extrasafe must be true or false \(a boolean, not text or a number\), got .yes."),
    (dict(bound_mtd=1), r"bound_mtd must be true or false \(a boolean, not text or a number\), got 1"),
    (dict(max_n=31, n_cohorts=10), r"max_n \(31\) must equal n_cohorts \* cohort_size \(10 \* 3 = 30\)"),
    (dict(n_cohorts=0), r"n_cohorts must be >= 1, got 0"),
    (dict(max_n=0), r"max_n must be >= 1, got 0"),
    (dict(cohort_size=0), r"cohort_size must be >= 1, got 0"),
    (dict(start_dose=6), r"start_dose must be between 1 and 5, got 6"),
    (dict(num_doses=None), r"num_doses must be given"),
])
def test_validation_messages(kwargs, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match=message):
            boin(**kwargs)


def test_select_mtd_details_are_beta_posterior_summaries_on_the_right_dose():
    """select.mtd's posterior summaries, computed independently here with scipy.

    BOIN 2.7's select.mtd uses a Beta(y + 0.05, n - y + 0.05) posterior per treated dose:
    Pr(p > target) and 2.5% / 97.5% quantiles, then makes them monotone by PAVA. With
    observed rates already increasing no pooling happens, so each value is the plain Beta
    summary of its own dose. Dose 2 is untried: the package looks these up by dose number
    in a vector of treated doses only (a misalignment); dosefind attaches them to the
    dose they belong to and leaves untried doses empty.
    """
    from scipy.stats import beta

    design = BOIN(target=0.3, num_doses=4, cohort_size=3, max_n=30)
    n, y = [6, 0, 9, 3], [0, 0, 2, 2]
    sel = design.select_mtd(TrialState.from_counts(n, y))
    d = sel.details
    for j in (0, 2, 3):
        a, b = y[j] + 0.05, n[j] - y[j] + 0.05
        assert d["prob_overdose"][j] == pytest.approx(beta.sf(0.3, a, b), abs=5e-5)
        assert d["ci_lower"][j] == pytest.approx(beta.ppf(0.025, a, b), abs=5e-5)
        assert d["ci_upper"][j] == pytest.approx(beta.ppf(0.975, a, b), abs=5e-5)
    assert d["prob_overdose"][1] is None and d["ci_lower"][1] is None
