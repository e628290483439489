"""Run one grid search on a storage, as a separate process (crash tests).

Usage: python run_search.py STORAGE PREFIX STUDY LOG N_CANDIDATES SLEEP N_JOBS
STORAGE is a SQLite file path or a PostgreSQL URL; PREFIX the table prefix.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from counting import CountingClassifier, data

from hpsearch import GridSearchCV
from hpsearch.storage import SQLStorage


def main() -> None:
    url, prefix, study, log, n, sleep, n_jobs = sys.argv[1:]
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


if __name__ == "__main__":
    main()
