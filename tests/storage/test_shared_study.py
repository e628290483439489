"""Processes running one search on one study split its work with leases.

Real processes on one SQLite file and on the PostgreSQL server, each fitting
a classifier that logs which process starts which fit
(:class:`sharing.LoggedClassifier`): every task is fitted once while its
holder lives, a killed holder's claim is taken over once its lease expires,
and every process ends with the same, complete ``cv_results_``. No step
waits for a time: each waits for a file, a log line or a stored result.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from sklearn.model_selection import check_cv

from hpsearch import load_study
from hpsearch._space import candidate_key
from hpsearch.storage import SQLStorage
from hpsearch.storage._recorder import LEASE_ENV

sys.path.insert(0, os.path.dirname(__file__))
from counting import data, digest
from sharing import HOLD_AFTER, read_starts

HERE = Path(__file__).parent
N_PROCESSES = 4


def split_digests() -> list[str]:
    """The digest of each split's training part, by split index (cv=3)."""
    X, y = data()
    cv = check_cv(3, y, classifier=True)
    return [digest(X[train]) for train, _ in cv.split(X, y)]


class Runs:
    """Search processes on one study, started from ``run_shared.py``."""

    def __init__(self, url: str, prefix: str, folder: Path, n: int, sleep: float):
        self.args = [url, prefix, str(folder / "fits.log"), str(n), str(sleep)]
        self.folder = folder
        self.go = folder / "go"
        self.processes: list[subprocess.Popen[str]] = []

    def __enter__(self) -> Runs:
        return self

    def __exit__(self, *exc: object) -> None:
        for process in self.processes:  # a failed test leaves none behind
            if process.poll() is None:
                process.kill()
            process.communicate()

    def start(self, **env: str) -> subprocess.Popen[str]:
        out = self.folder / f"out{len(self.processes)}.pkl"
        process = subprocess.Popen(
            [
                sys.executable,
                str(HERE / "run_shared.py"),
                *self.args,
                str(self.go),
                str(out),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **env},
        )
        process.out = out  # type: ignore[attr-defined]
        self.processes.append(process)
        return process

    def wait_for(self, condition: Callable[[], bool], what: str) -> None:
        """Wait until ``condition()``; fail at once if a process died."""
        deadline = time.monotonic() + 120  # a hung test, not a timing bound
        while not condition():
            for p in self.processes:
                if p.poll() not in (None, 0, -signal.SIGKILL):
                    pytest.fail(f"a search process failed: {p.communicate()[1]}")
            assert time.monotonic() < deadline, f"still waiting for {what}"
            time.sleep(0.02)

    def finish(self, processes: list[subprocess.Popen[str]]) -> list[dict]:
        """Each process's cv_results_, once it has ended well."""
        results = []
        for process in processes:
            _, err = process.communicate(timeout=120)
            assert process.returncode == 0, err
            with open(process.out, "rb") as f:  # type: ignore[attr-defined]
                results.append(pickle.load(f))
        return results

    def starts(self) -> list[tuple[int, str, int, float]]:
        return read_starts(self.args[2])


def assert_same_results(results: list[dict], n_candidates: int) -> None:
    first = results[0]
    assert list(first["params"]) == [{"C": c} for c in range(n_candidates)]
    for other in results[1:]:
        assert other.keys() == first.keys()
        for key in first:
            np.testing.assert_array_equal(other[key], first[key], err_msg=key)


def check_split_between_four(url: str, prefix: str, tmp_path: Path) -> None:
    n = 12
    with Runs(url, prefix, tmp_path, n, sleep=0.05) as runs:
        check_split(runs, url, prefix, n)


def check_split(runs: Runs, url: str, prefix: str, n: int) -> None:
    processes = [runs.start() for _ in range(N_PROCESSES)]
    runs.wait_for(
        lambda: all(Path(f"{p.out}.ready").exists() for p in processes),  # type: ignore[attr-defined]
        "every process to be ready",
    )
    runs.go.touch()  # all start searching together
    results = runs.finish(processes)
    # Every task was fitted exactly once, by one of the four.
    fitted = Counter((c, d) for c, d, _, _ in runs.starts())
    assert fitted == {(c, d): 1 for c in range(n) for d in split_digests()}
    assert_same_results(results, n)
    storage = SQLStorage(url, table_prefix=prefix)
    study = load_study(storage, "shared")
    storage.close()
    assert study.status == "finished"
    assert (study.progress.done, study.progress.total, study.progress.running) == (
        3 * n,
        3 * n,
        0,
    )


def check_killed_holder_taken_over(url: str, prefix: str, tmp_path: Path) -> None:
    # Fits of 0.12 s: each unit holds one task (batches aim at 0.1 s).
    n = 8
    with Runs(url, prefix, tmp_path, n, sleep=0.12) as runs:
        check_take_over(runs, url, prefix, n)


def check_take_over(runs: Runs, url: str, prefix: str, n: int) -> None:
    runs.go.touch()
    lease = {LEASE_ENV: "4"}
    # The victim fits two tasks alone, then holds its third claim until killed.
    victim = runs.start(**lease, **{HOLD_AFTER: "2"})
    runs.wait_for(lambda: len(runs.starts()) == 3, "the victim's third fit")
    storage = SQLStorage(url, table_prefix=prefix)
    digests = split_digests()
    first_two = {
        (candidate_key({"C": c}), None, digests.index(d))
        for c, d, _, _ in runs.starts()[:2]
    }
    runs.wait_for(
        lambda: first_two <= {r.key for r in storage.read("shared").results},
        "the victim's first two results to be stored",
    )
    survivors = [runs.start(**lease) for _ in range(N_PROCESSES - 1)]
    runs.wait_for(
        lambda: any(pid != victim.pid for _, _, pid, _ in runs.starts()),
        "a survivor's first fit",
    )
    assert load_study(storage, "shared").progress.running >= 2
    os.kill(victim.pid, signal.SIGKILL)
    killed_at = time.time()
    victim.wait()
    results = runs.finish(survivors)

    starts = runs.starts()
    held = starts[2]
    assert held[2] == victim.pid
    fitted = Counter((c, d) for c, d, _, _ in starts)
    # Every task fitted once, but the held one: again by a survivor, only
    # after the victim died (its lease expired, it was not taken while alive).
    assert fitted == {
        (c, d): 2 if (c, d) == held[:2] else 1 for c in range(n) for d in digests
    }
    (again,) = [s for s in starts[3:] if s[:2] == held[:2]]
    assert again[2] in {p.pid for p in survivors}
    assert again[3] > killed_at
    assert_same_results(results, n)
    study = load_study(storage, "shared")
    assert study.status == "finished"
    assert (study.progress.done, study.progress.running) == (3 * n, 0)
    storage.close()


def test_four_processes_split_a_study_on_one_sqlite_file(tmp_path):
    check_split_between_four(str(tmp_path / "shared.db"), "hpsearch_", tmp_path)


@pytest.mark.postgres
def test_four_processes_split_a_study_on_postgres(
    postgres_url, postgres_prefix, tmp_path
):
    check_split_between_four(postgres_url, postgres_prefix, tmp_path)


@pytest.mark.slow
def test_a_killed_process_claims_are_taken_over_on_sqlite(tmp_path):
    check_killed_holder_taken_over(str(tmp_path / "shared.db"), "hpsearch_", tmp_path)


@pytest.mark.slow
@pytest.mark.postgres
def test_a_killed_process_claims_are_taken_over_on_postgres(
    postgres_url, postgres_prefix, tmp_path
):
    check_killed_holder_taken_over(postgres_url, postgres_prefix, tmp_path)
