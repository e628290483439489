"""Estimators for CLI tests; study files import them with tests/cli on the path."""

import os
import time

from sklearn.dummy import DummyClassifier

# With this variable set to N in a search process, the fits after the N-th
# wait until a signal stops the process: a test that stops it then knows the
# search is running, however busy the machine.
HOLD_AFTER = "HPSEARCH_TEST_HOLD_AFTER"
_FITS = [0]


class SlowClassifier(DummyClassifier):
    """A DummyClassifier whose fit takes ``delay`` seconds."""

    def __init__(self, strategy="prior", delay=0.1):
        super().__init__(strategy=strategy)
        self.delay = delay

    def fit(self, X, y, sample_weight=None):
        _FITS[0] += 1
        hold_after = os.environ.get(HOLD_AFTER)
        while hold_after is not None and _FITS[0] > int(hold_after):
            time.sleep(0.05)
        time.sleep(self.delay)
        return super().fit(X, y, sample_weight)


class SwitchedClassifier(DummyClassifier):
    """A DummyClassifier that fails while a file named BROKEN is in the current
    folder: a cause outside the study file, fixed between two runs."""

    def fit(self, X, y, sample_weight=None):
        from pathlib import Path

        if Path("BROKEN").exists():
            raise RuntimeError("the BROKEN file says the service is down")
        return super().fit(X, y, sample_weight)


class LoggedSlowClassifier(SlowClassifier):
    """A SlowClassifier that logs every fit to ``log``, to count fits across
    processes: ``"<strategy> <delay> <digest of X> <rows> <pid>"``, one short
    write to a file opened for appending (lines never mix)."""

    def __init__(self, strategy="prior", delay=0.1, log="fits.log"):
        super().__init__(strategy=strategy, delay=delay)
        self.log = log

    def fit(self, X, y, sample_weight=None):
        import hashlib

        import numpy as np

        rows = hashlib.blake2b(np.ascontiguousarray(X).tobytes(), digest_size=6)
        line = (
            f"{self.strategy} {self.delay} {rows.hexdigest()} {len(X)} {os.getpid()}\n"
        )
        fd = os.open(self.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
        return super().fit(X, y, sample_weight)
