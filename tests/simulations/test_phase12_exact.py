"""Phase I/II engines: exact against a hand calculation, and Monte Carlo against exact.

The hand calculation (worked out below from the toy rule's definition, no dosefind
numbers) uses ToyEfficacyRule with 2 doses, cohorts of 1 and max_n = 2:
patient 1 gets dose 1; no DLT -> patient 2 at dose 2, DLT -> patient 2 at dose 1
(LastCohortRule), then the trial stops at max_n.  The OBD is the tried dose with observed
DLT rate <= 0.3 and the most responses (lowest on ties), so:
  OBD = dose 2  iff patient 1 had neither outcome (N at dose 1) and patient 2 a response
                without DLT (E at dose 2);
  OBD = none    iff patient 1 had a DLT (dose 1 then has >= 1 DLT in 2 patients);
  OBD = dose 1  otherwise.
Cells (N, T, E, B) come from the phi-correlation definition
P(B) = pT pE + rho sqrt(pT(1-pT) pE(1-pE)) (Pearson correlation of two binary outcomes).
"""

import math

import numpy as np
import pytest
from toy_designs import ToyEfficacyRule

from dosefind.simulations import simulate

UTILITY = ToyEfficacyRule.utility


def cells(pt, pe, rho):
    b = pt * pe + rho * math.sqrt(pt * (1 - pt) * pe * (1 - pe))
    return {"N": 1 - pt - pe + b, "T": pt - b, "E": pe - b, "B": b}


@pytest.mark.parametrize("rho", [0.0, 0.25])
def test_exact_matches_hand_calculation(rho):
    pt, pe = [0.1, 0.3], [0.2, 0.5]
    c1, c2 = cells(pt[0], pe[0], rho), cells(pt[1], pe[1], rho)
    p_obd2 = c1["N"] * c2["E"]
    p_none = pt[0]
    p_obd1 = 1 - p_obd2 - p_none
    # Responses: patient 1 at dose 1; patient 2 at dose 1 after a DLT, with P(E | DLT) = B/pT.
    resp1 = pe[0] + pt[0] * pe[0]  # patient 2 at dose 1 after patient 1's DLT (prob. pT1) responds w.p. pE1
    resp2 = (1 - pt[0]) * pe[1]
    u = [UTILITY["no_eff_no_tox"] * c["N"] + UTILITY["eff_no_tox"] * c["E"] + UTILITY["eff_tox"] * c["B"]
         for c in (c1, c2)]
    d = ToyEfficacyRule(num_doses=2, cohort_size=1, max_n=2)
    oc = simulate(d, pt, true_prob_eff=pe, tox_eff_correlation=rho, method="exact")
    v = oc.efficacy["values"]
    assert oc.method == "exact"
    np.testing.assert_allclose(v["obd_selection_pct"], [100 * p_obd1, 100 * p_obd2], atol=1e-9)
    assert v["obd_no_selection_pct"] == pytest.approx(100 * p_none, abs=1e-9)
    np.testing.assert_allclose(v["responses_mean"], [resp1, resp2], atol=1e-12)
    # Both doses are below phi_t = 0.35, so the correct OBD is the dose of highest true utility.
    np.testing.assert_allclose(oc.efficacy["true_utility"], u, atol=1e-12)
    best = int(np.argmax(u))
    assert oc.efficacy["correct_obd"] == [best + 1]
    assert v["pct_correct_obd"] == pytest.approx(100 * (p_obd1, p_obd2)[best], abs=1e-9)
    assert v["utility_selected_mean"] == pytest.approx((p_obd1 * u[0] + p_obd2 * u[1]) / (1 - p_none), abs=1e-9)
    # Patients at dose 2: patient 2 whenever patient 1 had no DLT.
    at = [1 + pt[0], 1 - pt[0]][best]
    assert v["patients_at_obd_mean"] == pytest.approx(at, abs=1e-12)
    assert v["early_stop_toxicity_pct"] == 0 and v["early_stop_futility_pct"] == 0
    assert oc.stop_reasons == {"max_n": pytest.approx(100.0)}


SCEN = dict(true_prob_tox=[0.1, 0.3, 0.5], true_prob_eff=[0.2, 0.5, 0.6], tox_eff_correlation=0.3)


def test_monte_carlo_agrees_with_exact_within_error():
    d = ToyEfficacyRule(num_doses=3, cohort_size=2, max_n=10)
    ex = simulate(d, **SCEN, method="exact")
    mc = simulate(d, **SCEN, method="mc", n_trials=40_000, seed=11)
    assert ex.method == "exact" and mc.method == "mc"
    ev, mv, se = ex.efficacy["values"], mc.efficacy["values"], mc.efficacy["se"]
    for k in ("obd_selection_pct", "responses_mean"):
        z = np.abs(mv[k] - ev[k]) / np.maximum(se[k], 1e-12)
        assert (z < 4.5).all(), (k, mv[k], ev[k], se[k])
    for k in ("pct_correct_obd", "obd_no_selection_pct", "utility_selected_mean", "patients_at_obd_mean",
              "early_stop_toxicity_pct", "early_stop_futility_pct", "obd_overdose_patients_pct"):
        assert abs(mv[k] - ev[k]) < 4.5 * se[k] + 1e-12, (k, mv[k], ev[k], se[k])
    # Both stop types occur here, so the split is tested on non-zero numbers.
    assert ev["early_stop_toxicity_pct"] > 0.5 and ev["early_stop_futility_pct"] > 0.05
    # Phase I metrics of the same runs (MTD from select_obd's mtd_index) agree too.
    z = np.abs(mc.values["selection_pct"] - ex.values["selection_pct"]) / np.maximum(mc.se["selection_pct"], 1e-12)
    assert (z < 4.5).all()


def test_correlation_changes_the_answer():
    # The engine must sample responses conditionally on the DLT: with the same marginals a
    # different correlation changes P(N at dose 1 and E at dose 2) in the toy's OBD rule.
    d = ToyEfficacyRule(num_doses=2, cohort_size=1, max_n=2)
    a = simulate(d, [0.1, 0.3], true_prob_eff=[0.2, 0.5], tox_eff_correlation=0.0, method="mc", n_trials=50_000,
                 seed=2)
    b = simulate(d, [0.1, 0.3], true_prob_eff=[0.2, 0.5], tox_eff_correlation=0.25, method="mc", n_trials=50_000,
                 seed=2)
    want_a = 100 * cells(0.1, 0.2, 0.0)["N"] * cells(0.3, 0.5, 0.0)["E"]
    want_b = 100 * cells(0.1, 0.2, 0.25)["N"] * cells(0.3, 0.5, 0.25)["E"]
    for oc, want in ((a, want_a), (b, want_b)):
        got, se = oc.efficacy["values"]["obd_selection_pct"][1], oc.efficacy["se"]["obd_selection_pct"][1]
        assert abs(got - want) < 4.5 * se


def test_auto_uses_exact_when_small_and_joint_table_equals_marginals():
    d = ToyEfficacyRule(num_doses=3, cohort_size=2, max_n=10)
    a = simulate(d, **SCEN)
    assert a.method == "exact"
    table = [list(cells(pt, pe, 0.3).values()) for pt, pe in zip(SCEN["true_prob_tox"], SCEN["true_prob_eff"])]
    b = simulate(d, joint=table, method="exact")
    np.testing.assert_allclose(a.efficacy["values"]["obd_selection_pct"], b.efficacy["values"]["obd_selection_pct"],
                               atol=1e-9)
