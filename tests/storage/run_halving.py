"""Run one halving search on a storage, as a separate process (crash tests).

Usage: python run_halving.py STORAGE STUDY LOG
The search's fits append to LOG (see counting.py); each rung trains on a
subsample of every split, so a fit's digest names its (rung, split).
"""

from __future__ import annotations

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from counting import CountingClassifier, data

from hpsearch import HalvingGridSearchCV

N_CANDIDATES = 27


def search(log: str | None = None, **options: object) -> HalvingGridSearchCV:
    return HalvingGridSearchCV(
        CountingClassifier(log=log, sleep=0.005 if log else 0.0),
        {"C": list(range(N_CANDIDATES))},
        cv=3,
        factor=3,
        min_resources=10,
        random_state=0,
        progress=False,
        refit=False,
        **options,  # type: ignore[arg-type]
    )


def main() -> None:
    signal.signal(signal.SIGINT, signal.default_int_handler)
    url, study, log = sys.argv[1:4]
    X, y = data()
    print("searching", flush=True)
    search(log, storage=url, study=study).fit(X, y)
    print("done", flush=True)


if __name__ == "__main__":
    main()
