"""One of several processes running the same grid search on one study.

Usage: python run_shared.py STORAGE PREFIX LOG N_CANDIDATES SLEEP GO OUT

Each fit logs ``"<C> <split digest> <pid> <time>"`` to LOG when it starts
(:class:`sharing.LoggedClassifier`). The process writes a file ``<OUT>.ready``
once it has imported everything, waits until the file GO exists (so that
processes started together also start searching together), runs the search
and pickles its ``cv_results_`` to OUT. With ``HPSEARCH_TEST_HOLD_AFTER=N`` in
its environment, its fits after the N-th wait until the process is killed.
"""

from __future__ import annotations

import os
import pickle
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from counting import data
from sharing import LoggedClassifier

from hpsearch import GridSearchCV
from hpsearch.storage import SQLStorage


def main() -> None:
    url, prefix, log, n, sleep, go, out = sys.argv[1:8]
    storage = SQLStorage(url, table_prefix=prefix)
    X, y = data()
    search = GridSearchCV(
        LoggedClassifier(log=log, sleep=float(sleep)),
        {"C": list(range(int(n)))},
        cv=3,
        storage=storage,
        study="shared",
        progress=False,
        refit=False,
    )
    with open(f"{out}.ready", "w"):
        pass
    while not os.path.exists(go):
        time.sleep(0.01)
    search.fit(X, y)
    with open(out, "wb") as f:
        pickle.dump(search.cv_results_, f)


if __name__ == "__main__":
    main()
