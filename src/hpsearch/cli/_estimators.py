"""Estimators in a study file: a table ``{ class = "...", params = { ... } }``
wherever a parameter value may be an estimator.

:func:`make_estimator` builds one table (its parameters may hold more
tables: a ``ColumnTransformer``'s transformers, a meta-estimator's
``estimator``); :func:`to_value` turns any TOML value into the parameter
value it stands for. Every parameter is checked by the Python API's own space
check as a one-value grid, so a study file refuses what a search would.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import re
from typing import Any

from hpsearch._errors import SpaceError
from hpsearch._extras import EXTRAS
from hpsearch._search import GridSearchCV
from hpsearch._slots import estimator_problems
from hpsearch._space import settable
from hpsearch.cli._schema import ESTIMATOR_KEYS, NONE
from hpsearch.cli._toml import KeyPath, Problems, describe, dotted


class _Failed:
    """A value that could not be built; its problems are recorded."""

    def __repr__(self) -> str:
        return "<failed>"


FAILED: Any = _Failed()


def is_estimator_table(value: Any) -> bool:
    """A TOML table that stands for an estimator: it has a ``class`` key."""
    return isinstance(value, dict) and "class" in value


def to_value(value: Any, path: KeyPath, p: Problems) -> Any:
    """A TOML value as a parameter value; FAILED when a table inside failed.

    The string "None" is None, a table with ``class`` an estimator, and an
    array of ``[name, estimator, ...]`` arrays a list of tuples (the form of
    ``Pipeline.steps`` and ``ColumnTransformer.transformers``).
    """
    if isinstance(value, str) and value == NONE:
        return None
    if is_estimator_table(value):
        built = make_estimator(value, path, p)
        return FAILED if built is None else built
    if isinstance(value, dict):
        out = {k: to_value(v, (*path, k), p) for k, v in value.items()}
        return FAILED if any(v is FAILED for v in out.values()) else out
    if isinstance(value, list):
        items = [to_value(v, (*path, i), p) for i, v in enumerate(value)]
        if any(v is FAILED for v in items):
            return FAILED
        return _named_parts(items)
    return value


def _named_parts(items: list[Any]) -> list[Any]:
    """``[["num", StandardScaler(), ["age"]], ...]`` as a list of tuples."""
    parts = all(
        isinstance(i, list) and len(i) in (2, 3) and isinstance(i[0], str)
        for i in items
    )
    if parts and items and any(hasattr(i[1], "get_params") for i in items):
        return [tuple(i) for i in items]
    return items


def import_class(path_text: str, path: KeyPath, p: Problems) -> Any:
    """The estimator class an import path names; None (recorded) if none."""
    module_name, _, attr = path_text.rpartition(".")
    if not module_name:
        p.add(
            path,
            f'must be a full import path such as "sklearn.svm.SVC"; got {path_text!r}.',
        )
        return None
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        extra = EXTRAS.get(str(getattr(exc, "name", "")).split(".")[0])
        hint = (
            f"Install it with: pip install 'hpsearch[{extra}]'"
            if extra
            else "Is it installed?"
        )
        p.add(
            path,
            f"must be an importable path; got {path_text!r}, but module "
            f"{module_name!r} cannot be imported ({exc}). {hint}",
        )
        return None
    obj = getattr(module, attr, None)
    if obj is None:
        public = [n for n in dir(module) if not n.startswith("_")]
        close = difflib.get_close_matches(attr, public, n=3)
        hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
        p.add(
            path,
            f"must be an importable path; got {path_text!r}, but module "
            f"{module_name!r} has no {attr!r}.{hint}",
        )
        return None
    if not (isinstance(obj, type) and hasattr(obj, "get_params")):
        p.add(
            path,
            "must name a scikit-learn-compatible estimator class (with "
            f"get_params and set_params); got {path_text!r}.",
        )
        return None
    return obj


def check_table(table: dict[str, Any], path: KeyPath, p: Problems) -> bool:
    """Check an estimator table's keys and ``class``; True when it can be built."""
    before = len(p.messages)
    p.unknown_keys(table, path, ESTIMATOR_KEYS)
    if not (isinstance(table.get("class"), str) and table["class"]):
        p.add(
            (*path, "class"),
            f"must be an import path; got {describe(table.get('class'))}.",
        )
    if "params" in table and not isinstance(table["params"], dict):
        p.add(
            (*path, "params"),
            f"must be a table of fixed parameters; got {describe(table['params'])}.",
        )
    return len(p.messages) == before


