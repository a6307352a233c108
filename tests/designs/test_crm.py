"""CRM design: dfcrm restrictions, models, MLE, options, validation, batch conformance and
quadrature accuracy.  Reference values are computed here independently (scipy quad on the
exact posterior, scipy's bounded optimiser for the MLE), never taken from dosefind."""

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import minimize_scalar
from scipy.special import expit, logit
from scipy.stats import norm

from dosefind import TrialState
from dosefind.designs.crm import CRM, REASONS

SKEL = [0.05, 0.10, 0.25, 0.40, 0.60]


def state(outcomes, num_doses=5):
    return TrialState.from_outcomes(outcomes, num_doses=num_doses)


def model_probs(skel, b, model="empiric", a=3.0):
    s = np.asarray(skel)
    e = math.exp(min(b, 700.0))   # beyond this the probabilities are already 0 in double precision
    if model == "empiric":
        return s ** e
    return expit(a + e * (logit(s) - a))


def exact_posterior(skel, n, y, model="empiric", sd=math.sqrt(1.34), a=3.0):
    """Posterior mean/variance of beta and Pr(p_i > target) by adaptive quadrature."""
    n, y = np.asarray(n, float), np.asarray(y, float)

    def loglik(b):
        p = model_probs(skel, b, model, a)
        with np.errstate(all="ignore"):
            return float(np.sum(np.where(y > 0, y * np.log(p), 0) + np.where(n > y, (n - y) * np.log1p(-p), 0)))

    grid = np.linspace(-12, 12, 2401)
    top = max(loglik(b) for b in grid)
    mode = grid[int(np.argmax([loglik(b) for b in grid]))]
    dens = lambda b: math.exp(loglik(b) - top) * norm.pdf(b, scale=sd)

    def integral(g, hi=np.inf):
        kw = dict(epsabs=0, epsrel=1e-12, limit=500)
        if hi <= mode:
            return quad(g, -np.inf, hi, **kw)[0]
        return quad(g, -np.inf, mode, **kw)[0] + quad(g, mode, hi, **kw)[0]

    z = integral(dens)
    m1 = integral(lambda b: b * dens(b)) / z
    m2 = integral(lambda b: b * b * dens(b)) / z
    pm = [integral(lambda b, i=i: model_probs(skel, b, model, a)[i] * dens(b)) / z for i in range(len(skel))]
    return m1, m2 - m1 ** 2, pm, integral, z, dens


# ---------------------------------------------------------------- restrictions (dfcrm crmsim restrict=TRUE)
def test_no_skipping_caps_one_level_above_current_dose():
    crm = CRM(SKEL, 0.25)
    # The unrestricted recommendation after '2NNN' is dose 4 (dfcrm crm()$mtd, see published test).
    assert crm.select_mtd(state("2NNN")).mtd == 4
    d = crm.decide(state("2NNN"))
    assert d.next_dose == 3 and "one level" in d.reason


def test_cap_is_relative_to_current_not_highest_tried_dose():
    # dfcrm caps at level[last] + 1: after returning to dose 1, dose 3 (tried) is still out of reach.
    crm = CRM(SKEL, 0.25)
    s = state("1N 2N 3N 1N 1N 1N 1N 1N 1N 1N")
    assert crm.select_mtd(s).mtd >= 3
    assert crm.decide(s).next_dose == 2


def test_no_escalation_right_after_a_dlt():
    crm = CRM(SKEL, 0.25)
    s = state("1N 1N 1N 1N 1N 1N 1N 1N 1T")
    assert crm.select_mtd(s).mtd >= 2          # the model would escalate...
    d = crm.decide(s)
    assert d.next_dose == 1 and "no escalation" in d.reason   # ...but not right after a DLT


