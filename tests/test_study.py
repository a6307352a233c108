"""Study files: the bundled study, the template, and every error a user can make, each
named by file, key and problem before anything is simulated."""

from pathlib import Path

import pytest

from dosefind.study import TEMPLATE, default_study, default_study_text, load_study, parse_study

REPO = Path(__file__).resolve().parents[1]

GOOD = '''
[study]
target = 0.25
max_n = 12
n_trials = 100
seed = 1

[doses]
amounts = [1e6, 2e6, 4e6]
unit = "cells/kg"

[[designs]]
type = "boin"

[[designs]]
type = "crm"
skeleton = [0.1, 0.25, 0.4]

[[scenarios]]
name = "a"
true_prob_tox = [0.1, 0.25, 0.4]
'''


def test_bundled_study_equals_the_example():
    example = (REPO / "examples" / "cd7_car_t_phase1.toml").read_text(encoding="utf-8")
    assert default_study_text() == example


def test_bundled_study_is_the_cd7_car_t_phase1():
    s = default_study()
    assert s.doses.unit == "cells/kg" and len(s.doses) == 5
    assert s.doses.amounts[0] == 5e5 and s.doses.amounts[-1] == 5e6
    assert 0.25 <= s.target <= 0.30
    assert [d.type for d in s.designs] == ["3+3", "boin", "crm"]
    assert any(sc.prior == "bundled" for sc in s.scenarios)
    assert s.designs[0].design.max_n is None        # the 3+3 stops by its own rule
    assert s.designs[2].design.base.skeleton[2] == pytest.approx(0.25)   # getprior, MTD guess at DL3


def test_template_is_a_valid_study(tmp_path):
    p = tmp_path / "study.toml"
    p.write_text(TEMPLATE)
    s = load_study(p)
    assert [d.label for d in s.designs] == ["3+3", "BOIN", "CRM"] and len(s.scenarios) == 3


def test_good_study_and_overrides():
    s = parse_study(GOOD, source="x.toml")
    assert s.cohort_size == 3 and s.method == "auto"
    assert s.designs[0].design.target == 0.25 and s.designs[0].design.max_n == 12
    q = s.with_overrides(n_trials=7, seed=3)
    assert (q.n_trials, q.seed, s.n_trials) == (7, 3, 100)
    assert s.to_dict()["designs"][1]["options"] == {"skeleton": [0.1, 0.25, 0.4]}


def edit(old, new):
    assert old in GOOD
    return GOOD.replace(old, new, 1)


