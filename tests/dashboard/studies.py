"""Real searches that fill a storage for the dashboard tests (run in a process).

``python studies.py URL`` stores three finished studies; ``python studies.py
URL --slow NAME [GATE]`` runs a slow search into study NAME (the live-update
test watches it from the browser while it runs). With GATE, the fits after the
HOLD_AFTER-th wait until a file GATE exists: the test then knows the search
still runs when its page opens, however busy the machine.
"""

from __future__ import annotations

import os
import sys
import time
import warnings

from scipy.stats import loguniform
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_digits
from sklearn.dummy import DummyClassifier
from sklearn.svm import SVC

from hpsearch import GridSearchCV, RandomizedSearchCV

HOSTILE = ['<script>alert("x")</script>', '"><img src=x onerror=alert(1)>']
HOSTILE_STUDY = HOSTILE[1]


class HostileClassifier(ClassifierMixin, BaseEstimator):
    """Predicts the majority class; fails with its parameter in the message."""

    def __init__(self, parameter="ok"):
        self.parameter = parameter

    def fit(self, X, y):
        if self.parameter == HOSTILE[0]:
            raise ValueError(f"cannot fit {self.parameter} <b>bold</b>")
        self.dummy_ = DummyClassifier().fit(X, y)
        self.classes_ = self.dummy_.classes_
        return self

    def predict(self, X):
        return self.dummy_.predict(X)


HOLD_AFTER = 10  # of the slow search's 40 fits
_GATE: list[str | None] = [None]
_FITS = [0]


class SlowClassifier(DummyClassifier):
    """A DummyClassifier whose fit takes ``delay`` seconds."""

    def __init__(self, strategy="prior", delay=0.2):
        super().__init__(strategy=strategy)
        self.delay = delay

    def fit(self, X, y, sample_weight=None):
        _FITS[0] += 1
        gate = _GATE[0]
        while gate is not None and _FITS[0] > HOLD_AFTER and not os.path.exists(gate):
            time.sleep(0.05)
        time.sleep(self.delay)
        return super().fit(X, y, sample_weight)


def fill(storage: str) -> None:
    X, y = load_digits(return_X_y=True)
    X, y = X[:300], y[:300]
    grid = {
        "C": [0.01, 0.1, 1, 10],
        "gamma": [1e-4, 1e-3, 1e-2],
        "kernel": ["rbf", "sigmoid"],
    }
    GridSearchCV(
        SVC(), grid, cv=3, storage=storage, study="svc-grid", progress=False
    ).fit(X, y)
    space = {
        "C": loguniform(1e-2, 1e2),
        "gamma": loguniform(1e-4, 1e-1),
        "kernel": ["rbf", "sigmoid"],
    }
    RandomizedSearchCV(
        SVC(),
        space,
        n_iter=12,
        cv=3,
        random_state=0,
        storage=storage,
        study="svc-random",
        progress=False,
    ).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the failing candidate's warning
        GridSearchCV(
            HostileClassifier(),
            {"parameter": [*HOSTILE, "ok"]},
            cv=3,
            storage=storage,
            study=HOSTILE_STUDY,
            progress=False,
        ).fit(X, y)


def slow(storage: str, name: str) -> None:
    X, y = load_digits(return_X_y=True)
    grid = {
        "strategy": ["prior", "most_frequent", "uniform", "stratified"],
        "delay": [0.25, 0.3, 0.35, 0.4, 0.45],
    }
    GridSearchCV(
        SlowClassifier(), grid, cv=2, storage=storage, study=name, progress=False
    ).fit(X[:200], y[:200])


if __name__ == "__main__":
    if "--slow" in sys.argv:
        _GATE[0] = sys.argv[4] if len(sys.argv) > 4 else None
        slow(sys.argv[1], sys.argv[3])
    else:
        fill(sys.argv[1])
