"""For each mistake in a space that scikit-learn reports, hpsearch raises the same
exception type with scikit-learn's message first, then its own explanation; and
an estimator that follows the API without BaseEstimator is searched as
scikit-learn searches it."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import uniform
from sklearn import model_selection as sk
from sklearn.datasets import load_iris
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils._testing import (
    MinimalClassifier,
    MinimalRegressor,
    MinimalTransformer,
)

import hpsearch
from hpsearch import SpaceError

X, y = load_iris(return_X_y=True)
PIPE = Pipeline([("scale", StandardScaler()), ("svc", SVC())])

GRIDS = [
    ("bare value", SVC(), {"C": 1}),
    ("string", SVC(), {"kernel": "rbf"}),
    ("empty list", SVC(), {"C": []}),
    ("2-d array", SVC(), {"C": np.array([[1.0, 2.0]])}),
    ("non-dict entry", SVC(), [{"C": [1.0]}, "gamma"]),
    ("unknown name", SVC(), {"kernal": ["rbf"]}),
    ("unknown step parameter", PIPE, {"svc__kernal": ["rbf"]}),
    ("unknown step", PIPE, {"svm__C": [1.0]}),
    ("illegal value", SVC(), {"C": [1.0, -1.0]}),
    ("illegal string", SVC(), {"kernel": ["rbf", "cubic"]}),
    ("illegal step value", PIPE, {"svc__C": [-1.0]}),
]
DISTRIBUTIONS = [
    ("bare value", SVC(), {"C": 1}),
    ("non-dict entry", SVC(), [{"C": [1.0]}, "gamma"]),
    ("unknown name", SVC(), {"kernal": ["rbf"]}),
    ("illegal value", SVC(), {"C": [-1.0]}),
    ("illegal draws", SVC(), {"C": uniform(-2, 1)}),
]


def sklearn_error(cls_name: str, estimator, space) -> Exception:
    kwargs = {"n_iter": 2, "random_state": 0} if "Random" in cls_name else {}
    search = getattr(sk, cls_name)(estimator, space, error_score="raise", **kwargs)
    with pytest.raises(Exception) as info:
        search.fit(X, y)
    return info.value


@pytest.mark.filterwarnings("ignore:The total space of parameters")
@pytest.mark.parametrize(
    ("cls_name", "estimator", "space"),
    [pytest.param("GridSearchCV", *case[1:], id=f"grid-{case[0]}") for case in GRIDS]
    + [
        pytest.param("RandomizedSearchCV", *case[1:], id=f"random-{case[0]}")
        for case in DISTRIBUTIONS
    ],
)
def test_scikit_learns_error_type_and_message_come_first(cls_name, estimator, space):
    theirs = sklearn_error(cls_name, estimator, space)
    kwargs = {"n_iter": 2, "random_state": 0} if "Random" in cls_name else {}
    search = getattr(hpsearch, cls_name)(estimator, space, progress=False, **kwargs)
    with pytest.raises(SpaceError) as info:
        search.fit(X, y)  # with the default error_score=nan too: before any fit
    ours = info.value
    assert isinstance(ours, type(theirs))
    first, _, explanation = str(ours).partition("\n")
    assert first == str(theirs)
    assert explanation == ours.explanation  # hpsearch's own, after it
    assert explanation and explanation != first


def test_an_illegal_value_is_also_scikit_learns_invalid_parameter_error():
    with pytest.raises(InvalidParameterError, match=r"^The 'C' parameter of SVC"):
        hpsearch.GridSearchCV(SVC(), {"C": [-1.0]}, progress=False).fit(X, y)


@pytest.mark.filterwarnings("ignore:The total space of parameters 4 is")
@pytest.mark.parametrize("cls_name", ["GridSearchCV", "RandomizedSearchCV"])
@pytest.mark.parametrize("Predictor", [MinimalRegressor, MinimalClassifier])
def test_estimators_without_base_estimator_are_searched_as_in_scikit_learn(
    cls_name, Predictor
):
    rng = np.random.RandomState(0)
    Xs, ys = rng.randn(25, 2), np.array([0] * 5 + [1] * 20)
    model = Pipeline(
        [("transformer", MinimalTransformer()), ("predictor", Predictor())]
    )
    # MinimalClassifier's set_params takes names its get_params does not list.
    params = {"transformer__param": [1, 10], "predictor__parama": [1, 10]}
    ours = getattr(hpsearch, cls_name)(
        model, params, error_score="raise", progress=False
    ).fit(Xs, ys)
    theirs = getattr(sk, cls_name)(model, params, error_score="raise").fit(Xs, ys)
    assert ours.cv_results_["params"] == theirs.cv_results_["params"]
    np.testing.assert_array_equal(
        ours.cv_results_["mean_test_score"], theirs.cv_results_["mean_test_score"]
    )
    assert ours.best_params_ == theirs.best_params_
    np.testing.assert_array_equal(ours.predict(Xs), theirs.predict(Xs))


def test_a_minimal_estimator_alone_takes_any_name():
    ours = hpsearch.GridSearchCV(
        MinimalClassifier(), {"anything": [1, 2]}, progress=False
    ).fit(X, y)
    theirs = sk.GridSearchCV(MinimalClassifier(), {"anything": [1, 2]}).fit(X, y)
    assert ours.cv_results_["params"] == theirs.cv_results_["params"]


class KwargsTree(DecisionTreeClassifier):
    """A subclass whose fit hides its parent's parameters behind **kwargs."""

    def fit(self, X, y, **kwargs):
        return super().fit(X, y, **kwargs)


def test_a_subclass_with_a_kwargs_fit_is_searched_as_in_scikit_learn():
    # scikit-learn 1.7 refuses it (the tree's check_input request has no
    # parameter to remove); later releases search it. hpsearch does the same.
    grid = {"max_depth": [1, 2]}
    try:
        theirs = sk.GridSearchCV(KwargsTree(), grid).fit(X, y)
    except Exception as error:
        with pytest.raises(type(error)) as info:
            hpsearch.GridSearchCV(KwargsTree(), grid, progress=False).fit(X, y)
        assert str(info.value) == str(error)
        return
    ours = hpsearch.GridSearchCV(KwargsTree(), grid, progress=False).fit(X, y)
    assert ours.cv_results_["params"] == theirs.cv_results_["params"]
    np.testing.assert_array_equal(
        ours.cv_results_["mean_test_score"], theirs.cv_results_["mean_test_score"]
    )
