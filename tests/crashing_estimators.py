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


# Three healthy candidates and two whose fit kills its worker on one split.
CRASH_GRID = [{"crash": [""], "C": [1.0, 2.0, 3.0]}, {"crash": ["segv", "exit"]}]


def marked_data():
    """60 rows, 3 classes; row 0 marks the split whose fits crash or hang."""
    X = np.random.default_rng(0).normal(size=(60, 3))
    X[:, 0] = np.arange(60)
    return X, np.arange(60) % 3


def check_crashes_recorded(search, warnings, storage, study, log):
    """What a search of CRASH_GRID on cv=2 must show on any executor: the
    causes named, the crashing candidates failed, the others scikit-learn's,
    each crashing task fitted again (alone), no healthy fit lost, the stored
    study complete with two failed fits."""
    from sklearn.model_selection import GridSearchCV as SkGridSearchCV

    from hpsearch import load_study

    text = " ".join(str(w.message) for w in warnings)
    assert "worker killed by SIGSEGV" in text
    assert "worker exited with code 3" in text
    results = search.cv_results_
    crashed = np.array([p["crash"] != "" for p in results["params"]])
    assert np.isnan(results["mean_test_score"][crashed]).all()
    X, y = marked_data()
    oracle = SkGridSearchCV(Crashing(), {"C": [1.0, 2.0, 3.0]}, cv=2).fit(X, y)
    np.testing.assert_allclose(
        results["mean_test_score"][~crashed], oracle.cv_results_["mean_test_score"]
    )
    counted = fits(log)
    for crash in ("segv", "exit"):
        assert counted[crash, "1.0", "30"] >= 2  # crashed, then crashed alone
    for C in ("1.0", "2.0", "3.0"):
        assert counted["", C, "30"] >= 2  # both splits, bystanders again
    stored = load_study(storage, study)
    assert stored.progress.done == stored.progress.total == 5 * 2
    assert stored.progress.failed == 2
    return counted
