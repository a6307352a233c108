"""Report tables of phase I/II runs: response rates, utilities and the optimal biological dose.

Shown when any design is phase I/II (``design.efficacy``) or any scenario has true
response rates.  As in :mod:`dosefind.reports.tables`, nothing is computed here: the
truth (true utility per dose, correct OBD, toxicity limit) and every estimate are read
from the results' ``efficacy`` block (:mod:`dosefind.simulations.phase12`), the utility
table and benchmark from the design itself.
"""

from __future__ import annotations

import pandas as pd

from dosefind.reports.tables import (DIGITS, NOT_APPLICABLE, Table, fmt, fmt_pm, per_dose_rows, se_note,
                                     unique_slugs)

__all__ = ["has_phase12", "utility_tables", "efficacy_truth_table", "obd_tables", "obd_summary_table",
           "phase12_tables", "UTILITY_ROWS"]

#: The four outcomes of a patient, as BOIN12's utility keys name them, in the paper's order.
UTILITY_ROWS = (("eff_no_tox", "Response, no DLT"), ("eff_tox", "Response and DLT"),
                ("no_eff_no_tox", "No response, no DLT"), ("no_eff_tox", "DLT, no response"))


def _base(design):
    return getattr(design, "base", design)


def _is_phase12(design) -> bool:
    return bool(getattr(design, "efficacy", False))


def has_phase12(run) -> bool:
    """True when the report needs the phase I/II parts."""
    return any(_is_phase12(d.design) for d in run.designs) or any(
        s.true_prob_eff is not None for s in run.scenarios)


def _eff(run, label, scenario):
    return run.result(label, scenario).get("efficacy")


def _level(j) -> str:
    return f"DL{j}"


def _obd_text(correct, true_mtd) -> str:
    if correct:
        return ", ".join(_level(j) for j in correct)
    return "none (select no dose)" if true_mtd is None else "-"


def utility_tables(run) -> list[Table]:
    """Each phase I/II design's utility table and benchmark, as the design holds them."""
    out = []
    slugs = unique_slugs(spec.label for spec in run.designs)
    for spec in run.designs:
        base = _base(spec.design)
        u = getattr(base, "utility", None)
        if not _is_phase12(spec.design) or not isinstance(u, dict):
            continue
        rows = [(key, label, u[key]) for key, label in UTILITY_ROWS]
        u_bar, u_b = getattr(base, "u_bar", None), getattr(base, "u_b", None)
        phi_t, phi_e = getattr(base, "phi_t", None), getattr(base, "phi_e", None)
        if u_bar is not None:
            rows.append(("u_bar", f"Utility of a dose with DLT rate {phi_t:g} and response rate {phi_e:g} (u_bar)",
                         u_bar))
        if u_b is not None:
            rows.append(("u_b", "Benchmark u_b = u_bar + (100 - u_bar) / 2", u_b))
        data = pd.DataFrame({"outcome": [r[0] for r in rows], "utility": [float(r[2]) for r in rows]})
        disp = pd.DataFrame({"Outcome": [r[1] for r in rows], "Utility": [fmt(r[2], 1) for r in rows]})
        out.append(Table(f"design-{slugs[spec.label]}-utility", f"{spec.label}: utility table (0 to 100)", data,
                         disp, group="design", key=spec.label,
                         caption="A patient's outcome scored from 0 (worst) to 100 (best); a dose is desirable "
                                 "when its posterior utility is likely to exceed the benchmark u_b."))
    return out


def _truth_design(run, s):
    """The design whose truth (utility, toxicity limit) the scenario's OBD rows show: the
    first phase I/II design, else the first design with a true utility."""
    labels = [d.label for d in run.designs if _is_phase12(d.design)] + [d.label for d in run.designs]
    for label in labels:
        e = _eff(run, label, s.name)
        if e is not None and e.get("true_utility") is not None:
            return label, e
    e = _eff(run, run.designs[0].label, s.name)
    return (run.designs[0].label, e) if e is not None else (None, None)


