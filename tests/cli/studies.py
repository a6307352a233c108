"""Small study files shared by the CLI tests of `dosefind run` (a 3+3 and a BOIN on three
doses, one scenario: fast in either engine)."""

SMALL = '''
[study]
target = 0.3
max_n = 9
n_trials = 200
seed = 11
method = "mc"

[doses]
amounts = [1, 2, 3]
unit = "mg"

[[designs]]
type = "3+3"

[[designs]]
type = "boin"

[[scenarios]]
name = "middle"
true_prob_tox = [0.1, 0.3, 0.5]
'''
