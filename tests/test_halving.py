"""HalvingGridSearchCV and HalvingRandomSearchCV against scikit-learn's own.

scikit-learn is the oracle: same inputs, same ``cv_results_`` (timings
aside), same ``best_*`` and the same fitted attributes, for both resources
(``n_samples`` and an estimator parameter), with pipelines whose prefixes are
shared within a round, and on threads and processes. Then what hpsearch adds:
checks before any fit, the rung in the progress bar, ``results_``, stored
studies, and a loop that asks for work as soon as a worker is free.
"""

from __future__ import annotations

import io
import threading

import numpy as np
import pytest
from scipy.stats import loguniform
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_digits, make_classification
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import HalvingGridSearchCV as SkHalvingGrid
from sklearn.model_selection import HalvingRandomSearchCV as SkHalvingRandom
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from hpsearch import (
    HalvingGridSearchCV,
    HalvingRandomSearchCV,
    SpaceError,
    load_study,
)
from hpsearch._evaluate import EvalContext
from hpsearch._loop import SearchRun
from hpsearch._records import Proposal
from hpsearch._space import make_candidates
from hpsearch.executors import make_executor
from hpsearch.strategies import History

TIMINGS = ("mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time")
ATTRIBUTES = (
    "n_resources_",
    "n_candidates_",
    "n_remaining_candidates_",
    "max_resources_",
    "min_resources_",
    "n_iterations_",
    "n_possible_iterations_",
    "n_required_iterations_",
    "best_index_",
    "best_params_",
    "best_score_",
    "n_splits_",
)


def assert_same_results(ours, theirs) -> None:
    assert list(ours.cv_results_) == list(theirs.cv_results_)
    for key, value in theirs.cv_results_.items():
        if key in TIMINGS:
            continue
        if key == "params":
            assert list(ours.cv_results_[key]) == list(value)
        else:
            mine = ours.cv_results_[key]
            assert np.asarray(mine).dtype == np.asarray(value).dtype, key
            np.testing.assert_array_equal(mine, value, err_msg=key)
    for name in ATTRIBUTES:
        if hasattr(theirs, name):
            assert getattr(ours, name) == getattr(theirs, name), name


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300], y[:300]


def pipeline() -> Pipeline:
    return Pipeline(
        [("scale", StandardScaler()), ("pca", PCA(random_state=0)), ("svc", SVC())]
    )


PIPELINE_GRID = {
    "pca__n_components": [10, 20, 30],
    "svc__C": [0.1, 1, 10],
    "svc__gamma": ["scale", 0.01],
}


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"factor": 2, "min_resources": "smallest"},
        {"aggressive_elimination": True, "max_resources": 300, "factor": 2},
        {"n_jobs": 2},
        {"n_jobs": 2, "backend": "loky"},
    ],
    ids=["default", "factor2-smallest", "aggressive", "threads", "loky"],
)
def test_halving_grid_on_samples_equals_scikit_learn(digits, options):
    X, y = digits
    backend = options.pop("backend", None)
    theirs = SkHalvingGrid(pipeline(), PIPELINE_GRID, random_state=0, **options)
    ours = HalvingGridSearchCV(
        pipeline(),
        PIPELINE_GRID,
        random_state=0,
        progress=False,
        backend=backend,
        **options,
    )
    assert_same_results(ours.fit(X, y), theirs.fit(X, y))


def test_halving_grid_on_an_estimator_parameter_equals_scikit_learn(digits):
    X, y = digits
    grid = {"max_depth": [2, 4, 8, None], "min_samples_leaf": [1, 5]}
    forest = RandomForestClassifier(random_state=0)
    options = {"resource": "n_estimators", "max_resources": 27, "random_state": 0}
    theirs = SkHalvingGrid(forest, grid, **options).fit(X, y)
    ours = HalvingGridSearchCV(forest, grid, progress=False, **options).fit(X, y)
    assert_same_results(ours, theirs)
    # The resource shows in the parameters, as scikit-learn shows it.
    assert ours.best_params_["n_estimators"] == 27
    assert "param_n_estimators" in ours.cv_results_


@pytest.mark.parametrize(
    "options",
    [
        {"random_state": 0},
        {"random_state": 3, "n_candidates": 20, "factor": 2},
        {"random_state": 1, "resource": "max_iter", "max_resources": 60},
    ],
)
def test_halving_random_equals_scikit_learn(digits, options):
    X, y = digits
    space = {"alpha": loguniform(1e-6, 1e-1), "penalty": ["l2", "l1"]}
    estimator = SGDClassifier(random_state=0, tol=None)
    if "resource" not in options:
        estimator.set_params(max_iter=20)
    theirs = SkHalvingRandom(estimator, space, **options).fit(X, y)
    ours = HalvingRandomSearchCV(estimator, space, progress=False, **options)
    assert_same_results(ours.fit(X, y), theirs)


