"""The executor interface, and the choice of one from a search's arguments."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol, TypeVar

from hpsearch._errors import BackendError

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol):
    """Runs ``fn(shared, item)`` on each item, yielding results as they finish.

    ``shared`` is what every item needs (the data, the splits, the scorer): an
    executor sends it to each worker once, not with every item (loky memory-maps
    its arrays, Dask scatters it).

    Contract: results may come in any order; an exception raised by ``fn``
    propagates from the iterator; ``close`` releases workers and may be called
    at any time, also while an iterator is still open (on Ctrl-C).
    ``n_workers`` is how many items may run at once. ``threads_per_unit`` is
    how many BLAS/OpenMP/PyTorch threads one item may use where it runs (None:
    leave the worker's own setting, as in this process or on a Dask worker,
    whose nanny already starts it with one thread per library).
    """

    n_workers: int
    threads_per_unit: int | None

    def map_unordered(
        self, fn: Callable[[S, T], R], items: Iterable[T], shared: S
    ) -> Iterator[R]:
        """Yield ``fn(shared, item)`` for every item, in order of completion."""
        ...

    def close(self) -> None:
        """Release the workers."""
        ...


def make_executor(backend: Any, n_jobs: int | None, pre_dispatch: Any) -> Executor:
    """The executor for ``backend`` ("loky", "threading", ...) and ``n_jobs``.

    ``backend=None`` follows scikit-learn: ``n_jobs`` None or 1 runs in this
    process, other values in loky worker processes (-1: all cores). "dask", a
    scheduler address or a ``distributed.Client`` run on a Dask cluster, where
    ``n_jobs`` None or -1 means all of the cluster's worker threads.
    """
    from hpsearch.executors._local import LokyExecutor, SerialExecutor, ThreadExecutor

    if backend is None or backend == "loky":
        if n_jobs in (None, 1):
            return SerialExecutor()
        return LokyExecutor(n_jobs, pre_dispatch)
    if backend == "threading":
        return ThreadExecutor(n_jobs)
    if backend == "serial":
        return SerialExecutor()
    from hpsearch.executors._dask import is_dask_backend, make_dask_executor

    if not is_dask_backend(backend):
        raise BackendError(
            "backend must be None, 'loky', 'threading', 'serial', 'dask' (the "
            "active distributed.Client), a Dask scheduler address such as "
            f"'tcp://127.0.0.1:8786', or a distributed.Client; got {backend!r}. "
            "Pick one of these forms."
        )
    return make_dask_executor(backend, n_jobs)
