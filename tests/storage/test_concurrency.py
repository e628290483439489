"""Four processes writing one SQLite file, or one PostgreSQL database, at once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hpsearch import load_study
from hpsearch._space import candidate_key
from hpsearch.storage import SQLStorage

sys.path.insert(0, os.path.dirname(__file__))
from counting import read_fits

HERE = Path(__file__).parent
N_PROCESSES = 4
N_WRITES = 150
N_CANDIDATES = 12


def run_all(commands: list[list[str]]) -> None:
    processes = [
        subprocess.Popen(
            [sys.executable, *c],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for c in commands
    ]
    for process in processes:
        _, err = process.communicate(timeout=120)
        assert "database is locked" not in err
        assert process.returncode == 0, err


def check_concurrent_writers(url: str, prefix: str, tmp_path: Path) -> None:
    # Four searches at once: two share study "a", two share study "b"; then
    # each process commits results one per transaction, all at once.
    # A study's processes share its estimator, so its fit log too.
    logs = {name: tmp_path / f"fits-{name}.log" for name in "ab"}
    run_all(
        [
            [
                str(HERE / "run_search.py"),
                url,
                prefix,
                "ab"[i // 2],
                str(logs["ab"[i // 2]]),
                str(N_CANDIDATES),
                "0",
                "1",
                str(i),
                str(N_WRITES),
            ]
            for i in range(N_PROCESSES)
        ]
    )
    storage = SQLStorage(url, table_prefix=prefix)
    try:
        keys = {r.candidate_key for r in storage.read("shared").results}
        assert keys == {
            f"w{i}-{j}" for i in range(N_PROCESSES) for j in range(N_WRITES)
        }
        for name in "ab":
            study = load_study(storage, name)
            assert study.status == "finished"
            assert (study.progress.done, study.progress.total) == (
                N_CANDIDATES * 3,
            ) * 2
            expected = [candidate_key({"C": c}) for c in range(N_CANDIDATES)]
            assert [t.candidate.key for t in study.trials] == expected
        a, b = load_study(storage, "a"), load_study(storage, "b")
        # Two processes searched each study in full; the first result of each
        # task was kept, and both studies hold the same scores.
        np.testing.assert_array_equal(
            a.cv_results_["mean_test_score"], b.cv_results_["mean_test_score"]
        )
        for log in logs.values():
            fits = read_fits(log)
            assert set(fits) == set(read_fits(logs["a"]))
            assert N_CANDIDATES * 3 <= len(fits) <= 2 * N_CANDIDATES * 3
    finally:
        storage.close()


@pytest.mark.slow
def test_four_processes_write_one_sqlite_file_at_once(tmp_path):
    check_concurrent_writers(str(tmp_path / "shared.db"), "hpsearch_", tmp_path)


@pytest.mark.slow
@pytest.mark.postgres
def test_four_processes_write_one_postgres_database_at_once(
    postgres_url, postgres_prefix, tmp_path
):
    check_concurrent_writers(postgres_url, postgres_prefix, tmp_path)