def test_a_searched_resource_parameter_is_refused_before_any_fit():
    X, y = make_classification(n_samples=60, random_state=0)
    search = HalvingGridSearchCV(
        RandomForestClassifier(),
        {"n_estimators": [10, 20]},
        resource="n_estimators",
        max_resources=30,
    )
    with pytest.raises(
        SpaceError,
        match=r"^Cannot use parameter n_estimators as the resource since it is part "
        r"of the searched parameters\. The resource 'n_estimators' is set by each "
        r"round",
    ):
        search.fit(X, y)
    assert not hasattr(search, "cv_results_")


def test_max_resources_above_the_samples_is_refused_before_any_fit():
    X, y = make_classification(n_samples=60, random_state=0)
    search = HalvingGridSearchCV(
        DecisionTreeClassifier(), {"max_depth": [1, 2, 3]}, max_resources=100
    )
    with pytest.raises(
        SpaceError,
        match=r"^max_resources must be at most the number of samples when "
        r"resource='n_samples'; got max_resources=100 for 60 samples\. Use "
        r"max_resources='auto'",
    ):
        search.fit(X, y)


def test_a_resource_value_the_estimator_refuses_is_refused_before_any_fit():
    X, y = make_classification(n_samples=60, random_state=0)
    search = HalvingGridSearchCV(
        DecisionTreeClassifier(),
        {"min_samples_leaf": [1, 2]},
        resource="max_depth",
        max_resources=4,
        min_resources=0.5,  # not an int: scikit-learn's own check says so
    )
    with pytest.raises(ValueError, match="min_resources"):
        search.fit(X, y)


def test_plan_lists_every_rung_without_fitting(digits):
    X, y = digits
    search = HalvingGridSearchCV(pipeline(), PIPELINE_GRID, random_state=0)
    rungs = search.plan(X, y)
    assert [(r.round, r.n_candidates, r.resource) for r in rungs] == [
        (0, 18, 100),
        (1, 6, 300),
    ]
    assert not hasattr(search, "cv_results_")


def test_results_frame_has_the_round_and_resource_first(digits):
    X, y = digits
    search = HalvingGridSearchCV(
        DecisionTreeClassifier(random_state=0),
        {"max_depth": [2, 4, 8]},
        random_state=0,
        progress=False,
    ).fit(X, y)
    frame = search.results_
    assert list(frame.columns[:3]) == ["iter", "n_resources", "max_depth"]
    assert frame["iter"].tolist() == list(search.cv_results_["iter"])


def test_the_progress_bar_names_the_rung(digits, monkeypatch):
    import sys

    X, y = digits
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    HalvingGridSearchCV(
        DecisionTreeClassifier(random_state=0),
        {"max_depth": list(range(1, 10))},
        random_state=0,
        progress=True,
    ).fit(X, y)
    text = stderr.getvalue()
    # The bar's last state names the last rung (earlier ones are redrawn).
    assert "rung 2/2: 3 candidates x 300 samples" in text


def test_the_rung_text_names_candidates_and_budget():
    from hpsearch._progress import SearchProgress
    from hpsearch._records import Candidate
    from hpsearch.strategies import Rung

    shown = SearchProgress(
        rungs=[Rung(0, 27, 1), Rung(1, 9, 3)], resource="n_estimators", bar=False
    )
    proposal = Proposal(Candidate({}, "k"), 3, 1)
    assert shown.rung_text(proposal) == "rung 2/2: 9 candidates x 3 n_estimators"


def test_a_stored_halving_study_reads_back_as_the_fitted_search(tmp_path, digits):
    X, y = digits
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    search = HalvingGridSearchCV(
        pipeline(),
        PIPELINE_GRID,
        random_state=0,
        progress=False,
        storage=url,
        study="halving",
    ).fit(X, y)
    study = load_study(url, "halving")
    assert study.status == "finished"
    assert study.progress.done == study.progress.total == (18 + 6) * 5
    for key, value in search.cv_results_.items():
        if key == "params":
            assert study.cv_results_[key] == value
        else:
            np.testing.assert_array_equal(study.cv_results_[key], value, err_msg=key)
    assert study.best_index_ == search.best_index_
    assert study.best_params_ == search.best_params_
    assert list(study.results_.columns) == [*search.results_.columns]


