"""Run a scikit-learn test module against hpsearch's classes.

:func:`rebind` replaces scikit-learn's classes by hpsearch's in a test
module's globals (read by the test bodies) and in the values of its
``parametrize`` marks (bound when the module was imported: classes, searches
built at import, partials), and returns its test functions, ready to be put
in a test module's namespace so that pytest collects them there.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

import pytest


def swapper(replace: Mapping[type, type]) -> Callable[[Any], Any]:
    """A function that replaces ``replace``'s keys by its values, deeply."""

    def swap(value: Any) -> Any:
        if isinstance(value, type) and value in replace:
            return replace[value]
        if type(value) in replace:  # a search built at import, for a parametrization
            swapped = replace[type(value)](**value.get_params(deep=False))
            if hasattr(value, "_skl_callbacks"):
                swapped.set_callbacks(*value._skl_callbacks)
            return swapped
        if isinstance(value, functools.partial) and value.func in replace:
            return functools.partial(replace[value.func], *value.args, **value.keywords)
        if type(value).__name__ == "ParameterSet":
            return value._replace(values=tuple(swap(v) for v in value.values))
        if isinstance(value, tuple):
            return tuple(swap(v) for v in value)
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value

    return swap


def rebind(module: ModuleType, replace: Mapping[type, type]) -> dict[str, Any]:
    """``{name: test function}`` of ``module``, rebound to ``replace``'s values."""
    swap = swapper(replace)
    for name, value in list(vars(module).items()):
        swapped = swap(value)
        if swapped is not value:
            setattr(module, name, swapped)
    tests = {}
    for name, function in list(vars(module).items()):
        if not (name.startswith("test_") and inspect.isfunction(function)):
            continue
        marks = []
        for mark in getattr(function, "pytestmark", []):
            if mark.name == "parametrize":
                args = (mark.args[0], swap(list(mark.args[1])), *mark.args[2:])
                mark = pytest.mark.parametrize(*args, **mark.kwargs).mark
            marks.append(mark)
        if marks:
            function.pytestmark = marks
        tests[name] = function
    return tests