def test_dlt_rule_uses_dlt_fraction_of_cohort_size_like_dfcrm():
    # dfcrm: sum(ynew) / mcohort >= target blocks escalation. With cohorts of 3 and target
    # 0.35, one DLT in three (0.33) does not block; two do.
    crm = CRM(SKEL, 0.35, cohort_size=3)
    one = crm.decide(state("1NNN 1NNN 1NNN 1NNN 1NNT"))
    two = crm.decide(state("1NNN 1NNN 1NNN 1NNN 1NTT 1NNN 1NNN 1NNN 1NNN 1NNN 1NNN 1NTT"))
    assert one.next_dose == 2
    assert crm.select_mtd(state("1NNN 1NNN 1NNN 1NNN 1NTT 1NNN 1NNN 1NNN 1NNN 1NNN 1NNN 1NTT")).mtd >= 2
    assert two.next_dose == 1


def test_restrict_false_and_fine_switches():
    s = state("2NNN")
    assert CRM(SKEL, 0.25, restrict=False).decide(s).next_dose == 4
    assert CRM(SKEL, 0.25, skip_escalation=True).decide(s).next_dose == 4
    s_dlt = state("1N 1N 1N 1N 1N 1N 1N 1N 1T")
    assert CRM(SKEL, 0.25, escalate_after_dlt=True).decide(s_dlt).next_dose == 2
    assert CRM(SKEL, 0.25, restrict=False, escalate_after_dlt=False).decide(s_dlt).next_dose == 1


def test_start_dose_and_max_n():
    crm = CRM(SKEL, 0.25, start_dose=2, max_n=3)
    assert crm.decide(TrialState.empty(5)).next_dose == 2
    assert crm.decide(state("2NNN")).stop


# ---------------------------------------------------------------- recommendation rule
def test_dfcrm_rule_all_below_target_picks_top_and_ties_go_low():
    crm = CRM(SKEL, 0.25)
    est = np.array([[0.01, 0.02, 0.03, 0.04, 0.05], [0.5, 0.6, 0.7, 0.8, 0.9], [0.1, 0.2, 0.3, 0.4, 0.5]])
    assert list(crm._recommend(est)) == [4, 0, 1]   # 0.2 and 0.3 tie at distance 0.05 -> lower dose


# ---------------------------------------------------------------- quadrature accuracy vs scipy quad
CASES = ["1T", "1NNN 2NTN", "2TTT 1NN", "1NNN 2NNN 3NTT 3TTN 2NNN 2NNN 2NNN 2NTN",
         "5NNN 5NNN 5NNN 5NNN 5NNN 5NNN", "3" + "N" * 30 + "T" * 10]


@pytest.mark.parametrize("model", ["empiric", "logistic"])
@pytest.mark.parametrize("outcomes", CASES)
def test_grid_posterior_agrees_with_adaptive_quadrature(model, outcomes):
    crm = CRM(SKEL, 0.25, model=model, estimate="posterior_mean")
    s = state(outcomes)
    m1, var, pm, integral, z, dens = exact_posterior(SKEL, s.n_at_dose, s.tox_at_dose, model)
    sel = crm.select_mtd(s)
    assert sel.details["beta_mean"] == pytest.approx(m1, abs=1e-8)
    assert sel.details["beta_var"] == pytest.approx(var, abs=1e-8)
    assert sel.estimates == pytest.approx(pm, abs=1e-8)          # posterior mean of each p_i
    # Pr(p_1 > target) = Pr(beta < b*) with p_1(b*) = target.
    if model == "empiric":
        b_star = math.log(math.log(0.25) / math.log(SKEL[0]))
    else:
        b_star = math.log((logit(0.25) - 3.0) / (logit(SKEL[0]) - 3.0))
    assert sel.details["prob_tox_exceeds"][0] == pytest.approx(integral(dens, b_star) / z, abs=1e-5)


def test_plugin_estimates_are_model_at_posterior_mean():
    crm = CRM(SKEL, 0.25, model="logistic")
    sel = crm.select_mtd(state("1NNN 2NTN"))
    b = sel.details["beta_mean"]
    assert sel.estimates == pytest.approx(model_probs(SKEL, b, "logistic"), abs=1e-14)


