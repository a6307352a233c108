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


# ---------------------------------------------------------------- per-patient records (issue 10)
# The interface is /work/notes/patient_api.md: cohort-synchronous data give today's states;
# pending patients count in n_at_dose but not in completed_at_dose.

def test_cohort_synchronous_records_give_todays_state():
    from dosefind import Patient

    s = TrialState.from_outcomes("1NNN 2NTN", num_doses=3)
    assert len(s.patients) == 6 and all(p.complete and p.followup is None for p in s.patients)
    assert [p.dose_index for p in s.patients] == [0, 0, 0, 1, 1, 1] and [p.dlt for p in s.patients] == [0] * 4 + [1, 0]
    t = TrialState.from_patients([Patient(0)] * 3 + [Patient(1), Patient(1, 1), Patient(1)], num_doses=3)
    assert t == s and t.key() == s.key() and t.to_string() == "1NNN 2NTN"
    assert s.pending_at_dose == (0, 0, 0) and s.completed_at_dose == s.n_at_dose and s.n_pending == 0
    assert len(s.key()) == 4  # unchanged key for complete data


def test_pending_patients_views_and_key():
    from dosefind import Patient

    recs = [Patient(0, 0, True, 28.0, 0.0), Patient(0, 1, True, 10.0, 5.0), Patient(1, 0, False, 3.0, 40.0)]
    s = TrialState.from_patients(recs, num_doses=3, time=43.0)
    assert s.n_at_dose == (2, 1, 0) and s.tox_at_dose == (1, 0, 0)
    assert s.pending_at_dose == (0, 1, 0) and s.completed_at_dose == (2, 0, 0) and s.n_pending == 1
    assert s.time == 43.0 and s.current_index == 1 and s.patients == tuple(recs)
    done = TrialState.from_patients(recs[:2] + [Patient(1, 0, True, 28.0, 40.0)], num_doses=3, time=68.0)
    assert done.key() != s.key()  # a pending patient never shares a count key with a complete one
    assert s != done and hash(s) != hash(done)


def test_add_patients_equals_from_patients_and_is_immutable():
    from dosefind import Patient

    a = [Patient(0), Patient(0, 1)]
    b = [Patient(0, 0, False, 1.0), Patient(1, 0, False, 0.0)]
    s = TrialState.from_patients(a, num_doses=2)
    t = s.add_patients(b, time=9.0)
    assert t == TrialState.from_patients(a + b, num_doses=2, time=9.0)
    assert s.total_n == 2 and t.total_n == 4 and t.to_string() == "1NTN 2N"
    with pytest.raises(ValueError, match="per-patient records"):
        TrialState.from_counts([3, 0], [0, 0]).add_patients(b)


def test_from_records_with_followup_and_complete():
    s = TrialState.from_records([1, 1, 2], [0, 1, 0], num_doses=2, followup=[28, 7.5, 4], complete=[True, True, False],
                                time=50)
    assert [p.followup for p in s.patients] == [28.0, 7.5, 4.0] and s.pending_at_dose == (0, 1)
    assert s.time == 50.0
    with pytest.raises(ValueError, match="record 2 has a DLT, so its assessment is complete"):
        TrialState.from_records([1, 1], [0, 1], num_doses=2, complete=[True, False])
    with pytest.raises(ValueError, match="followup must have one entry per record"):
        TrialState.from_records([1, 1], [0, 0], num_doses=2, followup=[1])
    with pytest.raises(ValueError, match="followup in record 1 must be >= 0"):
        TrialState.from_records([1], [0], num_doses=2, followup=[-1])


def test_bad_patient_records():
    from dosefind import Patient

    with pytest.raises(ValueError, match="patient dlt must be 0 or 1"):
        Patient(0, 2)
    with pytest.raises(ValueError, match="observed DLT has a complete"):
        Patient(0, 1, complete=False)
    with pytest.raises(ValueError, match="dose_index must be"):
        Patient(-1)
    with pytest.raises(ValueError, match="doses run from 1 to 2"):
        TrialState.from_patients([Patient(2)], num_doses=2)


