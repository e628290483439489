"""An executor on a Dask cluster: units of work run on ``distributed`` workers.

The adapter is small on purpose: it scatters the shared context once, keeps a
bounded number of units submitted, and yields results as they complete. Dask
itself reruns the units of a worker that dies (at most
``distributed.scheduler.allowed-failures`` times, 3 by default); this module
turns what Dask cannot recover from into a :class:`~hpsearch.ClusterError`.

``distributed`` is an optional extra: it is imported only when a Dask backend
is asked for, so this module imports without it.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from typing import Any, TypeVar
from uuid import uuid4

from hpsearch._errors import ClusterError, MissingExtraError
from hpsearch.executors._base import WAIT

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")

# Addresses that distributed.Client accepts: a comm scheme, or host:port (TCP).
_ADDRESS = re.compile(r"^(?:(?:tcp|tls|inproc|ucx|ws|wss)://\S+|[\w.\-]+:\d+)$")
_CONNECTION_LOST = (
    "Check that the scheduler is still running and reachable. The results that "
    "arrived before were recorded: with a storage, running the same search again "
    "resumes it."
)


def is_dask_backend(backend: Any) -> bool:
    """Whether ``backend`` is "dask", a scheduler address or a Client."""
    if isinstance(backend, str):
        return backend == "dask" or bool(_ADDRESS.match(backend))
    return _is_client(backend)


def _is_client(obj: Any) -> bool:
    # A Client can only exist if distributed was imported: no import needed.
    distributed = sys.modules.get("distributed")
    return distributed is not None and isinstance(obj, distributed.Client)


def _import_distributed() -> Any:
    """``distributed``, or a MissingExtraError that names the extra."""
    try:
        import distributed
    except ImportError as exc:
        raise MissingExtraError(
            "backend='dask' needs dask.distributed, which is not installed; "
            f"importing it failed with: {exc}. "
            "Install the extra: pip install 'hpsearch[dask]'"
        ) from exc
    return distributed


def make_dask_executor(backend: Any, n_jobs: int | None) -> DaskExecutor:
    """The executor for a Dask ``backend``: "dask", an address or a Client.

    "dask" uses the active ``distributed.Client``; an address opens a client
    to that scheduler (closed with the executor); a Client is used as is.
    """
    distributed = _import_distributed()
    if _is_client(backend):
        client, own = backend, False
    elif backend == "dask":
        try:
            client, own = distributed.default_client(), False
        except ValueError:
            raise ClusterError(
                "backend='dask' must find an active distributed.Client; got none. "
                "Create one before the search: `from distributed import Client; "
                "client = Client()` starts a local cluster, "
                "`Client('tcp://scheduler-host:8786')` joins a running one; or "
                "pass the scheduler's address as the backend."
            ) from None
    else:
        try:
            client = distributed.Client(backend, set_as_default=False)
        except OSError as exc:
            raise ClusterError(
                f"backend={backend!r} must be the address of a running Dask "
                f"scheduler; got no answer ({exc}). Start one with `dask scheduler` "
                "(it prints its address), or check the host and port."
            ) from exc
        own = True
    if client.status != "running":
        raise ClusterError(
            "backend must be a running distributed.Client; got one whose status "
            f"is {client.status!r}. Create a new Client, or pass the scheduler's "
            "address."
        )
    try:
        return DaskExecutor(client, n_jobs, own_client=own)
    except BaseException:
        if own:
            client.close()
        raise


class DaskExecutor:
    """Runs items on the workers of a Dask cluster, through ``client``.

    ``shared`` is scattered to every worker once, and reused by every round of
    a search (workers that join later fetch it from their peers); each item
    travels with its own task, and each result comes back as soon as it is
    done. At most ``2 x n_workers`` items are submitted at a time, so a search
    of a million units does not flood the scheduler.

    Faults: the units of a worker that dies run again elsewhere (Dask's
    scheduler retries each at most ``distributed.scheduler.allowed-failures``
    times); if every worker holding ``shared`` dies, it is scattered again
    (at most 3 times) and the lost units rerun. What cannot be recovered (the
    scheduler lost, a unit that keeps killing workers) raises ClusterError.

    ``n_jobs`` None or negative uses the whole cluster: ``n_workers`` is the
    total of the workers' threads, followed as workers come and go. A positive
    ``n_jobs`` runs at most that many items at once, to share a cluster.
    ``own_client``: close ``client`` with the executor (it was opened for it).
    """

    def __init__(self, client: Any, n_jobs: int | None, own_client: bool) -> None:
        self.client = client
        self.own_client = own_client
        self.max_jobs = n_jobs if n_jobs is not None and n_jobs > 0 else None
        self.n_workers = self.max_jobs or self._cluster_threads()
        # Dask's nanny starts workers with one BLAS/OpenMP thread each (its
        # pre-spawn environment): the cluster's setting stands, whatever the
        # cores of the machine the search was started on.
        self.threads_per_unit: int | None = None
        self._running: dict[Any, Any] = {}  # future -> (item, its shared data)
        self._shared: Any = None  # what was scattered, and its future
        self._data: Any = None
        self._closed = False
        self._stopping = False
        self._rescatters = 0

    @property
    def lanes(self) -> dict[str, int]:
        """Units run on the cluster's worker threads, this many at once."""
        return {"dask": self.n_workers}

    def _cluster_threads(self) -> int:
        return max(1, sum(self.client.nthreads().values()))

    def map_unordered(
        self, fn: Callable[[S, T], R], items: Iterable[T], shared: S
    ) -> Iterator[R]:
        """Yield ``fn(shared, item)`` for each item as the workers finish them.

        ``shared`` is taken as immutable: passed again (the next round of a
        search), the same object is not sent again.
        """
        from distributed import as_completed

        self._closed = False
        pending = iter(items)
        if self._shared is not shared:  # each round of a search reuses it
            self._forget_shared()
            self._scatter(shared)
        done = as_completed(
            loop=self.client.loop, with_results=True, raise_errors=False
        )
        limit, checked = self._limit(), time.monotonic()
        try:
            self._fill(fn, pending, done, limit)
            for future, result in done:
                item, data = self._running.pop(future, (None, None))
                if self._closed or self._stopping:
                    return
                if future.status == "cancelled" and self._lost(data):
                    # The workers holding the scattered context all died: Dask
                    # cannot recompute it, so send it again and rerun the unit.
                    if data is self._data:
                        self._rescatter(shared)
                    self._submit(fn, item, done)
                    continue
                if future.status != "finished":
                    raise self._failure(future, result, item)
                if time.monotonic() - checked > 1.0:  # the cluster may have grown
                    limit, checked = self._limit(), time.monotonic()
                self._fill(fn, pending, done, limit)  # keep workers busy first
                del future
                yield result
                # The result may have let the search propose more work.
                self._fill(fn, pending, done, limit)
        finally:
            self._cancel_running()

    def _scatter(self, shared: Any) -> None:
        """Send ``shared`` to every worker, once."""
        try:
            # A list, so that any shared object (even a dict) is one piece.
            [self._data] = self.client.scatter([shared], broadcast=True, hash=False)
        except OSError as exc:  # the scheduler is gone, or no worker came
            raise ClusterError(
                f"the Dask cluster at {self._address()} must take the search's "
                f"data; got {type(exc).__name__}: {exc}. Check that the scheduler "
                "runs and has workers. The results that arrived before were "
                "recorded: with a storage, running the same search again resumes it."
            ) from exc
        self._shared = shared

    def _lost(self, data: Any) -> bool:
        """Whether ``data`` was scattered and then lost with its workers."""
        return (
            data is not None
            and self.client.status == "running"
            and data.status != "finished"
        )

    def _rescatter(self, shared: Any) -> None:
        """Scatter ``shared`` again, a bounded number of times per executor."""
        self._rescatters += 1
        if self._rescatters > _MAX_RESCATTERS:
            raise ClusterError(
                "Dask workers must keep the search's data; got every copy lost "
                f"{self._rescatters} times (workers dying or restarting). Check the "
                "worker logs. The results that arrived before were recorded: with a "
                "storage, running the same search again resumes it."
            )
        self._scatter(shared)

    def _limit(self) -> int:
        """How many items may be submitted at once."""
        if self.max_jobs is not None:
            return self.max_jobs
        if self.client.status == "running":  # else asking would wait to reconnect
            with suppress(OSError):
                self.n_workers = self._cluster_threads()
        return 2 * self.n_workers

    def _fill(
        self, fn: Callable[..., Any], pending: Iterator[Any], done: Any, limit: int
    ) -> None:
        """Submit items until ``limit`` are in flight or none are left."""
        while len(self._running) < limit and not (self._closed or self._stopping):
            item = next(pending, _END)
            if item is _END or item is WAIT:
                return
            self._submit(fn, item, done)

    def _submit(self, fn: Callable[..., Any], item: Any, done: Any) -> None:
        # Unique keys: equal items must not be merged into one task.
        key = f"hpsearch-{getattr(fn, '__name__', 'unit')}-{uuid4().hex}"
        future = self.client.submit(fn, self._data, item, key=key, pure=False)
        self._running[future] = (item, self._data)
        done.add(future)
        if self._stopping:  # stop_running copied the futures before this one
            self._cancel([future])

    def _failure(self, future: Any, result: Any, item: Any) -> BaseException:
        """The exception to raise for a unit that did not finish."""
        from distributed import KilledWorker

        if future.status == "error":
            _, exc, traceback = result
            if isinstance(exc, KilledWorker):
                return ClusterError(
                    "Dask workers must survive the units of work they run; got "
                    f"{_describe(item)} killing {exc.allowed_failures + 1} of them "
                    "(the limit is distributed.scheduler.allowed-failures="
                    f"{exc.allowed_failures}). Check the worker "
                    "logs: running out of memory is the usual cause; give workers "
                    "more memory or fewer threads (dask worker --memory-limit, "
                    "--nthreads)."
                )
            return exc.with_traceback(traceback)  # fn's own error, as locally
        reason = getattr(result, "reason", None) or "unknown"
        if reason == "scheduler-connection-lost" or self.client.status != "running":
            return ClusterError(
                f"the Dask scheduler at {self._address()} must stay reachable while "
                f"a search runs; got the connection lost ({reason}). "
                f"{_CONNECTION_LOST}"
            )
        return ClusterError(
            f"the search's units of work on the Dask cluster at {self._address()} "
            f"must run to the end; got them cancelled ({reason}), by another "
            "client or a restart of the cluster. The results that arrived before "
            "were recorded: with a storage, running the same search again resumes it."
        )

    def _address(self) -> str:
        with suppress(Exception):
            return str(self.client.scheduler.address)
        return "(unknown)"

    def _cancel_running(self) -> None:
        """Cancel the units still submitted."""
        futures = list(self._running)
        self._running.clear()
        self._cancel(futures)

    def _forget_shared(self) -> None:
        """Let the workers drop the scattered context."""
        data, self._data, self._shared = self._data, None, None
        if data is not None:
            self._cancel([data])

    def _cancel(self, futures: list[Any]) -> None:
        # Without a scheduler, cancel would wait for a connection: skip it.
        if futures and self.client.status == "running":
            with suppress(Exception):
                self.client.cancel(futures)

    def stop_running(self) -> None:
        """Cancel the units in flight (see the protocol): queued ones never
        start; one running on a worker finishes there unseen (Dask cannot
        stop a running task) and its result is dropped."""
        self._stopping = True
        # list() of a dict is one C call: safe beside the caller's thread.
        self._cancel(list(self._running))

    def close(self) -> None:
        """Cancel what is running; close the client if it was opened here."""
        self._closed = True
        self._cancel_running()
        self._forget_shared()
        if self.own_client:
            with suppress(Exception):
                self.client.close()


_END = object()
# Times the scattered context may be lost and sent again (workers restarted).
_MAX_RESCATTERS = 3


def _describe(item: Any) -> str:
    """A unit of work in words: its candidates' parameters and splits."""
    with suppress(Exception):
        return ", ".join(
            f"candidate {dict(task.candidate.params)!r} on split {task.split}"
            for task in item
        )
    return repr(item)[:200]
