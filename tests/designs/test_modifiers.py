"""Composable modifiers, checked on the 3+3 (whose bare decisions are known exactly)."""

import pytest
from scipy.stats import beta

from dosefind import TrialState
from dosefind.designs import DontSkipDoses, StopAtN, StopWhenNAtDose, StopWhenTooToxic, ThreePlusThree
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
    assert rule.prob_tox_exceeds(S("1TTT")) == pytest.approx(beta.sf(0.3, 4, 1))
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
