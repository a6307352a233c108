"""Small grid files for the grid tests (a few hundred trials per cell: seconds, not minutes)."""

import textwrap

TINY = """
[study]
title = "tiny grid"
target = 0.25
max_n = 12
cohort_size = 3
n_trials = {n_trials}
seed = 7
method = "mc"

[doses]
labels = ["1", "2", "3", "4"]

[[designs]]
type = "crm"
label = "CRM"
skeleton = {{ halfwidth = 0.05, prior_mtd = 2 }}
prior_var = "least_informative"

[[designs]]
type = "boin"
label = "BOIN"

[[scenarios]]
name = "A"
true_prob_tox = [0.05, 0.25, 0.45, 0.6]

[[scenarios]]
name = "B"
true_prob_tox = [0.1, 0.15, 0.25, 0.4]

[grid]
block_size = {block_size}

[[grid.parameters]]
name = "CRM.skeleton.halfwidth"
values = {halfwidths}

[[grid.parameters]]
name = "study.cohort_size"
values = [1, 3]
"""


def tiny_text(n_trials=600, block_size=250, halfwidths="[0.04, 0.06]"):
    return textwrap.dedent(TINY.format(n_trials=n_trials, block_size=block_size, halfwidths=halfwidths))

