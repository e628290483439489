"""Searches on a Dask cluster: real scheduler and worker processes, no mocks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import GridSearchCV as SkGridSearchCV

import hpsearch
from hpsearch import (
    BackendError,
    ClusterError,
    GridSearchCV,
    MissingExtraError,
    RandomizedSearchCV,
    WorkerCrashError,
    load_study,
)
from hpsearch.executors import DaskExecutor

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")

# Worker processes unpickle the test estimators by module name: LocalCluster's
# workers inherit sys.path, the `dask worker` subprocesses get PYTHONPATH.
TESTS = str(Path(__file__).parent)
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)
from crashing_estimators import (  # noqa: E402
    CRASH_GRID,
    Crashing,
    check_crashes_recorded,
    marked_data,
)
from dask_estimators import SlowClassifier, add_held  # noqa: E402

X, y = load_iris(return_X_y=True)
GRID = {"C": [0.01, 0.1, 1.0, 10.0]}


def _same(a: dict, b: dict) -> None:
    """cv_results_ equal to the last bit, timings aside."""
    assert sorted(a) == sorted(b)
    for key in a:
        if "time" in key:
            continue
        if key == "params":
            assert a[key] == b[key]
        elif isinstance(a[key], np.ma.MaskedArray):
            assert list(a[key].mask) == list(b[key].mask), key
            assert list(a[key].data) == list(b[key].data), key
        else:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)


# Every server on 127.0.0.1, its HTTP port chosen by the system (the default,
# 8787, may be taken by another cluster).
LOCAL_CLUSTER = dict(
    processes=True,
    n_workers=2,
    threads_per_worker=1,
    host="127.0.0.1",
    dashboard_address="127.0.0.1:0",
)
HTTP = ["--dashboard-address", "127.0.0.1:0", "--no-dashboard"]


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(**LOCAL_CLUSTER) as cluster:
        yield cluster


@pytest.fixture
def client(cluster):
    # Not the default client: the tests pass it, or make it current, on purpose.
    with distributed.Client(cluster, set_as_default=False) as client:
        yield client


@pytest.mark.parametrize("as_backend", ["client", "dask", "address"])
def test_dask_search_equals_local_run_and_scikit_learn(client, as_backend):
    backend = {
        "client": client,
        "dask": "dask",
        "address": client.scheduler.address,
    }[as_backend]
    kwargs = dict(scoring=["accuracy", "f1_macro"], refit="accuracy", cv=3)
    local = GridSearchCV(SlowClassifier(), GRID, progress=False, **kwargs).fit(X, y)
    with client.as_current():
        search = GridSearchCV(
            SlowClassifier(),
            GRID,
            backend=backend,
            return_train_score=False,
            progress=False,
            **kwargs,
        ).fit(X, y)
    sk = SkGridSearchCV(SlowClassifier(), GRID, **kwargs).fit(X, y)
    _same(search.cv_results_, local.cv_results_)
    _same(search.cv_results_, sk.cv_results_)
    assert search.best_params_ == sk.best_params_
    assert client.status == "running"  # a client passed in stays open


def test_randomized_search_on_dask_draws_and_scores_as_scikit_learn(client):
    from scipy.stats import loguniform
    from sklearn.model_selection import RandomizedSearchCV as SkRandomizedSearchCV

    space = {"C": loguniform(1e-3, 1e2)}
    search = RandomizedSearchCV(
        SlowClassifier(),
        space,
        n_iter=6,
        random_state=0,
        backend=client,
        return_train_score=True,
        progress=False,
    ).fit(X, y)
    sk = SkRandomizedSearchCV(
        SlowClassifier(), space, n_iter=6, random_state=0, return_train_score=True
    ).fit(X, y)
    _same(search.cv_results_, sk.cv_results_)


def test_pipeline_prefix_units_run_on_dask_and_equal_scikit_learn(client):
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    pipe = Pipeline(
        [("scale", StandardScaler()), ("pca", PCA()), ("clf", LogisticRegression())]
    )
    grid = {"pca__n_components": [2, 3], "clf__C": [0.1, 1.0, 10.0]}
    search = GridSearchCV(pipe, grid, backend=client, progress=False).fit(X, y)
    sk = SkGridSearchCV(pipe, grid).fit(X, y)
    _same(search.cv_results_, sk.cv_results_)


def test_halving_search_on_dask_equals_scikit_learn(client):
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingGridSearchCV as SkHalvingGridSearchCV

    from hpsearch import HalvingGridSearchCV

    grid = {"C": [0.01, 0.1, 1.0, 10.0, 100.0, 1000.0]}
    options = dict(cv=3, factor=2, min_resources=30, random_state=0)
    search = HalvingGridSearchCV(
        SlowClassifier(), grid, backend=client, progress=False, **options
    ).fit(X, y)
    sk = SkHalvingGridSearchCV(SlowClassifier(), grid, **options).fit(X, y)
    _same(search.cv_results_, sk.cv_results_)
    assert search.n_resources_ == sk.n_resources_
    assert search.best_params_ == sk.best_params_


def test_hyperband_on_dask_promotes_and_stores_as_locally(client, tmp_path):
    from scipy.stats import loguniform

    from hpsearch import HyperbandSearchCV

    url = f"sqlite:///{tmp_path / 'runs.db'}"
    options = dict(
        cv=3, factor=2, n_iter=8, min_resources=30, random_state=0, progress=False
    )
    space = {"C": loguniform(1e-3, 1e3)}
    search = HyperbandSearchCV(
        SlowClassifier(), space, backend=client, storage=url, study="hb", **options
    ).fit(X, y)
    local = HyperbandSearchCV(SlowClassifier(), space, n_jobs=1, **options).fit(X, y)
    assert search.n_resources_ == local.n_resources_ == [37, 75, 150]
    # The same candidates on rung 0; ASHA's promotions depend on the order
    # results arrive, but the best reaches the largest budget either way.
    assert sorted(
        p["C"]
        for p, i in zip(
            search.cv_results_["params"], search.cv_results_["iter"], strict=True
        )
        if i == 0
    ) == sorted(
        p["C"]
        for p, i in zip(
            local.cv_results_["params"], local.cv_results_["iter"], strict=True
        )
        if i == 0
    )
    assert search.cv_results_["n_resources"][search.best_index_] == 150
    assert list(search.workers_) == ["dask"]
    study = hpsearch.load_study(url, "hb")
    assert study.best_params_ == search.best_params_


@pytest.mark.slow
def test_command_line_runs_a_study_on_the_cluster_through_its_address(
    cluster, tmp_path
):
    from hpsearch.storage import load_study

    study_file = Path(__file__).parents[1] / "examples" / "tree_random.toml"
    storage = f"sqlite:///{tmp_path / 'cli.db'}"
    hpsearch_cli = str(Path(sys.executable).with_name("hpsearch"))
    before = _executed(cluster)
    run = subprocess.run(
        [hpsearch_cli, "run", str(study_file), "--storage", storage,
         "--backend", cluster.scheduler_address],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    [study] = [load_study(storage, "tree_random")]
    assert study.progress.done == study.progress.total > 0
    assert study.status == "finished"
    assert _executed(cluster) > before  # the fits ran on the workers


def _executed(cluster):
    """Tasks the cluster's workers have run so far."""

    def count(dask_worker):
        return dask_worker.state.executed_count

    with distributed.Client(cluster, set_as_default=False) as client:
        return sum(client.run(count).values())


