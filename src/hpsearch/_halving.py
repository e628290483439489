"""HalvingGridSearchCV and HalvingRandomSearchCV: scikit-learn's successive
halving searches, run by hpsearch.

Each derives from scikit-learn's class (importable here without
``sklearn.experimental.enable_halving_search_cv``) and replaces ``fit`` with
hpsearch's, as :mod:`hpsearch._search` does for grid and random search: the
rounds come from :class:`~hpsearch.strategies.HalvingStrategy`, which follows
scikit-learn's schedule, subsampling and choice of survivors.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.model_selection import ParameterGrid, ParameterSampler
from sklearn.model_selection._search_successive_halving import (
    HalvingGridSearchCV as _SkHalvingGridSearchCV,
)
from sklearn.model_selection._search_successive_halving import (
    HalvingRandomSearchCV as _SkHalvingRandomSearchCV,
)

from hpsearch._continuation import Continuation, resolve
from hpsearch._errors import SpaceError
from hpsearch._loop import Promotable
from hpsearch._search import (
    _CONTINUE_CONSTRAINT,
    _HPSEARCH_CONSTRAINTS,
    _Fit,
    _SearchMixin,
)
from hpsearch._space import check_distributions, check_grid, make_candidates
from hpsearch.strategies import HalvingStrategy, Strategy


class _HalvingMixin(_SearchMixin):
    """What both halving searches share: the strategy and fitted attributes."""

    def _resource(self) -> str | None:
        return self.resource

    def _check_resource(self, spaces: list[Any]) -> None:
        """The resource must not be searched."""
        resource = self.resource
        if resource != "n_samples" and any(resource in s for s in spaces):
            raise SpaceError(
                f"Cannot use parameter {resource} as the resource since it is part "
                f"of the searched parameters. The resource {resource!r} is set by "
                "each round of successive halving: remove it from the space, or "
                "search it with GridSearchCV or RandomizedSearchCV instead."
            )

    def _check_input_parameters(self, X: Any, y: Any, split_params: Any) -> None:
        """scikit-learn's checks, then: the budget must fit the data and the
        estimator, before any fit."""
        super()._check_input_parameters(X, y, split_params)
        resource = self.resource
        n_samples = self._n_samples_orig
        if resource == "n_samples" and self.max_resources_ > n_samples:
            raise SpaceError(
                f"max_resources must be at most the number of samples when "
                f"resource='n_samples'; got max_resources={self.max_resources_} "
                f"for {n_samples} samples. Use max_resources='auto' (all the "
                "samples) or a smaller number."
            )
        if resource != "n_samples":
            # Each round's value must be one the estimator accepts.
            values = sorted({self.min_resources_, self.max_resources_})
            check_grid(self.estimator, {resource: values})

    def _halving(self, fit: _Fit, candidates: Any, random_state: Any) -> Strategy:
        return HalvingStrategy(
            make_candidates(candidates),
            factor=self.factor,
            min_resources=self.min_resources_,
            max_resources=self.max_resources_,
            exhaust=self.min_resources == "exhaust",
            aggressive_elimination=self.aggressive_elimination,
            resource=self.resource,
            n_samples=self._n_samples_orig,
            base_splits=fit.splits,
            random_state=random_state,
            error_score=self.error_score,
            metric=fit.refit_metric if isinstance(fit.refit_metric, str) else "score",
            verbose=self.verbose,
        )

    def _continuation(self) -> Continuation | None:
        return resolve(self.estimator, self.resource, self.continue_training)

    def _promotable(self, strategy: Strategy) -> Promotable | None:
        return strategy.promotable if isinstance(strategy, HalvingStrategy) else None

    def _strategy_done(self, strategy: Strategy) -> None:
        super()._strategy_done(strategy)
        assert isinstance(strategy, HalvingStrategy)
        n_done = len(strategy.n_candidates_)
        self.min_resources_ = strategy.min_resources_
        self.n_resources_ = strategy.n_resources_[:n_done]
        self.n_candidates_ = list(strategy.n_candidates_)
        self.n_remaining_candidates_ = strategy.n_remaining_candidates_
        self.n_required_iterations_ = strategy.n_required_iterations_
        self.n_possible_iterations_ = strategy.n_possible_iterations_
        self.n_iterations_ = strategy.n_iterations_


_EXTRA_DOC = """\
    progress, storage, study, backend, retry_failed, storage_retry, timeout, \
