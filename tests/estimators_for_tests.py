"""Estimators that tests need in worker processes (importable by name)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

FAIL = "fail"


class FailingClassifier(ClassifierMixin, BaseEstimator):
    """Predicts the majority class; ``fit`` raises when ``parameter == FAIL``."""

    def __init__(self, parameter=1):
        self.parameter = parameter

    def fit(self, X, y):
        if self.parameter == FAIL:
            raise ValueError("Failing classifier failed as required")
        self.classes_, counts = np.unique(y, return_counts=True)
        self.majority_ = self.classes_[np.argmax(counts)]
        return self

    def predict(self, X):
        return np.full(len(X), self.majority_)


class ThreadReporter(ClassifierMixin, BaseEstimator):
    """Records, at fit time, the thread limits its process runs under."""

    def __init__(self, c=1):
        self.c = c

    def fit(self, X, y):
        from threadpoolctl import threadpool_info

        self.classes_ = np.unique(y)
        self.threads_ = max(
            (info["num_threads"] for info in threadpool_info()), default=1
        )
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])

    def score(self, X, y):
        # Report the thread count through the score so the parent sees it.
        return float(self.threads_)
