"""Shared decision tables are keyed on a design's configuration (tables.design_key).

Equal configurations must share one table (grids and compare rebuild equal designs), and
a design changed after its table was built must not be served the old table: its key
reads the current public attributes, recursively, each time it is asked."""

import numpy as np
import pytest

from dosefind.designs import BOIN, StopAtN
from dosefind.simulations import tables


def test_equal_configurations_share_one_table():
    tables.clear_tables()
    a, b = BOIN(target=0.3, num_doses=4, max_n=12), BOIN(target=0.3, num_doses=4, max_n=12)
    assert tables.design_key(a) == tables.design_key(b)
    assert tables.table_for(a) is tables.table_for(b)
    assert tables.design_key(a) != tables.design_key(a, use_batch=False)


def test_a_changed_attribute_changes_the_key():
    tables.clear_tables()
    design = BOIN(target=0.3, num_doses=4, max_n=12)
    first = tables.table_for(design)
    key = tables.design_key(design)
    other = BOIN(target=0.3, num_doses=4, max_n=12, cutoff_eli=0.9)
    assert tables.design_key(other) != key and tables.table_for(other) is not first
    # Options are sealed once a design is built (BOIN derives its boundaries from them in
    # its constructor), so a design cannot drift away from its table ...
    with pytest.raises(AttributeError, match="cutoff_eli cannot be changed after the design is built"):
        design.cutoff_eli = 0.9
    assert tables.design_key(design) == key and tables.table_for(design) is first
    # ... and the key still reads nested configuration objects afresh.
    design.doses.__dict__["unit"] = "mg"
    assert tables.design_key(design) != key


def test_values_of_other_types_are_told_apart():
    base = BOIN(target=0.3, num_doses=4, max_n=12)
    other = BOIN(target=0.3, num_doses=4, max_n=12)
    object.__setattr__(other, "n_earlystop", 100.0)  # equal as numbers, another type (unsealed on purpose)
    assert tables.design_key(base) != tables.design_key(other)
    object.__setattr__(other, "n_earlystop", np.int64(100))
    assert tables.design_key(base) != tables.design_key(other)


def test_a_modified_chain_is_keyed_on_every_link():
    a = BOIN(target=0.3, num_doses=4, max_n=12).then(StopAtN(9))
    b = BOIN(target=0.3, num_doses=4, max_n=12).then(StopAtN(12))
    assert tables.design_key(a) != tables.design_key(b)
    assert tables.design_key(a) == tables.design_key(BOIN(target=0.3, num_doses=4, max_n=12).then(StopAtN(9)))


def test_an_undescribable_configuration_is_keyed_by_identity():
    a, b = BOIN(target=0.3, num_doses=4, max_n=12), BOIN(target=0.3, num_doses=4, max_n=12)
    for d in (a, b):
        object.__setattr__(d, "hook", print)  # a function: no description, so no sharing
    assert tables.design_key(a) != tables.design_key(b)
    assert tables.design_key(a) == tables.design_key(a)
