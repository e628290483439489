"""BayesSearchCV: a Gaussian process proposes each candidate from the scores so far.

The proposals are :class:`~hpsearch.strategies.BayesStrategy`'s; this module
checks the arguments (before any fit) and gives the fitted attributes.
"""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval

from hpsearch._search import _HPSEARCH_CONSTRAINTS, _Fit, _SearchMixin, check_n_iter
from hpsearch._space import check_distributions
from hpsearch.strategies import BayesStrategy, Strategy
from hpsearch.strategies._space_model import UnitSpace


def seed_of(random_state: Any) -> int:
    """One int for the whole fit (a model's draws are keyed by it)."""
    if isinstance(random_state, Integral):
        return int(random_state)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def check_model_space(param_distributions: Any) -> None:
    """Every parameter must be a list or a distribution with ppf and cdf."""
    spaces = (
        param_distributions
        if isinstance(param_distributions, list)
        else [param_distributions]
    )
    for k, space in enumerate(spaces):
        where = (
            f"param_distributions[{k}]" if len(spaces) > 1 else "param_distributions"
        )
        UnitSpace(space, where)


class BayesSearchCV(_SearchMixin, BaseSearchCV):
    """Model-based search: each candidate is proposed from the scores so far.

    The first ``n_initial`` candidates cover the space (a Latin hypercube);
    after that a Gaussian process of the cross-validated scores (Matern 5/2,
    one length scale per parameter, a noise term) proposes the setting of
    largest expected improvement not yet evaluated. Spaces are written as for
    :class:`RandomizedSearchCV`: lists and scipy.stats distributions
    (``loguniform`` is searched on a log scale, ``randint`` on its integers,
    a list of strings as categories), or a list of such dicts.

    Every worker gets a new candidate as soon as it is free; candidates still
    running count at the worst score so far, so that the next proposal looks
    elsewhere. A proposal depends only on the seed, the number of workers and
    the scores of earlier candidates (candidate ``i`` uses the scores of the
    candidates up to ``i - 2 (n_workers - 1) - 1``), never on the order in
    which results arrive: the same ``random_state`` and ``n_jobs`` give the
    same candidates, and a search resumed from a storage proposes what an
    uninterrupted one would have.

    Parameters
    ----------
    estimator : estimator object
        As in :class:`sklearn.model_selection.RandomizedSearchCV`.
    param_distributions : dict or list of dicts
        Lists and scipy.stats distributions (objects with ``ppf`` and
        ``cdf``), as in ``RandomizedSearchCV``.
    n_iter : int or None, default=50
        Candidates to evaluate; None proposes until ``timeout`` expires (a
        list-only space: until every setting was tried).
    n_initial : int, default=10
        Candidates that cover the space before the model proposes.
    scoring : str, callable, list, tuple, dict or None, default=None
        As in ``RandomizedSearchCV``; with several metrics the model
        follows the one ``refit`` names.
    refit, cv, verbose, pre_dispatch, error_score, return_train_score, n_jobs
        As in ``RandomizedSearchCV``.
    random_state : int, RandomState or None, default=None
        Seeds the initial design and the model's candidate points.
    progress, storage, study, backend, retry_failed, storage_retry, timeout, \
timeout_running, fit_timeout
        As in :class:`hpsearch.GridSearchCV`.

    Attributes
    ----------
    cv_results_, best_estimator_, best_score_, best_params_, best_index_, \
scorer_, n_splits_, refit_time_, multimetric_, results_, study_name_, \
storage_url_, workers_
        As in :class:`hpsearch.RandomizedSearchCV`; ``cv_results_`` has a row
        per candidate in the order proposed.
    proposing_time_ : float
        Seconds spent proposing (fitting the model, scoring points).

    Examples
    --------
    >>> from scipy.stats import loguniform
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.svm import SVC
    >>> from hpsearch import BayesSearchCV
    >>> X, y = load_iris(return_X_y=True)
    >>> search = BayesSearchCV(
    ...     SVC(), {"C": loguniform(1e-3, 1e3), "kernel": ["rbf", "linear"]},
    ...     n_iter=12, n_initial=6, random_state=0, progress=False,
    ... ).fit(X, y)
    >>> len(search.cv_results_["params"])
    12
    >>> bool(search.best_score_ > 0.95)
    True
    """

    _parameter_constraints: dict = {
        **BaseSearchCV._parameter_constraints,
        **_HPSEARCH_CONSTRAINTS,
        "param_distributions": [dict, list],
        "n_iter": [Interval(Integral, 1, None, closed="left"), None],
        "n_initial": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator: Any,
        param_distributions: Any,
        *,
        n_iter: int | None = 50,
        n_initial: int = 10,
        scoring: Any = None,
        n_jobs: int | None = None,
        refit: Any = True,
        cv: Any = None,
        verbose: int = 0,
        pre_dispatch: Any = "2*n_jobs",
        random_state: Any = None,
        error_score: Any = np.nan,
        return_train_score: bool = False,
        progress: bool | None = None,
        storage: Any = None,
        study: str | None = None,
        backend: Any = None,
        retry_failed: bool = False,
        storage_retry: float = 300.0,
        timeout: float | None = None,
        timeout_running: str = "finish",
        fit_timeout: float | None = None,
    ) -> None:
        super().__init__(
            estimator=estimator,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            error_score=error_score,
            return_train_score=return_train_score,
        )
        self.param_distributions = param_distributions
        self.n_iter = n_iter
        self.n_initial = n_initial
        self.random_state = random_state
        self.progress = progress
        self.storage = storage
        self.study = study
        self.backend = backend
        self.retry_failed = retry_failed
        self.storage_retry = storage_retry
        self.timeout = timeout
        self.timeout_running = timeout_running
        self.fit_timeout = fit_timeout

    def _check_space(self) -> None:
        check_distributions(self.estimator, self.param_distributions)
        check_model_space(self.param_distributions)
        check_n_iter(self)
        if isinstance(self.scoring, list | tuple | set | dict) and not isinstance(
            self.refit, str
        ):
            raise ValueError(
                f"refit must name the metric the model optimises when scoring "
                f"has several; got refit={self.refit!r}. Pass refit='<metric>' "
                "with one of the scoring names."
            )

    def _make_strategy(self, fit: _Fit, random_state: Any = None) -> Strategy:
        seed = self.random_state if random_state is None else random_state
        metric = fit.refit_metric if isinstance(fit.refit_metric, str) else "score"
        return BayesStrategy(
            self.param_distributions,
            n_iter=self.n_iter,
            seed=seed_of(seed),
            n_initial=self.n_initial,
            metric=metric,
            error_score=self.error_score,
        )

    def _strategy_done(self, strategy: Strategy) -> None:
        super()._strategy_done(strategy)
        assert isinstance(strategy, BayesStrategy)
        self.proposing_time_ = strategy.sampler.proposing_seconds
