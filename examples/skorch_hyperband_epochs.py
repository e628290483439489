"""Epochs as a budget: Hyperband over a PyTorch network (skorch) on the digits.

Every network starts with 1 epoch; the best third of each rung go on to 3
times as many, up to 27. With continue_training=True a promoted network goes
on from the epochs it has (1 -> 3 trains 2 more, not 3 from scratch), and
cv_results_'s continued_from column says from which.

Needs: pip install 'hpsearch[torch]'
Run:   .venv/bin/python examples/skorch_hyperband_epochs.py
"""

import time

import numpy as np

# The module comes from a file, not this script: skorch pickles a net's module
# by class name, so a fitted net with a class defined in __main__ cannot come
# back from a worker process to be continued (it would fit from scratch).
from nets import MLP  # examples/nets.py
from scipy.stats import loguniform, randint
from sklearn.datasets import load_digits
from skorch import NeuralNetClassifier
from torch import nn

from hpsearch import HyperbandSearchCV

if __name__ == "__main__":
    X, y = load_digits(return_X_y=True)
    X, y = (X / 16).astype(np.float32), y.astype(np.int64)
    net = NeuralNetClassifier(
        MLP, criterion=nn.CrossEntropyLoss, train_split=None, verbose=0
    )
    space = {"module__hidden": randint(8, 65), "lr": loguniform(1e-2, 0.5)}
    start = time.perf_counter()
    search = HyperbandSearchCV(
        net,
        space,
        resource="max_epochs",
        min_resources=1,
        max_resources=27,
        n_iter=27,
        cv=3,
        random_state=0,
        n_jobs=-1,
        continue_training=True,
    ).fit(X, y)
    print(f"{time.perf_counter() - start:.1f} s")
    print(f"Best: {search.best_score_:.4f} using {search.best_params_}")
    columns = ["iter", "n_resources", "continued_from", "mean_test_score"]
    print(search.results_[[*columns, "mean_fit_time"]].round(4).to_string())
