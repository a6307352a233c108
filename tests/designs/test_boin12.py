"""BOIN12 rules, one test per rule, with numbers from exact calculation.

Settings: phi_T = 0.35, phi_E = 0.25, the default utility (100, 40, 60, 0), so
lambda_e = 0.2763, lambda_d = 0.4189 (BOIN's formulas with phi_1 = 0.6 phi_T,
phi_2 = 1.4 phi_T) and u_b = 70.5.
"""

import math

import pandas as pd
import pytest
from scipy.special import betaincc

from dosefind import TrialState
from dosefind.designs import BOIN12
from dosefind.designs.boin12 import desirability
from dosefind.state import ReasonCode as R


def design(**kw):
    opts = dict(phi_t=0.35, phi_e=0.25, num_doses=5, cohort_size=3, max_n=30)
    opts.update(kw)
    return BOIN12(**opts)


def test_boundaries_are_boins():
    d = design()
    lam_e = math.log(0.79 / 0.65) / math.log(0.35 * 0.79 / (0.21 * 0.65))
    lam_d = math.log(0.65 / 0.51) / math.log(0.49 * 0.65 / (0.35 * 0.51))
    assert d.lambda_e == pytest.approx(lam_e, abs=1e-12) and d.lambda_d == pytest.approx(lam_d, abs=1e-12)


def test_desirability_exact():
    # 3 patients, 0 DLT, 3 responses: x = (60*3 + 40*3)/100 = 3, Beta(4, 1): Pr(> .705) = 1 - .705^4.
    assert desirability(3.0, 3, 70.5) == pytest.approx(1 - 0.705 ** 4, abs=1e-12)
    # 1 response with DLT, 2 neither (x = 0.6 + 0.8 = 1.4 of 3): the Beta(2.4, 2.6) tail, by quadrature.
    from scipy.integrate import quad
    from scipy.special import beta as B
    tail = quad(lambda p: p ** 1.4 * (1 - p) ** 1.6, 0.705, 1)[0] / B(2.4, 2.6)
    assert desirability(1.4, 3, 70.5) == pytest.approx(tail, abs=1e-9)


def test_start_and_escalation_by_desirability():
    d = design()
    assert d.decide(TrialState.empty(5)).next_dose == 1
    # Dose 2: 6 patients, 1 DLT (<= floor(0.2763*6) = 1), 3 responses: x = 3.8, Pr = 0.286,
    # below the untried dose 3's prior 1 - 0.705 = 0.295, so escalate.
    dec = d.decide(TrialState.from_outcomes("1NNN 2NEN 2EET", num_doses=5))
    assert (dec.next_dose, dec.code) == (3, R.ESCALATE)


def test_deescalation_boundary():
    # 2 DLTs of 3 >= ceil(0.4189*3) = 2: de-escalate whatever the responses.
    dec = design().decide(TrialState.from_outcomes("1NNN 2BBE", num_doses=5))
    assert (dec.next_dose, dec.code) == (1, R.DE_ESCALATE)


def test_n1_rule_blocks_escalation_between_boundaries():
    # Dose 2, 2 DLTs: at n=3 (< N1) the dose above is a candidate (its prior 0.295 wins);
    # at n=6 (>= N1) with 2/6 between lambda_e and lambda_d only doses 1 and 2 are.
    s3 = TrialState.from_counts([3, 3, 0, 0, 0], [0, 1, 0, 0, 0], current_dose=2, eff=[1, 1, 0, 0, 0])
    assert design().decide(s3).next_dose == 3
    s6 = TrialState.from_counts([3, 6, 0, 0, 0], [0, 2, 0, 0, 0], current_dose=2, eff=[1, 2, 0, 0, 0])
    assert design().decide(s6).next_dose in (1, 2)
    assert design(n1=7).decide(s6).next_dose == 3


def test_n2_rule_explores_the_untried_dose():
    # Dose 2: 9 patients, 3 DLTs (between the boundaries, n >= N1), 9 responses: Pr(u > u_b)
    # is high, so step 3 stays; with n >= N2 = 9, 3 < 4 (de-escalation count) and dose 3
    # untried, dose 3 is treated.  n2=None (the BOIN Suite's unticked box) stays.
    s = TrialState.from_counts([3, 9, 0, 0, 0], [0, 3, 0, 0, 0], current_dose=2, eff=[1, 9, 0, 0, 0])
    assert design(n2=None).decide(s).next_dose == 2
    dec = design().decide(s)
    assert (dec.next_dose, dec.code) == (3, R.ESCALATE) and "n2=9" in dec.reason