def test_logistic_model_uses_scaled_doses_and_intercept():
    s = state("2NNN 3TNN")
    m1, *_ = exact_posterior(SKEL, s.n_at_dose, s.tox_at_dose, "logistic", a=4.0)
    sel = CRM(SKEL, 0.25, model="logistic", intercept=4.0).select_mtd(s)
    assert sel.details["beta_mean"] == pytest.approx(m1, abs=1e-8)


def test_prior_var_is_used():
    s = state("1NNN 2NTN")
    m1, *_ = exact_posterior(SKEL, s.n_at_dose, s.tox_at_dose, sd=math.sqrt(0.75))
    assert CRM(SKEL, 0.25, prior_var=0.75).select_mtd(s).details["beta_mean"] == pytest.approx(m1, abs=1e-8)


# ---------------------------------------------------------------- MLE (dfcrm method="mle")
@pytest.mark.parametrize("outcomes", ["1NNN 2NTN", "1N 2N 3T", "2TTT 1NN 1NNN"])
def test_mle_matches_bounded_optimiser(outcomes):
    s = state(outcomes)
    n, y = np.array(s.n_at_dose), np.array(s.tox_at_dose)
    negll = lambda b: -float(np.sum(y * np.log(model_probs(SKEL, b)) + (n - y) * np.log1p(-model_probs(SKEL, b))))
    ref = minimize_scalar(negll, bounds=(-10, 10), method="bounded", options=dict(xatol=1e-12)).x
    sel = CRM(SKEL, 0.25, method="mle").select_mtd(s)
    assert sel.details["beta_mean"] == pytest.approx(ref, abs=1e-7)
    assert not sel.details["mle_approximated"]


def test_mle_without_heterogeneity_uses_the_whole_dispersed_posterior_by_default():
    # integration="exact": the posterior mean under Normal(0, 500^2) over the whole line
    # (crmsim's truncated fallback is integration="dfcrm";
    # tests/published/test_crm_dfcrm_integration.py checks both against scipy quad).
    crm = CRM(SKEL, 0.25, method="mle")
    none = crm.select_mtd(state("1NNN 2NNN"))
    assert none.details["mle_approximated"] and none.details["beta_mean"] > 100 and none.mtd == 5
    assert crm.decide(state("1NNN 2NNN")).next_dose == 3     # escalate one level at a time
    allt = crm.select_mtd(state("2TTT"))
    assert allt.details["mle_approximated"] and allt.details["beta_mean"] < -100 and allt.mtd == 1


# ---------------------------------------------------------------- toxicity stop
def test_toxicity_stop_fires_and_selects_no_mtd():
    crm = CRM(SKEL, 0.25, stop_tox_cutoff=0.9)
    s = state("1TTT 1TTT")
    sel = crm.select_mtd(s)
    assert sel.details["prob_tox_exceeds"][0] > 0.9
    assert sel.mtd is None
    d = crm.decide(s)
    assert d.stop and "stop for toxicity" in d.reason
    assert not crm.decide(state("1NNN 1NTN")).stop
    assert CRM(SKEL, 0.25).select_mtd(s).mtd == 1   # off by default, as in dfcrm


