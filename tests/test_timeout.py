"""Time budgets: ``timeout=`` on every search class.

Each search here would run for minutes (thousands of 0.1 s fits); the
assertions are on what ran and what was reported, never on wall time. The
clock hpsearch reads for its deadline is a fake one that a fit moves on by
0.1 s: what fits in a budget does not depend on how busy the machine is (the
command line's --timeout test uses the real clock).
"""

from __future__ import annotations

import re
import threading
import time
import types
import warnings

import numpy as np
import pytest
from scipy.stats import uniform
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import KFold
from sklearn.utils._param_validation import InvalidParameterError

from hpsearch import (
    GridSearchCV,
    HalvingRandomSearchCV,
    HyperbandSearchCV,
    RandomizedSearchCV,
    load_study,
)

FITS: list[tuple[float, int, int]] = []  # (value, budget, first training row)
LOCK = threading.Lock()


class FakeClock:
    """``time.monotonic`` for hpsearch's deadline: moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        with LOCK:
            return self.now

    def advance(self, seconds: float) -> None:
        with LOCK:
            self.now += seconds


CLOCK = FakeClock()


@pytest.fixture(autouse=True)
def fake_clock(monkeypatch):
    """hpsearch's search and loop read the fake clock; all else is real."""
    import hpsearch._loop
    import hpsearch._search

    fake = types.SimpleNamespace(
        **{name: getattr(time, name) for name in dir(time) if name[0] != "_"}
    )
    fake.monotonic = CLOCK.monotonic
    for module in (hpsearch._search, hpsearch._loop):
        assert module.time is time  # the deadline is read from this module
        monkeypatch.setattr(module, "time", fake)
    return CLOCK


class Slow(ClassifierMixin, BaseEstimator):
    """Takes 0.1 s of the fake clock per fit; scores ``value``; logs every fit
    to FITS."""

    def __init__(self, value=0.5, budget=1):
        self.value = value
        self.budget = budget

    def fit(self, X, y):
        CLOCK.advance(0.1)
        with LOCK:
            FITS.append((self.value, self.budget, int(X[0, 0])))
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])

    def score(self, X, y, sample_weight=None):
        return self.value


@pytest.fixture(autouse=True)
def fits():
    FITS.clear()
    yield FITS


def xy():
    X = np.repeat(np.arange(40, dtype=float), 2).reshape(40, 2)
    return X, np.arange(40) % 2


