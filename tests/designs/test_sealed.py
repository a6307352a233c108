"""A design's options are sealed once it is built (designs/base.py, Design.__setattr__).

Designs derive tables from their options in their constructors (BOIN's boundaries and
elimination cache), and engines share decision tables keyed on the options, so an option
changed afterwards would be read by some rules and not others: a silently wrong answer.
Found in review: BOIN with cutoff_eli changed from 0.95 to 0.6 after construction kept the
old elimination boundaries (no trial stopped at the lowest dose, against 293 of 2,000 for a
BOIN built with 0.6)."""

import copy
import pickle

import pytest

from dosefind.designs import BOIN, CRM, StopAtN, ThreePlusThree

BUILT = {
    "BOIN": lambda: BOIN(target=0.3, num_doses=4, max_n=12),
    "CRM": lambda: CRM([0.1, 0.2, 0.3, 0.4], target=0.3, cohort_size=3, max_n=12),
    "3+3": lambda: ThreePlusThree(num_doses=4),
    "chain": lambda: BOIN(target=0.3, num_doses=4, max_n=12).then(StopAtN(9)),
}


@pytest.mark.parametrize("name", list(BUILT))
def test_options_cannot_change_after_construction(name):
    design = BUILT[name]()
    with pytest.raises(AttributeError, match=r"max_n cannot be changed after the design is built.*max_n=30"):
        design.max_n = 30
    assert design.max_n in (12, None)  # unchanged


@pytest.mark.parametrize("name", list(BUILT))
def test_copies_and_pickles_keep_working(name):
    design = BUILT[name]()
    for other in (copy.deepcopy(design), pickle.loads(pickle.dumps(design)), copy.copy(design)):
        assert other.params() == design.params()
        with pytest.raises(AttributeError):
            other.max_n = 30


def test_private_caches_stay_writable_and_a_new_design_is_the_way_to_change():
    design = BOIN(target=0.3, num_doses=4, max_n=12)
    design._gone = None  # engines' caches are private
    changed = BOIN.from_params({**design.params(), "cutoff_eli": 0.9})
    assert changed.cutoff_eli == 0.9 and design.cutoff_eli == 0.95
