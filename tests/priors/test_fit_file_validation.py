"""Issue 9: a fit file that would give wrong numbers is refused when loaded, with a
message naming what is wrong and how to fix it; output folders are checked first."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from dosefind.cli import main
from dosefind.priors import PriorFit, load_fit


def _write(fit, path, *, meta=None, edit=None):
    tree = fit.idata.copy(deep=True)
    if edit is not None:
        edit(tree["posterior"])
    PriorFit(tree, fit.meta if meta is None else meta).save(path)
    return path


def _set(var, fn):
    def edit(post):
        ds = post.to_dataset()
        ds[var] = ds[var].copy(data=fn(np.asarray(ds[var].values, dtype=float).copy()))
        post.dataset = ds
    return edit


def test_valid_file_loads(dose_fit, tmp_path):
    assert load_fit(_write(dose_fit, tmp_path / "ok.nc")).doses == dose_fit.doses


def _nan(a):
    a.flat[0] = np.nan
    return a


def _above_one(a):
    a[0, 3, 2] = 1.2
    return a


@pytest.mark.parametrize("edit, words", [
    (_set("prob_tox", _nan), "NaN or infinite"),
    (_set("alpha", _nan), "draws of 'alpha' are NaN"),
    (_set("prob_tox", _above_one), "probabilities in [0, 1]"),
])
def test_bad_draws_refused(dose_fit, tmp_path, edit, words):
    path = _write(dose_fit, tmp_path / "bad.nc", edit=edit)
    with pytest.raises(ValueError, match="refit with dosefind priors fit") as err:
        load_fit(path)
    assert words in str(err.value)


def test_dose_count_mismatch_refused(dose_fit, tmp_path):
    meta = dict(dose_fit.meta, doses=list(dose_fit.doses) + [1.6e7])
    with pytest.raises(ValueError, match=r"5 dose column\(s\) but the fit lists 6 candidate doses"):
        load_fit(_write(dose_fit, tmp_path / "mismatch.nc", meta=meta))


@pytest.mark.parametrize("key", ["kind", "endpoint"])
def test_missing_description_field_named(dose_fit, tmp_path, key):
    meta = {k: v for k, v in dose_fit.meta.items() if k != key}
    path = _write(dose_fit, tmp_path / "nokind.nc", meta=meta)
    with pytest.raises(ValueError, match=f"lacks '{key}'"):
        load_fit(path)
    res = CliRunner().invoke(main, ["priors", "summary", str(path)])
    assert res.exit_code == 2 and f"lacks '{key}'" in res.output and "refit" in res.output
    assert "Traceback" not in res.output and res.output.strip() != f"Error: {key}"


def test_unknown_kind_refused(dose_fit, tmp_path):
    path = _write(dose_fit, tmp_path / "k.nc", meta=dict(dose_fit.meta, kind="spline"))
    with pytest.raises(ValueError, match="kind must be one of map, dose_response, got 'spline'"):
        load_fit(path)


def test_scenarios_out_in_missing_folder(dose_fit_file, tmp_path):
    out = tmp_path / "missing" / "x.csv"
    res = CliRunner().invoke(main, ["priors", "scenarios", str(dose_fit_file), "--n", "3", "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert "does not exist" in res.output and "mkdir -p" in res.output and "Traceback" not in res.output
    assert not out.parent.exists()


def test_fit_out_in_missing_folder_fails_before_fitting(tmp_path):
    out = tmp_path / "nowhere" / "f.nc"
    res = CliRunner().invoke(main, ["priors", "fit", "--endpoint", "crs_grade3", "--doses", "1e6,2e6",
                                    "--draws", "10", "--tune", "0", "--chains", "1", "--out", str(out)])
    assert res.exit_code == 2 and "does not exist" in res.output
    json.dumps(res.output)
