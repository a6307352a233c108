"""ESS by ELIR and by moments, fit warnings and quantile MCSE (issue 13).

ELIR closed form: for a Beta(a, b) prior with a, b > 1, ESS_ELIR = a + b (Neuenschwander,
Weber, Schmidli & O'Hagan 2020, Biometrics 76:578, section 3; RBesT ``ess(mix, "elir")``).
Moment ESS of a Beta(a, b): a + b by construction (m (1 - m) / v - 1).
"""

from __future__ import annotations

import numpy as np
import pytest

from dosefind.priors.checks import fit_warnings, prior_ess, quantile_mcse
from dosefind.priors.ess import beta_mixture_fit, ess_elir_beta_mixture, ess_elir_draws, ess_moment


@pytest.mark.parametrize("a, b", [(2, 8), (1.5, 1.2), (6, 24), (30, 70), (13, 4)])
def test_elir_of_a_beta_is_a_plus_b(a, b):
    assert ess_elir_beta_mixture([1.0], [a], [b]) == pytest.approx(a + b, rel=1e-7)


@pytest.mark.parametrize("a, b", [(2, 8), (6, 24), (30, 70)])
def test_elir_from_draws_of_a_beta(a, b):
    """Draws -> Beta mixture (EM) -> ELIR: within 5% of a + b with 20,000 draws."""
    draws = np.random.default_rng(4).beta(a, b, 20_000)
    assert ess_elir_draws(draws) == pytest.approx(a + b, rel=0.05)
    m, v = draws.mean(), draws.var(ddof=1)
    assert ess_moment(m, v) == pytest.approx(a + b, rel=0.05)


def test_elir_of_a_robust_mixture_is_smaller_than_its_informative_part():
    """A vague component carries little information: ELIR of 0.8 Beta(6, 24) + 0.2 Beta(1.5, 1.5)
    lies well below 30 and above the vague part's 3."""
    e = ess_elir_beta_mixture([0.8, 0.2], [6, 1.5], [24, 1.5])
    assert 3 < e < 30


def test_elir_refuses_parameters_not_above_one():
    with pytest.raises(ValueError, match="every Beta parameter > 1"):
        ess_elir_beta_mixture([1.0], [0.5], [3.0])
    with pytest.raises(ValueError, match="sum to 1"):
        ess_elir_beta_mixture([0.5, 0.4], [2, 2], [3, 3])


def test_beta_mixture_fit_constrains_above_one():
    draws = np.random.default_rng(1).beta(0.4, 4, 5000)
    w, a, b = beta_mixture_fit(draws)
    assert min(a) > 1 and min(b) > 1 and sum(w) == pytest.approx(1)


def test_fit_ess_has_both_methods_named(dose_fit):
    rows = prior_ess(dose_fit)
    assert len(rows) == len(dose_fit.doses)
    for r in rows:
        assert r["ess_elir"] > 0 and r["ess_moment"] > 0
        assert "ELIR (Neuenschwander et al. 2020)" == r["elir_method"]
        assert "moment" in r["moment_method"] and "Morita" not in r["moment_method"]
    s = dose_fit.summary()
    assert {"ess_elir", "ess_moment", "mcse_lower", "mcse_upper", "mcse_median"} <= set(s["doses"][0])
    assert s["ess_methods"]["ess_elir"].startswith("ELIR")


def test_one_study_warning_for_dlt():
    """DLT is reported by one study only (000, 0/13): the fit must say so."""
    import warnings

    from dosefind.priors import fit_dose_response

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fit_dose_response(None, "dlt", (1e6, 2e6, 4e6), draws=100, tune=200, chains=1, seed=3)
    codes = [w.code for w in fit_warnings(fit)]
    assert "one_study" in codes
    assert any("rests on one study" in w["text"] for w in fit.summary()["warnings"])


def test_prior_dominates_warning_for_tau(dose_fit):
    """Five small studies do not identify tau: its posterior sd stays near the HN(1) prior's."""
    texts = [w.text for w in fit_warnings(dose_fit) if w.code == "prior_dominates"]
    assert any("prior of tau" in t for t in texts)


def test_quantile_mcse_matches_iid_theory():
    """For iid normal draws, MCSE of the 97.5% quantile ~ sqrt(q (1 - q) / n) / phi(z_q)."""
    from scipy.stats import norm

    x = np.random.default_rng(0).normal(size=(4, 5000))
    q = 0.975
    theory = np.sqrt(q * (1 - q) / x.size) / norm.pdf(norm.ppf(q))
    assert quantile_mcse(x, q) == pytest.approx(theory, rel=0.25)
