"""A search of networks killed (SIGKILL) at a random moment, then resumed.

Fits wait once the fit log reaches the chosen length, so the kill always
finds the search running, however busy the machine."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from hpsearch import GridSearchCV, load_study
from hpsearch._planning import MAX_BATCH
from hpsearch._space import candidate_key
from hpsearch.storage import SQLStorage
from networks import HOLD_AT, FitLog, digits, network_grid, small_net

HERE = Path(__file__).parent
N_FITS = len(network_grid()["module__hidden"]) * 3


def read_fits(log: Path) -> list[tuple[str, str]]:
    if not log.exists():
        return []
    return [tuple(line.split()) for line in log.read_text().splitlines() if line]


def task_names() -> dict[tuple[str, int], tuple[str, str]]:
    """(candidate key, split) -> (hidden units, training rows' digest)."""
    X, y = digits(300)
    splits = list(StratifiedKFold(3).split(X, y))
    return {
        (candidate_key({"module__hidden": h}), s): (
            str(h),
            hashlib.blake2b(
                np.ascontiguousarray(X[train]).tobytes(), digest_size=6
            ).hexdigest(),
        )
        for h in network_grid()["module__hidden"]
        for s, (train, _) in enumerate(splits)
    }


def stored(db: Path) -> set[tuple[str, str]]:
    """The fits whose results the study holds."""
    if not db.exists():
        return set()
    storage = SQLStorage(db)
    try:
        if storage.get_study("networks") is None:
            return set()
        names = task_names()
        return {
            names[r.candidate_key, r.split] for r in storage.read("networks").results
        }
    finally:
        storage.close()


def start(db: Path, log: Path, hold_at: int | None = None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != HOLD_AT}
    if hold_at is not None:
        env[HOLD_AT] = str(hold_at)
    return subprocess.Popen(
        [
            sys.executable,
            str(HERE / "run_network_search.py"),
            f"sqlite:///{db}",
            str(log),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # One thread, as in this process: the scores must match to the bit.
        env={**env, "OMP_NUM_THREADS": "1"},
    )


@pytest.mark.slow
def test_a_killed_search_of_networks_resumes_and_refits_nothing_stored(tmp_path):
    rng = random.Random(13)
    db, log = tmp_path / "nets.db", tmp_path / "fits.log"
    fits_at_kill = []
    stored_at_kill = []
    for _ in range(1):  # each start imports PyTorch: one kill keeps it short
        done = len(read_fits(log))
        target = done + rng.randint(1, (N_FITS - done) // 3)
        # From the target-th fit on, fits wait: the kill finds the search
        # running, however busy the machine.
        process = start(db, log, hold_at=target)
        while len(read_fits(log)) < target and process.poll() is None:
            time.sleep(0.002)
        assert process.poll() is None, process.communicate()
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
        assert process.returncode != 0, "the search finished before the signal"
        fits_at_kill.append(len(read_fits(log)))
        stored_at_kill.append(stored(db))
    process = start(db, log)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err

    fits = read_fits(log)
    counts = Counter(fits)
    # Every (network, fold) was fitted; refitted ones were in flight at a kill.
    assert len(counts) == N_FITS
    for at, kept in zip(fits_at_kill, stored_at_kill, strict=True):
        # Nothing stored when the process was killed was fitted again.
        assert not set(fits[at:]) & kept
        # Lost: the unit in flight and the one whose commit was under way.
        assert len(set(fits[:at]) - kept) <= 2 * MAX_BATCH
    assert stored(db) == set(task_names().values())
    study = load_study(f"sqlite:///{db}", "networks")
    assert study.status == "finished"

    torch.set_num_threads(1)
    with threadpool_limits(1):
        expected = GridSearchCV(
            small_net(callbacks=[("log", FitLog(None))]),
            network_grid(),
            cv=3,
            progress=False,
            refit=False,
        ).fit(*digits(300))
    for key in ("mean_test_score", "split0_test_score", "rank_test_score"):
        np.testing.assert_array_equal(study.cv_results_[key], expected.cv_results_[key])
