"""Priors from the published CD7 CAR-T literature.

The evidence table (``load_evidence``) feeds two PyMC models (``fit_map``,
``fit_dose_response``); a fit is saved once (``PriorFit.save``) and reused
(``load_fit``) for a CRM skeleton (``skeleton_from_fit``), prior scenarios for the
simulation engine (``draw_scenarios``) and plots (``plot_fit``). PyMC, ArviZ and
matplotlib are imported only when a function needs them. See docs/priors.md.
"""

from __future__ import annotations

import importlib

_PUBLIC = {
    "ENDPOINTS": "evidence", "TOXICITY_ENDPOINTS": "evidence", "load_evidence": "evidence",
    "validate_evidence": "evidence", "bundled_evidence_path": "evidence", "evidence_records": "evidence",
    "fit_map": "models", "fit_dose_response": "models",
    "PriorFit": "fit", "load_fit": "fit", "Diagnostics": "fit", "PriorFitWarning": "fit", "PriorFitError": "fit",
    "skeleton_from_fit": "derived", "draw_scenarios": "derived", "SkeletonResult": "derived",
    "moment_matched_beta": "derived", "robust_mixture": "derived",
    "plot_fit": "plots",
    "BivariateNormalMixture": "mixture", "BLRMPrior": "blrm_prior", "blrm_prior_from_fit": "blrm_prior",
    "blrm_theta_draws": "blrm_prior", "prior_ess": "checks", "fit_warnings": "checks", "FitWarning": "checks",
    "prior_strength": "checks", "PriorStrength": "checks", "ess_elir_beta_mixture": "ess",
    "ess_elir_draws": "ess", "ess_moment": "ess", "validate_fit": "fit",
    "prior_sensitivity": "sensitivity", "Sensitivity": "sensitivity", "predictive_checks": "checks",
    "PredictiveChecks": "checks", "plot_sensitivity": "plots", "plot_checks": "plots",
    "prior_for_design": "for_designs", "DesignPrior": "for_designs", "fit_file_sha256": "for_designs",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name):
    if name in _PUBLIC:
        return getattr(importlib.import_module(f"dosefind.priors.{_PUBLIC[name]}"), name)
    raise AttributeError(f"module 'dosefind.priors' has no attribute {name!r}")
