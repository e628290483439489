"""A decision tree that logs each fit, for tests that count fits per fold."""

from __future__ import annotations

import threading

from sklearn.tree import DecisionTreeClassifier

LOCK = threading.Lock()
# (max_depth, min_samples_leaf, the sum of column 0 over the training rows):
# with the row's number in column 0, the last says which rows it trained on.
FITS: list[tuple[int, int, int]] = []
STOP_AT = [0]  # raise KeyboardInterrupt as the STOP_AT-th fit starts (0: never)


class Tree(DecisionTreeClassifier):
    """Logs each fit in FITS; raises KeyboardInterrupt at the STOP_AT-th."""

    def fit(self, X, y, sample_weight=None, check_input=True):
        with LOCK:
            rows = round(float(X[:, 0].sum()) * 1000)
            FITS.append((self.max_depth, self.min_samples_leaf, rows))
            if len(FITS) == STOP_AT[0]:
                raise KeyboardInterrupt
        return super().fit(X, y, sample_weight, check_input)
