"""The local executors: what runs where, and what reaches the workers."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV as SkGridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.svm import SVC

from estimators_for_tests import FailingClassifier
from hpsearch import GridSearchCV
from hpsearch.executors import LocalExecutor, SerialExecutor, make_executor, threadable
from interrupts import default_sigint

SCRIPT = textwrap.dedent(
    """
    import numpy as np
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV as SkGridSearchCV
    from hpsearch import GridSearchCV

    class Wrapped(ClassifierMixin, BaseEstimator):  # defined in __main__
        def __init__(self, C=1.0):
            self.C = C

        def fit(self, X, y):
            self.model_ = LogisticRegression(C=self.C, max_iter=500).fit(X, y)
            self.classes_ = self.model_.classes_
            return self

        def predict(self, X):
            return self.model_.predict(X)

    if __name__ == "__main__":
        X, y = load_iris(return_X_y=True)
        grid = {"C": [0.01, 1.0, 100.0]}
        ours = GridSearchCV(Wrapped(), grid, n_jobs=2, progress=False).fit(X, y)
        theirs = SkGridSearchCV(Wrapped(), grid, n_jobs=2).fit(X, y)
        assert np.array_equal(ours.cv_results_["mean_test_score"],
                              theirs.cv_results_["mean_test_score"])
        print("equal", ours.best_params_)
    """
)


def test_estimators_defined_in_a_scripts_main_run_in_worker_processes(tmp_path):
    script = tmp_path / "search_script.py"
    script.write_text(SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("equal {'C':")


def add(shared, item):
    return shared + item


@pytest.mark.parametrize(
    "executor",
    [
        SerialExecutor(),
        LocalExecutor(2, "threads"),
        LocalExecutor(2, "processes"),
        LocalExecutor(2, "auto"),
    ],
    ids=["serial", "threads", "processes", "auto"],
)
def test_every_local_executor_runs_each_item_once_with_the_shared_value(executor):
    try:
        results = sorted(executor.map_unordered(add, range(20), 100))
    finally:
        executor.close()
    assert results == list(range(100, 120))


def hold_the_gil(shared, item):
    """Pure Python: a thread running it keeps the others waiting for the GIL."""
    total = 0
    for k in range(200_000):
        total += k * k
    return item, os.getpid()


DATA = b"hpsearch" * 5_000_000  # 40 MB


def free_the_gil(shared, item):
    """hashlib hashes large buffers with the GIL released."""
    hashlib.sha256(DATA).digest()
    return item, os.getpid()


@pytest.fixture
def short_probe(monkeypatch):
    """Decide after 0.3 s of unit time, however fast this machine runs units."""
    import hpsearch.executors._local as local

    monkeypatch.setattr(local, "PROBE_SECONDS", 0.3)


def test_auto_moves_units_that_hold_the_gil_to_worker_processes(short_probe):
    executor = LocalExecutor(2, "auto")
    try:
        results = list(executor.map_unordered(hold_the_gil, range(300), None))
    finally:
        executor.close()
    assert sorted(item for item, _ in results) == list(range(300))
    assert executor.efficiency is not None and executor.efficiency < 0.85
    # One thread stays in this process while the worker process starts.
    assert executor.lanes == {"threads": 1, "processes": 1}
    pids = {pid for _, pid in results}
    assert os.getpid() in pids and len(pids) == 2


def test_auto_keeps_threads_when_too_little_work_is_left_to_pay_for_processes(
    short_probe,
):
    from hpsearch._planning import Plan

    units = [(i,) for i in range(90)]  # Plan tells how many tasks are left
    executor = LocalExecutor(2, "auto")
    try:
        results = list(
            executor.map_unordered(
                lambda shared, unit: hold_the_gil(shared, unit[0]),
                Plan(iter(units), len(units)),
                None,
            )
        )
    finally:
        executor.close()
    assert sorted(item for item, _ in results) == list(range(90))
    assert executor.efficiency is not None and executor.efficiency < 0.85
    assert executor.lanes == {"threads": 2}


SVC_GRID = {"C": [0.01, 0.1, 1.0, 10.0, 100.0], "gamma": ["scale", 0.01, 0.1, 1.0]}


def probe_at_once(monkeypatch, worker_start_seconds):
    """Decide after the first unit, every unit looking GIL-bound."""
    import hpsearch.executors._local as local

    monkeypatch.setattr(local, "WARM_UP_UNITS", 0)
    monkeypatch.setattr(local, "PROBE_SECONDS", 0.0)
    monkeypatch.setattr(local, "MIN_THREAD_EFFICIENCY", 2.0)
    monkeypatch.setattr(local, "WORKER_START_SECONDS", worker_start_seconds)


def test_a_search_keeps_threads_when_its_plan_has_too_little_work_left(monkeypatch):
    """The loop tells the executor how many tasks its plan still holds."""
    probe_at_once(monkeypatch, 1e9)  # no work left can pay for a worker
    X, y = load_iris(return_X_y=True)
    search = GridSearchCV(SVC(), SVC_GRID, n_jobs=2, progress=False).fit(X, y)
    assert search.workers_ == {"threads": 2}


def test_auto_keeps_units_that_free_the_gil_on_threads(short_probe):
    executor = LocalExecutor(2, "auto")
    try:
        results = list(executor.map_unordered(free_the_gil, range(80), None))
    finally:
        executor.close()
    assert sorted(item for item, _ in results) == list(range(80))
    assert executor.efficiency is not None and executor.efficiency >= 0.85
    assert executor.lanes == {"threads": 2}
    assert {pid for _, pid in results} == {os.getpid()}


def raise_on_seven(shared, item):
    if item == 7:
        raise ValueError("seven")
    return item


@pytest.mark.parametrize("mode", ["threads", "processes"])
def test_an_exception_in_a_unit_reaches_the_caller(mode):
    executor = LocalExecutor(2, mode)
    with pytest.raises(ValueError, match="seven"):
        try:
            list(executor.map_unordered(raise_on_seven, range(20), None))
        finally:
            executor.close()


def test_threads_limit_blas_for_the_process_while_units_run_and_restore_it():
    from threadpoolctl import threadpool_info

    def blas_threads():
        return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}

    before = blas_threads()
    executor = LocalExecutor(2, "threads")
    seen = list(executor.map_unordered(lambda _, __: blas_threads(), range(4), None))
    executor.close()
    assert all(s == {max(1, (os.cpu_count() or 1) // 2)} for s in seen)
    assert blas_threads() == before


def test_only_scikit_learn_estimators_are_fitted_in_threads():
    pipe = Pipeline([("scale", StandardScaler()), ("svc", SVC())])
    assert threadable(pipe, {"svc__C": [1, 2]})
    assert threadable(pipe, [{"svc": [SVC(), LogisticRegression()]}])
    assert not threadable(pipe, {"svc": [SVC(), FailingClassifier()]})
    assert not threadable(Pipeline([("clf", FailingClassifier())]), None)
    assert make_executor(None, 2, "2*n_jobs", threadable=True).mode == "auto"
    assert make_executor(None, 2, "2*n_jobs", threadable=False).mode == "processes"
    assert make_executor("loky", 2, "2*n_jobs", threadable=True).mode == "processes"
    assert make_executor("threading", 2, "2*n_jobs").mode == "threads"
    serial = make_executor(None, 1, "2*n_jobs", threadable=True)
    assert isinstance(serial, SerialExecutor)


WHERE: list[tuple[int, str]] = []


def record_where(X):
    WHERE.append((os.getpid(), threading.current_thread().name))
    return X


def test_a_scikit_learn_search_runs_in_threads_of_this_process_with_equal_results():
    X, y = load_iris(return_X_y=True)
    pipe = Pipeline([("where", FunctionTransformer(record_where)), ("svc", SVC())])
    grid = {"svc__C": [0.1, 1.0, 10.0], "svc__gamma": ["scale", 0.1]}
    WHERE.clear()
    ours = GridSearchCV(pipe, grid, n_jobs=2, progress=False).fit(X, y)
    fitted_in = {where for where in WHERE}
    theirs = SkGridSearchCV(pipe, grid, n_jobs=2).fit(X, y)
    assert {pid for pid, _ in fitted_in} == {os.getpid()}
    assert any(name.startswith("hpsearch-") for _, name in fitted_in)
    for key in ("mean_test_score", "std_test_score", "rank_test_score"):
        assert np.array_equal(ours.cv_results_[key], theirs.cv_results_[key])
    assert ours.best_params_ == theirs.best_params_


def where_scored(estimator, X, y):
    return {"pid": os.getpid(), "accuracy": float(np.mean(estimator.predict(X) == y))}


def test_other_estimators_run_in_worker_processes():
    X, y = load_iris(return_X_y=True)
    search = GridSearchCV(
        FailingClassifier(),
        {"parameter": [0, 1, 2]},
        scoring=where_scored,
        refit="accuracy",
        n_jobs=2,
        progress=False,
    ).fit(X, y)
    pids = {
        int(pid)
        for split in range(search.n_splits_)
        for pid in search.cv_results_[f"split{split}_test_pid"]
    }
    assert os.getpid() not in pids
    assert search.workers_ == {"processes": 2}


def test_results_are_equal_when_a_search_moves_from_threads_to_processes(monkeypatch):
    probe_at_once(monkeypatch, 0.0)  # always move: both lanes then fit
    X, y = load_iris(return_X_y=True)
    grid = SVC_GRID
    ours = GridSearchCV(
        SVC(), grid, scoring=where_scored, refit="accuracy", n_jobs=2, progress=False
    ).fit(X, y)
    theirs = SkGridSearchCV(SVC(), grid, scoring="accuracy", n_jobs=2).fit(X, y)
    assert ours.workers_ == {"threads": 1, "processes": 1}
    pids = {
        int(pid)
        for split in range(ours.n_splits_)
        for pid in ours.cv_results_[f"split{split}_test_pid"]
    }
    assert os.getpid() in pids and len(pids) == 2
    for key in ("mean_test_score", "std_test_score", "rank_test_score"):
        ours_key = key.replace("score", "accuracy")
        assert np.array_equal(ours.cv_results_[ours_key], theirs.cv_results_[key])
    assert ours.best_params_ == theirs.best_params_


INTERRUPTIBLE = textwrap.dedent(
    """
    import json, os, sys, threading
    from sklearn.datasets import load_digits
    from sklearn.svm import SVC
    from hpsearch import GridSearchCV

    X, y = load_digits(return_X_y=True)
    grid = {"C": [0.5, 1.0, 2.0, 4.0], "gamma": [0.0005, 0.001, 0.002]}
    if os.environ.get("HOLD_AFTER"):
        # From the HOLD_AFTER-th fit on, fits wait for ever (on threads they
        # cannot be interrupted): the signal finds the search running, and a
        # stop that waited for the fits would never end. Each fit that
        # starts to wait says so in the HOLD_LOG file.
        fit, started, lock = SVC.fit, [0], threading.Lock()

        def held_fit(self, *args, **kwargs):
            with lock:
                started[0] += 1
                hold = started[0] > int(os.environ["HOLD_AFTER"])
                if hold:
                    with open(os.environ["HOLD_LOG"], "a") as log:
                        log.write("held\\n")
            if hold:
                threading.Event().wait()
            return fit(self, *args, **kwargs)

        SVC.fit = held_fit
    # Threads by name: auto mode could move units to processes on a busy
    # machine, and this test is about Ctrl-C on threads.
    search = GridSearchCV(SVC(), grid, n_jobs=2, backend="threading",
                          progress=False, storage=sys.argv[1], study="threads")
    search.fit(X, y)
    print(json.dumps({"workers": search.workers_,
                      "means": list(search.cv_results_["mean_test_score"])}))
    """
)


def test_ctrl_c_stops_a_search_on_threads_at_once_and_it_resumes(tmp_path):
    import json
    import signal
    import time

    from hpsearch import load_study

    script = tmp_path / "interruptible.py"
    script.write_text(INTERRUPTIBLE)
    held = tmp_path / "held.log"
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    process = subprocess.Popen(
        [sys.executable, str(script), url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "HOLD_AFTER": "24", "HOLD_LOG": str(held)},
        preexec_fn=default_sigint,
    )
    # Both threads wait in a fit for ever (how many fits each unit batches
    # is the planner's choice, so the test waits for the holds, not a count).
    while process.poll() is None and (
        not held.exists() or held.read_text().count("held") < 2
    ):
        time.sleep(0.05)
    assert process.poll() is None, process.communicate()
    process.send_signal(signal.SIGINT)
    # Two fits on threads wait for ever: Ctrl-C must not wait for them.
    _, err = process.communicate(timeout=120)
    assert process.returncode != 0, "the search finished before the signal"
    assert "search interrupted (SIGINT)" in err, err
    # The units that ended before the holds are kept; none with a held fit.
    kept = load_study(url, "threads").progress.done
    assert 1 <= kept <= 24

    resumed = subprocess.run(
        [sys.executable, str(script), url], capture_output=True, text=True, timeout=120
    )
    assert resumed.returncode == 0, resumed.stderr
    out = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert out["workers"] == {"threads": 2}
    X, y = load_digits(return_X_y=True)
    grid = {"C": [0.5, 1.0, 2.0, 4.0], "gamma": [0.0005, 0.001, 0.002]}
    theirs = SkGridSearchCV(SVC(), grid, n_jobs=1).fit(X, y)
    assert out["means"] == list(theirs.cv_results_["mean_test_score"])


def test_a_bad_pre_dispatch_is_refused_before_any_fit_or_write(tmp_path):
    from hpsearch import list_studies

    X, y = load_iris(return_X_y=True)
    WHERE.clear()
    pipe = Pipeline([("where", FunctionTransformer(record_where)), ("svc", SVC())])
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    search = GridSearchCV(
        pipe,
        {"svc__C": [1.0, 2.0]},
        n_jobs=2,
        pre_dispatch="3*m",
        progress=False,
        storage=url,
    )
    message = (
        "pre_dispatch must be an int, 'all' or an expression of n_jobs such as "
        "'2*n_jobs'; got '3*m'."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        search.fit(X, y)
    assert WHERE == []
    assert list_studies(url) == []
    assert LocalExecutor(2, "threads", pre_dispatch="3*n_jobs")._in_flight == 6
