"""Commands that run a real trial: ``boundaries``, ``next-dose``, ``select-mtd``, ``skeleton``.

They parse options, build the design and the trial state with the library, and print.
"""

from __future__ import annotations

import click

from dosefind.cli.options import build_design, design_options, parse_probabilities

FORMATS = click.Choice(["table", "json"])


# --------------------------------------------------------------------------- helpers
def _parse_ints(text: str | None, name: str) -> list[int] | None:
    """'3,6,3' -> [3, 6, 3]; 3.7, inf and nan are refused, naming the value (negative
    counts are refused by TrialState)."""
    import math

    if text is None:
        return None
    parts = [p for p in str(text).replace(",", " ").split() if p]
    if not parts:
        raise ValueError(f"--{name} must be comma-separated whole numbers, got {text!r}")
    out = []
    for k, p in enumerate(parts, start=1):
        try:
            v = float(p)
        except ValueError:
            raise ValueError(f"--{name} must be comma-separated whole numbers, got {text!r}") from None
        if not math.isfinite(v) or v != int(v):
            raise ValueError(f"--{name}: value {k} ({p}) is not a whole number; counts are whole patients")
        out.append(int(v))
    return out


def _trial_state(outcomes, data, n, dlt, current_dose, num_doses, eff=None):
    """One TrialState from exactly one of --outcomes, --data, or --n/--dlt (and --eff,
    responses per dose, for phase I/II designs)."""
    from dosefind.state import TrialState
    from dosefind.trial_data import read_trial_csv

    given = [x for x in (outcomes, data, n) if x is not None]
    if len(given) != 1 or (n is None) != (dlt is None):
        raise ValueError("give the trial data once: --outcomes \"1NNN 2NTT\", or --data FILE.csv, "
                         "or --n 3,3 --dlt 0,1")
    if eff is not None and n is None:
        raise ValueError("--eff (responses per dose) goes with --n and --dlt; in --outcomes write E (response) "
                         "or B (response and DLT), in --data add an eff column")
    if n is not None:
        counts_n, counts_y = _parse_ints(n, "n"), _parse_ints(dlt, "dlt")
        if num_doses is not None and len(counts_n) != num_doses:
            raise ValueError(f"--n has {len(counts_n)} values but there are {num_doses} doses")
        counts_e = _parse_ints(eff, "eff")
        if counts_e is not None and len(counts_e) != len(counts_n):
            raise ValueError(f"--eff has {len(counts_e)} values but --n has {len(counts_n)}")
        return TrialState.from_counts(counts_n, counts_y, current_dose=current_dose, eff=counts_e)
    if num_doses is None:
        raise ValueError("give the number of doses with --num-doses (or --skeleton for CRM)")
    if outcomes is not None:
        state = TrialState.from_outcomes(outcomes, num_doses)
    else:
        state = read_trial_csv(data, num_doses)
    if current_dose is not None:
        if not 1 <= current_dose <= state.num_doses:
            raise ValueError(f"--current-dose must be between 1 and {state.num_doses}, got {current_dose}")
        state = TrialState(state.num_doses, state.n_at_dose, state.tox_at_dose, state.cohorts, current_dose - 1,
                           eff_at_dose=state.eff_at_dose)
    return state


def _num_doses(options: dict, n_text: str | None) -> int | None:
    if options.get("num_doses") is not None:
        return options["num_doses"]
    if options.get("skeleton") is not None:
        return len(parse_probabilities(options["skeleton"], "skeleton"))
    if n_text is not None:
        return len(_parse_ints(n_text, "n"))
    return None


def _trial_inputs(func):
    for opt in reversed([
        click.option("--outcomes", default=None,
                     help='Outcome string, e.g. "1NNN 2NTT" (dose level, then N/T per patient; phase I/II: '
                          'E response, B response and DLT, e.g. "1NNE 2EBN").'),
        click.option("--data", type=click.Path(dir_okay=False), default=None,
                     help="CSV with one row per patient (columns dose, dlt, optional cohort) or per dose (dose, "
                          "n, dlt). Every cell a whole number; a blank cell (also a blank cohort) is an error "
                          "naming its row."),
        click.option("--n", "n_text", default=None, help="Patients per dose, e.g. 3,6,3,0,0."),
        click.option("--dlt", "dlt_text", default=None, help="DLTs per dose, e.g. 0,1,2,0,0."),
        click.option("--eff", "eff_text", default=None, help="Phase I/II: responses per dose, e.g. 1,3,2,0,0."),
        click.option("--current-dose", type=int, default=None,
                     help="1-based current dose (default: the last cohort's dose, or the highest tried dose)."),
        click.option("--format", "fmt", type=FORMATS, default="table", show_default=True),
    ]):
        func = opt(func)
    return func