def test_futility_elimination_needs_three_patients_and_cutoff():
    from scipy.special import betainc
    d = design()
    # Pr(p_E < 0.25 | 0 of n) = 1 - 0.75^(n+1): 0.684 (n=3), 0.867 (n=6), 0.944 (n=9) vs 0.9.
    assert [d._futile(n, 0) for n in (3, 6, 9)] == [False, False, True]
    # 1 of 9: Pr = 1 - 0.75^10 - 10 * 0.25 * 0.75^9 = 0.756 < 0.9.
    assert betainc(2, 9, 0.25) == pytest.approx(1 - 0.75 ** 10 - 2.5 * 0.75 ** 9, abs=1e-12)
    assert d._futile(9, 1) is False
    assert d._futile(2, 0) is False  # fewer than 3 patients: never eliminated


def test_futile_dose_is_skipped_and_all_futile_stops():
    d = design(num_doses=3)
    # Dose 2 is futile (0/9 responses): from dose 1 the next candidate above is dose 3.
    s = TrialState.from_counts([3, 9, 0], [0, 0, 0], current_dose=1, eff=[0, 0, 0])
    dec = d.decide(s)
    assert dec.next_dose in (1, 3)
    s_all = TrialState.from_counts([9, 9, 9], [0, 0, 0], current_dose=3, eff=[0, 0, 0])
    assert d.decide(s_all).code is R.FUTILITY
    assert d.select_obd(s_all).obd is None


def test_toxicity_elimination_and_stop():
    # 3/3 DLTs: Pr(p > 0.35) = 1 - 0.35^4 = 0.985 > 0.95.
    dec = design().decide(TrialState.from_outcomes("1TTB", num_doses=5))
    assert dec.stop and dec.code is R.LOWEST_TOO_TOXIC
    # At dose 2 it eliminates doses 2+: de-escalate and never come back above dose 1.
    s = TrialState.from_outcomes("1EEN 2TTT", num_doses=5)
    assert design().decide(s).next_dose == 1
    assert design().select_obd(s).details["eliminated"] == [2, 3, 4, 5]


def test_n_earlystop_and_max_n():
    s = TrialState.from_counts([3, 12, 0, 0, 0], [0, 2, 0, 0, 0], current_dose=2, eff=[1, 6, 0, 0, 0])
    assert design(n_earlystop=12).decide(s).code is R.N_AT_DOSE
    assert design(max_n=15).decide(s).code is R.MAX_N


def test_obd_is_posterior_mean_utility_not_desirability():
    # Dose 1: 24 patients, 4 DLTs, 13 responses: x = 15.8, mean 100*16.8/26 = 64.6, Pr(u > u_b) 0.274.
    # Dose 2: 3 patients, 1 DLT, 2 responses: x = 2.0, mean 100*3/5 = 60.0, Pr(u > u_b) 0.339.
    # The MTD is untried dose 3 (estimate phi_t + 0.003 beats dose 2's 0.3333 + 0.002).
    d = design(num_doses=3)
    s = TrialState.from_counts([24, 3, 0], [4, 1, 0], current_dose=2, eff=[13, 2, 0])
    sel = d.select_obd(s)
    assert sel.utility[0] == pytest.approx(100 * 16.8 / 26) and sel.utility[1] == pytest.approx(60.0)
    assert sel.details["desirability"][1] > sel.details["desirability"][0]
    assert (sel.obd, sel.mtd) == (1, 3)
    assert d.select_mtd(s).mtd == 3


def test_obd_capped_by_isotonic_mtd():
    # Dose 3 has the best utility (6/6 responses) and 4/6 DLTs, not eliminated (Pr(p > .35)
    # < .95).  The estimates (0, 1/6, 2/3) are already increasing; with the 0.001 j
    # tie-break the closest to 0.35 is dose 2 (|0.1687 - .35| < |0.6697 - .35|), so dose 3
    # is above the MTD and cannot be the OBD.
    d = design(num_doses=3)
    s = TrialState.from_counts([3, 6, 6], [0, 1, 4], current_dose=3, eff=[0, 2, 6])
    sel = d.select_obd(s)
    assert sel.details["eliminated"] == []
    assert (sel.mtd, sel.obd) == (2, 2)  # utilities 100*(x+1)/(n+2): 44.0, 52.5, 67.5
    assert sel.utility == pytest.approx((44.0, 52.5, 67.5))


