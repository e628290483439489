"""What scikit-learn gives its search classes, hpsearch's give too."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn import config_context
from sklearn import model_selection as sk
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import get_scorer
from sklearn.model_selection import cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import hpsearch
from estimators_for_tests import ThreadReporter

X, y = load_iris(return_X_y=True)


def test_is_a_scikit_learn_search_with_all_its_parameters():
    search = hpsearch.GridSearchCV(SVC(), {"C": [1]})
    assert isinstance(search, sk.GridSearchCV)
    reference = sk.GridSearchCV(SVC(), {"C": [1]}).get_params(deep=False)
    params = search.get_params(deep=False)
    assert {
        k: v for k, v in params.items() if k in reference
    }.keys() == reference.keys()
    assert set(params) - set(reference) == {
        "progress",
        "storage",
        "study",
        "backend",
        "retry_failed",
        "storage_retry",
        "timeout",
        "timeout_running",
        "fit_timeout",
    }
    random_params = hpsearch.RandomizedSearchCV(SVC(), {"C": [1]}).get_params()
    assert random_params["n_iter"] == 10 and random_params["random_state"] is None


@pytest.mark.parametrize(
    "search",
    [
        hpsearch.GridSearchCV(SVC(), {"C": [1]}),
        hpsearch.RandomizedSearchCV(SVC(), {"C": [1]}),
        hpsearch.HalvingGridSearchCV(SVC(), {"C": [1]}),
        hpsearch.HalvingRandomSearchCV(SVC(), {"C": [1]}),
        hpsearch.HyperbandSearchCV(SVC(), {"C": [1]}, resource="n_samples"),
        hpsearch.BayesSearchCV(SVC(), {"C": [1]}),
    ],
    ids=lambda search: type(search).__name__,
)
def test_every_search_class_takes_hpsearch_s_parameters(search):
    shared = {"progress", "storage", "study", "backend", "retry_failed"}
    shared |= {"storage_retry", "timeout", "timeout_running", "fit_timeout"}
    assert shared <= set(search.get_params(deep=False))


def test_clone_and_set_params_round_trip():
    search = hpsearch.RandomizedSearchCV(SVC(), {"C": [1, 2]}, n_iter=2, progress=False)
    copy = clone(search).set_params(estimator__C=3, n_iter=1)
    assert copy.estimator.C == 3 and copy.n_iter == 1 and search.n_iter == 2
    assert copy.progress is False


def test_works_as_a_step_of_a_pipeline():
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            ("search", hpsearch.GridSearchCV(SVC(), {"C": [0.1, 10]}, progress=False)),
        ]
    )
    reference = Pipeline(
        [
            ("scale", StandardScaler()),
            ("search", sk.GridSearchCV(SVC(), {"C": [0.1, 10]})),
        ]
    )
    np.testing.assert_array_equal(
        pipe.fit(X, y).predict(X), reference.fit(X, y).predict(X)
    )


def test_nested_cross_validation_equals_sklearn():
    ours = cross_validate(
        hpsearch.GridSearchCV(SVC(), {"C": [0.1, 1, 10]}, cv=3, progress=False),
        X,
        y,
        cv=4,
    )
    theirs = cross_validate(
        sk.GridSearchCV(SVC(), {"C": [0.1, 1, 10]}, cv=3), X, y, cv=4
    )
    np.testing.assert_array_equal(ours["test_score"], theirs["test_score"])


def test_metadata_routing_sends_weights_where_requested_like_sklearn():
    weights = np.linspace(0.2, 3, len(y))
    with config_context(enable_metadata_routing=True):

        def make(cls):
            est = LogisticRegression(max_iter=300).set_fit_request(sample_weight=True)
            scorer = get_scorer("accuracy").set_score_request(sample_weight=True)
            return cls(est, {"C": [0.1, 1.0]}, scoring=scorer)

        ours = make(hpsearch.GridSearchCV).set_params(progress=False)
        ours.fit(X, y, sample_weight=weights)
        theirs = make(sk.GridSearchCV).fit(X, y, sample_weight=weights)
    np.testing.assert_array_equal(
        ours.cv_results_["mean_test_score"], theirs.cv_results_["mean_test_score"]
    )
    assert ours.get_metadata_routing() is not None


class RecordingCallback:
    """A scikit-learn FitCallback that notes which tasks begin and end."""

    def __init__(self):
        self.events = []

    def setup(self, estimator, context):
        self.events.append(("setup", context.task_name))

    def teardown(self, estimator, context):
        self.events.append(("teardown", context.task_name))

    def on_fit_task_begin(self, estimator, context, **kwargs):
        self.events.append(("begin", context.task_name))

    def on_fit_task_end(self, estimator, context, **kwargs):
        self.events.append(("end", context.task_name))


@pytest.mark.skipif(
    not hasattr(hpsearch.GridSearchCV, "set_callbacks"),
    reason="callbacks came in scikit-learn 1.9",
)
def test_set_callbacks_sees_the_search_every_evaluation_and_the_refit():
    callback = RecordingCallback()
    search = hpsearch.GridSearchCV(SVC(), {"C": [0.1, 1]}, cv=3, progress=False)
    search.set_callbacks(callback).fit(X, y)
    names = [name for event, name in callback.events if event == "end"]
    assert names.count("candidate-split-evaluation") == 6
    assert names.count("search") == 1
    assert names.count("refit-with-best-params") == 1
    assert names[-1] == "fit"


def test_html_representation_shows_the_estimator():
    search = hpsearch.GridSearchCV(SVC(), {"C": [1]}, progress=False)
    assert "GridSearchCV" in search._repr_html_() and "SVC" in search._repr_html_()
    search.fit(X, y)
    assert "best_estimator_: SVC" in search._repr_html_()


def test_delegated_methods_match_sklearn():
    grid = {"C": [0.1, 1.0]}
    ours = hpsearch.GridSearchCV(
        LogisticRegression(max_iter=300), grid, progress=False
    ).fit(X, y)
    theirs = sk.GridSearchCV(LogisticRegression(max_iter=300), grid).fit(X, y)
    for method in (
        "predict",
        "predict_proba",
        "predict_log_proba",
        "decision_function",
    ):
        np.testing.assert_array_equal(
            getattr(ours, method)(X), getattr(theirs, method)(X)
        )
    scaler = hpsearch.GridSearchCV(
        StandardScaler(),
        {"with_mean": [True]},
        scoring=lambda est, X, y=None: 0.0,
        progress=False,
    ).fit(X)
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(X)), X)
    assert ours.refit_time_ >= 0 and ours.scorer_ is not None


def test_same_errors_as_sklearn_for_the_same_mistakes():
    with pytest.raises(NotFittedError):
        hpsearch.GridSearchCV(SVC(), {"C": [1]}).predict(X)
    unrefitted = hpsearch.GridSearchCV(
        SVC(), {"C": [1]}, refit=False, progress=False
    ).fit(X, y)
    reference = sk.GridSearchCV(SVC(), {"C": [1]}, refit=False).fit(X, y)
    with pytest.raises(AttributeError) as ours_info:
        unrefitted.predict(X)
    with pytest.raises(AttributeError) as theirs_info:
        reference.predict(X)
    assert str(ours_info.value) == str(theirs_info.value)
    assert "refit=False" in str(ours_info.value.__cause__)
    bad_refit = hpsearch.GridSearchCV(
        SVC(), {"C": [1]}, scoring=["accuracy", "f1_macro"], progress=False
    )
    with pytest.raises(
        ValueError,
        match="For multi-metric scoring, the parameter "
        "refit must be set to a scorer key",
    ):
        bad_refit.fit(X, y)
    with pytest.raises(ValueError, match="'scoring' parameter of GridSearchCV"):
        hpsearch.GridSearchCV(SVC(), {"C": [1]}, scoring="no-such-metric").fit(X, y)


def test_feature_names_are_kept_from_a_dataframe():
    import pandas as pd

    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    search = hpsearch.GridSearchCV(SVC(), {"C": [1]}, progress=False).fit(frame, y)
    assert list(search.feature_names_in_) == ["a", "b", "c", "d"]


def test_workers_limit_their_blas_threads_to_their_share_of_the_cores(monkeypatch):
    import os

    search = hpsearch.GridSearchCV(
        ThreadReporter(), {"c": [1, 2, 3, 4]}, cv=2, n_jobs=2, progress=False
    ).fit(X, y)
    expected = max(1, (os.cpu_count() or 1) // 2)
    assert set(search.cv_results_["mean_test_score"]) == {expected}


def test_results_frame_has_one_tidy_row_per_candidate():
    search = hpsearch.GridSearchCV(
        LogisticRegression(max_iter=300),
        {"C": [0.1, 1.0], "fit_intercept": [True]},
        scoring={"acc": "accuracy", "f1": "f1_macro"},
        refit="acc",
        return_train_score=True,
        progress=False,
    ).fit(X, y)
    frame = search.results_
    assert list(frame.columns) == [
        "C",
        "fit_intercept",
        "mean_test_acc",
        "std_test_acc",
        "rank_test_acc",
        "mean_train_acc",
        "std_train_acc",
        "mean_test_f1",
        "std_test_f1",
        "rank_test_f1",
        "mean_train_f1",
        "std_train_f1",
        "mean_fit_time",
        "std_fit_time",
        "mean_score_time",
        "std_score_time",
        "status",
    ]
    assert len(frame) == 2
    np.testing.assert_array_equal(
        frame["mean_test_acc"], search.cv_results_["mean_test_acc"]
    )
    assert frame["C"].tolist() == [0.1, 1.0]


def test_verbose_announces_the_fits_like_sklearn(capsys):
    hpsearch.GridSearchCV(SVC(), {"C": [1, 2, 3]}, verbose=1, progress=False).fit(X, y)
    ours = capsys.readouterr().out.splitlines()[0]
    sk.GridSearchCV(SVC(), {"C": [1, 2, 3]}, verbose=1).fit(X, y)
    assert ours == capsys.readouterr().out.splitlines()[0]
    assert ours == "Fitting 5 folds for each of 3 candidates, totalling 15 fits"


def test_progress_bar_shows_fits_done_and_best_score(capfd):
    search = hpsearch.GridSearchCV(SVC(), {"C": [1, 2]}, cv=3, progress=True)
    search.fit(X, y)
    err = capfd.readouterr().err
    assert "6/6 fits" in err and "ETA" in err
    assert f"best score={search.best_score_:.4g}" in err


def test_no_progress_bar_when_off_or_not_a_terminal(capfd):
    hpsearch.GridSearchCV(SVC(), {"C": [1, 2]}, cv=3, progress=False).fit(X, y)
    hpsearch.GridSearchCV(SVC(), {"C": [1, 2]}, cv=3).fit(X, y)  # stderr is no tty
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("cls", ["GridSearchCV", "RandomizedSearchCV"])
def test_an_empty_cv_iterator_raises_scikit_learns_error(cls, tmp_path):
    from sklearn.model_selection import KFold

    message = (
        "No fits were performed. Was the CV iterator empty? Were there no candidates?"
    )
    used = KFold(3).split(X, y)
    list(used)
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        getattr(sk, cls)(SVC(), {"C": [1, 2], "gamma": [1, 2, 3, 4, 5]}, cv=used).fit(
            X, y
        )
    used = KFold(3).split(X, y)
    list(used)
    with pytest.raises(ValueError) as info:
        getattr(hpsearch, cls)(
            SVC(),
            {"C": [1, 2], "gamma": [1, 2, 3, 4, 5]},
            cv=used,
            progress=False,
            storage=tmp_path / "r.db",
        ).fit(X, y)
    assert str(info.value) == (
        f"{message} cv gave no train/test splits: a generator such as "
        "KFold(5).split(X) can be iterated once only. Pass the splitter itself "
        "(cv=KFold(5)) or a list of splits."
    )
    assert not (tmp_path / "r.db").exists()  # refused before any storage
