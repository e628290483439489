"""A classifier that logs which process starts each fit, for the tests of
processes sharing one study (imported by them and by their subprocesses)."""

from __future__ import annotations

import os
import time

import numpy as np
from counting import CountingClassifier, digest

# Set in a search process's environment to N: its fits after the N-th log
# their start and then wait until the process is killed.
HOLD_AFTER = "HPSEARCH_TEST_HOLD_AFTER"
_FITS = [0]


class LoggedClassifier(CountingClassifier):
    """:class:`counting.CountingClassifier` that logs each fit as it starts:
    ``"<C> <digest of X> <pid> <time>"``, one ``write`` to a file opened for
    appending (lines of several processes never mix)."""

    def fit(self, X: np.ndarray, y: np.ndarray) -> LoggedClassifier:
        line = f"{self.C!r} {digest(np.asarray(X))} {os.getpid()} {time.time()!r}\n"
        fd = os.open(self.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
        _FITS[0] += 1
        hold_after = os.environ.get(HOLD_AFTER)
        while hold_after is not None and _FITS[0] > int(hold_after):
            time.sleep(0.05)
        if self.sleep:
            time.sleep(self.sleep)
        X = np.asarray(X, dtype=np.float64)
        self.classes_, index = np.unique(y, return_inverse=True)
        self.means_ = np.array(
            [X[index == k].mean(0) for k in range(len(self.classes_))]
        )
        return self


def read_starts(log: str) -> list[tuple[int, str, int, float]]:
    """(C, split digest, pid, time) of every fit started so far."""
    if not os.path.exists(log):
        return []
    with open(log) as f:
        rows = [line.split() for line in f if line.strip()]
    return [(int(c), d, int(p), float(t)) for c, d, p, t in rows]
