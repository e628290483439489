"""Per-fold early stopping: EarlyStopper with real LightGBM, XGBoost,
HistGradientBoosting, skorch and Keras models."""

from __future__ import annotations

import lightgbm
import numpy as np
import pytest
import torch
import xgboost
from scikeras.wrappers import KerasClassifier
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch import NeuralNetClassifier
from threadpoolctl import threadpool_limits
from torch import nn

from hpsearch import EarlyStopper, GridSearchCV, RandomizedSearchCV, load_study
from hpsearch.storage import SQLStorage
from networks import MLP, RowRecorder, build_keras, digits, read_lines

pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)


@pytest.fixture(autouse=True)
def one_thread_here():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(1):
        yield
    torch.set_num_threads(before)


def classification(n=300):
    return make_classification(
        n_samples=n, n_features=8, n_informative=5, random_state=0
    )


def boosters():
    return {
        "lightgbm": EarlyStopper(
            lightgbm.LGBMClassifier(n_estimators=300, verbose=-1, n_jobs=1),
            patience=5,
        ),
        "xgboost": EarlyStopper(
            xgboost.XGBClassifier(n_estimators=300, n_jobs=1), patience=5
        ),
        "hist": EarlyStopper(HistGradientBoostingClassifier(max_iter=300), patience=5),
    }


@pytest.mark.parametrize("name", ["lightgbm", "xgboost", "hist"])
def test_each_fold_stops_on_its_own_and_the_refit_uses_their_median(name):
    X, y = classification()
    search = GridSearchCV(
        boosters()[name],
        {"estimator__learning_rate": [0.1, 0.5]},
        cv=3,
        progress=False,
    ).fit(X, y)
    results = search.cv_results_
    folds = np.array([results[f"split{i}_n_iterations"] for i in range(3)]).T
    assert folds.shape == (2, 3)
    # Stopped early: fewer than the cap, at least one.
    assert (folds >= 1).all() and (folds < 300).all()
    np.testing.assert_allclose(results["mean_n_iterations"], folds.mean(1))
    best = search.best_estimator_
    median = round(float(np.median(folds[search.best_index_])))
    assert best.n_iterations == median
    assert best.validation_indices_ is None  # the refit trained on every row
    inner = best.estimator_
    trained = {
        "lightgbm": lambda: inner.booster_.num_trees(),
        "xgboost": lambda: inner.get_booster().num_boosted_rounds(),
        "hist": lambda: inner.n_iter_,
    }[name]()
    assert trained == median


def test_a_fold_scores_what_fitting_its_training_rows_alone_gives():
    # The search's fold equals fitting the wrapper on that fold by hand:
    # nothing of the test rows reaches the fit.
    X, y = classification()
    model = boosters()["lightgbm"]
    search = GridSearchCV(model, {"patience": [5]}, cv=3, progress=False).fit(X, y)
    for i, (train, test) in enumerate(StratifiedKFold(3).split(X, y)):
        by_hand = EarlyStopper(**model.get_params(deep=False)).fit(X[train], y[train])
        assert search.cv_results_[f"split{i}_n_iterations"][0] == by_hand.n_iterations_
        assert search.cv_results_[f"split{i}_test_score"][0] == by_hand.score(
            X[test], y[test]
        )


def test_validation_rows_are_never_test_rows_and_never_trained_on(tmp_path):
    log = tmp_path / "rows.jsonl"
    X, y = digits(300)
    ids = np.arange(len(X), dtype=np.float32)[:, None]
    X = np.hstack([ids, X])  # column 0 names the row
    net = NeuralNetClassifier(
        MLP,
        module__n_in=65,
        criterion=nn.CrossEntropyLoss,
        max_epochs=30,
        lr=0.1,
        verbose=0,
        callbacks=[("rows", RowRecorder(str(log)))],
    )
    cv = KFold(3, shuffle=True, random_state=0)
    search = GridSearchCV(
        EarlyStopper(net, validation_fraction=0.2, patience=3),
        {"estimator__module__hidden": [8]},
        cv=cv,
        progress=False,
        refit=False,
    ).fit(X, y)
    fits = read_lines(str(log))
    assert len(fits) == 3
    splits = list(cv.split(X, y))
    for fit in fits:
        train_rows, valid_rows = set(fit["train"]), set(fit["valid"])
        (split,) = [s for s in splits if train_rows | valid_rows == set(s[0])]
        assert valid_rows and not valid_rows & set(split[1].tolist())
        assert not valid_rows & train_rows
        assert len(valid_rows) == pytest.approx(0.2 * len(split[0]), abs=1)
    used = [search.cv_results_[f"split{i}_n_iterations"][0] for i in range(3)]
    assert all(1 <= n <= 30 for n in used)


