"""``timeout_running="cancel"``: at the deadline running fits are stopped.

Each search here holds its fits until the test releases them (at most five
minutes): without "cancel" it would run for minutes. The assertions are on
what the fits logged to a file and what the search recorded, never on wall
time.
"""

from __future__ import annotations

import re
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.model_selection import KFold
from sklearn.utils._param_validation import InvalidParameterError

from held_estimators import Held, logged
from hpsearch import GridSearchCV, load_study

FAST = {"value": [0.1], "hold": [False]}
HELD = {"value": [0.2, 0.3, 0.4], "hold": [True]}


def xy():
    X = np.arange(40, dtype=float).reshape(20, 2)
    return X, np.arange(20) % 2


def search(folder: Path, grid, **kwargs):
    return GridSearchCV(
        Held(folder=str(folder)),
        grid,
        cv=KFold(2),
        n_jobs=2,
        refit=False,
        progress=False,
        storage=f"sqlite:///{folder / 'runs.db'}",
        study="held",
        **kwargs,
    )


def fit_and_warnings(search):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search.fit(*xy())
    return [str(w.message) for w in caught]


def wait_for(condition, what: str, seconds: float = 120.0) -> None:
    """Wait for an event that must come (a process to die, a thread to end)."""
    give_up = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < give_up, f"waited {seconds} s for {what}"
        time.sleep(0.05)


def fit_threads() -> list[threading.Thread]:
    """The threads of the thread lanes still running."""
    return [t for t in threading.enumerate() if re.fullmatch(r"hpsearch-\d+", t.name)]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def started_and_stored_first(tmp_path: Path, backend: str) -> None:
    """The fast candidate stored (so that it is complete however late the
    held fits start), and the backend's workers started."""
    search(tmp_path, FAST, backend=backend).fit(*xy())
    assert [e for e, _, _ in logged(tmp_path)] == ["start", "end"] * 2


@pytest.mark.slow  # starts loky's workers twice: 5-10 s, more on a busy machine
def test_cancel_terminates_the_loky_workers_of_running_fits(tmp_path):
    started_and_stored_first(tmp_path, "loky")
    held = search(
        tmp_path, [FAST, HELD], backend="loky", timeout=2, timeout_running="cancel"
    )
    messages = fit_and_warnings(held)
    lines = logged(tmp_path)[4:]
    # Held fits had started, in worker processes; none ended, and those
    # processes were terminated (not left to hold for five minutes).
    starts = {pid for event, value, pid in lines if event == "start"}
    assert starts and all(value >= 0.2 for _, value, _ in lines)
    assert [e for e, _, _ in lines] == ["start"] * len(lines)
    wait_for(lambda: not any(alive(pid) for pid in starts), "the workers to die")
    assert held.timed_out_ is True
    assert held.cv_results_["params"] == [{"hold": False, "value": 0.1}]
    (message,) = messages
    assert re.fullmatch(
        r"timeout=2 expired: 3 of 4 proposed candidate evaluations were not "
        r"complete and are left out of cv_results_ and best_\*\. (\d) fits in "
        r"flight were cancelled \(timeout_running='cancel'\)\. Run the search "
        r"again to continue with a fresh budget\.",
        message,
    ), message
    # Nothing of the cancelled fits was stored: a rerun, on fresh workers,
    # fits them (and only them).
    assert load_study(f"sqlite:///{tmp_path / 'runs.db'}", "held").progress.done == 2
    (tmp_path / "release").touch()
    rerun = search(tmp_path, [FAST, HELD], backend="loky").fit(*xy())
    assert len(rerun.cv_results_["params"]) == 4
    after = logged(tmp_path)[4 + len(lines) :]
    ended = sorted(value for event, value, _ in after if event == "end")
    assert ended == [0.2, 0.2, 0.3, 0.3, 0.4, 0.4]
    assert not {pid for _, _, pid in after} & starts


def test_cancel_abandons_fits_running_in_threads(tmp_path):
    started_and_stored_first(tmp_path, "threading")
    held = search(
        tmp_path,
        [FAST, HELD],
        backend="threading",
        timeout=2,
        timeout_running="cancel",
    )
    messages = fit_and_warnings(held)
    assert held.timed_out_ is True
    assert held.cv_results_["params"] == [{"hold": False, "value": 0.1}]
    assert "fits in flight were cancelled (timeout_running='cancel')" in messages[0]
    # fit returned while its threads still held their fits: they cannot be
    # stopped. Released, they end in the background (each with the rest of
    # its unit), their results dropped.
    lines = logged(tmp_path)[4:]
    assert lines and {e for e, _, _ in lines} == {"start"}
    (tmp_path / "release").touch()
    wait_for(lambda: not fit_threads(), "the threads to end")
    lines = logged(tmp_path)[4:]
    assert [e for e, _, _ in lines].count("end") == len(lines) / 2
    assert load_study(f"sqlite:///{tmp_path / 'runs.db'}", "held").progress.done == 2


def test_a_bad_timeout_running_is_refused_before_any_fit(tmp_path):
    bad = search(tmp_path, FAST, timeout=1, timeout_running="kill")
    with pytest.raises(
        InvalidParameterError,
        match=re.escape(
            "The 'timeout_running' parameter of GridSearchCV must be a str among"
        ),
    ):
        bad.fit(*xy())
    assert logged(tmp_path) == []