def efficacy_truth_table(run) -> Table | None:
    """Per scenario with response rates: the true response rate and, per phase I/II design,
    the true utility per dose, with the correct OBD."""
    data_rows, disp_rows = [], []
    limits = []
    for s in run.scenarios:
        if s.true_prob_eff is None:
            continue
        D = len(s.true_prob_tox)
        first = True
        row = {"scenario": s.name, "design": "", "metric": "true_prob_eff"}
        row.update({f"dose_{i + 1}": p for i, p in enumerate(s.true_prob_eff)})
        row.update({"tox_eff_correlation": s.tox_eff_correlation, "correct_obd": None, "tox_limit": None})
        data_rows.append(row)
        drow = {"Scenario": s.name, "Measure": "True P(response)"}
        drow.update({f"DL{i + 1}": fmt(p, DIGITS["prob"]) for i, p in enumerate(s.true_prob_eff)})
        drow["Correct OBD"] = ""
        disp_rows.append(drow)
        shown = set()
        for spec in run.designs:
            e = _eff(run, spec.label, s.name)
            if e is None or e.get("true_utility") is None or not _is_phase12(spec.design):
                continue
            key = (tuple(e["true_utility"]), tuple(e["correct_obd"]), e["tox_limit"])
            if key in shown:
                continue
            shown.add(key)
            limits.append(e["tox_limit"])
            correct = e["correct_obd"]
            row = {"scenario": s.name, "design": spec.label, "metric": "true_utility"}
            row.update({f"dose_{i + 1}": e["true_utility"][i] for i in range(D)})
            row.update({"tox_eff_correlation": s.tox_eff_correlation,
                        "correct_obd": ";".join(str(j) for j in correct), "tox_limit": e["tox_limit"]})
            data_rows.append(row)
            drow = {"Scenario": "", "Measure": f"True utility ({spec.label})"}
            drow.update({f"DL{i + 1}": fmt(e["true_utility"][i], 1) + (" *" if (i + 1) in correct else "")
                         for i in range(D)})
            drow["Correct OBD"] = _obd_text(correct, e.get("true_mtd"))
            disp_rows.append(drow)
            first = False
        if first:
            disp_rows[-1]["Correct OBD"] = NOT_APPLICABLE
    if not data_rows:
        return None
    lim = sorted(set(limits))
    caption = ("True utility: the design's utility table applied to the true probabilities of the four outcomes "
               "(response and DLT correlated as the scenario states). Correct OBD (*): the dose(s) with the highest "
               "true utility among doses not above the true MTD, the highest dose whose true DLT rate is at most "
               "the design's toxicity limit"
               + (f" ({', '.join(f'{x:g}' for x in lim)})" if lim else "")
               + "; when even the lowest dose is above it, selecting no dose is correct."
               + ("" if lim else " No phase I/II design in this run, so no utility and no OBD are defined."))
    corr = {s.tox_eff_correlation for s in run.scenarios if s.true_prob_eff is not None}
    caption += " DLT-response correlation (phi coefficient): " + ", ".join(
        f"{s.name} {s.tox_eff_correlation:g}" for s in run.scenarios if s.true_prob_eff is not None) + "." \
        if corr != {0.0} else " DLT and response independent in every scenario."
    return Table("scenarios-efficacy", "Scenarios: true response rate, true utility and correct OBD",
                 pd.DataFrame(data_rows), pd.DataFrame(disp_rows), caption=caption, group="efficacy-truth")


def obd_tables(run) -> list[Table]:
    """Per scenario with response rates: selection %, patients, responses and DLTs per dose
    for every design (the OBD of a phase I/II design, the MTD of a phase I design)."""
    out = []
    slugs = unique_slugs(s.name for s in run.scenarios)
    for s in run.scenarios:
        if s.true_prob_eff is None:
            continue
        D = len(s.true_prob_tox)
        tlabel, te = _truth_design(run, s)
        correct = tuple(te.get("correct_obd") or ()) if te and te.get("true_utility") is not None else ()
        data_rows, disp_rows = [], []
        truth = {"design": "(truth)", "metric": "true_prob_eff"}
        truth.update({f"dose_{i + 1}": p for i, p in enumerate(s.true_prob_eff)})
        data_rows.append(truth)
        dtruth = {"Design": "", "Measure": "True P(response)"}
        dtruth.update({f"DL{i + 1}": fmt(p, DIGITS["prob"]) + (" *" if (i + 1) in correct else "")
                       for i, p in enumerate(s.true_prob_eff)})
        dtruth.update({"None": "", "Total": ""})
        disp_rows.append(dtruth)
        for spec in run.designs:
            r = run.result(spec.label, s.name)
            e = r["efficacy"]
            ev, es, ex = e["values"], e["se"], r.get("method") == "exact"
            sel = "OBD selection %" if _is_phase12(spec.design) else "Selection % (MTD)"
            specs = [(sel, "obd_selection_pct", ev, es, "obd_no_selection_pct", None, DIGITS["pct"]),
                     ("Patients (mean)", "patients_mean", r, r["se"], None, "n_mean", DIGITS["mean"]),
                     ("Responses (mean)", "responses_mean", ev, es, None, "response_total_mean", DIGITS["mean"])]
            per_dose_rows(spec.label, specs, D, ex, data_rows, disp_rows)
        caption = se_note(run) + (
            f" * marks the correct OBD (true utility of {tlabel})." if correct else
            " No correct OBD is marked: no dose qualifies, or no design in the run defines a utility.")
        if any(not _is_phase12(d.design) for d in run.designs):
            caption += " A phase I design's selected dose is its MTD."
        out.append(Table(f"obd-{slugs[s.name]}", f"Scenario: {s.name} (response and OBD)", pd.DataFrame(data_rows),
                         pd.DataFrame(disp_rows), caption=caption, group="obd", key=s.name))
    return out


