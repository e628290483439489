"""Storage outages ridden out: a SQLite file locked by another process for
20 s and the PostgreSQL server stopped and started mid-search.

The fault starts from inside a fit (the search runs serially, so a fit is in
this process), and the fit that ends it first waits until the storage's writer
has met it (``SQLStorage.retried``): the outage certainly falls within the
search, while fits go on, without any timing left to chance. Afterwards every
result is stored exactly once and the study equals the search.
"""

from __future__ import annotations

import glob
import subprocess
import sys
import time
from collections import Counter

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from hpsearch import GridSearchCV, StorageError, load_study
from hpsearch._planning import UNIT_SECONDS
from hpsearch.storage import SQLStorage

N_SPLITS = 3
FITS: Counter = Counter()
ACTIONS: dict = {}
WAIT_LIMIT = 600  # seconds a fit waits for the writer to meet the fault


class Hooked(ClassifierMixin, BaseEstimator):
    """Predicts the majority class; a fit runs ``ACTIONS[action]`` once.

    A fit takes at least ``UNIT_SECONDS``, so that the planner gives each
    task a unit of its own and results reach the recorder fit by fit.
    """

    def __init__(self, action="", C=1.0):
        self.action = action
        self.C = C

    def fit(self, X, y):
        FITS[self.action, self.C, len(y), round(float(X[:, 0].sum()), 6)] += 1
        hook = ACTIONS.pop(self.action, None)
        if hook is not None:
            hook()
        time.sleep(UNIT_SECONDS)
        values, counts = np.unique(y, return_counts=True)
        self.classes_ = values
        self.majority_ = values[np.argmax(counts)]
        return self

    def predict(self, X):
        return np.full(len(X), self.majority_)

    def score(self, X, y):
        return float(np.mean(self.predict(X) == y)) + self.C / 1000


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = np.arange(60) % 3
    return X, y


def _wait_until(condition, what):
    deadline = time.monotonic() + WAIT_LIMIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def _grid(first, last):
    return {"action": ["", first, "a", "b", "c", last], "C": [1.0, 2.0]}


def _check_stored_once(search, storage_url, prefix=None):
    opened = SQLStorage(storage_url, table_prefix=prefix or "hpsearch_")
    try:
        study = load_study(opened, search.study)
    finally:
        opened.close()
    n = len(search.cv_results_["params"])
    assert study.progress.done == study.progress.total == n * N_SPLITS
    assert study.progress.running == 0
    np.testing.assert_allclose(
        study.cv_results_["mean_test_score"], search.cv_results_["mean_test_score"]
    )
    # every (candidate, split) fitted once, no fit repeated; and the refit
    assert set(FITS.values()) == {1}
    assert len(FITS) == n * N_SPLITS + 1


LOCKER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=60)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("ROLLBACK")
print("released", flush=True)
"""


@pytest.fixture
def lockers():
    started = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stdout.close()


def _lock(path, seconds, lockers):
    process = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(path), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    lockers.append(process)
    assert process.stdout.readline().strip() == "locked"
    return process


def test_sqlite_locked_20_s_by_another_process_is_ridden_out(tmp_path, lockers):
    FITS.clear()
    path = tmp_path / "runs.db"
    storage = SQLStorage(path)
    ACTIONS["lock"] = lambda: _lock(path, 20, lockers)
    ACTIONS["met"] = lambda: _wait_until(lambda: storage.retried > 0, "the lock")
    X, y = _data()
    search = GridSearchCV(
        Hooked(), _grid("lock", "met"), cv=N_SPLITS, storage=storage, study="s"
    ).fit(X, y)
    assert lockers[0].wait() == 0  # held its lock to the end, undisturbed
    assert storage.retry is None  # the search's bound was for its run only
    _check_stored_once(search, path)


def test_sqlite_locked_past_storage_retry_stops_with_resume_hint(tmp_path, lockers):
    FITS.clear()
    path = tmp_path / "runs.db"
    ACTIONS["lock"] = lambda: _lock(path, 600, lockers)
    X, y = _data()
    search = GridSearchCV(
        Hooked(),
        _grid("lock", "d"),
        cv=N_SPLITS,
        storage=path,
        study="s",
        storage_retry=0.5,
    )
    with pytest.raises(StorageError) as raised:
        search.fit(X, y)
    message = str(raised.value)
    assert "database is locked" in message
    assert "To resume, run the same search again" in message
    lockers[0].kill()
    lockers[0].wait()
    stored = load_study(path, "s").progress.done
    assert stored < 12 * N_SPLITS
    FITS.clear()
    search.fit(X, y)  # resumes: only the fits not stored run (and the refit)
    assert sum(FITS.values()) == 12 * N_SPLITS - stored + 1
    assert load_study(path, "s").progress.done == 12 * N_SPLITS


def test_storage_retry_is_checked():
    X, y = _data()
    with pytest.raises(ValueError, match="storage_retry"):
        GridSearchCV(Hooked(), {"C": [1.0]}, storage_retry=-1).fit(X, y)


# -- PostgreSQL: the server this machine runs, stopped and started ----------


def _cluster():
    versions = sorted(glob.glob("/etc/postgresql/*/main"))
    if not versions:
        pytest.skip("no local PostgreSQL cluster to restart")
    return versions[-1].split("/")[3]


def _pg_ctl(action):
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", _cluster(), "main", action],
        check=True,
        capture_output=True,
    )


def _pg_running():
    done = subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", _cluster(), "main", "status"],
        capture_output=True,
    )
    return done.returncode == 0


@pytest.fixture
def server_comes_back():
    _cluster()
    try:
        yield
    finally:
        if not _pg_running():
            _pg_ctl("start")


@pytest.mark.postgres
def test_postgres_stopped_and_started_mid_search_is_ridden_out(
    postgres_url, postgres_prefix, server_comes_back
):
    FITS.clear()
    storage = SQLStorage(postgres_url, table_prefix=postgres_prefix)

    def start_again():
        _wait_until(lambda: storage.retried > 0, "the writer to meet the outage")
        _pg_ctl("start")

    ACTIONS["stop"] = lambda: _pg_ctl("stop")
    ACTIONS["start"] = start_again
    X, y = _data()
    search = GridSearchCV(
        Hooked(), _grid("stop", "start"), cv=N_SPLITS, storage=storage, study="s"
    ).fit(X, y)
    assert storage.retried > 0
    _check_stored_once(search, postgres_url, postgres_prefix)
    storage.close()


@pytest.mark.postgres
def test_postgres_restart_mid_search_is_ridden_out(
    postgres_url, postgres_prefix, server_comes_back
):
    """``pg_ctlcluster restart`` as a user would: the pooled connections die."""
    FITS.clear()
    storage = SQLStorage(postgres_url, table_prefix=postgres_prefix)
    ACTIONS["restart"] = lambda: _pg_ctl("restart")
    X, y = _data()
    search = GridSearchCV(
        Hooked(), _grid("restart", "e"), cv=N_SPLITS, storage=storage, study="s"
    ).fit(X, y)
    assert storage.retried > 0
    _check_stored_once(search, postgres_url, postgres_prefix)
    storage.close()


def test_a_wrong_postgres_url_still_fails_at_once():
    """Outside a search's run an unreachable server is not waited for."""
    with pytest.raises(StorageError, match="must be reachable"):
        SQLStorage("postgresql://postgres@127.0.0.1:1/none")
