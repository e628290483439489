"""Recording a search into its study, and resuming it.

A search with a storage opens its study through :func:`open_recorder`: the
study is created, or found and checked against the search (a mismatch raises
:class:`~hpsearch.StudyMismatchError` before anything is fitted), and the
results stored before are handed to the search loop, which runs only the rest.

Several processes may run the same search on one study at once (a SLURM
array, servers sharing one PostgreSQL database): each claims the tasks it is
about to fit with a lease of ``lease_seconds`` that a background thread
renews, together with the run's heartbeat, every third of it; the claims of a
process that dies expire and are taken over; each process waits for the
others' last results, so each ends with the full ``cv_results_``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import secrets
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeoutError
from contextvars import ContextVar
from typing import Any

import numpy as np

from hpsearch._errors import StorageError, StudyMismatchError
from hpsearch._records import (
    Assignment,
    FoldResult,
    Proposal,
    Resource,
    Task,
    TaskKey,
    work_tasks,
)
from hpsearch.storage._base import (
    Claimed,
    RunRecord,
    Storage,
    StoredCandidate,
    StudyRecord,
    check_study_name,
    mostly_failed,
)
from hpsearch.storage._codec import check_storable, dumps, encode_value
from hpsearch.storage._spec import StudySpec, build_spec, differences
from hpsearch.storage._study import is_running, open_storage, process_lives

logger = logging.getLogger("hpsearch")

# Seconds a search rides out an unreachable or busy storage before it stops
# (the search classes' ``storage_retry``). Five minutes cover a restarting
# server (seconds), a managed database's failover (one to two minutes) and a
# SQLite file held by a long transaction elsewhere, while fits go on; a longer
# outage is an incident a person should see, not one to wait out silently.
DEFAULT_STORAGE_RETRY = 300.0

# A write that takes longer than this means the storage is away or busy: the
# search stops waiting for its writes and keeps results in memory meanwhile.
KEEP_UP_SECONDS = 1.0

# How long a claim on a task, and a run's heartbeat, last without renewal
# (renewed every third of it). A minute: a process that dies (SIGKILL, a lost
# machine, a preempted SLURM job) has its tasks taken over, and its run reads
# "interrupted", within a minute, which is short next to the fits a search
# shares out; while two renewals in a row may fail (a busy database, a
# restarting server, a pause of the process) before another process takes
# its tasks over. A storage outage longer than that may have a task fitted
# twice (its first result is kept), never recorded twice.
DEFAULT_LEASE_SECONDS = 60.0
LEASE_ENV = "HPSEARCH_LEASE_SECONDS"

# A claim that takes longer than this means the storage is away: the tasks
# are fitted without a lease (at worst twice, by two processes) rather than
# stalling the search. Far above a busy database's wait for its lock.
CLAIM_WAIT_SECONDS = 10.0


def lease_seconds() -> float:
    """The lease of claims and heartbeats: ``HPSEARCH_LEASE_SECONDS``, else
    :data:`DEFAULT_LEASE_SECONDS`."""
    text = os.environ.get(LEASE_ENV)
    if text is None:
        return DEFAULT_LEASE_SECONDS
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (value > 0 and value < float("inf")):
        raise StorageError(
            f"{LEASE_ENV} must be a number of seconds > 0; got {text!r}. "
            f"Unset it for the default ({DEFAULT_LEASE_SECONDS:g} s)."
        )
    return value


def open_recorder(
    search: Any, X: Any, y: Any, params: Mapping[str, Any], splits: Sequence[Any]
) -> StudyRecorder:
    """Open (create or resume) the study of ``search`` in ``search.storage``.

    Raises NotStorableError when a value of the space cannot be stored, and
    StudyMismatchError when the stored study describes another search; both
    before anything is fitted.
    """
    _check_space_storable(search)
    if search.study is not None:
        check_study_name(search.study)
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
        retry: float = DEFAULT_STORAGE_RETRY,
        lease: float = DEFAULT_LEASE_SECONDS,
    ) -> None:
        self._lease = float(lease)
        self.storage = storage
        self.name = name
        self.spec = spec
        self.random_state = spec.random_state
        self._known = known
        self._owns_storage = owns_storage
        self._n_splits = int(spec.cv["n_splits"])
        self._planned: set[tuple[str, Resource]] = set()
        self._starts = 0
        self._done = set(known)
        self._failed = {k for k, r in known.items() if r.status == "failed"}
        self._run = RunRecord(
            run_id=uuid.uuid4().hex,
            state="running",
            host=socket.gethostname(),
            pid=os.getpid(),
            started_at=time.time(),
            lease_seconds=self._lease,
        )
        self._deferring = False
        self._pending: str | None = None
        # Writes go to the storage in order, one at a time, in a thread of
        # their own: the search never waits for them (see ``record``).
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="hpsearch-storage")
        self._writes: list[Future[None]] = []
        self._failure: BaseException | None = None
        self._write_started: float | None = None
        self._retry = float(retry)
        self._previous_retry = getattr(storage, "retry", None)
        self._sets_retry = hasattr(storage, "retry")
        if self._sets_retry:
            storage.retry = self._retry  # type: ignore[attr-defined]
        self.interrupted_by: str | None = None
        # Sharing the study's work with other processes (see ``_begin``).
        self._shares = True
        # retry_failed: the stored failed results to fit again, by their
        # finish time (a failed result with another time is a retry made by
        # another process meanwhile: done).
        self._redo: dict[TaskKey, float] = {}
        self._search_name = "search"
        self._elsewhere: dict[TaskKey, Task] = {}
        self._claiming: Future[Claimed] | None = None
        self._polled = 0.0
        self._stop_beating = threading.Event()
        self._beating: threading.Thread | None = None
        try:
            storage.set_run(name, self._run)
        except BaseException:
            self._restore_retry()
            raise

    def _begin(self, runs: Sequence[RunRecord]) -> None:
        """Mark the runs of dead processes of this host stopped (releasing
        their claims); refuse to share a search that cannot split its work;
        start the heartbeat."""
        try:
            for run in runs:
                if run.state == "running" and not process_lives(run):
                    ended = run.heartbeat_at or run.started_at
                    stopped = dataclasses.replace(
                        run, state="interrupted", ended_at=ended
                    )
                    self.storage.set_run(self.name, stopped)
            if not self._shares:
                self._refuse_company()
        except BaseException:
            self._writer.shutdown()
            self._finish_run()
            raise
        self._beating = threading.Thread(
            target=self._beat, name="hpsearch-heartbeat", daemon=True
        )
        self._beating.start()

    def _refuse_company(self) -> None:
        """Raise when another live process searches this study: a search
        whose next work depends on all results so far (halving, Hyperband)
        cannot split it. Of processes that start together, the first stored
        (by start time) goes on."""
        data = self.storage.read(self.name)
        now = time.time() if data.now is None else data.now
        me = self._run.run_id
        live = [r for r in data.runs if r.run_id == me or is_running(r, now)]
        first = min(live, key=lambda r: (r.started_at, r.run_id))
        if first.run_id == me:
            return
        self._run = dataclasses.replace(self._run, state="interrupted")
        raise StorageError(
            f"study {self.name!r} in {self.storage.url} must not be searched by "
            f"two processes at once with {self._search_name}; got a live "
            f"process on it (host {first.host}, pid {first.pid}). "
            f"{self._search_name} chooses its next work from all results so far, "
            "so it cannot split its work between processes (grid and random "
            "search can). Wait for that process to end (then run again to "
            "resume), or give this search another study name."
        )

    def _beat(self) -> None:
        """Renew the run's heartbeat and claims every third of the lease.

        A renewal that fails (the storage away past ``storage_retry``) is
        tried again at the next beat; claims lost meanwhile may be taken
        over, and their tasks fitted twice, never recorded twice.
        """
        while not self._stop_beating.wait(self._lease / 3):
            try:
                self.storage.renew(self.name, self._run.run_id, self._lease)
            except Exception as exc:
                logger.warning("hpsearch: could not renew the run's lease: %s", exc)

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
        lease = lease_seconds()  # a bad value is refused before anything is stored
        user_seed = getattr(search, "random_state", None)
        if "random_state" in search.get_params(deep=False):
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
        # retry_failed: stored failed fits are not handed over, so they run again.
        retry_failed = bool(getattr(search, "retry_failed", False))
        known = {
            r.key: r
            for r in data.results
            if r.split < n_splits and not (retry_failed and r.status == "failed")
        }
        retry = getattr(search, "storage_retry", DEFAULT_STORAGE_RETRY)
        recorder = cls(
            storage, name, spec, known, storage is not search.storage, retry, lease
        )
        if retry_failed:
            recorder._redo = {
                r.key: r.finished_at for r in data.results if r.status == "failed"
            }
        recorder._search_name = type(search).__name__
        splits_work = getattr(search, "_splits_work", None)
        recorder._shares = bool(splits_work is not None and splits_work())
        recorder._begin(data.runs)
        return recorder

    # -- the Recorder protocol --------------------------------------------

    def known(self) -> Mapping[TaskKey, FoldResult]:
        """The results stored before this search started."""
        return self._known

    def record(self, results: Sequence[FoldResult]) -> None:
        """Hand the results to the storage's writer thread; do not wait.

        The writer commits them in the order they arrived, one batch after
        the other, so a commit overlaps the next units' work instead of
        adding to it. While the storage is away (a lost connection, a
        restarting server, a database locked by another process) the writer
        retries with backoff for ``storage_retry`` seconds while the fits go
        on and their results wait here, in memory; when the storage is back
        they are committed in order (a (candidate, resource, split) already
        stored is kept, so nothing is doubled). Past the bound this raises
        StorageError with the resume hint. ``close`` waits for the writes; a
        process killed outright loses the results not committed yet.
        """
        self._raise_failure()
        self._deferring = True
        try:
            self._keep_up()
            batch = list(results)
            self._write(self._add_results, batch)
            for r in batch:  # a retried fit that now succeeds is no longer failed
                if r.status == "failed":
                    self._failed.add(r.key)
                else:
                    self._failed.discard(r.key)
        finally:
            self._deferring = False
        if self._pending is not None:
            self._raise_interrupt(self._pending)

    def _keep_up(self) -> None:
        """While the storage answers, wait for the earlier writes, as before
        outages were ridden out: at most one batch stays uncommitted, so a
        process killed outright loses little. A write that has taken more
        than ``KEEP_UP_SECONDS`` means the storage is away or busy: then the
        results wait in memory and the fits go on."""
        earlier = [w for w in self._writes if not w.done()]
        if not earlier:
            return
        started = self._write_started
        elapsed = 0.0 if started is None else time.monotonic() - started
        if elapsed < KEEP_UP_SECONDS:
            wait(earlier, timeout=KEEP_UP_SECONDS - elapsed)

    def _add_results(self, batch: list[FoldResult]) -> None:
        self.storage.add_results(self.name, batch, run_id=self._run.run_id)
        self._done.update(r.key for r in batch)

    def claim(self, tasks: Sequence[Task]) -> Assignment:
        """Take the tasks no other live process holds, with a lease; the
        results other processes stored for the rest.

        A search that cannot share its study (``_refuse_company``) takes
        every task. While the storage does not answer a claim within
        ``CLAIM_WAIT_SECONDS``, tasks are taken without a lease (at worst
        fitted twice; the first result is kept).
        """
        tasks = list(tasks)
        if not self._shares or not tasks:
            return Assignment(tuple(tasks))
        claimed = self._claim(tasks)
        if claimed is None:
            return Assignment(tuple(tasks))
        return self._assign(tasks, claimed)

    def elsewhere(self, wait: bool) -> Assignment | None:
        """Claim again the tasks other processes held: their results, or the
        tasks of a process that stopped (its lease expired). None when no
        task is held elsewhere. At most every ``min(0.5 s, lease / 4)``; with
        ``wait``, sleep until then."""
        if not self._elsewhere:
            return None
        interval = min(0.5, self._lease / 4)
        pause = self._polled + interval - time.monotonic()
        if pause > 0:
            if not wait:
                return Assignment()
            time.sleep(pause)
        self._polled = time.monotonic()
        tasks = list(self._elsewhere.values())
        claimed = self._claim(tasks)
        if claimed is None:  # the storage is away: keep waiting for them
            return Assignment()
        self._elsewhere.clear()
        return self._assign(tasks, claimed)

    def _claim(self, tasks: list[Task]) -> Claimed | None:
        """The storage's claim, or None when it does not answer in time."""
        pending = self._claiming
        if pending is not None and not pending.done():
            return None
        self._raise_failure()
        keys = [t.key for t in tasks]
        self._claiming = _in_daemon_thread(
            lambda: self.storage.claim(
                self.name,
                self._run.run_id,
                keys,
                self._lease,
                redo=self._redo,
            )
        )
        try:
            claimed = self._claiming.result(timeout=CLAIM_WAIT_SECONDS)
        except FutureTimeoutError:
            logger.warning(
                "hpsearch: storage %s did not answer a claim within %g s; "
                "fitting without a lease meanwhile",
                self.storage.url,
                CLAIM_WAIT_SECONDS,
            )
            return None
        except StorageError as exc:
            logger.warning("hpsearch: could not claim work: %s", exc)
            return None
        return claimed

    def _assign(self, tasks: list[Task], claimed: Claimed) -> Assignment:
        by_key = {t.key: t for t in tasks}
        mine = tuple(by_key.pop(k) for k in claimed.mine)
        done = tuple(r for r in claimed.done if by_key.pop(r.key, None) is not None)
        self._done.update(r.key for r in done)
        self._elsewhere.update(by_key)
        return Assignment(mine, done)

    def _write(self, fn: Any, *args: Any) -> None:
        """Queue a write behind the earlier ones (skipped once one failed)."""

        def write() -> None:
            if self._failure is None:
                self._write_started = time.monotonic()
                try:
                    fn(*args)
                except BaseException as exc:
                    self._failure = exc
                    raise
                finally:
                    self._write_started = None

        self._writes = [w for w in self._writes if not w.done()]
        self._writes.append(self._writer.submit(write))

    def _raise_failure(self) -> None:
        """Raise the writer's failure (the storage stayed away too long)."""
        failure = self._failure
        if failure is None:
            return
        if isinstance(failure, StorageError) and not getattr(
            failure, "hpsearch_told", False
        ):
            message = f"{failure} {self._resume_hint('The search stopped')}"
            error = StorageError(message)
            error.hpsearch_told = True  # type: ignore[attr-defined]
            self._failure = error
            raise error from failure
        raise failure

    def _wait_for_writes(self) -> None:
        """Wait until every queued write is committed (or has failed)."""
        for write in list(self._writes):
            with contextlib.suppress(BaseException):
                write.result()
        self._writes = []

    def start(self, proposals: Sequence[Proposal]) -> None:
        """Store the proposals' candidates and extend the study's plan.

        Queued behind the results before it, like them not waited for.
        """
        self._raise_failure()
        unique = {p.candidate.key: p.candidate for p in proposals}
        if self._starts == 0 and self._known:  # a rerun: say so, once
            tasks = self._tasks({p.key for p in proposals})
            kept = sum(task in self._known for task in tasks)
            if kept:
                logger.info(
                    "resuming study %r: %d of %d fits already stored",
                    self.name,
                    kept,
                    len(tasks),
                )
        stored = [
            StoredCandidate(c.key, dumps(encode_value(dict(c.params))))
            for c in unique.values()
        ]
        plan = [(p.candidate.key, p.resource, p.round) for p in proposals]
        extend = self._starts > 0
        self._write(
            lambda: self.storage.add_trials(self.name, stored, plan, extend=extend)
        )
        self._planned.update(p.key for p in proposals)
        self._starts += 1

    def close(self) -> None:
        """Wait for the last writes; mark the run finished (or interrupted).

        Raises the writer's failure if the run ended without seeing it.
        """
        try:
            self._wait_for_writes()
        finally:
            self._writer.shutdown()
            self._stop_beating.set()
            if self._beating is not None:
                # Not for longer: a renewal may be retrying a storage that is
                # away (a daemon thread; a late beat on a stopped run is moot).
                self._beating.join(timeout=KEEP_UP_SECONDS)
            self._finish_run()
        if self._failure is not None and not getattr(
            self._failure, "hpsearch_told", False
        ):
            self._raise_failure()

    def _tasks(self, works: Iterable[tuple[str, Resource]]) -> set[TaskKey]:
        """The task keys of these (candidate key, resource) works."""
        kind = self.spec.resource
        return {t for w in works for t in work_tasks(*w, self._n_splits, kind)}

    def _finish_run(self) -> None:
        planned = self._tasks(self._planned)
        missing = planned - self._done
        state = "interrupted" if missing or not self._planned else "finished"
        if self._run.state != "running":  # refused before it began
            state = self._run.state
        n_failed = sum(1 for task in planned if task in self._failed)
        if state == "finished" and mostly_failed(n_failed, len(planned)):
            state = "failed"
        try:
            if self._failure is not None and self._sets_retry:
                # The storage stayed away past the bound: one try, no wait.
                self.storage.retry = 0.0  # type: ignore[attr-defined]
            with contextlib.suppress(StorageError) if self._failure else _nothing():
                self.storage.set_run(
                    self.name,
                    dataclasses.replace(
                        self._run,
                        state=state,  # type: ignore[arg-type]
                        ended_at=time.time(),
                    ),
                )
        finally:
            self._restore_retry()
            if self._owns_storage:
                getattr(self.storage, "close", lambda: None)()

    def _restore_retry(self) -> None:
        if self._sets_retry:
            self.storage.retry = self._previous_retry  # type: ignore[attr-defined]

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
            self._wait_for_writes()  # a failure is said again by close()
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
        if not _SAY_HOW_TO_RESUME.get():
            return
        print(
            f"\nhpsearch: {self._resume_hint(f'search interrupted ({signame})')}",
            file=sys.stderr,
            flush=True,
        )

    def _resume_hint(self, what: str) -> str:
        planned = self._tasks(self._planned)
        total = len(planned)
        done = len(planned & self._done)
        storage = self.storage.url
        return (
            f"{what}. {done} of {total} fits "
            f"are stored in study {self.name!r} of {storage}. To resume, run the "
            f"same search again with storage={storage!r}, study={self.name!r}: "
            "only the missing fits will run."
        )


@contextlib.contextmanager
def _nothing() -> Iterator[None]:
    yield


def _in_daemon_thread(fn: Any) -> Future[Any]:
    """``fn()`` in a daemon thread of its own: a call that hangs on a storage
    that is away never holds up the end of the process."""
    future: Future[Any] = Future()

    def run() -> None:
        try:
            future.set_result(fn())
        except BaseException as exc:
            future.set_exception(exc)

    threading.Thread(target=run, name="hpsearch-claim", daemon=True).start()
    return future


# Whether an interrupted search prints how to resume it from Python; a caller
# with its own words for it (the command line) turns this off.
_SAY_HOW_TO_RESUME: ContextVar[bool] = ContextVar("say_how_to_resume", default=True)


@contextlib.contextmanager
def caller_tells_how_to_resume() -> Iterator[None]:
    """Within this block, an interrupted search leaves the resume hint to the caller."""
    token = _SAY_HOW_TO_RESUME.set(False)
    try:
        yield
    finally:
        _SAY_HOW_TO_RESUME.reset(token)


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
