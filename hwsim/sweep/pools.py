"""Where a sweep's chunks of designs run: this process, a local process pool, or a Dask cluster.

A worker pool maps ``fn(shared, item)`` over items and yields the results as they finish, in any
order. ``shared`` (the lowered models and the base config) is sent to the workers once per task
by the process pool and once per worker by Dask (``Client.scatter(broadcast=True)``); the items
are small chunks of designs. Scheduling is the library's own (``concurrent.futures``,
``dask.distributed``); nothing here decides which worker runs what.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Callable, Iterator, Protocol, Sequence, TypeVar

from hwsim.core.errors import UserError

__all__ = ["WorkerPool", "InlinePool", "ProcessPool", "DaskPool", "make_pool", "EXECUTORS"]

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")

EXECUTORS = ("local", "dask")


class WorkerPool(Protocol):
    """Runs ``fn(shared, item)`` for every item; ``close`` releases workers and cancels what is left."""

    #: Concurrent workers, used to size the chunks.
    workers: int

    def map_unordered(self, fn: Callable[[Any, Any], R], shared: Any, items: Sequence[Any]) -> Iterator[R]: ...

    def close(self) -> None: ...


class InlinePool:
    """Runs every item in this process, in order: ``--jobs 1``, and the easiest to debug."""

    workers = 1

    def map_unordered(self, fn: Callable[[S, T], R], shared: S, items: Sequence[T]) -> Iterator[R]:
        for item in items:
            yield fn(shared, item)

    def close(self) -> None:
        pass


#: Linux's prctl option that sends a signal to this process when its parent dies.
_PR_SET_PDEATHSIG = 1
#: How often a worker checks that its parent is still there (seconds).
_WATCH_INTERVAL = 0.5


def _die_with(parent: int) -> None:
    """End this worker when the sweep that started it is gone, however it went (even SIGKILL).

    On Linux the kernel sends SIGKILL at the parent's death (``PR_SET_PDEATHSIG``); everywhere a
    daemon thread also polls the parent id, which changes when the worker is orphaned.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before the prctl took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_WATCH_INTERVAL)
        os._exit(1)

    threading.Thread(target=watch, name="hwsim-parent-watch", daemon=True).start()


def _worker_init(parent: int) -> None:
    # Ctrl-C goes to the whole process group; only the parent handles it (and stops the pool),
    # so that workers neither print tracebacks nor die half-way through a result. SIGTERM and
    # SIGHUP end a worker at once (the command line's handlers, inherited through fork, are not for it).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    _die_with(parent)


class ProcessPool:
    """A pool of ``jobs`` worker processes on this machine (``concurrent.futures``)."""

    def __init__(self, jobs: int) -> None:
        self.workers = jobs
        self._pool = ProcessPoolExecutor(max_workers=jobs, initializer=_worker_init, initargs=(os.getpid(),))

    def map_unordered(self, fn: Callable[[S, T], R], shared: S, items: Sequence[T]) -> Iterator[R]:
        pending: set[Future[R]] = {self._pool.submit(fn, shared, item) for item in items}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        finally:
            for future in pending:
                future.cancel()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskPool:
    """A ``dask.distributed`` cluster: the scheduler at ``address``, or a LocalCluster of ``jobs`` workers.

    ``processes=False`` runs the local cluster's workers as threads of this process (fast to start,
    used by the tests); every worker of a real cluster needs hwsim installed.
    """

    def __init__(self, address: str | None = None, jobs: int = 1, *, processes: bool = True) -> None:
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise UserError("--executor dask needs dask.distributed: pip install 'hwsim[dask]'") from None
        self._cluster = None
        try:
            if address is None:
                self._cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=processes,
                                             dashboard_address=None)
                self._client = Client(self._cluster)
            else:
                self._client = Client(address, timeout="10s")
        except OSError as e:
            if self._cluster is not None:
                self._cluster.close()
            raise UserError(f"--scheduler {address}: cannot reach the Dask scheduler ({e})") from None
        self.workers = max(1, len(self._client.scheduler_info().get("workers", {})) or jobs)

    def map_unordered(self, fn: Callable[[S, T], R], shared: S, items: Sequence[T]) -> Iterator[R]:
        from dask.distributed import as_completed

        shared_future = self._client.scatter(shared, broadcast=True)
        futures = [self._client.submit(fn, shared_future, item, pure=False) for item in items]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            self._client.cancel(futures)

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_pool(kind: str, jobs: int, scheduler: str | None = None) -> WorkerPool:
    """The worker pool the command line asks for (``--executor``, ``--jobs``, ``--scheduler``)."""
    if kind not in EXECUTORS:
        raise UserError(f"--executor {kind!r}: choose one of {', '.join(EXECUTORS)}")
    if scheduler is not None and kind != "dask":
        raise UserError("--scheduler needs --executor dask")
    if kind == "dask":
        return DaskPool(scheduler, jobs)
    return InlinePool() if jobs == 1 else ProcessPool(jobs)
