"""Asynchronous successive halving (ASHA) over Hyperband brackets.

Rungs ``0..s_max`` give a candidate ``max_resources / factor**(s_max - k)``
(rung ``s_max`` is ``max_resources``). Bracket ``b`` starts its candidates
on rung ``b``: bracket 0 stops bad candidates earliest, the last bracket
trains every candidate fully; one bracket is plain ASHA. Whenever a worker is
free the strategy promotes, highest rung first, a candidate that ranks in the
top ``1/factor`` of the results its rung (in its bracket) has so far and is
not yet on the next rung; else it starts the next candidate on the smallest
rung of that candidate's bracket. No worker waits for a rung to fill (Li et
al., "A System for Massively Parallel Hyperparameter Tuning", MLSys 2020).
Once all ``n_iter`` candidates have started, a rung that can get no more
results keeps its top ``ceil(n / factor)`` as synchronous successive halving
does, so that the best candidates reach ``max_resources`` (plain ASHA leaves
a rung of fewer than ``factor`` results unpromoted).

Everything it proposes is a function of the history and the seed: the
candidates are drawn in order from the seed, a candidate's bracket is a
function of its position, ranks break ties by that position. A search
replayed against a storage thus proposes what the first one did for the same
history (with one worker, the same history).

With a :class:`~hpsearch.strategies.ModelSampler` (``sampler``, the BOHB
idea) new candidates come from a model of the scores on their bracket's
first rung instead of the seed's draws: candidate ``i`` from those of the
candidates up to ``i - lag - 1`` of its bracket (the strategy waits for
them), with the ``lag`` candidates before it at a lie, as in
:mod:`hpsearch.strategies._bayes`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from math import ceil, floor, log
from typing import Any

import numpy as np
from sklearn.model_selection import ParameterSampler

from hpsearch._records import FOLDS, Candidate, Proposal, Resource, Split
from hpsearch._space import make_candidates
from hpsearch.strategies._base import History, Rung, Trial
from hpsearch.strategies._bayes import ModelSampler, lag_for
from hpsearch.strategies._halving import subsample

# rung -> bracket -> [(rank key, candidate)]: the complete results.
_Done = dict[int, dict[int, list[tuple[tuple[Any, ...], Candidate]]]]
# Candidates drawn at a time when n_iter is None (until a timeout).
_CHUNK = 64
# A new candidate's model still waits for first-rung scores.
_WAIT = object()


def rung_resources(min_resources: int, max_resources: int, factor: float) -> list[int]:
    """The resource of each rung: the last is ``max_resources``, each one
    ``factor`` times the one before, none below ``min_resources``."""
    s_max = floor(log(max_resources / min_resources, factor) + 1e-9)
    values = [
        max(min_resources, int(max_resources / factor ** (s_max - k)))
        for k in range(s_max + 1)
    ]
    return sorted(set(values))


def fold_rungs(min_folds: int, n_splits: int, factor: float) -> list[int]:
    """The folds of each rung of a race on folds: ``min_folds`` times
    ``factor`` to the k, while below ``n_splits``, then ``n_splits`` (1, 3, 5
    of 5 folds for factor 3; 1, 2, 4, 5 for factor 2; 1, 3, 9, 10 of 10).

    Built up from the smallest rung, unlike :func:`rung_resources`: with a
    handful of folds, rounding down from the top would leave one rung (1
    fold, then all 5)."""
    values = []
    folds = float(min_folds)
    while ceil(folds) < n_splits:
        values.append(ceil(folds))
        folds *= factor
    return sorted({*values, n_splits})


class HyperbandStrategy:
    """ASHA over ``brackets`` Hyperband brackets.

    ``n_iter`` candidates are drawn as scikit-learn's ``ParameterSampler``
    draws them for ``seed`` (a list-only space's in a random order; None:
    without end, for a search with a timeout); a candidate drawn twice is
    evaluated once. ``resource`` is
    "n_samples" (each rung subsamples ``base_splits`` as successive halving
    does), an estimator parameter, or "folds" (a race on cross-validation
    folds: rung ``k`` evaluates the first ``resources_[k]`` splits, so every
    result of a rung is scored on the same folds). ``metric`` and
    ``error_score`` rank a rung's results.
    """

    def __init__(
        self,
        param_distributions: Any,
        *,
        n_iter: int | None,
        factor: float,
        min_resources: int,
        max_resources: int,
        brackets: int | None,
        resource: str,
        n_samples: int,
        base_splits: Sequence[Split],
        seed: int,
        error_score: Any = np.nan,
        metric: str = "score",
        sampler: ModelSampler | None = None,
    ) -> None:
        self.sampler = sampler
        self._lag: int | None = None
        self.factor = factor
        self.resource = resource
        self.n_samples = n_samples
        self.base_splits = list(base_splits)
        self.seed = seed
        self.n_iter = n_iter
        self.error_score = np.nan if error_score == "raise" else error_score
        self.metric = metric
        rungs = fold_rungs if resource == FOLDS else rung_resources
        self.resources_ = rungs(min_resources, max_resources, factor)
        n_rungs = len(self.resources_)
        self.n_brackets_ = n_rungs if brackets is None else min(brackets, n_rungs)
        # Hyperband's share of candidates for each bracket: bracket b has
        # n_rungs - b rungs and starts ceil(n_rungs / (n_rungs - b) * f**(s)).
        self._weights = [
            ceil(n_rungs / (n_rungs - b) * factor ** (n_rungs - 1 - b))
            for b in range(self.n_brackets_)
        ]
        self._draws = self._draw(param_distributions)
        self._candidates: list[Candidate] = []
        self._index: dict[str, int] = {}
        self._brackets: list[int] = []
        self._splits: dict[int, tuple[Split, ...] | None] = {}

    # -- candidates, in a fixed order -------------------------------------

    def _draw(self, distributions: Any) -> Iterator[Candidate]:
        spaces = distributions if isinstance(distributions, list) else [distributions]
        lists_only = all(all(isinstance(v, list) for v in s.values()) for s in spaces)
        n = self.n_iter
        if n is None and lists_only:  # until a timeout: the whole grid
            n = sum(int(np.prod([len(v) for v in s.values()])) for s in spaces)
        if n is not None:
            drawn = make_candidates(
                ParameterSampler(distributions, n, random_state=self.seed)
            )
            if lists_only:
                # scikit-learn draws a grid's points in grid order; ASHA ranks
                # each result against those before it, so a grid sorted by a
                # parameter that matters would promote nearly every one.
                order = np.random.RandomState(self.seed).permutation(len(drawn))
                drawn = [drawn[i] for i in order]
            yield from drawn
            return
        rng = np.random.RandomState(self.seed)
        while True:
            yield from make_candidates(
                ParameterSampler(distributions, _CHUNK, random_state=rng)
            )

    def _candidate(self, i: int) -> Candidate | None:
        """The ``i``-th distinct candidate; None when there are no more."""
        while len(self._candidates) <= i:
            candidate = next(self._draws, None)
            if candidate is None:
                return None
            if candidate.key not in self._index:
                self._index[candidate.key] = len(self._candidates)
                self._candidates.append(candidate)
        return self._candidates[i]

    def _modelled(self, i: int, done: _Done) -> Any:
        """Candidate ``i`` from the sampler's model of its bracket's first
        rung; None: no more; ``_WAIT``: the model needs scores still to come."""
        assert self.sampler is not None and self._lag is not None
        if i < len(self._candidates):
            return self._candidates[i]
        if self.n_iter is not None and i >= self.n_iter:
            return None
        bracket = self._bracket(i)
        ready = max(i - self._lag, 0) if i >= self.sampler.n_initial else 0
        first = {key[2]: -key[1] for key, _ in done.get(bracket, {}).get(bracket, [])}
        earlier = [j for j in range(ready) if self._bracket(j) == bracket]
        if any(j not in first for j in earlier):
            return _WAIT
        pending = [j for j in range(ready, i) if self._bracket(j) == bracket]
        candidate = self.sampler.propose(i, {j: first[j] for j in earlier}, pending)
        if candidate is not None:
            self._index[candidate.key] = i
            self._candidates.append(candidate)
        return candidate

    def _bracket(self, i: int) -> int:
        """Candidate ``i``'s bracket: weighted round robin over the shares."""
        total = sum(self._weights)
        while len(self._brackets) <= i:
            n = len(self._brackets) + 1
            counts = np.bincount(self._brackets, minlength=self.n_brackets_)
            deficit = [
                w * n / total - c for w, c in zip(self._weights, counts, strict=True)
            ]
            self._brackets.append(int(np.argmax(deficit)))
        return self._brackets[i]

    # -- the strategy protocol -------------------------------------------

    def outline(self) -> Sequence[Rung]:
        """Each rung's candidates as synchronous halving would keep them (an
        estimate: ASHA may promote a few more); 0 without ``n_iter``."""
        n = self.n_iter or 0
        per_rung = [0] * len(self.resources_)
        shares = np.bincount(
            [self._bracket(i) for i in range(n)], minlength=self.n_brackets_
        )
        for b, share in enumerate(shares):
            m = int(share)
            for k in range(b, len(self.resources_)):
                per_rung[k] += m
                m = ceil(m / self.factor)
        return [Rung(k, per_rung[k], r) for k, r in enumerate(self.resources_)]

    def propose(self, history: History) -> Sequence[Proposal]:
        """Up to ``history.idle`` promotions or new candidates."""
        if self._lag is None:  # the first call: every worker is idle
            self._lag = lag_for(history.idle)
        started = {(p.candidate.key, p.round) for p in history.running}
        started |= {(t.candidate.key, t.round) for t in history.trials}
        done: _Done = {}
        for trial in history.trials:
            i = self._index[trial.candidate.key]
            score = self._mean(trial)
            entry = ((bool(np.isnan(score)), -score, i), trial.candidate)
            done.setdefault(trial.round, {}).setdefault(self._bracket(i), []).append(
                entry
            )
        n_seen = len({key for key, _ in started})
        running = [
            (self._bracket(self._index[p.candidate.key]), p.round)
            for p in history.running
        ]
        proposals: list[Proposal] = []
        for _ in range(history.idle):
            proposal = self._promotion(done, started)
            if proposal is None:
                candidate = (
                    self._candidate(n_seen)
                    if self.sampler is None
                    else self._modelled(n_seen, done)
                )
                if candidate is _WAIT:
                    break
                if candidate is not None:
                    n_seen += 1
                    rung = self._bracket(self._index[candidate.key])
                    proposal = self._proposal(candidate, rung)
                else:
                    proposal = self._closing_promotion(done, started, running)
            if proposal is None:
                break
            started.add((proposal.candidate.key, proposal.round))
            running.append(
                (self._bracket(self._index[proposal.candidate.key]), proposal.round)
            )
            proposals.append(proposal)
        return proposals

    def _promotion(self, done: _Done, started: set[tuple[str, int]]) -> Proposal | None:
        """ASHA's promotion, highest rung first; None: none."""
        for rung in range(len(self.resources_) - 2, -1, -1):
            for bracket in sorted(done.get(rung, {})):
                results = sorted(done[rung][bracket], key=lambda e: e[0])
                for _, candidate in results[: floor(len(results) / self.factor)]:
                    if (candidate.key, rung + 1) not in started:
                        return self._proposal(candidate, rung + 1)
        return None

    def _closing_promotion(
        self,
        done: _Done,
        started: set[tuple[str, int]],
        running: list[tuple[int, int]],
    ) -> Proposal | None:
        """Once every candidate has started: the top ``ceil(n / factor)`` of
        a rung that can get no more results (nothing of its bracket runs on
        it or below), as synchronous successive halving keeps them, so that
        the best candidates reach ``max_resources``."""
        for bracket in range(self.n_brackets_):
            for rung in range(bracket, len(self.resources_) - 1):
                if any(b == bracket and r <= rung for b, r in running):
                    break  # this rung may get more results
                results = sorted(
                    done.get(rung, {}).get(bracket, []), key=lambda e: e[0]
                )
                for _, candidate in results[: ceil(len(results) / self.factor)]:
                    if (candidate.key, rung + 1) not in started:
                        return self._proposal(candidate, rung + 1)
        return None

    def _proposal(self, candidate: Candidate, rung: int) -> Proposal:
        resource = self.resources_[rung]
        if rung not in self._splits:
            self._splits[rung] = (
                subsample(self.base_splits, resource, self.n_samples, self.seed)
                if self.resource == "n_samples" and resource < self.n_samples
                else None
            )
        return Proposal(candidate, resource, rung, self._splits[rung])

    def _mean(self, trial: Trial) -> float:
        values = [
            f.test_scores.get(self.metric, np.nan)
            if f.status == "ok"
            else self.error_score
            for f in trial.folds
        ]
        return float(np.mean(np.asarray(values, dtype=np.float64)))

    def promotable(self, history: History) -> set[tuple[str, Resource]]:
        """(candidate key, resource) whose fits a promotion may continue.

        A candidate's highest rung below the top, while it runs there or
        ranks in the top ``ceil(n / factor)`` of that rung's results in its
        bracket (``n`` counting those still running). One ranked lower may
        yet be promoted once worse results arrive; it then fits from scratch
        (keeping every estimator until its rung closes would hold them all).
        """
        top: dict[str, int] = {}
        running: dict[tuple[int, int], int] = {}  # (rung, bracket) -> running
        for p in history.running:
            top[p.candidate.key] = max(top.get(p.candidate.key, -1), p.round)
            b = self._bracket(self._index[p.candidate.key])
            running[p.round, b] = running.get((p.round, b), 0) + 1
        done: dict[tuple[int, int], list[tuple[tuple[Any, ...], str]]] = {}
        for trial in history.trials:
            key = trial.candidate.key
            top[key] = max(top.get(key, -1), trial.round)
            i = self._index[key]
            score = self._mean(trial)
            done.setdefault((trial.round, self._bracket(i)), []).append(
                ((bool(np.isnan(score)), -score, i), key)
            )
        kept: set[tuple[str, int]] = set()
        for (rung, bracket), entries in done.items():
            n = len(entries) + running.get((rung, bracket), 0)
            entries.sort(key=lambda e: e[0])
            kept.update((key, rung) for _, key in entries[: ceil(n / self.factor)])
        last = len(self.resources_) - 1
        out: set[tuple[str, Resource]] = set()
        running_keys = {(p.candidate.key, p.round) for p in history.running}
        for key, rung in top.items():
            if rung < last and ((key, rung) in kept or (key, rung) in running_keys):
                out.add((key, self.resources_[rung]))
        return out
