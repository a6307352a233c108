"""BOIN12's decision and OBD selection against an independent transcription of its
authors' programs, on random count states.

Written from the BOIN12 trial loop (the comparative review's program, with the
``get.boundary`` shared with the TITE-BOIN12 program) and the final selection of the
TITE-BOIN12 program ("the same as in BOIN12"); read, not copied.  Per decision, after a
cohort at dose d: toxicity elimination when the DLTs reach get.boundary's count (searched
from 3 DLTs, 3 patients at least; the dose and all above), futility when the responses are
at most its futility count (the dose alone); stop when dose 1 is too toxic or every dose is
out; n_earlystop; then de-escalate at y >= the de-escalation count, else the best
Pr(utility > u_b) among d, the next lower and (n < N1 or y <= the escalation count) the
next higher non-eliminated dose, a stop when the choice is eliminated, the N2 exploration.
Final selection: DLT rates y/n (phi_t where untried) made monotone by PAVA with weights
1 / ((y + .05)(n - y + .05) / ((n + .1)^2 (n + 1.1))), plus 0.001 j; the MTD is the closest
to phi_t; the OBD the highest posterior mean utility (x + 1)/(n + 2) among tried,
non-eliminated doses up to the MTD, the lowest in a tie.

dosefind's documented choices where they differ: ties between candidates go to the higher
dose (the program: at random); no eligible dose selects none (the program: dose 1).
"""

import numpy as np
from scipy.special import betainc, betaincc

from dosefind import TrialState
from dosefind.designs import BOIN12

PHI_T, PHI_E, C_T, C_E, N1, N2 = 0.35, 0.25, 0.95, 0.9, 6, 9
U11, U00 = 60.0, 40.0


def _tables(n):
    """(escalate if <=, de-escalate if >=, eliminate if >=, futile if <=) at n (None: none)."""
    p1, p2 = 0.6 * PHI_T, 1.4 * PHI_T
    lam_e = np.log((1 - p1) / (1 - PHI_T)) / np.log(PHI_T * (1 - p1) / (p1 * (1 - PHI_T)))
    lam_d = np.log((1 - PHI_T) / (1 - p2)) / np.log(p2 * (1 - PHI_T) / (PHI_T * (1 - p2)))
    esc, de = int(np.floor(lam_e * n)), int(np.ceil(lam_d * n))
    elim = next((k for k in range(3, n + 1) if betaincc(k + 1.0, n - k + 1.0, PHI_T) > C_T), None) if n >= 3 else None
    fut = next((k for k in range(n, -1, -1) if betainc(k + 1.0, n - k + 1.0, PHI_E) > C_E), None) if n >= 3 else None
    if elim is not None:
        de = min(de, elim)
    return esc, de, elim, fut


def _u_b():
    u_bar = 100 * PHI_E * (1 - PHI_T) + U00 * (1 - PHI_E) * (1 - PHI_T) + U11 * PHI_E * PHI_T
    return u_bar + (100 - u_bar) / 2


def _out(n, y, e):
    D = len(n)
    tox, fut = np.zeros(D, bool), np.zeros(D, bool)
    for j in range(D):
        if n[j]:
            _, _, elim, f = _tables(n[j])
            if elim is not None and y[j] >= elim:
                tox[j:] = True
            if f is not None and e[j] <= f:
                fut[j] = True
    return tox, fut


def reference_decision(n, y, e, d, n_earlystop):
    D = len(n)
    tox, fut = _out(n, y, e)
    out = tox | fut
    if tox[0] or out.all():
        return "stop", None
    if n[d] >= n_earlystop:
        return "stop_select", None
    u_b = _u_b()
    # x = (100 (e - b) + 60 b + 40 (n - y - e + b)) / 100 = (60 e + 40 n - 40 y) / 100 (the default table)
    xs = [(U11 * ei + U00 * k - U00 * yi) / 100 for ei, k, yi in zip(e, n, y)]
    pos = np.array([float(betaincc(1 + x, 1 + k - x, u_b / 100)) if k else 1 - u_b / 100 for x, k in zip(xs, n)])
    pos[out] = 0.0
    esc, de, _, _ = _tables(n[d])
    below = next((j for j in range(d - 1, -1, -1) if not out[j]), None)
    above = next((j for j in range(d + 1, D) if not out[j]), None)
    if y[d] >= de:
        if below is not None:
            nxt = below
        elif out[d]:
            return "stop", None
        else:
            nxt = d
    else:
        cands = [d] + ([below] if below is not None else [])
        if above is not None and (n[d] < N1 or y[d] <= esc):
            cands.append(above)
        best = max(pos[c] for c in cands)
        nxt = max(c for c in cands if pos[c] == best)
        if out[nxt]:
            return "stop", None
    if above is not None and n[d] >= N2 and n[above] == 0 and y[d] < de:
        nxt = above
    return "treat", nxt


