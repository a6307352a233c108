"""Report tables, built from a :class:`~dosefind.runner.RunResult`.

Nothing here computes a statistic: every number is read from what the results objects
hold (``OperatingCharacteristics.to_dict()``, the study, the designs' own decision
tables) and only arranged and formatted.  Each :class:`Table` has two faces: ``data``
(numbers, written to ``tables/<name>.csv``) and ``display`` (formatted text, written to
``tables/<name>.md`` and shown in the HTML report and ``protocol.md``).  The formatting
of a number happens in one place, :func:`fmt`, so the three outputs cannot disagree.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field

import pandas as pd

from dosefind.reports.design_text import SKELETON_DECIMALS
from dosefind.state import format_amount

__all__ = ["Table", "fmt", "fmt_pm", "slug", "unique_slugs", "md_text", "build_tables", "study_tables", "design_tables",
           "scenario_tables", "comparison_table", "to_markdown", "run_methods", "se_note", "NOT_APPLICABLE"]

#: Decimals used in every displayed table.
DIGITS = {"pct": 1, "mean": 2, "prob": 2}


@dataclass
class Table:
    """One report table: a name (file stem), a title, numbers and their display text."""

    name: str
    title: str
    data: pd.DataFrame
    display: pd.DataFrame
    caption: str = ""
    group: str = ""           # which report section it belongs to
    key: str = ""             # design label or scenario name it describes
    notes: list = field(default_factory=list)


def fmt(value, digits: int = 1) -> str:
    """A number as displayed everywhere in the report ('-' for missing)."""
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    return f"{float(value):.{digits}f}"


def fmt_pm(value, se, digits: int = 1, exact: bool = False) -> str:
    """'45.2 (1.1)': value with its Monte Carlo standard error in parentheses.  Exact
    results have no Monte Carlo error and show the value alone."""
    s = fmt(value, digits)
    if s == "-" or exact or se is None:
        return s
    return f"{s} ({fmt(se, digits)})"


#: Longest slug kept before a hash suffix shortens it (file names stay far below 255 bytes).
SLUG_MAX = 48


def slug(text: str) -> str:
    """A readable file-name stem: letters and digits of any script kept (NFKC, case-folded,
    so file systems that ignore case agree), every other run of characters one '-'.
    ``"BOIN α"`` -> ``"boin-α"``, ``"低毒性"`` -> ``"低毒性"``.  Distinct names can share a
    slug (``"s1"``, ``"S1 "``): :func:`unique_slugs` tells them apart."""
    return _full_slug(text)[:SLUG_MAX].strip("-") or "x"


def _full_slug(text: str) -> str:
    text = unicodedata.normalize("NFKC", str(text)).casefold()
    kept = "".join(c if (c.isalnum() or unicodedata.category(c).startswith("M")) and c != "_" else "-"
                   for c in text)
    return re.sub(r"-+", "-", kept).strip("-")


def _hash(name: str, k: int = 6) -> str:
    return hashlib.sha256(str(name).encode("utf-8")).hexdigest()[:k]


def unique_slugs(names) -> dict:
    """name -> slug, distinct for distinct names.  Names whose slugs clash (or were
    shortened) get a stable suffix: the first hex digits of the SHA-256 of the name."""
    names = list(dict.fromkeys(names))
    base = {n: slug(n) for n in names}
    count = {}
    for s in base.values():
        count[s] = count.get(s, 0) + 1
    for k in (6, 12, 64):
        out = {n: (f"{s}-{_hash(n, k)}" if count[s] > 1 or len(_full_slug(n)) > SLUG_MAX else s)
               for n, s in base.items()}
        if len(set(out.values())) == len(out):
            return out
    raise AssertionError("SHA-256 prefixes of distinct names collided")  # pragma: no cover


_MD_INLINE = re.compile(r"([\\`*_\[\]|~])")
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_ENTITY = re.compile(r"&(#?\w+;)")
_MD_BLOCK_START = re.compile(r"^(\s*(?:\d+)?)([#>+=.)-])")


def md_text(value, *, block: bool = False) -> str:
    """User text made inert in Markdown: one line, raw HTML made text (``<b>`` and ``&amp;``
    show as typed: a ``<`` that could open a tag and a ``&`` that could start an entity are
    written as entities), Markdown control characters (``| * _ ` [ ] ~ \\``) backslash-escaped.
    ``block=True`` also escapes what would start a heading, quote or list at the start of a
    paragraph.  The text renders exactly as the user wrote it."""
    s = " ".join(str(value).split())
    # Only what Markdown would read as HTML is escaped, so "<= 2 DLTs" and "R&D" stay readable.
    s = _ENTITY.sub(r"&amp;\1", s)
    s = _TAG_START.sub("&lt;", s)
    s = _MD_INLINE.sub(r"\\\1", s)
    if block:
        s = _MD_BLOCK_START.sub(lambda m: m.group(1) + "\\" + m.group(2), s)
    return s


def to_markdown(df: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table (no extra dependency); every cell through
    :func:`md_text`."""
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(md_text(c) for c in cols) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(cols))) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(md_text(v) for v in row) + " |")
    return "\n".join(lines)


def run_methods(run) -> set:
    """The engines the run's results record ({"exact"}, {"mc"} or both)."""
    return {oc.method for oc in run.results.values()}


def se_note(run) -> str:
    """What the parentheses in a results table hold, true to how the results were computed:
    nothing to say about standard errors when every result is exact."""
    methods = run_methods(run)
    if methods == {"exact"}:
        return "Computed exactly (no Monte Carlo error)."
    if "exact" not in methods:
        return f"Monte Carlo estimates from {run.study.n_trials:,} simulated trials; standard errors in parentheses."
    return (f"Monte Carlo estimates ({run.study.n_trials:,} simulated trials) show their standard errors in "
            "parentheses; results computed exactly show none.")


#: Display text of a metric that does not apply to a design (``None`` in its results).
NOT_APPLICABLE = "n/a"


# ---------------------------------------------------------------------------- study
def study_tables(run) -> list[Table]:
    study = run.study
    d = study.doses
    levels = list(range(1, len(d) + 1))
    data = pd.DataFrame({"level": levels, "label": list(d.labels),
                         "amount": list(d.amounts) if d.amounts is not None else [None] * len(d),
                         "unit": [d.unit] * len(d)})
    display = pd.DataFrame({"Level": levels, "Dose": list(d.labels)})
    if d.amounts is not None and list(d.labels) != [f"{format_amount(a)} {d.unit}".strip() for a in d.amounts]:
        display["Amount"] = [f"{format_amount(a)} {d.unit}".strip() for a in d.amounts]
    doses = Table("doses", "Dose levels", data, display, group="study")

    rows = [("Target DLT rate", study.target, fmt(study.target, 2)),
            ("Maximum sample size (patients per trial)", study.max_n, str(study.max_n)),
            ("Cohort size", study.cohort_size, str(study.cohort_size)),
            ("Starting dose level", study.start_dose, str(study.start_dose)),
            ("Random seed", study.seed, str(study.seed)),
            ("Simulation engine", study.method, study.method)]
    methods = run_methods(run)
    computed = ("exact" if methods == {"exact"} else "Monte Carlo" if "exact" not in methods
                else "exact where feasible, else Monte Carlo")
    rows.insert(4, ("Results computed", computed, computed))
    if "mc" in methods:         # a trial count only where trials were simulated
        rows.insert(5, ("Simulated trials per design and scenario (Monte Carlo)", study.n_trials,
                        f"{study.n_trials:,}"))
    setup = Table("setup", "Simulation set-up",
                  pd.DataFrame({"setting": [r[0] for r in rows], "value": [r[1] for r in rows]}),
                  pd.DataFrame({"Setting": [r[0] for r in rows], "Value": [r[2] for r in rows]}), group="study")

    sc_rows, sc_disp = [], []
    for s in run.scenarios:
        row = {"scenario": s.name}
        drow = {"Scenario": s.name}
        for i, p in enumerate(s.true_prob_tox, start=1):
            row[f"dose_{i}"] = p
            drow[f"DL{i}"] = fmt(p, DIGITS["prob"])
        row["true_mtd"] = s.true_mtd
        row["source"] = s.source
        drow["True MTD"] = "none" if s.true_mtd is None else f"DL{s.true_mtd}"
        drow["Source"] = s.source
        sc_rows.append(row)
        sc_disp.append(drow)
    scen = Table("scenarios", "Scenarios: true DLT probability by dose level", pd.DataFrame(sc_rows),
                 pd.DataFrame(sc_disp), group="study",
                 caption=f"True MTD: the dose whose true DLT rate is closest to the target {fmt(study.target, 2)} "
                         "(the highest such dose on ties) among doses not overly toxic (true DLT rate at most "
                         f"1.4 x target = {fmt(1.4 * study.target, 2)}); selecting it is a correct selection, "
                         "selecting a higher dose an overdose selection. When every dose is overly toxic the "
                         "true MTD is 'none' and the correct decision is to select no dose.")
    return [doses, setup, scen]


def design_tables(run) -> list[Table]:
    """The designs' own decision tables, as the runner collected them from the designs."""
    out = []
    slugs = unique_slugs(spec.label for spec in run.designs)
    for spec in run.designs:
        for name, title, df in run.decision_tables.get(spec.label, []):
            disp = df.copy()
            if name == "skeleton":          # one precision, as the design's text gives it
                disp["Skeleton"] = [f"{float(p):.{SKELETON_DECIMALS}f}" for p in df["Skeleton"]]
            disp.columns = [str(c) for c in disp.columns]
            disp = disp.astype(object).where(disp.notna(), "-").astype(str)
            out.append(Table(f"design-{slugs[spec.label]}-{name}", f"{spec.label}: {title}", df, disp,
                             group="design", key=spec.label))
    return out


# ---------------------------------------------------------------------------- results
def _is_exact(r: dict) -> bool:
    return r.get("method") == "exact"


def per_dose_rows(design_label: str, specs, D: int, exact: bool, data_rows: list, disp_rows: list) -> None:
    """Append one design's per-dose measures to a scenario table: for each
    ``(label, key, values, ses, none_key, total_key, digits)`` a data row, its SE row and a
    display row (value with its Monte Carlo error), "none" and "total" columns optional."""
    for k, (label, key, vals, ses, none_key, total_key, dg) in enumerate(specs):
        row = {"design": design_label, "metric": key}
        row.update({f"dose_{i + 1}": vals[key][i] for i in range(D)})
        row["none"] = vals[none_key] if none_key else None
        row["total"] = vals[total_key] if total_key else None
        data_rows.append(row)
        serow = {"design": design_label, "metric": key + "_se"}
        serow.update({f"dose_{i + 1}": ses[key][i] for i in range(D)})
        serow["none"] = ses[none_key] if none_key else None
        serow["total"] = ses[total_key] if total_key else None
        data_rows.append(serow)
        drow = {"Design": design_label if k == 0 else "", "Measure": label}
        drow.update({f"DL{i + 1}": fmt_pm(vals[key][i], ses[key][i], dg, exact) for i in range(D)})
        drow["None"] = fmt_pm(vals[none_key], ses[none_key], dg, exact) if none_key else ""
        drow["Total"] = fmt_pm(vals[total_key], ses[total_key], dg, exact) if total_key else ""
        disp_rows.append(drow)


def scenario_tables(run) -> list[Table]:
    """Per scenario: selection %, patients and DLTs by dose for every design."""
    out = []
    slugs = unique_slugs(s.name for s in run.scenarios)
    for s in run.scenarios:
        D = len(s.true_prob_tox)
        data_rows, disp_rows = [], []
        truth = {"design": "(truth)", "metric": "true_prob_tox"}
        truth.update({f"dose_{i + 1}": p for i, p in enumerate(s.true_prob_tox)})
        data_rows.append(truth)
        dtruth = {"Design": "", "Measure": "True P(DLT)"}
        dtruth.update({f"DL{i + 1}": fmt(p, DIGITS["prob"]) + (" *" if (i + 1) in s.correct else "")
                       for i, p in enumerate(s.true_prob_tox)})
        dtruth.update({"None": "", "Total": ""})
        disp_rows.append(dtruth)
        for spec in run.designs:
            r = run.result(spec.label, s.name)
            se, ex = r["se"], _is_exact(r)
            specs = [("Selection %", "selection_pct", "no_selection_pct", None, DIGITS["pct"]),
                     ("Patients (mean)", "patients_mean", None, "n_mean", DIGITS["mean"]),
                     ("DLTs (mean)", "dlt_mean", None, "dlt_total_mean", DIGITS["mean"])]
            per_dose_rows(spec.label, [(label, key, r, se, none_key, total_key, dg)
                                       for label, key, none_key, total_key, dg in specs],
                          D, ex, data_rows, disp_rows)
        caption = se_note(run) + " * marks the correct dose(s)."
        out.append(Table(f"scenario-{slugs[s.name]}", f"Scenario: {s.name}", pd.DataFrame(data_rows),
                         pd.DataFrame(disp_rows), caption=caption, group="scenario", key=s.name))
    return out


COMPARISON_METRICS = (
    ("pcs", "Correct selection %", DIGITS["pct"]),
    ("overdose_selection_pct", "Overdose selection %", DIGITS["pct"]),
    ("overdose_patients_pct", "Patients above MTD %", DIGITS["pct"]),
    ("no_selection_pct", "No MTD %", DIGITS["pct"]),
    ("early_stop_pct", "Stopped early %", DIGITS["pct"]),
    ("n_mean", "Patients (mean)", DIGITS["mean"]),
    ("dlt_total_mean", "DLTs (mean)", DIGITS["mean"]),
)


def comparison_table(run) -> Table:
    """Every design on every scenario: the summary metrics, side by side."""
    data_rows, disp_rows = [], []
    for s in run.scenarios:
        for k, spec in enumerate(run.designs):
            r = run.result(spec.label, s.name)
            row = {"scenario": s.name, "design": spec.label, "method": r["method"]}
            drow = {"Scenario": s.name if k == 0 else "", "Design": spec.label}
            for key, label, dg in COMPARISON_METRICS:
                row[key] = r[key]
                row[key + "_se"] = r["se"][key]
                drow[label] = (NOT_APPLICABLE if key == "early_stop_pct" and r[key] is None
                               else fmt_pm(r[key], r["se"][key], dg, _is_exact(r)))
            data_rows.append(row)
            disp_rows.append(drow)
    return Table("comparison", "Comparison across designs", pd.DataFrame(data_rows), pd.DataFrame(disp_rows),
                 group="comparison",
                 caption="Correct selection: the selected MTD is a correct dose. Overdose: a dose above the true "
                         "MTD. Stopped early: the trial ended before the maximum sample size for any reason "
                         "(safety stop, or a stopping rule such as BOIN's n_earlystop); 'n/a' for a design with "
                         "no maximum sample size, such as the 3+3, which ends by its own rule (its mean "
                         "sample size is under 'Patients (mean)'). " + se_note(run))


CALENDAR_METRICS = (("duration", "Duration, days"), ("enrolled", "Enrolled"), ("infused", "Infused"),
                    ("failed", "Product failed"), ("turned_away", "Turned away"),
                    ("time_suspended", "Days suspended"))


def calendar_table(run) -> Table | None:
    """Calendar time ([trial]): duration and enrolment per design and scenario."""
    data_rows, disp_rows = [], []
    for s in run.scenarios:
        for k, spec in enumerate(run.designs):
            c = run.result(spec.label, s.name).get("calendar")
            if c is None:
                return None
            row = {"scenario": s.name, "design": spec.label, "duration_median": c["duration"]["quantiles"]["50"],
                   "duration_sd": c["duration"]["sd"]}
            drow = {"Scenario": s.name if k == 0 else "", "Design": spec.label}
            for key, label in CALENDAR_METRICS:
                row[key + "_mean"], row[key + "_se"] = c[key]["mean"], c[key]["se"]
                drow[label] = fmt_pm(c[key]["mean"], c[key]["se"], DIGITS["mean"])
            drow["Median days"] = fmt(c["duration"]["quantiles"]["50"], 0)
            data_rows.append(row)
            disp_rows.append(drow)
    if not data_rows:
        return None
    return Table("calendar", "Duration and enrolment (calendar time)", pd.DataFrame(data_rows),
                 pd.DataFrame(disp_rows), group="calendar",
                 caption="Means per simulated trial. " + se_note(run) + " Duration: "
                         "from the first arrival (day 0) to the last infusion plus the DLT window. Turned "
                         "away: patients who arrived while accrual was suspended.")


#: Evidence columns shown in the report (endpoint counts as the evidence table gives them).
EVIDENCE_COUNTS = (("n", "Patients"), ("dlt", "DLTs"), ("crs_grade3", "CRS grade >= 3"),
                   ("icans_grade3", "ICANS grade >= 3"))


def evidence_table(run) -> Table | None:
    """The bundled CD7 evidence a run's prior was fitted to (``prior = "bundled"``), each
    row cited as its source text gives it (:mod:`dosefind.reports.sources`) beside the
    file name; None when no scenario uses the bundled prior."""
    from dosefind.study import BUNDLED_PRIOR

    if not any(getattr(s, "prior", None) == BUNDLED_PRIOR for s in run.study.scenarios):
        return None
    from dosefind.priors import load_evidence
    from dosefind.reports.sources import citations

    ev = load_evidence()
    cite = citations()
    data = ev.copy()
    data.insert(1, "citation", [cite.get(src, "") for src in ev["source"]])
    disp_rows = []
    for r in ev.to_dict("records"):
        known = [not pd.isna(r[k]) for k in ("dose_per_kg", "dose_low", "dose_high")]
        dose = (format_amount(r["dose_per_kg"]) if known[0] else
                f"{format_amount(r['dose_low'])}-{format_amount(r['dose_high'])} (pooled)" if all(known[1:]) else "")
        row = {"Source": cite.get(r["source"], "") or "not in the sources table", "File": r["source"],
               "Disease": r["disease"], "Report": r["report_type"], "Dose per kg": dose or "-"}
        row.update({label: "-" if pd.isna(r[key]) else str(int(r[key])) for key, label in EVIDENCE_COUNTS})
        disp_rows.append(row)
    return Table("evidence", "Published evidence behind the fitted prior (bundled CD7 CAR-T reports)", data,
                 pd.DataFrame(disp_rows), group="evidence",
                 caption="One row per published report; '-': not reported. Source: the citation as the report's "
                         "text itself gives it (title or identifying words, authors, journal, year, DOI, trial "
                         "registration; dosefind/data/sources_cd7.csv, each field with the sentence it is read "
                         "from). File: the text in dosefind/data/evidence_cd7.csv.")


def build_tables(run) -> list[Table]:
    """Every table of the report, in report order."""
    from dosefind.reports.phase12_tables import phase12_tables

    cal = calendar_table(run)
    ev = evidence_table(run)
    p12 = phase12_tables(run)          # utility tables (group "design"), response truth, OBD results
    utility = [t for t in p12 if t.group == "design"]
    own, designs = design_tables(run), []
    for spec in run.designs:           # each design's utility table first among its tables
        designs += [t for t in utility + own if t.key == spec.label]
    return (study_tables(run) + designs + scenario_tables(run) + [comparison_table(run)]
            + ([cal] if cal is not None else []) + ([ev] if ev is not None else [])
            + [t for t in p12 if t.group != "design"])