def _build(design_name, options, num_doses):
    if num_doses is not None and options.get("num_doses") is None and (design_name or "").lower() != "crm":
        options["num_doses"] = num_doses
    return build_design(design_name, require_size=False, **options)


def _design_and_state(design_name, options, outcomes, data, n_text, dlt_text, current_dose, eff_text=None):
    """The design and the trial state; a BLRM is built first, since its doses (given or
    from --prior-fit) fix the number of doses."""
    if (design_name or "").lower() == "blrm":
        design = build_design("blrm", require_size=False, **options)
        state = _trial_state(outcomes, data, n_text, dlt_text, current_dose, design.num_doses, eff_text)
        if state.num_doses != design.num_doses:
            raise ValueError(f"the trial data have {state.num_doses} doses but the BLRM has {design.num_doses}")
        return design, state
    nd = _num_doses(options, n_text)
    state = _trial_state(outcomes, data, n_text, dlt_text, current_dose, nd, eff_text)
    design = _build(design_name, options, state.num_doses)
    if any(state.eff_at_dose) and not design.efficacy:
        raise ValueError(f"the trial data record responses (E/B outcomes or --eff), but {design.name} is a phase I "
                         f"design that decides on DLTs only; use --design boin12, or drop the responses")
    return design, state


def _obd_payload(selection) -> dict:
    d = selection.to_dict()
    out = {"obd": d["obd"], "mtd": d["mtd"], "reason": d["reason"],
           "utility": [None if u is None else round(float(u), 6) for u in d["utility"]]}
    for key in ("tox_estimates", "eff_estimates", "desirability"):
        if key in d:
            out[key] = [None if v is None else round(float(v), 6) for v in d[key]]
    if "eliminated" in d:
        out["eliminated"] = list(d["eliminated"])
    return out


def _obd_text(design, selection, state) -> str:
    from dosefind.reports.text import fmt_prob, per_dose_text

    d = selection.details
    cols = {"n": list(state.n_at_dose), "dlt": list(state.tox_at_dose), "response": list(state.eff_at_dose),
            "P(DLT)": [fmt_prob(v) for v in d.get("tox_estimates", [None] * state.num_doses)],
            "P(response)": [fmt_prob(v) for v in d.get("eff_estimates", [None] * state.num_doses)],
            "utility": ["--" if u is None else f"{u:.1f}" for u in selection.utility]}
    if "eliminated" in d:
        gone = set(d["eliminated"])
        cols["kept"] = ["no" if j + 1 in gone else "yes" for j in range(state.num_doses)]
    return per_dose_text(design.doses.labels, cols)


def _blrm_frame(design, state):
    """The BLRM's per-dose posterior: mean, sd and the interval probabilities."""
    return design.posterior(state).to_frame(design.amounts)


def _blrm_payload(design, state) -> dict:
    frame = _blrm_frame(design, state)
    rows = [{k: (round(float(v), 6) if isinstance(v, float) else (bool(v) if k == "ewoc_ok" else v))
             for k, v in r.items()} for r in frame.to_dict("records")]
    for r in rows:
        r["dose"] = int(r["dose"])
    return {"intervals": list(design.intervals), "ewoc": design.ewoc, "posterior": rows}


def _blrm_text(design, state) -> str:
    from dosefind.reports.text import fmt_prob, per_dose_text

    frame = _blrm_frame(design, state)
    lo, hi = design.intervals
    cols = {"n": list(state.n_at_dose), "dlt": list(state.tox_at_dose),
            "mean": [fmt_prob(v) for v in frame["mean"]],
            f"P(<{lo:g})": [fmt_prob(v) for v in frame["prob_underdose"]],
            f"P({lo:g}-{hi:g})": [fmt_prob(v) for v in frame["prob_target"]],
            f"P(>={hi:g})": [fmt_prob(v) for v in frame["prob_overdose"]],
            "ewoc_ok": ["yes" if v else "no" for v in frame["ewoc_ok"]]}
    return per_dose_text(design.doses.labels, cols)


def _estimates_now(design, state):
    """The per-dose estimates next-dose prints after its decision, as an MTD selection (its
    estimates, and a model's credible limits in ``details``).  A BOIN's selection adds Beta
    credible limits that next-dose does not print and that need scipy.special (a few tenths
    of a second of start-up); its ``tox_estimates`` are the same numbers (the same code),
    so it gives them alone."""
    if design.name == "BOIN":
        from dosefind.state import MTDSelection

        return MTDSelection(None, design.tox_estimates(state), "")
    return design.select_mtd(state)


