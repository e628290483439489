"""What runs in a worker: a unit of tasks, with the caller's settings.

:func:`evaluate_unit` applies the caller's scikit-learn configuration,
warning filters and thread limits, then evaluates the unit's tasks, sharing
fitted pipeline prefixes (:mod:`hpsearch._prefix`) where the planner found
some, else one :func:`~hpsearch._evaluate.fit_and_score` per task.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import queue
import sys
import threading
import warnings
from collections.abc import Sequence
from contextlib import ExitStack
from typing import Any

import cloudpickle
from sklearn import config_context
from threadpoolctl import threadpool_limits

from hpsearch._evaluate import EvalContext, fit_and_score
from hpsearch._prefix import evaluate_prefixed
from hpsearch._records import FoldResult, Task, TimedOutTask


def evaluate_unit(
    ctx: EvalContext, tasks: Sequence[Task]
) -> list[FoldResult | TimedOutTask]:
    """Run a unit of tasks with the caller's settings and threads limited.

    With ``ctx.fit_timeout`` each task runs under that limit
    (:func:`evaluate_within_limit`).
    """
    if ctx.fit_timeout is not None:
        return evaluate_within_limit(ctx, tasks, ctx.fit_timeout)
    return list(_evaluate(ctx, tasks))


def evaluate_within_limit(
    ctx: EvalContext, tasks: Sequence[Task], limit: float
) -> list[FoldResult | TimedOutTask]:
    """Each task in a thread of its own, waited for ``limit`` seconds.

    A task still running then is a :class:`TimedOutTask` naming this worker:
    a thread cannot be stopped, so its fit goes on until the executor
    replaces the worker (the unit's later tasks run in a new thread meanwhile).
    """
    results: list[FoldResult | TimedOutTask] = []
    for task in tasks:
        done: queue.SimpleQueue[tuple[bool, Any]] = queue.SimpleQueue()
        fit = threading.Thread(
            target=_evaluate_into,
            args=(done, ctx, task),
            daemon=True,
            name="hpsearch-fit",
        )
        fit.start()
        try:
            ok, outcome = done.get(timeout=limit)
        except queue.Empty:
            results.append(TimedOutTask(task, float(limit), worker_id()))
            continue
        if not ok:
            raise outcome  # error_score='raise': the fit's own error
        results.extend(outcome)
    return results


def _evaluate_into(
    done: queue.SimpleQueue[tuple[bool, Any]], ctx: EvalContext, task: Task
) -> None:
    try:
        done.put((True, _evaluate(ctx, [task])))
    except BaseException as exc:  # handed to the waiting thread
        done.put((False, exc))


def worker_id() -> Any:
    """Where this runs: a Dask worker's address, else this process's id."""
    distributed = sys.modules.get("distributed")
    if distributed is not None:
        try:
            return distributed.get_worker().address
        except ValueError:  # not in a Dask worker
            pass
    return os.getpid()


def _evaluate(ctx: EvalContext, tasks: Sequence[Task]) -> list[FoldResult]:
    with ExitStack() as stack:
        stack.enter_context(config_context(**ctx.config))  # per thread
        # In a thread of the caller the filters are already the caller's, and
        # are global: only a worker process sets them (catch_warnings is not
        # safe to use from several threads at once).
        if warnings.filters != ctx.warning_filters:
            stack.enter_context(warnings.catch_warnings())
            warnings.filters[:] = ctx.warning_filters  # type: ignore[index]
        if ctx.threads is not None:
            if threading.current_thread() is threading.main_thread():
                stack.enter_context(threadpool_limits(limits=ctx.threads))
                stack.enter_context(torch_threads(ctx.threads))
            else:
                # A thread of the caller: BLAS and PyTorch limits are for the
                # whole process, set by the executor; OpenMP's are per thread.
                stack.enter_context(
                    threadpool_limits(limits=ctx.threads, user_api="openmp")
                )
        chains = getattr(tasks, "chains", None)  # a planned unit: see _planning
        # Continuing fits need each task's whole fitted estimator: no prefix.
        if chains is not None and any(chains) and ctx.continuation is None:
            return evaluate_prefixed(ctx, tasks, chains)
        results = [fit_and_score(ctx, task) for task in tasks]
        if ctx.continuation is not None and multiprocessing.parent_process():
            # A worker process (loky, Dask): the results go back pickled.
            results = [sendable(result) for result in results]
        return results


def sendable(result: FoldResult) -> FoldResult:
    """The result, without its fitted estimator if that cannot be pickled.

    A worker process sends results back pickled. skorch pickles a net's
    module by class name, which a worker cannot do for a class it received by
    value (one defined in the caller's ``__main__``): such a candidate's
    promotions then fit from scratch instead of failing the search.
    """
    if result.fitted is None:
        return result
    try:
        cloudpickle.dumps(result.fitted)
    except Exception:
        return dataclasses.replace(result, fitted=None)
    return result


class torch_threads:  # noqa: N801 - used as a context manager
    """Limit PyTorch's intra-op threads, if PyTorch is loaded, for a while."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.before: int | None = None

    def __enter__(self) -> None:
        torch = sys.modules.get("torch")
        if torch is not None:
            self.before = torch.get_num_threads()
            torch.set_num_threads(self.n)

    def __exit__(self, *exc: object) -> None:
        torch = sys.modules.get("torch")
        if torch is not None and self.before is not None:
            torch.set_num_threads(self.before)