def test_failing_candidates_on_workers_are_recorded_as_failed_like_locally(client):
    grid = {"C": [1.0, -1.0, 10.0]}
    searches = []
    for backend in [client, None]:
        with (
            pytest.warns(UserWarning, match="test scores are non-finite"),
            pytest.warns(FitFailedWarning, match=r"fails on purpose for C=-1\.0"),
        ):
            searches.append(
                GridSearchCV(
                    SlowClassifier(), grid, backend=backend, progress=False
                ).fit(X, y)
            )
    search, local = searches
    _same(search.cv_results_, local.cv_results_)
    assert list(search.results_["status"]) == ["ok", "failed", "ok"]


def test_error_score_raise_propagates_the_workers_error(client):
    search = GridSearchCV(
        SlowClassifier(),
        {"C": [1.0, -1.0]},
        backend=client,
        error_score="raise",
        progress=False,
    )
    with pytest.raises(ValueError, match=r"fails on purpose for C=-1\.0"):
        search.fit(X, y)


def _slow_identity(shared, item):
    time.sleep(0.05)
    return item


def test_units_in_flight_are_bounded_by_twice_the_cluster_threads(client):
    executor = DaskExecutor(client, n_jobs=None, own_client=False)
    assert executor.n_workers == 2  # 2 workers x 1 thread
    pulled = []

    def items():
        for i in range(40):
            pulled.append(i)
            yield i

    results = executor.map_unordered(_slow_identity, items(), shared=None)
    first = next(results)
    assert len(pulled) <= 2 * executor.n_workers + 1
    assert sorted([first, *results]) == list(range(40))
    executor.close()


