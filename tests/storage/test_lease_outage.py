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
from hpsearch.storage import MemoryStorage
from hpsearch.storage import _recorder

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
