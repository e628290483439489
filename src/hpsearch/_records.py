"""Plain, frozen records that flow between the parts of a search.

A *candidate* is a parameter setting. A strategy proposes a candidate at a
*resource* (a :class:`Proposal`): the number of samples it is trained on, or
the value of a budget parameter such as ``n_estimators`` or ``epochs``; None
is the whole training part with the candidate's own parameters. A proposal is
evaluated as one :class:`Task` per cross-validation split, and each task
gives a :class:`FoldResult`. Everywhere (loop, planner, prefix cache,
progress, records, storage) a piece of work is keyed by
``(candidate key, resource, split)``: the :data:`TaskKey`.

In a race on cross-validation folds (``HyperbandSearchCV(resource="folds")``)
a proposal's resource is a number of folds ``k``: it is evaluated on the
first ``k`` splits, as tasks without a resource, so that a candidate's folds
are shared by its rungs (promoted from 1 to 3 folds, it fits 2 more):
:func:`work_tasks` says which task keys a (candidate, resource) needs.

Records hold plain data (numbers, strings, dicts, index arrays) so that
storages write them as JSON, never as pickles.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

Status = Literal["ok", "failed"]
# A number of samples, a budget parameter's value, or None (no resource).
Resource = int | float | None
TaskKey = tuple[str, Resource, int]
Split = tuple[np.ndarray, np.ndarray]
# The resource kind of a race on cross-validation folds.
FOLDS = "folds"


def work_tasks(
    key: str, resource: Resource, n_splits: int, kind: str | None
) -> list[TaskKey]:
    """The task keys that (``key``, ``resource``) is evaluated on.

    One per split at ``resource``; for ``kind="folds"`` the first
    ``resource`` splits, without a resource (shared by every rung).
    """
    if kind == FOLDS:
        return [(key, None, split) for split in range(int(resource or n_splits))]
    return [(key, resource, split) for split in range(n_splits)]


@dataclass(frozen=True)
class Candidate:
    """A parameter setting; ``key`` is equal for settings that are equal."""

    params: Mapping[str, Any]
    key: str


@dataclass(frozen=True)
class Proposal:
    """Evaluate ``candidate`` at ``resource`` on every split, in ``round``.

    ``splits`` replaces the search's splits for this proposal (the subsampled
    train/test indices of a ``n_samples`` resource); None keeps them.
    """

    candidate: Candidate
    resource: Resource = None
    round: int = 0
    splits: tuple[Split, ...] | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> tuple[str, Resource]:
        """(candidate key, resource): what one row of ``cv_results_`` scores."""
        return (self.candidate.key, self.resource)


@dataclass(frozen=True)
class Warm:
    """An estimator fitted at ``resource`` that a task trains on further.

    Held by the search's loop and carried by a task to its worker; never
    stored (see :mod:`hpsearch._continuation`).
    """

    resource: int | float
    estimator: Any = field(repr=False)


@dataclass(frozen=True)
class Task:
    """Fit one candidate at one resource on the training part of one split.

    ``indices`` are the split's (train, test) indices when they are not the
    search's own (a subsampled round); None: ``ctx.splits[split]``. ``warm``:
    continue this fitted estimator of a smaller resource instead of fitting
    a fresh clone.
    """

    candidate: Candidate
    split: int
    resource: Resource = None
    indices: Split | None = field(default=None, compare=False, repr=False)
    warm: Warm | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> TaskKey:
        """(candidate key, resource, split)."""
        return (self.candidate.key, self.resource, self.split)

    @property
    def rows(self) -> tuple[int, Resource]:
        """Equal for tasks that train and test on the same rows."""
        return (self.split, None if self.indices is None else self.resource)


@dataclass(frozen=True)
class FoldResult:
    """The outcome of one :class:`Task`.

    ``test_scores`` and ``train_scores`` map a metric name to its score (a
    single metric is named ``"score"``, as in scikit-learn's ``cv_results_``);
    a failed fit holds ``error_score`` there and its traceback in ``error``.
    ``fitted`` is the fitted estimator, sent back by a worker only when the
    search continues training (:mod:`hpsearch._continuation`); the loop takes
    it out before the result is recorded, shown or stored.
    """

    candidate_key: str
    split: int
    test_scores: Mapping[str, float]
    train_scores: Mapping[str, float] | None
    n_test_samples: int
    fit_time: float
    score_time: float
    status: Status = "ok"
    error: str | None = None
    started_at: float = 0.0
    finished_at: float = 0.0
    extra: Mapping[str, Any] = field(default_factory=dict)
    resource: Resource = None
    fitted: Any = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> TaskKey:
        """(candidate key, resource, split)."""
        return (self.candidate_key, self.resource, self.split)


@dataclass(frozen=True)
class Assignment:
    """What a search process may do with some tasks of a shared study.

    ``mine``: the tasks it now holds a lease on (or all of them, when no other
    process shares the study); ``done``: results other processes stored for
    some of the rest. Tasks in neither are held by another live process.
    """

    mine: tuple[Task, ...] = ()
    done: tuple[FoldResult, ...] = ()


@dataclass(frozen=True)
class TimedOutTask:
    """A task that ran past ``fit_timeout``; its fit still runs in ``worker``.

    A unit yields it in place of the task's result
    (:func:`hpsearch._worker.evaluate_unit`); the executor that ran the unit
    replaces ``worker`` (a process id on this machine, a Dask worker's
    address), the one way to stop the fit; the search then records a failed
    fit (``error_score``), or raises with ``error_score='raise'``.
    """

    task: Task
    seconds: float
    worker: Any
