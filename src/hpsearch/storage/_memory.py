"""A storage in this process's memory: for tests, notebooks and one-off runs."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence

from hpsearch._records import FoldResult
from hpsearch.storage._base import (
    PlanEntry,
    RunRecord,
    StoredCandidate,
    StudyData,
    StudyRecord,
    check_study_name,
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

    def add_results(self, name: str, results: Sequence[FoldResult]) -> None:
        """Store fold results; a (candidate, resource, split) stored is kept
        unless it failed."""
        with self._lock:
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
        """Store or update a run record (by ``run.run_id``)."""
        with self._lock:
            data = self._get(name)
            runs = [r for r in data.runs if r.run_id != run.run_id]
            self._studies[name] = dataclasses.replace(data, runs=(*runs, run))

    def read(self, name: str) -> StudyData:
        """Everything stored for the study; raises StudyNotFoundError."""
        with self._lock:
            return self._get(name)

    def _get(self, name: str) -> StudyData:
        data = self._studies.get(name)
        if data is None:
            raise not_found(self, name)
        return data
