"""A storage in this process's memory: for tests, notebooks and one-off runs."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Mapping, Sequence

from hpsearch._records import FoldResult, TaskKey
from hpsearch.storage._base import (
    Claimed,
    PlanEntry,
    RunRecord,
    StoredCandidate,
    StudyData,
    StudyRecord,
    check_study_name,
    fit_again,
    not_found,
)


class MemoryStorage:
    """Keeps studies in a dict; gone when the process ends.

    Thread-safe. Pass the same object to several searches to resume one from
    another within a session: ``storage = MemoryStorage()``.

    Examples
    --------
    >>> from hpsearch.storage import MemoryStorage
    >>> storage = MemoryStorage()
    >>> storage.list_studies()
    []
    """

    url = "memory"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._studies: dict[str, StudyData] = {}
        # Per study: task -> (run id, expiry) of its lease.
        self._claims: dict[str, dict[TaskKey, tuple[str, float]]] = {}

    def __repr__(self) -> str:
        return "MemoryStorage()"

    def create_study(self, study: StudyRecord) -> StudyRecord:
        """Store ``study`` unless its name exists; return the stored record."""
        check_study_name(study.name)
        with self._lock:
            data = self._studies.setdefault(study.name, StudyData(study))
            return data.study

    def get_study(self, name: str) -> StudyRecord | None:
        """The study of that name, or None."""
        with self._lock:
            data = self._studies.get(name)
            return None if data is None else data.study

    def list_studies(self) -> list[StudyRecord]:
        """Every study, oldest first."""
        with self._lock:
            return sorted(
                (d.study for d in self._studies.values()), key=lambda s: s.created_at
            )

    def delete_study(self, name: str) -> bool:
        """Delete a study with its results; False if there was none."""
        with self._lock:
            self._claims.pop(name, None)
            return self._studies.pop(name, None) is not None

    def add_trials(
        self,
        name: str,
        candidates: Sequence[StoredCandidate],
        plan: Sequence[PlanEntry],
        *,
        extend: bool = False,
    ) -> None:
        """Store candidates and set (or, with ``extend``, extend) the plan."""
        with self._lock:
            data = self._get(name)
            stored = dict(data.candidates)
            for candidate in candidates:
                stored.setdefault(candidate.key, candidate.params)
            new_plan = [*data.plan, *plan] if extend else list(plan)
            self._studies[name] = dataclasses.replace(
                data, candidates=stored, plan=tuple(new_plan)
            )

    def add_results(
        self, name: str, results: Sequence[FoldResult], *, run_id: str | None = None
    ) -> None:
        """Store fold results; a (candidate, resource, split) stored is kept
        unless it failed. With ``run_id``, release that run's claims on them."""
        with self._lock:
            if run_id is not None:
                claims = self._claims.get(name, {})
                for result in results:
                    if claims.get(result.key, ("",))[0] == run_id:
                        del claims[result.key]
            data = self._get(name)
            stored = {r.key: r for r in data.results}
            for result in results:
                if result.key not in stored or stored[result.key].status == "failed":
                    stored[result.key] = dataclasses.replace(
                        result, extra=dict(result.extra)
                    )
            self._studies[name] = dataclasses.replace(
                data, results=tuple(stored.values())
            )

    def set_run(self, name: str, run: RunRecord) -> None:
        """Store or update a run record (by ``run.run_id``); stamp its
        heartbeat when it has ``lease_seconds``; release its claims when its
        state is not running."""
        with self._lock:
            data = self._get(name)
            if run.lease_seconds is not None:
                run = dataclasses.replace(run, heartbeat_at=time.time())
            if run.state != "running":
                claims = self._claims.get(name, {})
                for task in [t for t, (r, _) in claims.items() if r == run.run_id]:
                    del claims[task]
            runs = [r for r in data.runs if r.run_id != run.run_id]
            self._studies[name] = dataclasses.replace(data, runs=(*runs, run))

    def claim(
        self,
        name: str,
        run_id: str,
        tasks: Sequence[TaskKey],
        lease_seconds: float,
        *,
        redo: Mapping[TaskKey, float] | None = None,
    ) -> Claimed:
        """Lease to ``run_id`` the ``tasks`` that have no stored result and no
        live claim of another run; return those and the stored results of the
        others that are done."""
        with self._lock:
            data = self._get(name)
            stored = {r.key: r for r in data.results}
            claims = self._claims.setdefault(name, {})
            now = time.time()
            mine, done = [], []
            for task in tasks:
                result = stored.get(task)
                if result is not None and not fit_again(result, redo):
                    done.append(result)
                    continue
                holder, expires = claims.get(task, (run_id, now))
                if holder == run_id or expires < now:
                    claims[task] = (run_id, now + lease_seconds)
                    mine.append(task)
            return Claimed(tuple(mine), tuple(done))

    def renew(self, name: str, run_id: str, lease_seconds: float) -> None:
        """Stamp the run's heartbeat and extend its claims by ``lease_seconds``."""
        with self._lock:
            data = self._get(name)
            now = time.time()
            runs = [
                dataclasses.replace(r, heartbeat_at=now) if r.run_id == run_id else r
                for r in data.runs
            ]
            self._studies[name] = dataclasses.replace(data, runs=tuple(runs))
            claims = self._claims.get(name, {})
            for task, (holder, _) in list(claims.items()):
                if holder == run_id:
                    claims[task] = (run_id, now + lease_seconds)

    def read(self, name: str) -> StudyData:
        """Everything stored for the study; raises StudyNotFoundError."""
        with self._lock:
            return dataclasses.replace(self._get(name), now=time.time())

    def _get(self, name: str) -> StudyData:
        data = self._studies.get(name)
        if data is None:
            raise not_found(self, name)
        return data
