"""A cheap classifier that appends a line to a file on every fit, for counting fits.

Used in this process and in subprocesses (crash and concurrency tests), so it
lives in a module of its own that both can import.
"""

from __future__ import annotations

import hashlib
import os
import time

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_classification


def data() -> tuple[np.ndarray, np.ndarray]:
    """The data every storage test searches on."""
    return make_classification(n_samples=90, n_features=6, random_state=0)


def digest(X: np.ndarray) -> str:
    """Names a training set (so a split) in the fit log."""
    array = np.ascontiguousarray(X, dtype=np.float64)
    return hashlib.blake2b(array.tobytes(), digest_size=6).hexdigest()


class CountingClassifier(ClassifierMixin, BaseEstimator):
    """Nearest class mean on the first ``C % n_features + 1`` features.

    Each fit sleeps ``sleep`` seconds, then appends ``"<C> <digest of X>"`` to
    ``log`` (one ``write`` on a file opened for appending, so lines from
    several processes never mix).
    """

    def __init__(self, C: int = 1, log: str | None = None, sleep: float = 0.0):
        self.C = C
        self.log = log
        self.sleep = sleep

    def fit(self, X: np.ndarray, y: np.ndarray) -> CountingClassifier:
        if self.sleep:
            time.sleep(self.sleep)
        if self.C < 0:
            raise ValueError("C must be >= 0")
        X = np.asarray(X, dtype=np.float64)
        self.classes_, index = np.unique(y, return_inverse=True)
        self.means_ = np.array(
            [X[index == k].mean(0) for k in range(len(self.classes_))]
        )
        if self.log is not None:
            fd = os.open(self.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            try:
                os.write(fd, f"{self.C!r} {digest(X)}\n".encode())
            finally:
                os.close(fd)
            hold_at = os.environ.get(HOLD_AT)
            if hold_at is not None and len(read_fits(self.log)) >= int(hold_at):
                hold()
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        n = int(self.C) % X.shape[1] + 1
        distances = ((X[:, None, :n] - self.means_[None, :, :n]) ** 2).sum(-1)
        return self.classes_[distances.argmin(1)]


# Set in a search process's environment, fits wait once the log holds this
# many lines: the test that stops the process then knows fits are running, and
# that the process cannot finish before its signal arrives.
HOLD_AT = "HPSEARCH_TEST_HOLD_AT"


def hold() -> None:
    """Wait until this process's parent is gone (a worker whose search was
    killed) or a signal stops it; ten minutes at most."""
    parent, deadline = os.getppid(), time.monotonic() + 600
    while os.getppid() == parent and time.monotonic() < deadline:
        time.sleep(0.05)


def read_fits(log: str) -> list[tuple[str, str]]:
    """The (C, split digest) of every fit logged so far."""
    if not os.path.exists(log):
        return []
    with open(log) as f:
        return [tuple(line.split()) for line in f if line.strip()]  # type: ignore[misc]
