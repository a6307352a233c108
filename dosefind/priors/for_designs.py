"""One call for a study file: what a design takes from a named prior-fit file.

``prior_for_design(path, "blrm" | "crm", ...)`` loads and checks the fit, refuses a fit of
another endpoint, and returns the design's keyword arguments (BLRM: doses, prior,
reference_dose; CRM: skeleton), the prior's strength (ESS by both methods, warnings) for
the report, and the file's SHA-256 for the manifest.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DesignPrior", "prior_for_design", "fit_file_sha256"]


def fit_file_sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class DesignPrior:
    design: str
    path: str
    sha256: str
    kwargs: dict
    strength: object          # dosefind.priors.checks.PriorStrength

    def to_dict(self) -> dict:
        kw = {k: (v.to_dict() if hasattr(v, "to_dict") else v) for k, v in self.kwargs.items()}
        return dict(design=self.design, path=self.path, sha256=self.sha256, kwargs=kw,
                    strength=self.strength.to_dict())


def prior_for_design(path, design: str, *, endpoint: str | None = None, target: float | None = None,
                     robust_weight: float | None = None, statistic: str = "median") -> DesignPrior:
    """Design keyword arguments from the fit file ``path`` (see the module docstring).

    ``design="blrm"``: ``robust_weight`` (default 0.2) of the robust component.
    ``design="crm"``: ``target`` is required (for the comparison skeleton's prior MTD);
    the skeleton is the posterior ``statistic`` at the fit's doses.
    """
    from dosefind.priors.checks import prior_strength
    from dosefind.priors.fit import load_fit

    fit = load_fit(path)
    fit.require_dose_response(f"a {design} prior")
    if endpoint is not None and fit.endpoint != endpoint:
        raise ValueError(f"{path}: the fit is of {fit.endpoint}, not {endpoint}")
    if design == "blrm":
        from dosefind.priors.blrm_prior import blrm_prior_from_fit
        from dosefind.priors.mixture import DEFAULT_ROBUST_WEIGHT

        w = DEFAULT_ROBUST_WEIGHT if robust_weight is None else robust_weight
        kwargs = blrm_prior_from_fit(fit, robust_weight=w).design_kwargs()
    elif design == "crm":
        from dosefind.priors.derived import skeleton_from_fit

        if target is None:
            raise ValueError("a CRM skeleton from a fit needs the target DLT rate (target = ...)")
        if robust_weight is not None:
            raise ValueError("robust_weight is for the BLRM prior; the CRM takes only a skeleton")
        kwargs = dict(skeleton=list(skeleton_from_fit(fit, target, statistic=statistic).skeleton))
    else:
        raise ValueError(f"design must be 'blrm' or 'crm' to take a prior fit, got {design!r}")
    return DesignPrior(design, str(Path(path)), fit_file_sha256(path), kwargs, prior_strength(fit))
