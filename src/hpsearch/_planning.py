"""Planning: tasks become units of work, so that each piece of work runs once
and every worker stays busy.

* Tasks whose pipelines share a fitted prefix on the same split go into one
  unit, ordered so that candidates sharing a prefix come one after the other
  (depth first): the worker fits each prefix once and keeps only the prefixes of
  the candidate at hand (:mod:`hpsearch._prefix`).
* Other tasks are batched by the times observed so far (about 0.1 s of work a
  batch, smaller towards the end: guided self-scheduling), so that many cheap
  tasks cost few round trips to the workers while the last batches still even
  out the workers' finishing times.
* Units run longest first: the time of a task is estimated from the times its
  candidate took on other splits (earlier rounds, a stored study), else from
  its size.
* Units too large to keep every worker busy to the end are split in two where
  the fewest prefixes are shared (each half fits those again, a small price
  against an idle core).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

from sklearn.metrics._scorer import _BaseScorer, _MultimetricScorer, _PassthroughScorer
from sklearn.pipeline import Pipeline

from hpsearch._evaluate import EvalContext
from hpsearch._prefix import flatten, prefix_keys, unfitted
from hpsearch._records import FoldResult, Task, TaskKey

# With several workers, a unit holds at most a 1 / (UNITS_PER_WORKER x
# n_workers) share of the tasks: fewer, larger units leave a core idle at the
# end (5 splits on 2 workers: 3 against 2). Each split refits the prefixes its
# halves share, so units are cut where the fewest are shared.
UNITS_PER_WORKER = 4
# Tasks in a batch of unrelated tasks, at most: a unit's results arrive (and
# are stored) together, so progress and "no lost work" want units small.
MAX_BATCH = 64
# Seconds of work a batch aims at: a round trip to a worker costs about a
# millisecond, so the overhead stays around 1%.
UNIT_SECONDS = 0.1


@dataclass(frozen=True)
class Unit(Sequence[Task]):
    """Tasks that one worker runs in order; a sequence of :class:`Task`.

    ``chains[i]`` holds the prefix keys of ``tasks[i]`` (empty: no prefix is
    shared), computed here because keys of functions hold only in this process.
    """

    tasks: tuple[Task, ...]
    chains: tuple[tuple[str, ...], ...]

    @overload
    def __getitem__(self, index: int) -> Task: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Task]: ...
    def __getitem__(self, index: Any) -> Any:
        return self.tasks[index]

    def __len__(self) -> int:
        return len(self.tasks)


class Plan(Iterator[Unit]):
    """The units of one round, made lazily; ``remaining_tasks`` not yet given out.

    An executor may read ``remaining_tasks`` to weigh how much work is left.
    """

    def __init__(self, units: Iterator[Unit], n_tasks: int) -> None:
        self._units = units
        self.remaining_tasks = n_tasks

    def __next__(self) -> Unit:
        unit = next(self._units)
        self.remaining_tasks -= len(unit)
        return unit


class Planner:
    """Groups tasks into :class:`Unit` s for one search; learns task times.

    ``observe`` each result as it arrives (and the stored ones): later rounds
    are then planned longest first.
    """

    def __init__(self, ctx: EvalContext) -> None:
        self.ctx = ctx
        self._chains: dict[tuple[str, Any], tuple[str, ...]] = {}
        self._times: dict[TaskKey, float] = {}
        # Durations as they arrive, for sizing batches. Appending to a list is
        # safe while joblib's dispatch thread reads it.
        self._recent: list[float] = []

    def observe(self, result: FoldResult) -> None:
        """Remember how long a task took; observing twice is harmless."""
        duration = result.fit_time + result.score_time
        self._times[result.key] = duration
        self._recent.append(duration)

    def __call__(self, tasks: Sequence[Task], n_workers: int) -> Iterator[Unit]:
        """Every task in exactly one unit, longest first; consume it lazily.

        Units of shared prefixes come first, then batches of the other tasks,
        each sized from the task times observed so far: executors pull units
        as workers free up, so later batches know more.
        """
        groups: dict[tuple[Any, str], list[tuple[Task, tuple[str, ...]]]] = {}
        plain: list[Task] = []
        for task in tasks:
            chain = self.chain(task)
            if chain:
                groups.setdefault((task.rows, chain[0]), []).append((task, chain))
            else:
                plain.append(task)
        units = [
            Unit(tuple(t for t, _ in g), tuple(c for _, c in g))
            for g in (sorted(g, key=lambda tc: tc[1]) for g in groups.values())
        ]
        cost = self._cost_model()
        if n_workers > 1:
            largest = math.ceil(len(tasks) / (UNITS_PER_WORKER * n_workers))
            units = split_largest(units, largest)
        units.sort(key=lambda u: sum(map(cost, u)), reverse=True)
        plain.sort(key=cost, reverse=True)
        return Plan(self._dispatch(units, plain, n_workers), len(tasks))

    def _dispatch(
        self, units: list[Unit], plain: list[Task], n_workers: int
    ) -> Iterator[Unit]:
        yield from units
        start = 0
        while start < len(plain):
            size = batch_size(self._recent, len(plain) - start, n_workers)
            batch = tuple(plain[start : start + size])
            yield Unit(batch, ((),) * len(batch))
            start += size

    def chain(self, task: Task) -> tuple[str, ...]:
        """The prefix keys of the task's pipeline; empty when nothing is shared."""
        key = (task.candidate.key, task.resource)
        if key not in self._chains:
            self._chains[key] = self._compute_chain(task)
        return self._chains[key]

    def _compute_chain(self, task: Task) -> tuple[str, ...]:
        if not isinstance(self.ctx.estimator, Pipeline) or not _scores_outputs(
            self.ctx.scorer
        ):
            return ()
        try:
            estimator = unfitted(self.ctx, task)  # read only
        except Exception:  # scikit-learn's own fit will report it
            return ()
        chain = flatten(estimator, self.ctx.fit_params)
        return () if chain is None else prefix_keys(chain)

    def _cost_model(self) -> Any:
        """Estimated seconds of a task: its candidate's mean time on other splits
        (at the same resource)."""
        by_work: dict[tuple[str, Any], list[float]] = {}
        for (key, resource, _), duration in self._times.items():
            by_work.setdefault((key, resource), []).append(duration)
        means = {k: statistics.fmean(v) for k, v in by_work.items()}
        default = statistics.median(means.values()) if means else 1.0
        return lambda task: means.get((task.candidate.key, task.resource), default)


