"""Where grid tasks run: in this process, or on Dask distributed.

Both schedulers offer ``map_unordered(fn, tasks)``, yielding ``fn(task)`` results as
tasks finish, and ``dashboard`` (the Dask dashboard address, or None).  The result of a
grid never depends on the scheduler: every seed comes from the cell and block
(:mod:`dosefind.grid.spec`), and a cell's blocks are merged in block order.

Dask is an optional extra (``pip install "dosefind[distributed]"``) imported only when
a Dask scheduler is asked for.  ``"local"`` starts a ``LocalCluster`` of worker
processes (one thread each, since the engine is NumPy code holding the GIL between
array operations); any other text is the address of a running scheduler
(``tcp://host:8786``), which must answer within ``timeout`` seconds.
"""

from __future__ import annotations

__all__ = ["SerialScheduler", "DaskScheduler", "make_scheduler", "require_dask"]

CONNECT_TIMEOUT = 5.0


class SerialScheduler:
    """Runs every task in this process, in order (no Dask needed)."""

    name = "serial"
    dashboard = None
    n_workers = 1

    def map_unordered(self, fn, tasks):
        for t in tasks:
            yield fn(t)

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def require_dask():
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        raise ImportError("the Dask scheduler needs dask.distributed: pip install \"dosefind[distributed]\" "
                          "(or run with --scheduler serial)") from None


class DaskScheduler:
    """Tasks on Dask distributed: a new LocalCluster (``address="local"``) or a running scheduler."""

    name = "dask"

    def __init__(self, address: str = "local", *, n_workers: int | None = None, timeout: float = CONNECT_TIMEOUT):
        require_dask()
        import logging

        from distributed import Client, LocalCluster

        self.cluster = None
        if address == "local":
            import os

            n = n_workers or os.cpu_count() or 1
            # dashboard on a free port: several grids (or users) may share a machine.
            self.cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                        dashboard_address=":0", silence_logs=logging.ERROR)
            self.client = Client(self.cluster, set_as_default=False)
        else:
            try:
                self.client = Client(address, timeout=f"{timeout}s", set_as_default=False)
            except (OSError, TimeoutError) as exc:
                raise ConnectionError(f"no Dask scheduler answers at {address} (waited {timeout:g} s): "
                                      f"{type(exc).__name__}; start one with `dask scheduler`, or use "
                                      f"--scheduler local or serial") from None
        try:
            self.dashboard = self.client.dashboard_link
        except Exception:  # the dashboard needs bokeh; its absence is not an error
            self.dashboard = None
        self.n_workers = len(self.client.scheduler_info().get("workers", {})) or (n_workers or 1)

    def map_unordered(self, fn, tasks):
        """Consecutive tasks of one design travel as one Dask task (a bundle), so that a
        worker builds each design once, not once per scenario; there are still at least
        4 bundles per worker to balance the load.  Bundling changes no result."""
        from distributed import as_completed

        tasks = list(tasks)
        cap = max(1, -(-len(tasks) // (4 * max(1, self.n_workers))))
        bundles, current, key = [], [], None
        for t in tasks:
            k = _design_key(t)
            if current and (k != key or len(current) >= cap):
                bundles.append(current)
                current = []
            current.append(t)
            key = k
        if current:
            bundles.append(current)
        futures = [self.client.submit(_run_bundle, fn, b, pure=False) for b in bundles]
        for fut in as_completed(futures, loop=self.client.loop):
            results = fut.result()
            fut.release()
            yield from results

    def close(self):
        try:
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _design_key(task):
    cell = task[1] if isinstance(task, tuple) and len(task) > 1 else None
    return (getattr(cell, "study_text", None), getattr(cell, "design", None))


def _run_bundle(fn, tasks):
    return [fn(t) for t in tasks]


def make_scheduler(spec: str = "local", *, n_workers: int | None = None, timeout: float = CONNECT_TIMEOUT):
    """``"serial"``, ``"local"`` (a LocalCluster) or a Dask scheduler address."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"scheduler must be 'serial', 'local' or a Dask address such as tcp://host:8786, got {spec!r}")
    spec = spec.strip()
    if spec == "serial":
        return SerialScheduler()
    if spec != "local" and "://" not in spec and ":" not in spec:
        raise ValueError(f"scheduler must be 'serial', 'local' or a Dask address such as tcp://host:8786, "
                         f"got {spec!r}")
    return DaskScheduler(spec, n_workers=n_workers, timeout=timeout)
