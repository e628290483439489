"""Where an estimator must stand, and what may stand there instead.

A composition holds named parts: a ``Pipeline``'s steps, the transformers of a
``FeatureUnion`` or a ``ColumnTransformer``, the estimators of a voting or
stacking ensemble. Each part is a *slot*: an estimator, or one of the few
strings the composition takes in its place (``"passthrough"``, ``"drop"``).
scikit-learn only finds out at the first fit that a slot holds a dict or a
string; :func:`slot_problem`, :func:`parts_problems` and
:func:`estimator_problems` find out before, so that a search refuses such a
space with a :class:`~hpsearch.SpaceError` and nothing is fitted or stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    StackingClassifier,
    StackingRegressor,
    VotingClassifier,
    VotingRegressor,
)
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.utils._param_validation import (
    InvalidParameterError,
    validate_parameter_constraints,
)


@dataclass(frozen=True)
class Parts:
    """How a composition lists its parts."""

    attr: str  # the parameter holding the list: "steps", "transformers", ...
    width: int  # (name, estimator) or (name, transformer, columns)
    stand_ins: tuple[str | None, ...]  # what may stand in for an estimator
    transformers: bool  # parts must transform (all but a pipeline's last step)


_PARTS: list[tuple[tuple[type, ...], Parts]] = [
    ((Pipeline,), Parts("steps", 2, ("passthrough", None), transformers=True)),
    (
        (FeatureUnion,),
        Parts("transformer_list", 2, ("drop", "passthrough"), transformers=True),
    ),
    (
        (ColumnTransformer,),
        Parts("transformers", 3, ("drop", "passthrough"), transformers=True),
    ),
    (
        (VotingClassifier, VotingRegressor, StackingClassifier, StackingRegressor),
        Parts("estimators", 2, ("drop",), transformers=False),
    ),
]


def parts_of(owner: Any) -> Parts | None:
    """How ``owner`` lists its named parts; None when it is no composition."""
    for classes, parts in _PARTS:
        if isinstance(owner, classes):
            return parts
    return None


def _describe(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def _is_estimator(value: Any) -> bool:
    return hasattr(value, "fit") and hasattr(value, "get_params")


def _transforms(value: Any) -> bool:
    return hasattr(value, "transform") or hasattr(value, "fit_transform")


def _rule(owner: Any, parts: Parts, last: bool) -> tuple[str, str]:
    """What a part of ``owner`` must be, and an example."""
    if parts.transformers and not last:
        what, example = (
            "a transformer (an object with fit and transform)",
            ("StandardScaler()"),
        )
    else:
        what, example = "an estimator (an object with fit)", "SVC()"
    stand_ins = " or ".join(repr(s) for s in parts.stand_ins)
    return f"{what} or {stand_ins}", example


def part_value_problem(
    owner: Any, parts: Parts, value: Any, last: bool
) -> tuple[str, str] | None:
    """(rule, example) when ``value`` cannot stand in a part of ``owner``."""
    if any(
        value is s or (isinstance(value, str) and value == s) for s in parts.stand_ins
    ):
        return None
    needs_transform = parts.transformers and not last
    if _is_estimator(value) and (not needs_transform or _transforms(value)):
        return None
    return _rule(owner, parts, last)


def slot_problem(
    owner: Any, param: str, values: Sequence[Any], label: str
) -> str | None:
    """What is wrong with ``values`` set for the named part ``param`` of ``owner``.

    None when ``param`` is no named part, or when every value may stand there.
    """
    parts = parts_of(owner)
    if parts is None:
        return None
    names = [part[0] for part in getattr(owner, parts.attr, None) or ()]
    if param not in names:
        return None
    last = isinstance(owner, Pipeline) and names.index(param) == len(names) - 1
    bad = [v for v in values if part_value_problem(owner, parts, v, last)]
    if not bad:
        return None
    rule, example = _rule(owner, parts, last)
    kind = "step" if isinstance(owner, Pipeline) else "part"
    shown = ", ".join(_describe(v) for v in bad[:3])
    return (
        f"{label} must hold values that can be {type(owner).__name__}'s {kind} "
        f"{param!r}: {rule}; got {shown}. Give estimator objects, such as "
        f"{example}, not their names or dicts."
    )


def parts_problems(owner: Any, param: str, value: Any, label: str) -> list[str]:
    """What is wrong with ``value`` as the whole list of parts of ``owner``."""
    parts = parts_of(owner)
    if parts is None or param != parts.attr:
        return []
    form = "(name, estimator)" if parts.width == 2 else "(name, transformer, columns)"
    if not isinstance(value, list | tuple):
        return [f"{label} must be a list of {form} tuples; got {_describe(value)}."]
    problems = []
    for i, part in enumerate(value):
        here = f"{label}[{i}]"
        if not (
            isinstance(part, list | tuple)
            and len(part) == parts.width
            and isinstance(part[0], str)
        ):
            problems.append(f"{here} must be a {form} tuple; got {_describe(part)}.")
            continue
        last = isinstance(owner, Pipeline) and i == len(value) - 1
        wrong = part_value_problem(owner, parts, part[1], last)
        if wrong is not None:
            rule, example = wrong
            problems.append(
                f"{here}[1], the {type(owner).__name__} part {part[0]!r}, must be "
                f"{rule}; got {_describe(part[1])}. Give an estimator object, "
                f"such as {example}, not its name or a dict."
            )
    return problems


def estimator_problems(estimator: Any, label: str) -> list[str]:
    """What is wrong inside an estimator: its parts and its own parameters.

    Walks nested estimators (pipeline steps, a meta-estimator's ``estimator``)
    and checks each one's parameters against the constraints it declares.
    """
    problems: list[str] = []
    params = estimator.get_params(deep=False)
    constraints = getattr(estimator, "_parameter_constraints", None)
    if isinstance(constraints, dict):
        for name, value in params.items():
            if name not in constraints or constraints[name] == "no_validation":
                continue
            try:
                validate_parameter_constraints(
                    {name: constraints[name]},
                    {name: value},
                    caller_name=type(estimator).__name__,
                )
            except InvalidParameterError as exc:
                text = str(exc)
                text = text[: text.rfind(" Got ")] if " Got " in text else text
                problems.append(
                    f"{label}'s {name} must be allowed by "
                    f"{type(estimator).__name__}; got {_describe(value)}. {text}"
                )
    parts = parts_of(estimator)
    for name, value in params.items():
        here = f"{label}.{name}"
        if parts is not None and name == parts.attr:
            found = parts_problems(estimator, name, value, here)
            problems += found
            if not found:
                for i, part in enumerate(value):
                    if _is_estimator(part[1]):
                        problems += estimator_problems(part[1], f"{here}[{i}][1]")
        elif _is_estimator(value) and not isinstance(value, type):
            problems += estimator_problems(value, here)
    return problems
