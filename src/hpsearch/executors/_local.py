"""Executors on this machine: in-process, loky worker processes, threads."""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import tempfile
import uuid
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

import cloudpickle
import joblib
import numpy as np
from joblib import Parallel, delayed, effective_n_jobs

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")


class SerialExecutor:
    """Runs every item in this process, one after the other."""

    n_workers = 1
    threads_per_unit: int | None = None  # the whole machine is this process's

    def map_unordered(
        self, fn: Callable[[S, T], R], items: Iterable[T], shared: S
    ) -> Iterator[R]:
        """Yield ``fn(shared, item)`` for each item, in order."""
        for item in items:
            yield fn(shared, item)

    def close(self) -> None:
        """Nothing to release."""


class LokyExecutor:
    """Runs items in joblib's loky worker processes.

    loky keeps its workers alive between searches, so a second search starts
    at once. ``shared`` is written once to a file (large arrays memory-mapped,
    as joblib does) that each worker loads once, with the first item it runs:
    items then carry only a token, not the data again.
    """

    def __init__(self, n_jobs: int, pre_dispatch: Any = "2*n_jobs") -> None:
        self.n_workers = effective_n_jobs(n_jobs)
        # Workers x threads = cores: n_jobs=-1 must not oversubscribe.
        self.threads_per_unit = max(1, (os.cpu_count() or 1) // self.n_workers)
        self.pre_dispatch = pre_dispatch
        self._results: Generator[Any, None, None] | None = None

    def map_unordered(
        self, fn: Callable[[S, T], R], items: Iterable[T], shared: S
    ) -> Iterator[R]:
        """Yield ``fn(shared, item)`` for each item as workers finish them."""
        parallel = Parallel(
            n_jobs=self.n_workers,
            pre_dispatch=self.pre_dispatch,
            return_as="generator_unordered",
            backend="loky",
            batch_size=1,  # items are already units of work the size we want
        )
        path = _dump_shared(shared)
        try:
            if path is None:  # not picklable by joblib (a lambda): send it along
                calls = (delayed(fn)(shared, item) for item in items)
            else:
                token = f"{os.getpid()}-{uuid.uuid4().hex}"
                calls = (
                    delayed(_call_with_shared)(fn, token, path, item) for item in items
                )
            self._results = parallel(calls)
            yield from self._results
        finally:
            if path is not None:
                _remove(path)

    def close(self) -> None:
        """Abort what is still running; loky keeps the idle workers for reuse."""
        if self._results is not None:
            self._results.close()  # joblib aborts the tasks not yet finished
            self._results = None


# In a worker process: the shared object of the current search, by token. Only
# the latest is kept, so an idle worker holds one search's data at most.
_WORKER_SHARED: dict[str, Any] = {}


def _call_with_shared(fn: Callable[[S, T], R], token: str, path: str, item: T) -> R:
    """Run ``fn(shared, item)`` in a worker, loading ``shared`` once per search."""
    shared = _WORKER_SHARED.get(token)
    if shared is None:
        _WORKER_SHARED.clear()
        # Memory-map only large data, as joblib does (max_nbytes=1M): small
        # arrays stay writable, for estimators that write into their input.
        if path.endswith(_BY_VALUE):
            with open(path, "rb") as file:
                shared = _WORKER_SHARED[token] = pickle.load(file)
        else:
            mmap = "r" if os.path.getsize(path) > 1_000_000 else None
            shared = _WORKER_SHARED[token] = joblib.load(path, mmap_mode=mmap)
    return fn(shared, item)


def _dump_shared(shared: Any) -> str | None:
    """Write ``shared`` to a temporary file (RAM-backed where there is one).

    joblib's pickler memory-maps large arrays but pickles classes and functions
    by reference, which a worker cannot resolve for those defined in a script's
    or notebook's ``__main__``; such a ``shared`` is written by cloudpickle
    instead (by value, as loky sends its calls), at the cost of memory-mapping.
    """
    folder = "/dev/shm" if os.path.isdir("/dev/shm") else None
    by_value = _mentions_main(shared)
    fd, path = tempfile.mkstemp(
        prefix="hpsearch-", suffix=_BY_VALUE if by_value else ".pkl", dir=folder
    )
    os.close(fd)
    try:
        if by_value:
            with open(path, "wb") as file:
                cloudpickle.dump(shared, file)
        else:
            joblib.dump(shared, path)
    except (pickle.PicklingError, AttributeError, TypeError):
        _remove(path)
        return None
    return path


_BY_VALUE = ".cloudpickle"


def _mentions_main(obj: Any) -> bool:
    """Whether pickling ``obj`` refers to ``__main__`` (arrays are skipped)."""

    class _Probe(pickle.Pickler):
        def persistent_id(self, o: Any) -> Any:
            # Array data cannot name a module: leave it out, keep the probe cheap.
            return id(o) if isinstance(o, np.ndarray) else None

    buffer = io.BytesIO()
    try:
        _Probe(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    except Exception:
        return False  # joblib.dump then decides, or the fallback sends it along
    return b"__main__" in buffer.getvalue()


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


class ThreadExecutor:
    """Runs items in threads of this process (for estimators that free the GIL)."""

    def __init__(self, n_jobs: int | None) -> None:
        self.n_workers = effective_n_jobs(n_jobs)
        # Thread limits are process-wide: threads cannot each have their own.
        self.threads_per_unit: int | None = None
        self._pool = ThreadPoolExecutor(max_workers=self.n_workers)

    def map_unordered(
        self, fn: Callable[[S, T], R], items: Iterable[T], shared: S
    ) -> Iterator[R]:
        """Yield ``fn(shared, item)``, keeping at most 2 x n_workers submitted."""
        pending: set[Future[R]] = set()
        for item in items:
            pending.add(self._pool.submit(fn, shared, item))
            if len(pending) >= 2 * self.n_workers:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()

    def close(self) -> None:
        """Stop the threads once their current items are done."""
        self._pool.shutdown(wait=False, cancel_futures=True)
