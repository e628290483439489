"""Choosing an executor from a search's arguments."""

from __future__ import annotations

from typing import Any

from hpsearch._errors import BackendError
from hpsearch.executors._base import Executor
from hpsearch.executors._dask import is_dask_backend, make_dask_executor
from hpsearch.executors._local import LocalExecutor, SerialExecutor


def make_executor(
    backend: Any,
    n_jobs: int | None,
    pre_dispatch: Any,
    *,
    threadable: bool = False,
    fit_timeout: float | None = None,
) -> Executor:
    """The executor for ``backend`` ("loky", "threading", ...) and ``n_jobs``.

    With ``backend`` None, joblib's active ``parallel_config`` is followed as
    scikit-learn follows it (see :func:`joblib_config`).

    ``backend=None`` runs in this process when ``n_jobs`` is None or 1, as
    scikit-learn does. Other values use that many local workers (-1: all
    cores): for ``threadable`` work (only scikit-learn's estimators, see
    :func:`threadable`) threads of this process first, moving to loky worker
    processes if the units hold the GIL; for any other work loky processes, as
    scikit-learn. "loky" and "threading" force one kind. "dask", a scheduler
    address or a ``distributed.Client`` run on a Dask cluster, where ``n_jobs``
    None or -1 means all of the cluster's worker threads.

    With ``fit_timeout`` the fits must run where they can be stopped, in
    worker processes: one loky process where they would run in this process
    (``n_jobs`` None or 1), loky processes where threads would be chosen; a
    backend that names threads or this process is refused (BackendError).
    """
    if backend is None:
        backend, n_jobs = joblib_config(n_jobs)
    if fit_timeout is not None:
        return _stoppable(backend, n_jobs, pre_dispatch, fit_timeout)
    if backend in (None, "loky", "threading") and n_jobs in (None, 1):
        return SerialExecutor()
    if backend is None:
        mode = "auto" if threadable else "processes"
        return LocalExecutor(n_jobs, mode, pre_dispatch)
    if backend == "loky":
        return LocalExecutor(n_jobs, "processes", pre_dispatch)
    if backend == "threading":
        return LocalExecutor(n_jobs, "threads", pre_dispatch)
    if backend == "serial":
        return SerialExecutor()
    if not is_dask_backend(backend):
        raise BackendError(
            "backend must be None, 'loky', 'threading', 'serial', 'dask' (the "
            "active distributed.Client), a Dask scheduler address such as "
            f"'tcp://127.0.0.1:8786', or a distributed.Client; got {backend!r}. "
            "Pick one of these forms."
        )
    return make_dask_executor(backend, n_jobs)


def _stoppable(
    backend: Any, n_jobs: int | None, pre_dispatch: Any, fit_timeout: float
) -> Executor:
    """An executor whose fits can be stopped: worker processes or Dask."""
    if backend in ("threading", "serial"):
        raise BackendError(
            f"fit_timeout needs fits in worker processes, where a fit past the "
            f"limit can be stopped; got fit_timeout={fit_timeout!r} with "
            f"backend={backend!r}, which runs fits in this process (a thread "
            "cannot be stopped). Use backend='loky' or None (worker processes) or "
            "a Dask backend, or drop fit_timeout."
        )
    if backend in (None, "loky"):
        # n_jobs None or 1 too: one worker process, fits one at a time.
        return LocalExecutor(n_jobs or 1, "processes", pre_dispatch)
    return make_executor(backend, n_jobs, pre_dispatch)


def joblib_config(n_jobs: int | None) -> tuple[Any, int | None]:
    """The backend and ``n_jobs`` that joblib's ``parallel_config`` (or
    ``parallel_backend``) sets around the search, as scikit-learn would use them.

    A search's own ``n_jobs`` comes first; the context's ``n_jobs`` applies when
    it is None. A backend the context names explicitly ("loky",
    "multiprocessing", "threading", "sequential", "dask") becomes hpsearch's;
    None when the context names none, so hpsearch chooses.
    """
    import joblib.parallel

    active, context_n_jobs = joblib.parallel.get_active_backend()
    if n_jobs is None:
        n_jobs = context_n_jobs
    config = getattr(joblib.parallel._backend, "config", None)
    explicit = config is not None and not isinstance(
        config.get("backend"), joblib.parallel._Sentinel
    )
    if not explicit:
        return None, n_jobs
    name = type(active).__name__
    if name in ("LokyBackend", "MultiprocessingBackend"):
        return "loky", n_jobs
    if name == "ThreadingBackend":
        return "threading", n_jobs
    if name == "SequentialBackend":
        return "serial", n_jobs
    if name == "DaskDistributedBackend":
        return active.client, n_jobs
    raise BackendError(
        "joblib's parallel_config backend must be one hpsearch can run on "
        "('loky', 'multiprocessing', 'threading', 'sequential' or 'dask'); got "
        f"{name}. hpsearch runs its own workers: pass backend= to the search "
        "instead, or leave the joblib backend unset."
    )


def threadable(*objects: Any) -> bool:
    """Whether every estimator in ``objects`` is one of scikit-learn's own.

    Those are safe to fit in several threads of one process at once. Other
    estimators (a Keras or PyTorch wrapper, a class of the user's) may keep
    global state, so they run in worker processes, as scikit-learn runs them.
    Nested parameters, pipeline steps and the estimators listed in a search
    space are all looked at; plain values and functions are no concern.
    """
    seen: set[int] = set()
    todo = list(objects)
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, dict):
            todo.extend(obj.values())
        elif isinstance(obj, (list, tuple)):
            todo.extend(obj)
        elif hasattr(obj, "get_params") and not isinstance(obj, type):
            if not type(obj).__module__.startswith("sklearn."):
                return False
            todo.extend(obj.get_params(deep=False).values())
    return True
