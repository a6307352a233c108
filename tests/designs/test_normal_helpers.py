"""dosefind._normal (Phi and Phi^-1 from the standard library) against scipy.special.

CRM and TITE-CRM take the normal CDF and quantile from dosefind._normal so that their quick
commands do not import scipy.special (issue 14).  The reference is scipy's own ``ndtr`` and
``ndtri`` (Cephes), which these functions replace:

* the helpers agree with scipy to 1e-15 relative near the centre, and in the lower tail to
  1e-15 x^2 relative (the condition number of Phi at x is about x^2, so one unit in the last
  place of erfc's argument moves Phi by about x^2 ulps), down to the smallest normal double;
* on every reachable state of several CRM designs the decisions, the MTD selections and the
  select_mtd details are the same whichever pair of functions the design uses (the details to
  a few ulps), and so are the exact operating characteristics (to 1e-12);
* TITE-CRM's decisions and select_mtd details on states with pending patients likewise.
"""

import math

import numpy as np
import pytest
from scipy import special

import dosefind.designs.crm as crm_module
import dosefind.designs.tite_crm as tite_module
from dosefind import _normal
from dosefind.designs import CRM
from dosefind.designs.tite_crm import TITECRM
from dosefind.simulations import simulate
from dosefind.simulations.tables import DecisionTable
from dosefind.state import Patient, TrialState

TINY = np.finfo(float).tiny


def test_ndtr_matches_scipy_on_a_wide_grid():
    x = np.concatenate([np.linspace(-38.5, 9.0, 200_001), -np.logspace(-300, 1.58, 3000),
                        np.logspace(-300, 1, 3000), [0.0, -0.0]])
    ref = special.ndtr(x)
    got = _normal.ndtr(x)
    normal = ref >= TINY
    rel = np.abs(got[normal] - ref[normal]) / ref[normal]
    assert np.all(rel <= 1e-15 * np.maximum(10.0, x[normal] ** 2)), x[normal][np.argmax(rel)]
    assert np.all(rel[np.abs(x[normal]) <= 3] <= 1e-14)
    # below about x = -37.5 Phi is subnormal: agreement in absolute terms (scipy's erfc flushes to
    # zero below x = -37.68, where exp(-x^2/2) underflows in Cephes; math.erfc still gives subnormals)
    sub, flushed = ~normal & (ref > 0), ref == 0
    assert np.all(np.abs(got[sub] - ref[sub]) <= 1e-320)
    assert np.all(got[flushed] < 1e-310) and np.all(x[flushed] < -37.6)
    assert x[~normal].size > 0 and x[normal].min() < -37.5


def test_ndtr_ends_scalars_and_shapes():
    assert _normal.ndtr(-np.inf) == 0.0 and _normal.ndtr(np.inf) == 1.0 and _normal.ndtr(0.0) == 0.5
    assert _normal.ndtr(-40.0) == special.ndtr(-40.0) == 0.0
    assert math.isnan(_normal.ndtr(np.nan))
    assert isinstance(_normal.ndtr(np.float64(1.0)), float) and isinstance(_normal.ndtr(np.array(1.0)), float)
    x = np.linspace(-5, 5, 12).reshape(3, 4)
    got = _normal.ndtr(x)
    assert got.shape == (3, 4) and np.allclose(got, special.ndtr(x), rtol=1e-14, atol=0)


def test_ndtri_matches_scipy_on_a_wide_grid():
    p = np.concatenate([np.linspace(1e-6, 1 - 1e-6, 100_001), np.logspace(-300, -1, 3000),
                        1 - np.logspace(-16, -1, 1000), [0.5]])
    ref = special.ndtri(p)
    got = _normal.ndtri(p)
    rel = np.abs(got - ref) / np.maximum(np.abs(ref), TINY)
    far = np.abs(ref) > 1e-3
    assert np.all(rel[far] <= 1e-14), p[far][np.argmax(rel[far])]
    assert np.all(np.abs(got - ref)[~far] <= 1e-17)          # near p = 1/2, in absolute terms
    for conf in (0.8, 0.9, 0.95, 0.99):                       # the quantiles select_mtd asks for
        assert abs(_normal.ndtri(0.5 + conf / 2) - special.ndtri(0.5 + conf / 2)) <= 1e-15  # 3 ulps


def test_ndtri_ends_follow_scipy():
    for p in (0.0, 1.0, -0.5, 1.5, np.nan):
        want = special.ndtri(p)
        got = _normal.ndtri(p)
        assert (math.isnan(got) and math.isnan(want)) or got == want, p


