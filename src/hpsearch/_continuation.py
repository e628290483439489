"""Continuing a promoted candidate's fits from its smaller resource.

With ``continue_training``, a halving or Hyperband search whose resource is
an estimator parameter (``n_estimators``, ``max_iter``, ``max_epochs``,
``epochs``) does not fit a fresh clone when it gives a candidate a larger
budget: it takes the estimator that candidate fitted on the same split at its
smaller resource and trains it on. The search's loop keeps those estimators in
memory (never in a storage) while the strategy says the candidate may still
be promoted, and a task carries its estimator to the worker (:class:`Warm`).

An estimator goes on in one of two ways, and :func:`resolve` says which:

* it keeps what it has and ``fit`` with ``warm_start=True`` adds up to the
  parameter's new value (``n_estimators`` of forests, gradient boosting,
  bagging; ``max_iter`` of HistGradientBoosting). With an int
  ``random_state`` scikit-learn's ensembles then give the very model a fit
  from scratch gives (tests/test_continuation.py checks it);
* each ``fit`` with ``warm_start=True`` trains that many *more* iterations
  (``max_iter`` of scikit-learn's other estimators, such as MLP, SGD and
  LogisticRegression; skorch's ``max_epochs``; scikeras' ``epochs``): the
  continuing fit runs the difference, and the parameter is set back to the
  total afterwards. Not the model a fit from scratch gives (optimiser state,
  learning-rate schedules and shuffling go on differently).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hpsearch._records import Resource, Task

OPTIONS = (False, True, "auto")
# A fitted estimator with warm_start=True and a larger parameter adds up to it.
_TOTAL = "n_estimators"
# A fit with warm_start=True trains this many more, by library.
_MORE = {"sklearn": "max_iter", "skorch": "max_epochs", "scikeras": "epochs"}


@dataclass(frozen=True)
class Continuation:
    """How a search's fitted estimators go on to a larger resource.

    ``parameter`` is the resource (``"clf__n_estimators"`` in a pipeline),
    ``warm_start`` the parameter that makes ``fit`` go on; ``adds``: the
    parameter counts the iterations of one fit, not the total.
    """

    parameter: str
    warm_start: str
    adds: bool


def resolve(estimator: Any, resource: str, option: Any) -> Continuation | None:
    """How ``estimator`` continues on ``resource``; None: it fits from scratch.

    ``option`` is the search's ``continue_training``: False (never), "auto"
    (where this module knows how) or True (where it knows how, else a
    ValueError before any fit).
    """
    if option is False:
        return None
    found = _how(estimator, resource)
    if found is None and option is True:
        raise ValueError(
            f"continue_training=True needs an estimator that can continue "
            f"training on its resource; got {type(estimator).__name__} with "
            f"resource={resource!r}. hpsearch continues n_estimators of "
            "estimators with warm_start (forests, gradient boosting, bagging), "
            "max_iter of scikit-learn estimators with warm_start "
            "(HistGradientBoosting, MLP, SGD, LogisticRegression, ...), skorch's "
            "max_epochs and scikeras' epochs. Use continue_training='auto' to "
            "continue where it can and fit from scratch elsewhere, or False."
        )
    return found


def _how(estimator: Any, resource: str) -> Continuation | None:
    if resource in ("n_samples", "folds") or resource not in estimator.get_params():
        return None  # other rows or folds: nothing to go on from
    prefix, _, name = resource.rpartition("__")
    owner = estimator.get_params()[prefix] if prefix else estimator
    warm_start = f"{prefix}__warm_start" if prefix else "warm_start"
    if "warm_start" not in owner.get_params(deep=False):
        return None
    # The library whose fit runs (a subclass such as a skorch net with other
    # defaults keeps its library's fit).
    fits = next((k for k in type(owner).__mro__ if "fit" in vars(k)), type(owner))
    library = fits.__module__.partition(".")[0]
    if name == _TOTAL:
        return Continuation(resource, warm_start, adds=False)
    if name == "max_iter" and _is_hist_gradient_boosting(owner):
        return Continuation(resource, warm_start, adds=False)
    if _MORE.get(library) == name:
        return Continuation(resource, warm_start, adds=True)
    return None


def _is_hist_gradient_boosting(owner: Any) -> bool:
    return any(k.__name__ == "BaseHistGradientBoosting" for k in type(owner).__mro__)


def continued_estimator(continuation: Continuation, task: Task) -> Any:
    """The task's warm estimator, set to train on up to the task's resource."""
    assert task.warm is not None and task.resource is not None
    value = task.resource
    if continuation.adds:
        value = task.resource - task.warm.resource
    return task.warm.estimator.set_params(
        **{continuation.warm_start: True, continuation.parameter: value}
    )


def after_fit(continuation: Continuation, estimator: Any, task: Task) -> None:
    """Say the total again on an estimator that trained ``adds`` more."""
    if continuation.adds and task.warm is not None:
        estimator.set_params(**{continuation.parameter: task.resource})


def continued_from(task: Task) -> Resource:
    """The smaller resource a task's fit went on from; None: from scratch."""
    return None if task.warm is None else task.warm.resource
