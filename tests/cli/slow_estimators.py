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
