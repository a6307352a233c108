"""``dosefind priors``: the evidence table, PyMC fits, skeletons and prior scenarios.

Commands parse, call ``dosefind.priors`` and print. PyMC is imported only by ``fit``
(and ArviZ only when a fit file is read).
"""

from __future__ import annotations

import json
import warnings

import click

from dosefind.cli import LazyGroup

FORMATS = click.Choice(["table", "json", "csv"])
ENDPOINT_HELP = "dlt, crs_any, crs_grade3, icans_any, icans_grade3 or response"


def _evidence_options(f):
    f = click.option("--strict-evidence", is_flag=True,
                     help="Treat counts read by implication (column 'implied') as not reported.")(f)
    f = click.option("--evidence", "evidence", type=click.Path(dir_okay=False),
                     help="Your own evidence table (CSV, same columns); default: the bundled CD7 table.")(f)
    return f


def _table(evidence, strict):
    from dosefind.priors import load_evidence

    return load_evidence(evidence, strict=strict)


def _dose(x: float) -> str:
    return f"{x:.1e}".replace(".0e", "e").replace("e+0", "e").replace("e+", "e")


def _check_out_folder(out) -> None:
    """An output file's folder must exist: dosefind does not create folders a user did
    not ask for (a typo in --out would otherwise scatter files)."""
    from pathlib import Path

    folder = Path(out).expanduser().parent
    if not folder.is_dir():
        raise FileNotFoundError(f"--out {out}: folder {folder} does not exist; create it first "
                                f"(mkdir -p {folder})")


def _echo_json(obj):
    click.echo(json.dumps(obj, indent=2, allow_nan=False))


def _echo_data(fmt: str, result) -> bool:
    """Print a result that has ``to_dict()``/``to_frame()`` as JSON or CSV; False (nothing
    printed) for the table format, which each command lays out itself."""
    if fmt == "json":
        _echo_json(result.to_dict())
    elif fmt == "csv":
        click.echo(result.to_frame().to_csv(index=False), nl=False)
    else:
        return False
    return True


@click.group(cls=LazyGroup)
def priors():
    """Priors from the published CD7 CAR-T reports (PyMC models; see docs/priors.md)."""


@priors.command()
@_evidence_options
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
def data(evidence, strict_evidence, fmt):
    """Show the evidence table: one row per report, with its source and quotes."""
    from dosefind.priors import ENDPOINTS, evidence_records

    table = _table(evidence, strict_evidence)
    if fmt == "json":
        _echo_json(evidence_records(table))
    elif fmt == "csv":
        click.echo(table.to_csv(index=False), nl=False)
    else:
        show = table[["source", "disease", "product"]].copy()
        show["dose_per_kg"] = [
            _dose(r.dose_per_kg) if r.dose_per_kg == r.dose_per_kg else f"{_dose(r.dose_low)}/{_dose(r.dose_high)} pooled"
            for r in table.itertuples()]
        for col in ("n",) + ENDPOINTS:
            show[col] = table[col].astype(object).where(table[col].notna(), "-")
        click.echo(show.to_string(index=False))
        click.echo("\n'-' = not reported. Notes:")
        for r in table.itertuples():
            if r.note:
                click.echo(f"  {r.source}: {r.note}")


@priors.command()
@click.option("--endpoint", required=True, help=ENDPOINT_HELP)
@click.option("--model", type=click.Choice(["dose-response", "map"]), default="dose-response", show_default=True,
              help="dose-response: logistic in log dose with trial effects; map: meta-analytic predictive prior.")
@click.option("--doses", help="Candidate doses in CAR-T cells/kg, comma-separated (dose-response).")
@click.option("--reference-dose", type=float, help="Reference dose d_ref (default: geometric mean of --doses).")
@click.option("--with-response", is_flag=True, help="Also fit the response (CR/CRi) dose-response model.")
@click.option("--tau-scale", type=float, default=1.0, show_default=True,
              help="Half-normal scale of between-trial heterogeneity (map: 0 = none).")
