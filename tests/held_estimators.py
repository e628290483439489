"""A classifier whose fits can be held until a test releases them, logging
each fit's start and end to a file (worker processes and threads alike)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

# A held fit gives up after this long: a test whose cancel failed ends.
HOLD_SECONDS = 300.0


def log_line(folder: str, line: str) -> None:
    """Append one line to ``folder``/fits.log (atomic for short lines)."""
    fd = os.open(Path(folder) / "fits.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, f"{line}\n".encode())
    finally:
        os.close(fd)


class Held(ClassifierMixin, BaseEstimator):
    """Scores ``value``; with ``hold``, fit waits until ``folder``/release
    exists (at most HOLD_SECONDS). Each fit logs ``start`` and ``end`` lines
    with its value, process id and thread id."""

    def __init__(self, value=0.5, hold=False, folder=""):
        self.value = value
        self.hold = hold
        self.folder = folder

    def fit(self, X, y):
        where = f"{self.value} {os.getpid()} {threading.get_ident()}"
        log_line(self.folder, f"start {where}")
        release = Path(self.folder) / "release"
        give_up = time.monotonic() + HOLD_SECONDS
        while self.hold and not release.exists() and time.monotonic() < give_up:
            time.sleep(0.02)
        log_line(self.folder, f"end {where}")
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])

    def score(self, X, y, sample_weight=None):
        return self.value


def logged(folder: Path) -> list[tuple[str, float, int]]:
    """The (event, value, pid) of each logged line, in order."""
    path = folder / "fits.log"
    if not path.exists():
        return []
    lines = [line.split() for line in path.read_text().splitlines()]
    return [(event, float(value), int(pid)) for event, value, pid, _ in lines]
