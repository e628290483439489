"""Searches killed at random moments (SIGKILL, SIGINT, SIGTERM), then resumed.

A search runs in a subprocess and is interrupted once its fit log reaches a
randomly chosen length (fits wait from then on, so the signal always finds
the search running, however busy the machine; a stop that waited for them
would not end); after a few interruptions it is run to the end. Then:
no stored result was fitted again, every result fitted twice was one that had
not been stored when its process was stopped (in flight), and the final
results equal those of an uninterrupted search.
"""

from __future__ import annotations

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
from sklearn.model_selection import StratifiedKFold

from hpsearch import GridSearchCV, load_study
from hpsearch._space import candidate_key
from hpsearch.storage import SQLStorage

sys.path.insert(0, os.path.dirname(__file__))
from counting import HOLD_AT, CountingClassifier, data, digest, read_fits

from interrupts import default_sigint

HERE = Path(__file__).parent
N_CANDIDATES = 24
N_SPLITS = 3
SLEEP = 0.01
# A unit of work's results are stored together; the planner batches at most
# this many tasks in one unit, so at most this many per worker are in flight.
try:
    from hpsearch._planning import MAX_BATCH as MAX_IN_FLIGHT
except ImportError:  # planning without batches: one task per unit
    MAX_IN_FLIGHT = 1
TIMINGS = ("mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time")


