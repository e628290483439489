"""Grid and random search: everything is proposed at once."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from sklearn.model_selection import ParameterGrid, ParameterSampler
from sklearn.utils import check_random_state

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
    ``n_iter=None`` (a search with a timeout) draws without end instead, one
    candidate per idle worker, in a fixed order for the seed (a list-only
    space: its grid, then nothing).
    """

    def __init__(
        self,
        param_distributions: Any,
        n_iter: int | None,
        random_state: Any = None,
    ) -> None:
        self.n_iter = n_iter
        if n_iter is None:
            self.candidates = []
            self._stream = _endless(param_distributions, random_state)
            return
        sampler = ParameterSampler(
            param_distributions, n_iter, random_state=random_state
        )
        self.candidates = make_candidates(sampler)

    def propose(self, history: History) -> Sequence[Proposal]:
        """All at once; without ``n_iter``, one candidate per idle worker."""
        if self.n_iter is not None:
            return super().propose(history)
        start = len(history.trials) + len(history.running)
        while len(self.candidates) < start + history.idle:
            candidate = next(self._stream, None)
            if candidate is None:
                break
            self.candidates.append(candidate)
        return [Proposal(c) for c in self.candidates[start : start + history.idle]]

    def outline(self) -> Sequence[Rung]:
        """One round; its size is unknown without ``n_iter`` (0)."""
        if self.n_iter is None:
            return [Rung(0, 0, None)]
        return super().outline()


def _endless(param_distributions: Any, random_state: Any) -> Iterator[Candidate]:
    """Candidates drawn in chunks from one random state; a list-only space
    gives its grid once (scikit-learn samples a grid without replacement)."""
    rng = check_random_state(random_state)
    spaces = (
        param_distributions
        if isinstance(param_distributions, list)
        else [param_distributions]
    )
    if all(all(isinstance(v, list) for v in s.values()) for s in spaces):
        n = sum(int(np.prod([len(v) for v in s.values()])) for s in spaces)
        yield from make_candidates(
            ParameterSampler(param_distributions, n, random_state=rng)
        )
        return
    while True:
        yield from make_candidates(
            ParameterSampler(param_distributions, 64, random_state=rng)
        )
