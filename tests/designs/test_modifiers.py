"""Composable modifiers, checked on the 3+3 (whose bare decisions are known exactly)."""

import pytest
from scipy.stats import beta

from dosefind import TrialState
from dosefind.designs import BOIN, CRM, DontSkipDoses, StopAtN, StopWhenNAtDose, StopWhenTooToxic, ThreePlusThree
from dosefind.designs.base import Design
from dosefind.state import Decision, MTDSelection


class JumpToTop(Design):
    """A deliberately reckless test design: always recommends the highest dose."""

    name = "jump"

    def _decide(self, state):
        return Decision.treat(self.num_doses - 1, "top")

    def select_mtd(self, state):
        return MTDSelection(self.num_doses - 1, (None,) * self.num_doses, "top")


def S(text, nd=4):
    return TrialState.from_outcomes(text, nd)


def test_stop_at_n():
    d = ThreePlusThree(num_doses=4).then(StopAtN(6))
    assert not d.decide(S("1NNN")).stop
    dec = d.decide(S("1NNN 2NNN"))
    assert dec.stop and "6 patients treated" in dec.reason


def test_dont_skip_doses_caps_escalation():
    d = JumpToTop(num_doses=4).then(DontSkipDoses())
    assert d.decide(S("1NNN")).next_dose == 2
    assert d.decide(S("1NNN 2NNN")).next_dose == 3
    assert JumpToTop(num_doses=4).decide(S("1NNN")).next_dose == 4


def test_dont_skip_when_deescalating():
    class JumpToBottom(JumpToTop):
        def _decide(self, state):
            return Decision.treat(0, "bottom")

    d = JumpToBottom(num_doses=4).then(DontSkipDoses(when_escalating=False, when_deescalating=True))
    assert d.decide(S("1NNN 2NNN 3NNN")).next_dose == 2


def test_stop_when_too_toxic_lowest_dose():
    # Pr(p > 0.3 | 3/3 DLTs, Beta(1,1) prior) = 1 - I_0.3(4, 1) = 0.9919 > 0.9 (exact Beta tail)
    rule = StopWhenTooToxic(threshold=0.3, confidence=0.9)
    # the 3+3 and this probe have no model: their estimate is the Beta(1, 1) posterior
    assert rule.prob_tox_exceeds(S("1TTT"), JumpToTop(num_doses=4)) == pytest.approx(beta.sf(0.3, 4, 1))
    assert StopWhenTooToxic(threshold=0.3, estimate="beta").prob_tox_exceeds(S("1TTT")) == \
        pytest.approx(beta.sf(0.3, 4, 1))
    d = JumpToTop(num_doses=4).then(rule)
    dec = d.decide(S("1TTT"))
    assert dec.stop and "too toxic" in dec.reason
    assert d.select_mtd(S("1TTT")).mtd is None
    # 1/3 DLTs: Pr(p > 0.3 | Beta(2,3)) = 0.6517 < 0.9, no stop
    assert not d.decide(S("1NTN")).stop


def test_stop_when_too_toxic_higher_dose_caps():
    d = JumpToTop(num_doses=4).then(StopWhenTooToxic(threshold=0.3, confidence=0.9, dose=3))
    dec = d.decide(S("1NNN 2NNN 3TTT"))
    assert dec.next_dose == 2
    assert d.select_mtd(S("1NNN 2NNN 3TTT")).mtd == 2


def test_later_links_win_and_chain_is_visible():
    d = ThreePlusThree(num_doses=4).then(StopAtN(30), StopWhenNAtDose(3))
    assert [type(m).__name__ for m in d.modifiers] == ["StopAtN", "StopWhenNAtDose"]
    assert isinstance(d.base, ThreePlusThree)
    dec = d.decide(S("1NNT"))          # the 3+3 says stay at 1, which already has 3 patients
    assert dec.stop and "already has 3 patients" in dec.reason
    assert d.expand_lower is True      # parent attributes are reachable through the chain


