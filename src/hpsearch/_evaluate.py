"""Fit one candidate on one split and score it: ``fit_and_score(ctx, task)``.

Scores follow scikit-learn's ``_fit_and_score`` exactly (same splits, same
fit parameters, same scorer calls), so that they are equal to the last bit.
Whatever the scorer returns is normalised here to ``dict[str, float]``; a single
metric is named ``"score"``, the name scikit-learn's ``cv_results_`` uses.
"""

from __future__ import annotations

import dataclasses
import numbers
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from traceback import format_exc
from typing import Any

import numpy as np
from sklearn import get_config
from sklearn.base import clone
from sklearn.utils.metaestimators import _safe_split
from sklearn.utils.validation import _check_method_params, _num_samples

from hpsearch._continuation import (
    Continuation,
    after_fit,
    continued_estimator,
    continued_from,
)
from hpsearch._early_stopping import fold_columns
from hpsearch._records import FoldResult, Split, Task


@dataclass
class EvalContext:
    """What every task of one search shares: data, splits, scorer, options.

    It is sent to each worker once per unit of work, never per task.
    """

    estimator: Any
    X: Any
    y: Any
    splits: Sequence[Split]
    scorer: Callable[..., Any]
    fit_params: Mapping[str, Any] = field(default_factory=dict)
    score_params: Mapping[str, Any] = field(default_factory=dict)
    return_train_score: bool = False
    error_score: Any = np.nan
    # Threads that BLAS, OpenMP and PyTorch may use inside one worker; None
    # leaves them as they are (the serial case uses the whole machine).
    threads: int | None = None
    # The caller's scikit-learn configuration and warning filters, applied in
    # every worker as scikit-learn's own joblib helpers do.
    config: Mapping[str, Any] = field(default_factory=get_config)
    warning_filters: list[Any] = field(default_factory=lambda: list(warnings.filters))
    # What a task's resource is: "n_samples" (its indices are subsampled),
    # the name of the estimator parameter it sets, or None (no resource).
    resource: str | None = None
    # How a fit goes on from a smaller resource (continue_training); None:
    # every fit starts from scratch and no fitted estimator is sent back.
    continuation: Continuation | None = None
    # Seconds a task (fit and score) may take before it is stopped and
    # recorded as failed; None: no limit. Only for fits in worker processes.
    fit_timeout: float | None = None


def task_indices(ctx: EvalContext, task: Task) -> Split:
    """The (train, test) indices of a task: its round's own, or its split's."""
    return ctx.splits[task.split] if task.indices is None else task.indices


def task_params(ctx: EvalContext, task: Task) -> dict[str, Any]:
    """The parameters a task's estimator gets: its candidate's and its budget."""
    params = dict(task.candidate.params)
    if task.resource is not None and ctx.resource not in (None, "n_samples"):
        params[ctx.resource] = task.resource
    return params


def make_estimator(ctx: EvalContext, task: Task) -> Any:
    """A clone of the search's estimator with the task's parameters."""
    # Parameters are cloned too: they may be estimators (a pipeline step).
    return clone(ctx.estimator).set_params(**clone(task_params(ctx, task), safe=False))


def fit_and_score(ctx: EvalContext, task: Task) -> FoldResult:
    """Fit a clone of the estimator with the task's parameters; score it."""
    train, test = task_indices(ctx, task)
    fit_params = _check_method_params(ctx.X, params=dict(ctx.fit_params), indices=train)
    if ctx.continuation is not None and task.warm is not None:
        estimator = continued_estimator(ctx.continuation, task)
    else:
        estimator = make_estimator(ctx, task)
    X_train, y_train = _safe_split(estimator, ctx.X, ctx.y, train)
    X_test, y_test = _safe_split(estimator, ctx.X, ctx.y, test, train)
    started_at = time.time()
    start = time.perf_counter()
    try:
        if y_train is None:
            estimator.fit(X_train, **fit_params)
        else:
            estimator.fit(X_train, y_train, **fit_params)
    except Exception:
        if ctx.error_score == "raise":
            raise
        return failed_result(
            ctx, task, format_exc(), time.perf_counter() - start, started_at
        )
    fit_time = time.perf_counter() - start
    if ctx.continuation is not None:
        after_fit(ctx.continuation, estimator, task)
    result = scored_result(
        ctx,
        task,
        estimator,
        (X_train, y_train),
        (X_test, y_test),
        fit_time=fit_time,
        started_at=started_at,
    )
    if ctx.continuation is None:
        return result
    # Sent back for the candidate's next rung; the loop takes it out.
    extra = {**result.extra, "continued_from": continued_from(task)}
    return dataclasses.replace(result, fitted=estimator, extra=extra)


