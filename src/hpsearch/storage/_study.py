"""Studies from the search's side (recording, resuming) and the reader's side.

A search with a storage opens its study through :func:`open_recorder`: the
study is created, or found and checked against the search (a mismatch raises
:class:`~hpsearch.StudyMismatchError` before anything is fitted), and the
results stored before are handed to the search loop, which runs only the rest.
:func:`load_study`, :func:`list_studies` and :func:`delete_study` read and
manage stored studies from Python.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import os
import secrets
import signal
import socket
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hpsearch._errors import StorageError, StudyMismatchError, StudyNotFoundError
from hpsearch._records import Candidate, FoldResult
from hpsearch.storage._base import (
    RunRecord,
    Storage,
    StoredCandidate,
    StudyData,
    StudyRecord,
)
from hpsearch.storage._codec import check_storable, decode_value, dumps, encode_value
from hpsearch.storage._spec import StudySpec, build_spec, differences
from hpsearch.strategies import Trial

TaskKey = tuple[str, int]


def open_storage(storage: Any) -> Storage:
    """The storage that ``storage`` names.

    Parameters
    ----------
    storage : str, path or Storage
        A database URL (``"sqlite:///runs.db"``, ``"postgresql://..."``), a
        file path (SQLite), or a storage object, returned as it is.

    Returns
    -------
    Storage

    Examples
    --------
    >>> from hpsearch.storage import MemoryStorage, open_storage
    >>> storage = MemoryStorage()
    >>> open_storage(storage) is storage
    True
    """
    if isinstance(storage, str | os.PathLike):
        from hpsearch.storage._sql import SQLStorage

        return SQLStorage(storage)
    if isinstance(storage, Storage):
        return storage
    raise StorageError(
        "storage must be a file path, a database URL such as 'sqlite:///runs.db' "
        f"or 'postgresql://user@host/db', or a storage object; got {storage!r} "
        f"({type(storage).__name__})."
    )


@contextlib.contextmanager
def _opened(storage: Any) -> Iterator[Storage]:
    """The storage; closed afterwards when it was opened here from a URL."""
    opened = open_storage(storage)
    try:
        yield opened
    finally:
        if opened is not storage:
            close = getattr(opened, "close", None)
            if close is not None:
                close()


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


# ---------------------------------------------------------------------------
# Reading studies


@dataclass(frozen=True)
class Progress:
    """How far a study is: fits done of the total, failed, and runs running."""

    done: int
    total: int
    failed: int
    running: int


@dataclass(frozen=True)
class StudySummary:
    """One line of :func:`list_studies`."""

    name: str
    status: str
    done: int
    total: int
    failed: int
    best_score: float | None
    created_at: dt.datetime
    updated_at: dt.datetime


class Study:
    """A stored study, as read by :func:`load_study`: a snapshot.

    ``cv_results_``, ``results_`` and ``best_*`` cover the candidates of the
    study's latest search (in its order) that have a result on every split.

    Attributes
    ----------
    name : str
    spec : StudySpec
        What the study is: estimator, space, cv, scoring, data, versions.
    status : str
        "running" (a search process is working on it), "finished" (every
        fit done) or "interrupted".
    progress : Progress
        ``done`` and ``total`` fits of the latest search, ``failed`` fits,
        ``running`` search processes.
    created_at, updated_at : datetime.datetime
        In UTC; ``updated_at`` is when the last result or run was stored.
    cv_results_ : dict
        As scikit-learn's ``cv_results_``.
    results_ : pandas.DataFrame
        As the search's ``results_``.
    best_params_, best_score_, best_index_
        As in scikit-learn, for the refit metric; None when no candidate is
        complete.
    """

    def __init__(self, data: StudyData) -> None:
        self._data = data
        self.name = data.study.name
        self.spec = StudySpec.from_dict(data.study.spec)
        self.created_at = _datetime(data.study.created_at)
        times = [data.study.created_at]
        times += [r.finished_at for r in data.results]
        times += [t for r in data.runs for t in (r.started_at, r.ended_at) if t]
        self.updated_at = _datetime(max(times))
        n_splits = int(self.spec.cv["n_splits"])
        planned = set(data.plan)
        mine = [
            r for r in data.results if r.candidate_key in planned and r.split < n_splits
        ]
        running = sum(1 for r in data.runs if r.state == "running" and _alive(r))
        self.progress = Progress(
            done=len(mine),
            total=len(planned) * n_splits,
            failed=sum(1 for r in mine if r.status == "failed"),
            running=running,
        )
        if running:
            self.status = "running"
        elif self.progress.total and self.progress.done == self.progress.total:
            self.status = "finished"
        else:
            self.status = "interrupted"

    def __repr__(self) -> str:
        p = self.progress
        return (
            f"<Study {self.name!r}: {self.status}, {p.done}/{p.total} fits, "
            f"{p.failed} failed>"
        )

    @functools.cached_property
    def trials(self) -> list[Trial]:
        """The complete candidates of the latest search, in its order."""
        n_splits = int(self.spec.cv["n_splits"])
        by_task = {(r.candidate_key, r.split): r for r in self._data.results}
        trials = []
        for key in self._data.plan:
            folds = [by_task.get((key, s)) for s in range(n_splits)]
            if all(f is not None for f in folds):
                params = decode_value(json.loads(self._data.candidates[key]))
                trials.append(Trial(Candidate(params, key), tuple(folds)))  # type: ignore[arg-type]
        return trials

    @functools.cached_property
    def cv_results_(self) -> dict[str, Any]:
        """scikit-learn's ``cv_results_`` for the complete candidates."""
        if not self.trials:
            return {}
        from hpsearch._results import to_cv_results
        from hpsearch._search import _fill_failed

        error_score = self.spec.error_score
        if error_score != "raise":
            error_score = float(error_score)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # non-finite scores
            return to_cv_results(
                _fill_failed(self.trials, error_score), self.spec.return_train_score
            )

    @functools.cached_property
    def results_(self) -> pd.DataFrame:
        """``cv_results_`` as a table, one row per candidate, with ``status``."""
        from hpsearch._results import to_frame

        if not self.trials:
            return pd.DataFrame()
        frame = to_frame(self.cv_results_)
        frame["status"] = [
            "failed" if any(f.status == "failed" for f in t.folds) else "ok"
            for t in self.trials
        ]
        return frame

    @functools.cached_property
    def best_index_(self) -> int | None:
        """Index of the best candidate in ``cv_results_``; None if none."""
        results = self.cv_results_
        metric = self.spec.refit or "score"
        rank = results.get(f"rank_test_{metric}")
        if rank is None:
            return None
        return int(np.asarray(rank).argmin())

    @property
    def best_params_(self) -> dict[str, Any] | None:
        """Parameters of the best candidate; None if none."""
        index = self.best_index_
        return None if index is None else dict(self.cv_results_["params"][index])

    @property
    def best_score_(self) -> float | None:
        """Mean test score of the best candidate; None if none."""
        index = self.best_index_
        if index is None:
            return None
        metric = self.spec.refit or "score"
        return float(self.cv_results_[f"mean_test_{metric}"][index])


