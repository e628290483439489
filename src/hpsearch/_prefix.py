"""Pipelines as a chain of fitted prefixes, so that shared prefixes fit once.

scikit-learn fits ``Pipeline([scaler, pca, svc])`` from scratch for every
candidate and split. Here a pipeline is flattened (nested pipelines included) to
its *leaves*, the transformers that ``Pipeline.fit`` calls ``fit_transform`` on
one after the other, and its *final* estimator. The first ``d`` leaves, with
their parameters, are the prefix of depth ``d``; its key (:func:`prefix_keys`)
is equal exactly when refitting it would give the same output, so each distinct
(prefix, split) is fitted and transformed once per unit of work
(:func:`evaluate_prefixed`) and its output reused by every candidate that shares
it. A FeatureUnion or ColumnTransformer is one leaf.

What is not shared, because refitting it would not give the same output or we
cannot tell: a leaf with a ``random_state`` left None (anywhere inside it), a
parameter value we cannot compare (a RandomState, an arbitrary object), and
every leaf after such a one. Pipelines that scikit-learn would route metadata
through (``enable_metadata_routing``, ``transform_input``) are evaluated plainly.
"""

from __future__ import annotations

import copy
import hashlib
import time
import types
import weakref
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils._metadata_requests import _routing_enabled
from sklearn.utils.metaestimators import _safe_split
from sklearn.utils.validation import _check_method_params

from hpsearch._evaluate import (
    EvalContext,
    fit_and_score,
    make_estimator,
    scored_result,
    task_indices,
)
from hpsearch._records import FoldResult, Task

# Cached prefix outputs one worker keeps at most, in bytes (train and test
# parts together). A prefix whose output would pass it is refitted per
# candidate instead of kept; outputs are also dropped as soon as the next
# candidate of the unit no longer shares them, so this is rarely reached.
CACHE_BYTES = 2 * 1024**3
# The unfitted estimator of each candidate a process evaluates (see
# unfitted), per search context (by id, dropped with the context), at most
# MAX_TEMPLATES a context.
_TEMPLATES: dict[int, dict[tuple[str, Any], Any]] = {}
MAX_TEMPLATES = 4096


class _NotShareableError(Exception):
    """A value whose equality we cannot judge, or a non-deterministic step."""


@dataclass(frozen=True)
class Leaf:
    """A transformer that ``Pipeline.fit`` calls ``fit_transform`` on."""

    path: str  # "outer__inner", for fit parameter routing and keys
    estimator: Any
    params: Mapping[str, Any]  # its fit parameters


@dataclass(frozen=True)
class Chain:
    """A pipeline flattened: leaves in fit order, then the final estimator."""

    leaves: tuple[Leaf, ...]
    final: Any
    final_params: Mapping[str, Any]


def flatten(estimator: Any, fit_params: Mapping[str, Any]) -> Chain | None:
    """The pipeline as a :class:`Chain`; None when it must run as scikit-learn's."""
    if not isinstance(estimator, Pipeline) or _routing_enabled():
        return None
    leaves: list[Leaf] = []
    try:
        final, final_params, _ = _walk(estimator, dict(fit_params), "", leaves)
    except _NotShareableError:
        return None
    if _is_passthrough(final):
        return None  # a pipeline without a final estimator
    return Chain(tuple(leaves), final, final_params)


def _walk(
    pipe: Pipeline, params: dict[str, Any], path: str, leaves: list[Leaf]
) -> tuple[Any, dict[str, Any], str]:
    """Append ``pipe``'s leaves; return its last step, that step's params and path.

    Fit parameters are routed as ``Pipeline._check_method_params`` does without
    metadata routing: ``step__param`` to the step, recursively.
    """
    if pipe.transform_input is not None or not isinstance(pipe.steps, list):
        raise _NotShareableError
    names = [name for name, _ in pipe.steps]
    routed: dict[str, dict[str, Any]] = {}
    for key, value in params.items():
        step, _, param = key.partition("__")
        if not param or step not in names:
            raise _NotShareableError  # let Pipeline.fit raise its own error
        routed.setdefault(step, {})[param] = value
    *body, (last_name, last) = pipe.steps
    for name, step in body:
        _add_leaf(step, routed.get(name, {}), f"{path}{name}", leaves)
    last_params = routed.get(last_name, {})
    if isinstance(last, Pipeline):
        return _walk(last, last_params, f"{path}{last_name}__", leaves)
    return last, last_params, f"{path}{last_name}"


def _add_leaf(step: Any, params: dict[str, Any], path: str, leaves: list) -> None:
    if _is_passthrough(step):
        if params:
            raise _NotShareableError
        return
    if isinstance(step, Pipeline):
        # Pipeline.fit_transform of a middle step: its leaves, then its last
        # step's fit_transform, one more leaf (nothing if passthrough).
        last, last_params, last_path = _walk(step, params, f"{path}__", leaves)
        _add_leaf(last, last_params, last_path, leaves)
        return
    leaves.append(Leaf(path, step, params))


