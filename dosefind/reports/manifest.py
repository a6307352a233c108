"""``manifest.json``: what is needed to reproduce and audit a run.

Package and dependency versions, Python and platform, the study file's SHA-256, the
seed and trial count, start and end times, per-step timings, and the SHA-256 of every
file written.
"""

from __future__ import annotations

import hashlib
import platform
import sys
from importlib import metadata
from pathlib import Path

__all__ = ["build_manifest", "DEPENDENCIES"]

DEPENDENCIES = ("numpy", "scipy", "pandas", "click", "matplotlib", "tqdm", "pymc", "arviz")


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def file_hashes(folder: Path) -> dict:
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name != "manifest.json":
            out[p.relative_to(folder).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def build_manifest(run, folder: Path, *, version: str) -> dict:
    study = run.study
    return {
        "dosefind_version": version,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "dependencies": {name: _version(name) for name in DEPENDENCIES},
        "command": " ".join(Path(sys.argv[0]).name if i == 0 else a for i, a in enumerate(sys.argv)),
        "study": {"source": study.source, "sha256": study.sha256, "title": study.title},
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