timeout_running, fit_timeout
        As in :class:`hpsearch.GridSearchCV`. With a storage, every round's
        results are kept as they arrive (keyed by candidate, resource and
        split), and a rerun resumes mid-round without refitting any of them.
    continue_training : bool or "auto", default=False
        When the resource is an estimator parameter, a candidate kept for the
        next round continues the estimator it fitted on each split in the
        round before (``warm_start``) instead of fitting a fresh one from
        scratch: ``n_estimators`` of forests, gradient boosting and bagging,
        ``max_iter`` of HistGradientBoosting and of scikit-learn estimators
        with ``warm_start`` (MLP, SGD, ...), skorch's ``max_epochs``,
        scikeras' ``epochs``. ``cv_results_`` then has a ``continued_from``
        column (the smaller resource; NaN where the fits started from
        scratch) and ``fit_time`` is the time of the continuing fit. "auto"
        continues where it can; True raises before any fit where it cannot.
        False (the default) fits from scratch as scikit-learn does, so the
        results equal scikit-learn's. Forests and gradient boosting with an
        int ``random_state`` give the same models either way; estimators that
        train more iterations per fit (networks, MLP, SGD) do not. Fitted
        estimators are held in memory while their candidate may still be kept,
        never stored: a resumed search fits from scratch what it finds
        missing. Shared pipeline prefixes are not cached in such a search.
"""


class HalvingGridSearchCV(_HalvingMixin, _SkHalvingGridSearchCV):
    (
        """Successive halving over a grid, scikit-learn's HalvingGridSearchCV.

    Same arguments, same rounds, same ``cv_results_`` (with its ``iter`` and
    ``n_resources`` columns) and the same fitted attributes as
    :class:`sklearn.model_selection.HalvingGridSearchCV`, without importing
    ``sklearn.experimental.enable_halving_search_cv``. In addition the
    space and the resources are checked before any fit (a searched resource
    parameter, a ``max_resources`` above the number of samples), shared
    pipeline prefixes are fitted once within a round, a progress bar shows
    the round (``rung 2/4: 27 candidates x 270 samples``), and with a storage
    a rerun resumes.

    Parameters
    ----------
    estimator, param_grid, factor, resource, max_resources, min_resources, \
aggressive_elimination, cv, scoring, refit, error_score, return_train_score, \
random_state, n_jobs, verbose
        As in :class:`sklearn.model_selection.HalvingGridSearchCV`.
"""
        + _EXTRA_DOC
        + """
    Attributes
    ----------
    n_resources_, n_candidates_, n_remaining_candidates_, max_resources_, \
min_resources_, n_possible_iterations_, n_required_iterations_, n_iterations_, \
cv_results_, best_estimator_, best_score_, best_params_, best_index_, scorer_, \
n_splits_, refit_time_, multimetric_
        As in scikit-learn.
    results_ : pandas.DataFrame
        ``cv_results_`` as a table, one row per candidate and round.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from hpsearch import HalvingGridSearchCV
    >>> X, y = load_iris(return_X_y=True)
    >>> search = HalvingGridSearchCV(
    ...     RandomForestClassifier(random_state=0),
    ...     {"max_depth": [2, 4, None], "min_samples_split": [2, 5, 10]},
    ...     resource="n_estimators", max_resources=30, random_state=0,
    ...     progress=False,
    ... ).fit(X, y)
    >>> search.n_resources_, search.n_candidates_
    ([3, 9, 27], [9, 3, 1])
    """
    )

    _parameter_constraints: dict = {
        **_SkHalvingGridSearchCV._parameter_constraints,
        **_HPSEARCH_CONSTRAINTS,
        **_CONTINUE_CONSTRAINT,
    }

    def __init__(
        self,
        estimator: Any,
        param_grid: Any,
        *,
        factor: float = 3,
        resource: str = "n_samples",
        max_resources: Any = "auto",
        min_resources: Any = "exhaust",
        aggressive_elimination: bool = False,
        cv: Any = 5,
        scoring: Any = None,
        refit: Any = True,
        error_score: Any = np.nan,
        return_train_score: bool = True,
        random_state: Any = None,
        n_jobs: int | None = None,
        verbose: int = 0,
        progress: bool | None = None,
        storage: Any = None,
        study: str | None = None,
        backend: Any = None,
        retry_failed: bool = False,
        storage_retry: float = 300.0,
        timeout: float | None = None,
        timeout_running: str = "finish",
        continue_training: bool | str = False,
        fit_timeout: float | None = None,
    ) -> None:
        super().__init__(
            estimator,
            param_grid,
            factor=factor,
            resource=resource,
            max_resources=max_resources,
            min_resources=min_resources,
            aggressive_elimination=aggressive_elimination,
            cv=cv,
            scoring=scoring,
            refit=refit,
            error_score=error_score,
            return_train_score=return_train_score,
            random_state=random_state,
            n_jobs=n_jobs,
            verbose=verbose,
        )
        self.progress = progress
        self.storage = storage
        self.study = study
        self.backend = backend
        self.retry_failed = retry_failed
        self.storage_retry = storage_retry
        self.timeout = timeout
        self.timeout_running = timeout_running
        self.continue_training = continue_training
        self.fit_timeout = fit_timeout

    def _check_space(self) -> None:
        self._check_resource(check_grid(self.estimator, self.param_grid))

    def _make_strategy(self, fit: _Fit, random_state: Any = None) -> Strategy:
        seed = self.random_state if random_state is None else random_state
        return self._halving(fit, ParameterGrid(self.param_grid), seed)


class HalvingRandomSearchCV(_HalvingMixin, _SkHalvingRandomSearchCV):
    (
        """Successive halving over random candidates, scikit-learn's
    HalvingRandomSearchCV.

    Draws the same candidates and subsamples as
    :class:`sklearn.model_selection.HalvingRandomSearchCV` for the same
    ``random_state``, and gives the same results; everything else as
    :class:`HalvingGridSearchCV`.

    Parameters
    ----------
    estimator, param_distributions, n_candidates, factor, resource, \
