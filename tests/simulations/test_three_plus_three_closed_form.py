"""3+3 exact selection probabilities against an independent closed form.

The closed form follows the path decomposition of Lin & Shih (2001, Biostatistics 2:
203-215, the A+B designs with A = B = 3 and de-escalation), written here for the
variant dosefind implements (expand the dose below a too-toxic dose to six patients;
confirm 0/3 at the highest dose):

With p_j the true rate at dose j, a_j = (1-p_j)^3 (0/3) and b_j = 3 p_j (1-p_j)^2 (1/3):

* e_j = a_j + b_j a_j: the trial escalates past dose j (0/3, or 1/3 then 0/3);
* among those, dose j is later *confirmed* as MTD when it is revisited with
  probability (b_j a_j + a_j (a_j + b_j)) -- already 1/6, or 0/3 then <= 1 DLT in 3 more;
  and *fails* on expansion with probability a_j (1 - a_j - b_j);
* the highest dose K is accepted with probability a_K (a_K + b_K) + b_K a_K.

P(MTD = j) = prod_{i<j} e_i * conf_j * sum_{k>j} prod_{j<i<k} fail_i * (escalation stops at k),
where escalation stops at k < K with probability 1 - e_k and at K with 1 - accept_K.
"""

import itertools

import numpy as np
import pytest

from dosefind.designs import ThreePlusThree
from dosefind.simulations import simulate


def closed_form(p):
    p = np.asarray(p, float)
    K = len(p) - 1
    a = (1 - p) ** 3
    b = 3 * p * (1 - p) ** 2
    e = a + b * a
    conf = b * a + a * (a + b)
    fail = a * (1 - a - b)
    accept_top = a[K] * (a[K] + b[K]) + b[K] * a[K]
    stop_at = np.append(1 - e[:K], 1 - accept_top)
    sel = np.zeros(K + 1)
    sel[K] = np.prod(e[:K]) * accept_top
    for j in range(K):
        below = np.prod(e[:j])
        total = 0.0
        for k in range(j + 1, K + 1):
            total += np.prod(fail[j + 1:k]) * stop_at[k]
        sel[j] = below * conf[j] * total
    return sel


@pytest.mark.parametrize("p", [
    [0.05, 0.10, 0.20, 0.30, 0.45],
    [0.30, 0.40, 0.50, 0.60, 0.70],
    [0.01, 0.02, 0.03],
    [0.5],
    [0.10, 0.15, 0.33, 0.50, 0.55, 0.80],
])
def test_selection_matches_closed_form(p):
    oc = simulate(ThreePlusThree(num_doses=len(p)), p, method="exact", target=0.25)
    expected = closed_form(p)
    np.testing.assert_allclose(np.asarray(oc.selection_pct) / 100, expected, rtol=1e-10, atol=1e-12)
    assert oc.no_selection_pct / 100 == pytest.approx(1 - expected.sum(), abs=1e-10)


def test_closed_form_on_a_grid():
    for p in itertools.product([0.05, 0.25, 0.6], repeat=3):
        p = sorted(p)
        oc = simulate(ThreePlusThree(num_doses=3), p, method="exact", target=0.25)
        np.testing.assert_allclose(np.asarray(oc.selection_pct) / 100, closed_form(p), atol=1e-12)
