"""``manifest.json``: what is needed to reproduce and audit a run.

Package and dependency versions (every library that can change a number: the numerical
stack, the PyMC stack that fits priors and the file formats a fit is stored in), Python
and platform, the SHA-256 of the study file and of every prior-fit file it names, the seed
and trial count, start and end times, per-step timings, and the SHA-256 of every file
written.
"""

from __future__ import annotations

import hashlib
import platform
import sys
from importlib import metadata
from pathlib import Path

__all__ = ["build_manifest", "DEPENDENCIES"]

#: Distributions whose versions the manifest records: everything that shapes a number, a
#: figure or a file of the report (python-docx writes report.docx; nutpie and numba fit a
#: prior at run time).
DEPENDENCIES = ("numpy", "scipy", "pandas", "matplotlib", "pymc", "pytensor", "arviz", "xarray", "h5netcdf",
                "h5py", "netCDF4", "nutpie", "numba", "python-docx", "click", "tqdm")


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_hashes(folder: Path) -> dict:
    from dosefind.reports.output import MARKER

    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.relative_to(folder).as_posix() not in ("manifest.json", MARKER):
            out[p.relative_to(folder).as_posix()] = _sha256(p)
    return out


def input_hashes(study) -> dict:
    """SHA-256 of every prior-fit file the study's scenarios name (path as written in the
    manifest's ``prior`` entries)."""
    from dosefind.study import BUNDLED_PRIOR

    out = {}
    for s in study.scenarios:
        if s.prior not in (None, BUNDLED_PRIOR) and s.prior not in out:
            p = Path(s.prior)
            out[s.prior] = _sha256(p) if p.is_file() else None
    return out


def build_manifest(run, folder: Path, *, version: str) -> dict:
    study = run.study
    return {
        "dosefind_version": version,
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "dependencies": {name: _version(name) for name in DEPENDENCIES},
        "command": " ".join(Path(sys.argv[0]).name if i == 0 else a for i, a in enumerate(sys.argv)),
        "study": {"source": study.source, "sha256": study.sha256, "title": study.title},
        "prior_files_sha256": input_hashes(study),
        "seed": study.seed,
        "n_trials": study.n_trials,
        "method": study.method,
        "designs": [d.label for d in run.designs],
        "scenarios": [s.name for s in run.scenarios],
        "simulation_methods": {f"{d} | {s}": oc.method for (s, d), oc in run.results.items()},
        "prior": run.prior,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "timings_seconds": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in run.timings.items()},
        "warnings": list(run.warnings),
        "files": file_hashes(folder),
    }
