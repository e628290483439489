"""Searches with a storage: resume, reuse, mismatches, reading studies back."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
from scipy.stats import randint
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import KFold
from sklearn.svm import SVC

import hpsearch
from hpsearch import (
    GridSearchCV,
    NotStorableError,
    RandomizedSearchCV,
    StudyMismatchError,
    StudyNotFoundError,
    delete_study,
    list_studies,
    load_study,
)

sys.path.insert(0, os.path.dirname(__file__))
from counting import CountingClassifier, data, read_fits

TIMINGS = ("mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time")


def grid_search(storage, log, values=range(6), study="study", **kwargs):
    return GridSearchCV(
        CountingClassifier(log=str(log)),
        {"C": list(values)},
        storage=storage,
        study=study,
        progress=False,
        **{"cv": 3, **kwargs},
    )


def assert_same_cv_results(got, expected):
    assert got.keys() == expected.keys()
    for key in expected:
        if key in TIMINGS:
            continue
        if key == "params":
            assert got[key] == expected[key]
        else:
            np.testing.assert_array_equal(got[key], expected[key], err_msg=key)


def test_a_stored_search_gives_the_results_of_an_in_memory_one(storage, tmp_path):
    X, y = data()
    log = tmp_path / "fits.log"
    stored = grid_search(storage, log, return_train_score=True).fit(X, y)
    memory = grid_search(None, log, return_train_score=True).fit(X, y)
    assert_same_cv_results(stored.cv_results_, memory.cv_results_)
    assert stored.best_params_ == memory.best_params_


def test_rerunning_a_finished_study_fits_nothing_and_gives_the_same_results(
    storage, tmp_path
):
    X, y = data()
    log = tmp_path / "fits.log"
    first = grid_search(storage, log).fit(X, y)
    assert len(read_fits(log)) == 6 * 3 + 1  # and the refit
    again = grid_search(storage, log).fit(X, y)
    assert len(read_fits(log)) == 6 * 3 + 2  # the refit only
    assert_same_cv_results(again.cv_results_, first.cv_results_)


def test_an_extended_grid_reuses_the_candidates_it_shares(storage, tmp_path):
    X, y = data()
    log = tmp_path / "fits.log"
    grid_search(storage, log, values=[0, 1, 2], refit=False).fit(X, y)
    extended = grid_search(storage, log, values=[0, 1, 2, 3, 4], refit=False).fit(X, y)
    fitted = [c for c, _ in read_fits(log)]
    assert sorted(fitted) == sorted(["0", "1", "2", "3", "4"] * 3)
    memory = grid_search(None, tmp_path / "other.log", values=[0, 1, 2, 3, 4])
    assert_same_cv_results(extended.cv_results_, memory.fit(X, y).cv_results_)
    assert load_study(storage, "study").progress.total == 5 * 3


def test_random_search_without_random_state_resumes_the_same_candidates(
    storage, tmp_path
):
    X, y = data()

    def search():
        return RandomizedSearchCV(
            CountingClassifier(log=str(tmp_path / "fits.log")),
            {"C": randint(0, 10**9)},
            n_iter=4,
            cv=3,
            storage=storage,
            study="random",
            progress=False,
            refit=False,
        )

    first = search().fit(X, y)
    # The seed is drawn afresh: two draws may be equal (then fitted once).
    distinct = {p["C"] for p in first.cv_results_["params"]}
    assert len(read_fits(tmp_path / "fits.log")) == len(distinct) * 3
    second = search().fit(X, y)
    assert first.cv_results_["params"] == second.cv_results_["params"]
    assert len(read_fits(tmp_path / "fits.log")) == len(distinct) * 3  # none again
    assert load_study(storage, "random").spec.random_state is not None


def test_the_default_study_name_is_the_estimator_and_a_hash_of_the_search(
    storage, tmp_path
):
    X, y = data()
    log = tmp_path / "fits.log"
    grid_search(storage, log, study=None, refit=False).fit(X, y)
    grid_search(storage, log, study=None, refit=False).fit(X, y)
    grid_search(storage, log, study=None, refit=False).fit(X[:60], y[:60])
    names = [s.name for s in list_studies(storage)]
    assert len(names) == 2
    assert all(n.startswith("CountingClassifier-") for n in names)
    assert len(read_fits(log)) == 6 * 3 * 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda X, y, log: (grid_search, dict(), X[:60], y[:60]),
            r"- the data \(X, y\) differ from the stored data",
        ),
        (
            lambda X, y, log: (grid_search, dict(cv=KFold(3)), X, y),
            r"- the cross-validation splits differ: stored 3 splits \(\w+\), "
            r"now 3 splits \(\w+\)",
        ),
        (
            lambda X, y, log: (grid_search, dict(scoring="f1"), X, y),
            r"- the scoring differ: stored null, now \"f1\"",
        ),
        (
            lambda X, y, log: (grid_search, dict(return_train_score=True), X, y),
            r"- return_train_score differ: stored false, now true",
        ),
    ],
)
def test_a_rerun_that_does_not_match_is_refused_with_what_differs(
    storage, tmp_path, change, message
):
    X, y = data()
    log = tmp_path / "fits.log"
    grid_search(storage, log, refit=False).fit(X, y)
    make, kwargs, X2, y2 = change(X, y, log)
    with pytest.raises(StudyMismatchError, match=message):
        make(storage, log, refit=False, **kwargs).fit(X2, y2)
    assert len(read_fits(log)) == 6 * 3  # refused before any fit


def test_the_mismatch_message_names_both_ways_out(storage, tmp_path):
    X, y = data()
    grid_search(storage, tmp_path / "a.log", refit=False).fit(X, y)
    search = grid_search(storage, tmp_path / "b.log", refit=False)
    with pytest.raises(
        StudyMismatchError,
        match=r"study 'study' in \S+ must describe this search to be resumed; got a "
        r"stored study that differs:\n"
        r"- the estimator's fixed parameters differ: log \(stored '\S+/a\.log', "
        r"now '\S+/b\.log'\)\n"
        r"Either give this search another study name \(study='study-2'\), or replace "
        r"the stored study by deleting it first: hpsearch\.delete_study\('\S+', "
        r"'study'\)\.",
    ):
        search.fit(X, y)
    delete_study(storage, "study")
    search.fit(X, y)  # replaced
    assert len(read_fits(tmp_path / "b.log")) == 6 * 3


def test_searching_other_parameters_under_one_name_is_a_mismatch(storage, tmp_path):
    X, y = data()
    grid_search(storage, tmp_path / "a.log", refit=False).fit(X, y)
    other = GridSearchCV(
        CountingClassifier(log=str(tmp_path / "a.log")),
        {"sleep": [0.0]},
        cv=3,
        storage=storage,
        study="study",
        progress=False,
    )
    with pytest.raises(
        StudyMismatchError,
        match=r"- the names of the searched parameters differ: stored \[\"C\"\], "
        r"now \[\"sleep\"\]",
    ):
        other.fit(X, y)


def test_a_value_that_cannot_be_stored_is_refused_before_the_search_starts(
    storage, tmp_path
):
    X, y = data()
    search = GridSearchCV(
        SVC(),
        {"kernel": ["rbf", lambda a, b: a @ b.T]},
        storage=storage,
        progress=False,
    )
    with pytest.raises(
        NotStorableError,
        match=r"Parameter 'kernel' must hold values that a study can store as plain "
        r"data; got <function .* \(function\): functions without an "
        r"importable name cannot be stored\. Use numbers, strings, None, lists, "
        r"tuples, dicts, numpy scalars or arrays, estimators, or classes and "
        r"functions importable by name; or run without storage \(storage=None\)\.",
    ):
        search.fit(X, y)
    assert list_studies(storage) == []


def test_estimators_numpy_scalars_none_and_tuples_round_trip(storage):
    from sklearn.decomposition import PCA
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    X, y = data()
    grid = {
        "scale": [StandardScaler(), MinMaxScaler(feature_range=(-1, 1)), None],
        "pca__n_components": [np.int64(2), None],
        "pca__whiten": [np.bool_(False)],
        "svc__C": [np.float32(0.5), 2.0],
    }
    pipe = Pipeline([("scale", None), ("pca", PCA()), ("svc", SVC())])
    search = GridSearchCV(pipe, grid, cv=2, storage=storage, study="p", progress=False)
    search.fit(X, y)
    study = load_study(storage, "p")
    pairs = zip(study.cv_results_["params"], search.cv_results_["params"], strict=True)
    for got, expected in pairs:
        assert repr(got) == repr(expected)
        assert [type(v) for v in got.values()] == [type(v) for v in expected.values()]
    assert repr(study.best_params_) == repr(search.best_params_)
    assert study.best_score_ == search.best_score_


def test_load_study_reads_results_spec_and_progress(storage, tmp_path):
    X, y = data()
    search = grid_search(storage, tmp_path / "fits.log").fit(X, y)
    study = load_study(storage, "study")
    assert study.name == "study"
    assert_same_cv_results(study.cv_results_, search.cv_results_)
    assert study.best_params_ == search.best_params_
    assert study.best_score_ == search.best_score_
    assert list(study.results_.columns) == list(search.results_.columns)
    assert (study.progress.done, study.progress.total) == (18, 18)
    assert (study.progress.failed, study.progress.running) == (0, 0)
    assert study.status == "finished"
    assert study.spec.search == "GridSearchCV"
    assert study.spec.parameters == ["C"]
    assert study.spec.cv["n_splits"] == 3
    assert set(study.spec.data) == {"X", "y"}
    assert study.spec.versions["hpsearch"] == hpsearch.__version__
    assert study.created_at <= study.updated_at
    [summary] = list_studies(storage)
    assert (summary.name, summary.status, summary.done, summary.total) == (
        "study",
        "finished",
        18,
        18,
    )
    assert summary.best_score == search.best_score_


def test_a_missing_study_is_a_key_error_listing_the_stored_ones(storage, tmp_path):
    X, y = data()
    grid_search(storage, tmp_path / "fits.log", study="svc-digits", refit=False).fit(
        X, y
    )
    with pytest.raises(
        StudyNotFoundError,
        match=r"^study must name a study stored in \S+; got 'svc'\. "
        r"Stored studies: 'svc-digits'\.$",
    ):
        load_study(storage, "svc")
    with pytest.raises(KeyError):
        delete_study(storage, "svc")


def test_failed_fits_are_stored_with_their_error(storage, tmp_path):
    X, y = data()
    search = GridSearchCV(
        CountingClassifier(),
        {"C": [1, -1]},
        cv=2,
        storage=storage,
        study="f",
        progress=False,
    )
    with (
        pytest.warns(UserWarning, match="test scores are non-finite"),
        pytest.warns(FitFailedWarning, match="2 fits failed out of a total of 4"),
    ):
        search.fit(X, y)
    study = load_study(storage, "f")
    assert study.progress.failed == 2
    assert list(study.results_["status"]) == ["ok", "failed"]
    failed = [r for r in storage.read("f").results if r.status == "failed"]
    assert all("C must be >= 0" in r.error for r in failed)


@pytest.mark.parametrize("name", ["", "   "])
def test_an_empty_study_name_is_refused_before_anything_is_stored(tmp_path, name):
    from sklearn.datasets import load_iris

    db = tmp_path / "runs.db"
    search = hpsearch.GridSearchCV(
        SVC(), {"C": [1]}, storage=str(db), study=name, progress=False
    )
    with pytest.raises(
        hpsearch.NotStorableError,
        match=r"^study must be a non-empty name without control characters \(NUL, "
        r"newline, tab, escape, \.\.\.\); got "
        + repr(name)
        + r"\. Use printable characters, such as 'svc-digits'\.$",
    ):
        search.fit(*load_iris(return_X_y=True))
    assert hpsearch.list_studies(str(db)) == []


def test_a_race_on_folds_resumed_mid_rung_refits_no_stored_fold(storage):
    from sklearn.datasets import load_digits

    from logged_trees import FITS, STOP_AT, Tree

    X, y = load_digits(return_X_y=True)
    X, y = X[:300].copy(), y[:300]
    X[:, 0] = np.arange(300) / 1000  # the row's number: each fit logs its rows

    def race(storage=None):
        return hpsearch.HyperbandSearchCV(
            Tree(random_state=0),
            {"max_depth": randint(1, 12), "min_samples_leaf": randint(1, 30)},
            resource="folds",
            n_iter=15,
            cv=KFold(5, shuffle=True, random_state=0),
            random_state=0,
            refit=False,
            n_jobs=1,
            progress=False,
            storage=storage,
            study="race",
        )

    FITS.clear()
    whole = race().fit(X, y)
    n_fits = len(FITS)
    FITS.clear()
    STOP_AT[0] = 19  # mid-race: candidates on 1 and 3 folds, one fit running
    try:
        with pytest.raises(KeyboardInterrupt):
            race(storage).fit(X, y)
    finally:
        STOP_AT[0] = 0
    interrupted = load_study(storage, "race")
    assert interrupted.status == "interrupted"
    assert {1, 3} <= set(interrupted.cv_results_["n_resources"])
    stored = set(FITS[:-1])  # the 19th fit was interrupted as it started
    FITS.clear()
    resumed = race(storage).fit(X, y)
    # A promoted candidate's stored folds are not fitted again.
    assert not stored & set(FITS)
    assert len(FITS) == n_fits - len(stored)
    study = load_study(storage, "race")
    assert study.status == "finished"
    for results in (resumed.cv_results_, study.cv_results_):
        for key in ("params", "iter", "n_resources", "mean_test_score"):
            assert list(results[key]) == list(whole.cv_results_[key]), key
    assert study.best_params_ == whole.best_params_
    assert study.progress.done == study.progress.total == n_fits
