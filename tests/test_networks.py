"""Neural networks in searches: skorch (PyTorch) and scikeras (Keras 3 on PyTorch).

Real, small networks on a few hundred digits. The searches run in worker
processes (these estimators are not scikit-learn's own), so they also show
what a worker's threads do and that models defined in ``__main__`` travel.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from joblib import effective_n_jobs
from scikeras.wrappers import KerasClassifier
from scipy.stats import loguniform, randint
from skorch import NeuralNetClassifier
from threadpoolctl import threadpool_limits
from torch import nn

from hpsearch import GridSearchCV, RandomizedSearchCV, SpaceError
from networks import MLP, build_keras, digits, read_lines, wide_net

pytestmark = pytest.mark.filterwarnings(
    # Keras' PyTorch backend calls np.array(tensor) in predict; NumPy 2 warns
    # that torch's __array__ takes no copy argument. Harmless, not ours.
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)


@pytest.fixture(autouse=True)
def one_thread_here():
    """Fits in this process use one thread: the machine is shared and small."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(1):
        yield
    torch.set_num_threads(before)


def skorch_net(**params):
    defaults = dict(
        criterion=nn.CrossEntropyLoss,
        max_epochs=4,
        lr=0.2,
        batch_size=64,
        train_split=None,
        verbose=0,
    )
    return NeuralNetClassifier(MLP, **{**defaults, **params})


def keras_net(**params):
    defaults = dict(
        epochs=4,
        batch_size=64,
        verbose=0,
        loss="sparse_categorical_crossentropy",
        optimizer="adam",
        optimizer__learning_rate=0.01,
    )
    return KerasClassifier(build_keras, **{**defaults, **params})


# ---------------------------------------------------------------------------
# The space check accepts what the wrappers accept, and nothing else


def test_skorch_routed_names_are_accepted_and_searched():
    X, y = digits()
    search = RandomizedSearchCV(
        skorch_net(),
        {
            "module__hidden": randint(8, 33),
            "lr": loguniform(0.05, 0.5),
            "optimizer__momentum": [0.0, 0.9],
            "iterator_train__shuffle": [True],
            "max_epochs": [2, 4],
            "batch_size": [32, 64],
        },
        n_iter=3,
        cv=2,
        n_jobs=2,
        random_state=0,
        progress=False,
    ).fit(X, y)
    assert search.workers_ == {"processes": 2}
    hidden = search.cv_results_["param_module__hidden"]
    assert all(8 <= h <= 32 for h in hidden)
    assert (
        search.best_estimator_.module_.net[0].out_features
        == (search.best_params_["module__hidden"])
    )
    assert search.best_score_ > 0.5


def test_keras_model_arguments_and_fit_arguments_are_searched():
    X, y = digits()
    search = GridSearchCV(
        keras_net(),
        {
            "model__hidden": [8, 32],
            "epochs": [2, 6],
            "optimizer__learning_rate": [0.003, 0.02],
        },
        cv=2,
        n_jobs=2,
        progress=False,
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 8
    assert (
        search.best_estimator_.model_.layers[0].units
        == (search.best_params_["model__hidden"])
    )
    assert search.best_score_ > 0.5


def test_a_misspelt_module_argument_is_refused_before_any_fit():
    with pytest.raises(SpaceError) as info:
        GridSearchCV(skorch_net(), {"module__hiden": [8]}, progress=False).fit(
            *digits()
        )
    assert str(info.value) == (
        "param_grid['module__hiden'] must name an argument of networks.MLP, which "
        "NeuralNetClassifier calls with the module__* parameters; got 'hiden', "
        "which it does not take. Did you mean 'module__hidden'? It takes: n_in, "
        "hidden, n_out, seed."
    )


def test_a_misspelt_keras_model_argument_is_refused_before_any_fit():
    # scikeras itself would silently drop it.
    with pytest.raises(
        SpaceError,
        match=r"'model__hiden'\] must name an argument of "
        r"networks.build_keras.*Did you mean 'model__hidden'\?",
    ):
        GridSearchCV(keras_net(), {"model__hiden": [8]}, progress=False).fit(*digits())


def test_unknown_names_and_optimizer_arguments_are_still_refused():
    with pytest.raises(SpaceError) as info:
        GridSearchCV(
            skorch_net(), {"max_epoch": [2], "optimizer__lr_decay": [0.1]}
        ).fit(*digits())
    text = str(info.value)
    assert "param_grid names 'max_epoch', which is not a parameter of " in text
    assert "Did you mean 'max_epochs'" in text
    assert (
        "param_grid['optimizer__lr_decay'] must name an argument of "
        "torch.optim.sgd.SGD" in text
    )


def test_illegal_values_of_scikit_learn_steps_are_still_refused():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pipe = make_pipeline(StandardScaler(), skorch_net())
    with pytest.raises(SpaceError, match=r"standardscaler__with_mean'\] holds values"):
        GridSearchCV(
            pipe,
            {
                "standardscaler__with_mean": ["yes"],
                "neuralnetclassifier__module__hidden": [8],
            },
        ).fit(*digits())


# ---------------------------------------------------------------------------
# Threads: workers x threads = cores


def test_each_worker_computes_with_cores_over_workers_threads(tmp_path):
    log = tmp_path / "threads.jsonl"
    X, y = digits(1797)
    cores = os.cpu_count() or 1
    GridSearchCV(
        wide_net(log), {"module__hidden": [320, 384]}, cv=2, n_jobs=-1, progress=False
    ).fit(X, y)
    fits = read_lines(str(log))
    assert len(fits) == 4 + 1  # 2 candidates x 2 folds in workers, 1 refit here
    expected = max(1, cores // effective_n_jobs(-1))  # 1: one worker per core
    in_workers = [f for f in fits if f["pid"] != os.getpid()]
    assert len(in_workers) == 4
    for fit in in_workers:
        assert fit["busy_threads"] <= expected, fit
        assert fit["intra_op"] == expected, fit
        assert fit["inter_op"] == expected, fit
        assert fit["OMP_NUM_THREADS"] == str(expected), fit


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores to see two")
def test_the_thread_probe_sees_every_thread_that_computes(tmp_path):
    # The control: left alone, PyTorch computes on every core, and the probe
    # counts them, so the test above would fail if a worker did the same.
    log = tmp_path / "threads.jsonl"
    script = f"""
        import sys; sys.path.insert(0, {str(Path(__file__).parent)!r})
        import torch
        from networks import digits, wide_net
        torch.set_num_threads(2)
        wide_net({str(log)!r}).fit(*digits(1797))
    """
    subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], check=True, timeout=300
    )
    (fit,) = read_lines(str(log))
    assert fit["intra_op"] == 2
    assert fit["busy_threads"] == 2, fit