def test_non_additive_utility_needs_patient_outcomes():
    u = {"eff_no_tox": 100, "no_eff_no_tox": 40, "eff_tox": 80, "no_eff_tox": 0}
    d = design(utility=u)
    assert d.memory == "history"
    with pytest.raises(ValueError, match="not additive"):
        d.decide(TrialState.from_counts([3, 0, 0, 0, 0], [1, 0, 0, 0, 0], eff=[1, 0, 0, 0, 0]))
    # "1BNN": x = (80 + 40 + 40)/100 = 1.6; "1ETN": x = (100 + 0 + 40)/100 = 1.4 (same marginals).
    both = d.utility_estimates(TrialState.from_outcomes("1BNN", num_doses=5))[0]
    apart = d.utility_estimates(TrialState.from_outcomes("1ETN", num_doses=5))[0]
    assert (both, apart) == (pytest.approx(100 * 2.6 / 5), pytest.approx(100 * 2.4 / 5))
    assert design().memory == "counts"


def test_waits_for_pending_efficacy():
    s = TrialState.from_records([1, 1, 1], [0, 0, 0], num_doses=5, eff=[1, 0, None],
                                eff_complete=[True, True, False])
    dec = design().decide(s)
    assert dec.wait and dec.code is R.WAIT_FOLLOWUP


@pytest.mark.parametrize("kw, message", [
    ({"phi_e": 1.0}, "phi_e must be between 0 and 1"),
    ({"phi_e": 0}, "phi_e must be between 0 and 1"),
    ({"phi_t": 0.7}, "phi_t must be between 0.05 and 0.6"),
    ({"utility": [100, 40, 60, 0]}, "utility must be a table with the keys"),
    ({"utility": {"eff_no_tox": 100, "no_eff_no_tox": 40, "eff_tox": 60}}, "missing no_eff_tox"),
    ({"utility": {"eff_no_tox": 100, "no_eff_no_tox": 40, "eff_tox": 60, "no_eff_tox": 0, "x": 1}}, "unknown x"),
    ({"utility": {"eff_no_tox": 100, "no_eff_no_tox": 140, "eff_tox": 60, "no_eff_tox": 0}},
     r"utility\['no_eff_no_tox'\] must be between 0 and 100"),
    ({"utility": {"eff_no_tox": 90, "no_eff_no_tox": 40, "eff_tox": 60, "no_eff_tox": 0}}, "must be 100"),
    ({"n1": 0}, "n1 must be >= 1"),
    ({"n2": 2.5}, "n2 must be a whole number"),
    ({"c_e": 1.5}, "c_e must be between 0 and 1"),
    ({"c_t": 0}, "c_t must be between 0 and 1"),
    ({"n_earlystop": 0}, "n_earlystop must be >= 1"),
    ({"start_dose": 6}, "start_dose must be between 1 and 5"),
])
def test_bad_input(kw, message):
    with pytest.raises(ValueError, match=message):
        design(**kw)


def test_params_round_trip_and_interface():
    d = design(n2=None, utility={"eff_no_tox": 100, "no_eff_no_tox": 30, "eff_tox": 70, "no_eff_tox": 0},
               n_earlystop=12)
    again = BOIN12.from_params(d.params())
    assert again.params() == d.params()
    s = TrialState.from_outcomes("1NNE 2ETN", num_doses=5)
    assert again.decide(s) == d.decide(s)
    assert d.efficacy is True and d.name == "BOIN12"
    assert len(d.tox_estimates(s)) == 5 and d.tox_estimates(s)[2] is None
    assert d.prob_tox_exceeds(s, 0.35)[0] == pytest.approx(0.65 ** 4)  # Beta(1, 4) tail at 0 of 3
    assert "BOIN12" in d.describe() and f"benchmark {d.u_b:g}" in d.describe()
    assert d.select_obd(s).to_dict()["obd"] in (1, 2)


def test_boundaries_table():
    tab = design(max_n=12).boundaries()
    # BOIN's counts for lambda_e = .2763, lambda_d = .4189 (de-escalation capped by elimination);
    # futility: 0 of 9 and 0 of 12 (Pr = .944 and 1 - .75^13 = .976 > .9), 1 of 12 gives .873.
    assert tab["n"].tolist() == [3, 6, 9, 12]
    assert tab["escalate_if_dlt_le"].tolist() == [0, 1, 2, 3]
    assert tab["deescalate_if_dlt_ge"].tolist() == [2, 3, 4, 6]
    eff = tab["eliminate_if_eff_le"]
    assert eff.isna().tolist() == [True, True, False, False] and eff.iloc[2:].tolist() == [0, 0]


def test_desirability_table_checks_and_small_n():
    from dosefind.designs.boin12 import desirability_table
    with pytest.raises(ValueError, match="c_e must be between 0 and 1"):
        desirability_table([3], 0.35, 0.25, c_e=2)
    with pytest.raises(ValueError, match="additive"):
        desirability_table([3], 0.35, 0.25, {"eff_no_tox": 100, "no_eff_no_tox": 40, "eff_tox": 80, "no_eff_tox": 0})
    # 2 DLTs of 2: Pr(p > .35) = 1 - .35^3 = .957 > .95, but fewer than 3 patients never eliminate.
    t = desirability_table([2], 0.35, 0.25)
    assert t.admissible.all()


