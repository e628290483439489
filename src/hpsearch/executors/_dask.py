"""An executor on a Dask cluster: units of work run on ``distributed`` workers.

The adapter is small on purpose: it scatters the shared context once, keeps a
bounded number of units submitted, and yields results as they complete. A
unit whose worker dies runs again on a fresh worker, as on loky processes:
split into its tasks, each alone in a unit; a task whose worker dies again is
a :class:`~hpsearch.executors.LostTask` naming the cause (the worker's nanny
logs its exit code). This module turns what Dask cannot recover from into a
:class:`~hpsearch.ClusterError`.

``distributed`` is an optional extra: it is imported only when a Dask backend
is asked for, so this module imports without it.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar
from uuid import uuid4

from hpsearch._errors import ClusterError, MissingExtraError
from hpsearch._records import TimedOutTask
from hpsearch.executors._base import WAIT, LostTask, exit_cause

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

    Faults: a unit whose worker dies (a segfault, ``os._exit``, the
    out-of-memory killer) runs again, each of its tasks alone in a unit of
    its own (it may have been a bystander of another unit's crash); a task
    whose worker dies again is the culprit: its result is a
    :class:`~hpsearch.executors.LostTask` naming the cause, and the search
    goes on. hpsearch follows the scheduler's worker-removal events to count
    the deaths itself, so Dask's ``allowed-failures`` does not apply to its
    units. If every worker holding ``shared`` dies, it is scattered again (at
    most 3 times). A unit whose fit ran past ``fit_timeout`` has its worker
    restarted (:meth:`stop_worker`). What cannot be recovered (the scheduler
    lost, work cancelled by someone else) raises ClusterError.

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
        self._running: dict[Any, _Submitted] = {}  # future -> what it runs
        self._shared: Any = None  # what was scattered, and its future
        self._data: Any = None
        self._closed = False
        self._stopping = False
        self._rescatters = 0
        # Worker deaths, learnt from the scheduler's events (on the client's
        # event loop): the units' keys -> the dead worker's address; the
        # process ids of the workers, for the cause; workers being restarted
        # on purpose (their units are bystanders, rerun by Dask as they are).
        self._lock = threading.Lock()
        self._died: dict[Any, str] = {}
        self._pids: dict[str, int] = {}
        self._restarting: set[str] = set()
        self._followed: set[str] = set()
        self._nannies: dict[str, str | None] = {}
        self._suspects: deque[_Submitted] = deque()  # to rerun, each alone
        self._death_seen = False

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
        self._follow_workers()
        limit, checked = self._limit(), time.monotonic()
        try:
            self._fill(fn, pending, done, limit)
            for future, result in done:
                with self._lock:
                    unit = self._running.pop(future, None)
                if self._closed or self._stopping:
                    return
                out = None
                if unit is not None:
                    out = self._outcome(fn, unit, future, result, done)
                del future
                if time.monotonic() - checked > 1.0:  # the cluster may have grown
                    limit, checked = self._limit(), time.monotonic()
                self._fill(fn, pending, done, limit)  # keep workers busy first
                if out is not None:
                    yield out
                    # The result may have let the search propose more work.
                    self._fill(fn, pending, done, limit)
        finally:
            self._cancel_running()
            self._unfollow_workers()

    def _outcome(
        self,
        fn: Callable[..., Any],
        unit: _Submitted,
        future: Any,
        result: Any,
        done: Any,
    ) -> Any:
        """What a finished future gives: a unit's results to yield, or None
        (it runs again, or it is a task of a split unit whose others run)."""
        died = self._death(future, result)
        if died is not None:
            return self._after_death(unit, died)
        if future.status == "cancelled" and self._lost(unit.data):
            # The workers holding the scattered context all died: Dask
            # cannot recompute it, so send it again and rerun the unit.
            if unit.data is self._data and self._shared is not None:
                self._rescatter(self._shared)
            self._submit(fn, unit.item, done, unit)
            return None
        if future.status != "finished":
            raise self._failure(future, result, unit.item)
        if _stuck(result):
            self.stop_worker([r.worker for r in result if _is_stuck(r)])
        return unit.settle(result)

    def _follow_workers(self) -> None:
        """Follow the deaths of the cluster's workers (the scheduler's events
        on each worker's topic), and learn their process ids for the cause.

        Called as workers come: at the start, with the cluster's size, and
        before a unit runs again alone. (Not the scheduler's topic "all": a
        replication logs an event there that cannot be sent to a client, and
        the client's connection breaks.)
        """
        with suppress(Exception):
            new = [w for w in self.client.nthreads() if w not in self._followed]
            if not new:
                return
            for worker in new:
                self.client.subscribe_topic(worker, partial(self._on_event, worker))
                self._followed.add(worker)
            pids = self.client.run(os.getpid, workers=new, on_error="return")
            self._pids.update((w, p) for w, p in pids.items() if isinstance(p, int))
            info = self.client.scheduler_info()["workers"]
            for worker in new:
                self._nannies[worker] = info.get(worker, {}).get("nanny")

    def _unfollow_workers(self) -> None:
        with suppress(Exception):
            if self.client.status == "running":
                for worker in self._followed:
                    self.client.unsubscribe_topic(worker)
        self._followed.clear()

    async def _on_event(self, worker: str, event: Any) -> None:
        """On the client's event loop: an event of ``worker``; its death?"""
        _, msg = event
        if not isinstance(msg, dict) or msg.get("action") != "remove-worker":
            return
        self._followed.discard(worker)
        if msg.get("expected") or worker in self._restarting:
            return  # stopped on purpose: Dask reruns its units as they are
        keys = set(msg.get("processing-tasks", ()))
        with self._lock:
            hit = [f for f in self._running if f.key in keys]
            for future in hit:
                self._died[future.key] = worker
        if hit:  # stop Dask's own rerun: hpsearch reruns them its way
            with suppress(Exception):
                await self.client.cancel(hit, asynchronous=True)

    def _death(self, future: Any, result: Any) -> str | None:
        """The address of the worker whose death took this unit, if one did."""
        from distributed import KilledWorker

        with self._lock:
            died = self._died.pop(future.key, None)
        if died is None and future.status == "error":
            exc = result[1]
            if isinstance(exc, KilledWorker):  # allowed-failures reached first
                last = exc.last_worker
                died = getattr(last, "address", "(unknown)")
                if getattr(last, "pid", None):
                    self._pids.setdefault(died, last.pid)
                    self._nannies.setdefault(died, getattr(last, "nanny", None))
        return died

    def _after_death(self, unit: _Submitted, worker: str) -> list[Any] | None:
        """A unit a worker's death took: its tasks run again, one by one,
        each alone on the cluster; a task that dies alone is the culprit
        (lost). The unit's results once all are in, else None."""
        self._death_seen = True
        if not isinstance(unit.item, Sequence):  # not a unit of tasks: rerun it
            if unit.retried:
                return unit.settle(LostTask(unit.item, self._cause(worker)))
            self._suspects.append(_Submitted(unit.item, None, True))
            return None
        tasks = list(unit.item)
        if unit.retried:  # it ran alone, on a fresh worker: the culprit
            return unit.settle([LostTask(tasks[0], self._cause(worker))])
        group = _Group([None] * len(tasks)) if unit.group is None else unit.group
        if len(tasks) == 1:
            self._suspects.append(_Submitted(tasks, None, True, group, unit.index))
            return None
        for index, task in enumerate(tasks):
            self._suspects.append(_Submitted([task], None, True, group, index))
        return None

    def _cause(self, worker: str) -> str:
        """How ``worker`` died, from its nanny's log of the exit code (the
        nanny outlives the worker; a worker without one says nothing)."""
        pid, nanny = self._pids.get(worker), self._nannies.get(worker)
        if pid is not None and nanny is not None and self.client.status == "running":
            pattern = re.compile(
                rf"Worker process {pid} (?:was killed by signal (\d+)|"
                rf"exited with status (\d+))"
            )
            # The scheduler may learn of the death before the nanny logs it.
            deadline = time.monotonic() + _CAUSE_SECONDS
            while time.monotonic() < deadline:
                with suppress(Exception):
                    for _, line in self.client.sync(_nanny_logs, nanny):
                        found = pattern.search(line)
                        if found and found.group(1):
                            return exit_cause(-int(found.group(1)))
                        if found:
                            return exit_cause(int(found.group(2)))
                time.sleep(0.1)
        return f"Dask worker {worker} died"

    def _wait_until_idle(self) -> None:
        """Wait (a bounded time) until no worker executes anything, not even
        a copy of a unit cancelled after a death that Dask had started again
        meanwhile: a unit that runs again must run alone to be blamed.

        After a death, idle must hold for ``_SETTLE_SECONDS``: Dask's own
        rerun may still be on its way to a worker when the cancel is sent.
        """
        settle = _SETTLE_SECONDS if self._death_seen else 0.0
        self._death_seen = False
        deadline = time.monotonic() + _IDLE_SECONDS
        idle_since: float | None = None
        while time.monotonic() < deadline and self.client.status == "running":
            with suppress(Exception):
                counts = self.client.run(_executing, on_error="return").values()
                if all(c == 0 for c in counts if isinstance(c, int)):
                    now = time.monotonic()
                    idle_since = now if idle_since is None else idle_since
                    if now - idle_since >= settle:
                        return
                else:
                    idle_since = None
            time.sleep(0.1)

    def stop_worker(self, workers: list[Any]) -> None:
        """Stop what runs on ``workers`` by restarting them (their nannies
        start fresh processes): the one way to stop a fit. Dask reruns the
        other units they held."""
        self._restarting.update(workers)
        with suppress(Exception):
            self.client.restart_workers(workers, raise_for_error=False)

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
        """How many items may be submitted at once (and follow new workers)."""
        if self.client.status == "running":  # else asking would wait to reconnect
            self._follow_workers()
        if self.max_jobs is not None:
            return self.max_jobs
        if self.client.status == "running":
            with suppress(OSError):
                self.n_workers = self._cluster_threads()
        return 2 * self.n_workers

    def _fill(
        self, fn: Callable[..., Any], pending: Iterator[Any], done: Any, limit: int
    ) -> None:
        """Submit items until ``limit`` are in flight or none are left.

        While units a worker's death took wait to run again, nothing new is
        submitted, and each of their tasks runs alone once the others are
        done: a death then names its culprit.
        """
        if self._closed or self._stopping:
            return
        if self._suspects:
            if not self._running:
                self._wait_until_idle()
                self._follow_workers()  # the worker it will run on, too
                suspect = self._suspects.popleft()
                self._submit(fn, suspect.item, done, suspect)
            return
        while len(self._running) < limit:
            item = next(pending, _END)
            if item is _END or item is WAIT:
                return
            self._submit(fn, item, done)

    def _submit(
        self,
        fn: Callable[..., Any],
        item: Any,
        done: Any,
        unit: _Submitted | None = None,
    ) -> None:
        # Unique keys: equal items must not be merged into one task.
        key = f"hpsearch-{getattr(fn, '__name__', 'unit')}-{uuid4().hex}"
        future = self.client.submit(fn, self._data, item, key=key, pure=False)
        unit = _Submitted(item, None) if unit is None else unit
        unit.data = self._data
        with self._lock:
            self._running[future] = unit
        done.add(future)
        if self._stopping:  # stop_running copied the futures before this one
            self._cancel([future])

    def _failure(self, future: Any, result: Any, item: Any) -> BaseException:
        """The exception to raise for a unit that did not finish."""
        if future.status == "error":
            _, exc, traceback = result
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
        with self._lock:
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
        with self._lock:
            futures = list(self._running)
        self._cancel(futures)

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


@dataclass
class _Group:
    """A unit a worker's death took, split: its tasks' results as they come."""

    results: list[Any]


@dataclass
class _Submitted:
    """A unit on the cluster: its item, the scattered data it reads, whether
    it already ran again after a death (alone), and the split unit it is
    part of (its place there)."""

    item: Any
    data: Any
    retried: bool = False
    group: _Group | None = None
    index: int = 0

    def settle(self, result: Any) -> Any:
        """The unit's results to yield: this one's, or, for a task of a split
        unit, the whole unit's once its last task is back (else None)."""
        if self.group is None:
            return result
        self.group.results[self.index] = result
        if any(r is None for r in self.group.results):
            return None
        return [r for results in self.group.results for r in results]


# Seconds to wait, before a unit runs again alone, for the cluster to be idle,
# and how long it must stay idle after a death (Dask's rerun in flight).
_IDLE_SECONDS = 30.0
_SETTLE_SECONDS = 1.0
# Seconds to wait for a dead worker's nanny to log its exit code.
_CAUSE_SECONDS = 3.0


def _executing(dask_worker: Any) -> int:
    """On a worker: how many tasks it executes, cancelled ones included."""
    return int(dask_worker.state.executing_count)


async def _nanny_logs(nanny: str) -> Any:
    """The log lines a worker's nanny keeps, asked directly (its worker may
    be restarting)."""
    from distributed.core import rpc

    async with rpc(nanny) as remote:
        return await remote.get_logs()


def _is_stuck(result: Any) -> bool:
    return isinstance(result, TimedOutTask)


def _stuck(result: Any) -> bool:
    """Whether a unit's results hold a task whose fit ran past the limit."""
    return isinstance(result, list) and any(_is_stuck(r) for r in result)
