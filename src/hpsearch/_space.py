"""Search spaces: grids and distributions become candidates, checked up front.

Three jobs live here:

* :func:`check_grid` and :func:`check_distributions` refuse a malformed space
  (empty lists, bare values, objects that are neither lists nor distributions)
  and every value the estimator's declared constraints forbid, all problems in
  one :class:`~hpsearch.SpaceError`, before anything is fitted;
* :func:`candidate_key` gives equal parameter settings equal keys, so duplicates
  are evaluated once and stored results are found again;
* :func:`make_candidates` turns parameter dicts into :class:`Candidate` records.
"""

from __future__ import annotations

import difflib
import hashlib
import inspect
import json
import numbers
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import ParameterGrid, ParameterSampler
from sklearn.utils._param_validation import (
    InvalidParameterError,
    validate_parameter_constraints,
)

from hpsearch._errors import SpaceError, SpaceValueError
from hpsearch._records import Candidate
from hpsearch._slots import estimator_problems, parts_problems, slot_problem

# How many values to draw from each distribution when checking it.
N_CHECK_DRAWS = 20


def canonical(value: Any) -> Any:
    """A JSON-able form of ``value`` that is equal exactly for equal settings.

    Types are kept apart where estimators treat them apart (``1``, ``1.0`` and
    ``True`` are three settings: ``max_features=1`` is one feature while
    ``max_features=1.0`` is all of them); numpy scalars count as the Python
    number they hold.
    """
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, float):
        return {"float": repr(value)}
    if isinstance(value, list | tuple):
        return {type(value).__name__: [canonical(v) for v in value]}
    if isinstance(value, Mapping):
        return {"dict": sorted([str(k), canonical(v)] for k, v in value.items())}
    if isinstance(value, np.ndarray):
        return {"ndarray": canonical(value.tolist()), "dtype": str(value.dtype)}
    if isinstance(value, BaseEstimator) or (
        hasattr(value, "get_params") and not isinstance(value, type)
    ):
        params = value.get_params(deep=False)
        return {"estimator": _qualname(type(value)), "params": canonical(params)}
    if isinstance(value, type) or callable(value):
        return {"callable": _qualname(value)}
    return {"repr": repr(value)}