def caught_timeouts(fit):
    """Run ``fit``; return the timeout warnings (any other warning fails)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search = fit()
    for w in caught:
        assert str(w.message).startswith("timeout="), w.message
    return search, [str(w.message) for w in caught]


def test_a_grid_search_of_minutes_stops_at_its_timeout_and_resumes(tmp_path, fits):
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    grid = {"value": [i / 2000 for i in range(2000)]}  # 4000 fits: 400 s

    def search():
        return GridSearchCV(
            Slow(),
            grid,
            cv=KFold(2),
            timeout=3,
            storage=url,
            study="g",
            refit=False,
            n_jobs=1,
            progress=False,
        )

    first, messages = caught_timeouts(lambda: search().fit(*xy()))
    n_rows = len(first.cv_results_["params"])
    assert first.timed_out_ is True
    assert 1 <= n_rows < 2000
    assert messages == [
        f"timeout=3 expired: {2000 - n_rows} of 2000 proposed candidate "
        "evaluations were not complete and are left out of cv_results_ and "
        "best_*. Run the search again to continue with a fresh budget."
    ]
    # Every row is fully evaluated, and the best is one of them.
    assert not np.isnan(first.cv_results_["mean_test_score"]).any()
    assert first.best_params_ in first.cv_results_["params"]
    assert len(fits) < 4000
    first_fits = set(fits)
    assert len(first_fits) == len(fits)

    fits.clear()
    second, _ = caught_timeouts(lambda: search().fit(*xy()))
    # A fresh budget: more candidates now, none of the stored fits again.
    assert len(second.cv_results_["params"]) > n_rows
    assert not first_fits & set(fits)
    # Planned work is missing: the study says so, and a rerun resumes it.
    assert load_study(url, "g").status == "interrupted"


def test_random_search_without_n_iter_draws_until_the_time_runs_out(fits):
    search, _ = caught_timeouts(
        lambda: RandomizedSearchCV(
            Slow(),
            {"value": uniform(0, 1)},
            n_iter=None,
            timeout=2,
            cv=KFold(2),
            random_state=0,
            n_jobs=1,
            progress=False,
        ).fit(*xy())
    )
    n_rows = len(search.cv_results_["params"])
    assert n_rows >= 1
    assert search.timed_out_ is True
    # The candidates are the seed's, in order: the first ones of the stream.
    drawn = [p["value"] for p in search.cv_results_["params"]]
    again, _ = caught_timeouts(
        lambda: RandomizedSearchCV(
            Slow(),
            {"value": uniform(0, 1)},
            n_iter=None,
            timeout=2,
            cv=KFold(2),
            random_state=0,
            n_jobs=1,
            progress=False,
        ).fit(*xy())
    )
    other = [p["value"] for p in again.cv_results_["params"]]
    n = min(len(drawn), len(other))
    assert drawn[:n] == other[:n]


def test_hyperband_without_n_iter_runs_asha_until_the_time_runs_out(fits):
    search, _ = caught_timeouts(
        lambda: HyperbandSearchCV(
            Slow(),
            {"value": uniform(0, 1)},
            resource="budget",
            max_resources=9,
            min_resources=1,
            n_iter=None,
            timeout=2,
            cv=KFold(2),
            random_state=0,
            n_jobs=2,
            backend="threading",
            progress=False,
        ).fit(*xy())
    )
    assert search.timed_out_ is True
    assert search.n_candidates_[0] >= 1
    assert all(row["budget"] in (1, 3, 9) for row in search.cv_results_["params"])


def test_halving_stops_at_its_timeout(fits):
    search, messages = caught_timeouts(
        lambda: HalvingRandomSearchCV(
            Slow(),
            {"value": uniform(0, 1)},
            n_candidates=300,
            resource="budget",
            max_resources=9,
            min_resources=1,
            timeout=3,
            cv=KFold(2),
            random_state=0,
            n_jobs=1,
            progress=False,
        ).fit(*xy())
    )
    assert search.timed_out_ is True
    assert len(messages) == 1
    assert set(search.cv_results_["iter"]) == {0}


def test_a_timeout_that_leaves_no_candidate_is_an_error(fits):
    search = GridSearchCV(
        Slow(),
        {"value": [0.1, 0.2]},
        cv=KFold(2),
        timeout=1e-9,
        n_jobs=1,
        progress=False,
    )
    with pytest.raises(
        ValueError,
        match=re.escape(
            "timeout must leave time to evaluate a candidate on every split; "
            "got timeout=1e-09 and no candidate was fully evaluated."
        ),
    ):
        search.fit(*xy())


@pytest.mark.parametrize("timeout", [0, -1, "10m"])
def test_a_bad_timeout_is_refused_before_any_fit(fits, timeout):
    search = GridSearchCV(Slow(), {"value": [0.1]}, timeout=timeout, progress=False)
    with pytest.raises(InvalidParameterError, match="The 'timeout' parameter"):
        search.fit(*xy())
    assert fits == []


def test_n_iter_none_without_a_timeout_is_refused_before_any_fit(fits):
    search = RandomizedSearchCV(
        Slow(), {"value": uniform(0, 1)}, n_iter=None, progress=False
    )
    with pytest.raises(
        ValueError,
        match=re.escape("n_iter must be an int when there is no timeout; got None."),
    ):
        search.fit(*xy())
    assert fits == []
