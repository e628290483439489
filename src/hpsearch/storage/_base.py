"""The storage interface and the plain records it reads and writes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from hpsearch._records import FoldResult

RunState = Literal["running", "finished", "interrupted", "failed"]


def mostly_failed(n_failed: int, n_done: int) -> bool:
    """Whether a run or a study counts as failed: most of its fits failed."""
    return n_done > 0 and 2 * n_failed > n_done


@dataclass(frozen=True)
class StudyRecord:
    """A study as stored: its name, its spec (a JSON-able dict) and when."""

    name: str
    spec: Mapping[str, Any]
    created_at: float


@dataclass(frozen=True)
class StoredCandidate:
    """A candidate as stored: its key and its parameters, encoded as JSON text."""

    key: str
    params: str


@dataclass(frozen=True)
class RunRecord:
    """One search process working on a study (from fit's start to its end)."""

    run_id: str
    state: RunState
    host: str
    pid: int
    started_at: float
    ended_at: float | None = None


@dataclass(frozen=True)
class StudyData:
    """Everything stored for one study.

    ``plan`` is the ordered candidate keys of the latest search on the study
    (a key appears as often as that search listed the candidate); ``candidates``
    holds the parameters of every candidate ever planned, by key.
    """

    study: StudyRecord
    candidates: Mapping[str, str] = field(default_factory=dict)
    plan: Sequence[str] = ()
    results: Sequence[FoldResult] = ()
    runs: Sequence[RunRecord] = ()


@runtime_checkable
class Storage(Protocol):
    """Where studies and their fold results are kept.

    Contract:

    - Studies are named; a name is unique within a storage.
    - Every method is atomic and has committed when it returns, so that a
      process killed right after loses nothing it wrote.
    - Several processes (and threads, each with its own storage object) may
      use one storage at once. ``create_study`` is a get-or-create: when two
      processes create the same name, both get the one stored record.
      ``add_results`` keeps the first result written for a (candidate, split)
      and ignores later ones, except that a later result replaces a stored
      failed one (a retried fit).
    - Records are plain data (JSON text and numbers); nothing is pickled.
    - ``url`` names the storage in messages (passwords hidden).
    """

    url: str

    def create_study(self, study: StudyRecord) -> StudyRecord:
        """Store ``study`` unless its name exists; return the stored record."""
        ...

    def get_study(self, name: str) -> StudyRecord | None:
        """The study of that name, or None."""
        ...

    def list_studies(self) -> list[StudyRecord]:
        """Every study, oldest first."""
        ...

    def delete_study(self, name: str) -> bool:
        """Delete a study with its results; False if there was none."""
        ...

    def add_trials(
        self,
        name: str,
        candidates: Sequence[StoredCandidate],
        plan: Sequence[str],
        *,
        extend: bool = False,
    ) -> None:
        """Store candidates and set (or, with ``extend``, extend) the plan."""
        ...

    def add_results(self, name: str, results: Sequence[FoldResult]) -> None:
        """Store fold results; a (candidate, split) already stored is kept
        unless it failed."""
        ...

    def set_run(self, name: str, run: RunRecord) -> None:
        """Store or update a run record (by ``run.run_id``)."""
        ...

    def read(self, name: str) -> StudyData:
        """Everything stored for the study; raises StudyNotFoundError."""
        ...
