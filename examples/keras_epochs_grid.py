"""The article's Keras grid over epochs (and hidden units) on the digits.

A Keras 3 model, wrapped by scikeras, on the PyTorch backend, searched by
hpsearch's GridSearchCV with n_jobs=-1: one worker process per core, each
with its thread pools (PyTorch's intra-op and inter-op, OpenMP, BLAS) sized
cores / workers, so the workers do not fight over the cores.

Needs: pip install 'hpsearch[keras]'
Run:   .venv/bin/python examples/keras_epochs_grid.py [N_JOBS]
"""

import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "torch")  # before Keras is imported

import keras
from scikeras.wrappers import KerasClassifier
from sklearn.datasets import load_digits

from hpsearch import GridSearchCV


def create_model(hidden=32, meta=None, compile_kwargs=None):
    """A one-hidden-layer network; scikeras passes ``meta`` and the compile
    arguments (loss, optimizer, optimizer__*)."""
    # scikeras' random_state seeds NumPy and TensorFlow but not PyTorch, which
    # Keras draws from on this backend: seed them all, for repeatable results
    # whatever n_jobs is.
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(hidden, activation="relu"),
            keras.layers.Dense(meta["n_classes_"], activation="softmax"),
        ]
    )
    model.compile(**compile_kwargs)
    return model


if __name__ == "__main__":
    n_jobs = int(sys.argv[1]) if len(sys.argv) > 1 else -1
    X, Y = load_digits(return_X_y=True)
    X = (X / 16).astype("float32")
    model = KerasClassifier(
        model=create_model,
        loss="sparse_categorical_crossentropy",
        optimizer="adam",
        batch_size=32,
        verbose=0,
    )
    param_grid = dict(epochs=[10, 20, 30], model__hidden=[16, 64])
    start = time.perf_counter()
    grid = GridSearchCV(estimator=model, param_grid=param_grid, cv=3, n_jobs=n_jobs)
    grid_result = grid.fit(X, Y)
    seconds = time.perf_counter() - start
    print(f"Best: {grid_result.best_score_:.4f} using {grid_result.best_params_}")
    for mean, std, params in zip(
        grid_result.cv_results_["mean_test_score"],
        grid_result.cv_results_["std_test_score"],
        grid_result.cv_results_["params"],
        strict=True,
    ):
        print(f"{mean:.4f} ({std:.4f}) with: {params}")
    print(f"{seconds:.1f} s with n_jobs={n_jobs}, workers: {grid.workers_}")
