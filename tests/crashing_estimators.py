"""An estimator whose fit can kill its worker process, for the fault tests.

``crash`` names what a fit does first when its training rows include the
row whose first feature is 0 (one split of a K-fold): "" nothing, "segv"
reads address 0 (a segmentation fault in native code), "exit" calls
``os._exit(3)``, "hang" sleeps ten minutes (a fit past any ``fit_timeout``). Every fit
appends one line to ``log`` (atomic appends: workers share the file), so a test
counts the fits of each (crash, C, n_samples), crashed ones included.
"""

from __future__ import annotations

import ctypes
import os
import time
from collections import Counter

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin


class Crashing(ClassifierMixin, BaseEstimator):
    """Predicts the majority class; its score grows with ``C``."""

    def __init__(self, crash="", C=1.0, log=""):
        self.crash = crash
        self.C = C
        self.log = log

    def fit(self, X, y):
        if self.log:
            line = f"{self.crash}|{self.C}|{len(y)}\n".encode()
            fd = os.open(self.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
        marked = bool(np.any(np.asarray(X)[:, 0] == 0))
        if marked and self.crash == "segv":
            ctypes.string_at(0)
        elif marked and self.crash == "exit":
            os._exit(3)
        elif marked and self.crash == "hang":
            time.sleep(600)
        values, counts = np.unique(y, return_counts=True)
        self.classes_ = values
        self.majority_ = values[np.argmax(counts)]
        return self

    def predict(self, X):
        return np.full(len(X), self.majority_)

    def score(self, X, y):
        return float(np.mean(self.predict(X) == y)) + self.C / 1000


def fits(log) -> Counter:
    """How often each (crash, C, n_samples) was fitted."""
    if not os.path.exists(log):
        return Counter()
    with open(log) as file:
        return Counter(tuple(line.strip().split("|")) for line in file)
