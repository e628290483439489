"""Column kinds and what an estimator can take, decided before any fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from hpsearch.cli._columns import data_problems, profile

X = pd.DataFrame(
    {
        "age": [30, 40, 50, 60] * 30,
        "income": [1.0, np.nan, 3.0, 4.0] * 30,
        "city": ["lyon", "paris", None, "nice"] * 30,
        "note": [f"free text number {i}" for i in range(120)],
        "signup": ["2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30"] * 30,
    }
)
COLUMNS = profile(X)


def problems(estimator):
    return [
        (p.estimator, p.what, [c.name for c in p.columns])
        for p in data_problems(estimator, X, COLUMNS)
    ]


def test_each_column_has_a_kind_and_its_empty_cells():
    assert [(c.name, c.kind, c.missing) for c in COLUMNS] == [
        ("age", "number", 0),
        ("income", "number", 30),
        ("city", "category", 30),
        ("note", "text", 0),
        ("signup", "date", 0),
    ]
    X_cat = X.assign(city=X["city"].astype("category"))
    city = profile(X_cat)[2]
    assert (city.kind, city.pandas_category, city.describe()) == (
        "category",
        True,
        "category  3 values, category dtype, 30 missing",
    )


def test_an_estimator_is_asked_by_its_tags():
    assert problems(LogisticRegression()) == [
        ("LogisticRegression", "text", ["city", "note", "signup"]),
        ("LogisticRegression", "missing", ["income", "city"]),
    ]
    # Native categories: category dtype is fine, object text is not.
    assert problems(HistGradientBoostingClassifier()) == [
        ("HistGradientBoostingClassifier", "text", ["city", "note", "signup"]),
    ]


def test_columns_are_followed_through_a_column_transformer():
    prep = ColumnTransformer(
        [
            (
                "num",
                Pipeline([("i", SimpleImputer()), ("s", StandardScaler())]),
                ["age", "income"],
            ),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["city"]),
            ("drop", "drop", ["note"]),
        ],
        remainder="passthrough",  # signup goes through, as text
    )
    assert problems(Pipeline([("prep", prep), ("clf", LogisticRegression())])) == [
        ("LogisticRegression", "text", ["signup"]),
    ]
    prep.set_params(remainder="drop")
    assert problems(Pipeline([("prep", prep), ("clf", LogisticRegression())])) == []
    # A scaler passes missing values on; the model after it must take them.
    scale = ColumnTransformer(
        [("num", StandardScaler(), make_column_selector(dtype_include="number"))]
    )
    assert problems(Pipeline([("prep", scale), ("clf", LogisticRegression())])) == [
        ("LogisticRegression", "missing", ["income"]),
    ]


def test_what_hpsearch_cannot_tell_is_not_refused():
    anything = FunctionTransformer(lambda frame: frame)
    assert problems(Pipeline([("f", anything), ("clf", LogisticRegression())])) == []