def test_equal_units_run_as_separate_tasks(client):
    executor = DaskExecutor(client, n_jobs=1, own_client=False)
    assert executor.n_workers == 1
    results = list(executor.map_unordered(_slow_identity, [7, 7, 7], shared=None))
    assert results == [7, 7, 7]
    executor.close()


class _CountedPickles:
    """Shared data that counts how often this process pickles it."""

    count = 0

    def __reduce__(self):
        type(self).count += 1
        return (dict, ())


def test_shared_context_is_sent_once_not_with_every_unit(client):
    executor = DaskExecutor(client, n_jobs=None, own_client=False)
    shared = _CountedPickles()
    results = list(executor.map_unordered(_first_key, range(20), shared))
    assert sorted(results) == list(range(20))
    assert _CountedPickles.count == 1  # scattered once, broadcast by the cluster
    executor.close()


def _first_key(shared, item):
    assert shared == {}
    return item


def test_close_while_iterating_stops_the_search(client):
    executor = DaskExecutor(client, n_jobs=None, own_client=False)
    results = executor.map_unordered(_slow_identity, range(100), shared=None)
    next(results)
    executor.close()
    assert len(list(results)) < 100
    # Cancelled units stop (a unit still running would keep this waiting
    # until pytest's timeout).
    while client.processing() and any(client.processing().values()):
        time.sleep(0.05)


def test_timeout_running_cancel_cancels_the_units_on_the_cluster(client, tmp_path):
    from held_estimators import Held, logged

    def search(grid, **options):
        return GridSearchCV(
            Held(folder=str(tmp_path)),
            grid,
            cv=2,
            backend=client,
            refit=False,
            progress=False,
            storage=f"sqlite:///{tmp_path / 'runs.db'}",
            study="held",
            **options,
        )

    fast = {"value": [0.1], "hold": [False]}
    search(fast).fit(X, y)  # stored: complete however late the held fits start
    held = search(
        [fast, {"value": [0.2, 0.3], "hold": [True]}],
        timeout=2,
        timeout_running="cancel",
    )
    with pytest.warns(UserWarning, match="fits in flight were cancelled"):
        held.fit(X, y)  # held fits wait five minutes unless cancelled
    assert held.cv_results_["params"] == [{"hold": False, "value": 0.1}]
    lines = logged(tmp_path)[4:]
    assert lines and {event for event, _, _ in lines} == {"start"}
    # A running task cannot be stopped by Dask: released, it ends unseen.
    (tmp_path / "release").touch()
    while client.processing() and any(client.processing().values()):
        time.sleep(0.05)
    assert hpsearch.load_study(held.storage, "held").progress.done == 2


@pytest.mark.parametrize("backend", ["daks", "http://127.0.0.1:8786", 4, object()])
def test_bad_backend_values_are_refused_with_the_accepted_forms(backend):
    search = GridSearchCV(SlowClassifier(), GRID, backend=backend, progress=False)
    message = (
        r"backend must be None, 'loky', 'threading', 'serial', 'dask' \(the active "
        r"distributed.Client\), a Dask scheduler address such as "
        r"'tcp://127.0.0.1:8786', or a distributed.Client; got "
        + _escape(repr(backend))
        + r". Pick one of these forms."
    )
    with pytest.raises(BackendError, match=message):
        search.fit(X, y)


def _escape(text):
    import re

    return re.escape(text)


def test_missing_dask_extra_names_the_extra(monkeypatch):
    # None in sys.modules makes `import distributed` raise ImportError.
    monkeypatch.setitem(sys.modules, "distributed", None)
    search = GridSearchCV(SlowClassifier(), GRID, backend="dask", progress=False)
    with pytest.raises(MissingExtraError, match=r"pip install 'hpsearch\[dask\]'$"):
        search.fit(X, y)
    assert issubclass(MissingExtraError, ImportError)


