"""Run one halving search on a storage, as a separate process (crash tests).

Usage: python run_halving.py STORAGE STUDY LOG
The search's fits append to LOG (see counting.py); each rung trains on a
subsample of every split, so a fit's digest names its (rung, split).
"""

from __future__ import annotations

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from counting import CountingClassifier, data, read_fits

from hpsearch import HalvingGridSearchCV

N_CANDIDATES = 27
# With this variable set, a fit waits for ever once the log has that many
# lines: the test can then stop the search mid-round, knowing it still runs.
HOLD = "HPSEARCH_TEST_HOLD_AFTER"


class HeldClassifier(CountingClassifier):
    """A CountingClassifier that holds its fits once the log is long enough."""

    def fit(self, X, y):  # type: ignore[no-untyped-def]
        hold = os.environ.get(HOLD)
        if hold and self.log and len(read_fits(self.log)) >= int(hold):
            while True:
                time.sleep(1)
        return super().fit(X, y)


def search(log: str | None = None, **options: object) -> HalvingGridSearchCV:
    return HalvingGridSearchCV(
        HeldClassifier(log=log),
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