def test_modifier_argument_errors():
    with pytest.raises(ValueError, match="threshold must be between 0 and 1"):
        StopWhenTooToxic(threshold=1.2)
    with pytest.raises(ValueError, match="dose must be between 1 and 4, got 7"):
        ThreePlusThree(num_doses=4).then(StopWhenTooToxic(threshold=0.3, dose=7))
    with pytest.raises(ValueError, match="n must be >= 1"):
        StopAtN(0)
    with pytest.raises(TypeError, match="then\\(\\) takes modifiers"):
        ThreePlusThree(num_doses=4).then(3)


# ---------------------------------------------------------------- issue 8: what the modifiers cite
def test_dont_skip_doses_counts_from_the_current_dose_as_escalation():
    # escalation R/dont_skip_doses.R, recommended_dose.dont_skip_selector:
    # "if(x$when_escalating & parent_rec_d > last_d + 1) return(last_d + 1)" with last_d the
    # last dose given. After 1N 2N 3N 1N the last dose is 1, so the cap is dose 2.
    s = S("1N 2N 3N 1N", 5)
    assert JumpToTop(num_doses=5).then(DontSkipDoses()).decide(s).next_dose == 2
    # the other rule in use: never skip an untried dose (cap above the highest dose tried)
    d = JumpToTop(num_doses=5).then(DontSkipDoses(relative_to="highest_tried"))
    assert d.decide(s).next_dose == 4
    assert "one level above the highest dose tried" in d.decide(s).reason
    with pytest.raises(ValueError, match="relative_to must be 'current' or 'highest_tried', got 'top'"):
        DontSkipDoses(relative_to="top")


class Probe(JumpToTop):
    """A design whose own Pr(DLT rate > t) is fixed, to see whose estimate a modifier uses."""

    def __init__(self, p, **kw):
        super().__init__(**kw)
        self.p = p

    def prob_tox_exceeds(self, state, threshold):
        return (self.p,) * self.num_doses


def test_stop_when_too_toxic_asks_the_wrapped_design():
    # escalation R/stop_when_too_toxic.R: prob_too_tox <- x %>% prob_tox_exceeds(x$tox_threshold),
    # the parent's estimate, and stops when it is >= confidence.
    s = S("1NNN")                                  # Beta(1, 1) posterior: Pr(p > 0.3) = 0.24
    design = Probe(0.95, num_doses=4).then(StopAtN(30), StopWhenTooToxic(threshold=0.3, confidence=0.9))
    assert design.decide(s).stop and design.select_mtd(s).mtd is None
    beta_rule = Probe(0.95, num_doses=4).then(StopWhenTooToxic(threshold=0.3, confidence=0.9, estimate="beta"))
    assert not beta_rule.decide(s).stop
    # escalation compares with >=: a probability equal to the confidence stops
    assert Probe(0.9, num_doses=4).then(StopWhenTooToxic(threshold=0.3, confidence=0.9)).decide(s).stop
    assert not Probe(0.8999, num_doses=4).then(StopWhenTooToxic(threshold=0.3, confidence=0.9)).decide(s).stop


def test_stop_when_too_toxic_with_crm_uses_the_crm_posterior():
    from dosefind.designs import CRM

    crm = CRM([0.05, 0.12, 0.25, 0.40, 0.55], target=0.25)
    s = S("1NTN 1TTN", 5)
    p_crm = crm.prob_tox_exceeds(s, 0.35)[0]
    p_beta = beta.sf(0.35, 1 + 3, 1 + 3)
    assert abs(p_crm - p_beta) > 0.05              # the two rules differ on this state
    conf = (p_crm + p_beta) / 2
    by_model = crm.then(StopWhenTooToxic(threshold=0.35, confidence=conf))
    by_counts = crm.then(StopWhenTooToxic(threshold=0.35, confidence=conf, estimate="beta"))
    assert by_model.decide(s).stop != by_counts.decide(s).stop
    assert by_model.decide(s).stop == (p_crm >= conf)