def _scores_outputs(scorer: Any) -> bool:
    """Whether the scorer only uses the final step's outputs.

    The shared evaluation scores the final step on the transformed test part:
    scikit-learn's scorers call its predict/score methods, as the pipeline's
    would; a callable of the user's may look inside the pipeline instead.
    """
    if isinstance(scorer, _MultimetricScorer):
        return all(_scores_outputs(s) for s in scorer._scorers.values())
    return isinstance(scorer, _BaseScorer | _PassthroughScorer)


def batch_size(recent: Sequence[float], remaining: int, n_workers: int) -> int:
    """Tasks in the next batch: about ``UNIT_SECONDS`` of work by recent times.

    One task while nothing is known; never more than a ``1 / (2 n_workers)``
    share of what remains, so that the last batches are small and the workers
    finish together (guided self-scheduling).
    """
    times = list(recent[-64:])
    if not times:
        return 1
    per_task = max(statistics.median(times), 1e-6)
    wanted = int(UNIT_SECONDS / per_task)
    guided = math.ceil(remaining / (2 * n_workers))
    return max(1, min(wanted, guided, MAX_BATCH))


def split_largest(units: list[Unit], max_tasks: int) -> list[Unit]:
    """Split units in two until none holds more than ``max_tasks`` tasks."""
    units = list(units)
    while units:
        largest = max(range(len(units)), key=lambda i: len(units[i]))
        if len(units[largest]) <= max(1, max_tasks):
            break
        unit = units.pop(largest)
        cut = _cut(unit.chains)
        units.append(Unit(unit.tasks[:cut], unit.chains[:cut]))
        units.append(Unit(unit.tasks[cut:], unit.chains[cut:]))
    return units


def _cut(chains: Sequence[tuple[str, ...]]) -> int:
    """Where to split: where the fewest prefixes are shared across, near the middle."""

    def shared(i: int) -> int:
        a, b = chains[i - 1], chains[i]
        return next(
            (d for d, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), len(a)
        )

    return min(
        range(1, len(chains)), key=lambda i: (shared(i), abs(2 * i - len(chains)))
    )