def test_no_obd_when_the_final_rule_stops_for_futility():
    # Doses 1 and 2 futile (0/9 responses), dose 2 current with 3/9 DLTs (between the
    # boundaries, n >= N1: no escalation): no candidate is left, so the rule stops for
    # futility, and, as in the authors' loop, nothing is selected, although dose 3 (2/3
    # responses) is tried, kept and below the MTD.
    d = design()
    s = TrialState.from_counts([9, 9, 3, 0, 0], [0, 3, 0, 0, 0], current_dose=2, eff=[0, 0, 2, 0, 0])
    assert d.decide(s).code is R.FUTILITY
    sel = d.select_obd(s)
    assert sel.obd is None and "futile" in sel.reason
    # The same counts with dose 3 current continue, and dose 3 is the OBD.
    s3 = TrialState.from_counts([9, 9, 3, 0, 0], [0, 3, 0, 0, 0], current_dose=3, eff=[0, 0, 2, 0, 0])
    assert not d.decide(s3).stop and d.select_obd(s3).obd == 3


def test_every_dose_futile_stop_names_only_the_futile_doses():
    # Every dose futile and none too toxic: 0 responses in 3 patients gives Pr(response rate
    # < 0.25) = 1 - 0.75^4 = 0.684 (Beta(1, 4)), not futile; 0 in 6 gives 1 - 0.75^7 = 0.867,
    # not futile; 0 in 9: 1 - 0.75^10 = 0.944 > 0.9, futile.  No DLTs, so no dose is too toxic
    # and the reason must not say so.
    d = BOIN12(phi_t=0.35, phi_e=0.25, num_doses=2, max_n=30)
    dec = d.decide_counts([9, 9], [0, 0], [0, 0], 1)
    assert dec.stop and dec.code == R.FUTILITY
    assert "too toxic" not in dec.reason and "1, 2 futile" in dec.reason


@pytest.mark.parametrize("phi_t", [0.15, 0.2, 0.25, 0.3, 0.35, 0.4])
def test_closed_form_counts_equal_the_authors_error_minimising_search(phi_t):
    # The authors' BOIN12 get.boundary picks, for each n, the (m1, m2) minimising
    # P(y <= m1 or y >= m2 | phi) + P(y > m1 | 0.6 phi) + P(y < m2 | 1.4 phi) (first minimum
    # in m1 = 0.., m2 = m1 + 1..), then caps m2 by the elimination count, which it searches
    # from 3 DLTs.  Exact calculation against the design's table.
    from scipy.stats import binom

    design = BOIN12(phi_t=phi_t, phi_e=0.25, num_doses=3, max_n=60)
    tab = design.boundaries()
    for row in tab.itertuples():
        n = int(row.n)
        best, m1s, m2s = 3.0, None, None
        k = range(n + 1)
        F, F_saf, F_tox = (binom.cdf(k, n, p).tolist() for p in (phi_t, 0.6 * phi_t, 1.4 * phi_t))
        for m1 in range(n):
            for m2 in range(m1 + 1, n + 1):
                err = F[m1] + 1 - F[m2 - 1] + 1 - F_saf[m1] + F_tox[m2 - 1]
                if err < best:
                    best, m1s, m2s = err, m1, m2
        elim = next((k for k in range(3, n + 1) if betaincc(k + 1.0, n - k + 1.0, phi_t) > 0.95), None)
        if elim is not None:
            m2s = min(m2s, elim)
        assert (row.escalate_if_dlt_le, row.deescalate_if_dlt_ge) == (m1s, m2s), n
        assert (None if row.eliminate_if_dlt_ge is pd.NA else int(row.eliminate_if_dlt_ge)) == elim, n


def test_obd_tie_goes_to_the_lower_dose_despite_rounding():
    # Doses 1 and 3: x = (60 * 9 + 40 * 12) / 100 = 10.2 of 12 and (60 * 7 + 40 * 9) / 100 = 7.8
    # of 9, posterior means 11.2 / 14 = 8.8 / 11 = 0.8 exactly; in floating point
    # 100 * 8.8 / 11 comes out above 100 * 11.2 / 14.  The lower dose wins the tie
    # (which.max in the authors' selection, on the exact values).
    state = TrialState.from_counts([12, 6, 9, 3, 0], [0, 0, 0, 2, 0], current_dose=4, eff=[9, 4, 7, 1, 0])
    sel = design(max_n=60).select_obd(state)
    assert sel.utility[0] == pytest.approx(80) and sel.utility[2] == pytest.approx(80)
    assert sel.obd_index == 0