def _is_passthrough(step: Any) -> bool:
    return step is None or (isinstance(step, str) and step == "passthrough")


# ---------------------------------------------------------------------------
# Keys


def describe(value: Any) -> Any:
    """A hashable description, equal only for values that fit the same way.

    Raises :class:`_NotShareableError` for a value it cannot compare, and for an
    estimator whose ``random_state`` is None. Functions and classes are
    compared by identity, which holds within the one process that plans.
    """
    if value is None or isinstance(value, bool | int | float | str | bytes):
        return (type(value).__name__, repr(value))
    if isinstance(value, np.generic):
        return ("np", str(value.dtype), repr(value.item()))
    if isinstance(value, list | tuple):
        return (type(value).__name__, tuple(describe(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple(sorted((repr(k), describe(v)) for k, v in value.items())))
    if isinstance(value, slice):
        return ("slice", describe((value.start, value.stop, value.step)))
    if isinstance(value, np.ndarray) and value.dtype != object:
        return ("ndarray", str(value.dtype), value.shape, value.tobytes())
    if isinstance(value, type | types.FunctionType | types.BuiltinFunctionType):
        return ("ref", id(value))
    if hasattr(value, "get_params"):
        params = value.get_params(deep=False)
        if "random_state" in params and params["random_state"] is None:
            raise _NotShareableError  # refitting it would not give the same output
        kind = f"{type(value).__module__}.{type(value).__qualname__}"
        return ("estimator", kind, describe(params))
    raise _NotShareableError


def prefix_keys(chain: Chain) -> tuple[str, ...]:
    """The key of each shareable prefix: depth 1, 2, ... up to the first that is not.

    The final estimator is never part of a prefix.
    """
    keys: list[str] = []
    parts: list[Any] = []
    for leaf in chain.leaves:
        try:
            parts.append((leaf.path, describe(leaf.estimator), sorted(leaf.params)))
        except _NotShareableError:
            break
        text = repr(parts).encode()
        keys.append(hashlib.blake2b(text, digest_size=12).hexdigest())
    return tuple(keys)


# ---------------------------------------------------------------------------
# Evaluation


@dataclass
class _Level:
    """The output of one fitted prefix on one split, and what it cost."""

    key: tuple[Any, str]  # (the task's rows, prefix key)
    Xfit: Any  # fit_transform's output on the training part: fits the next step
    Xtest: Any  # transform of the test part: what the final step is scored on
    Xtrain: Any  # transform of the training part (train scores only)
    fit_time: float
    score_time: float
    nbytes: int
    ys: tuple[Any, Any]  # y of the training and test parts: the rows' own


def evaluate_prefixed(
    ctx: EvalContext, tasks: Sequence[Task], chains: Sequence[tuple[str, ...]]
) -> list[FoldResult]:
    """Evaluate tasks in order, fitting each shared prefix once.

    ``chains[i]`` holds the prefix keys of ``tasks[i]`` (see :func:`prefix_keys`,
    computed by the planner: keys of functions hold only in its process).
    Tasks sharing a prefix come one after the other, so only the prefixes of
    the current task are kept. A prefix's time is shared out among its tasks.
    """
    users = Counter(
        (t.rows, k) for t, chain in zip(tasks, chains, strict=True) for k in chain
    )
    stack: list[_Level] = []
    results = []
    for task, chain in zip(tasks, chains, strict=True):
        keys = [(task.rows, key) for key in chain]
        while stack and (
            len(stack) > len(keys) or stack[-1].key != keys[len(stack) - 1]
        ):
            stack.pop()  # no later task of this unit needs it: drop it now
        result = _evaluate_one(ctx, task, keys, stack, users) if keys else None
        results.append(result if result is not None else fit_and_score(ctx, task))
    return results


def _evaluate_one(
    ctx: EvalContext,
    task: Task,
    keys: list[tuple[Any, str]],
    stack: list[_Level],
    users: Counter[tuple[Any, str]],
) -> FoldResult | None:
    """One task on top of its cached prefixes; None: evaluate it plainly."""
    train, test = task_indices(ctx, task)
    fit_params = _check_method_params(ctx.X, params=dict(ctx.fit_params), indices=train)
    estimator = _fresh_estimator(ctx, task)
    chain = flatten(estimator, fit_params)
    if chain is None or len(chain.leaves) < len(keys):
        return None
    if stack:  # the cached outputs stand for X, and their rows' y comes along
        top = stack[-1]
    else:
        X_train, y_train = _safe_split(estimator, ctx.X, ctx.y, train)
        X_test, y_test = _safe_split(estimator, ctx.X, ctx.y, test, train)
        top = _Level((-1, ""), X_train, X_test, X_train, 0, 0, 0, (y_train, y_test))
    y_train, y_test = top.ys
    started_at = time.time()
    # Extend the cached prefixes to this task's depth; levels past the memory
    # cap, and leaves that cannot be shared, are fitted for this task alone.
    local: list[_Level] = []
    for depth in range(len(stack), len(chain.leaves)):
        key = keys[depth] if depth < len(keys) else (-1, "")
        try:
            top = _fit_leaf(ctx, chain.leaves[depth], top, key)
        except Exception:
            return None  # scikit-learn's own fit gives the error its usual shape
        if key[1] and not local and _fits_cap(stack, top):
            stack.append(top)
        else:
            local.append(top)
    # A shared prefix's time is shared out among the tasks that use it.
    shares = [1 / users[lv.key] for lv in stack] + [1.0] * len(local)
    fit_time, score_time = (
        sum(getattr(lv, name) * k for lv, k in zip(stack + local, shares, strict=True))
        for name in ("fit_time", "score_time")
    )
    times = (fit_time, score_time, started_at)
    return _fit_final(ctx, task, chain, top, (y_train, y_test), times)


def unfitted(ctx: EvalContext, task: Task) -> Any:
    """``make_estimator(ctx, task)``, made once per candidate in this process.

    Shared by every caller: read it (the planner's keys), never fit it.
    """
    templates = _TEMPLATES.get(id(ctx))
    if templates is None:
        templates = _TEMPLATES[id(ctx)] = {}
        weakref.finalize(ctx, _TEMPLATES.pop, id(ctx), None)
    work = (task.candidate.key, task.resource)
    template = templates.get(work)
    if template is None:
        template = make_estimator(ctx, task)
        if len(templates) < MAX_TEMPLATES:
            templates[work] = template
    return template


def _fresh_estimator(ctx: EvalContext, task: Task) -> Any:
    """A task's estimator to fit: a deep copy of its candidate's template.

    A candidate is evaluated on every split, in as many units: copying its
    unfitted estimator costs a fraction of cloning the pipeline and setting
    its parameters again, and gives the same object (an unfitted estimator's
    state is its parameters, which clone deep-copies too).
    """
    template = unfitted(ctx, task)
    try:
        return copy.deepcopy(template)
    except Exception:  # a value that cannot be deep-copied: clone it
        return make_estimator(ctx, task)


def _fit_leaf(
    ctx: EvalContext, leaf: Leaf, top: _Level, key: tuple[Any, str]
) -> _Level:
    """Fit one leaf on ``top``'s output as Pipeline._fit does; transform the rest."""
    transformer = leaf.estimator
    start = time.perf_counter()
    if hasattr(transformer, "fit_transform"):
        Xfit = transformer.fit_transform(top.Xfit, top.ys[0], **leaf.params)
    else:
        Xfit = transformer.fit(top.Xfit, top.ys[0], **leaf.params).transform(top.Xfit)
    fit_time = time.perf_counter() - start
    Xtest = transformer.transform(top.Xtest)
    score_time = time.perf_counter() - start - fit_time
    # Pipeline.predict on the training part transforms it: fit_transform's
    # output may differ from that in the last bits (PCA's does).
    Xtrain = transformer.transform(top.Xtrain) if ctx.return_train_score else None
    size = _nbytes(Xfit) + _nbytes(Xtest) + _nbytes(Xtrain)
    return _Level(key, Xfit, Xtest, Xtrain, fit_time, score_time, size, top.ys)


def _fits_cap(stack: list[_Level], level: _Level) -> bool:
    return sum(lv.nbytes for lv in stack) + level.nbytes <= CACHE_BYTES


def _nbytes(X: Any) -> int:
    if X is None:
        return 0
    if hasattr(X, "data") and hasattr(X, "indices"):  # scipy sparse
        return int(X.data.nbytes + X.indices.nbytes + X.indptr.nbytes)
    if hasattr(X, "nbytes"):
        return int(X.nbytes)
    if hasattr(X, "memory_usage"):  # pandas
        return int(np.sum(X.memory_usage(deep=False)))
    return 0


def _fit_final(
    ctx: EvalContext,
    task: Task,
    chain: Chain,
    top: _Level,
    ys: tuple[Any, Any],
    times: tuple[float, float, float],
) -> FoldResult | None:
    """Fit the final step on the prefix output and score it, as fit_and_score does."""
    y_train, y_test = ys
    prefix_fit, prefix_score, started_at = times
    start = time.perf_counter()
    try:
        chain.final.fit(top.Xfit, y_train, **chain.final_params)
    except Exception:
        return None  # refit plainly: the error then reads as scikit-learn's
    # The scorer sees the final step and the transformed parts: exactly the
    # calls Pipeline.predict / decision_function / score would make.
    return scored_result(
        ctx,
        task,
        chain.final,
        (top.Xtrain, y_train),
        (top.Xtest, y_test),
        fit_time=time.perf_counter() - start,
        started_at=started_at,
        shared_times=(prefix_fit, prefix_score),
    )
