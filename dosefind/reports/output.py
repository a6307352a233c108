"""The report folder on disk: never lose a user's files.

Rules (docs/report.md, "Behaviour"):

* ``--out`` must name a folder of its own: not the current folder or one containing it,
  not the home folder, not a symbolic link, not a folder that holds the run's input files
  (the study file, a prior fit it names).
* An existing folder is replaced only with ``force`` **and** only when dosefind wrote it:
  it holds dosefind's ``manifest.json`` and no file that the manifest does not list.
  Anything else is refused, whatever ``force`` says.
* One run at a time per output: a lock file ``.<name>.dosefind-lock`` next to the output,
  created atomically (``O_CREAT | O_EXCL``) before anything is simulated, so that a second
  run refuses at once.  A lock whose process is gone (same host) is stale and taken over.
  Creating the lock also proves the location is writable, before any simulation.
* The report is written into ``.<name>.tmp-*`` next to the output and moved into place;
  every temporary folder carries a marker file (:data:`MARKER`) with the process id, so
  folders left by a killed run are recognised and removed by the next run into the same
  output (a previous report caught half-way through replacement is put back).  Folders
  without the marker are never deleted, only reported.

Nothing here prints; notes for the user are passed to the ``note`` callback.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterable

__all__ = ["MARKER", "OutputLock", "ReportTarget", "check_output", "is_dosefind_report"]

#: File dosefind writes into every folder it creates for a report.
MARKER = ".dosefind-report"
#: Below this much free space the run is refused before simulating.
MIN_FREE_BYTES = 5 * 2**20
#: An empty or unreadable lock file older than this is a leftover, not a run starting.
LOCK_GRACE_SECONDS = 30


def _err(out: Path, problem: str) -> ValueError:
    return ValueError(f"--out {out}: {problem}")


def _marker_text(kind: str) -> str:
    from dosefind import __version__

    return json.dumps({"written_by": "dosefind", "version": __version__, "kind": kind, "pid": os.getpid(),
                       "host": socket.gethostname(), "created": time.time()})


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _pid_alive(pid) -> bool:
    try:
        pid = int(pid)
    except (TypeError, ValueError):
        return False
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _owner_gone(info) -> bool:
    """True when ``info`` (a marker or lock's JSON) names a process of this host that has ended."""
    return (isinstance(info, dict) and info.get("host") == socket.gethostname()
            and not _pid_alive(info.get("pid")))


def is_dosefind_report(folder: Path) -> str | None:
    """None when ``folder`` is a report dosefind wrote (its ``manifest.json`` and nothing
    the manifest does not list); otherwise the reason it is not."""
    manifest = _read_json(folder / "manifest.json")
    if not isinstance(manifest, dict) or "dosefind_version" not in manifest or not isinstance(
            manifest.get("files"), dict):
        return "it holds no dosefind manifest.json, so it is not a report dosefind wrote"
    listed = set(manifest["files"]) | {"manifest.json", MARKER}
    foreign = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        rel_root = Path(root).relative_to(folder)
        for name in files + [d for d in dirs if (Path(root) / d).is_symlink()]:
            rel = (rel_root / name).as_posix()
            if rel not in listed or (Path(root) / name).is_symlink():
                foreign.append(rel)
    if foreign:
        shown = ", ".join(sorted(foreign)[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        return f"it holds files dosefind did not write ({shown})"
    return None


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False


def check_output(out, force: bool, *, inputs: Iterable = ()) -> Path:
    """Check, before anything is simulated, that ``out`` may be (re)written.

    Raises ``ValueError`` naming ``--out`` and the problem, ``FileNotFoundError`` when the
    parent folder is missing.  ``inputs`` are the run's input files, which must not lie
    inside the output."""
    out = Path(out)
    if str(out).strip() == "":
        raise ValueError("--out must name a folder, got an empty name")
    if out.is_symlink():
        target = os.readlink(out)
        state = "an existing" if out.exists() else "a missing"
        raise _err(out, f"is a symbolic link (to {state} target {target}); give the path of a real folder")
    here = Path.cwd().resolve()
    full = out.resolve()
    if _inside(here, full):
        what = "the current folder" if full == here else "a folder containing the current folder"
        raise _err(out, f"is {what}; the report needs a folder of its own, e.g. --out "
                        f"{Path(out, 'dosefind-report')}")
    home = Path.home().resolve()
    if full == home or full == Path(full.anchor):
        raise _err(out, f"is {'your home folder' if full == home else 'the root folder'}; the report needs a "
                        "folder of its own, e.g. --out dosefind-report")
    for p in inputs:
        p = Path(p).resolve()
        if _inside(p, full):
            raise _err(out, f"contains the input file {p}, which replacing the folder would delete; "
                            "choose another --out")
    if out.exists():
        if not out.is_dir():
            raise _err(out, "exists and is not a folder")
        reason = is_dosefind_report(out)
        if reason is not None:
            raise _err(out, f"folder already exists and {reason}; dosefind replaces only its own report "
                            "folders, even with --force: choose another --out")
        if not force:
            raise ValueError(f"output folder {out} already exists; use --force to replace it or --out to "
                             "choose another")
    parent = full.parent
    if not parent.exists():
        raise FileNotFoundError(f"--out {out}: folder does not exist: {parent}")
    if not parent.is_dir():
        raise _err(out, f"{parent} is not a folder")
    return out


class ReportTarget:
    """The output folder of one run, checked and locked (a context manager).

    >>> with ReportTarget(out, force=False) as target:   # doctest: +SKIP
    ...     result = simulate_everything()
    ...     target.write(lambda tmp: write_all(result, tmp))

    Entering checks the output (:func:`check_output`), takes the lock (which also proves
    the location writable) and tidies what a killed run left; :meth:`write` writes into a
    temporary folder and moves it into place; leaving releases the lock.
    """

    def __init__(self, out, *, force: bool = False, inputs: Iterable = (), note: Callable[[str], None] | None = None):
        self.out = Path(out)
        self.force = force
        self.inputs = tuple(inputs)
        self.note = note or (lambda msg: None)
        self.parent = self.out.resolve().parent if str(self.out).strip() else Path.cwd()
        self.name = self.out.resolve().name if str(self.out).strip() else ""
        self.lock_path = self.parent / f".{self.name}.dosefind-lock"
        self._locked = False
        self._what = "this report"

    # ------------------------------------------------------------------ lock
    def __enter__(self) -> "ReportTarget":
        check_output(self.out, self.force, inputs=self.inputs)
        self._lock()
        try:
            self._check_space()
            self._tidy()
            check_output(self.out, self.force, inputs=self.inputs)   # a restored report counts
        except BaseException:
            self._unlock()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._unlock()

    def _lock(self) -> None:
        for _ in range(3):
            try:
                fd = os.open(self.lock_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if self._stale_lock():
                    try:
                        self.lock_path.unlink()
                    except FileNotFoundError:
                        pass
                    continue
                info = _read_json(self.lock_path) or {}
                who = f"pid {info.get('pid', '?')}" + (f" on {info['host']}" if info.get("host") else "")
                raise _err(self.out, f"another dosefind run ({who}) is writing {self._what}; wait for it to "
                                     f"finish or choose another --out (if no such run exists, delete "
                                     f"{self.lock_path})") from None
            except OSError as exc:
                raise _err(self.out, f"cannot write in {self.parent}: {exc.strerror or exc}") from None
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(_marker_text("lock"))
            self._locked = True
            return
        raise _err(self.out, f"could not take the lock {self.lock_path}")

    def _stale_lock(self) -> bool:
        info = _read_json(self.lock_path)
        if info is None:
            try:
                age = time.time() - self.lock_path.stat().st_mtime
            except FileNotFoundError:
                return True
            return age > LOCK_GRACE_SECONDS
        return _owner_gone(info)

    def _unlock(self) -> None:
        if self._locked:
            info = _read_json(self.lock_path)
            if isinstance(info, dict) and info.get("pid") == os.getpid():
                try:
                    self.lock_path.unlink()
                except FileNotFoundError:
                    pass
            self._locked = False

    def _check_space(self) -> None:
        try:
            free = shutil.disk_usage(self.parent).free
        except OSError:
            return
        if free < MIN_FREE_BYTES:
            raise _err(self.out, f"only {free // 1024} KiB free in {self.parent}; a report needs a few MiB")

    # ------------------------------------------------------------------ leftovers
    def _leftovers(self):
        for kind in ("tmp", "old"):
            yield from sorted(self.parent.glob(f".{self.name}.{kind}-*"))

    def _tidy(self) -> None:
        """Remove the temporary folders a killed run left (marked as dosefind's, process
        gone); put back a previous report caught half-way through replacement."""
        for folder in self._leftovers():
            if not folder.is_dir() or folder.is_symlink():
                continue
            info = _read_json(folder / MARKER)
            if not isinstance(info, dict) or info.get("written_by") != "dosefind":
                self.note(f"left in place {folder}: not marked as a dosefind folder (delete it yourself if it "
                          "is a leftover of an interrupted run)")
                continue
            if not _owner_gone(info):
                continue
            previous = folder / self.name
            if info.get("kind") == "previous" and previous.is_dir() and not self.out.exists():
                os.replace(previous, self.out)
                self.note(f"restored the previous report {self.out} from {folder}, left by an interrupted run")
            shutil.rmtree(folder, ignore_errors=True)
            if not folder.exists():
                self.note(f"removed {folder}, left by an interrupted run")

    def _mkdtemp(self, kind: str) -> Path:
        folder = Path(tempfile.mkdtemp(prefix=f".{self.name}.{kind}-", dir=self.parent))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(folder, 0o777 & ~umask)   # mkdtemp makes 0700; the report is a normal folder
        (folder / MARKER).write_text(_marker_text("temporary" if kind == "tmp" else "previous"), encoding="utf-8")
        return folder

    # ------------------------------------------------------------------ writing
    def write(self, writer: Callable[[Path], object]) -> Path:
        """``writer(folder)`` fills a fresh temporary folder, which then replaces the output."""
        if not self._locked:
            raise RuntimeError("ReportTarget.write() outside its with-block")
        tmp = self._mkdtemp("tmp")
        try:
            writer(tmp)
            (tmp / MARKER).write_text(_marker_text("report"), encoding="utf-8")
            if self.out.exists() or self.out.is_symlink():
                # Checked again now: the folder may have changed while simulating.
                check_output(self.out, self.force, inputs=self.inputs)
                old = self._mkdtemp("old")
                os.replace(self.out, old / self.name)
                os.replace(tmp, self.out)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, self.out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return self.out


class OutputLock:
    """Only the one-run-at-a-time lock of :class:`ReportTarget`, for outputs that are not
    reports (a grid folder, :mod:`dosefind.grid.store`): the same lock file, the same stale-lock
    rule, the same message.  A context manager; nothing is checked or written besides the lock.
    """

    def __init__(self, out, *, what: str = "this output"):
        self._target = ReportTarget(out)
        self._target._what = what
        self.path = self._target.lock_path

    def __enter__(self) -> "OutputLock":
        self._target._lock()
        return self

    def __exit__(self, *exc) -> None:
        self._target._unlock()