def test_count_designs_wait_for_pending_followup():
    from dosefind import Patient, ReasonCode
    from dosefind.designs import BOIN, CRM, StopAtN, ThreePlusThree

    s = TrialState.from_patients([Patient(0)] * 2 + [Patient(0, 0, False, 3.0)], num_doses=5, time=60.0)
    designs = [ThreePlusThree(num_doses=5), BOIN(target=0.3, num_doses=5, max_n=6),
               CRM(target=0.25, skeleton=[0.05, 0.12, 0.25, 0.4, 0.55]), BOIN(target=0.3, num_doses=5).then(StopAtN(6))]
    for d in designs:
        dec = d.decide(s)
        assert dec.action == "wait" and dec.code is ReasonCode.WAIT_FOLLOWUP, d
    # Once the patient completes, the design decides as from the outcome string.
    done = TrialState.from_patients([Patient(0)] * 3, num_doses=5)
    for d in designs:
        assert d.decide(done) == d.decide(TrialState.from_outcomes("1NNN", num_doses=5))


def test_full_trial_stops_accrual_even_with_pending_patients():
    from dosefind import Patient, ReasonCode
    from dosefind.designs import BOIN

    s = TrialState.from_patients([Patient(0)] * 2 + [Patient(0, 0, False, 3.0)], num_doses=5)
    assert BOIN(target=0.3, num_doses=5, max_n=3).decide(s).code is ReasonCode.MAX_N
    assert BOIN(target=0.3, num_doses=5, max_n=6).decide(s).code is ReasonCode.WAIT_FOLLOWUP


# ---------------------------------------------------------------- phase I/II outcomes (issue 11)
# Letters as in trialr / escalation (Brock et al. 2017): E response only, T DLT only,
# B both, N neither.

def test_phase12_letters_count_dlt_and_response():
    s = TrialState.from_outcomes("1NNN 2NEN 2EET 2B", num_doses=3)
    assert s.n_at_dose == (3, 7, 0)
    assert s.tox_at_dose == (0, 2, 0)
    assert s.eff_at_dose == (0, 4, 0)
    assert s.to_string() == "1NNN 2NEN 2EET 2B"  # cohorts kept as parsed, letters round-trip


def test_phase12_key_separates_responses_and_phase1_strings_unchanged():
    a = TrialState.from_outcomes("1NNN 2NEN", num_doses=3)
    b = TrialState.from_outcomes("1NNN 2NNN", num_doses=3)
    assert a.key() != b.key()
    # without any response the key is the phase I key (engines' caches stay shared)
    assert b.key() == TrialState.from_counts([3, 3, 0], [0, 0, 0]).key()[:2] + b.key()[2:]
    assert b.eff_at_dose == (0, 0, 0)
    assert TrialState.from_counts([3, 3, 0], [0, 1, 0], eff=[1, 2, 0]).eff_at_dose == (1, 2, 0)


def test_phase12_patients_and_records():
    from dosefind.state import Patient
    s = TrialState.from_records([1, 1, 2], [0, 1, 0], 3, eff=[1, 0, None],
                                eff_complete=[True, True, False], eff_followup=[56, 56, 3])
    assert s.eff_at_dose == (1, 0, 0)
    assert s.eff_pending_at_dose == (0, 1, 0)
    p = TrialState.from_patients([Patient(0, 0, eff=1), Patient(0, 1), Patient(1, 0, eff=1)], 3)
    assert p.eff_at_dose == (1, 1, 0) and p.to_string() == "1ET 2E"
    with pytest.raises(ValueError, match="eff_complete"):
        Patient(0, 0, eff=1, eff_complete=False)
    with pytest.raises(ValueError, match="eff .responses. at dose 1"):
        TrialState.from_counts([3], [0], eff=[4])
    with pytest.raises(ValueError, match="E .response. or B"):
        TrialState.from_outcomes("1NXN", 3)
