"""continue_training: a promoted candidate goes on from its smaller rung.

Checked on real searches: the stages and epochs actually trained are counted
(gradient boosting's ``monitor`` and a skorch callback write them to a file,
from any process), scikit-learn's ensembles give the same scores as
scikit-learn's own halving search (their warm start adds the trees a fit from
scratch would have built), ``cv_results_`` says where a fit continued from,
nothing fitted is ever stored, and the default fits from scratch.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import randint, uniform
from sklearn.datasets import make_classification
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import HalvingRandomSearchCV as SkHalvingRandom
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils._param_validation import InvalidParameterError

from hpsearch import (
    HalvingGridSearchCV,
    HalvingRandomSearchCV,
    HyperbandSearchCV,
    load_study,
)
from hpsearch._continuation import resolve
from hpsearch._evaluate import EvalContext, fit_and_score
from hpsearch._loop import SearchRun
from hpsearch._records import Candidate, FoldResult, Proposal, Task, Warm
from hpsearch._worker import sendable
from hpsearch.executors import make_executor
from hpsearch.strategies import HalvingStrategy, History, HyperbandStrategy, Trial

SPACE = {"max_depth": randint(1, 4), "learning_rate": uniform(0.05, 0.3)}
# 9 candidates on 3 trees, 3 on 9, 1 on 27; 3 splits.
HALVING = dict(
    n_candidates=9,
    factor=3,
    resource="n_estimators",
    min_resources=3,
    max_resources=27,
    cv=3,
    random_state=0,
)
TIMINGS = ("mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time")


@pytest.fixture(scope="module")
def data():
    return make_classification(n_samples=200, n_features=8, random_state=0)


@pytest.fixture(scope="module")
def scikit_learns(data):
    return SkHalvingRandom(
        GradientBoostingClassifier(random_state=0), SPACE, **HALVING
    ).fit(*data)


class StageLog:
    """A gradient boosting ``monitor``: appends each stage it builds to ``path``."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __call__(self, i, estimator, local):
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, f"{i}\n".encode())
        finally:
            os.close(fd)
        return False


