"""The one search loop that every search class, resume and the CLI share.

    while batch := strategy.propose(history):
        evaluate batch x splits (stored results are reused, duplicates run once)
        history += trials

*What* to evaluate is the strategy's business, *where* it runs the executor's,
*what was already done* the recorder's (a storage session, or nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from hpsearch._evaluate import EvalContext, evaluate_unit
from hpsearch._planning import Planner
from hpsearch._records import Candidate, FoldResult, Task
from hpsearch.executors import Executor
from hpsearch.strategies import Strategy, Trial

TaskKey = tuple[str, int]


class Recorder(Protocol):
    """Where fold results are kept as they arrive (a storage's study).

    Contract: ``record`` may commit in the background, but never holds more
    than one batch uncommitted: when it returns, every earlier batch is
    committed. A killed search thus loses at most the units in flight and the
    batch being committed; ``close`` (when present) waits for that batch.
    """

    def known(self) -> Mapping[TaskKey, FoldResult]:
        """The results recorded before this search started."""
        ...

    def record(self, results: Sequence[FoldResult]) -> None:
        """Keep these results durably."""
        ...


class MemoryRecorder:
    """Keeps nothing beyond this search: scikit-learn's behaviour."""

    def known(self) -> Mapping[TaskKey, FoldResult]:
        """Nothing is known in advance."""
        return {}

    def record(self, results: Sequence[FoldResult]) -> None:
        """Nothing to keep: the search holds its own results."""


@dataclass
class SearchRun:
    """One run of the loop; ``trials`` grows round by round."""

    strategy: Strategy
    ctx: EvalContext
    executor: Executor
    recorder: Recorder = field(default_factory=MemoryRecorder)
    on_round: Callable[[Sequence[Candidate], int], None] | None = None
    on_result: Callable[[FoldResult], None] | None = None
    # Groups tasks into units of work; None: hpsearch._planning.Planner, which
    # shares pipeline prefixes, batches small tasks and learns task times.
    planner: Callable[[Sequence[Task], int], Iterable[Sequence[Task]]] | None = None
    trials: list[Trial] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.planner is None:
            self.planner = Planner(self.ctx)

    def run(self) -> list[Trial]:
        """Evaluate round after round until the strategy proposes nothing."""
        known = dict(self.recorder.known())
        n_round = 0
        while batch := list(self.strategy.propose(self.trials)):
            results = self._evaluate(batch, known)
            n_splits = len(self.ctx.splits)
            self.trials.extend(
                Trial(c, tuple(results[c.key, s] for s in range(n_splits)), n_round)
                for c in batch
            )
            n_round += 1
        return self.trials

    def _evaluate(
        self, batch: Sequence[Candidate], known: dict[TaskKey, FoldResult]
    ) -> dict[TaskKey, FoldResult]:
        n_splits = len(self.ctx.splits)
        if self.on_round is not None:
            self.on_round(batch, n_splits)
        unique = {c.key: c for c in batch}  # duplicates are evaluated once
        tasks = [
            Task(candidate, split)
            for candidate in unique.values()
            for split in range(n_splits)
            if (candidate.key, split) not in known
        ]
        for key, split in [
            (c.key, s) for c in unique.values() for s in range(n_splits)
        ]:
            if (key, split) in known and self.on_result is not None:
                self.on_result(known[key, split])
        observe = getattr(self.planner, "observe", None)
        if observe is not None:
            for result in known.values():
                observe(result)  # stored and earlier rounds' times: longest first
        assert self.planner is not None
        units = self.planner(tasks, self.executor.n_workers)
        try:
            for results in self.executor.map_unordered(evaluate_unit, units, self.ctx):
                self.recorder.record(results)
                for result in results:
                    known[result.candidate_key, result.split] = result
                    if observe is not None:
                        observe(result)  # sizes the batches still to come
                    if self.on_result is not None:
                        self.on_result(result)
        except BaseException:
            self.executor.close()  # stop the work in flight: Ctrl-C, a raise
            raise
        return known