def _pava(x, w):
    x, w = list(map(float, x)), list(map(float, w))
    blocks = [[x[i], w[i], 1] for i in range(len(x))]
    i = 0
    while i < len(blocks) - 1:
        if blocks[i][0] > blocks[i + 1][0]:
            a, b = blocks[i], blocks[i + 1]
            blocks[i] = [(a[0] * a[1] + b[0] * b[1]) / (a[1] + b[1]), a[1] + b[1], a[2] + b[2]]
            del blocks[i + 1]
            i = max(i - 1, 0)
        else:
            i += 1
    return [v for v, _, k in blocks for _ in range(k)]


def reference_obd(n, y, e):
    D = len(n)
    tox, fut = _out(n, y, e)
    p = [yi / k if k else PHI_T for yi, k in zip(y, n)]
    w = [1 / ((yi + 0.05) * (k - yi + 0.05) / ((k + 0.1) ** 2 * (k + 1.1))) for yi, k in zip(y, n)]
    iso = [v + 0.001 * (j + 1) for j, v in enumerate(_pava(p, w))]
    mtd = int(np.argmin([abs(v - PHI_T) for v in iso]))
    # rounded: equal utilities are a tie, won by the lower dose (which.max), whatever the
    # last bit of the floating-point arithmetic says
    u = [round(((U11 * ei + U00 * k - U00 * yi) / 100 + 1) / (k + 2), 10) if k and not (tox[j] or fut[j]) else -100
         for j, (ei, k, yi) in enumerate(zip(e, n, y))]
    best = int(np.argmax(u[:mtd + 1]))
    return None if u[best] == -100 else best          # the program would return dose 1 here


def _random_counts(rng, D=5):
    d = int(rng.integers(0, D))
    n, y, e = [0] * D, [0] * D, [0] * D
    p_tox = np.sort(rng.uniform(0, 0.7, D))
    p_eff = rng.uniform(0, 0.8, D)
    for j in range(d + 1):
        n[j] = 3 * int(rng.integers(1, 5))
        y[j] = int(rng.binomial(n[j], p_tox[j]))
        e[j] = int(rng.binomial(n[j], p_eff[j]))
    return n, y, e, d


def test_decisions_equal_the_transcribed_rule_on_random_count_states():
    design = BOIN12(phi_t=PHI_T, phi_e=PHI_E, num_doses=5, max_n=300, n_earlystop=12)
    rng = np.random.default_rng(2020)
    seen = dict.fromkeys(("stop", "stop_select", "lower", "same", "higher"), 0)
    for _ in range(5000):
        n, y, e, d = _random_counts(rng)
        want = reference_decision(n, y, e, d, 12)
        got = design.decide(TrialState.from_counts(n, y, current_dose=d + 1, eff=e))
        if got.stop:
            action = "stop_select" if got.code.value == "n_at_dose" else "stop"
        else:
            action = "treat"
        assert (action, got.dose_index if action == "treat" else None) == want, (n, y, e, d, got.reason)
        k = want[0] if want[0] != "treat" else ("lower", "same", "higher")[int(np.sign(want[1] - d)) + 1]
        seen[k] += 1
    assert min(seen.values()) >= 40, seen


def test_obd_equals_the_transcribed_selection_on_random_final_states():
    design = BOIN12(phi_t=PHI_T, phi_e=PHI_E, num_doses=5, max_n=300)
    rng = np.random.default_rng(2021)
    picked = set()
    for _ in range(3000):
        n, y, e, d = _random_counts(rng)
        state = TrialState.from_counts(n, y, current_dose=d + 1, eff=e)
        if reference_decision(n, y, e, d, 10 ** 6)[0] == "stop":
            continue                                   # the program's early stop: no selection
        want = reference_obd(n, y, e)
        got = design.select_obd(state).obd_index
        assert got == want, (n, y, e, d)
        picked.add(want)
    assert picked >= {None, 0, 1, 2, 3}