def test_missing_dask_extra_in_a_fresh_interpreter_names_the_extra():
    code = (
        "import sys; sys.modules['distributed'] = None\n"
        "from sklearn.datasets import load_iris\n"
        "from sklearn.svm import SVC\n"
        "import hpsearch\n"
        "X, y = load_iris(return_X_y=True)\n"
        "try:\n"
        "    hpsearch.GridSearchCV(SVC(), {'C': [1]}, backend='dask',\n"
        "                          progress=False).fit(X, y)\n"
        "except ImportError as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert out.stdout.startswith("MissingExtraError backend='dask' needs dask.dist")
    assert out.stdout.rstrip().endswith("pip install 'hpsearch[dask]'")


def test_dask_backend_without_a_client_says_how_to_create_one():
    assert not distributed.client._global_clients, "a test left a default client"
    search = GridSearchCV(SlowClassifier(), GRID, backend="dask", progress=False)
    with pytest.raises(
        ClusterError,
        match=r"^backend='dask' must find an active distributed.Client; got none. "
        r"Create one before the search: `from distributed import Client; ",
    ):
        search.fit(X, y)


def test_unreachable_scheduler_address_is_a_cluster_error():
    address = f"tcp://127.0.0.1:{_free_port()}"
    search = GridSearchCV(SlowClassifier(), GRID, backend=address, progress=False)
    with (
        dask.config.set({"distributed.comm.timeouts.connect": "1s"}),
        pytest.raises(
            ClusterError,
            match=rf"^backend='{address}' must be the address of a running Dask "
            r"scheduler; got no answer \(.*\). Start one with `dask scheduler`",
        ),
    ):
        search.fit(X, y)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- a worker dies ----------------------------------------------------------


@pytest.mark.slow
def test_worker_killed_mid_search_reruns_its_units_and_completes(tmp_path):
    grid = {"C": [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0]}  # 24 fits of 0.25 s
    local = GridSearchCV(SlowClassifier(), grid, cv=3, progress=False).fit(X, y)
    marks = tmp_path / "fits"
    marks.mkdir()
    hold = tmp_path / "fits.hold"
    hold.write_text("2")  # from the 2nd fit done on, fits wait in the workers
    with (
        distributed.LocalCluster(**LOCAL_CLUSTER) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        victim = next(iter(client.run(os.getpid).values()))
        killed = threading.Event()

        def kill_when_busy():
            # Kill only once the victim holds a unit, so that unit must rerun;
            # the search cannot finish before (its fits wait).
            while True:
                busy = client.processing()
                pids = client.run(os.getpid)
                if len(list(marks.iterdir())) >= 2 and any(
                    busy.get(w) for w, p in pids.items() if p == victim
                ):
                    os.kill(victim, signal.SIGKILL)
                    killed.set()
                    hold.unlink()  # the fits go on
                    return
                time.sleep(0.05)

        killer = threading.Thread(target=kill_when_busy)
        killer.start()
        search = GridSearchCV(
            SlowClassifier(delay=0.25, mark=str(marks)),
            grid,
            cv=3,
            backend=client,
            progress=False,
        ).fit(X, y)
        killer.join()
        assert killed.is_set(), "the worker was not killed during the search"
        assert victim not in client.run(os.getpid).values()
    _same(search.cv_results_, local.cv_results_)


@pytest.mark.slow
def test_data_lost_with_the_only_worker_is_sent_again_and_the_units_rerun(tmp_path):
    marks = tmp_path / "units"
    marks.mkdir()
    hold = tmp_path / "units.hold"
    hold.touch()  # units wait in the worker until it is killed
    with (
        distributed.LocalCluster(**{**LOCAL_CLUSTER, "n_workers": 1}) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        [victim] = client.run(os.getpid).values()

        def kill_once_a_unit_runs():
            # The worker then holds the shared data and a unit: both are lost.
            while not any(marks.iterdir()):
                time.sleep(0.05)
            os.kill(victim, signal.SIGKILL)
            hold.unlink()

        killer = threading.Thread(target=kill_once_a_unit_runs)
        killer.start()
        executor = DaskExecutor(client, n_jobs=None, own_client=False)
        shared = {"k": 100, "marks": str(marks)}
        results = list(executor.map_unordered(add_held, range(10), shared))
        executor.close()
        killer.join()
        assert victim not in client.run(os.getpid).values()  # it was restarted
    assert sorted(results) == list(range(100, 110))


_crash_data = marked_data


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:One or more of the test scores are non-finite")
def test_a_fit_that_kills_its_dask_worker_fails_its_candidate_and_the_search_goes_on(
    tmp_path,
):
    # Real crashes of worker processes: a segfault and os._exit(3). Each
    # crashing task runs again alone on a fresh worker, then is recorded as
    # failed with the cause the worker's nanny logged; the others are kept.
    log = str(tmp_path / "fits.log")
    X_crash, y_crash = _crash_data()
    with (
        distributed.LocalCluster(**LOCAL_CLUSTER) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        search = GridSearchCV(
            Crashing(log=log),
            CRASH_GRID,
            cv=2,
            backend=client,
            progress=False,
            storage=tmp_path / "runs.db",
            study="crash",
        )
        with pytest.warns(FitFailedWarning) as warned:
            search.fit(X_crash, y_crash)
    check_crashes_recorded(search, warned, tmp_path / "runs.db", "crash", log)


@pytest.mark.slow
def test_error_score_raise_raises_on_a_fit_that_kills_its_dask_worker():
    # allowed-failures=0: Dask itself gives up on the unit at once
    # (KilledWorker); hpsearch still runs it again alone before it decides.
    X_crash, y_crash = _crash_data()
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        distributed.LocalCluster(**LOCAL_CLUSTER) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        search = GridSearchCV(
            Crashing(),
            {"crash": ["", "exit"]},
            cv=2,
            backend=client,
            progress=False,
            error_score="raise",
        )
        with pytest.raises(
            WorkerCrashError,
            match=r"^the fit of \{'crash': 'exit'\} on split \d must not kill its "
            r"worker; got: worker exited with code 3, twice",
        ):
            search.fit(X_crash, y_crash)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:One or more of the test scores are non-finite")
def test_a_fit_past_fit_timeout_on_dask_is_stopped_and_recorded_as_failed(tmp_path):
    # The hanging fit sleeps ten minutes, the limit is one second: the search
    # finishes only if the worker is restarted.
    X_crash, y_crash = _crash_data()
    with (
        distributed.LocalCluster(**LOCAL_CLUSTER) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        search = GridSearchCV(
            Crashing(),
            {"crash": ["", "hang"]},
            cv=2,
            backend=client,
            progress=False,
            fit_timeout=1,
            storage=tmp_path / "runs.db",
            study="hang",
        )
        with pytest.warns(FitFailedWarning, match=r"timed out after 1 s"):
            search.fit(X_crash, y_crash)
    results = search.cv_results_
    assert np.isfinite(results["mean_test_score"][0])
    assert np.isnan(results["mean_test_score"][1])
    study = load_study(tmp_path / "runs.db", "hang")
    failed = [f for t in study.trials for f in t.folds if f.status == "failed"]
    assert [f.error.split(" (")[0] for f in failed] == ["timed out after 1 s"]


def test_a_closed_client_is_refused(cluster):
    client = distributed.Client(cluster, set_as_default=False)
    client.close()
    search = GridSearchCV(SlowClassifier(), GRID, backend=client, progress=False)
    with pytest.raises(
        ClusterError,
        match=r"^backend must be a running distributed.Client; got one whose "
        r"status is 'closed'. Create a new Client, or pass the scheduler's address.$",
    ):
        search.fit(X, y)


# --- a cluster of `dask scheduler` and `dask worker` processes ---------------


@pytest.fixture
def dask_processes():
    """A scheduler and two workers, started as the README tells users to."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask_cli = str(Path(sys.executable).with_name("dask"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([TESTS, *sys.path])}
    common = {
        "env": env,
        "start_new_session": True,
        "stdout": subprocess.DEVNULL,
        "stderr": subprocess.DEVNULL,
    }
    scheduler = subprocess.Popen(
        [dask_cli, "scheduler", "--host", "127.0.0.1", "--port", str(port), *HTTP],
        **common,
    )
    workers = [
        subprocess.Popen(
            [
                dask_cli,
                "worker",
                address,
                "--host",
                "127.0.0.1",
                "--nthreads",
                "1",
                *HTTP,
                "--death-timeout",
                "30",
            ],
            **common,
        )
        for _ in range(2)
    ]
    processes = [scheduler, *workers]
    try:
        with distributed.Client(address, set_as_default=False, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        yield address, scheduler
    finally:
        for process in reversed(processes):  # workers first, then the scheduler
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.mark.slow
def test_search_through_the_address_of_scheduler_and_worker_processes(
    dask_processes,
):
    address, _ = dask_processes
    search = GridSearchCV(SlowClassifier(), GRID, backend=address, progress=False)
    search.fit(X, y)
    local = GridSearchCV(SlowClassifier(), GRID, progress=False).fit(X, y)
    _same(search.cv_results_, local.cv_results_)
    # The client opened for the address was closed with the search.
    with distributed.Client(address, set_as_default=False) as watcher:
        # A client left open would keep this waiting until pytest's timeout.
        while _scheduler_clients(watcher) != {watcher.id}:
            time.sleep(0.05)


def _scheduler_clients(client):
    def clients(dask_scheduler):
        return set(dask_scheduler.clients) - {"fire-and-forget"}

    return client.run_on_scheduler(clients)


@pytest.mark.slow
def test_losing_the_scheduler_mid_search_is_a_cluster_error_and_a_rerun_resumes(
    dask_processes, tmp_path
):
    from hpsearch.storage import load_study

    address, scheduler = dask_processes
    grid = {"C": [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0]}
    storage = f"sqlite:///{tmp_path / 'runs.db'}"
    marks = tmp_path / "fits"
    marks.mkdir()
    hold = tmp_path / "fits.hold"
    hold.write_text("4")  # from the 4th fit done on, fits wait in the workers

    def n_stored() -> int:
        try:
            return load_study(storage, "lost").progress.done
        except KeyError:  # not created yet
            return 0

    def kill_scheduler_once_some_fits_are_done():
        # Some results stored, others in flight (held): both must be
        # accounted for, and the search cannot finish before the kill.
        while len(list(marks.iterdir())) < 4 or n_stored() < 1:
            time.sleep(0.05)
        os.killpg(scheduler.pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_scheduler_once_some_fits_are_done)
    killer.start()
    search = GridSearchCV(
        SlowClassifier(delay=0.25, mark=str(marks)),
        grid,
        cv=2,
        backend=address,
        storage=storage,
        study="lost",
        progress=False,
    )
    with pytest.raises(
        ClusterError,
        match=rf"^the Dask scheduler at {address} must stay reachable while a search "
        r"runs; got the connection lost \(scheduler-connection-lost\). Check that the "
        r"scheduler is still running and reachable. The results that arrived before "
        r"were recorded: with a storage, running the same search again resumes it.$",
    ):
        search.fit(X, y)  # would wait for ever if it waited for the held fits
    hold.unlink()  # the held fits go on; the rerun's do not wait
    killer.join()
    stored = load_study(storage, "lost").progress
    assert 0 < stored.done < stored.total == 16
    # Without the cluster, the rerun finishes locally from what was stored.
    search.set_params(backend=None, n_jobs=2).fit(X, y)
    local = GridSearchCV(SlowClassifier(), grid, cv=2, progress=False).fit(X, y)
    _same(search.cv_results_, local.cv_results_)


def test_cluster_errors_are_hpsearch_errors_and_runtime_errors():
    assert issubclass(ClusterError, hpsearch.HpsearchError)
    assert issubclass(ClusterError, RuntimeError)
    assert issubclass(BackendError, ValueError)


def test_units_on_dask_keep_the_workers_own_thread_limits(client):
    from estimators_for_tests import ThreadReporter

    # Dask's nanny starts each worker with one BLAS thread; the search must
    # not raise it to this machine's share of cores.
    search = hpsearch.GridSearchCV(
        ThreadReporter(), {"c": [1, 2]}, cv=2, backend=client, progress=False
    ).fit(*load_iris(return_X_y=True))
    assert set(search.cv_results_["mean_test_score"]) == {1.0}


def test_halving_continues_promoted_fits_on_dask_as_locally(client):
    from scipy.stats import randint

    from hpsearch import HalvingRandomSearchCV

    options = dict(
        n_candidates=6,
        factor=3,
        resource="n_estimators",
        min_resources=2,
        max_resources=6,
        cv=3,
        random_state=0,
        continue_training=True,
        progress=False,
    )
    space = {"max_depth": randint(1, 4)}
    estimator = GradientBoostingClassifier(random_state=0)
    on_dask = HalvingRandomSearchCV(estimator, space, backend=client, **options)
    locally = HalvingRandomSearchCV(estimator, space, n_jobs=1, **options)
    on_dask.fit(X, y)
    locally.fit(X, y)
    # The fitted estimators went to the workers with the promoted tasks and
    # came back: the same rows say they continued, with the same scores.
    _same(on_dask.cv_results_, locally.cv_results_)
    assert list(on_dask.cv_results_["continued_from"][-2:]) == [2, 2]
