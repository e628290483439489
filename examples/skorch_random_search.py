"""Random search over a PyTorch network (skorch) on the digits.

The space names the module's own arguments (module__hidden, module__dropout),
the optimizer's (optimizer__momentum) and skorch's (lr, max_epochs,
batch_size); hpsearch checks each against what skorch and the module accept
before any fit, so a misspelt name fails at once, not after an hour.

Needs: pip install 'hpsearch[torch]'
Run:   .venv/bin/python examples/skorch_random_search.py
"""

import numpy as np
import torch
from scipy.stats import loguniform, randint, uniform
from sklearn.datasets import load_digits
from skorch import NeuralNetClassifier
from torch import nn

from hpsearch import RandomizedSearchCV


class MLP(nn.Module):
    def __init__(self, hidden=32, dropout=0.1, seed=0):
        super().__init__()
        # skorch builds the module at the start of each fit: seeding here makes
        # the initial weights, and the epochs' shuffling after them, repeatable.
        torch.manual_seed(seed)
        self.layers = nn.Sequential(
            nn.Linear(64, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 10)
        )

    def forward(self, X):
        return self.layers(X)


if __name__ == "__main__":
    X, y = load_digits(return_X_y=True)
    X, y = (X / 16).astype(np.float32), y.astype(np.int64)
    net = NeuralNetClassifier(
        MLP,
        criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.SGD,
        train_split=None,
        verbose=0,
    )
    space = {
        "module__hidden": randint(16, 129),
        "module__dropout": uniform(0.0, 0.5),
        "lr": loguniform(1e-2, 3e-1),
        "optimizer__momentum": [0.0, 0.9],
        "max_epochs": [10, 20],
        "batch_size": [32, 128],
    }
    search = RandomizedSearchCV(
        net, space, n_iter=8, cv=3, n_jobs=-1, random_state=0
    ).fit(X, y)
    print(f"Best: {search.best_score_:.4f} using {search.best_params_}")
    print(search.results_.round(4).to_string())
