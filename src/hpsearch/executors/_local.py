"""Executors on this machine: in-process, loky worker processes, threads."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

from joblib import Parallel, delayed, effective_n_jobs

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")


class SerialExecutor:
    """Runs every item in this process, one after the other."""

    n_workers = 1

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
    at once; joblib memory-maps large arrays instead of pickling them to each
    worker.
    """

    def __init__(self, n_jobs: int, pre_dispatch: Any = "2*n_jobs") -> None:
        self.n_workers = effective_n_jobs(n_jobs)
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
        )
        self._results = parallel(delayed(fn)(shared, item) for item in items)
        yield from self._results

    def close(self) -> None:
        """Abort what is still running; loky keeps the idle workers for reuse."""
        if self._results is not None:
            self._results.close()  # joblib aborts the tasks not yet finished
            self._results = None


class ThreadExecutor:
    """Runs items in threads of this process (for estimators that free the GIL)."""

    def __init__(self, n_jobs: int | None) -> None:
        self.n_workers = effective_n_jobs(n_jobs)
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