def test_skorch_and_keras_stop_per_fold_and_refit_on_all_rows():
    X, y = digits(300)
    net = NeuralNetClassifier(
        MLP,
        criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        max_epochs=40,
        lr=0.02,
        verbose=0,
    )
    keras_model = KerasClassifier(
        build_keras,
        epochs=40,
        batch_size=32,
        verbose=0,
        loss="sparse_categorical_crossentropy",
        optimizer="adam",
        optimizer__learning_rate=0.05,
    )
    for model, trained in [
        (net, lambda est: len(est.history)),
        (keras_model, lambda est: len(est.history_["loss"])),
    ]:
        search = GridSearchCV(
            EarlyStopper(model, patience=2, refit_iterations="max"),
            {"estimator__batch_size": [32]},
            cv=2,
            progress=False,
        ).fit(X, y)
        folds = [search.cv_results_[f"split{i}_n_iterations"][0] for i in range(2)]
        assert all(1 <= n <= 40 for n in folds)
        best = search.best_estimator_
        assert best.n_iterations == max(folds)
        assert trained(best.estimator_) == max(folds)
        assert search.best_score_ > 0.5


def test_refit_rule_validation_stops_early_again_on_all_rows():
    X, y = classification()
    model = EarlyStopper(
        lightgbm.LGBMClassifier(n_estimators=300, verbose=-1, n_jobs=1),
        patience=5,
        refit_iterations="validation",
    )
    search = GridSearchCV(model, {"patience": [5]}, cv=3, progress=False).fit(X, y)
    best = search.best_estimator_
    assert best.n_iterations is None
    assert len(best.validation_indices_) == 30  # 10% of all 300 rows


def test_iterations_are_stored_and_read_back_with_a_study(tmp_path):
    X, y = make_regression(n_samples=200, n_features=5, noise=5, random_state=0)
    storage = SQLStorage(tmp_path / "s.db")
    model = make_pipeline(
        StandardScaler(),
        EarlyStopper(xgboost.XGBRegressor(n_estimators=200, n_jobs=1), patience=5),
    )
    space = {"earlystopper__estimator__max_depth": [2, 4]}
    search = RandomizedSearchCV(
        model, space, n_iter=2, cv=3, storage=storage, study="xgb", progress=False
    ).fit(X, y)
    study = load_study(storage, "xgb")
    for key in ("split0_n_iterations", "mean_n_iterations", "std_n_iterations"):
        np.testing.assert_array_equal(study.cv_results_[key], search.cv_results_[key])
    # The pipeline's stopper got the refit's iterations.
    stopper = search.best_estimator_[-1]
    assert stopper.n_iterations == round(
        float(
            np.median(
                [
                    search.cv_results_[f"split{i}_n_iterations"][search.best_index_]
                    for i in range(3)
                ]
            )
        )
    )
    storage.close()


def test_an_unsupported_estimator_is_refused_with_the_supported_list():
    from sklearn.svm import SVC

    X, y = classification(60)
    with pytest.raises(
        TypeError,
        match=r"EarlyStopper's estimator must be one whose "
        r"library stops early on a validation set: lightgbm.LGBMModel",
    ):
        EarlyStopper(SVC()).fit(X, y)


def test_bad_options_are_refused_before_fitting():
    X, y = classification(60)
    with pytest.raises(
        ValueError,
        match=r"'validation_fraction' parameter of "
        r"EarlyStopper must be a float in the range \(0.0, 1.0\)",
    ):
        EarlyStopper(boosters()["hist"].estimator, validation_fraction=1.5).fit(X, y)
    with pytest.raises(ValueError, match="'refit_iterations' parameter"):
        EarlyStopper(boosters()["hist"].estimator, refit_iterations="last").fit(X, y)