@pytest.mark.parametrize("text, key, problem", [
    (edit('type = "boin"', 'type = "mtpi"'), "designs[1].type", "unknown design 'mtpi'"),
    (GOOD.replace("true_prob_tox = [0.1, 0.25, 0.4]", "true_prob_tox = [0.1, 0.25]"),
     "scenarios[1] (a).true_prob_tox", "has 2 values but the study has 3 doses"),
    (edit("target = 0.25\n", ""), "study.target", "missing"),
    (edit("seed = 1", "seed = 1\nsede = 2"), "study.sede", "unknown key (did you mean 'seed'?)"),
    (edit('type = "boin"', 'type = "boin"\ncohort_sise = 3'), "designs[1] (BOIN).cohort_sise", "unknown key"),
    (edit('name = "a"', 'name = "a"\ncolour = "red"'), "scenarios[1] (a).colour", "unknown key"),
    (GOOD + "\n[extra]\nx = 1\n", "extra", "unknown key"),
    (edit("target = 0.25", "target = 1.3"), "study.target", "between 0 and 1"),
    (edit("target = 0.25", 'target = "0.25"'), "study.target", "must be a number"),
    (edit("n_trials = 100", "n_trials = 0"), "study.n_trials", "must be >= 1"),
    (edit("amounts = [1e6, 2e6, 4e6]", "amounts = [1e6, 4e6, 2e6]"), "doses.amounts", "strictly increasing"),
    (edit("[0.1, 0.25, 0.4]\n\n[[scenarios]]", "[0.4, 0.25, 0.1]\n\n[[scenarios]]"),
     "designs[2] (CRM)", "skeleton must be strictly increasing"),
    (GOOD.replace("true_prob_tox = [0.1, 0.25, 0.4]", "true_prob_tox = [0.1, 1.5, 0.4]"),
     "scenarios[1] (a).true_prob_tox[2]", "must be a probability"),
    # Issue 9: text booleans are refused (text "false" is truthy and switched options on).
    (edit('type = "boin"', 'type = "boin"\nextrasafe = "false"'), "designs[1] (BOIN).extrasafe",
     "must be true or false"),
    (edit('type = "boin"', 'type = "3+3"\nexpand_lower = "false"\n\n[[designs]]\ntype = "boin"'),
     "designs[1] (3+3).expand_lower", "must be true or false"),
    (edit('type = "boin"', 'type = "boin"\ndont_skip_doses = {when_escalating = "no"}'),
     "designs[1] (BOIN).dont_skip_doses.when_escalating", "must be true or false"),
    # Issue 9: sizes no trial has are refused with the key named (no memory blow-up).
    (GOOD.replace("max_n = 12", "max_n = 1e9"), "study.max_n", "must be <= 10,000"),
    (GOOD.replace("n_trials = 100", "n_trials = 1e20"), "study.n_trials", "must be <= 1,000,000,000"),
    (GOOD.replace("n_trials = 100", "n_trials = 0"), "study.n_trials", "must be >= 1, got 0"),
    (GOOD.replace("n_trials = 100", "n_trials = 3.7"), "study.n_trials", "must be a whole number"),
    (GOOD.replace("n_trials = 100", "n_trials = nan"), "study.n_trials", "must be a whole number"),
    (GOOD.replace("true_prob_tox = [0.1, 0.25, 0.4]", "true_prob_tox = [0.1, nan, 0.4]"),
     "scenarios[1] (a).true_prob_tox[2]", "must be a probability"),
    (GOOD.replace("true_prob_tox = [0.1, 0.25, 0.4]", "true_prob_tox = [0.1, inf, 0.4]"),
     "scenarios[1] (a).true_prob_tox[2]", "must be a probability"),
    (GOOD.replace("true_prob_tox = [0.1, 0.25, 0.4]", "true_prob_tox = [0.1, -0.2, 0.4]"),
     "scenarios[1] (a).true_prob_tox[2]", "must be a probability"),
    (edit('type = "boin"', 'type = "boin"\ntarget = 0.3'), "designs[1] (BOIN).target", "set once for the whole study"),
    (edit('type = "boin"', 'type = "boin"\nstop_at_n = 0'), "designs[1] (BOIN).stop_at_n", "must be >= 1"),
    (GOOD + '\n[[scenarios]]\nname = "a"\ntrue_prob_tox = [0.1, 0.2, 0.3]\n', "scenarios[2].name", "used by another"),
    (GOOD + '\n[[scenarios]]\nname = "p"\nprior = "nowhere.nc"\nsummary = "median"\n',
     "scenarios[2] (p).prior", "fitted prior not found"),
    (GOOD + '\n[[scenarios]]\nname = "p"\nprior = "bundled"\n', "scenarios[2] (p)", "exactly one of summary"),
    (GOOD + '\n[[scenarios]]\nname = "p"\nprior = "bundled"\nsummary = "mode"\n', "scenarios[2] (p).summary",
     "must be one of mean, median"),
    (GOOD + '\n[[scenarios]]\nname = "p"\nprior = "bundled"\nsummary = "mean"\nendpoint = "fever"\n',
     "scenarios[2] (p).endpoint", "must be one of"),
    (GOOD.replace("[[designs]]\ntype = \"boin\"\n\n[[designs]]\ntype = \"crm\"\nskeleton = [0.1, 0.25, 0.4]\n", ""),
     "[[designs]]", "missing"),
    ("[study\n", "", "not valid TOML"),
])
def test_errors_name_file_key_and_problem(tmp_path, text, key, problem):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ValueError) as info:
        load_study(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: "), msg
    assert f": {key}: " in msg or (key == "" and "not valid TOML" in msg), msg
    assert problem in msg, msg


def test_decreasing_curve_is_allowed_and_noted():
    """Issue 9: one rule for `simulate` and the study file: a true curve may decrease with
    dose (R BOIN's get.oc, R/get.oc.R, takes any p.true without a monotonicity check); the
    run notes it."""
    from dosefind.runner import _scenario_notes, resolve_scenarios

    s = parse_study(GOOD.replace("true_prob_tox = [0.1, 0.25, 0.4]", "true_prob_tox = [0.3, 0.2, 0.4]"))
    assert s.scenarios[0].true_prob_tox == (0.3, 0.2, 0.4)
    scen, _, _ = resolve_scenarios(s)
    assert _scenario_notes(scen) == ["scenario 'a': the true DLT rate decreases with dose somewhere (0.3, 0.2, 0.4)"]
    assert _scenario_notes(resolve_scenarios(parse_study(GOOD))[0]) == []


def test_overrides_name_the_parameter():
    s = parse_study(GOOD)
    with pytest.raises(ValueError, match=r"^n_trials must be >= 1, got 0$"):
        s.with_overrides(n_trials=0)
    with pytest.raises(ValueError, match=r"^n_trials must be <= 1,000,000,000"):
        s.with_overrides(n_trials=10**20)


def test_byte_order_mark_is_accepted():
    assert parse_study("\ufeff" + GOOD).target == 0.25


def test_real_booleans_still_work():
    s = parse_study(GOOD.replace('type = "boin"', 'type = "boin"\nextrasafe = true\n'
                                                     'dont_skip_doses = {when_escalating = false}'))
    assert s.designs[0].options["extrasafe"] is True


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="study file not found"):
        load_study(tmp_path / "nope.toml")
    with pytest.raises(ValueError, match="is a folder"):
        load_study(tmp_path)


