"""The storage interface and the plain records it reads and writes."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from hpsearch._errors import NotStorableError, StudyNotFoundError
from hpsearch._records import FoldResult

# One entry of a study's plan: (candidate key, resource, round).
PlanEntry = tuple[str, Any, int]

RunState = Literal["running", "finished", "interrupted", "failed"]


# Control characters (C0, DEL, C1): NUL cannot be stored in PostgreSQL text,
# and none of them can be typed back or shown in a table.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def is_study_name(name: Any) -> bool:
    """Whether ``name`` may name a study: printable, not blank."""
    return isinstance(name, str) and bool(name.strip()) and not _CONTROL.search(name)


def check_study_name(name: Any) -> None:
    """Refuse a study name that is empty or holds control characters."""
    if not is_study_name(name):
        raise NotStorableError(
            "study must be a non-empty name without control characters (NUL, "
            f"newline, tab, escape, ...); got {name!r}. Use printable "
            "characters, such as 'svc-digits'."
        )


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

    ``plan`` is the ordered work of the latest search on the study, as
    ``(candidate key, resource, round)`` entries (an entry appears as often as
    that search proposed it; resource None and round 0 for grid and random
    search); ``candidates`` holds the parameters of every candidate ever
    planned, by key.
    """

    study: StudyRecord
    candidates: Mapping[str, str] = field(default_factory=dict)
    plan: Sequence[PlanEntry] = ()
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
      ``add_results`` keeps the first result written for a (candidate,
      resource, split) and ignores later ones, except that a later result
      replaces a stored failed one (a retried fit).
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
        plan: Sequence[PlanEntry],
        *,
        extend: bool = False,
    ) -> None:
        """Store candidates and set (or, with ``extend``, extend) the plan."""
        ...

    def add_results(self, name: str, results: Sequence[FoldResult]) -> None:
        """Store fold results; a (candidate, resource, split) stored is kept
        unless it failed."""
        ...

    def set_run(self, name: str, run: RunRecord) -> None:
        """Store or update a run record (by ``run.run_id``)."""
        ...

    def read(self, name: str) -> StudyData:
        """Everything stored for the study; raises StudyNotFoundError."""
        ...


def not_found(storage: Storage, name: str) -> StudyNotFoundError:
    """The error for a study name that ``storage`` does not hold."""
    names = [s.name for s in storage.list_studies()]
    shown = ", ".join(repr(n) for n in names[:20]) + (
        ", ..." if len(names) > 20 else ""
    )
    return StudyNotFoundError(
        f"study must name a study stored in {storage.url}; got {name!r}. "
        + (f"Stored studies: {shown}." if names else "It holds no study yet.")
    )
