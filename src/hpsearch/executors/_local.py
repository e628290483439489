"""Executors on this machine: in this process, its threads, loky processes.

:class:`LocalExecutor` runs units of work in *lanes*: threads of this process
(no start-up cost, the data shared in memory, but a unit that holds the GIL
stops the others) and loky worker processes (a fresh process spends about a
second importing scikit-learn before its first unit; the data is sent to each
once). In ``"auto"`` mode it starts with threads and measures how much of each
unit's time its thread spent on the CPU: units that keep their core busy free
the GIL and stay on threads; units that wait for it move to processes, one
thread staying in this process while the workers start.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import queue
import re
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, InvalidStateError, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, TypeVar

import cloudpickle
import joblib
import numpy as np
from joblib import effective_n_jobs
from threadpoolctl import threadpool_limits

from hpsearch._records import TimedOutTask
from hpsearch._worker import torch_threads
from hpsearch.executors._base import WAIT, LostTask, exit_cause

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")

# Auto mode measures thread units after a warm-up of WARM_UP_UNITS per thread
# (the first batches are tiny and pay for lazy imports), until PROBE_SECONDS of
# unit time (summed over threads)...
WARM_UP_UNITS = 1
PROBE_SECONDS = 1.0
# ...and then moves to processes when the threads' efficiency (their CPU time
# over their wall time) is below MIN_THREAD_EFFICIENCY, unless too little work
# is left to pay for starting workers: about WORKER_START_SECONDS of CPU each,
# importing scikit-learn; the move needs twice that in work left. Measured on
# two cores: compiled fits that free the GIL (SVMs, trees, forests, PCA) give
# 0.9-1.0; text vectorising 0.7-0.8, where one thread and one process beat two
# threads by about 10%; many tiny trees 0.75-0.85, where the two are even.
WORKER_START_SECONDS = 1.2
MIN_THREAD_EFFICIENCY = 0.85


class SerialExecutor:
    """Runs every item in this process, one after the other."""

    n_workers = 1
    threads_per_unit: int | None = None  # the whole machine is this process's
    _stopping = False

    @property
    def lanes(self) -> dict[str, int]:
        """Units run one at a time in this process."""
        return {"serial": 1}

    def map_unordered(
        self, fn: Callable[[S, T], R], items: Iterable[T], shared: S
    ) -> Iterator[R]:
        """Yield ``fn(shared, item)`` for each item, in order."""
        for item in items:
            if self._stopping:
                return
            if item is not WAIT:  # nothing runs meanwhile: just ask again
                yield fn(shared, item)

    def stop_running(self) -> None:
        """Take no more items; the unit running now (in the caller's own
        thread) cannot be stopped, and its result is still yielded."""
        self._stopping = True

    def close(self) -> None:
        """Nothing to release."""


class LocalExecutor:
    """Runs units in threads of this process, in loky worker processes, or both.

    ``mode`` is ``"threads"``, ``"processes"`` or ``"auto"`` (threads, moving
    to one thread plus ``n - 1`` processes when the units hold the GIL; the
    choice is made once and kept for the search's later rounds). ``lanes``
    says where units ran, for the curious and for tests.

    Threads share one process, so the BLAS and PyTorch thread limits are set
    for the whole process while units run in threads (OpenMP's per thread, by
    each unit); a worker process limits its own.
    """

    def __init__(self, n_jobs: int | None, mode: str, pre_dispatch: Any = "2*n_jobs"):
        self.n_workers = effective_n_jobs(n_jobs)
        # Workers x threads = cores: n_jobs=-1 must not oversubscribe.
        # joblib's count of this machine's cores heeds CPU affinity and cgroups.
        self.threads_per_unit = max(1, joblib.cpu_count() // self.n_workers)
        self.mode = mode
        self._in_flight = _in_flight(pre_dispatch, self.n_workers)
        self._threads: _ThreadLane | None = None
        self._processes: _ProcessLane | None = None
        if mode == "processes":
            self._processes = _ProcessLane(self.n_workers, self.threads_per_unit)
        else:
            self._threads = _ThreadLane(self.n_workers)
        self._probing = mode == "auto"
        self._cpu = self._wall = 0.0
        self._warm_up = WARM_UP_UNITS * self.n_workers
        self._probed_tasks = 0
        self.efficiency: float | None = None  # measured share of time on the CPU
        self._abort: Callable[[], None] | None = None
        # Set by stop_running (another thread): wakes the wait for results.
        self._stopping = False
        self._wake: Future[None] = Future()

    @property
    def lanes(self) -> dict[str, int]:
        """How many units may run at once on threads and on processes."""
        lanes = {}
        if self._threads is not None:
            lanes["threads"] = self._threads.slots
        if self._processes is not None:
            lanes["processes"] = self._processes.slots
        return lanes

    def map_unordered(
        self, fn: Callable[[S, T], R], items: Iterable[T], shared: S
    ) -> Iterator[R]:
        """Yield ``fn(shared, item)`` for each item as lanes finish them.

        A unit whose worker process dies (a segfault, ``os._exit``, the
        out-of-memory killer) is not lost: the pool is replaced and each of
        its tasks runs again, alone in the process lane, in a fresh worker
        (the unit may have been a bystander of another unit's crash). A task
        that kills its worker alone is the culprit: its result is a
        :class:`LostTask` naming the cause, and the search goes on.
        """
        items = iter(items)
        pending: dict[Future[Any], _Sent] = {}
        sent: dict[int, Any] = {}  # the shared data as each lane receives it
        suspects: deque[_Suspect] = deque()  # units a crash took, to rerun
        finished = False

        def abort() -> None:
            for future in pending:
                future.cancel()
            if any(s.lane is self._processes for s in pending.values()):
                assert self._processes is not None
                self._processes.kill()  # stop what runs now, as joblib does
            pending.clear()

        self._abort = abort
        # Threads share this process: its BLAS and PyTorch pools are limited.
        limits = contextlib.ExitStack()
        if self._threads is not None:
            n = self.threads_per_unit
            limits.enter_context(threadpool_limits(limits=n, user_api="blas"))
            limits.enter_context(torch_threads(n))
        try:
            exhausted = False
            while not self._stopping:
                waiting = False  # until a result is yielded
                processes = self._processes
                if suspects and processes is not None and processes.busy == 0:
                    # A suspect runs alone: a crash then names its culprit.
                    suspect = suspects[0]
                    task = suspect.tasks[len(suspect.results)]
                    if id(processes) not in sent:
                        sent[id(processes)] = processes.prepare(shared)
                    future = processes.submit(fn, sent[id(processes)], [task])
                    pending[future] = _Sent(processes, 1, None, suspect)
                    processes.busy += 1
                for lane in (self._threads, self._processes):
                    if lane is None or (suspects and lane is self._processes):
                        continue
                    share = self._in_flight * lane.slots // self.n_workers
                    room = max(lane.slots, share)
                    while not (exhausted or waiting) and lane.busy < room:
                        item = next(items, _END)
                        if item is _END:
                            exhausted = True
                            break
                        if item is WAIT:
                            waiting = True
                            break
                        if id(lane) not in sent:
                            sent[id(lane)] = lane.prepare(shared)
                        future = lane.submit(fn, sent[id(lane)], item)
                        pending[future] = _Sent(lane, _n_tasks(item), item, None)
                        lane.busy += 1
                if not pending or self._stopping:
                    break
                done, _ = wait([*pending, self._wake], return_when=FIRST_COMPLETED)
                if self._stopping:
                    break  # the finally stops what runs: stop_running
                for future in done:
                    unit = pending.pop(future)
                    lane = unit.lane
                    lane.busy -= 1
                    try:
                        result, cpu, wall = future.result()
                    except BrokenProcessPool as exc:
                        if lane is not self._processes:
                            raise
                        self._processes.renew()
                        alone = unit.suspect
                        if alone is None:  # a first crash: rerun its tasks
                            suspects.append(_Suspect(list(unit.item), []))
                            continue
                        # It ran alone: its task is the culprit.
                        task = alone.tasks[len(alone.results)]
                        alone.results.append(LostTask(task, _crash_cause(exc)))
                        result, cpu, wall = None, 0.0, 0.0
                    processes = self._processes
                    if processes is not None and lane is processes and _stuck(result):
                        # A fit past fit_timeout still runs in its worker.
                        for stopped in self.stop_process_units(pending):
                            rerun_item = stopped.item
                            if stopped.suspect is not None:  # its current task
                                tasks = stopped.suspect.tasks
                                rerun_item = [tasks[len(stopped.suspect.results)]]
                            again = processes.submit(fn, sent[id(lane)], rerun_item)
                            pending[again] = stopped
                            processes.busy += 1
                    if unit.suspect is not None:
                        rerun = unit.suspect
                        if result is not None:
                            rerun.results.extend(result)
                        if len(rerun.results) < len(rerun.tasks):
                            continue
                        suspects.popleft()
                        result = rerun.results
                    if lane is self._threads and self._probing:
                        left = getattr(items, "remaining_tasks", None)
                        if left is not None:
                            left += sum(s.tasks for s in pending.values())
                        self._observe(cpu, wall, unit.tasks, left)
                    yield result
            finished = not self._stopping
        finally:
            if not finished:
                abort()
            limits.close()
            self._abort = None
            for lane in (self._threads, self._processes):
                if lane is not None:
                    lane.release(sent.pop(id(lane), None))

    def stop_process_units(self, pending: dict[Future[Any], _Sent]) -> list[_Sent]:
        """Stop the units running on worker processes: replace the workers.

        A fit cannot be stopped inside its process; ending the process can.
        loky replaces only a whole pool, so every unit of the process lane
        stops: they leave ``pending`` and are returned, for the caller to
        submit again (bystanders of a fit past ``fit_timeout``) or drop.
        """
        processes = self._processes
        if processes is None:
            return []
        stopped = [f for f, unit in pending.items() if unit.lane is processes]
        units = [pending.pop(f) for f in stopped]
        processes.busy -= len(units)
        processes.kill()
        processes.renew()
        return units

    def _observe(self, cpu: float, wall: float, tasks: int, left: int | None) -> None:
        """Add a thread unit's times; once there are enough, pick the lanes.

        ``left`` is how many tasks are still to run (None: unknown).
        """
        if self._warm_up > 0:
            self._warm_up -= 1
            return
        self._cpu += cpu
        self._wall += wall
        self._probed_tasks += tasks
        if self._wall < PROBE_SECONDS or self.n_workers < 2:
            return
        self._probing = False
        self.efficiency = efficiency = self._cpu / self._wall
        move = efficiency < MIN_THREAD_EFFICIENCY
        if left is not None:  # CPU seconds of work left, at this efficiency
            work = left * self._cpu / self._probed_tasks
            move = move and work > 2 * (self.n_workers - 1) * WORKER_START_SECONDS
        if move:
            assert self._threads is not None
            self._threads.resize(1)  # this process works on while workers start
            self._processes = _ProcessLane(self.n_workers - 1, self.threads_per_unit)

    def stop_running(self) -> None:
        """Stop the units in flight (see the protocol): the waiting
        ``map_unordered`` wakes, cancels what is queued, terminates the loky
        workers (:meth:`_ProcessLane.kill`; joblib's next call starts fresh
        ones) and returns. A unit running in a thread cannot be stopped: it
        finishes unseen and its result is dropped."""
        self._stopping = True
        with contextlib.suppress(InvalidStateError):  # stopped twice
            self._wake.set_result(None)

    def close(self) -> None:
        """Abort what is still running (threads finish their unit unseen)."""
        if self._abort is not None:
            self._abort()
        if self._threads is not None:
            self._threads.close()


_END = object()


@dataclass
class _Suspect:
    """A unit a worker's death took: its tasks rerun one by one, alone."""

    tasks: list[Any]
    results: list[Any]


@dataclass
class _Sent:
    """A unit handed to a lane: how many tasks, and whether it is a suspect's."""

    lane: Any
    tasks: int
    item: Any
    suspect: _Suspect | None


_EXIT_CODES = re.compile(r"\((-?\d+)\)")


def _stuck(result: Any) -> bool:
    """Whether a unit's results hold a task whose fit ran past the limit."""
    return isinstance(result, list) and any(isinstance(r, TimedOutTask) for r in result)


def _crash_cause(exc: BaseException) -> str:
    """``worker killed by SIGSEGV``, ``... by SIGKILL (out of memory?)``,
    ``worker exited with code 3``: from loky's list of exit codes."""
    codes = [int(c) for c in _EXIT_CODES.findall(str(exc))]
    # loky stops the pool's other workers itself (SIGTERM): not the cause.
    codes = [c for c in codes if c != -signal.SIGTERM] or codes
    if not codes:
        return f"worker died ({str(exc).splitlines()[0]})"
    return exit_cause(codes[0])


def check_pre_dispatch(pre_dispatch: Any) -> None:
    """Raise ValueError, before anything starts, if joblib could not read it."""
    _in_flight(pre_dispatch, 1)


def _in_flight(pre_dispatch: Any, n_workers: int) -> int:
    """How many units may be queued or running at once, as joblib reads it."""
    if isinstance(pre_dispatch, int):
        return max(n_workers, pre_dispatch)
    if pre_dispatch == "all":
        return 1 << 30
    try:
        value = eval(str(pre_dispatch), {"__builtins__": {}}, {"n_jobs": n_workers})
        return max(n_workers, int(value))
    except Exception:
        raise ValueError(
            "pre_dispatch must be an int, 'all' or an expression of n_jobs such "
            f"as '2*n_jobs'; got {pre_dispatch!r}."
        ) from None


def _n_tasks(item: Any) -> int:
    """Tasks in a unit of work (a planned unit is a sequence of tasks)."""
    try:
        return max(1, len(item))
    except TypeError:
        return 1


def _timed(fn: Callable[[S, T], R], shared: S, item: T) -> tuple[R, float, float]:
    """``fn(shared, item)``, with the thread's CPU time and its wall time.

    The wall time leaves out the time the thread was ready to run but waited
    for a core (Linux's run-queue wait): on a machine busy with other work a
    unit that frees the GIL still measures as using its thread fully, while
    waiting for the GIL (asleep, not on the run queue) still counts.

    Reading the run-queue wait is file I/O, which lets go of the GIL; taking
    it back can mean a wait on the run queue. So the two readings of the
    run-queue wait fall inside the wall clock's two readings: a wait that
    comes after the clock stopped is never subtracted from the unit's time
    (which measured units holding the GIL as using more than their thread on
    a busy machine, and kept them on threads).
    """
    wall = time.perf_counter()
    queued = _run_queue_wait()
    cpu = time.thread_time()
    result = fn(shared, item)
    cpu = time.thread_time() - cpu
    queued = _run_queue_wait() - queued
    wall = time.perf_counter() - wall - queued
    return result, cpu, max(wall, cpu, 1e-9)


def _run_queue_wait() -> float:
    """Seconds this thread has waited for a CPU so far (0.0 where unknown)."""
    try:
        with open("/proc/thread-self/schedstat", "rb") as stat:
            return int(stat.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


class _ThreadLane:
    """Daemon threads of this process: Ctrl-C need not wait for their fits."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.busy = 0
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []

    def prepare(self, shared: Any) -> Any:
        return shared  # threads read the caller's objects

    def release(self, sent: Any) -> None:
        """Nothing was copied."""

    def submit(self, fn: Callable[..., Any], shared: Any, item: Any) -> Future[Any]:
        while len(self._workers) < self.slots:
            worker = threading.Thread(
                target=_thread_worker,
                args=(self._queue,),
                daemon=True,
                name=f"hpsearch-{len(self._workers)}",
            )
            worker.start()
            self._workers.append(worker)
        future: Future[Any] = Future()
        self._queue.put((future, fn, shared, item))
        return future

    def resize(self, slots: int) -> None:
        """Run at most ``slots`` units at once from now on."""
        while len(self._workers) > slots:
            self._workers.pop()
            self._queue.put(None)  # a thread exits once its unit is done
        self.slots = slots

    def close(self) -> None:
        """Let every thread exit once its unit is done."""
        for _ in self._workers:
            self._queue.put(None)
        self._workers.clear()


def _thread_worker(work: queue.SimpleQueue[Any]) -> None:
    while (job := work.get()) is not None:
        future, fn, shared, item = job
        if not future.set_running_or_notify_cancel():
            continue
        try:
            future.set_result(_timed(fn, shared, item))
        except BaseException as exc:  # handed to the caller
            future.set_exception(exc)


class _ProcessLane:
    """loky worker processes, kept alive between searches as joblib does."""

    def __init__(self, slots: int, threads: int) -> None:
        self.slots = slots
        self.busy = 0
        self._threads = threads
        # joblib's own reusable executor: the workers are shared with the
        # joblib calls of this process (scikit-learn's), not started twice.
        from joblib.executor import get_memmapping_executor

        self._executor = get_memmapping_executor(slots, env=worker_env(threads))

    def prepare(self, shared: Any) -> Any:
        """Write ``shared`` once; units carry a token and the file's path."""
        path = _dump_shared(shared)
        if path is None:  # not picklable by joblib (a lambda): send it along
            return (None, None, shared)
        return (f"{os.getpid()}-{uuid.uuid4().hex}", path, None)

    def release(self, sent: Any) -> None:
        if sent is not None and sent[1] is not None:
            _remove(sent[1])

    def submit(self, fn: Callable[..., Any], sent: Any, item: Any) -> Future[Any]:
        token, path, shared = sent
        return self._executor.submit(_process_unit, fn, token, path, shared, item)

    def kill(self) -> None:
        """Terminate the workers now, their units lost (Ctrl-C, a raise,
        ``stop_running``); the pool is not used again."""
        self._executor.shutdown(wait=False, kill_workers=True)

    def renew(self) -> None:
        """A worker died and broke the pool (or was stopped): take a fresh one."""
        from joblib.executor import get_memmapping_executor

        self._executor = get_memmapping_executor(
            self.slots, env=worker_env(self._threads)
        )


def _process_unit(
    fn: Callable[[S, T], R], token: str | None, path: str | None, shared: S, item: T
) -> tuple[R, float, float]:
    if token is not None and path is not None:
        loaded = _WORKER_SHARED.get(token)
        shared = _load_shared(token, path) if loaded is None else loaded
    set_interop_threads()  # loading ``shared`` may have imported PyTorch
    return fn(shared, item), 0.0, 0.0


def worker_env(threads: int) -> dict[str, str]:
    """Environment of a worker process: every thread pool sized ``threads``.

    Pools read these variables once, when they start (OpenMP, OpenBLAS, MKL,
    PyTorch's intra-op pool): set at the worker's start they are right from
    its first fit, with no idle threads left from a larger default. They are
    the variables joblib sets for its own workers, so the worker processes
    stay shared with scikit-learn's joblib calls of the same size.
    """
    from joblib._parallel_backends import LokyBackend

    env = dict.fromkeys(LokyBackend.MAX_NUM_THREADS_VARS, str(threads))
    if LokyBackend.TBB_ENABLE_IPC_VAR not in os.environ:
        env[LokyBackend.TBB_ENABLE_IPC_VAR] = "1"
    return env


_INTEROP_SIZED = [False]


def set_interop_threads() -> None:
    """In a worker process: size PyTorch's inter-op pool, once, if it is loaded.

    No variable sizes that pool, and it can be sized only once per process,
    before it starts: the first unit that finds PyTorch loaded sizes it as
    the worker's environment sizes the others (:func:`worker_env`).
    """
    torch = sys.modules.get("torch")
    threads = os.environ.get("OMP_NUM_THREADS", "")
    if torch is None or _INTEROP_SIZED[0] or not threads.isdigit():
        return
    _INTEROP_SIZED[0] = True
    with contextlib.suppress(RuntimeError):  # sized or started by the user's code
        torch.set_num_interop_threads(max(1, int(threads)))


# In a worker process: the shared object of the current search, by token. Only
# the latest is kept, so an idle worker holds one search's data at most.
_WORKER_SHARED: dict[str, Any] = {}


def _load_shared(token: str, path: str) -> Any:
    """Load a search's shared object in a worker, keeping only the latest."""
    _WORKER_SHARED.clear()
    # Memory-map only large data, as joblib does (max_nbytes=1M): small
    # arrays stay writable, for estimators that write into their input.
    if path.endswith(_BY_VALUE):
        with open(path, "rb") as file:
            shared = _WORKER_SHARED[token] = pickle.load(file)
    else:
        mmap = "r" if os.path.getsize(path) > 1_000_000 else None
        shared = _WORKER_SHARED[token] = joblib.load(path, mmap_mode=mmap)
    return shared


def _dump_shared(shared: Any) -> str | None:
    """Write ``shared`` to a temporary file (RAM-backed where there is one).

    joblib's pickler memory-maps large arrays but pickles classes and functions
    by reference, which a worker cannot resolve for those defined in a script's
    or notebook's ``__main__``; such a ``shared`` is written by cloudpickle
    instead (by value, as loky sends its calls), at the cost of memory-mapping.
    """
    folder = "/dev/shm" if os.path.isdir("/dev/shm") else None
    by_value = _mentions_main(shared)
    fd, path = tempfile.mkstemp(
        prefix="hpsearch-", suffix=_BY_VALUE if by_value else ".pkl", dir=folder
    )
    os.close(fd)
    try:
        if by_value:
            with open(path, "wb") as file:
                cloudpickle.dump(shared, file)
        else:
            joblib.dump(shared, path)
    except (pickle.PicklingError, AttributeError, TypeError):
        _remove(path)
        return None
    return path


_BY_VALUE = ".cloudpickle"


def _mentions_main(obj: Any) -> bool:
    """Whether pickling ``obj`` refers to ``__main__`` (arrays are skipped)."""

    class _Probe(pickle.Pickler):
        def persistent_id(self, o: Any) -> Any:
            # Array data cannot name a module: leave it out, keep the probe cheap.
            return id(o) if isinstance(o, np.ndarray) else None

    buffer = io.BytesIO()
    try:
        _Probe(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    except Exception:
        return False  # joblib.dump then decides, or the fallback sends it along
    return b"__main__" in buffer.getvalue()


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
