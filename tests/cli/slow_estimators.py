"""Estimators for CLI tests; study files import them with tests/cli on the path."""

import time

from sklearn.dummy import DummyClassifier


class SlowClassifier(DummyClassifier):
    """A DummyClassifier whose fit takes ``delay`` seconds."""

    def __init__(self, strategy="prior", delay=0.1):
        super().__init__(strategy=strategy)
        self.delay = delay

    def fit(self, X, y, sample_weight=None):
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
