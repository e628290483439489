"""Successive halving, round for round as scikit-learn's halving searches.

Round 0 evaluates every candidate on the smallest resource; each later round
keeps the best ``ceil(n / factor)`` of the round before (scikit-learn's
``_top_k``, ties and NaN included) and gives them ``factor`` times more. The
schedule (``n_resources_``, ``n_iterations_``, ...) is scikit-learn's, computed
once at construction. A round starts only when the one before has finished:
until then the strategy proposes nothing.

With ``resource="n_samples"`` each round trains and tests on a subsample of
every split, drawn here (where the search runs) in scikit-learn's order with
its ``resample``, so that the same ``random_state`` gives the same rows; the
indices travel with the tasks. Any other resource is the value of an
estimator parameter (``n_estimators``, ``max_iter``, ``epochs``, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from math import ceil, floor, log
from typing import Any

import numpy as np
from sklearn.utils import resample

from hpsearch._records import Candidate, Proposal, Resource, Split
from hpsearch.strategies._base import History, Rung, Trial


class HalvingStrategy:
    """Successive halving over ``candidates`` (already drawn or listed).

    Parameters mirror scikit-learn's ``BaseSuccessiveHalving`` after its
    input checks: ``min_resources`` is ``min_resources_`` before the
    ``"exhaust"`` adjustment (``exhaust`` says whether to make it),
    ``max_resources`` is ``max_resources_``. ``base_splits`` are the search's
    splits, ``n_samples`` the rows of ``X``. ``metric`` and ``error_score``
    say how a round's candidates are ranked.
    """

    def __init__(
        self,
        candidates: Sequence[Candidate],
        *,
        factor: float,
        min_resources: float,
        max_resources: int,
        exhaust: bool,
        aggressive_elimination: bool,
        resource: str,
        n_samples: int,
        base_splits: Sequence[Split],
        random_state: Any = None,
        error_score: Any = np.nan,
        metric: str = "score",
        verbose: int = 0,
    ) -> None:
        self.candidates = list(candidates)
        self.factor = factor
        self.resource = resource
        self.n_samples = n_samples
        self.base_splits = list(base_splits)
        self.random_state = random_state
        self.error_score = np.nan if error_score == "raise" else error_score
        self.metric = metric
        self.verbose = verbose
        n_required = 1 + floor(log(len(self.candidates), factor))
        if exhaust:
            min_resources = max(
                min_resources, max_resources // factor ** (n_required - 1)
            )
        n_possible = 1 + floor(log(max_resources // min_resources, factor))
        n_iterations = (
            n_required if aggressive_elimination else min(n_possible, n_required)
        )
        self.min_resources_ = min_resources
        self.max_resources_ = max_resources
        self.n_required_iterations_ = n_required
        self.n_possible_iterations_ = n_possible
        self.n_iterations_ = n_iterations
        self.aggressive_elimination = aggressive_elimination
        self.n_resources_: list[int] = []
        for itr in range(n_iterations):
            power = itr
            if aggressive_elimination:
                power = max(0, itr - n_required + n_possible)
            n_resources = int(factor**power * min_resources)
            self.n_resources_.append(min(n_resources, max_resources))
        n = len(self.candidates)
        self._planned = [n]
        for _ in range(1, n_iterations):
            n = min(n, ceil(n / factor))
            self._planned.append(n)
        # The proposals of each round, in order: memoised, so that a round's
        # subsample is drawn once, in scikit-learn's order.
        self._rounds: list[list[Proposal]] = []
        self.n_candidates_: list[int] = []
        self.n_remaining_candidates_ = 0

    def outline(self) -> Sequence[Rung]:
        """Each round's candidates and resource, as planned."""
        return [
            Rung(i, n, r)
            for i, (n, r) in enumerate(
                zip(self._planned, self.n_resources_, strict=True)
            )
        ]

    def propose(self, history: History) -> Sequence[Proposal]:
        """The next round once the last one finished; else nothing."""
        if history.running:
            return []
        done = len(self._rounds)
        if done == 0:
            return self._start_round(0, self.candidates)
        last = self._rounds[-1]
        kept = self._top_k(last, history.trials, ceil(len(last) / self.factor))
        if done == self.n_iterations_:
            self.n_remaining_candidates_ = len(kept)
            return []
        return self._start_round(done, kept)

    def _start_round(self, itr: int, candidates: Sequence[Candidate]) -> list[Proposal]:
        n_resources = self.n_resources_[itr]
        self.n_candidates_.append(len(candidates))
        if self.verbose:
            if itr == 0:
                self._print_schedule()
            print("-" * 10)
            print(f"iter: {itr}")
            print(f"n_candidates: {len(candidates)}")
            print(f"n_resources: {n_resources}")
        splits = self._subsample(n_resources) if self.resource == "n_samples" else None
        proposals = [Proposal(c, n_resources, itr, splits) for c in candidates]
        self._rounds.append(proposals)
        return proposals

    def promotable(self, history: History) -> set[tuple[str, Resource]]:
        """(candidate key, resource) of the round started last, unless it is
        the last round: the fits the next round may continue."""
        if not self._rounds or len(self._rounds) >= self.n_iterations_:
            return set()
        return {p.key for p in self._rounds[-1]}

    def _print_schedule(self) -> None:
        print(f"n_iterations: {self.n_iterations_}")
        print(f"n_required_iterations: {self.n_required_iterations_}")
        print(f"n_possible_iterations: {self.n_possible_iterations_}")
        print(f"min_resources_: {self.min_resources_}")
        print(f"max_resources_: {self.max_resources_}")
        print(f"aggressive_elimination: {self.aggressive_elimination}")
        print(f"factor: {self.factor}")

    def _subsample(self, n_resources: int) -> tuple[Split, ...]:
        return subsample(
            self.base_splits, n_resources, self.n_samples, self.random_state
        )

    def _top_k(
        self, round_: Sequence[Proposal], trials: Sequence[Trial], k: int
    ) -> list[Candidate]:
        """The best ``k`` of a round, in scikit-learn's ``_top_k`` order."""
        by_key = {(t.candidate.key, t.resource, t.round): t for t in trials}
        scores = np.array(
            [self._mean(by_key[(*p.key, p.round)]) for p in round_], dtype=np.float64
        )
        order = np.roll(np.argsort(scores), np.count_nonzero(np.isnan(scores)))
        return [round_[i].candidate for i in order[-k:]]

    def _mean(self, trial: Trial) -> float:
        values = [
            f.test_scores.get(self.metric, np.nan)
            if f.status == "ok"
            else self.error_score
            for f in trial.folds
        ]
        return float(np.array([values], dtype=np.float64).mean(axis=1)[0])


def subsample(
    base_splits: Sequence[Split], n_resources: int, n_samples: int, random_state: Any
) -> tuple[Split, ...]:
    """Every split subsampled as scikit-learn's ``_SubsampleMetaSplitter``."""
    fraction = n_resources / n_samples
    out = []
    for train, test in base_splits:
        train = resample(
            train,
            replace=False,
            random_state=random_state,
            n_samples=int(fraction * len(train)),
        )
        test = resample(
            test,
            replace=False,
            random_state=random_state,
            n_samples=int(fraction * len(test)),
        )
        out.append((train, test))
    return tuple(out)