def test_a_random_state_none_study_keeps_its_subsamples(tmp_path, digits):
    X, y = digits
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    grid = {"max_depth": [2, 4, 8]}
    first = HalvingGridSearchCV(
        DecisionTreeClassifier(random_state=0),
        grid,
        progress=False,
        storage=url,
        study="none",
    ).fit(X, y)
    again = HalvingGridSearchCV(
        DecisionTreeClassifier(random_state=0),
        grid,
        progress=False,
        storage=url,
        study="none",
    ).fit(X, y)
    # The seed stored with the study drew the same subsamples: all reused.
    np.testing.assert_array_equal(
        first.cv_results_["mean_test_score"], again.cv_results_["mean_test_score"]
    )


def test_a_shared_prefix_is_fitted_once_per_split_within_a_round(tmp_path, digits):
    from counting_estimators import Counted, fits

    X, y = digits
    log = str(tmp_path / "fits.log")
    pipe = Pipeline(
        [
            ("scale", Counted(StandardScaler(), log=log, tag="scale")),
            ("svc", SVC()),
        ]
    )
    grid = {"svc__C": [0.1, 1, 10, 100], "svc__gamma": ["scale", 0.01]}
    search = HalvingGridSearchCV(
        pipe, grid, factor=2, random_state=0, progress=False, refit=False, cv=3
    ).fit(X, y)
    scaler_fits = fits(log)
    # One scaler fit per (round, split): the round's rows differ, the
    # candidates of a round share them.
    assert sum(scaler_fits.values()) == len(search.n_resources_) * 3
    assert sum(search.n_candidates_) > len(search.n_resources_)  # shared by many
    theirs = SkHalvingGrid(
        Pipeline([("scale", StandardScaler()), ("svc", SVC())]),
        grid,
        factor=2,
        random_state=0,
        refit=False,
        cv=3,
    ).fit(X, y)
    np.testing.assert_array_equal(
        search.cv_results_["mean_test_score"], theirs.cv_results_["mean_test_score"]
    )


# ---------------------------------------------------------------------------
# The loop asks for work whenever a worker is free


RELEASE = threading.Event()


class Gate(ClassifierMixin, BaseEstimator):
    """``role="wait"`` fits only once a ``role="release"`` fit has run."""

    def __init__(self, role="quick"):
        self.role = role

    def fit(self, X, y):
        if self.role == "release":
            RELEASE.set()
        if self.role == "wait" and not RELEASE.wait(timeout=120):
            raise RuntimeError("no release: the loop waited for every worker")
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


class OneByOne:
    """Proposes one candidate per idle worker, until none are left."""

    def __init__(self, roles):
        self.candidates = make_candidates({"role": r} for r in roles)
        self.asked: list[History] = []

    def propose(self, history):
        self.asked.append(history)
        started = len(history.trials) + len(history.running)
        return [Proposal(c) for c in self.candidates[started : started + history.idle]]

    def outline(self):
        return []


def test_a_free_worker_gets_new_work_while_another_still_runs():
    """The "wait" fit can only end once the "release" fit ran: the loop must
    propose the third candidate while the first still runs on the other
    worker (a loop waiting for all running work would time out)."""
    RELEASE.clear()
    X, y = make_classification(n_samples=40, random_state=0)
    strategy = OneByOne(["wait", "quick", "release"])
    executor = make_executor("threading", 2, "2*n_jobs")
    from sklearn.metrics import check_scoring

    ctx = EvalContext(
        estimator=Gate(),
        X=X,
        y=y,
        splits=[(np.arange(0, 40, 2), np.arange(1, 40, 2))],
        scorer=check_scoring(Gate(), scoring="accuracy"),
    )
    trials = SearchRun(strategy, ctx, executor).run()
    assert [t.candidate.params["role"] for t in trials] == ["wait", "quick", "release"]
    assert all(f.status == "ok" for t in trials for f in t.folds)
    # The third candidate was proposed while the first was running.
    asked = [
        (
            [t.candidate.params["role"] for t in h.trials],
            [p.candidate.params["role"] for p in h.running],
            h.idle,
        )
        for h in strategy.asked
    ]
    assert (["quick"], ["wait"], 1) in asked


def test_another_subsample_seed_is_a_mismatch(tmp_path, digits):
    from hpsearch import StudyMismatchError

    X, y = digits
    url = f"sqlite:///{tmp_path / 'runs.db'}"

    def run(seed):
        return HalvingGridSearchCV(
            DecisionTreeClassifier(random_state=0),
            {"max_depth": [2, 4, 8]},
            random_state=seed,
            progress=False,
            storage=url,
            study="seeded",
        ).fit(X, y)

    run(0)
    with pytest.raises(
        StudyMismatchError,
        match="the random_state that draws the subsamples differ: stored 0, now 1",
    ):
        run(1)
