"""What running on Dask costs: a 2-worker local Dask cluster vs local n_jobs=2.

The same grid search (every fit 0.2 s or more, 20+ fits) runs alternately on
loky worker processes (``n_jobs=2``) and on a ``distributed.LocalCluster`` of two
single-threaded worker processes (``backend=client``), several times; the row
printed is the median wall time of each and their ratio (the aim: Dask within
1.3x of local). Cluster start-up is paid once per session, so it is reported
apart, not in the ratio.

Run it on an otherwise idle machine::

    .venv/bin/python benchmarks/dask_overhead.py            # CPU-bound fits
    .venv/bin/python benchmarks/dask_overhead.py --sleep    # fits that sleep 0.2 s
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from distributed import Client, LocalCluster
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier

from hpsearch import GridSearchCV

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
# Worker processes (loky's and LocalCluster's inherit sys.path) import the
# sleeping estimator by name.
from dask_estimators import SlowClassifier


def workload(sleep: bool) -> tuple[object, dict, np.ndarray, np.ndarray, int]:
    """Estimator, grid, data and cv of the benchmark: 24 fits of 0.2 s or more."""
    X, y = make_classification(n_samples=3000, n_features=20, random_state=0)
    if sleep:
        return SlowClassifier(delay=0.2), {"C": list(np.logspace(-2, 2, 8))}, X, y, 3
    grid = {"max_depth": [6, 8, 10, None], "min_samples_leaf": [1, 3]}
    estimator = RandomForestClassifier(n_estimators=60, random_state=0, n_jobs=1)
    return estimator, grid, X, y, 3


def timed(backend: object, n_jobs: int | None, sleep: bool) -> tuple[float, dict]:
    estimator, grid, X, y, cv = workload(sleep)
    search = GridSearchCV(
        estimator, grid, cv=cv, n_jobs=n_jobs, backend=backend, progress=False
    )
    start = time.perf_counter()
    search.fit(X, y)
    return time.perf_counter() - start, search.cv_results_


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--sleep", action="store_true", help="fits sleep 0.2 s")
    args = parser.parse_args()

    start = time.perf_counter()
    cluster = LocalCluster(
        processes=True,
        n_workers=2,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    )
    client = Client(cluster, set_as_default=False)
    startup = time.perf_counter() - start
    try:
        # Warm-up: loky starts its workers, Dask workers import scikit-learn.
        _, local_results = timed(None, 2, args.sleep)
        _, dask_results = timed(client, None, args.sleep)
        fit_times = local_results["mean_fit_time"]
        for key in local_results:
            if "time" not in key and key != "params":
                np.testing.assert_array_equal(local_results[key], dask_results[key])
        local, dask = [], []
        for _ in range(args.reps):  # alternate, so that drifts hit both alike
            local.append(timed(None, 2, args.sleep)[0])
            dask.append(timed(client, None, args.sleep)[0])
    finally:
        client.close()
        cluster.close()
    n_fits = len(local_results["params"]) * 3
    local_median, dask_median = statistics.median(local), statistics.median(dask)
    print(f"workload: {'sleeping' if args.sleep else 'RandomForest'} fits")
    print(f"local n_jobs=2 times: {[round(t, 2) for t in local]}")
    print(f"dask 2 workers times: {[round(t, 2) for t in dask]}")
    print(f"cluster start-up (once): {startup:.2f} s")
    print(
        "| workload | fits | mean fit s | local n_jobs=2 s | dask 2 workers s | ratio |"
    )
    print(
        f"| {'sleep' if args.sleep else 'random forest'} | {n_fits} "
        f"| {float(np.mean(fit_times)):.2f} | {local_median:.2f} "
        f"| {dask_median:.2f} | {dask_median / local_median:.2f}x |"
    )


if __name__ == "__main__":
    main()
