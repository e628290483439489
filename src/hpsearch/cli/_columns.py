"""The data understood before any fit: column kinds, missing values, and
whether the estimator can take them.

:func:`profile` says what each feature column holds (number, category, text,
date) and how many cells are empty. :func:`data_problems` follows the
columns through the estimator (pipeline steps, a ``ColumnTransformer``'s
column lists, ``"drop"`` and ``"passthrough"``) and asks each estimator that
receives raw columns, through scikit-learn's tags, whether it takes text
categories (``input_tags.categorical`` or ``input_tags.string``) and missing
values (``input_tags.allow_nan``). An estimator with native categorical
support (``categorical_features``, as the histogram gradient boosting
models) takes columns of pandas ``category`` dtype: ``[data] categorical``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.utils import get_tags

KINDS = ("number", "category", "text", "date")

# A text column with more distinct values than this (and than a fifth of its
# cells) is free text rather than categories.
MAX_CATEGORIES = 50


@dataclass(frozen=True)
class Column:
    """One feature column: its kind, empty cells, distinct values."""

    name: str
    kind: str
    missing: int
    distinct: int
    pandas_category: bool = False  # a pandas ``category`` dtype

    def brief(self) -> str:
        """``plan category (3 values, 42 missing)``."""
        details = self.describe().removeprefix(self.kind).strip()
        return f"{self.name} {self.kind}" + (f" ({details})" if details else "")

    def describe(self) -> str:
        """``category  5 values, 42 missing``."""
        parts = []
        if self.kind in ("category", "text"):
            parts.append(f"{self.distinct} values")
        if self.pandas_category:
            parts.append("category dtype")
        if self.missing:
            parts.append(f"{self.missing} missing")
        return f"{self.kind:<9} {', '.join(parts)}".rstrip()


def summary(columns: Sequence[Column]) -> str:
    """``2 number, 2 category (2 with missing values)``."""
    counts = {k: sum(c.kind == k for c in columns) for k in KINDS}
    text = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
    holes = sum(1 for c in columns if c.missing)
    return text + (f"; {holes} with missing values" if holes else "")


def profile(X: pd.DataFrame) -> list[Column]:
    """The kind and the empty cells of every column of ``X``."""
    return [_column(str(name), X[name]) for name in X.columns]


def _column(name: str, values: pd.Series) -> Column:
    missing = int(values.isna().sum())
    present = values.dropna()
    distinct = int(present.nunique())
    category = isinstance(values.dtype, pd.CategoricalDtype)
    if category:
        kind = "category"
    elif pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        kind = "number"
    elif pd.api.types.is_datetime64_any_dtype(values) or _dates(present):
        kind = "date"
    elif distinct <= max(MAX_CATEGORIES, len(present) // 5):
        kind = "category"
    else:
        kind = "text"
    return Column(name, kind, missing, distinct, category)


def _dates(values: pd.Series) -> bool:
    """Whether every value is text written as an ISO date."""
    head = list(values[:50])
    # "2024-01-31" or "2024-01-31T08:00": a bare "2024" is a number, not a date.
    if not head or not all(
        isinstance(v, str) and len(v) >= 8 and "-" in v for v in head
    ):
        return False
    parsed = pd.to_datetime(values, format="ISO8601", errors="coerce")
    return bool(parsed.notna().all())


# ---------------------------------------------------------------------------
# Following the columns through the estimator


@dataclass(frozen=True)
class DataProblem:
    """Raw columns that reach an estimator which cannot take them."""

    estimator: str  # the class name
    what: str  # "text" or "missing"
    columns: tuple[Column, ...]
    native_categories: bool  # the estimator takes pandas category columns

    def message(self) -> str:
        """``data columns ... must ...; got .... <fix>``."""
        names = ", ".join(c.name for c in self.columns)
        many = len(self.columns) > 1
        subject = f"data column{'s' if many else ''} {names}"
        if self.what == "missing":
            counts = ", ".join(str(c.missing) for c in self.columns)
            return (
                f"{subject} must have no missing values for {self.estimator}, "
                "which does not take them (scikit-learn's tags: allow_nan is "
                f"False); got {counts} empty cell{'s' if many or counts != '1' else ''}"
                ". Add an imputer step before it (a [[estimator.steps]] with "
                'class = "sklearn.impute.SimpleImputer"), or use an estimator that '
                "takes missing values, such as "
                "sklearn.ensemble.HistGradientBoostingClassifier."
            )
        kinds = [
            {"category": "text categories", "text": "free text"}.get(k, f"{k}s as text")
            for k in sorted({c.kind for c in self.columns})
        ]
        quoted = ", ".join(f'"{c.name}"' for c in self.columns)
        if self.native_categories:
            fix = (
                f"List them in [data] categorical = [{quoted}]: {self.estimator} "
                "takes pandas category columns natively. Or encode them in the "
                "pipeline (a ColumnTransformer with a OneHotEncoder on them)."
            )
        else:
            fix = (
                "Encode them in the pipeline: a first step with class = "
                '"sklearn.compose.ColumnTransformer" that gives them to '
                '{ class = "sklearn.preprocessing.OneHotEncoder" }, or leave them out '
                "of [data] features."
            )
        if any(c.kind == "date" for c in self.columns):
            fix += " Dates are text to an estimator: derive numbers from them."
        return (
            f"{subject} must be numbers for {self.estimator}, which takes no text "
            "categories (scikit-learn's tags: categorical and string are False); "
            f"got {' and '.join(kinds)}. {fix}"
        )


_STAND_INS = ("passthrough", None)


def data_problems(
    estimator: Any, X: pd.DataFrame, columns: list[Column]
) -> list[DataProblem]:
    """Raw columns that reach an estimator which cannot take them."""
    problems: list[DataProblem] = []
    _flow(estimator, columns, X, problems)
    return problems


def _flow(
    est: Any, cols: list[Column], X: pd.DataFrame, found: list[DataProblem]
) -> list[Column] | None:
    """Check ``est`` on ``cols``; the columns it passes on (None: unknown)."""
    if est is None or (isinstance(est, str) and est == "passthrough"):
        return cols
    if isinstance(est, str) and est == "drop":
        return []
    if isinstance(est, Pipeline):
        for _, step in est.steps:
            out = _flow(step, cols, X, found)
            if out is None:
                return None
            cols = out
        return cols
    if isinstance(est, ColumnTransformer):
        return _flow_columns(est, cols, X, found)
    if isinstance(est, FeatureUnion):
        outs = [_flow(t, cols, X, found) for _, t in est.transformer_list]
        return None if any(o is None for o in outs) else [c for o in outs for c in o]  # type: ignore[union-attr]
    return _leaf(est, cols, found)


def _flow_columns(
    ct: ColumnTransformer, cols: list[Column], X: pd.DataFrame, found: list[DataProblem]
) -> list[Column] | None:
    by_name = {c.name: c for c in cols}
    names = [c.name for c in cols]
    used: set[str] = set()
    out: list[Column] = []
    for _, transformer, selection in ct.transformers:
        chosen = _select(selection, names, X)
        if chosen is None:
            return None
        used.update(chosen)
        passed = _flow(transformer, [by_name[n] for n in chosen], X, found)
        if passed is None:
            return None
        out += passed
    rest = [by_name[n] for n in names if n not in used]
    if rest:
        passed = _flow(ct.remainder, rest, X, found) if ct.remainder != "drop" else []
        if passed is None:
            return None
        out += passed
    return out


def _select(selection: Any, names: list[str], X: pd.DataFrame) -> list[str] | None:
    """The column names a ColumnTransformer selection picks; None if unknown."""
    try:
        if callable(selection):
            selection = selection(X)
        if isinstance(selection, str):
            return [selection] if selection in names else None
        if isinstance(selection, int | np.integer):
            return [names[selection]]
        if isinstance(selection, slice):
            return names[selection]
        values = list(selection)
        if all(isinstance(v, bool | np.bool_) for v in values):
            return [n for n, keep in zip(names, values, strict=True) if keep]
        if all(isinstance(v, int | np.integer) for v in values):
            return [names[i] for i in values]
        if all(isinstance(v, str) for v in values) and set(values) <= set(names):
            return values
    except Exception:  # a selection the fit would refuse: let it say so
        return None
    return None


def _takes_text(est: Any) -> bool | None:
    """Whether ``est`` takes text categories; None when nothing can be told."""
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import FunctionTransformer

    if isinstance(est, FunctionTransformer):
        return None  # it may do anything, and its tags do not say
    if isinstance(est, SimpleImputer):
        return est.strategy in ("most_frequent", "constant")
    tags = get_tags(est).input_tags
    return bool(tags.categorical or tags.string)


def _native_categories(est: Any) -> bool:
    """Whether ``est`` takes pandas category columns itself."""
    params = est.get_params(deep=False)
    return (
        params.get("categorical_features") is not None  # HistGradientBoosting*
        or params.get("enable_categorical") is True  # XGBoost
        or "categorical_feature" in params  # LightGBM ("auto": category dtype)
        or params.get("cat_features") is not None  # CatBoost
    )


def _leaf(
    est: Any, cols: list[Column], found: list[DataProblem]
) -> list[Column] | None:
    takes_text = _takes_text(est)
    if takes_text is None:
        return None
    name = type(est).__name__
    native = _native_categories(est)
    if not takes_text:
        text = [
            c for c in cols if c.kind != "number" and not (native and c.pandas_category)
        ]
        if text:
            found.append(DataProblem(name, "text", tuple(text), native))
    allow_nan = get_tags(est).input_tags.allow_nan
    missing = [c for c in cols if c.missing]
    if missing and not allow_nan:
        found.append(DataProblem(name, "missing", tuple(missing), native))
    if not (hasattr(est, "transform") or hasattr(est, "fit_transform")):
        return []
    fills = "Imputer" in name or name in ("OneHotEncoder", "TargetEncoder")
    return [
        dataclasses.replace(
            c,
            kind="number",
            pandas_category=False,
            missing=0 if fills or not allow_nan else c.missing,
        )
        for c in cols
    ]


def check_candidates(
    estimator: Any,
    candidates: Sequence[Any],
    X: pd.DataFrame,
    columns: list[Column],
    clone: Callable[[Any], Any],
) -> list[str]:
    """Problems of every distinct estimator the candidates build, each once."""
    from hpsearch._space import canonical

    messages: dict[str, int] = {}
    seen: dict[str, list[str]] = {}
    for candidate in candidates:
        # Only estimators and step stand-ins change where columns go.
        shape = {
            k: v
            for k, v in candidate.params.items()
            if hasattr(v, "get_params") or isinstance(v, str) or v is None
        }
        key = repr(canonical(shape))
        if key not in seen:
            built = clone(estimator).set_params(**clone(shape))
            seen[key] = [p.message() for p in data_problems(built, X, columns)]
        for message in seen[key]:
            messages[message] = messages.get(message, 0) + 1
    n = len(candidates)
    return [
        m if count == n else f"{m} (This concerns {count} of {n} candidates.)"
        for m, count in messages.items()
    ]
