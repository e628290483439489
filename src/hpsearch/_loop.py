"""The one search loop that every search class, resume and the CLI share.

    ask the strategy for work (at the start, and whenever a worker is free)
    proposals -> tasks (candidate, resource, split), minus stored results
    tasks -> units (planner) -> executor, results recorded as they arrive
    until nothing runs and the strategy proposes nothing (or, past the
    deadline of a time budget, until what runs has finished)

With a study shared by several processes, each unit's tasks are claimed
first (``recorder.claim``): the loop runs the tasks it holds, takes the
results others stored, and at the end waits for the tasks others hold
(``recorder.elsewhere``), taking over those whose holder stopped.

*What* to evaluate is the strategy's business, *where* it runs the executor's,
*what was already done* the recorder's (a storage session, or nothing). The
loop owns the run: it opens nothing, but it closes the executor, the progress
display and the recorder however the run ends, and runs inside the
recorder's interruption handling.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from hpsearch._errors import FitTimeoutError, WorkerCrashError
from hpsearch._evaluate import EvalContext, failed_result
from hpsearch._planning import Planner, Unit
from hpsearch._records import (
    Assignment,
    FoldResult,
    Proposal,
    Resource,
    Task,
    TaskKey,
    TimedOutTask,
    Warm,
    work_tasks,
)
from hpsearch._worker import evaluate_unit
from hpsearch.executors import WAIT, Executor, LostTask
from hpsearch.strategies import History, Strategy, Trial


class Recorder(Protocol):
    """Where fold results are kept as they arrive (a storage's study).

    Contract: ``record`` may commit in the background, in order. While the
    storage answers it holds at most one batch uncommitted, so a killed search
    loses at most the units in flight and the batch being committed; while the
    storage is away (within ``storage_retry``) results wait in memory and the
    fits go on, and past that bound ``record`` raises. ``close`` waits for the
    writes and marks the run finished, failed or interrupted. ``random_state``
    is the seed the study keeps for a search whose ``random_state`` is None
    (None: use the search's own).
    """

    random_state: int | None

    def known(self) -> Mapping[TaskKey, FoldResult]:
        """The results recorded before this search started."""
        ...

    def start(self, proposals: Sequence[Proposal]) -> None:
        """Proposals about to be evaluated: keep their candidates and order."""
        ...

    def record(self, results: Sequence[FoldResult]) -> None:
        """Keep these results durably."""
        ...

    def claim(self, tasks: Sequence[Task]) -> Assignment:
        """Take the tasks no other live process holds; the results others
        stored for the rest (a study shared by several processes)."""
        ...

    def elsewhere(self, wait: bool) -> Assignment | None:
        """Claim again the tasks other processes held (their results, or the
        tasks whose holder stopped); None when none are held elsewhere. With
        ``wait``, first wait a moment: nothing else is left to do."""
        ...

    def interruptible(self) -> contextlib.AbstractContextManager[None]:
        """A context in which SIGINT/SIGTERM stop the run cleanly."""
        ...

    def close(self) -> None:
        """Wait for the last commit; say how the run ended."""
        ...


class MemoryRecorder:
    """Keeps nothing beyond this search: scikit-learn's behaviour."""

    random_state: int | None = None

    def known(self) -> Mapping[TaskKey, FoldResult]:
        """Nothing is known in advance."""
        return {}

    def start(self, proposals: Sequence[Proposal]) -> None:
        """Nothing to keep."""

    def record(self, results: Sequence[FoldResult]) -> None:
        """Nothing to keep: the search holds its own results."""

    def claim(self, tasks: Sequence[Task]) -> Assignment:
        """Every task is this search's."""
        return Assignment(tuple(tasks))

    def elsewhere(self, wait: bool) -> Assignment | None:
        """No other process shares the work."""
        return None

    def interruptible(self) -> contextlib.AbstractContextManager[None]:
        """Ctrl-C raises KeyboardInterrupt as usual."""
        return contextlib.nullcontext()

    def close(self) -> None:
        """Nothing to close."""


class Display(Protocol):
    """What shows the run: verbose lines, a progress bar (``_progress``)."""

    def start(self, proposals: Sequence[Proposal], n_splits: int) -> None:
        """Proposals start."""
        ...

    def update(self, result: FoldResult) -> None:
        """A fold result arrived (or was found stored)."""
        ...

    def close(self) -> None:
        """The run ended."""
        ...


class _NoDisplay:
    def start(self, proposals: Sequence[Proposal], n_splits: int) -> None:
        pass

    def update(self, result: FoldResult) -> None:
        pass

    def close(self) -> None:
        pass


Planning = Callable[[Sequence[Task], int], Iterable[Sequence[Task]]]
# The (candidate key, resource) pairs whose fitted estimators a later, larger
# resource may continue, given the history (a strategy's ``promotable``).
Promotable = Callable[[History], Collection[tuple[str, Resource]]]


@dataclass
class _Open:
    """A (candidate, resource) being evaluated: its proposals, splits to come."""

    proposals: list[Proposal]
    missing: set[int]


class _Units(Iterator[Any]):
    """The run's units as the executor takes them (``SearchRun._units``).

    ``remaining_tasks`` is how many tasks the current plan has not given out
    yet (None: the planner does not say; 0 past the deadline), which an
    executor weighs before starting worker processes (``LocalExecutor``'s
    auto mode).
    """

    def __init__(self, run: SearchRun) -> None:
        self._run = run
        self._units = run._units()

    def __next__(self) -> Any:
        return next(self._units)

    @property
    def remaining_tasks(self) -> int | None:
        if self._run.timed_out:
            return 0
        return getattr(self._run._plan, "remaining_tasks", None)


@dataclass
class SearchRun:
    """One run of the loop; ``trials`` holds the complete proposals, in order.

    ``on_result`` is called for every result, stored ones included.
    """

    strategy: Strategy
    ctx: EvalContext
    executor: Executor
    recorder: Recorder = field(default_factory=MemoryRecorder)
    display: Display = field(default_factory=_NoDisplay)
    on_result: Callable[[FoldResult], None] | None = None
    # Called with each batch of proposals as it starts (the callbacks count
    # the candidates a batch lists).
    on_start: Callable[[Sequence[Proposal]], None] | None = None
    # Groups tasks into units of work; None: hpsearch._planning.Planner, which
    # shares pipeline prefixes, batches small tasks and learns task times.
    planner: Planning | None = None
    # A time.monotonic() after which no new work starts; None: no time budget.
    deadline: float | None = None
    # What the deadline does to running work: "finish" waits for it,
    # "cancel" stops it (executor.stop_running) and ends the run at once.
    timeout_running: str = "finish"
    # With continue_training: which fitted estimators may still continue
    # (the others are dropped); None keeps none. Workers send estimators
    # back only when ctx.continuation is set.
    promotable: Promotable | None = None
    trials: list[Trial] = field(default_factory=list)
    # Set by the run: the deadline stopped it, how many proposals it left
    # incomplete (out of cv_results_; their stored folds are kept) and how
    # many running fits "cancel" stopped.
    timed_out: bool = False
    n_incomplete: int = 0
    n_cancelled: int = 0

    def __post_init__(self) -> None:
        if self.planner is None and self.ctx.fit_timeout is not None:
            # A limit per fit: one task per unit, so that a unit's time is
            # its task's and a stopped worker takes no other task with it.
            self.planner = _one_per_unit
        elif self.planner is None:
            self.planner = Planner(self.ctx)
        self._known: dict[TaskKey, FoldResult] = {}
        self._open: dict[tuple[str, Resource], _Open] = {}
        # A task in flight -> the works (candidate key, resource) it completes.
        self._waiting: dict[TaskKey, list[tuple[str, Resource]]] = {}
        self._started: list[Proposal] = []
        self._completed: list[Trial] = []  # in completion order: the history
        self._tasks_out = 0  # handed to the executor, not back yet
        self._units_out = 0
        self._cancelled = threading.Event()  # the deadline stopped running work
        # (candidate key, split) -> a fitted estimator a promotion continues.
        self._kept: dict[tuple[str, int], Warm] = {}
        self._may_continue: set[tuple[str, Resource]] = set()
        self._plan: Iterator[Sequence[Task]] = iter(())  # the current plan's units

    def run(self) -> list[Trial]:
        """Run until nothing runs and the strategy proposes nothing.

        The executor, the display and the recorder are closed however the run
        ends (Ctrl-C included); the complete trials are then in ``trials``.
        """
        try:
            with self.recorder.interruptible():
                self._run()
        finally:
            try:
                self.executor.close()
                self.display.close()
            finally:
                self.recorder.close()
                self.trials = self._ordered_trials()
                self.n_incomplete = len(self._started) - len(self.trials)
        return self.trials

    def _run(self) -> None:
        self._known = dict(self.recorder.known())
        observe = getattr(self.planner, "observe", None)
        if observe is not None:
            for result in self._known.values():
                observe(result)  # stored times: longest first
        timer = self._cancel_timer()
        try:
            for results in self.executor.map_unordered(
                evaluate_unit, _Units(self), self.ctx
            ):
                self._receive(results)
        except BaseException:
            self.executor.close()  # stop the work in flight: Ctrl-C, a raise
            raise
        finally:
            if timer is not None:
                timer.cancel()
        if self._cancelled.is_set():
            self.timed_out = True
            self.n_cancelled = self._tasks_out  # handed out, never back

    def _cancel_timer(self) -> threading.Timer | None:
        """With ``timeout_running="cancel"``: a timer that stops the running
        work at the deadline (the executor wakes from its wait)."""
        if self.deadline is None or self.timeout_running != "cancel":
            return None

        def cancel() -> None:
            self._cancelled.set()
            self.executor.stop_running()

        timer = threading.Timer(max(0.0, self.deadline - time.monotonic()), cancel)
        timer.daemon = True
        timer.start()
        return timer

    def _units(self) -> Iterator[Any]:
        """Units of work as the executor asks for them; WAIT: none for now."""
        while True:
            if self.deadline is not None and time.monotonic() >= self.deadline:
                self.timed_out = True  # no new work; what runs finishes
                if self._tasks_out:
                    yield WAIT
                    continue
                return
            unit = next(self._plan, None)
            if unit is not None:
                unit = self._claim(unit)
                if not unit:
                    continue
                self._tasks_out += len(unit)
                self._units_out += 1
                yield unit
                continue
            idle = self.executor.n_workers - self._units_out
            history = History(
                trials=tuple(self._completed),
                running=tuple(p for o in self._open.values() for p in o.proposals),
                idle=max(0 if self._units_out else 1, idle),
            )
            proposals = list(self.strategy.propose(history))
            if proposals:
                self._plan = iter(self._start(proposals))
                continue
            # Tasks other processes hold: their results, or the tasks of one
            # that stopped (waited for once nothing of ours runs).
            others = self.recorder.elsewhere(wait=not self._tasks_out)
            if others is not None:
                self._accept(others.done)
                if others.mine:
                    self._plan = iter(self._planned_units(others.mine))
                    continue
            if self._tasks_out:
                yield WAIT  # results to come will tell the strategy more
            elif others is None:
                return

    def _start(self, proposals: Sequence[Proposal]) -> Iterable[Sequence[Task]]:
        """Open the proposals; the tasks not known yet, planned into units."""
        n_splits = len(self.ctx.splits)
        self.recorder.start(proposals)
        self.display.start(proposals, n_splits)
        if self.on_start is not None:
            self.on_start(proposals)
        tasks: list[Task] = []
        opened: list[tuple[str, Resource]] = []
        for proposal in proposals:
            self._started.append(proposal)
            entry = self._open.get(proposal.key)
            if entry is not None:  # the same work already runs: wait for it
                entry.proposals.append(proposal)
                continue
            missing = set()
            for task_key in self._task_keys(proposal.key):
                _, resource, split = task_key
                found = self._known.get(task_key)
                if found is not None:
                    self._tell(found)
                    continue
                missing.add(split)
                waiting = self._waiting.setdefault(task_key, [])
                if not waiting:  # else it runs for another work: wait for it
                    indices = (
                        None if proposal.splits is None else proposal.splits[split]
                    )
                    warm = self._warm(proposal.candidate.key, split, resource)
                    tasks.append(
                        Task(proposal.candidate, split, resource, indices, warm)
                    )
                waiting.append(proposal.key)
            self._open[proposal.key] = _Open([proposal], missing)
            opened.append(proposal.key)
        for work in opened:
            if not self._open[work].missing:
                self._complete(work)
        self._drop_kept()
        if not tasks:
            return []
        return self._planned_units(tasks)

    def _planned_units(self, tasks: Sequence[Task]) -> Iterable[Sequence[Task]]:
        assert self.planner is not None
        return self.planner(tasks, self.executor.n_workers)

    def _claim(self, unit: Sequence[Task]) -> Sequence[Task]:
        """The unit's tasks this process holds; results stored by others taken."""
        assigned = self.recorder.claim(unit)
        self._accept(assigned.done)
        if len(assigned.mine) == len(unit):
            return unit
        mine = {t.key for t in assigned.mine}
        kept = [i for i, task in enumerate(unit) if task.key in mine]
        if isinstance(unit, Unit):
            return Unit(
                tuple(unit.tasks[i] for i in kept), tuple(unit.chains[i] for i in kept)
            )
        return [unit[i] for i in kept]

    def _task_keys(self, work: tuple[str, Resource]) -> list[TaskKey]:
        """What (candidate key, resource) is evaluated on (``work_tasks``)."""
        return work_tasks(*work, len(self.ctx.splits), self.ctx.resource)

    def _receive(
        self, received: Sequence[FoldResult | LostTask | TimedOutTask]
    ) -> None:
        results: list[FoldResult] = [
            self._lost(r)
            if isinstance(r, LostTask)
            else self._timed_out(r)
            if isinstance(r, TimedOutTask)
            else self._keep(r)
            for r in received
        ]
        self.recorder.record(results)
        self._units_out -= 1
        self._tasks_out -= len(results)
        self._accept(results)

    def _accept(self, results: Sequence[FoldResult]) -> None:
        """Results of this process's units, or stored by another process."""
        observe = getattr(self.planner, "observe", None)
        n_completed = len(self._completed)
        for result in results:
            if result.key in self._known:
                continue  # a task of another process, already taken
            self._known[result.key] = result
            if observe is not None:
                observe(result)  # sizes the batches still to come
            self._tell(result)
            for work in self._waiting.pop(result.key, ()):
                entry = self._open.get(work)
                if entry is not None:
                    entry.missing.discard(result.split)
                    if not entry.missing:
                        self._complete(work)
        if len(self._completed) > n_completed:  # ranks may have changed
            self._drop_kept()

    # -- continue_training: fitted estimators a promotion goes on from ----

    def _keep(self, result: FoldResult) -> FoldResult:
        """Keep a result's fitted estimator if a promotion may continue it;
        the result without it (never recorded with an estimator)."""
        if result.fitted is None:
            return result
        if (result.candidate_key, result.resource) in self._may_continue:
            assert result.resource is not None
            self._kept[result.candidate_key, result.split] = Warm(
                result.resource, result.fitted
            )
        return replace(result, fitted=None)

    def _warm(self, key: str, split: int, resource: Resource) -> Warm | None:
        """The kept estimator a task at ``resource`` continues, taken out."""
        warm = self._kept.pop((key, split), None)
        if warm is None or resource is None or warm.resource >= resource:
            return None
        return warm

    def _drop_kept(self) -> None:
        """Forget the estimators of candidates that can no longer be promoted."""
        if self.promotable is None:
            return
        now = History(
            trials=tuple(self._completed),
            running=tuple(p for o in self._open.values() for p in o.proposals),
        )
        self._may_continue = set(self.promotable(now))
        for key, warm in list(self._kept.items()):
            if (key[0], warm.resource) not in self._may_continue:
                del self._kept[key]

    def _lost(self, lost: LostTask) -> FoldResult:
        """A task that killed its worker twice: a failed fit, or the error."""
        task = lost.task
        if self.ctx.error_score == "raise":
            raise WorkerCrashError(
                f"the fit of {dict(task.candidate.params)!r} on split {task.split} "
                f"must not kill its worker; got: {lost.cause}, twice (the second "
                "time alone in a fresh worker). Fix the estimator, or pass "
                "error_score=np.nan to record such fits as failed and go on."
            )
        return failed_result(self.ctx, task, lost.cause, 0.0, time.time())

    def _timed_out(self, stopped: TimedOutTask) -> FoldResult:
        """A task past ``fit_timeout`` (its worker replaced): a failed fit, or
        the error."""
        task, seconds = stopped.task, f"{stopped.seconds:g} s"
        if self.ctx.error_score == "raise":
            raise FitTimeoutError(
                f"the fit of {dict(task.candidate.params)!r} on split {task.split} "
                f"must finish within fit_timeout={stopped.seconds:g}; got it still "
                f"running after {seconds} (stopped, its worker replaced). Raise "
                "fit_timeout, or pass error_score=np.nan to record such fits as "
                "failed and go on."
            )
        cause = f"timed out after {seconds} (fit_timeout): stopped, worker replaced"
        started = time.time() - stopped.seconds
        return failed_result(self.ctx, task, cause, stopped.seconds, started)

    def _tell(self, result: FoldResult) -> None:
        self.display.update(result)
        if self.on_result is not None:
            self.on_result(result)

    def _complete(self, work: tuple[str, Resource]) -> None:
        entry = self._open.pop(work)
        for proposal in entry.proposals:
            self._completed.append(self._trial(proposal))

    def _trial(self, proposal: Proposal) -> Trial:
        folds = tuple(self._known[k] for k in self._task_keys(proposal.key))
        return Trial(proposal.candidate, folds, proposal.round, proposal.resource)

    def _ordered_trials(self) -> list[Trial]:
        """The complete proposals in the order they were started."""
        return [
            self._trial(p)
            for p in self._started
            if all(k in self._known for k in self._task_keys(p.key))
        ]


def _one_per_unit(tasks: Sequence[Task], n_workers: int) -> Iterable[Sequence[Task]]:
    """Each task a unit of its own (searches with ``fit_timeout``)."""
    return [[task] for task in tasks]
