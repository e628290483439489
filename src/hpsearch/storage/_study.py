"""Reading stored studies: :func:`load_study`, :func:`list_studies`,
:func:`delete_study`, and :func:`open_storage` for a search's ``storage``."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import os
import socket
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd

from hpsearch._errors import StorageError, StudyNotFoundError
from hpsearch._records import Candidate, work_tasks
from hpsearch._results import Summary, summarize, to_frame
from hpsearch.storage._base import (
    RunRecord,
    Storage,
    StudyData,
    mostly_failed,
    not_found,
)
from hpsearch.storage._codec import decode_value
from hpsearch.storage._spec import StudySpec
from hpsearch.strategies import Trial


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
        fit done), "failed" (every fit done, most of them failed) or
        "interrupted".
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
        planned = {
            task
            for key, resource, _ in data.plan
            for task in work_tasks(key, resource, n_splits, self.spec.resource)
        }
        mine = [r for r in data.results if r.key in planned]
        running = sum(1 for r in data.runs if r.state == "running" and _alive(r))
        self.progress = Progress(
            done=len(mine),
            total=len(planned),
            failed=sum(1 for r in mine if r.status == "failed"),
            running=running,
        )
        if running:
            self.status = "running"
        elif self.progress.total and self.progress.done == self.progress.total:
            failed = mostly_failed(self.progress.failed, self.progress.done)
            self.status = "failed" if failed else "finished"
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
        """The complete work of the latest search, in its order."""
        n_splits = int(self.spec.cv["n_splits"])
        by_task = {r.key: r for r in self._data.results}
        trials = []
        for key, resource, round_ in self._data.plan:
            tasks = work_tasks(key, resource, n_splits, self.spec.resource)
            folds = [by_task.get(task) for task in tasks]
            if all(f is not None for f in folds):
                params = decode_value(json.loads(self._data.candidates[key]))
                candidate = Candidate(params, key)
                trials.append(Trial(candidate, tuple(folds), round_, resource))  # type: ignore[arg-type]
        return trials

    @functools.cached_property
    def _summary(self) -> Summary | None:
        if not self.trials:
            return None
        error_score = self.spec.error_score
        if error_score != "raise":
            error_score = float(error_score)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # non-finite scores
            return summarize(
                self.trials,
                error_score=error_score,
                return_train_score=self.spec.return_train_score,
                resource=self.spec.resource,
                refit_metric=self.spec.refit or "score",
            )

    @property
    def cv_results_(self) -> dict[str, Any]:
        """scikit-learn's ``cv_results_`` for the complete work."""
        return {} if self._summary is None else self._summary.cv_results

    @functools.cached_property
    def results_(self) -> pd.DataFrame:
        """``cv_results_`` as a table, one row per candidate, with ``status``."""
        if self._summary is None:
            return pd.DataFrame()
        frame = to_frame(self._summary.cv_results)
        frame["status"] = self._summary.statuses
        return frame

    @property
    def best_index_(self) -> int | None:
        """Index of the best candidate in ``cv_results_``; None if none."""
        return None if self._summary is None else self._summary.best_index

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
