"""What differs between the scikit-learn releases hpsearch supports.

hpsearch works with the three latest minor releases (see pyproject.toml). The
search classes derive from scikit-learn's and use a few of their private
helpers; where a release lacks one, the shim here stands in:

- callbacks (``_init_callback_context`` and its contexts) came in 1.9: before,
  :class:`NoCallbacks` takes their calls and does nothing, as a search without
  callbacks does in 1.9;
- ``BaseSearchCV._check_input_parameters`` came in 1.9 (the halving classes
  had theirs before): before, only the halving classes check;
- messages scikit-learn reworded: :func:`inconsistent_splits` says what the
  installed release says.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import sklearn

# The installed release as (major, minor): 1.7.2 -> (1, 7).
SKLEARN_VERSION = tuple(
    int(part) for part in re.findall(r"\d+", sklearn.__version__)[:2]
)


class NoCallbacks:
    """A callback context that calls nothing (scikit-learn before 1.9)."""

    def subcontext(self, *args: Any, **kwargs: Any) -> NoCallbacks:
        """Another context that calls nothing."""
        return self

    def call_on_fit_task_begin(self, *args: Any, **kwargs: Any) -> NoCallbacks:
        """Nothing to call."""
        return self

    def call_on_fit_task_end(self, *args: Any, **kwargs: Any) -> NoCallbacks:
        """Nothing to call."""
        return self

    @contextlib.contextmanager
    def propagate_callback_context(self, estimator: Any) -> Iterator[None]:
        """Nothing to propagate."""
        yield


def callback_context(search: Any, max_subtasks: int) -> Any:
    """The search's root callback context (a no-op one before 1.9)."""
    init = getattr(search, "_init_callback_context", None)
    if init is None:
        return NoCallbacks()
    return init(max_subtasks=max_subtasks)


def check_input_parameters(search: Any, X: Any, y: Any, split_params: Any) -> None:
    """scikit-learn's ``_check_input_parameters`` where the release has one."""
    check = getattr(search, "_check_input_parameters", None)
    if check is not None:
        check(X=X, y=y, split_params=split_params)


def inconsistent_splits(expected: int, got: int) -> ValueError:
    """scikit-learn's error when ``cv.split`` gives another number of splits
    than ``cv.get_n_splits`` ("returned" before 1.9, "return" from 1.9)."""
    verb = "return" if SKLEARN_VERSION >= (1, 9) else "returned"
    return ValueError(
        f"cv.split and cv.get_n_splits {verb} inconsistent results. "
        f"Expected {expected} splits, got {got}"
    )
