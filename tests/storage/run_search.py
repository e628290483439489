"""Run one grid search on a storage, as a separate process (crash tests).

Usage: python run_search.py STORAGE PREFIX STUDY LOG N_CANDIDATES SLEEP N_JOBS [W N]
STORAGE is a SQLite file path or a PostgreSQL URL; PREFIX the table prefix.
With W and N, the process then commits N results of its own, one per
transaction, to the study "shared" (worker W), to contend for the database.
"""

from __future__ import annotations

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from counting import CountingClassifier, data

from hpsearch import GridSearchCV
from hpsearch._records import FoldResult
from hpsearch.storage import SQLStorage, StudyRecord


def main() -> None:
    # Ctrl-C must raise KeyboardInterrupt even if the caller ignored SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    url, prefix, study, log, n, sleep, n_jobs = sys.argv[1:8]
    storage = SQLStorage(url, table_prefix=prefix)
    X, y = data()
    search = GridSearchCV(
        CountingClassifier(log=log, sleep=float(sleep)),
        {"C": list(range(int(n)))},
        cv=3,
        storage=storage,
        study=study,
        n_jobs=int(n_jobs),
        progress=False,
        refit=False,
    )
    print("searching", flush=True)
    search.fit(X, y)
    print("done", flush=True)
    if len(sys.argv) > 8:
        hammer(storage, *sys.argv[8:])


def hammer(storage: SQLStorage, worker: str, n: str) -> None:
    """Commit ``n`` results one by one, reading the study now and then."""
    storage.create_study(StudyRecord("shared", {"cv": {"n_splits": 1}}, time.time()))
    for i in range(int(n)):
        result = FoldResult(
            candidate_key=f"w{worker}-{i}",
            split=0,
            test_scores={"score": i / 7},
            train_scores=None,
            n_test_samples=1,
            fit_time=0.0,
            score_time=0.0,
        )
        storage.add_results("shared", [result])
        if i % 10 == 0:
            storage.read("shared")


if __name__ == "__main__":
    main()
