"""joblib's parallel_config and parallel_backend reach a search whose n_jobs is
None, as they reach scikit-learn's: scikit-learn's classes are the oracle."""

from __future__ import annotations

import os
import threading

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV as SkGridSearchCV
from sklearn.svm import SVC

from hpsearch import BackendError, GridSearchCV

GRID = {"C": [0.1, 1.0, 10.0], "gamma": ["scale", 0.1]}


def where_run(estimator, X, y):
    """A scorer that says where it ran: the process and whether a worker thread."""
    return {
        "pid": os.getpid(),
        "main_thread": float(threading.current_thread() is threading.main_thread()),
        "accuracy": float(np.mean(estimator.predict(X) == y)),
    }


def places(search):
    pids, main = set(), set()
    for split in range(search.n_splits_):
        pids.update(int(p) for p in search.cv_results_[f"split{split}_test_pid"])
        main.update(search.cv_results_[f"split{split}_test_main_thread"])
    return pids, main


def both(**kwargs):
    X, y = load_iris(return_X_y=True)
    args = {"scoring": where_run, "refit": "accuracy", **kwargs}
    ours = GridSearchCV(SVC(), GRID, progress=False, **args).fit(X, y)
    theirs = SkGridSearchCV(SVC(), GRID, **args).fit(X, y)
    np.testing.assert_array_equal(
        ours.cv_results_["mean_test_accuracy"], theirs.cv_results_["mean_test_accuracy"]
    )
    return ours, theirs


def test_parallel_config_threading_runs_on_threads_as_in_scikit_learn():
    with joblib.parallel_config(n_jobs=2, backend="threading"):
        ours, theirs = both()
    assert places(ours) == places(theirs) == ({os.getpid()}, {0.0})
    assert ours.workers_ == {"threads": 2}


def test_parallel_backend_loky_runs_in_worker_processes_as_in_scikit_learn():
    with joblib.parallel_backend("loky", n_jobs=2):
        ours, theirs = both()
    for search in (ours, theirs):
        pids, _ = places(search)
        assert os.getpid() not in pids
    assert ours.workers_ == {"processes": 2}


def test_parallel_config_n_jobs_alone_lets_hpsearch_choose_where():
    with joblib.parallel_config(n_jobs=2):
        ours, _ = both()
    assert ours.workers_ == {"threads": 2}  # only scikit-learn estimators


def test_a_searchs_own_n_jobs_comes_before_the_context():
    with joblib.parallel_config(n_jobs=2, backend="threading"):
        ours, theirs = both(n_jobs=1)
    assert places(ours) == places(theirs) == ({os.getpid()}, {1.0})
    assert ours.workers_ == {"serial": 1}


def test_sequential_backend_and_no_context_run_serially():
    with joblib.parallel_config(backend="sequential", n_jobs=2):
        ours, theirs = both()
    assert places(ours) == places(theirs) == ({os.getpid()}, {1.0})
    ours, _ = both()
    assert ours.workers_ == {"serial": 1}


def test_a_joblib_backend_hpsearch_cannot_run_on_is_refused():
    class OtherBackend(joblib.parallel.ThreadingBackend):
        pass

    joblib.register_parallel_backend("other-for-tests", OtherBackend)
    X, y = load_iris(return_X_y=True)
    with (
        joblib.parallel_config(backend="other-for-tests", n_jobs=2),
        pytest.raises(
            BackendError,
            match=r"joblib's parallel_config backend must be one hpsearch can run "
            r"on \('loky', 'multiprocessing', 'threading', 'sequential' or "
            r"'dask'\); got OtherBackend\. hpsearch runs its own workers: pass "
            r"backend= to the search instead, or leave the joblib backend unset\.",
        ),
    ):
        GridSearchCV(SVC(), GRID, progress=False).fit(X, y)
