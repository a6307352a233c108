"""TITE-BOIN12's decision against an independent transcription of its authors' rule.

The rule below is written from the decision step of the authors' simulation program
(``get.tite.boin12.approx``; read, not copied), for one interim look: per dose the seen
DLTs and responses, the effective sample sizes ESS = completed + sum of followed shares of
the window, p = y / ESS, each pending outcome replaced by p (1 - w) / (1 - p w), the
quasi-binomial utility count x and Pr(utility > u_b) = 1 - I(u_b / 100; 1 + x, 1 + n - x);
suspension when more than maxpen of the current dose's patients have either outcome
pending; de-escalation at p_T >= lambda_d, the candidates (current, next lower and next
higher non-eliminated dose, the higher one only while n < N1 or p_T <= lambda_e), the
highest desirability, a stop when the chosen dose is eliminated, the N2 exploration.

It follows dosefind where docs/designs/tite_boin12.md says dosefind deliberately differs:
BOIN12's toxicity table (3 patients and 3 DLTs) instead of the program's n > 3; the
3-patient minimum of the futility rule; the stops before the suspension; ties to the higher
dose (the program breaks them at random); and only dose 1 itself being too toxic stops the
trial.  Random interim states (follow-up, DLTs and responses seen or pending) must give the
same action and dose.
"""

import numpy as np
import pytest
from scipy.special import betainc, betaincc

from dosefind import TrialState
from dosefind.designs.tite_boin12 import TITEBOIN12
from dosefind.state import Patient

PHI_T, PHI_E, WT, WE, MAXPEN, N1, N2, C_T, C_E = 0.35, 0.25, 28.0, 56.0, 0.5, 6, 9, 0.95, 0.9
U = {"E": 100.0, "N": 40.0, "B": 60.0, "T": 0.0}


def _lambdas():
    p1, p2 = 0.6 * PHI_T, 1.4 * PHI_T
    lam_e = np.log((1 - p1) / (1 - PHI_T)) / np.log(PHI_T * (1 - p1) / (p1 * (1 - PHI_T)))
    lam_d = np.log((1 - PHI_T) / (1 - p2)) / np.log(p2 * (1 - PHI_T) / (PHI_T * (1 - p2)))
    return lam_e, lam_d


def _elim_count(n):
    """BOIN12's toxicity elimination count at n (get.boundary: searched from 3 DLTs)."""
    if n < 3:
        return None
    return next((k for k in range(3, n + 1) if betaincc(k + 1.0, n - k + 1.0, PHI_T) > C_T), None)


def reference_rule(patients, D, d):
    """('stop' | 'wait' | 'treat', 0-based dose or None), from per-patient tuples
    (dose, dlt_seen, tox_pending, tox_follow, resp_seen, eff_pending, eff_follow)."""
    lam_e, lam_d = _lambdas()
    u_bar = (U["E"] * PHI_E * (1 - PHI_T) + U["N"] * (1 - PHI_E) * (1 - PHI_T) + U["B"] * PHI_E * PHI_T)
    u_b = u_bar + (100 - u_bar) / 2
    n = np.zeros(D, int)
    tox_elim, futile = np.zeros(D, bool), np.zeros(D, bool)
    pos = np.full(D, 1 - u_b / 100)
    p_t = np.full(D, np.nan)
    for j in range(D):
        pts = [p for p in patients if p[0] == j]
        n[j] = len(pts)
        if not pts:
            continue
        y_t = sum(p[1] for p in pts)
        y_e = sum(p[4] for p in pts)
        ess_t = sum(1.0 if not p[2] else p[3] / WT for p in pts)
        ess_e = sum(1.0 if not p[5] else p[6] / WE for p in pts)
        pt, pe = y_t / ess_t, y_e / ess_e
        p_t[j] = pt
        e = _elim_count(n[j])
        if e is not None and y_t >= e:
            tox_elim[j:] = True
        if n[j] >= 3 and betainc(y_e + 1.0, ess_e - y_e + 1.0, PHI_E) > C_E:
            futile[j] = True
        x = 0.0
        for _, dlt, tp, tf, resp, ep, ef in pts:
            t = pt * (1 - tf / WT) / (1 - pt * tf / WT) if tp else float(dlt)
            r = pe * (1 - ef / WE) / (1 - pe * ef / WE) if ep else float(resp)
            x += (U["E"] * r * (1 - t) + U["N"] * (1 - r) * (1 - t) + U["B"] * r * t + U["T"] * (1 - r) * t) / 100
        pos[j] = float(betaincc(1 + x, 1 + n[j] - x, u_b / 100))
    out = tox_elim | futile
    pos[out] = 0.0
    if tox_elim[0] or out.all():
        return "stop", None
    pend = sum(1 for p in patients if p[0] == d and (p[2] or p[5]))
    if pend > MAXPEN * n[d]:
        return "wait", None
    below = next((j for j in range(d - 1, -1, -1) if not out[j]), None)
    above = next((j for j in range(d + 1, D) if not out[j]), None)
    if p_t[d] >= lam_d:
        if below is not None:
            nxt = below
        elif out[d]:
            return "stop", None
        else:
            nxt = d
    else:
        cands = [d] + ([below] if below is not None else [])
        if above is not None and (n[d] < N1 or p_t[d] <= lam_e):
            cands.append(above)
        best = max(pos[c] for c in cands)
        nxt = max(c for c in cands if pos[c] == best)   # ties: the higher dose (dosefind's choice)
        if out[nxt]:
            return "stop", None
    if above is not None and n[d] >= N2 and n[above] == 0 and p_t[d] < lam_d:
        nxt = above
    return "treat", nxt