def make_estimator(
    table: dict[str, Any], path: KeyPath, p: Problems, checked: bool = False
) -> Any:
    """The estimator a table describes, its parameters checked; None if it fails."""
    if not checked and not check_table(table, path, p):
        return None
    cls = import_class(table["class"], (*path, "class"), p)
    if cls is None:
        return None
    here = (*path, "params")
    params = {k: to_value(v, (*here, k), p) for k, v in table.get("params", {}).items()}
    if any(v is FAILED for v in params.values()):
        return None
    signature = _init_parameters(cls)
    # Parameters without a default (a ColumnTransformer's transformers) are
    # given to the constructor; the others are checked first, then set.
    required = {k: params[k] for k in signature if k in params}
    try:
        estimator = cls(**required)
    except Exception as exc:
        missing = [k for k, v in signature.items() if v and k not in params]
        hint = (
            f" Give {', '.join(missing)} in params."
            if missing
            else " Fixed parameters go in params."
        )
        p.add(
            (*path, "class"),
            f"must be constructible from its params; {table['class']}() raised "
            f"{type(exc).__name__}: {exc}.{hint}",
        )
        return None
    if _report(estimator_problems(estimator, "estimator"), here, p):
        return None
    set_fixed(
        estimator, {k: v for k, v in params.items() if k not in required}, here, p
    )
    return estimator


def _init_parameters(cls: type) -> dict[str, bool]:
    """The constructor's parameter names, each True when it has no default."""
    try:
        signature = inspect.signature(cls.__init__)  # type: ignore[misc]
    except (TypeError, ValueError):
        return {}
    return {
        name: param.default is inspect.Parameter.empty
        for name, param in signature.parameters.items()
        if name != "self"
        and param.kind not in (param.VAR_POSITIONAL, param.VAR_KEYWORD)
        and param.default is inspect.Parameter.empty
    }


def set_fixed(
    estimator: Any, params: dict[str, Any], path: KeyPath, p: Problems
) -> None:
    """Set fixed parameters, each checked as a one-value grid by the API.

    Only the parameters that pass are set, so that the rest of the file is
    still checked against a sound estimator.
    """
    valid = estimator.get_params(deep=True)
    # Names a wrapper routes (skorch's module__*, scikeras' model__*) are not
    # listed by get_params: the API's space check below judges them.
    known = {k: v for k, v in params.items() if k in valid or settable(estimator, k, v)}
    for name in params:
        if name not in known:
            close = difflib.get_close_matches(name, list(valid), n=3)
            hint = f"Did you mean {' or '.join(map(repr, close))}? " if close else ""
            p.add(
                (*path, name),
                f"must be a parameter of {type(estimator).__name__}; got {name!r}. "
                f"{hint}Valid parameters: {', '.join(sorted(valid))}.",
            )
    bad: set[str] = set()
    try:
        GridSearchCV(estimator, {k: [v] for k, v in known.items()})._check_space()
    except SpaceError as exc:
        bad = _report(problem_lines(exc.explanation), path, p)
    estimator.set_params(**{k: v for k, v in known.items() if k not in bad})


def _report(problems: list[str], path: KeyPath, p: Problems) -> set[str]:
    """Record the API's problems under the file's keys; return the names hit."""
    names = set()
    for problem in problems:
        match = re.match(
            r"(?:param_grid\['([^']+)'\]|estimator's (\w+)|estimator\.(\w+))(.*)",
            problem,
            re.S,
        )
        if match is None:
            p.add(path, problem)
            continue
        name = match.group(1) or match.group(2) or match.group(3)
        names.add(name)
        key = (*path, name)
        text = in_file_words(match.group(4))
        p.messages.append(f"{p.where(key)}: {dotted(key)}{text}")
    return names


_API_HINT = re.compile(
    r"Give (estimator objects|an estimator object), such as \w+\(\), "
    r"not (their names or dicts|its name or a dict)\."
)
_TABLE_HINT = (
    'In a study file an estimator is a table: { class = "sklearn.svm.SVC", '
    "params = { C = 10 } }."
)


def in_file_words(text: str) -> str:
    """The API's hint for an estimator value, as a study file writes one."""
    named = re.search(r"got '([A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)+)' \(str\)", text)
    hint = _TABLE_HINT
    if named is not None:
        hint = f'Write the estimator as a table: {{ class = "{named.group(1)}" }}.'
    text = _API_HINT.sub(hint, text)
    if "must be an object implementing" in text and hint not in text:
        text += " " + hint
    return text


def problem_lines(message: str) -> list[str]:
    """A SpaceError's problems, one per item."""
    if message.startswith("The search space has "):
        return message.split("\n- ")[1:] or [message]
    return [message.split("\n- ", 1)[-1]]