def start(
    url: str, prefix: str, log: Path, n_jobs: int, hold_at: int | None = None
) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != HOLD_AT}
    if hold_at is not None:
        env[HOLD_AT] = str(hold_at)
    return subprocess.Popen(
        [
            sys.executable,
            str(HERE / "run_search.py"),
            url,
            prefix,
            "crash",
            str(log),
            str(N_CANDIDATES),
            str(SLEEP),
            str(n_jobs),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=default_sigint,
    )


def task_names() -> dict[tuple[str, int], tuple[str, str]]:
    """(candidate key, split) -> (C, split digest), as the fit log names tasks."""
    X, y = data()
    splits = list(StratifiedKFold(N_SPLITS).split(X, y))
    return {
        (candidate_key({"C": c}), s): (repr(c), digest(X[train]))
        for c in range(N_CANDIDATES)
        for s, (train, _) in enumerate(splits)
    }


def stored(url: str, prefix: str) -> set[tuple[str, str]]:
    storage = SQLStorage(url, table_prefix=prefix)
    try:
        if storage.get_study("crash") is None:
            return set()
        names = task_names()
        return {
            (names[r.candidate_key, r.split]) for r in storage.read("crash").results
        }
    finally:
        storage.close()


def crash_and_resume(
    url: str, prefix: str, tmp_path: Path, signum: int, n_jobs: int = 1, kills: int = 3
) -> None:
    rng = random.Random(f"{signum}-{n_jobs}-{url[:8]}")
    log = tmp_path / "fits.log"
    total = N_CANDIDATES * N_SPLITS
    stored_at_kill: list[set[tuple[str, str]]] = []
    fits_at_kill: list[int] = []
    for _ in range(kills):
        n_fits = len(read_fits(log))
        target = n_fits + rng.randint(1, max(1, (total - n_fits) // 3))
        process = start(url, prefix, log, n_jobs, hold_at=target)
        while len(read_fits(log)) < target and process.poll() is None:
            time.sleep(0.002)
        assert process.poll() is None, process.communicate()
        process.send_signal(signum)
        # The fits running now wait ten minutes: a stop that waited for them
        # would not end within this timeout.
        _, err = process.communicate(timeout=120)
        assert process.returncode != 0, "the search finished before the signal"
        fits_at_kill.append(len(read_fits(log)))
        stored_at_kill.append(stored(url, prefix))
        if signum != signal.SIGKILL:
            name = signal.Signals(signum).name
            assert f"search interrupted ({name})" in err, err
            assert "To resume, run the same search again with storage=" in err, err
            assert "study='crash'" in err, err
            assert "database is locked" not in err
    process = start(url, prefix, log, n_jobs)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err

    fits = read_fits(log)
    assert stored(url, prefix) == set(task_names().values())
    for i, at in enumerate(fits_at_kill):
        before, after = set(fits[:at]), fits[at:]
        # No result stored when the process was stopped was fitted again.
        assert not set(after) & stored_at_kill[i]
        # Results lost were in flight: at most one unit per worker, and after
        # SIGKILL the one finished unit whose commit was under way.
        lost = before - stored_at_kill[i]
        units = n_jobs + (signum == signal.SIGKILL)
        assert len(lost) <= MAX_IN_FLIGHT * units, (i, len(lost))
    counts = Counter(fits)
    lost_total = sum(
        len(set(fits[:at]) - s)
        for at, s in zip(fits_at_kill, stored_at_kill, strict=True)
    )
    assert sum(counts.values()) - total <= lost_total
    assert max(counts.values()) <= 1 + kills

    storage = SQLStorage(url, table_prefix=prefix)
    study = load_study(storage, "crash")
    storage.close()
    X, y = data()
    expected = GridSearchCV(
        CountingClassifier(),
        {"C": list(range(N_CANDIDATES))},
        cv=N_SPLITS,
        progress=False,
        refit=False,
    ).fit(X, y)
    assert study.status == "finished"
    for key, value in expected.cv_results_.items():
        if key in TIMINGS:
            continue
        if key == "params":
            assert study.cv_results_[key] == value
        else:
            np.testing.assert_array_equal(study.cv_results_[key], value, err_msg=key)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "kills"),
    [(signal.SIGKILL, 3), (signal.SIGINT, 2), (signal.SIGTERM, 1)],
    ids=["SIGKILL", "SIGINT", "SIGTERM"],
)
def test_a_sqlite_search_stopped_at_random_moments_resumes_without_loss(
    tmp_path, signum, kills
):
    db = str(tmp_path / "runs.db")
    crash_and_resume(db, "hpsearch_", tmp_path, signum, kills=kills)


@pytest.mark.slow
def test_ctrl_c_stops_parallel_workers_promptly_and_resumes(tmp_path):
    db = str(tmp_path / "runs.db")
    crash_and_resume(db, "hpsearch_", tmp_path, signal.SIGINT, n_jobs=2, kills=1)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize(
    ("signum", "kills"),
    [(signal.SIGKILL, 2), (signal.SIGINT, 1)],
    ids=["SIGKILL", "SIGINT"],
)
def test_a_postgres_search_stopped_at_random_moments_resumes_without_loss(
    postgres_url, postgres_prefix, tmp_path, signum, kills
):
    crash_and_resume(postgres_url, postgres_prefix, tmp_path, signum, kills=kills)


def test_a_halving_search_killed_mid_rung_resumes_without_refitting(tmp_path):
    """SIGKILL in the middle of the second rung: the rerun fits no stored
    (candidate, resource, split) again, and ends as an uninterrupted search."""
    from run_halving import HOLD, search

    url = f"sqlite:///{tmp_path / 'halving.db'}"
    log = tmp_path / "fits.log"
    command = [sys.executable, str(HERE / "run_halving.py"), url, "halving", str(log)]
    first_rung = 27 * N_SPLITS
    # The second rung's first unit holds at most 27 / 2 tasks (the planner's
    # guided batches): with fits held after 14 of them, it is stored and the
    # search cannot end before it is killed.
    held_after = first_rung + 14
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, HOLD: str(held_after)},
        preexec_fn=default_sigint,
    )

    def stored_now() -> set:
        if not (tmp_path / "halving.db").exists():
            return set()
        storage = SQLStorage(url)
        try:
            if storage.get_study("halving") is None:
                return set()
            return {r.key for r in storage.read("halving").results}
        finally:
            storage.close()

    while len(read_fits(log)) < held_after or len(stored_now()) <= first_rung:
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    process.kill()
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    fits_at_kill = len(read_fits(log))
    stored_at_kill = stored_now()
    assert first_rung < len(stored_at_kill) < 117  # mid second rung

    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    fits = read_fits(log)
    X, y = data()
    expected = search().fit(X, y)
    study = load_study(url, "halving")
    assert study.status == "finished"
    assert study.progress.done == study.progress.total == 117
    # After the kill, exactly the tasks not stored were fitted, once each
    # (those fitted before too were in flight, never stored).
    assert len(fits) - fits_at_kill == 117 - len(stored_at_kill)
    refitted = Counter(fits[fits_at_kill:]) & Counter(fits[:fits_at_kill])
    assert sum(refitted.values()) <= MAX_IN_FLIGHT + 1
    for key, value in expected.cv_results_.items():
        if key in TIMINGS:
            continue
        if key == "params":
            assert study.cv_results_[key] == value
        else:
            np.testing.assert_array_equal(study.cv_results_[key], value, err_msg=key)