@click.option("--robust-weight", type=float, help="map: weight of the vague Beta(1,1) component.")
@click.option("--draws", type=int, default=1000, show_default=True)
@click.option("--tune", type=int, default=1000, show_default=True)
@click.option("--chains", type=int, default=4, show_default=True)
@click.option("--seed", type=int, default=20240601, show_default=True)
@click.option("--target-accept", type=float, default=0.95, show_default=True)
@click.option("--strict", is_flag=True, help="Fail (exit 2) instead of warning when diagnostics fail.")
@_evidence_options
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Fit file to write (.nc).")
def fit(endpoint, model, doses, reference_dose, with_response, tau_scale, robust_weight, draws, tune, chains,
        seed, target_accept, strict, evidence, strict_evidence, out):
    """Fit a prior with PyMC (NUTS) and save it (ArviZ netCDF) for the other commands."""
    from dosefind.priors import fit_dose_response, fit_map

    _check_out_folder(out)  # before the fit, not after it
    table = _table(evidence, strict_evidence)
    common = dict(tau_scale=tau_scale, draws=draws, tune=tune, chains=chains, seed=seed,
                  target_accept=target_accept, on_fail="raise" if strict else "warn")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if model == "map":
            if doses:
                raise ValueError("--doses is for the dose-response model; the map model has no dose")
            result = fit_map(table, endpoint, robust_weight=robust_weight, **common)
        else:
            if not doses:
                raise ValueError("--doses is required for the dose-response model (e.g. --doses 5e5,1e6,2e6)")
            if robust_weight is not None:
                raise ValueError("--robust-weight is for the map model")
            result = fit_dose_response(table, endpoint, doses, reference_dose=reference_dose,
                                       with_response=with_response, **common)
    result.save(out)
    for w in caught:
        if issubclass(w.category, UserWarning):
            click.echo(f"Warning: {w.message}", err=True)
    from dosefind.priors.checks import fit_warnings

    for w in fit_warnings(result):
        click.echo(f"Warning: {w.text}", err=True)
    d = result.diagnostics()
    click.echo(f"Saved {result.kind} fit of {result.endpoint} ({len(result.meta['evidence'])} rows) to {out}: "
               f"R-hat max {d.r_hat_max:.3f}, ESS min {min(d.ess_bulk_min, d.ess_tail_min):.0f}, "
               f"{d.divergences} divergences")


