"""Overhead of storage: the same search in memory, on SQLite and on PostgreSQL.

A search of many cheap candidates (each fit takes about a millisecond) is the
worst case for storage: results are committed as they arrive (one commit per
unit of work, overlapping the next unit's work). The three runs alternate,
several times; the table gives the median wall time of each, its ratio to the
in-memory run, and the same for the process's CPU time.

Run: .venv/bin/python benchmarks/storage_overhead.py [--reps 7] [--candidates 800]
PostgreSQL is used when HPSEARCH_TEST_POSTGRES_URL (or --postgres URL) is set.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from sklearn.datasets import make_classification
from sklearn.tree import DecisionTreeClassifier

from hpsearch import GridSearchCV
from hpsearch.storage import SQLStorage
from hpsearch.storage._sql import _tables, storage_url


def search(storage: object, n_candidates: int, n_jobs: int) -> GridSearchCV:
    return GridSearchCV(
        DecisionTreeClassifier(random_state=0),
        {
            "max_depth": list(range(1, n_candidates // 4 + 1)),
            "criterion": ["gini", "entropy"],
            "splitter": ["best", "random"],
        },
        cv=3,
        storage=storage,
        study=f"bench-{uuid.uuid4().hex[:8]}" if storage is not None else None,
        n_jobs=n_jobs,
        progress=False,
        refit=False,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--candidates", type=int, default=800)
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument(
        "--postgres", default=os.environ.get("HPSEARCH_TEST_POSTGRES_URL")
    )
    args = parser.parse_args()
    X, y = make_classification(n_samples=300, n_features=10, random_state=0)
    folder = Path(tempfile.mkdtemp())
    prefix = f"bench{uuid.uuid4().hex[:8]}_"
    kinds = ["memory", "sqlite"] + (["postgresql"] if args.postgres else [])
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    cpu: dict[str, list[float]] = {kind: [] for kind in kinds}
    search(None, args.candidates, args.n_jobs).fit(X, y)  # warm up imports, workers
    SQLStorage(str(folder / "warm-up.db")).close()
    if args.postgres:
        SQLStorage(args.postgres, table_prefix=prefix).close()
    for rep in range(args.reps):
        for kind in kinds:
            if kind == "memory":
                storage = None
            elif kind == "sqlite":
                storage = str(folder / f"rep{rep}.db")
            # Everything a user waits for: opening the storage and the study,
            # the search, and closing it.
            start = time.perf_counter()
            start_cpu = time.process_time()
            if kind == "postgresql":
                storage = SQLStorage(args.postgres, table_prefix=prefix)
            search(storage, args.candidates, args.n_jobs).fit(X, y)
            if isinstance(storage, SQLStorage):
                storage.close()
            times[kind].append(time.perf_counter() - start)
            cpu[kind].append(time.process_time() - start_cpu)
    if args.postgres:
        engine = sa.create_engine(storage_url(args.postgres))
        metadata = sa.MetaData()
        _tables(metadata, prefix)
        metadata.drop_all(engine)
        engine.dispose()
    n_fits = (args.candidates // 4) * 4 * 3
    base = statistics.median(times["memory"])
    base_cpu = statistics.median(cpu["memory"])
    print(
        f"storage overhead: {args.candidates} candidates x 3 splits = {n_fits} fits "
        f"of DecisionTreeClassifier, n_jobs={args.n_jobs}, median of {args.reps} reps"
    )
    print(
        f"{'storage':<12} {'wall s':>8} {'per fit ms':>11} {'ratio':>7} "
        f"{'cpu s':>8} {'cpu ratio':>10}"
    )
    for kind in kinds:
        median = statistics.median(times[kind])
        median_cpu = statistics.median(cpu[kind])
        print(
            f"{kind:<12} {median:>8.3f} {1000 * median / n_fits:>11.3f} "
            f"{median / base:>7.3f} {median_cpu:>8.3f} {median_cpu / base_cpu:>10.3f}"
        )
    print(
        "wall: median wall time, opening the storage and closing it included; "
        "cpu: this process's CPU time (all its threads), less sensitive to "
        "other load on the machine."
    )


if __name__ == "__main__":
    main()
