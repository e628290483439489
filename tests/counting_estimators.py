"""A transformer that logs each fit to a file, to count fits across processes."""

from __future__ import annotations

import os
from collections import Counter

from sklearn.base import BaseEstimator, TransformerMixin, clone


class Counted(TransformerMixin, BaseEstimator):
    """Fits and applies ``inner``; every fit appends one line to ``log``.

    The line is ``tag inner-params n-samples``: appends of one short line are
    atomic, so worker processes may write to the same file.
    """

    def __init__(self, inner=None, log="", tag=""):
        self.inner = inner
        self.log = log
        self.tag = tag

    def fit(self, X, y=None, **fit_params):
        self.inner_ = clone(self.inner).fit(X, y, **fit_params)
        params = sorted(self.inner.get_params(deep=False).items())
        line = f"{self.tag} {params} {X.shape[0]}\n"
        fd = os.open(self.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
        return self

    def transform(self, X):
        return self.inner_.transform(X)


def fits(log) -> Counter:
    """How often each (tag, params, n_samples) was fitted."""
    if not os.path.exists(log):
        return Counter()
    with open(log) as f:
        return Counter(f.read().splitlines())