def scored_result(
    ctx: EvalContext,
    task: Task,
    fitted: Any,
    train: tuple[Any, Any],
    test: tuple[Any, Any],
    *,
    fit_time: float,
    started_at: float,
    shared_times: tuple[float, float] = (0.0, 0.0),
) -> FoldResult:
    """Score a fitted estimator on a split's parts: the task's FoldResult.

    ``shared_times`` is the (fit, score) time of work shared with other
    candidates (a cached pipeline prefix), the share this task is charged.
    """
    start = time.perf_counter()
    test_scores, notes = score(
        fitted,
        *test,
        ctx.scorer,
        score_params(ctx, task, test=True),
        ctx.error_score,
    )
    score_time = time.perf_counter() - start
    train_scores = None
    if ctx.return_train_score:
        train_scores, train_notes = score(
            fitted,
            *train,
            ctx.scorer,
            score_params(ctx, task, test=False),
            ctx.error_score,
        )
        notes += train_notes
    return FoldResult(
        candidate_key=task.candidate.key,
        split=task.split,
        test_scores=test_scores,
        train_scores=train_scores,
        n_test_samples=_num_samples(test[0]),
        fit_time=fit_time + shared_times[0],
        score_time=score_time + shared_times[1],
        started_at=started_at,
        finished_at=time.time(),
        extra=_extra(fitted, notes),
        resource=task.resource,
    )


def _extra(fitted: Any, notes: list[str]) -> dict[str, Any]:
    """A fold's extras: scoring failures; numbers for cv_results_ columns."""
    extra: dict[str, Any] = {"warnings": notes} if notes else {}
    columns = fold_columns(fitted)  # e.g. the iterations an EarlyStopper used
    if columns:
        extra["columns"] = columns
    return extra


def score_params(ctx: EvalContext, task: Task, test: bool) -> dict[str, Any]:
    """The scorer's parameters for the test (or training) part of a task."""
    indices = task_indices(ctx, task)[1 if test else 0]
    return _check_method_params(ctx.X, params=dict(ctx.score_params), indices=indices)


def failed_result(
    ctx: EvalContext, task: Task, error: str, fit_time: float, started_at: float
) -> FoldResult:
    """The result of a fit that raised: ``error_score`` for every metric.

    The metric names are filled in by the search once it knows them (a
    callable scorer only reveals them when it first succeeds).
    """
    _, test = task_indices(ctx, task)
    return FoldResult(
        candidate_key=task.candidate.key,
        split=task.split,
        test_scores={},
        train_scores={} if ctx.return_train_score else None,
        n_test_samples=len(test),
        fit_time=fit_time,
        score_time=0.0,
        status="failed",
        error=error,
        started_at=started_at,
        finished_at=time.time(),
        resource=task.resource,
    )


def score(
    estimator: Any,
    X: Any,
    y: Any,
    scorer: Callable[..., Any],
    params: Mapping[str, Any],
    error_score: Any,
) -> tuple[dict[str, float], list[str]]:
    """Score as scikit-learn does; return the scores and any failure notes."""
    notes: list[str] = []
    try:
        raw = (
            scorer(estimator, X, **params)
            if y is None
            else scorer(estimator, X, y, **params)
        )
    except Exception:
        # A multi-metric scorer only raises when error_score is "raise".
        if error_score == "raise" or hasattr(scorer, "_scorers"):
            raise
        notes.append(format_exc())
        raw = error_score
    scores = dict(raw) if isinstance(raw, Mapping) else {"score": raw}
    multimetric = hasattr(scorer, "_scorers")
    for name, value in scores.items():
        if multimetric and isinstance(value, str):  # its caught traceback
            notes.append(value)
            value = error_score
        if hasattr(value, "item"):
            with suppress(ValueError):
                value = value.item()  # e.g. a memmapped numpy scalar
        if not isinstance(value, numbers.Number):
            shown = name if isinstance(raw, Mapping) else scorer
            raise ValueError(
                f"scoring must return a number, got {value} ({type(value)}) instead. "
                f"(scorer={shown})"
            )
        scores[name] = value
    return scores, notes


def warn_scoring_failures(notes: Sequence[str], error_score: Any) -> None:
    """Re-emit, in the caller's process, the warnings scikit-learn would give."""
    for note in notes:
        warnings.warn(
            "Scoring failed. The score on this train-test partition for these "
            f"parameters will be set to {error_score}. Details: \n{note}",
            UserWarning,
            stacklevel=3,
        )