def load_study(storage: Any, name: str) -> Study:
    """Read a stored study.

    Parameters
    ----------
    storage : str, path or Storage
        As the search's ``storage`` argument.
    name : str
        The study's name.

    Returns
    -------
    Study
        With ``cv_results_``, ``results_``, ``best_params_``, ``best_score_``,
        ``spec``, ``progress``, ``status``, ``created_at``, ``updated_at``.

    Raises
    ------
    StudyNotFoundError
        When the storage has no study of that name; the message lists those
        it has.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.svm import SVC
    >>> from hpsearch import GridSearchCV, load_study
    >>> from hpsearch.storage import MemoryStorage
    >>> X, y = load_iris(return_X_y=True)
    >>> storage = MemoryStorage()
    >>> _ = GridSearchCV(SVC(), {"C": [0.1, 1, 10]}, storage=storage,
    ...                  study="svc-iris", progress=False).fit(X, y)
    >>> study = load_study(storage, "svc-iris")
    >>> study.best_params_, study.progress.done, study.progress.total
    ({'C': 10}, 15, 15)
    """
    with _opened(storage) as opened:
        return Study(opened.read(name))


def list_studies(storage: Any) -> list[StudySummary]:
    """Summaries of every study in a storage, oldest first.

    Parameters
    ----------
    storage : str, path or Storage
        As the search's ``storage`` argument.

    Returns
    -------
    list of StudySummary
        ``name``, ``status``, ``done``, ``total``, ``failed``, ``best_score``,
        ``created_at``, ``updated_at``.

    Examples
    --------
    >>> from hpsearch import list_studies
    >>> from hpsearch.storage import MemoryStorage
    >>> list_studies(MemoryStorage())
    []
    """
    summaries = []
    with _opened(storage) as opened:
        for record in opened.list_studies():
            try:
                study = Study(opened.read(record.name))
            except StudyNotFoundError:  # deleted meanwhile
                continue
            summaries.append(
                StudySummary(
                    name=study.name,
                    status=study.status,
                    done=study.progress.done,
                    total=study.progress.total,
                    failed=study.progress.failed,
                    best_score=study.best_score_,
                    created_at=study.created_at,
                    updated_at=study.updated_at,
                )
            )
    return summaries


