"""A large stored study for the dashboard's benchmark: N candidates x 5 splits.

The study's spec comes from a real (tiny) search, so it is what a search
writes; its candidates and fold results are then written through the
``Storage`` protocol, as a search's recorder writes them, in a few
transactions (running 100,000 real fits would take the benchmark an hour).
Scores are a smooth function of the parameters plus noise; one candidate in
200 fails with a traceback.
"""

from __future__ import annotations

import time
import uuid

import numpy as np
from sklearn.datasets import load_iris
from sklearn.svm import SVC

from hpsearch import GridSearchCV, load_study
from hpsearch._records import FoldResult
from hpsearch._space import candidate_key
from hpsearch.storage import (
    RunRecord,
    StoredCandidate,
    StudyRecord,
    open_storage,
)
from hpsearch.storage._codec import dumps, encode_value

N_SPLITS = 5


def make_big_study(storage: str, name: str, n_candidates: int, seed: int = 0) -> None:
    """Store study ``name`` with ``n_candidates`` x 5 fold results."""
    X, y = load_iris(return_X_y=True)
    tiny = f"tiny-{uuid.uuid4().hex[:8]}"
    space = {"C": [0.1, 1.0], "gamma": [0.1, 1.0], "kernel": ["rbf", "linear"]}
    GridSearchCV(SVC(), space, storage=storage, study=tiny, progress=False).fit(X, y)
    spec = load_study(storage, tiny).spec.to_dict()
    rng = np.random.default_rng(seed)
    c = 10 ** rng.uniform(-3, 3, n_candidates)
    gamma = 10 ** rng.uniform(-4, 1, n_candidates)
    kernel = rng.choice(["rbf", "linear", "poly"], n_candidates)
    params = [
        {"C": float(a), "gamma": float(b), "kernel": str(k)}
        for a, b, k in zip(c, gamma, kernel, strict=True)
    ]
    keys = [candidate_key(p) for p in params]
    base = 0.9 - 0.02 * (np.log10(c) - 1) ** 2 - 0.03 * (np.log10(gamma) + 2) ** 2
    opened = open_storage(storage)
    try:
        opened.create_study(StudyRecord(name, spec, time.time()))
        opened.add_trials(
            name,
            [
                StoredCandidate(k, dumps(encode_value(p)))
                for k, p in zip(keys, params, strict=True)
            ],
            keys,
        )
        start = time.time() - n_candidates * 0.01
        results = []
        for i, key in enumerate(keys):
            fails = i % 200 == 199
            for split in range(N_SPLITS):
                score = float(base[i] + rng.normal(0, 0.01))
                results.append(
                    FoldResult(
                        candidate_key=key,
                        split=split,
                        test_scores={"score": float("nan") if fails else score},
                        train_scores=None,
                        n_test_samples=30,
                        fit_time=float(rng.uniform(0.001, 0.05)),
                        score_time=0.001,
                        status="failed" if fails else "ok",
                        error="Traceback (most recent call last):\nValueError: "
                        "synthetic failure"
                        if fails
                        else None,
                        started_at=start + i * 0.01,
                        finished_at=start + i * 0.01 + 0.005,
                    )
                )
            if len(results) >= 20_000:
                opened.add_results(name, results)
                results = []
        if results:
            opened.add_results(name, results)
        opened.set_run(
            name,
            RunRecord(uuid.uuid4().hex, "finished", "bench", 0, start, time.time()),
        )
    finally:
        close = getattr(opened, "close", None)
        if close is not None:
            close()