def _random_state(rng, D=4):
    """Interim patient records: doses 1..d tried (d the current dose, the last patient's),
    each patient infused some days ago (older at lower doses), with a DLT on a uniform day
    of its window and a response on a uniform day of the 56-day window (seen once that day
    has passed), at rates drawn per state (increasing DLT rates, any response rates)."""
    d = int(rng.integers(0, D))
    p_tox = np.sort(rng.uniform(0.0, 0.8, D))
    p_eff = rng.uniform(0.0, 0.8, D)
    rows = []
    for j in range(d + 1):
        for _ in range(int(rng.integers(1, 10)) if j < d else int(rng.integers(1, 13))):
            age = float(rng.integers(1, 81)) + (float(rng.integers(0, 120)) if j < d else 0.0)
            t_dlt = float(rng.integers(1, 29)) if rng.random() < p_tox[j] else None
            t_resp = float(rng.integers(1, 57)) if rng.random() < p_eff[j] else None
            dlt = int(t_dlt is not None and t_dlt <= age)
            resp = int(t_resp is not None and t_resp <= age)
            tf = t_dlt if dlt else min(age, WT)
            ef = t_resp if resp else min(age, WE)
            rows.append((j, dlt, not dlt and age < WT, tf, resp, not resp and age < WE, ef))
    return rows, d


def _state(rows, D):
    pts = [Patient(j, dlt, not tp, tf, eff=resp, eff_complete=not ep, eff_followup=ef)
           for j, dlt, tp, tf, resp, ep, ef in rows]
    return TrialState.from_patients(pts, D)


def test_decisions_equal_the_transcribed_rule_on_random_interim_states():
    D = 4
    design = TITEBOIN12(phi_t=PHI_T, phi_e=PHI_E, num_doses=D, max_n=200, dlt_window=WT, eff_window=WE,
                        maxpen=MAXPEN)
    rng = np.random.default_rng(2022)
    seen = dict.fromkeys(("stop", "wait", "lower", "same", "higher"), 0)
    for _ in range(5000):
        rows, d = _random_state(rng, D)
        want = reference_rule(rows, D, d)
        got = design.decide(_state(rows, D))
        action = "stop" if got.stop else ("wait" if got.wait else "treat")
        assert (action, got.dose_index if action == "treat" else None) == want, (rows, got.reason)
        seen[want[0] if want[0] != "treat" else ("lower", "same", "higher")[int(np.sign(want[1] - d)) + 1]] += 1
    # every branch is exercised
    assert min(seen.values()) >= 40, seen


@pytest.mark.parametrize("change", ["ess_toxicity", "separate_suspension"])
def test_the_transcription_tells_the_old_rules_apart(change):
    # The two rules dosefind changed to follow the program differ from the transcription on
    # some of these states (so the test above would have caught them).
    rng = np.random.default_rng(2022)
    D, differ = 4, 0
    for _ in range(3000):
        rows, d = _random_state(rng, D)
        cur = [r for r in rows if r[0] == d]
        if change == "separate_suspension":
            m_t, m_e, n_d = sum(r[2] for r in cur), sum(r[5] for r in cur), len(cur)
            old_wait = m_t > MAXPEN * n_d or m_e > MAXPEN * n_d
            new_wait = sum(1 for r in cur if r[2] or r[5]) > MAXPEN * n_d
            differ += old_wait != new_wait
        else:
            for j in range(d + 1):
                pts = [r for r in rows if r[0] == j]
                y = sum(r[1] for r in pts)
                ess = sum(1.0 if not r[2] else r[3] / WT for r in pts)
                e = _elim_count(len(pts))
                by_counts = e is not None and y >= e
                by_ess = len(pts) >= 3 and betaincc(1 + y, 1 + ess - y, PHI_T) > C_T
                differ += by_counts != by_ess
    assert differ > 0
