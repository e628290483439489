"""The benchmark suite runs (quick mode, tiny sizes), so that it cannot rot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

from search_quality import METHODS  # noqa: E402
from workloads import WORKLOADS  # noqa: E402


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_every_workload_builds_its_quick_search(name):
    X, y, _, space = WORKLOADS[name].make(True)
    assert len(X) == len(y) <= 600
    assert space


def test_the_suite_prints_its_table_in_quick_mode():
    proc = subprocess.run(
        [
            sys.executable,
            str(BENCH / "run.py"),
            "--quick",
            "--no-readme",
            "--workloads",
            "pca_svc_j1",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("| pca")]
    impls = [line.split("|")[3].strip() for line in lines]
    assert impls[:3] == ["sklearn", "hpsearch", "sklearn-memory"]
    assert all(line.split("|")[9].strip() == "yes" for line in lines[:3])


@pytest.mark.slow
def test_the_continuation_benchmark_prints_its_table_in_quick_mode():
    proc = subprocess.run(
        [sys.executable, str(BENCH / "continuation.py"), "--quick"],
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [line.split("|") for line in proc.stdout.splitlines()]
    trained = {
        r[2].strip(): int(r[7].split()[0])
        for r in rows
        if len(r) > 8 and r[1].strip() == "boosting"
    }
    # The searches that continue train fewer trees than those from scratch.
    assert trained["hpsearch, continue_training"] < trained["hpsearch, from scratch"]
    assert trained["hpsearch, from scratch"] == trained["sklearn HalvingRandomSearchCV"]


def test_the_search_quality_benchmark_runs_in_quick_mode(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            str(BENCH / "search_quality.py"),
            "--quick",
            "--out",
            str(tmp_path / "quality"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| knn")]
    methods = [line.split("|")[2].strip() for line in rows]
    assert methods == METHODS
    assert "Targets:" in proc.stdout
    assert (tmp_path / "quality.quick.png").stat().st_size > 0
