"""The storage interface and the plain records it reads and writes."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from hpsearch._errors import NotStorableError, StudyNotFoundError
from hpsearch._records import FoldResult, TaskKey

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
    """One search process working on a study (from fit's start to its end).

    A run with ``lease_seconds`` keeps a heartbeat: the storage stamps
    ``heartbeat_at`` with its own clock when the run is stored and at each
    ``renew``; a run whose last beat is older than ``lease_seconds`` has
    stopped, whatever its ``state`` says. Runs written before schema 3 have
    neither (None).
    """

    run_id: str
    state: RunState
    host: str
    pid: int
    started_at: float
    ended_at: float | None = None
    heartbeat_at: float | None = None
    lease_seconds: float | None = None

    def alive(self, now: float) -> bool | None:
        """Whether the run still beats at ``now`` (the storage's clock); None
        when it keeps no heartbeat (written before schema 3)."""
        if self.state != "running":
            return False
        if self.heartbeat_at is None or self.lease_seconds is None:
            return None
        return now - self.heartbeat_at <= self.lease_seconds


@dataclass(frozen=True)
class Claimed:
    """What :meth:`Storage.claim` found: the tasks now held by the caller,
    and the stored results of tasks already done."""

    mine: Sequence[TaskKey] = ()
    done: Sequence[FoldResult] = ()


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
    # The storage's clock when it was read: what run heartbeats compare with.
    now: float | None = None


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
    - Processes sharing a study split its work with leases: ``claim`` takes
      the tasks no live run holds (free ones, and those whose lease expired),
      atomically; ``renew`` extends a run's leases and stamps its heartbeat;
      ``add_results`` with ``run_id`` releases that run's claims on the
      results' tasks in the same transaction, and ``set_run`` with a state
      other than running releases all of them. Times of leases and
      heartbeats are the storage's own clock (the database server's), so
      machines whose clocks differ agree.
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

    def add_results(
        self, name: str, results: Sequence[FoldResult], *, run_id: str | None = None
    ) -> None:
        """Store fold results; a (candidate, resource, split) stored is kept
        unless it failed. With ``run_id``, release that run's claims on them."""
        ...

    def set_run(self, name: str, run: RunRecord) -> None:
        """Store or update a run record (by ``run.run_id``); stamp its
        heartbeat when it has ``lease_seconds``; release its claims when its
        state is not running."""
        ...

    def claim(
        self,
        name: str,
        run_id: str,
        tasks: Sequence[TaskKey],
        lease_seconds: float,
        *,
        redo: Mapping[TaskKey, float] | None = None,
    ) -> Claimed:
        """Lease to ``run_id`` for ``lease_seconds`` the ``tasks`` that have no
        stored result and no live claim of another run; return those and the
        stored results of tasks already done (a task another live run holds
        may be neither until its holder releases it with its result).
        ``redo`` names failed results to fit again (``retry_failed``) by
        their ``finished_at``: a task whose stored result is that one is not
        done (one with another time is a retry already made)."""
        ...

    def renew(self, name: str, run_id: str, lease_seconds: float) -> None:
        """Stamp the run's heartbeat and extend its claims by ``lease_seconds``."""
        ...

    def read(self, name: str) -> StudyData:
        """Everything stored for the study; raises StudyNotFoundError."""
        ...


def fit_again(result: FoldResult, redo: Mapping[TaskKey, float] | None) -> bool:
    """Whether ``result`` is a failed result that ``redo`` asks to fit again."""
    return (
        redo is not None
        and result.status == "failed"
        and redo.get(result.key) == result.finished_at
    )


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
