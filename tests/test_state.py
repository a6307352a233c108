"""TrialState, Decision and outcome-string parsing."""

import pytest

from dosefind import Decision, DoseLevels, TrialState
from dosefind.state import to_index, to_level


def test_outcome_string_counts_and_history():
    s = TrialState.from_outcomes("1NNN 2NNT 2NNN 3NTT", num_doses=5)
    assert s.n_at_dose == (3, 6, 3, 0, 0)
    assert s.tox_at_dose == (0, 1, 2, 0, 0)
    assert s.current_dose == 3 and s.current_index == 2
    assert s.num_cohorts == 4 and s.last_cohort.tox == 2
    assert s.to_string() == "1NNN 2NNT 2NNN 3NTT"
    assert s.total_n == 12 and s.total_tox == 3


def test_states_are_hashable_and_equal_by_history():
    a = TrialState.from_outcomes("1NNN 2NTN", num_doses=3)
    b = TrialState.from_records([1, 1, 1, 2, 2, 2], [0, 0, 0, 0, 1, 0], num_doses=3)
    assert a == b and hash(a) == hash(b)
    assert len({a, b}) == 1
    # Same counts, different order of patients: different histories, same engine key.
    c = TrialState.from_outcomes("1NNN 2TNN", num_doses=3)
    assert c != a and c.key() == a.key()


def test_add_cohort_returns_new_state():
    a = TrialState.empty(3)
    b = a.add_cohort(0, [0, 1, 0])
    assert a.total_n == 0 and b.n_at_dose == (3, 0, 0) and b.tox_at_dose == (1, 0, 0)


def test_from_counts_defaults_current_dose_to_highest_tried():
    s = TrialState.from_counts([3, 6, 3, 0], [0, 1, 2, 0])
    assert s.current_dose == 3
    assert TrialState.from_counts([3, 3], [0, 1], current_dose=1).current_dose == 1


def test_lowercase_letters_accepted():
    assert TrialState.from_outcomes("1nnt", num_doses=2).tox_at_dose == (1, 0)


@pytest.mark.parametrize(
    "text, match",
    [
        ("6NNN", "names dose 6, but doses run from 1 to 5"),
        ("0NNN", "names dose 0"),
        ("1NXN", "cannot read cohort '1NXN'"),
        ("NNN", "cannot read cohort 'NNN'"),
    ],
)
def test_bad_outcome_strings(text, match):
    with pytest.raises(ValueError, match=match):
        TrialState.from_outcomes(text, num_doses=5)


@pytest.mark.parametrize(
    "n, dlt, match",
    [
        ([3, -1], [0, 0], "n at dose 2 must be >= 0|n must be >= 0"),
        ([3, 3], [0, 4], r"dlt at dose 2 \(4\) cannot exceed"),
        ([3, 3], [0], "same length"),
        ([3, 2.5], [0, 0], "whole number"),
    ],
)
def test_bad_counts(n, dlt, match):
    with pytest.raises(ValueError, match=match):
        TrialState.from_counts(n, dlt)


def test_bad_records():
    with pytest.raises(ValueError, match="dlt in record 2 must be 0 or 1"):
        TrialState.from_records([1, 1], [0, 2], num_doses=2)
    with pytest.raises(ValueError, match="dose in record 1 is 3"):
        TrialState.from_records([3], [0], num_doses=2)


def test_num_doses_validated():
    with pytest.raises(ValueError, match="num_doses must be a whole number >= 1"):
        TrialState.empty(0)


def test_decision_is_one_based_outside():
    d = Decision.treat(1, "escalate")
    assert d.next_dose == 2 and d.dose_index == 1 and not d.stop
    assert "next_dose=2" in repr(d)
    assert d.to_dict() == {"next_dose": 2, "stop": False, "action": "treat", "code": "treat", "reason": "escalate"}
    h = Decision.halt("done")
    assert h.next_dose is None and h.stop


def test_level_index_conversion():
    assert to_level(0) == 1 and to_index(1) == 0 and to_level(None) is None


def test_dose_levels():
    d = DoseLevels.from_amounts([5e5, 1e6, 2e6], unit="cells/kg")
    assert d.labels == ("5e5 cells/kg", "1e6 cells/kg", "2e6 cells/kg") and len(d) == 3
    with pytest.raises(ValueError, match="strictly increasing"):
        DoseLevels.from_amounts([1e6, 5e5])
    with pytest.raises(ValueError, match="positive"):
        DoseLevels.from_amounts([-1, 5e5])


def test_format_amount():
    from dosefind.state import format_amount
    assert [format_amount(a) for a in (5e5, 2.5e6, 0.5, 10, 1e-4)] == ["5e5", "2.5e6", "0.5", "10", "1e-4"]


def test_decisions_carry_typed_codes():
    from dosefind import ReasonCode
    from dosefind.designs import BOIN, ThreePlusThree

    boin = BOIN(target=0.3, num_doses=5, cohort_size=3, max_n=30)
    # 2/3 DLTs at dose 3: 2 >= BOIN's de-escalation boundary at n = 3 (Liu & Yuan 2015).
    d = boin.decide(TrialState.from_outcomes("1NNN 2NNN 3NTT", num_doses=5))
    assert d.code is ReasonCode.DE_ESCALATE and d.next_dose == 2
    assert boin.decide(TrialState.empty(5)).code is ReasonCode.START
    # 3+3: 2/3 DLTs at the lowest dose ends the trial with no MTD.
    h = ThreePlusThree(num_doses=3).decide(TrialState.from_outcomes("1TTN", num_doses=3))
    assert h.stop and h.code is ReasonCode.LOWEST_TOO_TOXIC
    assert ReasonCode("max_n").text == "maximum sample size reached"
    w = Decision.pause("waiting")
    assert w.action == "wait" and not w.stop and w.wait and w.next_dose is None


# Issue 9: counts and dose levels are never truncated (3.7 patients used to become 3).
@pytest.mark.parametrize("n, dlt, current, match", [
    ([3.7, 3], [0, 1], None, "n must be a whole number"),
    ([3, 3], [0.9, 1], None, "dlt must be a whole number"),
    ([float("inf"), 3], [0, 1], None, "n must be a whole number"),
    ([float("nan"), 3], [0, 1], None, "n must be a whole number"),
    ([True, 3], [0, 1], None, "n must be a whole number"),
    ([3, 3], [0, 1], 1.9, "current_dose must be a whole number"),
    ([3, 3], [0, 1], 3, "current_dose must be between 1 and 2"),
])
def test_counts_are_not_truncated(n, dlt, current, match):
    with pytest.raises(ValueError, match=match):
        TrialState.from_counts(n, dlt, current_dose=current)


def test_records_are_not_truncated():
    with pytest.raises(ValueError, match="dose must be a whole number"):
        TrialState.from_records([1, 1.9], [0, 0], num_doses=3)
    with pytest.raises(ValueError, match="dlt must be a whole number"):
        TrialState.from_records([1, 1], [0, 0.9], num_doses=3)
    assert TrialState.from_counts([3.0, 6.0], [0.0, 1.0], current_dose=2.0).n_at_dose == (3, 6)
