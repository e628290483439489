"""Leases and heartbeats ride out a storage that does not answer.

A storage whose ``renew`` fails, or whose ``claim`` hangs, for a while: the
search goes on and ends with every result, once. The failures are counted
calls and events, never timings.
"""

from __future__ import annotations

import threading

import pytest
from sklearn.datasets import make_classification
from sklearn.dummy import DummyClassifier

from hpsearch import GridSearchCV, StorageError, load_study
from hpsearch.storage import MemoryStorage, _recorder

RENEWED = threading.Event()


class FlakyRenewals(MemoryStorage):
    """Its first two renewals fail as an unreachable server's would."""

    def __init__(self) -> None:
        super().__init__()
        self.renewals = 0

    def renew(self, name: str, run_id: str, lease_seconds: float) -> None:
        self.renewals += 1
        if self.renewals <= 2:
            raise StorageError("storage memory must be reachable; got 'down'.")
        super().renew(name, run_id, lease_seconds)
        RENEWED.set()


class WaitsForRenewal(DummyClassifier):
    """Fits wait until a renewal has gone through after the failed ones."""

    def fit(self, X, y, sample_weight=None):  # type: ignore[no-untyped-def]
        assert RENEWED.wait(60)
        return super().fit(X, y, sample_weight)


def test_a_heartbeat_that_cannot_be_written_is_tried_again(monkeypatch, caplog):
    monkeypatch.setenv(_recorder.LEASE_ENV, "0.06")  # a beat every 20 ms
    RENEWED.clear()
    storage = FlakyRenewals()
    X, y = make_classification(n_samples=40, random_state=0)
    GridSearchCV(
        WaitsForRenewal(),
        {"strategy": ["prior", "uniform"]},
        cv=2,
        storage=storage,
        study="s",
        progress=False,
        refit=False,
    ).fit(X, y)
    assert storage.renewals >= 3
    assert "could not renew the run's lease" in caplog.text
    study = load_study(storage, "s")
    assert (study.status, study.progress.done) == ("finished", 4)


class HangingClaims(MemoryStorage):
    """Claims get no answer until ``answer`` is set (an unreachable server)."""

    def __init__(self) -> None:
        super().__init__()
        self.answer = threading.Event()
        self.claims = 0

    def claim(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.claims += 1
        self.answer.wait(60)
        return super().claim(*args, **kwargs)


def test_work_goes_on_without_a_lease_while_claims_get_no_answer(monkeypatch):
    monkeypatch.setattr(_recorder, "CLAIM_WAIT_SECONDS", 0.01)
    storage = HangingClaims()
    X, y = make_classification(n_samples=40, random_state=0)
    search = GridSearchCV(
        DummyClassifier(),
        {"strategy": ["prior", "uniform", "most_frequent"]},
        cv=2,
        storage=storage,
        study="s",
        progress=False,
        refit=False,
    )
    try:
        search.fit(X, y)
    finally:
        storage.answer.set()
    # One claim was asked (and is still pending); the other units did not
    # wait for it: every fit ran once, without a lease.
    assert storage.claims == 1
    assert len(search.cv_results_["params"]) == 3
    assert load_study(storage, "s").progress.done == 6


@pytest.mark.parametrize("value", ["0", "-1", "soon", "inf"])
def test_a_lease_that_is_no_positive_number_is_refused(monkeypatch, value):
    monkeypatch.setenv(_recorder.LEASE_ENV, value)
    storage = MemoryStorage()
    X, y = make_classification(n_samples=40, random_state=0)
    search = GridSearchCV(DummyClassifier(), {"strategy": ["prior"]}, cv=2)
    search.set_params(storage=storage, study="s", progress=False)
    with pytest.raises(
        StorageError,
        match=rf"HPSEARCH_LEASE_SECONDS must be a number of seconds > 0; got "
        rf"'{value}'\. Unset it for the default \(60 s\)\.",
    ):
        search.fit(X, y)
    assert storage.list_studies() == []  # refused before anything was stored


def test_only_searches_planned_at_the_start_split_their_work():
    from scipy.stats import uniform
    from sklearn.svm import SVC

    import hpsearch as hp

    space = {"C": uniform(1, 2)}
    splits = {
        type(s).__name__ + ("" if getattr(s, "n_iter", 1) else "(n_iter=None)"): (
            s._splits_work()
        )
        for s in [
            hp.GridSearchCV(SVC(), {"C": [1]}),
            hp.RandomizedSearchCV(SVC(), space),
            hp.RandomizedSearchCV(SVC(), space, n_iter=None, timeout=1),
            hp.HalvingGridSearchCV(SVC(), {"C": [1]}),
            hp.HalvingRandomSearchCV(SVC(), space),
            hp.HyperbandSearchCV(SVC(), space, resource="max_iter", max_resources=9),
        ]
    }
    assert splits == {
        "GridSearchCV": True,
        "RandomizedSearchCV": True,
        "RandomizedSearchCV(n_iter=None)": False,
        "HalvingGridSearchCV": False,
        "HalvingRandomSearchCV": False,
        "HyperbandSearchCV": False,
    }


# SGD stops before converging at small max_iter.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_hyperband_refuses_a_study_another_live_process_searches():
    from scipy.stats import loguniform
    from sklearn.linear_model import SGDClassifier

    from hpsearch import HyperbandSearchCV
    from hpsearch.storage import RunRecord

    X, y = make_classification(n_samples=60, random_state=0)

    def search() -> HyperbandSearchCV:
        return HyperbandSearchCV(
            SGDClassifier(random_state=0),
            {"alpha": loguniform(1e-4, 1e-1)},
            resource="max_iter",
            max_resources=9,
            n_iter=3,
            cv=2,
            random_state=0,
            storage=storage,
            study="hb",
            progress=False,
            refit=False,
        )

    storage = MemoryStorage()
    search().fit(X, y)
    # A process on another machine, beating: the study is in use.
    other = RunRecord("other", "running", "another-host", 7, 1.0, None, None, 60.0)
    storage.set_run("hb", other)
    with pytest.raises(
        StorageError,
        match=r"study 'hb' in memory must not be searched by two processes at once "
        r"with HyperbandSearchCV; got a live process on it \(host another-host, "
        r"pid 7\)\. HyperbandSearchCV chooses its next work from all results so "
        r"far, so it cannot split its work between processes \(grid and random "
        r"search can\)\. Wait for that process to end \(then run again to "
        r"resume\), or give this search another study name\.",
    ):
        search().fit(X, y)
    # Once that process has stopped, the study is free.
    storage.set_run(
        "hb", RunRecord("other", "interrupted", "another-host", 7, 1.0, 2.0)
    )
    search().fit(X, y)
    assert load_study(storage, "hb").status == "finished"
