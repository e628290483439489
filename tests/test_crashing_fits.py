"""A fit that kills its worker process, or runs past ``fit_timeout``, fails
its candidate, not the search.

Real crashes in loky worker processes: a segmentation fault in native code
(``ctypes.string_at(0)``) and ``os._exit(3)``. Each crashing task runs again
alone in a fresh worker, then is recorded as failed with the cause; the other
candidates' fits are not lost, and their results equal scikit-learn's.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import GridSearchCV as SkGridSearchCV

from hpsearch import (
    BackendError,
    FitTimeoutError,
    GridSearchCV,
    WorkerCrashError,
    load_study,
)

sys.path.insert(0, os.path.dirname(__file__))
from crashing_estimators import (
    CRASH_GRID,
    Crashing,
    check_crashes_recorded,
    marked_data,
)

N_SPLITS = 2


@pytest.fixture(autouse=True)
def fresh_workers():
    """The crashes must not reach later tests through joblib's shared workers:
    a fit that crashes a worker as a test ends would break the next test's
    pool. Start and end each test with the reusable workers stopped."""
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True, kill_workers=True)
    yield
    get_reusable_executor().shutdown(wait=True, kill_workers=True)


_data = marked_data


@pytest.mark.filterwarnings("ignore:One or more of the test scores are non-finite")
def test_crashing_fits_fail_their_candidates_and_the_search_goes_on(tmp_path):
    log = str(tmp_path / "fits.log")
    X, y = _data()
    search = GridSearchCV(
        Crashing(log=log),
        CRASH_GRID,
        cv=N_SPLITS,
        n_jobs=2,
        backend="loky",
        storage=tmp_path / "runs.db",
        study="crash",
    )
    with pytest.warns(FitFailedWarning) as warned:
        search.fit(X, y)
    counted = check_crashes_recorded(search, warned, tmp_path / "runs.db", "crash", log)
    results = search.cv_results_
    crashed = np.array([p["crash"] != "" for p in results["params"]])
    # the split without row 0 did not crash: its score is kept
    kept = [
        s
        for s in range(N_SPLITS)
        if ~np.isnan(results[f"split{s}_test_score"][crashed]).all()
    ]
    assert len(kept) == N_SPLITS - 1
    assert search.best_params_ == {"C": 3.0, "crash": ""}
    for crash in ("segv", "exit"):
        # the crashing task: at most once among others, then once alone (a
        # bystander of the other crash may not have started the first time);
        # the task of the other split may have been fitted again as a bystander
        assert counted[crash, "1.0", "30"] <= 2 + 2


def test_error_score_raise_raises_on_a_crashing_fit(tmp_path):
    X, y = _data()
    search = GridSearchCV(
        Crashing(),
        {"crash": ["", "segv"]},
        cv=N_SPLITS,
        n_jobs=2,
        backend="loky",
        error_score="raise",
    )
    with pytest.raises(WorkerCrashError, match="worker killed by SIGSEGV"):
        search.fit(X, y)


# --- a fit past fit_timeout -------------------------------------------------


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:One or more of the test scores are non-finite")
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_fit_past_fit_timeout_is_stopped_and_recorded_as_failed(tmp_path, n_jobs):
    # The hanging fit sleeps ten minutes; the limit is one second: the search
    # can only finish if the fit is stopped (pytest's own timeout is 300 s).
    X, y = _data()
    search = GridSearchCV(
        Crashing(),
        {"crash": ["", "hang"], "C": [2.0]},
        cv=N_SPLITS,
        n_jobs=n_jobs,
        fit_timeout=1,
        storage=tmp_path / "runs.db",
        study="hang",
    )
    with pytest.warns(FitFailedWarning, match=r"timed out after 1 s \(fit_timeout\)"):
        search.fit(X, y)
    assert search.workers_ == {"processes": n_jobs}  # n_jobs=1: one worker process
    results = search.cv_results_
    hangs = np.array([p["crash"] == "hang" for p in results["params"]])
    assert np.isnan(results["mean_test_score"][hangs]).all()
    oracle = SkGridSearchCV(Crashing(), {"C": [2.0]}, cv=N_SPLITS).fit(X, y)
    np.testing.assert_allclose(
        results["mean_test_score"][~hangs], oracle.cv_results_["mean_test_score"]
    )
    # the split whose training rows lack the marked row did not hang: kept
    finite = [np.isfinite(results[f"split{s}_test_score"][hangs][0]) for s in (0, 1)]
    assert sorted(finite) == [False, True]
    study = load_study(tmp_path / "runs.db", "hang")
    failed = [f for t in study.trials for f in t.folds if f.status == "failed"]
    assert len(failed) == 1  # the split of the hanging candidate that hangs
    assert all(f.error.startswith("timed out after 1 s") for f in failed)


def test_error_score_raise_raises_on_a_fit_past_fit_timeout():
    X, y = _data()
    search = GridSearchCV(
        Crashing(), {"crash": ["hang"]}, cv=N_SPLITS, fit_timeout=1, error_score="raise"
    )
    with pytest.raises(
        FitTimeoutError,
        match=r"^the fit of \{'crash': 'hang'\} on split \d must finish within "
        r"fit_timeout=1; got it still running after 1 s \(stopped, its worker "
        r"replaced\)\. Raise fit_timeout, or pass error_score=np.nan",
    ):
        search.fit(X, y)


@pytest.mark.parametrize("backend", ["threading", "serial"])
def test_fit_timeout_is_refused_where_a_fit_cannot_be_stopped(backend):
    X, y = _data()
    search = GridSearchCV(
        Crashing(), {"C": [1.0]}, n_jobs=2, backend=backend, fit_timeout=5
    )
    with pytest.raises(
        BackendError,
        match=rf"^fit_timeout needs fits in worker processes, where a fit past the "
        rf"limit can be stopped; got fit_timeout=5 with backend='{backend}', which "
        r"runs fits in this process \(a thread cannot be stopped\)\. Use "
        r"backend='loky' or None",
    ):
        search.fit(X, y)


@pytest.mark.parametrize("value", [0, -1, "1"])
def test_fit_timeout_must_be_a_positive_number(value):
    X, y = _data()
    with pytest.raises(ValueError, match=r"The 'fit_timeout' parameter of "):
        GridSearchCV(Crashing(), {"C": [1.0]}, fit_timeout=value).fit(X, y)


@pytest.mark.parametrize(
    "search_class",
    [
        "GridSearchCV",
        "RandomizedSearchCV",
        "HalvingGridSearchCV",
        "HalvingRandomSearchCV",
        "HyperbandSearchCV",
    ],
)
def test_every_search_class_takes_the_fault_options(search_class):
    import hpsearch

    klass = getattr(hpsearch, search_class)
    for name in ("fit_timeout", "storage_retry", "retry_failed", "timeout"):
        assert name in klass._get_param_names()
        assert name in klass._parameter_constraints
