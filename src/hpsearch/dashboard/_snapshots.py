"""Snapshots of stored studies, read in the background and served from memory.

Reading a study of 100,000 fold results takes seconds (the storage returns
every row, and ``cv_results_`` is built from them), so a page cannot read the
storage itself and still load in well under a second. :class:`Snapshots`
keeps the last :class:`Snapshot` of each study and hands it out at once; one
background thread reads again the studies that pages asked for recently,
each as often as its last read allows (at most every ``interval`` seconds;
while a search runs on it, spending at most a third of the time reading it,
otherwise a tenth), so a running search's progress reaches the page within
seconds. Only a study
never read before makes its first request wait for the read.

All reads go through one storage object used by that one thread, and
through the public reading API (``load_study``, ``Storage.list_studies``).
"""

from __future__ import annotations

import concurrent.futures
import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hpsearch._errors import StudyNotFoundError
from hpsearch.plot import _data

if TYPE_CHECKING:
    from hpsearch.dashboard._tables import TrialTable

#: A study not asked for during this many seconds is no longer read again.
WATCH_SECONDS = 30.0


@dataclass
class Snapshot:
    """One read of a study, with what pages need precomputed or cached."""

    study: Any
    read_at: float
    read_seconds: float
    version: str
    cache: dict[Any, Any] = field(default_factory=dict)

    @functools.cached_property
    def source(self) -> _data.Source | None:
        """The plot data of the study; None while no candidate is complete."""
        if not self.study.trials:
            return None
        return _data.source(self.study)

    @functools.cached_property
    def table(self) -> TrialTable:
        """The trial table: one row per complete candidate."""
        from hpsearch.dashboard._tables import trial_table

        return trial_table(self)

    def cached(self, key: Any, make: Callable[[], Any]) -> Any:
        """``make()``, computed once per snapshot."""
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]


def _version(study: Any) -> str:
    """Changes whenever a result or a run is stored."""
    p = study.progress
    return f"{study.updated_at.timestamp():.6f}-{p.done}-{p.failed}-{study.status}"


class Snapshots:
    """The latest snapshot of each study in a storage; thread-safe.

    Parameters
    ----------
    storage : str or Storage
        As ``load_study``'s argument; opened once, used by one thread.
    interval : float
        The shortest time between two reads of one study.
    """

    def __init__(self, storage: Any, interval: float = 2.0) -> None:
        from hpsearch.storage import open_storage

        self.interval = interval
        self._reader = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="hpsearch-dashboard-reader"
        )
        # The storage is opened in the reader thread, and only used there.
        self._storage = self._reader.submit(open_storage, storage).result()
        self.url: str = self._storage.url
        self._lock = threading.Lock()
        self._snapshots: dict[str, Snapshot] = {}
        self._pending: dict[str, concurrent.futures.Future[Snapshot | None]] = {}
        self._asked: dict[str, float] = {}
        self._names: tuple[float, list[str]] = (0.0, [])
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._refresh_loop, name="hpsearch-dashboard-refresh", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Stop reading and close the storage."""
        self._stop.set()
        self._thread.join(timeout=5)
        close = getattr(self._storage, "close", None)
        if close is not None:
            self._reader.submit(close).result()
        self._reader.shutdown(wait=True, cancel_futures=True)

    # -- reading ---------------------------------------------------------

    def names(self) -> list[str]:
        """The studies' names, oldest first (read at most every interval)."""
        read_at, names = self._names
        if time.monotonic() - read_at >= self.interval:
            records = self._reader.submit(self._storage.list_studies).result()
            names = [r.name for r in records]
            self._names = (time.monotonic(), names)
        return names

    def get(self, name: str) -> Snapshot | None:
        """The study's latest snapshot (read now if never read); None if gone."""
        with self._lock:
            self._asked[name] = time.monotonic()
            snapshot = self._snapshots.get(name)
        if snapshot is not None:
            return snapshot
        return self._read(name).result()

    def _read(self, name: str) -> concurrent.futures.Future[Snapshot | None]:
        with self._lock:
            pending = self._pending.get(name)
            if pending is None:
                pending = self._reader.submit(self._load, name)
                self._pending[name] = pending
            return pending

    def _load(self, name: str) -> Snapshot | None:
        try:
            return self._load_now(name)
        finally:  # also on a storage error, so that the next ask reads again
            with self._lock:
                self._pending.pop(name, None)

    def _load_now(self, name: str) -> Snapshot | None:
        from hpsearch.storage import load_study

        start = time.perf_counter()
        try:
            study = load_study(self._storage, name)
        except StudyNotFoundError:
            with self._lock:
                self._snapshots.pop(name, None)
            return None
        version = _version(study)
        with self._lock:
            old = self._snapshots.get(name)
            if old is not None and old.version == version:
                # Nothing changed: keep the old snapshot and what it cached.
                old.read_at = time.monotonic()
                old.read_seconds = time.perf_counter() - start
                return old
        snapshot = Snapshot(study, 0.0, 0.0, version)
        if study.trials:
            snapshot.table  # noqa: B018 - built here, off the request path
        snapshot.read_at = time.monotonic()
        snapshot.read_seconds = time.perf_counter() - start
        with self._lock:
            self._snapshots[name] = snapshot
        return snapshot

    def _period(self, snapshot: Snapshot) -> float:
        """How long a snapshot stays: short while a search runs on the study."""
        running = snapshot.study.status == "running"
        factor = 2 if running else 10
        return max(self.interval, factor * snapshot.read_seconds)

    def _refresh_loop(self) -> None:
        # Read every study once at the start, so that first pages are fast.
        try:
            for name in self.names():
                self._read(name)
        except Exception:  # the list page reports a storage that cannot be read
            pass
        while not self._stop.wait(min(self.interval, 0.5)):
            now = time.monotonic()
            with self._lock:
                due = [
                    name
                    for name, snap in self._snapshots.items()
                    if now - self._asked.get(name, 0.0) < WATCH_SECONDS
                    and now - snap.read_at >= self._period(snap)
                    and name not in self._pending
                ]
            for name in due:
                if self._stop.is_set():
                    return
                try:
                    self._read(name).result()
                except Exception:  # a storage hiccup: try again next time
                    continue
