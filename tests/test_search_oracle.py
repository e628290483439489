"""scikit-learn is the oracle: hpsearch's searches give its results exactly."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from numpy.ma import MaskedArray
from scipy.stats import loguniform, randint, uniform
from sklearn import model_selection as sk
from sklearn.cluster import KMeans
from sklearn.datasets import load_diabetes, load_iris, make_classification
from sklearn.decomposition import PCA
from sklearn.exceptions import FitFailedWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import GroupKFold, KFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

import hpsearch
from estimators_for_tests import FAIL, FailingClassifier

TIME_KEYS = ("mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time")


def assert_cv_results_equal(ours: dict, theirs: dict) -> None:
    """Same keys, dtypes, masks and values (scores to 1e-12); timings aside."""
    assert list(ours) == list(theirs)
    for key, expected in theirs.items():
        got = ours[key]
        if key in TIME_KEYS:
            assert got.shape == expected.shape and got.dtype == expected.dtype
            continue
        if key == "params":
            assert got == expected
            continue
        assert type(got) is type(expected), key
        assert got.dtype == expected.dtype, key
        if isinstance(expected, MaskedArray):
            np.testing.assert_array_equal(got.mask, expected.mask, err_msg=key)
            assert list(got.compressed()) == list(expected.compressed()), key
        elif expected.dtype.kind == "f":
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12, err_msg=key)
        else:
            np.testing.assert_array_equal(got, expected, err_msg=key)


def warning_kinds(record) -> list[str]:
    """The first sentence of each warning, sorted: what kinds were given."""
    return sorted(str(w.message).split(".")[0] for w in record)


def fit_both(hp_cls, sk_cls, *args, fit_params=None, X, y, **kwargs):
    ours = hp_cls(*args, progress=False, **kwargs).fit(X, y, **(fit_params or {}))
    theirs = sk_cls(*args, **kwargs).fit(X, y, **(fit_params or {}))
    assert_cv_results_equal(ours.cv_results_, theirs.cv_results_)
    for attr in (
        "best_index_",
        "best_params_",
        "best_score_",
        "n_splits_",
        "multimetric_",
    ):
        assert hasattr(ours, attr) == hasattr(theirs, attr), attr
        if hasattr(theirs, attr):
            assert getattr(ours, attr) == getattr(theirs, attr), attr
    return ours, theirs


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def test_classification_grid_equals_sklearn(iris):
    X, y = iris
    ours, theirs = fit_both(
        hpsearch.GridSearchCV,
        sk.GridSearchCV,
        SVC(),
        {"C": [0.1, 1, 10], "kernel": ["rbf", "linear"]},
        return_train_score=True,
        X=X,
        y=y,
    )
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    assert ours.score(X, y) == theirs.score(X, y)
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    assert ours.n_features_in_ == theirs.n_features_in_


def test_regression_grid_scores_with_r2_equals_sklearn():
    X, y = load_diabetes(return_X_y=True)
    ours, theirs = fit_both(
        hpsearch.GridSearchCV,
        sk.GridSearchCV,
        Ridge(),
        {"alpha": [0.01, 0.1, 1.0, 10.0]},
        cv=4,
        X=X,
        y=y,
    )
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=0, atol=0)


@pytest.mark.parametrize(
    "scoring",
    [
        ["accuracy", "f1_macro"],
        {"acc": "accuracy", "f1": "f1_macro"},
        ("accuracy", "f1_macro"),
    ],
)
def test_multimetric_with_refit_by_name_equals_sklearn(iris, scoring):
    X, y = iris
    refit = "f1" if isinstance(scoring, dict) else "f1_macro"
    ours, _ = fit_both(
        hpsearch.GridSearchCV,
        sk.GridSearchCV,
        LogisticRegression(max_iter=500),
        {"C": [0.01, 0.1, 1.0]},
        scoring=scoring,
        refit=refit,
        return_train_score=True,
        X=X,
        y=y,
    )
    assert ours.multimetric_ is True
    assert set(ours.scorer_) == set(scoring)


def test_multimetric_without_refit_has_no_best_attributes(iris):
    X, y = iris
    ours, _ = fit_both(
        hpsearch.GridSearchCV,
        sk.GridSearchCV,
        LogisticRegression(max_iter=500),
        {"C": [0.1, 1.0]},
        scoring=["accuracy", "f1_macro"],
        refit=False,
        X=X,
        y=y,
    )
    assert not hasattr(ours, "best_estimator_")


def test_callable_scoring_returning_a_dict_is_multimetric(iris):
    X, y = iris

    def scores(est, X, y):
        pred = est.predict(X)
        return {
            "acc": accuracy_score(y, pred),
            "f1": f1_score(y, pred, average="macro"),
        }

    fit_both(
        hpsearch.GridSearchCV,
        sk.GridSearchCV,
        KNeighborsClassifier(),
        {"n_neighbors": [1, 5, 15]},
        scoring=scores,
        refit="acc",
        X=X,
        y=y,
    )


def test_pipeline_with_step_parameters_equals_sklearn(iris):
    X, y = iris
    pipe = Pipeline([("scale", StandardScaler()), ("pca", PCA()), ("svc", SVC())])
    ours, _ = fit_both(
        hpsearch.GridSearchCV,
        sk.GridSearchCV,
        pipe,
        {"pca__n_components": [2, 3], "svc__C": [0.5, 5], "scale__with_mean": [True]},
        X=X,
        y=y,
    )
    assert isinstance(ours.best_estimator_, Pipeline)


def test_list_of_dicts_grid_equals_sklearn_with_masked_params(iris):
    X, y = iris
    grid = [
        {"kernel": ["rbf"], "gamma": [0.1, 1.0], "C": [1, 10]},
        {"kernel": ["linear"], "C": [0.5, 1, 2]},
        {"kernel": ["poly"], "degree": [2, 3]},
    ]
    ours, _ = fit_both(hpsearch.GridSearchCV, sk.GridSearchCV, SVC(), grid, X=X, y=y)
    assert ours.cv_results_["param_gamma"].mask.sum() == 5


def test_failing_candidates_score_nan_and_warn_like_sklearn(iris):
    X, y = iris
    grid = {"parameter": [1, FAIL, 2]}
    with warnings.catch_warnings(record=True) as ours_warned:
        warnings.simplefilter("always")
        ours = hpsearch.GridSearchCV(
            FailingClassifier(), grid, cv=5, progress=False
        ).fit(X, y)
    with warnings.catch_warnings(record=True) as theirs_warned:
        warnings.simplefilter("always")
        theirs = sk.GridSearchCV(FailingClassifier(), grid, cv=5).fit(X, y)
    assert_cv_results_equal(ours.cv_results_, theirs.cv_results_)
    assert [w.category for w in ours_warned] == [w.category for w in theirs_warned]
    assert "5 fits failed out of a total of 15" in str(ours_warned[0].message)
    assert "test scores are non-finite" in str(ours_warned[1].message)
    assert ours.results_["status"].tolist() == ["ok", "failed", "ok"]


def test_fit_failure_warning_names_the_failing_parameters(iris):
    X, y = iris
    with (
        pytest.warns(
            FitFailedWarning,
            match=r"Failing parameters:\n  parameter='fail': 3 of 3 splits failed "
            r"\(ValueError: Failing classifier failed as required\)",
        ),
        pytest.warns(UserWarning, match="non-finite"),
    ):
        hpsearch.GridSearchCV(
            FailingClassifier(), {"parameter": [1, FAIL]}, cv=3, progress=False
        ).fit(X, y)


def test_error_score_number_is_used_for_failed_splits(iris):
    X, y = iris
    grid = {"parameter": [FAIL, 1]}
    with pytest.warns(FitFailedWarning):
        ours = hpsearch.GridSearchCV(
            FailingClassifier(),
            grid,
            error_score=-1,
            return_train_score=True,
            progress=False,
        ).fit(X, y)
    with pytest.warns(FitFailedWarning):
        theirs = sk.GridSearchCV(
            FailingClassifier(), grid, error_score=-1, return_train_score=True
        ).fit(X, y)
    assert_cv_results_equal(ours.cv_results_, theirs.cv_results_)


def test_all_fits_failing_raises_like_sklearn(iris):
    X, y = iris
    search = hpsearch.GridSearchCV(
        FailingClassifier(), {"parameter": [FAIL]}, progress=False
    )
    with pytest.raises(ValueError, match="All the 5 fits failed"):
        search.fit(X, y)


def test_error_score_raise_propagates_the_fit_error(iris):
    X, y = iris
    search = hpsearch.GridSearchCV(
        FailingClassifier(),
        {"parameter": [1, FAIL]},
        error_score="raise",
        progress=False,
    )
    with pytest.raises(ValueError, match="Failing classifier failed as required"):
        search.fit(X, y)


def test_groups_with_group_kfold_equal_sklearn():
    X, y = make_classification(n_samples=120, random_state=0)
    groups = np.repeat(np.arange(12), 10)
    fit_both(
        hpsearch.GridSearchCV,
        sk.GridSearchCV,
        LogisticRegression(),
        {"C": [0.1, 1.0, 10.0]},
        cv=GroupKFold(n_splits=4),
        fit_params={"groups": groups},
        X=X,
        y=y,
    )


def test_random_search_with_scipy_distributions_equals_sklearn(iris):
    X, y = iris
    space = {
        "max_depth": [3, None],
        "max_features": randint(1, 5),
        "min_samples_leaf": randint(1, 9),
        "criterion": ["gini", "entropy"],
        "min_impurity_decrease": uniform(0, 0.01),
    }
    ours, _ = fit_both(
        hpsearch.RandomizedSearchCV,
        sk.RandomizedSearchCV,
        DecisionTreeClassifier(random_state=0),
        space,
        n_iter=12,
        random_state=7,
        cv=5,
        X=X,
        y=y,
    )
    assert len(ours.cv_results_["params"]) == 12


def test_random_search_over_lists_samples_without_replacement_like_sklearn(iris):
    X, y = iris
    space = {"C": [0.1, 1, 10, 100], "kernel": ["rbf", "linear"]}
    ours = hpsearch.RandomizedSearchCV(
        SVC(), space, n_iter=5, progress=False, random_state=np.random.RandomState(3)
    )
    theirs = sk.RandomizedSearchCV(
        SVC(), space, n_iter=5, random_state=np.random.RandomState(3)
    )
    assert_cv_results_equal(ours.fit(X, y).cv_results_, theirs.fit(X, y).cv_results_)
    assert len({tuple(p.items()) for p in ours.cv_results_["params"]}) == 5


def test_random_search_with_list_of_spaces_equals_sklearn(iris):
    X, y = iris
    spaces = [
        {"kernel": ["rbf"], "C": loguniform(1e-2, 1e2)},
        {"kernel": ["linear"], "C": [0.1, 1.0]},
    ]
    fit_both(
        hpsearch.RandomizedSearchCV,
        sk.RandomizedSearchCV,
        SVC(),
        spaces,
        n_iter=6,
        random_state=0,
        X=X,
        y=y,
    )


def test_results_do_not_depend_on_n_jobs(iris):
    X, y = iris
    grid = {"C": [0.1, 1, 10], "gamma": ["scale", 0.1]}
    one = hpsearch.GridSearchCV(SVC(), grid, n_jobs=1, progress=False).fit(X, y)
    two = hpsearch.GridSearchCV(SVC(), grid, n_jobs=2, progress=False).fit(X, y)
    everything = hpsearch.GridSearchCV(SVC(), grid, n_jobs=-1, progress=False).fit(X, y)
    assert_cv_results_equal(two.cv_results_, one.cv_results_)
    assert_cv_results_equal(everything.cv_results_, one.cv_results_)


def test_refit_callable_picks_the_index_like_sklearn(iris):
    X, y = iris

    def simplest_within_one_std(cv_results):
        return int(np.argmin(cv_results["param_C"]))

    ours, _ = fit_both(
        hpsearch.GridSearchCV,
        sk.GridSearchCV,
        SVC(),
        {"C": [0.1, 1, 10]},
        refit=simplest_within_one_std,
        X=X,
        y=y,
    )
    assert ours.best_index_ == 0
    assert not hasattr(ours, "best_score_")


def test_sample_weight_is_routed_to_fit_and_scorer_like_sklearn(iris):
    X, y = iris
    weights = np.linspace(0.5, 2, len(y))
    fit_both(
        hpsearch.GridSearchCV,
        sk.GridSearchCV,
        LogisticRegression(max_iter=300),
        {"C": [0.1, 1.0]},
        scoring="accuracy",
        fit_params={"sample_weight": weights},
        X=X,
        y=y,
    )


def test_unsupervised_estimator_scored_by_its_own_score_equals_sklearn(iris):
    X, _ = iris
    ours = hpsearch.GridSearchCV(
        KMeans(n_init=2, random_state=0), {"n_clusters": [2, 3, 4]}, progress=False
    ).fit(X)
    theirs = sk.GridSearchCV(
        KMeans(n_init=2, random_state=0), {"n_clusters": [2, 3, 4]}
    ).fit(X)
    assert_cv_results_equal(ours.cv_results_, theirs.cv_results_)
    np.testing.assert_array_equal(ours.transform(X), theirs.transform(X))


def test_cv_as_splitter_and_as_iterable_of_splits_equal_sklearn(iris):
    X, y = iris
    splits = list(KFold(4, shuffle=True, random_state=0).split(X))
    for cv in (KFold(3, shuffle=True, random_state=1), splits):
        fit_both(
            hpsearch.GridSearchCV,
            sk.GridSearchCV,
            KNeighborsClassifier(),
            {"n_neighbors": [1, 3, 7]},
            cv=cv,
            X=X,
            y=y,
        )


class MiscountingKFold(KFold):
    """Says it gives one split, gives three."""

    def get_n_splits(self, *args, **kwargs):
        return 1


@pytest.mark.parametrize("cls_name", ["GridSearchCV", "RandomizedSearchCV"])
def test_a_splitter_that_miscounts_its_splits_raises_like_sklearn(iris, cls_name):
    # The installed release's wording ("returned" before 1.9, "return" after).
    X, y = iris
    kwargs = {"n_iter": 2, "random_state": 0} if "Random" in cls_name else {}
    space = {"alpha": [0.1, 1.0]}
    with pytest.raises(ValueError) as theirs:
        getattr(sk, cls_name)(Ridge(), space, cv=MiscountingKFold(3), **kwargs).fit(
            X, y
        )
    with pytest.raises(ValueError) as ours:
        getattr(hpsearch, cls_name)(
            Ridge(), space, cv=MiscountingKFold(3), progress=False, **kwargs
        ).fit(X, y)
    assert str(ours.value) == str(theirs.value)


def test_tied_scores_share_the_lowest_rank_like_sklearn(iris):
    X, y = iris
    # The parameter does not change the majority-class predictions: all tie.
    ours, _ = fit_both(
        hpsearch.GridSearchCV,
        sk.GridSearchCV,
        FailingClassifier(),
        {"parameter": [1, 2, 3]},
        X=X,
        y=y,
    )
    assert ours.cv_results_["rank_test_score"].tolist() == [1, 1, 1]


def failing_scorer(estimator, X, y):
    """Accuracy, except that it raises for C=10."""
    if estimator.C == 10:
        raise RuntimeError("scorer broke")
    return accuracy_score(y, estimator.predict(X))


def test_scoring_failures_warn_and_score_error_score_like_sklearn(iris):
    X, y = iris
    grid = {"C": [1, 10]}
    with pytest.warns(UserWarning) as ours_warned:
        ours = hpsearch.GridSearchCV(
            SVC(), grid, scoring=failing_scorer, cv=3, progress=False
        ).fit(X, y)
    with pytest.warns(UserWarning) as theirs_warned:
        theirs = sk.GridSearchCV(SVC(), grid, scoring=failing_scorer, cv=3).fit(X, y)
    assert_cv_results_equal(ours.cv_results_, theirs.cv_results_)

    assert warning_kinds(ours_warned) == warning_kinds(theirs_warned)
    assert "scorer broke" in str(ours_warned[0].message)


def test_a_scorer_returning_no_number_raises_like_sklearn(iris):
    X, y = iris

    def text_scorer(estimator, X, y):
        return "good"

    message = (
        r"^scoring must return a number, got good \(<class 'str'>\) instead\. "
        r"\(scorer=<function .*text_scorer at 0x[0-9a-f]+>\)$"
    )
    with pytest.raises(ValueError, match=message):
        hpsearch.GridSearchCV(
            SVC(), {"C": [1]}, scoring=text_scorer, progress=False
        ).fit(X, y)
    with pytest.raises(ValueError, match=r"^scoring must return a number, got good"):
        sk.GridSearchCV(SVC(), {"C": [1]}, scoring=text_scorer).fit(X, y)


def test_one_failing_metric_of_several_warns_and_scores_like_sklearn(iris):
    X, y = iris
    scoring = {"acc": "accuracy", "fragile": failing_scorer}
    grid = {"C": [1, 10]}
    with warnings.catch_warnings(record=True) as ours_warned:
        warnings.simplefilter("always")
        ours = hpsearch.GridSearchCV(
            SVC(), grid, scoring=scoring, refit="acc", cv=3, progress=False
        ).fit(X, y)
    with warnings.catch_warnings(record=True) as theirs_warned:
        warnings.simplefilter("always")
        theirs = sk.GridSearchCV(SVC(), grid, scoring=scoring, refit="acc", cv=3)
        theirs.fit(X, y)
    assert_cv_results_equal(ours.cv_results_, theirs.cv_results_)

    assert warning_kinds(ours_warned) == warning_kinds(theirs_warned)
    assert sum("scorer broke" in str(w.message) for w in ours_warned) == 3
