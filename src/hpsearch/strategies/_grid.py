"""Grid and random search: everything is proposed in one round."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sklearn.model_selection import ParameterGrid, ParameterSampler

from hpsearch._records import Candidate
from hpsearch._space import make_candidates
from hpsearch.strategies._base import Trial


class GridStrategy:
    """Every combination of a grid, in scikit-learn's ``ParameterGrid`` order."""

    def __init__(self, param_grid: Any) -> None:
        self.candidates = make_candidates(ParameterGrid(param_grid))

    def propose(self, history: Sequence[Trial]) -> Sequence[Candidate]:
        """The whole grid the first time, then nothing."""
        return [] if history else self.candidates


class RandomStrategy:
    """``n_iter`` samples, the same ones as scikit-learn's ``ParameterSampler``.

    The samples are drawn once, at construction, so that proposing is pure.
    """

    def __init__(
        self,
        param_distributions: Any,
        n_iter: int,
        random_state: Any = None,
    ) -> None:
        sampler = ParameterSampler(
            param_distributions, n_iter, random_state=random_state
        )
        self.candidates = make_candidates(sampler)

    def propose(self, history: Sequence[Trial]) -> Sequence[Candidate]:
        """All samples the first time, then nothing."""
        return [] if history else self.candidates