# ---------------------------------------------------------------------------
# Reproducible for a seed, whatever n_jobs


def test_skorch_search_gives_the_same_scores_serial_and_parallel():
    X, y = digits()
    grid = {"module__hidden": [8, 16], "lr": [0.1, 0.3]}
    serial = GridSearchCV(skorch_net(), grid, cv=2, progress=False, refit=False)
    parallel = GridSearchCV(
        skorch_net(), grid, cv=2, n_jobs=2, progress=False, refit=False
    )
    a = serial.fit(X, y).cv_results_["mean_test_score"]
    b = parallel.fit(X, y).cv_results_["mean_test_score"]
    np.testing.assert_array_equal(a, b)


def test_keras_search_gives_the_same_scores_serial_and_parallel():
    X, y = digits()
    grid = {"model__hidden": [8, 16]}
    serial = GridSearchCV(keras_net(), grid, cv=2, progress=False, refit=False)
    parallel = GridSearchCV(
        keras_net(), grid, cv=2, n_jobs=2, progress=False, refit=False
    )
    a = serial.fit(X, y).cv_results_["mean_test_score"]
    b = parallel.fit(X, y).cv_results_["mean_test_score"]
    np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------
# A Keras model written in a script's __main__, searched with n_jobs=-1


def test_a_keras_model_built_in_main_runs_with_all_cores(tmp_path):
    script = tmp_path / "script.py"
    script.write_text(
        textwrap.dedent(
            """
            import json, os, warnings
            os.environ["KERAS_BACKEND"] = "torch"
            warnings.simplefilter("error")
            warnings.filterwarnings(
                "ignore", "__array__ implementation", DeprecationWarning
            )
            import keras
            import numpy as np
            from scikeras.wrappers import KerasClassifier
            from sklearn.datasets import load_digits
            from hpsearch import GridSearchCV

            def build(hidden=8, meta=None):
                keras.utils.set_random_seed(0)
                model = keras.Sequential([
                    keras.Input((meta["n_features_in_"],)),
                    keras.layers.Dense(hidden, activation="relu"),
                    keras.layers.Dense(meta["n_classes_"], activation="softmax"),
                ])
                model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
                return model

            if __name__ == "__main__":
                X, y = load_digits(return_X_y=True)
                X, y = (X[:300] / 16).astype("float32"), y[:300]
                model = KerasClassifier(build, epochs=3, batch_size=64, verbose=0)
                search = GridSearchCV(
                    model, {"model__hidden": [8, 16]}, cv=2, n_jobs=-1,
                    progress=False,
                ).fit(X, y)
                scores = search.cv_results_["mean_test_score"].tolist()
                print(json.dumps({"scores": scores, "workers": search.workers_}))
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stderr
    import json

    out = json.loads(done.stdout.strip().splitlines()[-1])
    cores = os.cpu_count() or 1
    assert out["workers"] == {"processes": cores}
    # Both candidates were fitted and scored in the workers (a failed fit
    # would score NaN).
    assert len(out["scores"]) == 2 and np.isfinite(out["scores"]).all()