@priors.command()
@click.argument("fit_file", metavar="FIT", type=click.Path(dir_okay=False))
@click.option("--prob", type=float, default=0.95, show_default=True, help="Central interval probability.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
def summary(fit_file, prob, fmt):
    """Per-dose posterior (or MAP predictive, Beta ESS) with R-hat, ESS and divergences."""
    from dosefind import _validate
    from dosefind.priors import load_fit

    prob = _validate.probability(prob, "prob")
    result = load_fit(fit_file)
    s = result.summary(prob)
    if fmt == "json":
        _echo_json(s)
        return
    if fmt == "csv":
        click.echo(result.to_frame(prob).to_csv(index=False), nl=False)
        return
    click.echo(f"{s['kind']} fit of {s['endpoint']}: {s['n_rows']} evidence rows, {s['draws']} draws")
    click.echo(f"R-hat max {s['r_hat_max']:.3f}, ESS bulk min {s['ess_bulk_min']:.0f}, "
               f"ESS tail min {s['ess_tail_min']:.0f}, divergences {s['divergences']}")
    for p in s["problems"]:
        click.echo(f"Warning: {p}")
    for w in s["warnings"]:
        click.echo(f"Warning: {w['text']}")
    click.echo(f"{prob:.0%} central intervals (new trial), with the Monte Carlo standard error (mcse_*) "
               f"of each quantile:")
    click.echo(result.to_frame(prob).to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    if s["kind"] == "dose_response":
        click.echo(f"ESS per dose: ess_elir = {s['ess_methods']['ess_elir']}; "
                   f"ess_moment = {s['ess_methods']['ess_moment']}")
    if s["kind"] == "map":
        b = s["beta_approximation"]
        click.echo(f"Beta approximation: Beta({b['a']:.3f}, {b['b']:.3f}); effective sample size "
                   f"{b['ess']:.1f} by {s['ess_methods']['ess_moment']}, {b['ess_elir']:.1f} by "
                   f"{s['ess_methods']['ess_elir']}")
        if "robust_mixture" in s:
            r = s["robust_mixture"]
            click.echo(f"Robust mixture: {1 - r['weight_vague']:.2f} Beta({b['a']:.3f}, {b['b']:.3f}) + "
                       f"{r['weight_vague']:.2f} Beta(1, 1); mean {r['mean']:.3f}, ESS {r['ess']:.1f}")


@priors.command()
@click.argument("fit_file", metavar="FIT", type=click.Path(dir_okay=False))
@click.option("--target", type=float, required=True, help="Target toxicity probability.")
@click.option("--halfwidth", type=float, default=0.05, show_default=True,
              help="Indifference-interval half-width for the comparison skeleton.")
@click.option("--statistic", type=click.Choice(["median", "mean"]), default="median", show_default=True)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
def skeleton(fit_file, target, halfwidth, statistic, fmt):
    """CRM skeleton from the fit, beside the indifference-interval skeleton."""
    from dosefind.priors import load_fit, skeleton_from_fit

    res = skeleton_from_fit(load_fit(fit_file), target, halfwidth=halfwidth, statistic=statistic)
    if not _echo_data(fmt, res):
        click.echo(f"Skeleton = posterior {statistic} toxicity; indifference interval "
                   f"{target} +/- {halfwidth} with prior MTD at level {res.nu}:")
        click.echo(res.to_frame().to_string(index=False, float_format=lambda x: f"{x:.4g}"))


@priors.command()
@click.argument("fit_file", metavar="FIT", type=click.Path(dir_okay=False))
@click.option("--n", "n", type=int, default=1000, show_default=True, help="Number of dose-toxicity curves.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), help="CSV file to write (default: print).")
def scenarios(fit_file, n, seed, out):
    """Dose-toxicity curves drawn from the posterior predictive, as a scenario-set CSV."""
    from dosefind.priors import draw_scenarios, load_fit

    if out:
        _check_out_folder(out)
    frame = draw_scenarios(load_fit(fit_file), n, seed)
    if out:
        frame.to_csv(out, index=False)
        click.echo(f"Wrote {n} scenarios x {frame['dose'].max()} doses to {out}")
    else:
        click.echo(frame.to_csv(index=False), nl=False)


@priors.command()
@click.argument("fit_file", metavar="FIT", type=click.Path(dir_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Image file (.png, .svg or .pdf).")
@click.option("--response", is_flag=True, help="Plot the response curve instead of toxicity.")
@click.option("--prob", type=float, default=0.95, show_default=True)
def plot(fit_file, out, response, prob):
    """Posterior dose-toxicity curve with intervals and the observed rates."""
    from dosefind import _validate
    from dosefind.priors import load_fit, plot_fit

    prob = _validate.probability(prob, "prob")
    _check_out_folder(out)
    path = plot_fit(load_fit(fit_file), out, prob=prob, response=response)
    click.echo(f"Wrote {path}")


@priors.command("blrm-prior")
@click.argument("fit_file", metavar="FIT", type=click.Path(dir_okay=False))
@click.option("--endpoint", help="Refuse the fit unless it is of this endpoint (e.g. dlt).")
@click.option("--robust-weight", type=float, default=0.2, show_default=True,
              help="Weight of the robust N(mean, diag(2^2, 1^2)) component (0 = none).")
@click.option("--components", default="auto", show_default=True,
              help="Bivariate normal components of the MAP approximation (1-3 or auto, by BIC).")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
def blrm_prior(fit_file, endpoint, robust_weight, components, fmt):
    """BLRM prior of (log alpha, log beta) from a dose-response fit: MAP mixture + robust part."""
    from dosefind.designs.blrm import BLRM
    from dosefind.priors import blrm_prior_from_fit, load_fit
    from dosefind.state import TrialState

    if components != "auto":
        try:
            components = int(components)
        except ValueError:
            raise ValueError(f"--components must be 1, 2, 3 or auto, got {components!r}") from None
    prior = blrm_prior_from_fit(load_fit(fit_file), endpoint=endpoint, robust_weight=robust_weight,
                                n_components=components)
    design = BLRM(**prior.design_kwargs(), max_increase=None)
    post = design.posterior(TrialState.empty(len(prior.doses)))
    if fmt == "json":
        _echo_json(dict(prior.to_dict(), prior_at_doses=post.to_frame(prior.doses).to_dict(orient="records")))
        return
    if fmt == "csv":
        click.echo(prior.to_frame().to_csv(index=False), nl=False)
        return
    click.echo(f"BLRM prior for {prior.endpoint}: logit p(d) = log(alpha) + beta log(d / {_dose(prior.reference_dose)}), "
               f"mixture of bivariate normals on (log alpha, log beta), robust weight {prior.robust_weight:g}:")
    click.echo(prior.to_frame().to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    click.echo("Prior DLT rate and interval probabilities at the candidate doses (quadrature):")
    click.echo(post.to_frame(prior.doses).to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    click.echo("Use in Python: BLRM(**blrm_prior_from_fit(load_fit(FIT), robust_weight=...).design_kwargs(), "
               "cohort_size=3, max_n=30)")


def _floats(text, name):
    try:
        return [float(x) for x in str(text).split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"{name} must be comma-separated numbers, got {text!r}") from None


@priors.command()
@click.option("--endpoint", required=True, help=ENDPOINT_HELP)
@click.option("--doses", required=True, help="Candidate doses in CAR-T cells/kg, comma-separated.")
@click.option("--tau-scales", default="1,0.5,0.25", show_default=True,
              help="Half-normal scales of tau to compare; the first is the base fit.")
@click.option("--pooled-weights", default="0.25,0.75", show_default=True,
              help="Pooled-row weights to compare with the base 0.5 (empty: none).")
@click.option("--no-strict", is_flag=True, help="Skip the strict reading of implied zeros.")
@click.option("--no-case-reports-variant", "no_case", is_flag=True, help="Skip the variant without case reports.")
@click.option("--draws", type=int, default=500, show_default=True, help="Draws per chain of each refit.")
@click.option("--tune", type=int, default=500, show_default=True)
@click.option("--chains", type=int, default=2, show_default=True)
@click.option("--seed", type=int, default=20240601, show_default=True)
@click.option("--evidence", type=click.Path(dir_okay=False), help="Your own evidence table (CSV).")
@click.option("--column", type=click.Choice(["upper", "median", "lower", "upper_shift"]), default="upper",
              show_default=True, help="Quantity shown in the wide table.")
@click.option("--plot", "plot_out", type=click.Path(dir_okay=False), help="Also draw the table (.png/.svg/.pdf).")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
def sensitivity(endpoint, doses, tau_scales, pooled_weights, no_strict, no_case, draws, tune, chains, seed,
                evidence, column, plot_out, fmt):
    """How the prior at each dose moves: tau prior, implied zeros, case reports, pooled weight."""
    from dosefind.priors.sensitivity import prior_sensitivity

    if plot_out:
        _check_out_folder(plot_out)
    sens = prior_sensitivity(evidence, endpoint, doses, tau_scales=_floats(tau_scales, "--tau-scales"),
                             pooled_weights=_floats(pooled_weights, "--pooled-weights"), strict=not no_strict,
                             case_reports=not no_case, seed=seed,
                             sampling=dict(draws=draws, tune=tune, chains=chains))
    if plot_out:
        from dosefind.priors.plots import plot_sensitivity

        plot_sensitivity(sens, plot_out)
    if not _echo_data(fmt, sens):
        click.echo(f"{endpoint}: {column} of the {sens.prob:.0%} predictive interval per dose under each variant "
                   f"(* = dose beyond the data; MCSE of the upper bound in --format csv/json):")
        wide = sens.wide(column)
        beyond = dict(zip(sens.to_frame()["dose"], sens.to_frame()["beyond_data"]))
        wide.index = [f"{_dose(d)}{'*' if beyond[d] else ''}" for d in wide.index]
        click.echo(wide.to_string(float_format=lambda x: f"{x:.3f}"))
        for note in sens.warnings:
            click.echo(f"Note: {note}")
    if plot_out:
        click.echo(f"Wrote {plot_out}", err=fmt != "table")


@priors.command()
@click.argument("fit_file", metavar="FIT", type=click.Path(dir_okay=False))
@click.option("--loo", is_flag=True, help="Also leave each study out, refit, and predict it as a new study.")
@click.option("--draws", type=int, default=500, show_default=True, help="Draws per chain of each LOO refit.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--plot", "plot_out", type=click.Path(dir_okay=False), help="Figure (.png/.svg/.pdf).")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
def check(fit_file, loo, draws, seed, plot_out, fmt):
    """Posterior predictive (and leave-one-study-out) checks per study, table and figure."""
    from dosefind.priors import load_fit
    from dosefind.priors.checks import predictive_checks

    if plot_out:
        _check_out_folder(plot_out)
    res = predictive_checks(load_fit(fit_file), loo=loo, seed=seed, sampling=dict(draws=draws, tune=draws, chains=2))
    if plot_out:
        from dosefind.priors.plots import plot_checks

        plot_checks(res, plot_out)
    if not _echo_data(fmt, res):
        click.echo(f"Predictive checks of the {res.endpoint} fit (rates; p = Pr(replicate >= observed), "
                   f"Pr(replicate <= observed); below 0.05 = the model does not reproduce the study):")
        click.echo(res.to_frame().to_string(index=False, float_format=lambda x: f"{x:.3f}"))
        for note in res.notes:
            click.echo(f"Note: {note}")
