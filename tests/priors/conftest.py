"""Fits shared by the prior tests: small (300 tune / 300 draws, 2 chains), made once."""

import warnings

import pytest

DOSES = (5e5, 1e6, 2e6, 4e6, 8e6)
SMALL = dict(draws=300, tune=300, chains=2, seed=11)


@pytest.fixture(scope="session")
def dose_fit():
    from dosefind.priors import fit_dose_response

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small fits may miss the ESS threshold; checked elsewhere
        return fit_dose_response(None, "crs_grade3", DOSES, with_response=True, **SMALL)


@pytest.fixture(scope="session")
def dose_fit_file(dose_fit, tmp_path_factory):
    return dose_fit.save(tmp_path_factory.mktemp("fits") / "crs.nc")


@pytest.fixture(scope="session")
def map_fit():
    from dosefind.priors import fit_map

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_map(None, "crs_grade3", robust_weight=0.2, **SMALL)
