"""Shared pipeline prefixes are fitted once per split, with scikit-learn's results."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import FitFailedWarning
from sklearn.feature_selection import SelectKBest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV as SkGridSearchCV
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.svm import SVC

from counting_estimators import Counted, fits
from hpsearch import GridSearchCV

X, y = load_digits(return_X_y=True)
# A little noise: no constant feature for SelectKBest to warn about.
X = X[:300] + np.random.default_rng(0).normal(scale=0.01, size=(300, 64))
y = y[:300]
CV = 3


def assert_same_results(ours, theirs):
    """Every score column equal to the last bit; same best candidate."""
    for key, value in theirs.cv_results_.items():
        if "_time" in key:
            continue
        if key.startswith(
            ("mean_test", "std_test", "split", "mean_train", "std_tr")
        ) or key.startswith("rank"):
            np.testing.assert_array_equal(ours.cv_results_[key], value, err_msg=key)
    assert ours.best_params_ == theirs.best_params_
    assert ours.best_index_ == theirs.best_index_


def both(estimator, grid, n_jobs=1, **kwargs):
    theirs = SkGridSearchCV(estimator, grid, cv=CV, n_jobs=n_jobs, **kwargs).fit(X, y)
    ours = GridSearchCV(
        estimator, grid, cv=CV, n_jobs=n_jobs, progress=False, **kwargs
    ).fit(X, y)
    assert_same_results(ours, theirs)
    return ours


def counted_pipeline(log):
    return Pipeline(
        [
            ("scale", Counted(StandardScaler(), log, "scale")),
            ("pca", Counted(PCA(n_components=5, random_state=0), log, "pca")),
            ("clf", LogisticRegression(max_iter=2000)),
        ]
    )


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_each_prefix_is_fitted_once_per_split(tmp_path, n_jobs):
    log = str(tmp_path / "fits.log")
    grid = {
        "scale__inner__with_mean": [True, False],
        "pca__inner__n_components": [5, 10, 15],
        "clf__C": [0.1, 1.0, 10.0],
    }
    search = GridSearchCV(
        counted_pipeline(log), grid, cv=CV, n_jobs=n_jobs, progress=False
    ).fit(X, y)
    counts = fits(log)
    refit = search.best_estimator_  # the refit adds one fit of each step
    assert refit is not None
    scale_fits = [line for line in counts.elements() if line.startswith("scale")]
    pca_fits = [line for line in counts.elements() if line.startswith("pca")]
    # 2 x 3 PCAs x 3 splits, plus the refit's one.
    assert len(pca_fits) == 2 * 3 * CV + 1
    if n_jobs == 1:  # 2 scalers x 3 splits, plus the refit's one
        assert len(scale_fits) == 2 * CV + 1
    else:
        # 6 units of 9 tasks are too few for 2 workers to finish together:
        # each is cut in two between PCAs, and each half fits its scaler.
        assert len(scale_fits) == 2 * 2 * CV + 1


def test_results_equal_scikit_learn_and_times_are_shared_out(tmp_path):
    grid = {
        "scale__inner__with_mean": [True, False],
        "pca__inner__n_components": [5, 10],
        "clf__C": [0.1, 1.0],
    }
    ours = both(
        counted_pipeline(str(tmp_path / "f.log")), grid, return_train_score=True
    )
    assert (ours.cv_results_["mean_fit_time"] > 0).all()
    assert (ours.cv_results_["mean_score_time"] > 0).all()


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_nested_pipelines_equal_scikit_learn(n_jobs):
    inner = Pipeline([("scale", StandardScaler()), ("pca", PCA(n_components=5))])
    estimator = Pipeline(
        [
            ("pre", inner),
            ("rest", Pipeline([("mm", MinMaxScaler()), ("svc", SVC())])),
        ]
    )
    grid = {
        "pre__pca__n_components": [5, 10],
        "pre__scale": [StandardScaler(), "passthrough"],
        "rest__svc__C": [0.5, 2.0],
    }
    both(estimator, grid, n_jobs=n_jobs)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_grids_that_replace_whole_steps_equal_scikit_learn(n_jobs):
    estimator = Pipeline(
        [("scale", StandardScaler()), ("reduce", "passthrough"), ("clf", SVC())]
    )
    grid = [
        {"reduce": [PCA(5), PCA(10)], "clf__C": [1.0, 3.0]},
        {"reduce": [SelectKBest(k=8)], "clf": [LogisticRegression(max_iter=2000)]},
        {"reduce": ["passthrough"], "clf__C": [1.0], "scale": [MinMaxScaler(), None]},
        {"reduce": [FeatureUnion([("a", PCA(3)), ("b", SelectKBest(k=4))])]},
    ]
    both(estimator, grid, n_jobs=n_jobs)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_fit_params_routed_to_steps_equal_scikit_learn(tmp_path, n_jobs):
    weights = np.linspace(0.5, 2.0, len(y))
    log = str(tmp_path / "fits.log")
    estimator = Pipeline(
        [
            ("scale", Counted(StandardScaler(), log, "scale")),
            ("pca", PCA(n_components=5)),
            ("clf", SVC()),
        ]
    )
    grid = {"pca__n_components": [5, 10], "clf__C": [0.5, 2.0]}
    params = {"scale__sample_weight": weights, "clf__sample_weight": weights}
    theirs = SkGridSearchCV(estimator, grid, cv=CV, n_jobs=n_jobs).fit(X, y, **params)
    n_sklearn = sum(fits(log).values())
    ours = GridSearchCV(estimator, grid, cv=CV, n_jobs=n_jobs, progress=False).fit(
        X, y, **params
    )
    assert_same_results(ours, theirs)
    n_ours = sum(fits(log).values()) - n_sklearn
    assert n_sklearn == 4 * CV + 1  # each candidate and split, and the refit
    # Once per split and the refit (with 2 workers, each split's unit is cut
    # in two between PCAs, so that the workers finish together).
    assert n_ours == (CV + 1 if n_jobs == 1 else 2 * CV + 1)


def test_a_random_state_left_none_is_not_shared(tmp_path):
    log = str(tmp_path / "fits.log")
    estimator = Pipeline(
        [
            ("pca", Counted(PCA(5, svd_solver="randomized"), log, "pca")),
            ("clf", LogisticRegression(max_iter=2000)),
        ]
    )
    grid = {"clf__C": [0.1, 1.0, 10.0]}
    GridSearchCV(estimator, grid, cv=CV, refit=False, progress=False).fit(X, y)
    assert sum(fits(log).values()) == 3 * CV  # once per candidate and split

    seeded = estimator.set_params(pca__inner__random_state=0)
    (tmp_path / "fits.log").unlink()
    GridSearchCV(seeded, grid, cv=CV, refit=False, progress=False).fit(X, y)
    assert sum(fits(log).values()) == CV  # once per split


def test_duplicate_candidates_are_fitted_once(tmp_path):
    log = str(tmp_path / "fits.log")
    estimator = Pipeline(
        [
            ("pca", Counted(PCA(5, random_state=0), log, "pca")),
            ("clf", Counted(PCA(2, random_state=0), log, "clf")),
        ]
    )
    estimator = Pipeline([("pre", estimator), ("svc", SVC())])
    grid = {"svc__C": [1.0, 1.0, 2.0]}
    with pytest.warns(UserWarning, match="repeated|duplicate|twice|more than once"):
        search = GridSearchCV(estimator, grid, cv=CV, refit=False, progress=False)
        search.fit(X, y)
    # The prefix once per split; C=1.0 once although listed twice.
    assert sum(fits(log).values()) == 2 * CV


@pytest.mark.filterwarnings("ignore:One or more of the test scores:UserWarning")
def test_failing_final_steps_report_as_scikit_learn(tmp_path):
    estimator = Pipeline([("pca", PCA(5)), ("clf", SVC())])
    grid = {"pca__n_components": [5, 10], "clf__kernel": ["rbf", "precomputed"]}
    with pytest.warns(FitFailedWarning):
        theirs = SkGridSearchCV(estimator, grid, cv=CV).fit(X, y)
    with pytest.warns(FitFailedWarning) as caught:
        ours = GridSearchCV(estimator, grid, cv=CV, progress=False).fit(X, y)
    assert_same_results(ours, theirs)
    assert "6 fits failed out of a total of 12" in str(caught[0].message)


def test_text_pipelines_with_several_metrics_equal_scikit_learn():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import SGDClassifier

    rng = np.random.default_rng(0)
    words = np.array(["alpha", "beta", "gamma", "delta", "eps", "zeta", "eta"])
    labels = rng.integers(0, 2, 120)
    docs = [" ".join(rng.choice(words[: 4 + 3 * label], size=12)) for label in labels]
    estimator = Pipeline(
        [("tfidf", TfidfVectorizer()), ("clf", SGDClassifier(random_state=0))]
    )
    grid = {"tfidf__ngram_range": [(1, 1), (1, 2)], "clf__alpha": [1e-4, 1e-2]}
    kwargs = dict(cv=CV, scoring=["accuracy", "f1"], refit="f1")
    theirs = SkGridSearchCV(estimator, grid, **kwargs).fit(docs, labels)
    ours = GridSearchCV(estimator, grid, progress=False, **kwargs).fit(docs, labels)
    for key, value in theirs.cv_results_.items():
        if "_test_" in key:
            np.testing.assert_array_equal(ours.cv_results_[key], value, err_msg=key)
    assert ours.best_params_ == theirs.best_params_


def test_a_scorer_that_looks_inside_the_pipeline_still_works():
    def n_components(estimator, X, y):
        return float(estimator.named_steps["pca"].n_components_)

    estimator = Pipeline([("pca", PCA(random_state=0)), ("clf", SVC())])
    grid = {"pca__n_components": [3, 5], "clf__C": [1.0, 2.0]}
    theirs = SkGridSearchCV(estimator, grid, cv=CV, scoring=n_components).fit(X, y)
    ours = GridSearchCV(
        estimator, grid, cv=CV, scoring=n_components, progress=False
    ).fit(X, y)
    assert_same_results(ours, theirs)


def test_column_transformers_on_data_frames_equal_scikit_learn():
    import pandas as pd
    from sklearn.compose import ColumnTransformer

    frame = pd.DataFrame(X[:, :10], columns=[f"f{i}" for i in range(10)])
    columns = ColumnTransformer(
        [("a", StandardScaler(), ["f1", "f2", "f3"]), ("b", MinMaxScaler(), ["f4"])]
    )
    estimator = Pipeline([("cols", columns), ("clf", SVC())])
    grid = {"cols__a__with_mean": [True, False], "clf__C": [0.5, 2.0]}
    theirs = SkGridSearchCV(estimator, grid, cv=CV).fit(frame, y)
    ours = GridSearchCV(estimator, grid, cv=CV, progress=False).fit(frame, y)
    assert_same_results(ours, theirs)


def test_each_task_fits_its_own_copy_of_its_candidates_estimator():
    from sklearn.base import clone
    from sklearn.metrics import check_scoring

    from hpsearch import _prefix
    from hpsearch._evaluate import EvalContext, make_estimator
    from hpsearch._records import Candidate, Task

    pipe = Pipeline([("scale", StandardScaler()), ("svc", SVC())])
    splits = [(np.arange(150), np.arange(150, 300))]
    ctx = EvalContext(pipe, X, y, splits, check_scoring(pipe))
    task = Task(Candidate({"svc__C": 3.0}, "c3"), 0)
    first, second = (
        _prefix._fresh_estimator(ctx, task),
        _prefix._fresh_estimator(ctx, task),
    )
    assert first is not second and first.steps[1][1] is not second.steps[1][1]
    first.fit(X, y)
    template = _prefix.unfitted(ctx, task)
    assert not hasattr(template.steps[1][1], "support_")  # copies are fitted
    expected = make_estimator(ctx, task).get_params(deep=False)
    got = second.get_params(deep=False)
    assert [(n, type(s), s.get_params()) for n, s in got["steps"]] == [
        (n, type(s), s.get_params()) for n, s in expected["steps"]
    ]
    assert clone(second).get_params()["svc__C"] == 3.0


def test_a_search_leaves_no_estimator_templates_behind():
    import gc

    from hpsearch import _prefix

    before = set(_prefix._TEMPLATES)
    both(
        Pipeline([("pca", PCA(5, random_state=0)), ("svc", SVC())]),
        {"svc__C": [0.1, 1.0]},
    )
    gc.collect()
    assert set(_prefix._TEMPLATES) <= before