def test_user_text_is_data_not_code(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text(GOOD.replace("[study]\n", '[study]\ntitle = "__import__(\'os\').system(\'false\')"\n'))
    assert load_study(p).title == "__import__('os').system('false')"


def test_modifier_options_of_issue_8_reach_the_design():
    # DontSkipDoses(relative_to=...) and StopWhenTooToxic(estimate=...) are design options
    # (docs/designs/modifiers.md); the study file passes them through and the modifier's own
    # check names the allowed values.
    from dosefind.designs.modifiers import Modified

    s = parse_study(GOOD.replace('type = "boin"', 'type = "boin"\n'
                                 'dont_skip_doses = {relative_to = "highest_tried"}\n'
                                 'stop_when_too_toxic = {threshold = 0.3, estimate = "beta"}'))
    chain = s.designs[0].design
    assert isinstance(chain, Modified)
    assert "relative_to='highest_tried'" in repr(chain) and "estimate='beta'" in repr(chain)
    with pytest.raises(ValueError, match="relative_to must be 'current' or 'highest_tried'"):
        parse_study(GOOD.replace('type = "boin"', 'type = "boin"\ndont_skip_doses = {relative_to = "up"}'))


# [trial]: calendar time (issue 10; docs/calendar.md)
TRIAL = GOOD + """
[trial]
dlt_window = 28
patients_per_month = 2
late_onset = 0.5
manufacturing_failure = 0.05
vein_to_vein = 21
"""


def test_trial_table_gives_the_calendar():
    from dosefind.simulations import Accrual, ToxicityTiming

    s = parse_study(TRIAL, source="x.toml")
    kw = s.calendar
    assert kw["dlt_window"] == 28 and kw["accrual"] == Accrual.poisson(2 / 30)
    assert kw["timing"] == ToxicityTiming.weibull_late(0.5)
    assert (kw["manufacturing"].failure, kw["manufacturing"].vein_to_vein) == (0.05, 21.0)
    assert s.to_dict()["trial"]["patients_per_month"] == 2
    assert parse_study(GOOD).calendar == {} and "trial" not in parse_study(GOOD).to_dict()


@pytest.mark.parametrize("old, new, key, problem", [
    ("dlt_window = 28", "dlt_window = 0", "trial", "dlt_window must be a positive number of days"),
    ("dlt_window = 28", "window = 28", "trial.window", "unknown key (did you mean 'dlt_window'?)"),
    ("dlt_window = 28\n", "", "trial.dlt_window", "missing"),
    ("patients_per_month = 2", "patients_per_month = -1", "trial", "must be a positive number of patients"),
    ("late_onset = 0.5", "late_onset = 1", "trial", "late-onset share must be in"),
    ("manufacturing_failure = 0.05", "manufacturing_failure = 1", "trial", "manufacturing failure"),
    ("seed = 1", 'seed = 1\nmethod = "exact"', "study.method", "cannot run in calendar time"),
])
def test_trial_table_errors(tmp_path, old, new, key, problem):
    assert old in TRIAL
    path = tmp_path / "bad.toml"
    path.write_text(TRIAL.replace(old, new, 1))
    with pytest.raises(ValueError) as info:
        load_study(path)
    msg = str(info.value)
    assert f": {key}: " in msg and problem in msg, msg


def test_tite_designs_take_the_trial_window():
    # A TITE design weighs pending patients over the DLT window: the study states the window
    # once, in [trial], and the design gets it (docs/study-file.md).
    s = parse_study(TRIAL.replace('type = "boin"', 'type = "tite-boin"\nmaxpen = 0.4'), source="x.toml")
    d = s.designs[0].design
    assert type(d).__name__ == "TITEBOIN" and d.dlt_window == 28.0 and d.maxpen == 0.4
    with pytest.raises(ValueError, match=r"designs\[1\] \(TITE-BOIN\): a time-to-event design needs the DLT "
                                         r"window: add a \[trial\] table with dlt_window"):
        parse_study(GOOD.replace('type = "boin"', 'type = "tite-boin"'), source="x.toml")

# -- issue 13: a design's prior from a fit file (CRM skeleton, BLRM prior), type = "blrm" --
FIT_DOSES = [5e5, 1e6, 2e6, 4e6, 8e6]
FIT_STUDY = '''
[study]
target = 0.25
max_n = 12
n_trials = 100
seed = 1

[doses]
amounts = [5e5, 1e6, 2e6, 4e6, 8e6]
unit = "cells/kg"

[[designs]]
DESIGN

[[scenarios]]
name = "a"
true_prob_tox = [0.05, 0.1, 0.25, 0.4, 0.5]
'''


@pytest.fixture(scope="module")
def fit_dir(tmp_path_factory):
    import warnings

    from dosefind.priors import fit_dose_response

    folder = tmp_path_factory.mktemp("study_fit")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # a small fit; its diagnostics are tested in tests/priors
        fit_dose_response(None, "crs_grade3", FIT_DOSES, draws=200, tune=200, chains=2, seed=3).save(folder / "fit.nc")
    return folder


def fit_study(folder, design):
    p = folder / "study.toml"
    p.write_text(FIT_STUDY.replace("DESIGN", design))
    return load_study(p)


def test_blrm_prior_from_a_fit_named_relative_to_the_study(fit_dir):
    import hashlib

    from dosefind.designs import BLRM
    from dosefind.priors import prior_for_design
    from dosefind.runner import design_priors, input_files

    s = fit_study(fit_dir, 'type = "blrm"\nprior_fit = "fit.nc"\nrobust_weight = 0.3')
    spec = s.designs[0]
    assert isinstance(spec.design, BLRM) and spec.type == "blrm"
    ref = prior_for_design(fit_dir / "fit.nc", "blrm", robust_weight=0.3)
    assert spec.design.prior.to_dict() == ref.kwargs["prior"].to_dict()
    assert spec.design.reference_dose == ref.kwargs["reference_dose"] and spec.design.max_n == 12
    # the file's own hash, computed here
    assert spec.prior_sha256 == hashlib.sha256((fit_dir / "fit.nc").read_bytes()).hexdigest()
    assert [r["dose"] for r in spec.prior_strength.ess] == FIT_DOSES
    d = s.to_dict()["designs"][0]["prior"]
    assert d["sha256"] == spec.prior_sha256 and len(d["ess"]) == 5 and "warnings" in d
    assert Path(spec.prior_fit) in input_files(s)
    assert design_priors(s)["design BLRM"]["sha256"] == spec.prior_sha256
    # another robust weight, another prior
    other = fit_study(fit_dir, 'type = "blrm"\nprior_fit = "fit.nc"\nrobust_weight = 0.6').designs[0].design
    assert other.prior.to_dict() != spec.design.prior.to_dict()


def test_crm_skeleton_from_a_fit(fit_dir):
    from dosefind.priors import prior_for_design

    spec = fit_study(fit_dir, 'type = "crm"\nprior_fit = "fit.nc"\nendpoint = "crs_grade3"').designs[0]
    ref = prior_for_design(fit_dir / "fit.nc", "crm", target=0.25).kwargs["skeleton"]
    assert list(spec.design.skeleton) == pytest.approx(ref)
    assert spec.prior_strength.endpoint == "crs_grade3"


def test_blrm_without_a_fit_uses_its_default_prior():
    from dosefind.designs.blrm import DEFAULT_PRIOR

    s = parse_study(FIT_STUDY.replace("DESIGN", 'type = "blrm"\newoc = 0.2'))
    assert s.designs[0].design.prior == DEFAULT_PRIOR and s.designs[0].design.ewoc == 0.2
    assert s.designs[0].prior_fit is None and "prior" not in s.to_dict()["designs"][0]


@pytest.mark.parametrize("design, key, problem", [
    ('type = "blrm"\nprior_fit = "bundled"', "prior_fit", "no fit file is bundled"),
    ('type = "blrm"\nprior_fit = "none.nc"', "prior_fit", "fit file not found"),
    ('type = "boin"\nprior_fit = "fit.nc"', "prior_fit", "only the crm and blrm designs take a prior"),
    ('type = "crm"\nprior_fit = "fit.nc"\nskeleton = [0.1, 0.2, 0.3, 0.4, 0.5]', "skeleton",
     "give either skeleton or prior_fit"),
    ('type = "blrm"\nrobust_weight = 0.2', "robust_weight", "only applies with prior_fit"),
    ('type = "blrm"\nprior_fit = "fit.nc"\nendpoint = "dlt"', "prior_fit", "the fit is of crs_grade3, not dlt"),
    ('type = "blrm"\nprior_fit = "fit.nc"\nendpoint = "fever"', "endpoint", "must be one of"),
    ('type = "crm"\nprior_fit = "fit.nc"\nrobust_weight = 0.2', "prior_fit", "robust_weight is for the BLRM"),
    ('type = "blrm"\nprior_fit = "fit.nc"\nreference_dose = 1e6', "reference_dose", "is set by prior_fit"),
])
def test_prior_fit_errors_name_the_key(fit_dir, design, key, problem):
    with pytest.raises(ValueError) as err:
        fit_study(fit_dir, design)
    assert f".{key}" in str(err.value) and problem in str(err.value)


def test_prior_fit_made_at_other_doses_is_refused(fit_dir):
    p = fit_dir / "other.toml"
    p.write_text(FIT_STUDY.replace("DESIGN", 'type = "blrm"\nprior_fit = "fit.nc"')
                 .replace("[5e5, 1e6, 2e6, 4e6, 8e6]", "[1e6, 2e6, 4e6, 8e6, 1.6e7]"))
    with pytest.raises(ValueError, match="was made at doses"):
        load_study(p)


def test_report_states_the_design_priors_ess(fit_dir):
    # Issue 13: the report states the prior's ESS next to the design that uses it; the
    # numbers are the study's PriorStrength (computed in dosefind.priors), shown as they are.
    from types import SimpleNamespace

    from dosefind.reports.html import _prior_html

    spec = fit_study(fit_dir, 'type = "blrm"\nprior_fit = "fit.nc"').designs[0]
    html = _prior_html(spec)
    for row in spec.prior_strength.ess:
        assert f"<tr><td>{row['level']}</td><td>{row['ess_elir']:.1f}</td><td>{row['ess_moment']:.1f}</td></tr>" in html
    assert spec.prior_sha256[:12] in html and "ELIR" in html
    for w in spec.prior_strength.warnings:
        assert w.text in html
    assert _prior_html(SimpleNamespace(prior_to_dict=lambda: None)) == ""


def test_backfill_key_wraps_the_design_and_checks_its_table():
    from dosefind.designs import Backfill

    base = """
[study]
target = 0.25
max_n = 30
n_trials = 100
seed = 1
[doses]
labels = ["D1", "D2", "D3"]
[trial]
dlt_window = 28
patients_per_month = 4
[[designs]]
type = "boin"
backfill = {BACKFILL}
[[scenarios]]
name = "s"
true_prob_tox = [0.05, 0.2, 0.4]
"""
    study = parse_study(base.replace("{BACKFILL}", "{cap_per_dose = 6}"))
    mods = study.designs[0].design.modifiers
    assert len(mods) == 1 and isinstance(mods[0], Backfill) and mods[0].cap_per_dose == 6
    assert mods[0].count_in_max_n is False  # BF-BOIN: max_n counts escalation patients
    study = parse_study(base.replace("{BACKFILL}", "{cap_per_dose = 6, count_in_max_n = true}"))
    assert study.designs[0].design.modifiers[0].count_in_max_n is True
    with pytest.raises(ValueError, match="count_in_max_n"):
        parse_study(base.replace("{BACKFILL}", "{cap_per_dose = 6, count_in_max_n = 2}"))
    with pytest.raises(ValueError, match="backfill"):
        parse_study(base.replace("{BACKFILL}", "{cap = 6}"))
    with pytest.raises(ValueError, match="backfill"):
        parse_study(base.replace("{BACKFILL}", "12"))