# ---------------------------------------------------------------- decide_batch conformance and memory
@pytest.mark.parametrize("kwargs", [
    dict(), dict(model="logistic"), dict(cohort_size=3, target=0.3), dict(method="mle"),
    dict(estimate="posterior_mean", stop_tox_cutoff=0.8), dict(restrict=False, max_n=20),
    dict(method="mle", integration="dfcrm"), dict(prior_var=0.01, stop_tox_cutoff=0.9),
])
def test_decide_batch_equals_decide(kwargs):
    kw = dict(skeleton=SKEL, target=0.25)
    kw.update(kwargs)
    crm = CRM(**kw)
    rng = np.random.default_rng(7)
    states = [TrialState.empty(5)]
    for _ in range(300):
        s = TrialState.empty(5)
        for _ in range(rng.integers(1, 10)):
            s = s.add_cohort(int(rng.integers(0, 5)), rng.random(crm.cohort_size) < 0.3)
        states.append(s)
    if crm.max_n is None:   # narrow posteriors (fitted grid) in the same batch as wide ones
        for m in (300, 3000):
            states.append(TrialState.empty(5).add_cohort(2, [1] * (m // 4) + [0] * (m - m // 4)))
    n = np.array([s.n_at_dose for s in states])
    y = np.array([s.tox_at_dose for s in states])
    cur = np.array([-1 if s.current_index is None else s.current_index for s in states])
    last = np.array([-1 if s.last_cohort is None else s.last_cohort.tox for s in states])
    top = np.array([-1 if s.max_tried_index is None else s.max_tried_index for s in states])
    nxt, why = crm.decide_batch(n, y, cur, last, top)
    codes = {1: "escalate", 2: "stay", 3: "lowest_too_toxic", 4: "max_n", 5: "start"}
    for s, k, r in zip(states, nxt, why):
        d = crm.decide(s)
        assert (k == -1) == d.stop and (d.stop or k == d.dose_index), (str(s), k, d)
        assert r in REASONS
        if int(r) in codes:                      # the typed code says the same as the batch code
            assert d.code.value == codes[int(r)], (str(s), r, d)


def test_decision_depends_only_on_state_key():
    crm = CRM(SKEL, 0.25)
    a = state("1N 2N 3T 2N")
    b = state("2N 1N 3T 2N")      # same counts, current dose and last-cohort DLTs, different order
    assert a.key() == b.key() and crm.decide(a) == crm.decide(b)


# ---------------------------------------------------------------- validation and text
@pytest.mark.parametrize("kwargs,match", [
    (dict(skeleton=[0.1, 0.3, 0.2]), "skeleton must be strictly increasing"),
    (dict(skeleton=[0.0, 0.3]), r"skeleton\[1\] must be between 0 and 1"),
    (dict(skeleton=[0.1, 1.0]), r"skeleton\[2\] must be between 0 and 1"),
    (dict(target=1.3), "target must be between 0 and 1"),
    (dict(model="probit"), "model must be 'empiric' or 'logistic'"),
    (dict(method="mcmc"), "method must be 'bayes' or 'mle'"),
    (dict(estimate="median"), "estimate must be 'plugin' or 'posterior_mean'"),
    (dict(integration="R"), "integration must be 'exact' or 'dfcrm', got 'R'"),
    (dict(max_n=20_000), "max_n must be at most 10000 patients, got 20000"),
    (dict(skip_escalation="no"), "skip_escalation must be true or false"),
    (dict(estimate="posterior_mean", method="mle"), "needs method='bayes'"),
    (dict(prior_var=0), "prior_var must be a positive number"),
    (dict(model="logistic", intercept=0.0), "intercept must exceed logit"),
    (dict(stop_tox_cutoff=1.5), "stop_tox_cutoff must be between 0 and 1"),
    (dict(conf_level=0), "conf_level must be between 0 and 1"),
    (dict(restrict="yes"), "restrict must be true or false"),
    (dict(cohort_size=0), "cohort_size must be >= 1"),
    (dict(start_dose=6), "start_dose must be between 1 and 5"),
])
def test_validation_messages(kwargs, match):
    kw = dict(skeleton=SKEL, target=0.25)
    kw.update(kwargs)
    with pytest.raises(ValueError, match=match):
        CRM(**kw)


def test_decide_batch_rejects_wrong_shapes():
    with pytest.raises(ValueError, match=r"must both have shape \(T, 5\)"):
        CRM(SKEL, 0.25).decide_batch(np.zeros((2, 4)), np.zeros((2, 4)), [0, 0], [0, 0], [0, 0])


def test_describe_and_params_roundtrip():
    crm = CRM(SKEL, 0.25, model="logistic", stop_tox_cutoff=0.9, max_n=24)
    text = crm.describe()
    assert "continual reassessment method" in text and "logistic" in text and "0.9" in text
    clone = CRM(**crm.params())
    assert clone.params() == crm.params()
