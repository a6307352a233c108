"""Report fixtures: a small study run once per session (fast tests), and the bundled
CD7 study run once through the command line with fewer trials (slow tests)."""

from pathlib import Path

import pytest

SMALL_STUDY = '''
[study]
title = "Small <test> study & co"
description = """A small study for the report tests.

Second paragraph."""
target = 0.3
max_n = 12
cohort_size = 3
n_trials = 300
seed = 7
method = "mc"

[doses]
amounts = [1e6, 2e6, 4e6]
unit = "cells/kg"

[[designs]]
type = "3+3"

[[designs]]
type = "boin"
label = "BOIN"

[[designs]]
type = "crm"
label = "CRM"
skeleton = [0.15, 0.3, 0.45]
stop_when_too_toxic = { threshold = 0.3, confidence = 0.95, dose = 1, min_n = 3 }

[[scenarios]]
name = "MTD at DL2"
description = "The middle dose is the MTD."
true_prob_tox = [0.1, 0.3, 0.5]

[[scenarios]]
name = "All safe"
true_prob_tox = [0.02, 0.05, 0.1]
'''


@pytest.fixture(scope="session")
def small_study_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("study") / "small.toml"
    path.write_text(SMALL_STUDY, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def small_report(small_study_file, tmp_path_factory):
    from dosefind.runner import run_study
    from dosefind.study import load_study

    out = tmp_path_factory.mktemp("small") / "report"
    run, path = run_study(load_study(small_study_file), out)
    return run, path


@pytest.fixture(scope="session")
def bundled_report(tmp_path_factory):
    """`dosefind run --n-trials 200` on the bundled study: the same code path as the
    default run, fewer trials."""
    from click.testing import CliRunner

    from dosefind.cli import main

    out = tmp_path_factory.mktemp("bundled") / "dosefind-report"
    res = CliRunner().invoke(main, ["run", "--out", str(out), "--n-trials", "200"])
    assert res.exit_code == 0, res.output
    return out, res.output