def _estimates_payload(design, selection) -> dict:
    out = {"estimates": [None if e is None else round(float(e), 6) for e in selection.estimates]}
    for key in ("beta_mean", "beta_var", "lower", "upper"):
        if key in selection.details:
            v = selection.details[key]
            out[key] = [round(float(x), 6) for x in v] if isinstance(v, (list, tuple)) else round(float(v), 6)
    return out


def _estimates_text(design, selection, state) -> str:
    from dosefind.reports.text import fmt_prob, per_dose_text

    cols = {"n": list(state.n_at_dose), "dlt": list(state.tox_at_dose),
            "estimate": [fmt_prob(e) for e in selection.estimates]}
    if "lower" in selection.details:
        cols["lower"] = [fmt_prob(e) for e in selection.details["lower"]]
        cols["upper"] = [fmt_prob(e) for e in selection.details["upper"]]
    return per_dose_text(design.doses.labels, cols)


# --------------------------------------------------------------------------- commands
@click.command("boundaries")
@click.option("--target", type=float, required=True, help="Target DLT rate.")
@click.option("--cohort-size", type=int, default=3, show_default=True)
@click.option("--cohorts", type=int, default=None, help="Number of cohorts (default 10 if --max-n is not given).")
@click.option("--max-n", type=int, default=None, help="Maximum sample size.")
@click.option("--p-saf", type=float, default=None, help="Highest sub-therapeutic DLT rate (default 0.6 x target).")
@click.option("--p-tox", type=float, default=None, help="Lowest overly toxic DLT rate (default 1.4 x target).")
@click.option("--cutoff-eli", type=float, default=0.95, show_default=True, help="Dose elimination cutoff.")
@click.option("--n-earlystop", type=int, default=100, show_default=True, help="Table stops at this n.")
@click.option("--full", is_flag=True, help="Every n from 1, not only multiples of the cohort size.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
def boundaries(target, cohort_size, cohorts, max_n, p_saf, p_tox, cutoff_eli, n_earlystop, full, fmt):
    """BOIN decision table (as R BOIN's get.boundary).

    Example: dosefind boundaries --target 0.3 --cohort-size 3 --max-n 30
    """
    from dosefind.designs import BOIN
    from dosefind.reports.text import boundary_table_text, to_json

    design = BOIN(target=target, num_doses=1, cohort_size=cohort_size, n_cohorts=cohorts, max_n=max_n,
                  p_saf=p_saf, p_tox=p_tox, cutoff_eli=cutoff_eli, n_earlystop=n_earlystop)
    table = design.boundaries(full=full)
    if fmt == "json":
        rows = [{k: (None if v is None or v != v else int(v)) for k, v in zip(table.columns, r)}
                for r in table.astype(object).where(table.notna(), None).itertuples(index=False)]
        click.echo(to_json({"target": design.target, "lambda_e": round(design.lambda_e, 6),
                            "lambda_d": round(design.lambda_d, 6), "table": rows}))
    elif fmt == "csv":
        click.echo(table.to_csv(index=False, na_rep="NA"), nl=False)
    else:
        click.echo(boundary_table_text(table, design.lambda_e, design.lambda_d))


@click.command("next-dose")
@design_options
@_trial_inputs
def next_dose(design_name, outcomes, data, n_text, dlt_text, eff_text, current_dose, fmt, **options):
    """Next dose (or stop) after the cohorts observed so far.

    Example: dosefind next-dose --design boin --target 0.3 --num-doses 5 --outcomes "1NNN 2NNT 2NNN 3NTT"

    BLRM (prints the interval probabilities per dose): dosefind next-dose --design blrm
    --doses 5e5,1e6,2e6,4e6,8e6 --outcomes "1NNN 2NNT"

    Phase I/II (prints response and utility per dose): dosefind next-dose --design boin12
    --phi-t 0.35 --phi-e 0.25 --num-doses 5 --outcomes "1NNN 2NEN"
    """
    from dosefind.reports.text import to_json

    design, state = _design_and_state(design_name, options, outcomes, data, n_text, dlt_text, current_dose,
                                      eff_text)
    decision = design.decide(state)
    blrm = design.name == "BLRM"
    if design.efficacy:
        obd = design.select_obd(state)
        if fmt == "json":
            payload = decision.to_dict()
            payload.update({("obd_reason" if k == "reason" else k): v for k, v in _obd_payload(obd).items()})
            click.echo(to_json(payload))
            return
        if decision.stop:
            click.echo(f"STOP. {decision.reason}")
        else:
            click.echo(f"Next dose: {decision.next_dose} ({design.doses.labels[decision.dose_index]}). "
                       f"{decision.reason}")
        click.echo("")
        click.echo(_obd_text(design, obd, state))
        return
    selection = None if design.name == "3+3" or blrm else _estimates_now(design, state)
    if fmt == "json":
        payload = decision.to_dict()
        if selection is not None:
            payload.update(_estimates_payload(design, selection))
        if blrm:
            payload.update(_blrm_payload(design, state))
        click.echo(to_json(payload))
        return
    if decision.stop:
        click.echo(f"STOP. {decision.reason}")
    else:
        click.echo(f"Next dose: {decision.next_dose} ({design.doses.labels[decision.dose_index]}). {decision.reason}")
    if selection is not None:
        click.echo("")
        click.echo(_estimates_text(design, selection, state))
    if blrm:
        click.echo("")
        click.echo(_blrm_text(design, state))


@click.command("select-mtd")
@design_options
@_trial_inputs
def select_mtd(design_name, outcomes, data, n_text, dlt_text, eff_text, current_dose, fmt, **options):
    """Final MTD selection from the completed trial's data.

    Example: dosefind select-mtd --design boin --target 0.3 --n 3,6,9,3,0 --dlt 0,1,2,2,0
    """
    design, state = _design_and_state(design_name, options, outcomes, data, n_text, dlt_text, current_dose,
                                      eff_text)
    sel = design.select_mtd(state)
    blrm = design.name == "BLRM"
    payload = {"mtd": sel.mtd, "reason": sel.reason}
    payload.update(_blrm_payload(design, state) if blrm else _estimates_payload(design, sel))
    table = (lambda: _blrm_text(design, state)) if blrm else (lambda: _estimates_text(design, sel, state))
    _echo_selection(fmt, payload, "MTD", sel.mtd_index, sel.reason, design, table)
    if fmt != "json" and "beta_mean" in sel.details:
        click.echo(f"\nposterior mean of beta {sel.details['beta_mean']:.4f}, variance {sel.details['beta_var']:.4f}")


@click.command("select-obd")
@design_options
@_trial_inputs
def select_obd(design_name, outcomes, data, n_text, dlt_text, eff_text, current_dose, fmt, **options):
    """Final optimal biological dose of a phase I/II trial (BOIN12), from toxicity and response.

    Example: dosefind select-obd --design boin12 --phi-t 0.35 --phi-e 0.25 --n 3,6,9,0,0 --dlt 0,1,2,0,0
    --eff 0,3,6,0,0
    """
    design, state = _design_and_state(design_name, options, outcomes, data, n_text, dlt_text, current_dose,
                                      eff_text)
    if not design.efficacy:
        raise ValueError(f"select-obd needs a phase I/II design (--design boin12); {design.name} selects an MTD: "
                         f"use dosefind select-mtd")
    sel = design.select_obd(state)
    _echo_selection(fmt, _obd_payload(sel), "OBD", sel.obd_index, sel.reason, design,
                    lambda: _obd_text(design, sel, state))


def _echo_selection(fmt, payload, what, index, reason, design, table) -> None:
    """A final selection (MTD or OBD): its JSON payload, or a sentence and the per-dose table."""
    from dosefind.reports.text import to_json

    if fmt == "json":
        click.echo(to_json(payload))
        return
    if index is None:
        click.echo(f"No {what} selected: {reason}")
    else:
        click.echo(f"{what}: dose {index + 1} ({design.doses.labels[index]}). {reason}")
    click.echo("")
    click.echo(table())


@click.command("skeleton")
@click.option("--target", type=float, required=True, help="Target DLT rate.")
@click.option("--halfwidth", type=float, default=0.05, show_default=True,
              help="Half-width of the indifference interval.")
@click.option("--nu", type=int, required=True, help="1-based prior guess of the MTD.")
@click.option("--num-doses", type=int, required=True)
@click.option("--model", type=click.Choice(["empiric", "logistic"]), default="empiric", show_default=True)
@click.option("--intercept", type=float, default=3.0, show_default=True, help="Logistic model intercept.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
def skeleton(target, halfwidth, nu, num_doses, model, intercept, fmt):
    """CRM skeleton by the indifference-interval method (Lee & Cheung 2009; dfcrm getprior).

    Example: dosefind skeleton --target 0.25 --halfwidth 0.05 --nu 3 --num-doses 5
    """
    from dosefind.designs.skeleton import getprior
    from dosefind.reports.text import to_json

    values = getprior(halfwidth, target, nu, num_doses, model=model, intercept=intercept)
    if fmt == "json":
        click.echo(to_json({"skeleton": [round(v, 6) for v in values], "target": target, "halfwidth": halfwidth,
                            "nu": nu, "model": model}))
    else:
        click.echo(", ".join(f"{v:.5f}" for v in values))