@pytest.fixture
def with_scipy(monkeypatch):
    """Run the CRM family on scipy's ndtr / ndtri instead of dosefind._normal's."""
    def use_scipy():
        for module in (crm_module, tite_module):
            monkeypatch.setattr(module, "ndtr", special.ndtr)
            monkeypatch.setattr(module, "ndtri", special.ndtri)
    return use_scipy


SKEL5 = [0.12, 0.20, 0.30, 0.40, 0.50]
CRMS = {
    "empiric": lambda: CRM(SKEL5, 0.3, cohort_size=3, max_n=12),
    "logistic, stop cutoff": lambda: CRM([0.05, 0.12, 0.25, 0.4], 0.25, model="logistic", cohort_size=3, max_n=18,
                                         stop_tox_cutoff=0.9),
    "posterior mean, no escalation after a DLT": lambda: CRM(SKEL5, 0.25, estimate="posterior_mean",
                                                             escalate_after_dlt=False, cohort_size=3, max_n=18),
    # the prior tails beyond the grid and Phi(b*/sd) carry the most weight for a wide prior
    "prior variance 25, stop cutoff": lambda: CRM(SKEL5, 0.3, prior_var=25.0, cohort_size=3, max_n=18,
                                                  stop_tox_cutoff=0.8),
    "mle, dfcrm integration": lambda: CRM([0.05, 0.12, 0.25, 0.4, 0.55], 0.25, method="mle", cohort_size=3,
                                          max_n=12, restrict=False, integration="dfcrm"),
}
SCENARIOS = ([0.05, 0.10, 0.20, 0.30, 0.45], [0.30, 0.40, 0.50, 0.60, 0.70], [0.02, 0.04, 0.06, 0.08, 0.10])


def _every_state(make):
    design = make()
    table = DecisionTable(design)
    assert table.complete(10 ** 7)
    out = []
    for i in range(table.size):
        state = table.state(i)
        d, sel = design.decide(state), design.select_mtd(state)
        det = sel.details
        out.append(((d.stop, d.dose_index, d.code), sel.mtd,
                    np.array([*sel.estimates, *det["lower"], *det["upper"], *det["prob_tox_exceeds"]], float)))
    ocs = [simulate(make(), p[:design.num_doses], method="exact", target=design.target).values for p in SCENARIOS]
    return out, ocs


def _numbers(values):
    return np.concatenate([np.ravel(np.asarray(values[k], float)) for k in sorted(values)
                           if values[k] is not None])


@pytest.mark.parametrize("name", list(CRMS))
def test_crm_decisions_selections_and_exact_ocs_do_not_depend_on_the_normal_functions(name, with_scipy):
    ours, ours_oc = _every_state(CRMS[name])
    with_scipy()
    theirs, theirs_oc = _every_state(CRMS[name])
    assert len(ours) == len(theirs) > 100
    for (dec, mtd, det), (dec_s, mtd_s, det_s) in zip(ours, theirs):
        assert dec == dec_s and mtd == mtd_s
        np.testing.assert_allclose(det, det_s, rtol=1e-14, atol=1e-15)
    for a, b in zip(ours_oc, theirs_oc):
        np.testing.assert_allclose(_numbers(a), _numbers(b), rtol=0, atol=1e-12)


def _tite_states():
    rng = np.random.default_rng(2024)
    for _ in range(40):
        pts = []
        for d in range(int(rng.integers(1, 5))):
            for _ in range(3):
                y = int(rng.random() < 0.3)
                complete = bool(y or rng.random() < 0.6)
                pts.append(Patient(d, y, complete=complete, followup=float(rng.uniform(0, 28)) if not complete or y
                                   else 28.0))
        yield TrialState.from_patients(pts, num_doses=5)


@pytest.mark.parametrize("kw", [{}, {"model": "logistic"}, {"method": "mle"}, {"prior_var": 25.0}])
def test_tite_crm_decisions_and_details_do_not_depend_on_the_normal_functions(kw, with_scipy):
    def run():
        design = TITECRM([0.05, 0.12, 0.25, 0.40, 0.55], 0.25, dlt_window=28, **kw)
        out = []
        for s in _tite_states():
            d, sel = design.decide(s), design.select_mtd(s)
            det = sel.details
            out.append(((d.stop, d.dose_index, d.code), sel.mtd,
                        np.array([*det["lower"], *det["upper"], *det["prob_tox_exceeds"]], float)))
        return out

    ours = run()
    with_scipy()
    theirs = run()
    for (dec, mtd, det), (dec_s, mtd_s, det_s) in zip(ours, theirs, strict=True):
        assert dec == dec_s and mtd == mtd_s
        np.testing.assert_allclose(det, det_s, rtol=1e-14, atol=1e-15)