def _qualname(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', obj)}"


def candidate_key(params: Mapping[str, Any]) -> str:
    """A short stable hash of a parameter setting, equal for equal settings."""
    text = json.dumps(canonical(dict(params)), sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def make_candidates(params_list: Iterable[Mapping[str, Any]]) -> list[Candidate]:
    """Wrap parameter dicts as candidates, in the order given."""
    return [Candidate(params=dict(p), key=candidate_key(p)) for p in params_list]


# ---------------------------------------------------------------------------
# Checking a space against the estimator


def _describe(value: Any) -> str:
    if isinstance(value, np.generic):
        value = value.item()  # np.float64(3.7) reads better as 3.7
    return f"{value!r} ({type(value).__name__})"


def _is_distribution(value: Any) -> bool:
    return hasattr(value, "rvs")


def _is_value_list(value: Any) -> bool:
    return isinstance(value, Sequence | np.ndarray) and not isinstance(value, str)


def _as_dicts(space: Any) -> list[Mapping[str, Any]] | None:
    if isinstance(space, Mapping):
        return [space]
    if isinstance(space, list | tuple) and all(isinstance(d, Mapping) for d in space):
        return list(space)
    return None


def check_grid(estimator: Any, param_grid: Any) -> list[Mapping[str, Any]]:
    """Check a ``param_grid`` and return it as a list of dicts.

    Raises :class:`SpaceError` listing every problem: a grid that is not a dict
    or a list of dicts, an empty list, a bare value or a distribution where a
    list of values is needed, an unknown parameter name, and every value the
    estimator's declared constraints forbid.
    """
    return _check_space(estimator, param_grid, "param_grid", draws=False)


def check_distributions(
    estimator: Any, param_distributions: Any
) -> list[Mapping[str, Any]]:
    """Check ``param_distributions`` and return it as a list of dicts.

    As :func:`check_grid`, but values may be distributions (anything with an
    ``rvs`` method); each distribution is checked on a few draws from a
    generator of its own, which leaves the search's random state untouched.
    """
    return _check_space(
        estimator, param_distributions, "param_distributions", draws=True
    )


# For each argument: an example of its form, and what "at least one" means.
_EXAMPLES = {
    "param_grid": (
        "{'C': [0.1, 1, 10]}",
        "dict of parameter lists, e.g. {'C': [1, 10]}",
    ),
    "param_distributions": (
        "{'C': scipy.stats.loguniform(1e-3, 1e3), 'kernel': ['rbf', 'linear']}",
        "dict, e.g. {'C': scipy.stats.loguniform(1e-3, 1e3)}",
    ),
}


def _check_space(
    estimator: Any, space: Any, arg: str, draws: bool
) -> list[Mapping[str, Any]]:
    """Check the form of a space, then its names and values; one error for all."""
    sklearn_message = _sklearn_form_message(space, draws)
    try:
        spaces = _check_form(space, arg, draws)
    except SpaceError as exc:
        raise _after_sklearn(sklearn_message, exc) from None
    if sklearn_message is not None:  # a form scikit-learn refuses and we do not
        raise SpaceError(sklearn_message)
    _raise_if(estimator_problems(estimator, "estimator"))
    _check_values(estimator, spaces, arg, draws=draws)
    return spaces


def _sklearn_form_message(space: Any, draws: bool) -> str | None:
    """What scikit-learn's ParameterGrid or ParameterSampler says of the space."""
    try:
        if draws:
            ParameterSampler(space, n_iter=1)
        else:
            ParameterGrid(space)
    except (TypeError, ValueError) as exc:
        return str(exc)
    return None


def _after_sklearn(sklearn_message: str | None, exc: SpaceError) -> SpaceError:
    """scikit-learn's message for the same mistake first, then ours."""
    if sklearn_message is None:
        return exc
    return type(exc)(f"{sklearn_message}\n{exc.explanation}", exc.explanation)


def _check_form(space: Any, arg: str, draws: bool) -> list[Mapping[str, Any]]:
    """The space as a list of dicts, or one SpaceError for every malformed entry."""
    example, one = _EXAMPLES[arg]
    spaces = _as_dicts(space)
    if spaces is None:
        raise SpaceError(
            f"{arg} must be a dict or a list of dicts; got {_describe(space)}. "
            f"Example: {example}."
        )
    if not spaces:
        raise SpaceError(
            f"{arg} must not be an empty list; got []. Give at least one {one}."
        )
    problems: list[str] = []
    for i, sub in enumerate(spaces):
        where = arg if len(spaces) == 1 else f"{arg}[{i}]"
        if draws and not sub:
            problems.append(
                f"{where} must name at least one parameter; got an empty dict."
            )
        for name, values in sub.items():
            problem = _entry_problem(where, name, values, draws)
            if problem is not None:
                problems.append(problem)
            elif not _is_distribution(values):
                _warn_repeated(f"{where}[{name!r}]", values)
    _raise_if(problems)
    return spaces


def _entry_problem(where: str, name: Any, values: Any, draws: bool) -> str | None:
    """What is wrong with the form of one entry of a space, if anything."""
    label = f"{where}[{name!r}]"
    if not isinstance(name, str):
        return f"{where} keys must be parameter names; got {name!r}."
    if _is_distribution(values):
        if draws:
            return None
        return (
            f"{label} must be a list of values; got a distribution "
            f"({type(values).__name__}). Distributions belong in "
            "RandomizedSearchCV's param_distributions."
        )
    if not _is_value_list(values):
        if draws:
            return (
                f"{label} must be a list of values or a distribution with an "
                f"rvs method (scipy.stats); got {_describe(values)}."
            )
        return (
            f"{label} must be a list of values; got {_describe(values)}. "
            f"Wrap a single value in a list: [{values!r}]."
        )
    if isinstance(values, np.ndarray) and values.ndim != 1:
        return (
            f"{label} must be a one-dimensional list of values; got an "
            f"array of shape {values.shape}."
        )
    if len(values) == 0:
        return f"{label} must hold at least one value; got an empty list."
    return None


def _warn_repeated(label: str, values: Any) -> None:
    """Warn of values listed twice: they are evaluated once."""
    seen: set[str] = set()
    repeated = []
    for value in values:
        key = json.dumps(canonical(value), sort_keys=True)
        if key in seen:
            repeated.append(value)
        seen.add(key)
    if repeated:
        shown = ", ".join(repr(v) for v in repeated[:5])
        warnings.warn(
            f"{label} lists {shown} more than once. Each candidate is evaluated "
            "once; cv_results_ still has a row for every listed combination. "
            "Remove the repeated values to silence this warning.",
            UserWarning,
            stacklevel=5,
        )


def _raise_if(
    problems: list[str],
    sklearn_message: str | None = None,
    kind: type[SpaceError] = SpaceError,
) -> None:
    if problems:
        if len(problems) == 1:
            error = kind(problems[0])
        else:
            error = kind(
                f"The search space has {len(problems)} problems:\n- "
                + "\n- ".join(problems)
            )
        raise _after_sklearn(sklearn_message, error)


def _values_to_check(values: Any, draws: bool) -> list[Any]:
    if _is_distribution(values):
        if not draws:
            return []
        rng = np.random.RandomState(0)
        return [values.rvs(random_state=rng) for _ in range(N_CHECK_DRAWS)]
    return list(values)


def _check_values(
    estimator: Any, spaces: list[Mapping[str, Any]], arg: str, draws: bool
) -> None:
    problems: list[str] = []
    first: str | None = None  # scikit-learn's message for the first problem
    kind: type[SpaceError] = SpaceError  # and its type
    for i, space in enumerate(spaces):
        where = arg if len(spaces) == 1 else f"{arg}[{i}]"
        for name in space:
            values = _values_to_check(space[name], draws)
            owners = _owners(estimator, name, space)
            if owners is None:
                refusal = _set_params_refusal(estimator, name, values, space)
                if refusal is None:
                    # The estimator takes a name its get_params does not list
                    # (scikit-learn's MinimalClassifier; skorch's module__*,
                    # scikeras' model__*): search it, as scikit-learn does,
                    # once the class or function it is routed to takes it.
                    sample = next(iter(_values_to_check(space[name], True)), None)
                    problem = _routed_problem(estimator, name, space, sample, where)
                    if problem is not None:
                        problems.append(problem)
                    continue
                problems.append(
                    _not_every_swap(name, space, where)
                    or _unknown_name(estimator, name, where)
                )
                first = first or refusal
                continue
            source = (
                " (drawn from the distribution)"
                if _is_distribution(space[name])
                else ""
            )
            kinds = _wrong_kinds(owners, values, f"{where}[{name!r}]")
            if kinds:
                problems += kinds
                continue
            for owner, param in owners:
                bad = _illegal_values(owner, param, values)
                if bad:
                    shown = ", ".join(_describe(v) for v in bad[: 2 if source else 5])
                    if source and len(bad) > 2:
                        shown += f", ... ({len(bad)} of {len(values)} draws)"
                    sklearn_message = _constraint_message(owner, param, bad[0])
                    allowed = sklearn_message[: sklearn_message.rfind(" Got ")]
                    problems.append(
                        f"{where}[{name!r}] holds values that "
                        f"{type(owner).__name__} does not accept{source}: {shown}. "
                        f"{allowed}"
                    )
                    if first is None:
                        first, kind = sklearn_message, SpaceValueError
                    break
    _raise_if(problems, first, kind)


def _wrong_kinds(
    owners: list[tuple[Any, str]], values: list[Any], label: str
) -> list[str]:
    """Values that cannot stand where they are put: a dict or a name where a
    step must be an estimator, and problems inside estimator values."""
    for owner, param in owners:
        problem = slot_problem(owner, param, values, label)
        if problem is not None:
            return [problem]
        found = [p for v in values for p in parts_problems(owner, param, v, label)]
        if found:
            return found
    return [
        problem
        for value in values
        if hasattr(value, "get_params") and not isinstance(value, type)
        for problem in estimator_problems(value, f"{label}'s {type(value).__name__}")
    ]


def _owners(
    estimator: Any, name: str, space: Mapping[str, Any]
) -> list[tuple[Any, str]] | None:
    """The objects that own parameter ``name`` and its last part.

    For ``clf__C`` the owner is the pipeline's step ``clf``; if the same space
    also sets ``clf`` itself, each estimator listed there owns ``C`` in turn.
    Returns None when the name does not exist.
    """
    prefix, _, param = name.rpartition("__")
    if not prefix:
        return [(estimator, param)] if param in _param_names(estimator) else None
    if prefix in space and _is_value_list(space[prefix]):
        candidates = [v for v in space[prefix] if hasattr(v, "get_params")]
    else:
        parents = _owners(estimator, prefix, {})
        if parents is None:
            return None
        parent, last = parents[0]
        sub = parent.get_params(deep=True).get(last)
        candidates = [sub] if hasattr(sub, "get_params") else []
    if not candidates:
        return None
    if not all(param in _param_names(c) for c in candidates):
        return None
    return [(c, param) for c in candidates]


def _routed_problem(
    estimator: Any, name: str, space: Mapping[str, Any], sample: Any, where: str
) -> str | None:
    """What is wrong with a name the estimator does not list, if anything.

    The name is accepted when ``set_params`` on a clone accepts it and, where
    it is routed to a class or function the estimator holds (skorch's
    ``module__hidden`` to its module class, scikeras' ``model__hidden`` to its
    model function, ``optimizer__lr`` to an optimizer class), that class or
    function takes an argument of that name.
    """
    prefix = next(
        (
            p
            for p in sorted(space, key=len, reverse=True)
            if name.startswith(p + "__") and _is_value_list(space[p])
        ),
        None,
    )
    if prefix is not None:  # e.g. {"clf": [net_a, net_b], "clf__module__x": ...}
        rest = name[len(prefix) + 2 :]
        owners = [v for v in space[prefix] if hasattr(v, "get_params")]
        for owner in owners:
            problem = _routed_problem(owner, rest, {}, sample, where)
            if problem is not None:
                return problem.replace(repr(rest), repr(name), 1)
        return None if owners else _unknown_name(estimator, name, where)
    if not settable(estimator, name, sample):
        return _unknown_name(estimator, name, where)
    return _signature_problem(estimator, name, where)


def settable(estimator: Any, name: str, value: Any) -> bool:
    """Whether ``set_params`` on a clone of ``estimator`` takes ``name=value``."""
    try:
        clone(estimator).set_params(**{name: value})
    except Exception:
        return False
    return True


def _signature_problem(estimator: Any, name: str, where: str) -> str | None:
    """A routed name whose target class or function takes no such argument."""
    path, _, arg = name.rpartition("__")
    if not path:
        return None
    target = estimator.get_params(deep=True).get(path)
    if not (isinstance(target, type) or inspect.isfunction(target)):
        return None  # an instance, a string ("adam"), a list: nothing to look at
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):  # some builtins have none
        return None
    params = signature.parameters
    if arg in params or any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return None
    takes = [
        p.name
        for p in params.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self"
    ]
    close = difflib.get_close_matches(arg, takes, n=2)
    hint = (
        f" Did you mean {' or '.join(repr(f'{path}__{c}') for c in close)}?"
        if close
        else ""
    )
    owner = path.rpartition("__")[0]
    holder = (
        type(estimator).__name__
        if not owner
        else type(estimator.get_params(deep=True)[owner]).__name__
    )
    return (
        f"{where}[{name!r}] must name an argument of {_qualname(target)}, which "
        f"{holder} calls with the {path.rpartition('__')[2]}__* parameters; got "
        f"{arg!r}, which it does not take.{hint} It takes: "
        f"{', '.join(takes) or 'no arguments'}."
    )


def _param_names(obj: Any) -> set[str]:
    names = set(obj.get_params(deep=False))
    # Meta-estimators (Pipeline, ColumnTransformer, ...) expose their named
    # sub-estimators as parameters only in the deep listing.
    names.update(k for k in obj.get_params(deep=True) if "__" not in k)
    return names


def _not_every_swap(name: str, space: Mapping[str, Any], where: str) -> str | None:
    """The message for ``clf__C`` when some estimators listed for ``clf`` lack C."""
    prefix, _, param = name.rpartition("__")
    values = space.get(prefix)
    if not prefix or values is None or not _is_value_list(values):
        return None
    listed = [v for v in values if hasattr(v, "get_params")]
    lacking = [v for v in listed if param not in _param_names(v)]
    if not listed or not lacking or len(lacking) == len(listed):
        return None
    names = ", ".join(sorted({type(v).__name__ for v in lacking}))
    return (
        f"{where}[{name!r}] must name a parameter of every estimator listed for "
        f"{prefix!r}; got {param!r}, which {names} does not have. Put those "
        "estimators in a space of their own (a list of dicts; in a study file, "
        "[[search.space]] tables)."
    )


def _unknown_name(estimator: Any, name: str, where: str) -> str:
    valid = sorted(estimator.get_params(deep=True))
    close = difflib.get_close_matches(name, valid, n=3)
    hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
    shown = ", ".join(valid[:40]) + (", ..." if len(valid) > 40 else "")
    return (
        f"{where} names {name!r}, which is not a parameter of "
        f"{type(estimator).__name__}.{hint} Valid parameters are: {shown}."
    )


def _illegal_values(owner: Any, param: str, values: list[Any]) -> list[Any]:
    constraints = getattr(owner, "_parameter_constraints", {}).get(param)
    if constraints is None or constraints == "no_validation":
        return []
    bad = []
    for value in values:
        try:
            validate_parameter_constraints(
                {param: constraints}, {param: value}, caller_name=type(owner).__name__
            )
        except InvalidParameterError:
            bad.append(value)
    return bad


def _constraint_message(owner: Any, param: str, value: Any) -> str:
    """scikit-learn's own message for an illegal value: what is accepted, and
    ``Got <value> instead.``"""
    constraints = owner._parameter_constraints[param]
    try:
        validate_parameter_constraints(
            {param: constraints}, {param: value}, caller_name=type(owner).__name__
        )
    except InvalidParameterError as exc:
        return str(exc)
    return ""


def _set_params_refusal(
    estimator: Any, name: str, values: list[Any], space: Mapping[str, Any]
) -> str | None:
    """scikit-learn's error when a fit would set ``name``, or None if accepted.

    A search sets a candidate's parameters with ``clone(estimator).set_params``;
    this does the same with the first value (and, when the space also sets the
    parent, with each estimator listed there).
    """
    value = values[0] if values else None
    prefix = name.rpartition("__")[0]
    parents: list[Any] = [None]
    if prefix and prefix in space and _is_value_list(space[prefix]):
        parents = [v for v in space[prefix] if hasattr(v, "get_params")] or [None]
    for parent in parents:
        params = {name: value} if parent is None else {prefix: parent, name: value}
        try:
            clone(estimator).set_params(**params)
        except Exception as exc:  # what the first fit would raise
            return str(exc)
    return None
