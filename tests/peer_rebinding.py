"""Run a scikit-learn test module against hpsearch's classes.

:func:`rebind_module` returns the module's test functions with scikit-learn's
classes replaced by hpsearch's, in the module's globals (used by the test
bodies) and in the values of their ``parametrize`` marks (bound when the
module was imported), ready to be put in a test module's namespace.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Mapping
from types import ModuleType
from typing import Any

import pytest


def _swap(value: Any, replace: Mapping[Any, Any]) -> Any:
    if isinstance(value, type) and value in replace:
        return replace[value]
    if isinstance(value, tuple) and type(value) is tuple:
        return tuple(_swap(v, replace) for v in value)
    if isinstance(value, list):
        return [_swap(v, replace) for v in value]
    if type(value).__name__ == "ParameterSet":
        return pytest.param(
            *_swap(tuple(value.values), replace), marks=value.marks, id=value.id
        )
    return value


def rebind_module(
    module: ModuleType, replace: Mapping[Any, Any], differences: Mapping[str, str]
) -> dict[str, Any]:
    """``{name: test function}`` of ``module``, rebound to ``replace``'s values."""
    for name, value in list(vars(module).items()):
        if isinstance(value, type) and value in replace:
            setattr(module, name, replace[value])
    tests = {}
    for name, function in vars(module).items():
        if not (name.startswith("test_") and callable(function)):
            continue

        @functools.wraps(function)
        def test(*args: Any, __f: Any = function, **kwargs: Any) -> Any:
            return __f(*args, **kwargs)

        marks = []
        for mark in getattr(function, "pytestmark", []):
            if mark.name == "parametrize":
                names, values = mark.args[:2]
                mark = pytest.mark.parametrize(
                    names, _swap(list(values), replace), **mark.kwargs
                ).mark
            marks.append(mark)
        test.pytestmark = marks  # type: ignore[attr-defined]
        # pytest must see the marks above and the original's arguments only.
        del test.__wrapped__
        test.__signature__ = inspect.signature(function)  # type: ignore[attr-defined]
        if name in differences:
            test = pytest.mark.xfail(reason=differences[name], strict=True)(test)
        tests[name] = test
    return tests
