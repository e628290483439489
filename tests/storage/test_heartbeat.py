"""Truthful status: a study reads "running" only while a process beats.

A real search process on a SQLite file, killed with SIGKILL: on its own host
the dead process id tells at once; elsewhere (its run's host rewritten, as if
it ran on another machine) only its heartbeat, which stops: the study reads
"interrupted" once the heartbeat is older than the run's lease, in
``load_study``, ``list_studies`` and ``hpsearch studies``. The heartbeat is
aged in the database rather than waited for.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from hpsearch import list_studies, load_study
from hpsearch.storage import SQLStorage
from hpsearch.storage._recorder import LEASE_ENV

sys.path.insert(0, os.path.dirname(__file__))
from counting import read_fits

HERE = Path(__file__).parent


def statuses(url: str, cli: bool = False) -> tuple[str, ...]:
    """The study's status by load_study, list_studies (and `hpsearch studies`)."""
    (summary,) = list_studies(url)
    if not cli:
        return load_study(url, "halving").status, summary.status
    listed = subprocess.run(
        [sys.executable, "-m", "hpsearch.cli", "studies", "--storage", url, "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    (row,) = json.loads(listed.stdout)
    return load_study(url, "halving").status, summary.status, row["status"]


def change_run(url: str, **values: object) -> None:
    storage = SQLStorage(url)
    runs = storage._t["runs"]
    with storage._engine.begin() as conn:
        conn.execute(sa.update(runs).values(**values))
    storage.close()


@pytest.mark.slow
def test_a_killed_search_reads_interrupted_once_its_heartbeat_is_stale(tmp_path):
    from run_halving import HOLD

    url = f"sqlite:///{tmp_path / 'halving.db'}"
    log = tmp_path / "fits.log"
    command = [sys.executable, str(HERE / "run_halving.py"), url, "halving", str(log)]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, HOLD: "5", LEASE_ENV: "120"},
    )
    try:
        while len(read_fits(log)) < 5:  # the search runs, its fits held
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
        assert statuses(url, cli=True) == ("running",) * 3
        # A halving search cannot share its study: a second one is refused.
        second = subprocess.run(command, capture_output=True, text=True)
        assert second.returncode == 1
        assert re.search(
            r"StorageError: study 'halving' in sqlite:///.* must not be searched by "
            r"two processes at once with HalvingGridSearchCV; got a live process "
            rf"on it \(host {socket.gethostname()}, pid {process.pid}\)\. "
            r"HalvingGridSearchCV chooses its next work from all results so far",
            second.stderr,
        ), second.stderr
    finally:
        process.kill()
        process.communicate()
    # On its own host, its dead process id says it has stopped.
    assert statuses(url)[0] == "interrupted"
    # On another host only the heartbeat tells: fresh, then older than the lease.
    change_run(url, host="another-host")
    assert statuses(url) == ("running",) * 2
    change_run(url, heartbeat_at=sa.column("heartbeat_at") - 121)
    assert statuses(url, cli=True) == ("interrupted",) * 3
    # The study is free again: a rerun resumes it and finishes.
    subprocess.run(command, capture_output=True, check=True)
    assert statuses(url) == ("finished",) * 2
