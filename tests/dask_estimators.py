"""Estimators for the Dask tests, importable by name in worker processes."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression


class SlowClassifier(ClassifierMixin, BaseEstimator):
    """LogisticRegression(C) that sleeps ``delay`` seconds in fit; C < 0 fails.

    With ``mark`` (a directory), each fit leaves a file there when it is done,
    so that a test can act once a number of fits finished, in any process;
    while a file ``<mark>.hold`` holds a number N and N fits are done, fits
    wait (the test removes the file to let them go on). ``crash=True`` ends
    the process that fits.
    """

    def __init__(self, C=1.0, delay=0.0, mark=None, crash=False):
        self.C = C
        self.delay = delay
        self.mark = mark
        self.crash = crash

    def fit(self, X, y):
        if self.crash:  # the process dies, as when it runs out of memory
            os._exit(1)
        time.sleep(self.delay)
        if self.C < 0:
            raise ValueError(f"SlowClassifier fails on purpose for C={self.C}")
        self.model_ = LogisticRegression(C=self.C, max_iter=2000).fit(X, y)
        self.classes_ = self.model_.classes_
        if self.mark is not None:
            (Path(self.mark) / uuid.uuid4().hex).touch()
            hold = Path(f"{self.mark}.hold")
            while _holding(hold, Path(self.mark)):
                time.sleep(0.05)
        return self

    def predict(self, X):
        return self.model_.predict(X)


def _holding(hold: Path, marks: Path) -> bool:
    try:
        return len(list(marks.iterdir())) >= int(hold.read_text())
    except (FileNotFoundError, ValueError):
        return False


def add_held(shared: dict, item: int) -> int:
    """``shared["k"] + item``; leaves a file in ``shared["marks"]`` as it
    starts, then waits while the file ``<marks>.hold`` exists."""
    marks = Path(shared["marks"])
    (marks / uuid.uuid4().hex).touch()
    while Path(f"{marks}.hold").exists():
        time.sleep(0.05)
    return shared["k"] + item
