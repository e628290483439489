"""Model-based search: a Gaussian process proposes the next candidate.

Candidate ``i`` is a function of the seed, of the scores of candidates
``0 .. i - lag - 1`` and of the settings of candidates ``i - lag .. i - 1``
(the *pending* ones, which the model sees at a lie: the worst score so far,
so that it proposes elsewhere while they run). ``lag`` follows from the
number of workers (0 for one: every proposal sees every result before it),
so neither the order in which results arrive nor an interruption changes what
is proposed: a search resumed from a storage rebuilds the model from the
stored scores and proposes the candidates an uninterrupted search would have.
When candidate ``i``'s scores are not all in, the strategy waits (the worker
stays idle a while); with ``lag = 2 (n_workers - 1)`` that happens only when
one fit is slower than about ``2 n_workers`` others.

The first ``n_initial`` candidates are a Latin hypercube of the unit cube
(:mod:`hpsearch.strategies._space_model`); after that a Gaussian process on
the scores so far picks, among random points and perturbations of the best
ones, the point of largest expected improvement that has not been evaluated.
A list of spaces has a model each; the largest improvement of any wins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.stats import qmc
from threadpoolctl import ThreadpoolController

from hpsearch._records import Candidate, Proposal
from hpsearch._space import make_candidates
from hpsearch.strategies._base import History, Rung, Trial
from hpsearch.strategies._space_model import (
    GaussianProcess,
    UnitSpace,
    expected_improvement,
)

# Points whose expected improvement is computed for each proposal.
N_RANDOM = 512
N_LOCAL = 256
# A list-only space up to this size is searched over all its settings.
MAX_ENUMERATED = 4096
# The model's hyperparameters are fitted again (from the last ones) once the
# observations have grown by this factor; in between they are reused, so that
# most proposals cost one Cholesky factorisation.
REFIT_GROWTH = 1.2


_CONTROLLER: list[ThreadpoolController] = []


def _one_blas_thread() -> Any:
    """BLAS on one thread (the libraries are looked up once: 10 ms a time)."""
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0].limit(limits=1, user_api="blas")


def lag_for(n_workers: int) -> int:
    """Candidates proposed before the results of the one ``lag`` back are
    needed: 0 for one worker, ``2 (n - 1)`` for ``n``."""
    return 2 * max(n_workers - 1, 0)


def trial_score(trial: Trial, metric: str, error_score: Any) -> float:
    """The mean test score of a trial (a failed split counts ``error_score``)."""
    values = [
        f.test_scores.get(metric, np.nan) if f.status == "ok" else error_score
        for f in trial.folds
    ]
    return float(np.mean(np.asarray(values, dtype=np.float64)))


class ModelSampler:
    """Candidate ``i`` from a Gaussian process of the scores observed so far.

    Candidates are memoised by index; :meth:`propose` must be asked for them
    in order. Every candidate differs from the ones before it; None: the
    space has no setting left.
    """

    def __init__(self, param_distributions: Any, seed: int, n_initial: int) -> None:
        spaces = (
            param_distributions
            if isinstance(param_distributions, list)
            else [param_distributions]
        )
        where = "param_distributions"
        self.spaces = [
            UnitSpace(s, f"{where}[{k}]" if len(spaces) > 1 else where)
            for k, s in enumerate(spaces)
        ]
        self.seed = seed
        self.n_initial = n_initial
        self.candidates: list[Candidate] = []
        self.index: dict[str, int] = {}
        self._points: list[tuple[int, np.ndarray]] = []  # (space, u) of each
        self._designs: dict[int, np.ndarray] = {}
        # space -> (log hyperparameters, observations they were fitted on)
        self._theta: dict[int, tuple[np.ndarray, int]] = {}
        sizes = [s.grid_size() for s in self.spaces]
        self._size = None if None in sizes else sum(s or 0 for s in sizes)
        self.proposing_seconds = 0.0

    def propose(
        self, i: int, observed: Mapping[int, float], pending: Sequence[int]
    ) -> Candidate | None:
        """Candidate ``i`` (memoised), from the scores of ``observed``
        (index -> score, nan for a failure) with ``pending`` at a lie."""
        if i < len(self.candidates):
            return self.candidates[i]
        assert i == len(self.candidates), "candidates are proposed in order"
        if self._size is not None and i >= self._size:
            return None
        import time

        start = time.perf_counter()
        rng = np.random.default_rng([self.seed, i])
        usable = {j: s for j, s in observed.items() if np.isfinite(s)}
        if i < self.n_initial or len(usable) < 2:
            k = i % len(self.spaces)
            point = self._fresh(k, self._design(k, i // len(self.spaces)), rng)
        else:
            # BLAS on one thread: the same numbers whatever runs beside.
            with _one_blas_thread():
                point = self._model_point(observed, pending, rng)
        self.proposing_seconds += time.perf_counter() - start
        if point is None:
            self._size = i  # nothing left
            return None
        k, u = point
        self._points.append((k, u))
        candidate = self._candidate(k, u)
        self.index[candidate.key] = i
        self.candidates.append(candidate)
        return candidate

    # -- points ------------------------------------------------------------

    def _design(self, k: int, row: int) -> np.ndarray:
        if k not in self._designs:
            n = max(self.n_initial // len(self.spaces) + 1, 1)
            d = max(len(self.spaces[k].dims), 1)
            sampler = qmc.LatinHypercube(d, seed=np.random.default_rng([self.seed, k]))
            self._designs[k] = sampler.random(n)
        design = self._designs[k]
        return design[row] if row < len(design) else np.empty(0)

    def _fresh(
        self, k: int, u: np.ndarray, rng: np.random.Generator
    ) -> tuple[int, np.ndarray] | None:
        """``u`` if new, else random points of space ``k`` (then of any)."""
        d = len(self.spaces[k].dims)
        tries = [u[:d]] if len(u) >= d else []
        tries += list(rng.random((64, d)))
        for t in tries:
            if self._candidate(k, t).key not in self.index:
                return k, t
        return self._model_point({}, [], rng, random_only=True)

    def _candidate(self, k: int, u: np.ndarray) -> Candidate:
        space = self.spaces[k]
        params = space.params(space.decode(u[None, :])[0])
        return make_candidates([params])[0]

    def _model(self, k: int, X: np.ndarray, y: np.ndarray) -> GaussianProcess:
        theta, n_fitted = self._theta.get(k, (None, 0))
        refit = theta is None or len(y) >= REFIT_GROWTH * n_fitted
        model = GaussianProcess(self.spaces[k].width, theta, optimize=refit).fit(X, y)
        if refit:
            self._theta[k] = (model.theta, len(y))
        return model

    def _pool(
        self, k: int, best: list[np.ndarray], rng: np.random.Generator
    ) -> np.ndarray:
        """Points of space ``k`` to score: every setting of a small list-only
        space; else random points and perturbations of the best."""
        space = self.spaces[k]
        d = len(space.dims)
        size = space.grid_size()
        if size is not None and size <= MAX_ENUMERATED:
            axes = [
                (np.arange(len(dim.values)) + 0.5) / len(dim.values)  # type: ignore[union-attr]
                for dim in space.dims
            ]
            return np.array(np.meshgrid(*axes, indexing="ij")).reshape(d, -1).T
        pool = [rng.random((N_RANDOM, d))]
        # Near the best points: small steps of the numbers, and other values
        # of the lists (a small step rarely leaves a list's position).
        lists = np.array([hasattr(dim, "values") for dim in space.dims], dtype=bool)
        for u in best:
            n = N_LOCAL // max(len(best), 1)
            moved = rng.random((n, d)) < max(0.5, 1 / d)
            local = np.clip(u + rng.normal(0, 0.08, (n, d)) * moved, 0, 1)
            local[:, lists] = np.where(
                moved[:, lists], rng.random((n, int(lists.sum()))), u[lists]
            )
            pool.append(local)
        return np.vstack(pool)

    def _model_point(
        self,
        observed: Mapping[int, float],
        pending: Sequence[int],
        rng: np.random.Generator,
        random_only: bool = False,
    ) -> tuple[int, np.ndarray] | None:
        """The unseen point of largest expected improvement over the spaces."""
        scores = np.array(list(observed.values()), dtype=float)
        finite = scores[np.isfinite(scores)]
        best = float(finite.max()) if len(finite) else 0.0
        lie = float(finite.min()) if len(finite) else 0.0
        spread = float(finite.std()) if len(finite) > 1 else 1.0
        ranked: list[tuple[float, int, np.ndarray]] = []
        for k, space in enumerate(self.spaces):
            rows = [j for j in observed if self._points[j][0] == k]
            waits = [j for j in pending if self._points[j][0] == k]
            top = sorted(
                (j for j in rows if observed[j] == observed[j]),  # not nan
                key=lambda j: -observed[j],
            )
            pool = self._pool(k, [self._points[j][1] for j in top[:4]], rng)
            if random_only or len(rows) < 2:
                gain = rng.random(len(pool)) + (0 if random_only else np.inf)
            else:
                U = np.array([self._points[j][1] for j in rows + waits])
                y = np.array(
                    [np.nan_to_num(observed[j], nan=lie) for j in rows]
                    + [lie] * len(waits)
                )
                model = self._model(k, space.features(U), y)
                mean, std = model.predict(space.features(pool))
                gain = expected_improvement(mean, std, best, 0.01 * spread)
            order = np.argsort(-gain, kind="stable")
            ranked += [(float(gain[o]), k, pool[o]) for o in order[:64]]
        ranked.sort(key=lambda r: -r[0])
        for _, k, u in ranked:
            if self._candidate(k, u).key not in self.index:
                return k, u
        for k in range(len(self.spaces)):  # the ranked ones were all seen
            for u in rng.random((256, len(self.spaces[k].dims))):
                if self._candidate(k, u).key not in self.index:
                    return k, u
        return None


class BayesStrategy:
    """``n_iter`` candidates proposed by a :class:`ModelSampler`, one per
    idle worker (None: without end, for a search with a timeout).

    ``metric`` and ``error_score`` give a trial's score.
    """

    def __init__(
        self,
        param_distributions: Any,
        *,
        n_iter: int | None,
        seed: int,
        n_initial: int = 10,
        metric: str = "score",
        error_score: Any = np.nan,
    ) -> None:
        self.sampler = ModelSampler(param_distributions, seed, n_initial)
        self.n_iter = n_iter
        self.metric = metric
        self.error_score = np.nan if error_score == "raise" else error_score
        self.lag: int | None = None

    def propose(self, history: History) -> Sequence[Proposal]:
        """Up to ``history.idle`` new candidates; none while a candidate's
        model still waits for scores."""
        if self.lag is None:  # the first call: every worker is idle
            self.lag = lag_for(history.idle)
        index = self.sampler.index
        scores = {
            index[t.candidate.key]: trial_score(t, self.metric, self.error_score)
            for t in history.trials
        }
        start = len(scores) + len(history.running)
        proposals: list[Proposal] = []
        for i in range(start, start + history.idle):
            if self.n_iter is not None and i >= self.n_iter:
                break
            ready = max(i - self.lag, 0) if i >= self.sampler.n_initial else 0
            if any(j not in scores for j in range(ready)):
                break  # wait for the scores this candidate's model needs
            observed = {j: scores[j] for j in range(ready)}
            candidate = self.sampler.propose(i, observed, range(ready, i))
            if candidate is None:
                break
            proposals.append(Proposal(candidate))
        return proposals

    def outline(self) -> Sequence[Rung]:
        """One round of ``n_iter`` candidates (0: unknown, without ``n_iter``)."""
        return [Rung(0, self.n_iter or 0, None)]