def test_modified_params_rebuild_the_chain():
    d = ThreePlusThree(num_doses=4).then(StopAtN(12), StopWhenNAtDose(6), DontSkipDoses(relative_to="highest_tried"),
                                         StopWhenTooToxic(threshold=0.35, confidence=0.8, dose=2, estimate="beta"))
    p = d.params()
    assert [m["type"] for m in p["modifiers"]] == ["StopAtN", "StopWhenNAtDose", "DontSkipDoses", "StopWhenTooToxic"]
    clone = ThreePlusThree.from_params(p)
    assert clone.params() == p and repr(clone) == repr(d)
    for text in ("1NNN 2TTN", "1NNN 2NNN 3NNN", "1NNN 2NTN 2NNN"):
        assert clone.decide(S(text)) == d.decide(S(text))
    with pytest.raises(ValueError, match="unknown modifier type 'StopSoon'"):
        ThreePlusThree.from_params({"num_doses": 4, "modifiers": [{"type": "StopSoon"}]})


@pytest.mark.parametrize("make", [
    lambda: DontSkipDoses(when_escalating="no"),
    lambda: DontSkipDoses(when_deescalating=1),
    lambda: ThreePlusThree(num_doses=4, expand_lower="no"),
    lambda: ThreePlusThree(num_doses=4, expand_top="false"),
])
def test_boolean_options_refuse_text_and_numbers(make):
    with pytest.raises(ValueError, match="must be true or false"):
        make()


def test_capped_decisions_carry_the_code_of_the_move_they_make():
    # StopWhenTooToxic(dose=3) caps a jump from dose 1 to dose 4 at dose 2: an escalation.
    s = TrialState.from_counts([3, 0, 3, 0], [0, 0, 3, 0], current_dose=1)
    d = JumpToTop(num_doses=4).then(StopWhenTooToxic(threshold=0.3, confidence=0.9, dose=3)).decide(s)
    assert d.next_dose == 2 and d.code.value == "escalate"
    s = S("1NNN 2NNN 3NNN 4TTT", 4)
    d = JumpToTop(num_doses=4).then(StopWhenTooToxic(threshold=0.3, confidence=0.9, dose=4)).decide(s)
    assert d.next_dose == 3 and d.code.value == "de_escalate"
    d = JumpToTop(num_doses=4).then(DontSkipDoses()).decide(S("1NNN"))
    assert d.next_dose == 2 and d.code.value == "escalate"


def test_stop_when_too_toxic_argument_errors():
    with pytest.raises(ValueError, match="estimate must be 'design' or 'beta', got 'bayes'"):
        StopWhenTooToxic(threshold=0.3, estimate="bayes")
    with pytest.raises(ValueError, match="min_n must be >= 0, got -1"):
        StopWhenTooToxic(threshold=0.3, min_n=-1)
    with pytest.raises(ValueError, match="estimate='design' needs the design"):
        StopWhenTooToxic(threshold=0.3).prob_tox_exceeds(S("1NNN"))


@pytest.mark.parametrize("make", [
    lambda: CRM(skeleton=[0.05, 0.12, 0.25, 0.40, 0.55], target=0.25, cohort_size=3, max_n=24),
    lambda: CRM(skeleton=[0.05, 0.12, 0.25, 0.40, 0.55], target=0.25, model="logistic", cohort_size=3, max_n=24),
    lambda: BOIN(target=0.25, num_doses=5, max_n=24),
])
def test_prob_tox_exceeds_at_one_dose_is_the_tuples_entry(make):
    """StopWhenTooToxic asks one dose's Pr(p > threshold) (prob_tox_exceeds_at): the same number,
    bit for bit, as that dose's entry of prob_tox_exceeds, through a modifier chain too."""
    design = make().then(StopAtN(24))
    for outcomes in ("1NNN", "1NNT 2NNN", "1NNN 2NTN 3TTN", "1TTT"):
        state = TrialState.from_outcomes(outcomes, num_doses=5)
        for thr in (0.25, 0.4):
            whole = design.prob_tox_exceeds(state, thr)
            assert [design.prob_tox_exceeds_at(state, thr, i) for i in range(5)] == list(whole)
