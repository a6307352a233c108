"""BOIN12 (Lin et al. 2020) through the phase I/II engines.

Limit from issue 11: with efficacy identical at every dose, BOIN12 still controls
toxicity.  With a flat response rate the true utility falls with the DLT rate, so the
correct OBD is dose 1; BOIN12's toxicity rule (the BOIN boundaries at phi_t and
elimination when Pr(DLT rate > phi_t) > 0.95) must keep selections and patients away from
the doses above phi_t.  The bounds (5% of selections, 15% of patients above the true MTD)
were set before running, as a clear margin for a design with toxicity control (they are
not a published number); with BOIN12's decision made blind to DLTs (its counts replaced
by zeros) the same run treats about 29% of patients above the MTD and the test fails.
"""

import numpy as np
import pytest

boin12 = pytest.importorskip("dosefind.designs.boin12")
from dosefind.simulations import simulate  # noqa: E402

UTILITY = {"eff_no_tox": 100, "no_eff_no_tox": 40, "eff_tox": 60, "no_eff_tox": 0}


def design(**kw):
    opts = dict(phi_t=0.35, phi_e=0.25, num_doses=5, cohort_size=3, max_n=30, utility=UTILITY)
    opts.update(kw)
    return boin12.BOIN12(**opts)


def test_flat_efficacy_still_controls_toxicity():
    tox = [0.05, 0.15, 0.30, 0.55, 0.70]
    oc = simulate(design(), tox, true_prob_eff=[0.4] * 5, method="mc", n_trials=4_000, seed=12)
    e = oc.efficacy
    assert e["true_mtd"] == 3 and e["correct_obd"] == [1]
    v = e["values"]
    assert v["obd_overdose_pct"] < 5
    assert v["obd_overdose_patients_pct"] < 15
    # And no dose above the true MTD is favoured over the safe ones.
    assert v["obd_selection_pct"][3:].sum() < v["obd_selection_pct"][:3].min()


def test_exact_and_monte_carlo_agree_for_boin12():
    d = design(num_doses=3, max_n=12)
    tox, eff = [0.05, 0.2, 0.45], [0.1, 0.4, 0.6]
    ex = simulate(d, tox, true_prob_eff=eff, tox_eff_correlation=0.2, method="exact")
    mc = simulate(d, tox, true_prob_eff=eff, tox_eff_correlation=0.2, method="mc", n_trials=20_000, seed=3)
    for k in ("obd_selection_pct", "responses_mean"):
        z = np.abs(mc.efficacy["values"][k] - ex.efficacy["values"][k]) / np.maximum(mc.efficacy["se"][k], 1e-12)
        assert (z < 4.5).all(), k
    for k in ("pct_correct_obd", "early_stop_toxicity_pct", "early_stop_futility_pct"):
        # Binomial error at the exact proportion (a rare stop may not occur in the sample).
        q = ex.efficacy["values"][k] / 100
        se = 100 * np.sqrt(q * (1 - q) / 20_000)
        assert abs(mc.efficacy["values"][k] - ex.efficacy["values"][k]) < 4.5 * se + 1e-9, k
    k = "utility_selected_mean"
    assert abs(mc.efficacy["values"][k] - ex.efficacy["values"][k]) < 4.5 * mc.efficacy["se"][k], k


def test_workers_answer_new_states_with_the_same_results():
    # With workers > 1 the design's answers for a step's new states are computed by a
    # process pool (used from POOL_MIN_STATES new states on, which BOIN12 reaches here).
    from dosefind.simulations import phase12

    d = design()
    kw = dict(true_prob_eff=[0.1, 0.3, 0.5, 0.55, 0.6], method="mc", n_trials=12_000, seed=21)
    one = simulate(d, [0.05, 0.1, 0.2, 0.3, 0.45], workers=1, **kw)
    phase12._DECIDERS.clear()  # cold caches: the pool must really answer
    calls = []
    orig = phase12.EffDecider._ask

    def spy(self, rows, what):
        calls.append(self.pool is not None and len(rows) >= phase12.POOL_MIN_STATES)
        return orig(self, rows, what)

    phase12.EffDecider._ask = spy
    try:
        two = simulate(d, [0.05, 0.1, 0.2, 0.3, 0.45], workers=2, **kw)
    finally:
        phase12.EffDecider._ask = orig
    assert any(calls)
    assert one.to_dict() == two.to_dict()


def test_joint_from_the_authors_association_parameter():
    # get.joint.p of the BOIN12 / TITE-BOIN12 authors' programs:
    # P(E=a, T=b) = pE^a (1-pE)^(1-a) pT^b (1-pT)^(1-b) + (-1)^(a+b) pE(1-pE) pT(1-pT) (e^r-1)/(e^r+1).
    import math

    from dosefind.simulations.joint import JointOutcomes

    pt, pe, r = [0.1, 0.3], [0.4, 0.5], 1.5
    j = JointOutcomes.from_lin_rho(pt, pe, r)
    for d in range(2):
        k = pe[d] * (1 - pe[d]) * pt[d] * (1 - pt[d]) * (math.exp(r) - 1) / (math.exp(r) + 1)
        want = [(1 - pe[d]) * (1 - pt[d]) + k, (1 - pe[d]) * pt[d] - k, pe[d] * (1 - pt[d]) - k, pe[d] * pt[d] + k]
        assert list(j.table[d]) == pytest.approx(want, abs=1e-12)     # N, T, E, B
    assert list(JointOutcomes.from_lin_rho(pt, pe, 0.0).table[1]) == pytest.approx([0.35, 0.15, 0.35, 0.15])