max_resources, min_resources, aggressive_elimination, cv, scoring, refit, \
error_score, return_train_score, random_state, n_jobs, verbose
        As in :class:`sklearn.model_selection.HalvingRandomSearchCV`.
"""
        + _EXTRA_DOC
        + """
    Examples
    --------
    >>> from scipy.stats import randint
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from hpsearch import HalvingRandomSearchCV
    >>> X, y = load_iris(return_X_y=True)
    >>> search = HalvingRandomSearchCV(
    ...     DecisionTreeClassifier(random_state=0),
    ...     {"max_depth": [2, 3, None], "min_samples_leaf": randint(1, 9)},
    ...     random_state=0, progress=False,
    ... ).fit(X, y)
    >>> search.n_candidates_
    [5, 2]
    """
    )

    _parameter_constraints: dict = {
        **_SkHalvingRandomSearchCV._parameter_constraints,
        **_HPSEARCH_CONSTRAINTS,
        **_CONTINUE_CONSTRAINT,
    }

    def __init__(
        self,
        estimator: Any,
        param_distributions: Any,
        *,
        n_candidates: Any = "exhaust",
        factor: float = 3,
        resource: str = "n_samples",
        max_resources: Any = "auto",
        min_resources: Any = "smallest",
        aggressive_elimination: bool = False,
        cv: Any = 5,
        scoring: Any = None,
        refit: Any = True,
        error_score: Any = np.nan,
        return_train_score: bool = True,
        random_state: Any = None,
        n_jobs: int | None = None,
        verbose: int = 0,
        progress: bool | None = None,
        storage: Any = None,
        study: str | None = None,
        backend: Any = None,
        retry_failed: bool = False,
        storage_retry: float = 300.0,
        timeout: float | None = None,
        timeout_running: str = "finish",
        continue_training: bool | str = False,
        fit_timeout: float | None = None,
    ) -> None:
        super().__init__(
            estimator,
            param_distributions,
            n_candidates=n_candidates,
            factor=factor,
            resource=resource,
            max_resources=max_resources,
            min_resources=min_resources,
            aggressive_elimination=aggressive_elimination,
            cv=cv,
            scoring=scoring,
            refit=refit,
            error_score=error_score,
            return_train_score=return_train_score,
            random_state=random_state,
            n_jobs=n_jobs,
            verbose=verbose,
        )
        self.progress = progress
        self.storage = storage
        self.study = study
        self.backend = backend
        self.retry_failed = retry_failed
        self.storage_retry = storage_retry
        self.timeout = timeout
        self.timeout_running = timeout_running
        self.continue_training = continue_training
        self.fit_timeout = fit_timeout

    def _check_space(self) -> None:
        spaces = check_distributions(self.estimator, self.param_distributions)
        self._check_resource(spaces)

    def _make_strategy(self, fit: _Fit, random_state: Any = None) -> Strategy:
        seed = self.random_state if random_state is None else random_state
        n_candidates = self.n_candidates
        if n_candidates == "exhaust":
            # Enough candidates for the last round to use max_resources.
            n_candidates = self.max_resources_ // self.min_resources_
        sampler = ParameterSampler(
            self.param_distributions, n_candidates, random_state=seed
        )
        if self.resource != "n_samples":
            list(sampler)  # scikit-learn draws once to check the space first
        return self._halving(fit, sampler, seed)
