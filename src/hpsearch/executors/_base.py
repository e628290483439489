"""The executor interface, and the WAIT item of lazily proposed work."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")


class _Wait:
    def __repr__(self) -> str:
        return "WAIT"


# An item that says "no work for now": the executor stops taking items until
# one of the units it runs finishes, then asks again. Only given while units
# run (the search loop's promise), so waiting always ends.
WAIT: Any = _Wait()


@dataclass(frozen=True)
class LostTask:
    """A task whose fit killed its worker, alone, twice: ``cause`` says how.

    An executor that runs units in processes it can replace yields it in a
    unit's results (a unit being a sequence of tasks whose results are a
    list) in place of the task's result; the search records it as a failed
    fit (``error_score``), or raises with ``error_score='raise'``.
    """

    task: Any
    cause: str


def exit_cause(code: int) -> str:
    """A worker's exit code in words: ``worker killed by SIGSEGV``, ``... by
    SIGKILL (out of memory?)``, ``worker exited with code 3`` (negative: the
    signal that ended it)."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = " (out of memory?)" if -code == signal.SIGKILL else ""
        return f"worker killed by {name}{hint}"
    return f"worker exited with code {code}"


class Executor(Protocol):
    """Runs ``fn(shared, item)`` on each item, yielding results as they finish.

    ``shared`` is what every item needs (the data, the splits, the scorer): an
    executor sends it to each worker once, not with every item (loky memory-maps
    its arrays, Dask scatters it).

    Contract: items are taken lazily, as workers free up; an item that is
    :data:`WAIT` means "none for now": take no more until a result has been
    yielded, then ask again. Results may come in any order; an exception
    raised by ``fn`` propagates from the iterator; ``close`` releases
    workers and may be called at any time, also while an iterator is still
    open (on Ctrl-C).
    ``n_workers`` is how many items may run at once. ``threads_per_unit`` is
    how many BLAS/OpenMP/PyTorch threads one item may use where it runs (None:
    leave the worker's own setting, as in this process or on a Dask worker,
    whose nanny already starts it with one thread per library). ``lanes``
    says where units ran, for the search's ``workers_``.
    """

    n_workers: int
    threads_per_unit: int | None

    @property
    def lanes(self) -> dict[str, int]:
        """Where units run and how many at once: ``{"threads": 2}``, ..."""
        ...

    def map_unordered(
        self, fn: Callable[[S, T], R], items: Iterable[T], shared: S
    ) -> Iterator[R]:
        """Yield ``fn(shared, item)`` for every item, in order of completion."""
        ...

    def stop_running(self) -> None:
        """Stop the units in flight now; the open ``map_unordered`` ends.

        Thread-safe: called from a timer thread (``timeout_running="cancel"``)
        while the caller waits in ``map_unordered``, whose iterator then
        stops without the results of the units in flight (and yields nothing
        more). What can be stopped is (loky's worker processes are
        terminated, Dask's futures cancelled); a unit running in a thread
        finishes unseen, its result dropped.
        """
        ...

    def close(self) -> None:
        """Release the workers."""
        ...