def delete_study(storage: Any, name: str) -> None:
    """Delete a study and all its results.

    This is the way to replace a study: delete it, then run the search again.

    Parameters
    ----------
    storage : str, path or Storage
        As the search's ``storage`` argument.
    name : str
        The study's name.

    Raises
    ------
    StudyNotFoundError
        When the storage has no study of that name.

    Examples
    --------
    >>> from hpsearch import delete_study
    >>> from hpsearch.storage import MemoryStorage
    >>> delete_study(MemoryStorage(), "nope")
    Traceback (most recent call last):
    ...
    hpsearch._errors.StudyNotFoundError: study must name a study stored in memory; got 'nope'. It holds no study yet.
    """  # noqa: E501
    with _opened(storage) as opened:
        if not opened.delete_study(name):
            raise not_found(opened, name)


def _datetime(timestamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, tz=dt.timezone.utc)


def _alive(run: RunRecord) -> bool:
    """Whether a run marked running still runs (known only on this host)."""
    if run.host != socket.gethostname():
        return True
    try:
        os.kill(run.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ---------------------------------------------------------------------------
# Recording a search


def open_recorder(
    search: Any, X: Any, y: Any, params: Mapping[str, Any], splits: Sequence[Any]
) -> StudyRecorder:
    """Open (create or resume) the study of ``search`` in ``search.storage``.

    Raises NotStorableError when a value of the space cannot be stored, and
    StudyMismatchError when the stored study describes another search; both
    before anything is fitted.
    """
    _check_space_storable(search)
    storage = open_storage(search.storage)
    try:
        return StudyRecorder.open(search, storage, X, y, params, splits)
    except BaseException:
        if storage is not search.storage:
            getattr(storage, "close", lambda: None)()
        raise


def _check_space_storable(search: Any) -> None:
    space = getattr(search, "param_grid", None)
    if space is None:
        space = search.param_distributions
    for grid in [space] if isinstance(space, Mapping) else space:
        for name, values in grid.items():
            if hasattr(values, "rvs"):
                continue
            for value in values:
                check_storable(name, value)


def default_study_name(search: Any, spec: StudySpec) -> str:
    """``<Estimator>-<hash>``: the same for reruns of the same search."""
    return f"{type(search.estimator).__name__}-{spec.fingerprint()[:10]}"


class StudyRecorder:
    """The recorder of one search on one study (see ``hpsearch._loop``)."""

    def __init__(
        self,
        storage: Storage,
        name: str,
        spec: StudySpec,
        known: dict[TaskKey, FoldResult],
        owns_storage: bool,
    ) -> None:
        self.storage = storage
        self.name = name
        self.spec = spec
        self.random_state = spec.random_state
        self._known = known
        self._owns_storage = owns_storage
        self._n_splits = int(spec.cv["n_splits"])
        self._planned: set[str] = set()
        self._rounds = 0
        self._done = set(known)
        self._run = RunRecord(
            run_id=uuid.uuid4().hex,
            state="running",
            host=socket.gethostname(),
            pid=os.getpid(),
            started_at=time.time(),
        )
        self._deferring = False
        self._pending: str | None = None
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="hpsearch-storage")
        self._committing: Future[None] | None = None
        self._committing_keys: list[TaskKey] = []
        self.interrupted_by: str | None = None
        storage.set_run(name, self._run)

    @classmethod
    def open(
        cls,
        search: Any,
        storage: Storage,
        X: Any,
        y: Any,
        params: Mapping[str, Any],
        splits: Sequence[Any],
    ) -> StudyRecorder:
        """Create the search's study or check the stored one against it."""
        user_seed = getattr(search, "random_state", None)
        if "param_distributions" in search.get_params(deep=False):
            seed = _seed(user_seed)
        else:
            seed = None
        spec = build_spec(search, X, y, params, splits, seed)
        name = search.study or default_study_name(search, spec)
        record = storage.get_study(name)
        if record is None:
            record = storage.create_study(
                StudyRecord(name, spec.to_dict(), time.time())
            )
        stored = StudySpec.from_dict(record.spec)
        problems = differences(stored, spec)
        if problems:
            raise StudyMismatchError(_mismatch_message(storage, name, problems))
        if user_seed is None and stored.random_state is not None:
            # random_state=None: the seed drawn when the study was created, so
            # that a rerun proposes the same candidates and resumes them.
            spec = StudySpec.from_dict(
                {**spec.to_dict(), "random_state": stored.random_state}
            )
        data = storage.read(name)
        n_splits = len(splits)
        known = {
            (r.candidate_key, r.split): r for r in data.results if r.split < n_splits
        }
        return cls(storage, name, spec, known, storage is not search.storage)

    # -- the Recorder protocol --------------------------------------------

    def known(self) -> Mapping[TaskKey, FoldResult]:
        """The results stored before this search started."""
        return self._known

    def record(self, results: Sequence[FoldResult]) -> None:
        """Commit the results while the next unit runs.

        The commit runs in a background thread, one batch at a time: this
        waits until the previous batch is committed, then hands this one
        over, so its commit overlaps the next unit's work instead of adding
        to it. ``close`` and an interruption wait for the last commit; a
        process killed outright loses the units in flight and at most the one
        batch being committed. A signal that arrives meanwhile waits too.
        """
        self._deferring = True
        try:
            self._wait_for_commit()
            batch = list(results)
            self._committing = self._writer.submit(
                self.storage.add_results, self.name, batch
            )
            self._committing_keys = [(r.candidate_key, r.split) for r in batch]
        finally:
            self._deferring = False
        if self._pending is not None:
            self._raise_interrupt(self._pending)

    def _wait_for_commit(self) -> None:
        """Wait for the batch being committed; raise what its commit raised."""
        if self._committing is not None:
            committing, self._committing = self._committing, None
            committing.result()
            self._done.update(self._committing_keys)

    def start_round(self, batch: Sequence[Candidate], n_splits: int) -> None:
        """Store the round's candidates and extend the study's plan with them."""
        unique = {c.key: c for c in batch}
        stored = [
            StoredCandidate(c.key, dumps(encode_value(dict(c.params))))
            for c in unique.values()
        ]
        self.storage.add_trials(
            self.name, stored, [c.key for c in batch], extend=self._rounds > 0
        )
        self._planned.update(unique)
        self._rounds += 1

    def close(self) -> None:
        """Wait for the last commit; mark the run finished (or interrupted)."""
        try:
            self._wait_for_commit()
        finally:
            self._writer.shutdown()
            self._finish_run()

    def _finish_run(self) -> None:
        missing = [
            (k, s)
            for k in self._planned
            for s in range(self._n_splits)
            if (k, s) not in self._done
        ]
        state = "interrupted" if missing or not self._planned else "finished"
        try:
            self.storage.set_run(
                self.name,
                RunRecord(
                    self._run.run_id,
                    state,  # type: ignore[arg-type]
                    self._run.host,
                    self._run.pid,
                    self._run.started_at,
                    time.time(),
                ),
            )
        finally:
            if self._owns_storage:
                getattr(self.storage, "close", lambda: None)()

    # -- interruptions ----------------------------------------------------

    @contextlib.contextmanager
    def interruptible(self) -> Iterator[None]:
        """Turn SIGINT and SIGTERM into a prompt, clean stop with a resume hint.

        Handlers are installed only in the main thread, only for the duration
        of the search, and only over Python's default ones; a signal that
        arrives while results are being committed waits until they are.
        """
        installed: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for signum, default in (
                (signal.SIGINT, signal.default_int_handler),
                (signal.SIGTERM, signal.SIG_DFL),
            ):
                if signal.getsignal(signum) is default:
                    installed[signum] = signal.signal(signum, self._on_signal)
        try:
            yield
        except KeyboardInterrupt:
            with contextlib.suppress(Exception):  # it is said again by close()
                self._wait_for_commit()
            self._tell_how_to_resume(self.interrupted_by or "SIGINT")
            raise
        finally:
            for number, previous in installed.items():
                signal.signal(number, previous)

    def _on_signal(self, signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        if self._deferring:
            self._pending = name
            return
        self._raise_interrupt(name)

    def _raise_interrupt(self, name: str) -> None:
        self._pending = None
        self.interrupted_by = name
        raise KeyboardInterrupt(name)

    def _tell_how_to_resume(self, signame: str) -> None:
        total = len(self._planned) * self._n_splits
        done = sum(1 for k, s in self._done if k in self._planned)
        storage = self.storage.url
        print(
            f"\nhpsearch: search interrupted ({signame}). {done} of {total} fits "
            f"are stored in study {self.name!r} of {storage}. To resume, run the "
            f"same search again with storage={storage!r}, study={self.name!r}: "
            "only the missing fits will run.",
            file=sys.stderr,
            flush=True,
        )


def _seed(random_state: Any) -> int | None:
    """The seed a random search draws with: the given int, or a fresh one."""
    if random_state is None:
        return secrets.randbits(32)
    if isinstance(random_state, int | np.integer):
        return int(random_state)
    return None  # a RandomState object: its draws cannot be replayed


def _mismatch_message(storage: Storage, name: str, problems: list[str]) -> str:
    listed = "".join(f"\n- {p}" for p in problems)
    return (
        f"study {name!r} in {storage.url} must describe this search to be resumed; "
        f"got a stored study that differs:{listed}\n"
        f"Either give this search another study name (study='{name}-2'), or "
        f"replace the stored study by deleting it first: "
        f"hpsearch.delete_study({storage.url!r}, {name!r})."
    )


__all__ = [
    "Progress",
    "Study",
    "StudyRecorder",
    "StudySummary",
    "delete_study",
    "list_studies",
    "load_study",
    "open_recorder",
    "open_storage",
]
