"""Grid and random search: everything is proposed at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sklearn.model_selection import ParameterGrid, ParameterSampler

from hpsearch._records import Candidate, Proposal
from hpsearch._space import make_candidates
from hpsearch.strategies._base import History, Rung


class _AllAtOnce:
    """Proposes a fixed list of candidates the first time, then nothing."""

    candidates: list[Candidate]

    def propose(self, history: History) -> Sequence[Proposal]:
        """Every candidate the first time; nothing once any was started."""
        if history.trials or history.running:
            return []
        return [Proposal(c) for c in self.candidates]

    def outline(self) -> Sequence[Rung]:
        """One round of every candidate."""
        n = len(self.candidates)
        return [Rung(0, n, None, n - len({c.key for c in self.candidates}))]


class GridStrategy(_AllAtOnce):
    """Every combination of a grid, in scikit-learn's ``ParameterGrid`` order."""

    def __init__(self, param_grid: Any) -> None:
        self.candidates = make_candidates(ParameterGrid(param_grid))


class RandomStrategy(_AllAtOnce):
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