def stages(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def assert_same_as_scikit_learn(ours, theirs) -> None:
    for key, value in theirs.cv_results_.items():
        if key in TIMINGS:
            continue
        if key == "params":
            assert list(ours.cv_results_[key]) == list(value)
        else:
            np.testing.assert_array_equal(ours.cv_results_[key], value, err_msg=key)
    assert ours.best_params_ == theirs.best_params_
    assert ours.best_score_ == theirs.best_score_


def test_gradient_boosting_continued_from_10_to_30_trees_is_the_30_tree_fit(data):
    X, y = data
    params = dict(random_state=0, subsample=0.7, max_features=0.5)
    grown = GradientBoostingClassifier(n_estimators=10, **params).fit(X, y)
    grown.set_params(warm_start=True, n_estimators=30).fit(X, y)
    fresh = GradientBoostingClassifier(n_estimators=30, **params).fit(X, y)
    np.testing.assert_array_equal(grown.predict_proba(X), fresh.predict_proba(X))


@pytest.mark.parametrize(
    "where",
    [
        dict(n_jobs=1),
        dict(n_jobs=2, backend="threading"),
        dict(n_jobs=2, backend="loky"),
    ],
    ids=["serial", "threads", "processes"],
)
def test_halving_continues_the_trees_and_scores_as_scikit_learn(
    data, scikit_learns, tmp_path, where
):
    log = tmp_path / "stages"
    search = HalvingRandomSearchCV(
        GradientBoostingClassifier(random_state=0),
        SPACE,
        continue_training=True,
        progress=False,
        **HALVING,
        **where,
    ).fit(*data, monitor=StageLog(str(log)))
    assert_same_as_scikit_learn(search, scikit_learns)
    # Per split: 9 x 3 trees, then 3 x (9 - 3), then 1 x (27 - 9): not 81;
    # then the refit's 27.
    built = stages(log)
    assert len(built) == 3 * (9 * 3 + 3 * 6 + 18) + 27
    assert built.count(0) == 9 * 3 + 1  # only the first rung starts from scratch
    results = search.cv_results_
    expected = [np.nan if i == 0 else [3, 9][i - 1] for i in results["iter"]]
    np.testing.assert_array_equal(results["continued_from"], expected)
    assert list(search.results_.columns[:3]) == [
        "iter",
        "n_resources",
        "continued_from",
    ]


def test_by_default_every_fit_starts_from_scratch_as_in_scikit_learn(
    data, scikit_learns, tmp_path
):
    log = tmp_path / "stages"
    search = HalvingRandomSearchCV(
        GradientBoostingClassifier(random_state=0), SPACE, progress=False, **HALVING
    ).fit(*data, monitor=StageLog(str(log)))
    assert_same_as_scikit_learn(search, scikit_learns)
    assert list(search.cv_results_) == list(scikit_learns.cv_results_)
    assert len(stages(log)) == 3 * (9 * 3 + 3 * 9 + 27) + 27  # and the refit


def test_hyperband_continues_promoted_candidates_with_the_same_scores(data, tmp_path):
    def search(continue_training, log):
        return HyperbandSearchCV(
            GradientBoostingClassifier(random_state=0),
            SPACE,
            resource="n_estimators",
            min_resources=1,
            max_resources=9,
            n_iter=12,
            cv=2,
            random_state=0,
            n_jobs=1,
            refit=False,
            progress=False,
            continue_training=continue_training,
        ).fit(*data, monitor=StageLog(str(log)))

    fresh = search(False, tmp_path / "fresh")
    grown = search(True, tmp_path / "grown")
    assert "continued_from" not in fresh.cv_results_
    for key in ("params", "iter", "mean_test_score", "split0_test_score"):
        np.testing.assert_array_equal(grown.cv_results_[key], fresh.cv_results_[key])
    # Each row above the first rung went on from the rung below it.
    rungs = dict(enumerate(grown.n_resources_))
    continued = grown.cv_results_["continued_from"]
    for rung, value in zip(grown.cv_results_["iter"], continued, strict=True):
        assert np.isnan(value) if rung == 0 else value == rungs[rung - 1], rung
    resources = grown.cv_results_["n_resources"]
    trained = np.where(np.isnan(continued), resources, resources - continued)
    assert len(stages(tmp_path / "grown")) == 2 * trained.sum()
    assert len(stages(tmp_path / "fresh")) == 2 * resources.sum()


@pytest.mark.slow
def test_a_skorch_network_goes_on_from_the_epochs_it_has(tmp_path):
    torch = pytest.importorskip("torch")
    from networks import EpochLog, digits, read_lines, small_net

    torch.set_num_threads(1)
    log = tmp_path / "epochs"
    X, y = digits(240)
    search = HalvingGridSearchCV(
        small_net(callbacks=[("log", EpochLog(str(log)))]),
        {"module__hidden": [4, 6, 8, 10, 12, 14, 16, 18, 20]},
        resource="max_epochs",
        min_resources=1,
        max_resources=9,
        factor=3,
        cv=2,
        n_jobs=1,
        continue_training="auto",
        progress=False,
    ).fit(X, y)
    lines = read_lines(str(log))
    epochs = [line["epoch"] for line in lines if "epoch" in line]
    ends = sorted(line["end"] for line in lines if "end" in line)
    # Per split: 9 nets x 1 epoch, 3 x 2 more, 1 x 6 more (not 9 + 9 + 9);
    # then the refit's 9.
    assert len(epochs) == 2 * (9 + 3 * 2 + 6) + 9
    # Each fit ends with the epochs of its rung in its history: it went on.
    assert ends == sorted([1] * 18 + [3] * 6 + [9] * 3)
    np.testing.assert_array_equal(
        search.cv_results_["continued_from"], [np.nan] * 9 + [1] * 3 + [3]
    )
    assert search.best_estimator_.max_epochs == 9  # refit from scratch, in full

    # Hyperband too: each promoted net trains only the epochs it lacks.
    log.unlink()
    search = HyperbandSearchCV(
        small_net(callbacks=[("log", EpochLog(str(log)))]),
        {"module__hidden": [4, 6, 8, 10, 12, 14]},
        resource="max_epochs",
        min_resources=1,
        max_resources=9,
        n_iter=6,
        cv=2,
        n_jobs=1,
        refit=False,
        random_state=0,
        continue_training=True,
        progress=False,
    ).fit(X, y)
    results = search.cv_results_
    continued = results["continued_from"]
    # A candidate dropped from its rung's top and promoted later starts anew.
    assert np.isnan(continued[results["iter"] == 0]).all()
    went_on = ~np.isnan(continued)
    below = np.array(search.n_resources_)[results["iter"][went_on] - 1]
    assert went_on.any() and (continued[went_on] == below).all()
    more = results["n_resources"] - np.nan_to_num(continued)
    epochs = [line for line in read_lines(str(log)) if "epoch" in line]
    assert len(epochs) == 2 * more.sum() < 2 * results["n_resources"].sum()


@pytest.mark.filterwarnings(
    # Keras' PyTorch backend calls np.array(tensor) in predict; NumPy 2 warns
    # that torch's __array__ takes no copy argument. Harmless, not ours.
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)
def test_a_keras_model_goes_on_from_the_epochs_it_has(tmp_path):
    pytest.importorskip("torch")
    os.environ.setdefault("KERAS_BACKEND", "torch")
    scikeras = pytest.importorskip("scikeras.wrappers")
    from networks import build_keras, digits, keras_epoch_log, read_lines

    log = tmp_path / "epochs"
    X, y = digits(120)
    net = scikeras.KerasClassifier(
        build_keras,
        epochs=1,
        batch_size=64,
        verbose=0,
        loss="sparse_categorical_crossentropy",
        optimizer="adam",
        callbacks=[keras_epoch_log(str(log))],
    )
    search = HalvingGridSearchCV(
        net,
        {"model__hidden": [4, 8, 16]},
        resource="epochs",
        min_resources=1,
        max_resources=3,
        factor=3,
        cv=2,
        n_jobs=1,
        continue_training=True,
        progress=False,
    ).fit(X, y)
    # Per split: 3 models x 1 epoch, then the best one 2 more (not 3).
    assert len(read_lines(str(log))) - 3 == 2 * (3 + 2)  # 3: the refit
    np.testing.assert_array_equal(
        search.cv_results_["continued_from"], [np.nan] * 3 + [1]
    )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_an_mlp_trains_the_difference_and_then_says_the_total(data):
    X, y = data
    mlp = MLPClassifier(hidden_layer_sizes=(8,), random_state=0)
    ctx = EvalContext(
        estimator=mlp,
        X=X,
        y=y,
        splits=[(np.arange(0, 200, 2), np.arange(1, 200, 2))],
        scorer=lambda est, X, y: est.score(X, y),
        resource="max_iter",
        continuation=resolve(mlp, "max_iter", True),
    )
    candidate = Candidate({"alpha": 0.001}, "a")
    first = fit_and_score(ctx, Task(candidate, 0, 3))
    assert first.fitted.n_iter_ == 3 and first.extra["continued_from"] is None
    then = fit_and_score(ctx, Task(candidate, 0, 9, warm=Warm(3, first.fitted)))
    # 6 more epochs on the same network (its loss curve has all 9), which
    # then reads max_iter=9.
    assert then.fitted is first.fitted
    assert then.fitted.n_iter_ == 6 and len(then.fitted.loss_curve_) == 9
    assert then.fitted.max_iter == 9
    assert then.extra["continued_from"] == 3


def test_a_fitted_estimator_a_worker_cannot_pickle_stays_there():
    # skorch pickles a module by class name, which fails in a worker for a
    # class defined in the caller's __main__: the result goes back without it
    # (the promotion fits from scratch) instead of failing the search.
    unpicklable = FoldResult("a", 0, {"score": 1.0}, None, 1, 0.1, 0.1)
    unpicklable = dataclasses.replace(unpicklable, fitted=threading.Lock())
    assert sendable(unpicklable).fitted is None
    fine = dataclasses.replace(unpicklable, fitted=GradientBoostingClassifier())
    assert sendable(fine) is fine


def test_what_can_continue_and_how():
    boosting = resolve(GradientBoostingClassifier(), "n_estimators", "auto")
    assert (boosting.parameter, boosting.adds) == ("n_estimators", False)
    mlp = resolve(
        Pipeline([("s", StandardScaler()), ("m", MLPClassifier())]), "m__max_iter", True
    )
    assert (mlp.parameter, mlp.warm_start, mlp.adds) == (
        "m__max_iter",
        "m__warm_start",
        True,
    )
    assert resolve(GradientBoostingClassifier(), "n_estimators", False) is None
    skorch = pytest.importorskip("skorch")

    class Net(skorch.NeuralNetClassifier):  # a library's fit, other defaults
        pass

    net = resolve(Net(module=None), "max_epochs", True)
    assert (net.parameter, net.warm_start, net.adds) == (
        "max_epochs",
        "warm_start",
        True,
    )
    assert resolve(SVC(), "max_iter", "auto") is None  # no warm_start
    assert resolve(RandomForestClassifier(), "n_samples", "auto") is None


@pytest.mark.parametrize(
    "estimator, resource",
    [(SVC(), "max_iter"), (RandomForestClassifier(), "n_samples")],
)
def test_continue_training_true_is_refused_before_any_fit_where_it_cannot(
    data, estimator, resource
):
    search = HalvingGridSearchCV(
        estimator,
        {"random_state": [0, 1]} if resource == "n_samples" else {"C": [1, 2]},
        resource=resource,
        max_resources=30 if resource == "max_iter" else "auto",
        continue_training=True,
        progress=False,
    )
    with pytest.raises(
        ValueError,
        match=(
            "continue_training=True needs an estimator that can continue training "
            f"on its resource; got {type(estimator).__name__} with "
            f"resource='{resource}'. hpsearch continues n_estimators"
        ),
    ):
        search.plan(*data)


def test_continue_training_must_be_a_bool_or_auto(data):
    search = HyperbandSearchCV(
        GradientBoostingClassifier(),
        SPACE,
        resource="n_estimators",
        max_resources=9,
        continue_training="yes",
    )
    with pytest.raises(InvalidParameterError, match="'continue_training' parameter"):
        search.fit(*data)


def test_a_stored_study_keeps_where_fits_continued_from_and_no_estimator(
    data, tmp_path
):
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    log = tmp_path / "stages"
    options = dict(continue_training=True, progress=False, storage=url, study="s")
    first = HalvingRandomSearchCV(
        GradientBoostingClassifier(random_state=0), SPACE, **HALVING, **options
    ).fit(*data, monitor=(monitor := StageLog(str(log))))
    n_built = len(stages(log))
    study = load_study(url, "s")
    np.testing.assert_array_equal(
        study.cv_results_["continued_from"], first.cv_results_["continued_from"]
    )
    assert all(f.fitted is None for t in study.trials for f in t.folds)
    # A rerun finds every result stored: only the refit fits (27 stages).
    again = HalvingRandomSearchCV(
        GradientBoostingClassifier(random_state=0), SPACE, **HALVING, **options
    ).fit(*data, monitor=monitor)
    assert len(stages(log)) == n_built + 27
    np.testing.assert_array_equal(
        again.cv_results_["continued_from"], first.cv_results_["continued_from"]
    )


# ---------------------------------------------------------------------------
# Only estimators of candidates that may still be promoted are kept


def candidates(n: int) -> list[Candidate]:
    return [
        Candidate({"max_depth": 1 + i % 3, "random_state": i}, f"c{i}")
        for i in range(n)
    ]


def test_halving_keeps_the_fits_of_the_round_that_may_still_be_promoted(data):
    X, y = data
    strategy = HalvingStrategy(
        candidates(9),
        factor=3,
        min_resources=1,
        max_resources=9,
        exhaust=False,
        aggressive_elimination=False,
        resource="n_estimators",
        n_samples=len(X),
        base_splits=[],
    )
    ctx = EvalContext(
        estimator=GradientBoostingClassifier(),
        X=X,
        y=y,
        splits=[(np.arange(0, 200, 2), np.arange(1, 200, 2))],
        scorer=lambda est, X, y: est.score(X, y),
        resource="n_estimators",
        continuation=resolve(GradientBoostingClassifier(), "n_estimators", True),
    )
    kept_sizes: list[tuple[int, int]] = []
    run = SearchRun(
        strategy,
        ctx,
        make_executor(None, 1, "2*n_jobs"),
        promotable=strategy.promotable,
    )

    def on_result(result: FoldResult) -> None:
        kept_sizes.append((result.resource, len(run._kept)))

    run.on_result = on_result
    trials = run.run()
    assert [t.round for t in trials] == [0] * 9 + [1] * 3 + [2]
    assert all(f.fitted is None for t in trials for f in t.folds)
    # Never more than the round's fits; none of the last round's; none left.
    assert max(n for _, n in kept_sizes) <= 9
    assert all(n <= 3 for r, n in kept_sizes if r == 3)
    assert run._kept == {}


def fold(key: str, score: float, resource: int) -> FoldResult:
    return FoldResult(key, 0, {"score": score}, None, 1, 0.1, 0.1, resource=resource)


def test_asha_keeps_running_and_top_fits_and_nothing_on_the_top_rung():
    strategy = HyperbandStrategy(
        {"C": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]},
        n_iter=6,
        factor=3,
        min_resources=1,
        max_resources=9,
        brackets=1,
        resource="max_iter",
        n_samples=10,
        base_splits=[],
        seed=0,
    )
    first = strategy.propose(History(idle=6))
    assert len(first) == 6
    scores = {c.key: c.params["C"] for c in (p.candidate for p in first)}
    done = [
        Trial(p.candidate, (fold(p.candidate.key, scores[p.candidate.key], 1),), 0, 1)
        for p in first[:4]
    ]
    running = first[4:]
    kept = strategy.promotable(History(trials=done, running=running))
    # 6 on rung 0 (4 done, 2 running): the running two and the top ceil(6/3) done.
    best = sorted(done, key=lambda t: -scores[t.candidate.key])[:2]
    assert kept == {(p.candidate.key, 1) for p in running} | {
        (t.candidate.key, 1) for t in best
    }
    # On the top rung nothing is kept: nothing goes on from there.
    top = Proposal(first[0].candidate, 9, 2)
    assert (first[0].candidate.key, 9) not in strategy.promotable(
        History(trials=done, running=[top])
    )