#: The OBD summary's columns: (key in the efficacy values, display label, digits).
OBD_METRICS = (
    ("pct_correct_obd", "Correct OBD %", DIGITS["pct"]),
    ("obd_overdose_pct", "Selected above MTD %", DIGITS["pct"]),
    ("utility_selected_mean", "Utility of selected dose (mean)", DIGITS["pct"]),
    ("patients_at_obd_mean", "Patients at OBD (mean)", DIGITS["mean"]),
    ("patients_at_obd_pct", "Patients at OBD %", DIGITS["pct"]),
    ("response_total_mean", "Responses (mean)", DIGITS["mean"]),
    ("early_stop_toxicity_pct", "Stopped for toxicity %", DIGITS["pct"]),
    ("early_stop_futility_pct", "Stopped for futility %", DIGITS["pct"]),
)


def _stop_text() -> str:
    """What the two early-stop columns count, from the stop codes the simulation counts."""
    from dosefind.simulations.phase12 import FUTILITY_STOPS, TOXICITY_STOPS
    from dosefind.state import ReasonCode

    def texts(codes):
        return " or ".join(f"'{ReasonCode(c).text}'" for c in sorted(codes))

    return (f"Stopped for toxicity: the trial's final decision was {texts(TOXICITY_STOPS)}; for futility: "
            f"{texts(FUTILITY_STOPS)}. ")


def obd_summary_table(run) -> Table | None:
    """Every design on every scenario with response rates: the OBD metrics side by side
    (and the mean duration in calendar-time runs)."""
    data_rows, disp_rows = [], []
    calendar = False
    for s in run.scenarios:
        if s.true_prob_eff is None:
            continue
        for k, spec in enumerate(run.designs):
            r = run.result(spec.label, s.name)
            e = r["efficacy"]
            ev, es, ex = e["values"], e["se"], r.get("method") == "exact"
            row = {"scenario": s.name, "design": spec.label, "phase": "I/II" if _is_phase12(spec.design) else "I",
                   "method": r["method"], "correct_obd": ";".join(str(j) for j in e.get("correct_obd") or ())}
            drow = {"Scenario": s.name if k == 0 else "", "Design": spec.label}
            for key, label, dg in OBD_METRICS:
                row[key], row[key + "_se"] = ev.get(key), es.get(key)
                drow[label] = (NOT_APPLICABLE if ev.get(key) is None else fmt_pm(ev[key], es.get(key), dg, ex))
            c = r.get("calendar")
            if c is not None:
                calendar = True
                row["duration_mean"], row["duration_se"] = c["duration"]["mean"], c["duration"]["se"]
                drow["Duration, days (mean)"] = fmt_pm(c["duration"]["mean"], c["duration"]["se"], DIGITS["mean"])
            data_rows.append(row)
            disp_rows.append(drow)
    if not data_rows:
        return None
    caption = ("Correct OBD: the selected dose is a correct OBD (the dose with the highest true utility among doses "
               "not above the true MTD; no dose when every dose is too toxic). Utility of selected dose: the mean "
               "true utility of the dose selected, over the trials that selected one. Patients at OBD: patients "
               "treated at a correct OBD. " + _stop_text())
    if any(not _is_phase12(d.design) for d in run.designs):
        caption += "A phase I design is scored on its MTD"
        missing = any(r["phase"] == "I" and r["pct_correct_obd"] is None for r in data_rows)
        caption += ("; 'n/a' where the run gives it no utility (none, or several phase I/II designs with "
                    "different utilities or toxicity limits). " if missing else
                    ", against the utility and toxicity limit of the phase I/II designs. ")
    if calendar:
        caption += "Duration: from the first arrival (day 0) to the last infusion plus the DLT window. "
    caption += se_note(run)
    return Table("obd", "Optimal biological dose (phase I/II)", pd.DataFrame(data_rows), pd.DataFrame(disp_rows),
                 caption=caption, group="obd-summary")


def phase12_tables(run) -> list[Table]:
    """The phase I/II parts of the report (none for a run without response rates)."""
    if not has_phase12(run):
        return []
    truth, summ = efficacy_truth_table(run), obd_summary_table(run)
    return utility_tables(run) + ([truth] if truth else []) + ([summ] if summ else []) + obd_tables(run)
