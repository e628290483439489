"""Plain, frozen records that flow between the parts of a search.

A *candidate* is a parameter setting that a strategy proposes; once evaluated on
one cross-validation split it has a :class:`FoldResult`. Records hold plain data
(numbers, strings, dicts) so that storages write them as JSON, never as pickles.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["ok", "failed"]


@dataclass(frozen=True)
class Candidate:
    """A parameter setting; ``key`` is equal for settings that are equal."""

    params: Mapping[str, Any]
    key: str


@dataclass(frozen=True)
class Task:
    """Fit one candidate on the training part of one split and score it."""

    candidate: Candidate
    split: int


@dataclass(frozen=True)
class FoldResult:
    """The outcome of one :class:`Task`.

    ``test_scores`` and ``train_scores`` map a metric name to its score (a
    single metric is named ``"score"``, as in scikit-learn's ``cv_results_``);
    a failed fit holds ``error_score`` there and its traceback in ``error``.
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
