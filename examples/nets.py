"""Networks that study files name by import path (``nets.DigitsNet``).

A study file builds its estimator from a class it can construct without
arguments, so a skorch network gets a subclass whose defaults name its
module, loss and training settings. The command line imports modules that
sit next to the study file, as Python does for a script.
"""

import numpy as np
import torch
from skorch import NeuralNetClassifier
from torch import nn


class MLP(nn.Module):
    """One hidden layer on 8x8 digits; ``seed`` makes a fit repeatable."""

    def __init__(self, hidden=32, dropout=0.0, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.layers = nn.Sequential(
            nn.Linear(64, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 10)
        )

    def forward(self, X):
        return self.layers(X)


class DigitsNet(NeuralNetClassifier):
    """skorch's NeuralNetClassifier with the digits network as its default."""

    def __init__(
        self,
        module=MLP,
        criterion=nn.CrossEntropyLoss,
        max_epochs=6,
        lr=0.1,
        batch_size=64,
        train_split=None,
        verbose=0,
        **kwargs,
    ):
        super().__init__(
            module,
            criterion=criterion,
            max_epochs=max_epochs,
            lr=lr,
            batch_size=batch_size,
            train_split=train_split,
            verbose=verbose,
            **kwargs,
        )

    def get_dataset(self, X, y=None):
        """Study files load data as a DataFrame: the network takes arrays."""
        X = np.asarray(X, dtype=np.float32) / 16  # pixels 0..16 -> 0..1
        y = None if y is None else np.asarray(y, dtype=np.int64)
        return super().get_dataset(X, y)
