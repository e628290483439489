"""Run one grid search of skorch networks on a SQLite storage (crash tests).

Usage: python run_network_search.py STORAGE LOG
Each fit appends "<hidden units> <digest of its training rows>" to LOG.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from hpsearch import GridSearchCV
from networks import FitLog, network_grid, small_net


def main() -> None:
    from networks import digits

    storage, log = sys.argv[1:3]
    search = GridSearchCV(
        small_net(callbacks=[("log", FitLog(log))]),
        network_grid(),
        cv=3,
        storage=storage,
        study="networks",
        progress=False,
        refit=False,
    )
    print("searching", flush=True)
    search.fit(*digits(300))
    print("done", flush=True)


if __name__ == "__main__":
    main()
