"""HyperbandSearchCV: asynchronous successive halving over Hyperband brackets.

The schedule is :class:`~hpsearch.strategies.HyperbandStrategy`'s; this
module checks the arguments (before any fit), derives the smallest and
largest resource from the data as scikit-learn's halving searches do, and
gives the fitted attributes.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import is_classifier
from sklearn.metrics import get_scorer_names
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets

from hpsearch._bayes import check_model_space
from hpsearch._continuation import Continuation, resolve
from hpsearch._errors import SpaceError
from hpsearch._loop import Promotable
from hpsearch._records import FOLDS
from hpsearch._search import (
    _CONTINUE_CONSTRAINT,
    _HPSEARCH_CONSTRAINTS,
    _Fit,
    _SearchMixin,
    check_n_iter,
)
from hpsearch._space import check_distributions, check_grid
from hpsearch.strategies import HyperbandStrategy, ModelSampler, Strategy


class HyperbandSearchCV(_SearchMixin, BaseSearchCV):
    """Asynchronous successive halving (ASHA) over Hyperband brackets.

    Draws ``n_iter`` candidates as :class:`RandomizedSearchCV` does and
    trains each on a small budget of a *resource* (rows of the training
    data, or an estimator parameter such as ``n_estimators``, ``max_iter``
    or ``epochs``); a candidate goes on to ``factor`` times the budget as
    soon as it ranks in the top ``1/factor`` of the results its rung has so
    far. No worker waits for a rung to fill: whenever one is free it gets a
    promotion or a new candidate, so every worker stays busy even when fit
    times are uneven. ``brackets`` > 1 hedges against budgets too small to
    tell good from bad (Hyperband): bracket ``b`` starts its candidates on
    rung ``b``.

    Parameters
    ----------
    estimator : estimator object
        As in :class:`sklearn.model_selection.RandomizedSearchCV`.
    param_distributions : dict or list of dicts
        Lists and scipy.stats distributions, as in ``RandomizedSearchCV``;
        the resource parameter must not be among them.
    resource : str, default="n_samples"
        "n_samples": each rung trains and tests on a subsample of every
        split, drawn as successive halving draws it. "folds": a race on
        cross-validation folds: every fit uses all the training data of its
        split, and rung ``k`` scores a candidate on the first
        ``n_resources_[k]`` splits (1, 3, then 5 of 5 folds with
        ``factor=3``); a promoted candidate fits only the folds it has not
        run. Otherwise the name of an integer estimator parameter that sets
        the budget.
    max_resources : int or "auto", default="auto"
        The budget of the last rung; "auto" (the number of samples; for
        "folds", the number of splits, the only value allowed) only with
        ``resource="n_samples"`` or ``"folds"``.
    min_resources : int or "smallest", default="smallest"
        The budget of the first rung; "smallest" as scikit-learn's halving
        searches: ``2 * n_splits`` samples (times the number of classes for
        a classifier), or 1 for a parameter or for "folds". The rungs of a
        race on folds grow from it by ``factor`` (rounded up) while below the
        number of splits, then end on all of them.
    factor : float, default=3
        Each rung has ``factor`` times the budget of the one below, and
        keeps its top ``1/factor``.
    n_iter : int or None, default=10
        Candidates to draw. None draws until ``timeout`` expires (a list-only
        space: until its grid is exhausted).
    brackets : int or None, default=1
        Hyperband brackets; 1 is plain ASHA, which Li et al. found best in
        practice (hence the default); None uses every bracket (one per rung).
        Candidates are shared among the brackets as Hyperband shares them.
    scoring : str, callable or None, default=None
        A single metric, as in scikit-learn's halving searches.
    refit, cv, verbose, pre_dispatch, error_score, return_train_score, n_jobs
        As in ``RandomizedSearchCV``.
    random_state : int, RandomState or None, default=None
        Draws the candidates (the same as ``RandomizedSearchCV``'s for an int
        and ``n_iter``) and the subsamples.
    sampler : {"random", "bayes"}, default="random"
        Where new candidates come from: "random" draws them as
        ``RandomizedSearchCV`` does; "bayes" proposes each from a Gaussian
        process of the scores on its bracket's first rung, as
        :class:`hpsearch.BayesSearchCV` does (the BOHB idea: a model chooses
        what to try, the schedule how much budget each try gets). Its first
        10 candidates cover the space.
    progress, storage, study, backend, retry_failed, storage_retry, timeout, \
timeout_running, fit_timeout
        As in :class:`hpsearch.GridSearchCV`. With a storage every result is
        kept as it arrives and a rerun resumes mid-rung: the strategy is a
        function of the results and the seed, so it proposes again what it
        proposed (with ``n_jobs=1``, exactly the same search).
    continue_training : bool or "auto", default=False
        When the resource is an estimator parameter, a promoted candidate
        continues the estimator it fitted on each split at its rung
        (``warm_start``) instead of fitting a fresh one: ``n_estimators`` of
        forests, gradient boosting and bagging, ``max_iter`` of
        HistGradientBoosting and of scikit-learn estimators with
        ``warm_start`` (MLP, SGD, ...), skorch's ``max_epochs``, scikeras'
        ``epochs``. ``cv_results_`` then has a ``continued_from`` column (the
        smaller resource; NaN where the fits started from scratch) and
        ``fit_time`` is the time of the continuing fit. "auto" continues
        where it can; True raises before any fit where it cannot. False by
        default, as in the halving searches: a resumed search fits from
        scratch what it finds missing (estimators are held in memory, never
        stored), so with continuation the scores of estimators that train
        more per fit (networks, MLP) depend on whether the search was
        interrupted. Estimators are kept while their candidate ranks in the
        top ``ceil(n / factor)`` of its rung; one promoted later fits from
        scratch. Shared pipeline prefixes are not cached in such a search.

    Attributes
    ----------
    cv_results_ : dict
        A row per (candidate, rung) evaluated, in the order started, with
        ``iter`` (the rung) and ``n_resources`` first, as in scikit-learn's
        halving searches. In a race on folds ``n_resources`` is the number
        of folds the row ran: its ``split<i>_test_score`` are NaN for the
        folds it did not run, and its mean and std are over those it ran.
    best_index_, best_params_, best_score_
        The best candidate on the highest rung reached (the largest budget).
    best_estimator_, scorer_, n_splits_, refit_time_, multimetric_
        As in scikit-learn.
    n_resources_ : list of int
        The budget of each rung.
    n_candidates_ : list of int
        Candidates evaluated on each rung.
    n_brackets_, min_resources_, max_resources_ : int
        The brackets used and the budgets of the first and last rung.
    results_ : pandas.DataFrame
        ``cv_results_`` as a table.

    Examples
    --------
    >>> from scipy.stats import randint
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from hpsearch import HyperbandSearchCV
    >>> X, y = load_iris(return_X_y=True)
    >>> search = HyperbandSearchCV(
    ...     RandomForestClassifier(random_state=0),
    ...     {"max_depth": [2, 4, None], "min_samples_leaf": randint(1, 9)},
    ...     resource="n_estimators", max_resources=27, n_iter=9,
    ...     random_state=0, n_jobs=1, progress=False,
    ... ).fit(X, y)
    >>> search.n_resources_
    [1, 3, 9, 27]
    >>> search.n_candidates_
    [8, 3, 1, 1]

    A race on the 5 folds of ``cv``: 1 fold, then 3, then all 5.

    >>> from sklearn.tree import DecisionTreeClassifier
    >>> race = HyperbandSearchCV(
    ...     DecisionTreeClassifier(random_state=0),
    ...     {"max_depth": [1, 2, 3, 4, 5, None], "min_samples_leaf": [1, 5, 10]},
    ...     resource="folds", n_iter=9, random_state=0, progress=False,
    ... ).fit(X, y)
    >>> race.n_resources_, race.n_candidates_
    ([1, 3, 5], [9, 3, 1])
    >>> int(race.cv_results_["n_resources"][race.best_index_])
    5
    """

    _parameter_constraints: dict = {
        **BaseSearchCV._parameter_constraints,
        **_HPSEARCH_CONSTRAINTS,
        **_CONTINUE_CONSTRAINT,
        "param_distributions": [dict, list],
        "scoring": [StrOptions(set(get_scorer_names())), callable, None],
        "resource": [str],
        "max_resources": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "min_resources": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"smallest"}),
        ],
        "factor": [Interval(Real, 1, None, closed="neither")],
        "n_iter": [Interval(Integral, 1, None, closed="left"), None],
        "brackets": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "sampler": [StrOptions({"random", "bayes"})],
    }

    def __init__(
        self,
        estimator: Any,
        param_distributions: Any,
        *,
        resource: str = "n_samples",
        max_resources: Any = "auto",
        min_resources: Any = "smallest",
        factor: float = 3,
        n_iter: int | None = 10,
        brackets: int | None = 1,
        scoring: Any = None,
        n_jobs: int | None = None,
        refit: Any = True,
        cv: Any = 5,
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
        continue_training: bool | str = False,
        sampler: str = "random",
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
        self.resource = resource
        self.max_resources = max_resources
        self.min_resources = min_resources
        self.factor = factor
        self.n_iter = n_iter
        self.brackets = brackets
        self.random_state = random_state
        self.progress = progress
        self.storage = storage
        self.study = study
        self.backend = backend
        self.retry_failed = retry_failed
        self.storage_retry = storage_retry
        self.timeout = timeout
        self.timeout_running = timeout_running
        self.continue_training = continue_training
        self.sampler = sampler
        self.fit_timeout = fit_timeout

    def _resource(self) -> str | None:
        return self.resource

    def _continuation(self) -> Continuation | None:
        return resolve(self.estimator, self.resource, self.continue_training)

    def _promotable(self, strategy: Strategy) -> Promotable | None:
        return strategy.promotable if isinstance(strategy, HyperbandStrategy) else None

    def _check_space(self) -> None:
        spaces = check_distributions(self.estimator, self.param_distributions)
        budget = self.resource not in ("n_samples", FOLDS)
        if budget and any(self.resource in s for s in spaces):
            raise SpaceError(
                f"param_distributions must not hold the resource "
                f"{self.resource!r}; got it among the searched parameters. Each "
                "rung sets it: remove it from the space, or search it with "
                "RandomizedSearchCV instead."
            )
        check_n_iter(self)
        if self.sampler == "bayes":
            check_model_space(self.param_distributions)

    def _check_input_parameters(self, X: Any, y: Any, split_params: Any) -> None:
        """The budgets, from the data, before any fit."""
        resource = self.resource
        if resource == FOLDS:
            self._check_folds(X, y, split_params)
            return
        if resource != "n_samples" and resource not in self.estimator.get_params():
            raise ValueError(
                f"resource must be 'n_samples', 'folds' or a parameter of "
                f"{type(self.estimator).__name__}; got {resource!r}. Its "
                f"parameters: {', '.join(sorted(self.estimator.get_params()))}."
            )
        n_samples = self._n_samples_orig
        if self.max_resources == "auto":
            if resource != "n_samples":
                raise ValueError(
                    f"max_resources must be an int for resource={resource!r}; got "
                    "'auto'. 'auto' (all the samples) applies to "
                    "resource='n_samples' only."
                )
            self.max_resources_ = n_samples
        else:
            self.max_resources_ = self.max_resources
        if self.min_resources == "smallest":
            if resource == "n_samples":
                n_splits = self._checked_cv_orig.get_n_splits(X, y, **split_params)
                self.min_resources_ = 2 * n_splits
                if is_classifier(self.estimator):
                    check_classification_targets(y)
                    self.min_resources_ *= len(np.unique(y))
            else:
                self.min_resources_ = 1
        else:
            self.min_resources_ = self.min_resources
        if resource == "n_samples" and self.max_resources_ > n_samples:
            raise SpaceError(
                f"max_resources must be at most the number of samples when "
                f"resource='n_samples'; got max_resources={self.max_resources_} "
                f"for {n_samples} samples. Use max_resources='auto' (all the "
                "samples) or a smaller number."
            )
        if self.min_resources_ > self.max_resources_:
            raise ValueError(
                f"min_resources must be at most max_resources; got "
                f"min_resources={self.min_resources_} and "
                f"max_resources={self.max_resources_}. Lower min_resources or "
                "raise max_resources."
            )
        if resource != "n_samples":
            # Each rung's value must be one the estimator accepts.
            values = sorted({self.min_resources_, self.max_resources_})
            check_grid(self.estimator, {resource: values})

    def _check_folds(self, X: Any, y: Any, split_params: Any) -> None:
        """A race on folds: the budgets are numbers of folds, the last all
        of them."""
        n_splits = self._checked_cv_orig.get_n_splits(X, y, **split_params)
        if self.max_resources not in ("auto", n_splits):
            raise ValueError(
                f"max_resources must be 'auto' (all the {n_splits} folds of cv) "
                f"for resource='folds'; got {self.max_resources!r}. A race on "
                "folds ends on every fold; to use fewer, give cv fewer splits."
            )
        self.max_resources_ = n_splits
        if self.min_resources == "smallest":
            self.min_resources_ = 1
        else:
            self.min_resources_ = self.min_resources
        if self.min_resources_ > n_splits:
            raise ValueError(
                f"min_resources must be at most the {n_splits} folds of cv for "
                f"resource='folds'; got {self.min_resources_}. Lower "
                "min_resources (default: 1 fold) or give cv more splits."
            )

    def _make_strategy(self, fit: _Fit, random_state: Any = None) -> Strategy:
        seed = self.random_state if random_state is None else random_state
        if not isinstance(seed, Integral):
            # One int for the whole fit: every rung subsamples alike.
            seed = int(check_random_state(seed).randint(np.iinfo(np.int32).max))
        return HyperbandStrategy(
            self.param_distributions,
            n_iter=self.n_iter,
            factor=self.factor,
            min_resources=self.min_resources_,
            max_resources=self.max_resources_,
            brackets=self.brackets,
            resource=self.resource,
            n_samples=self._n_samples_orig,
            base_splits=fit.splits,
            seed=int(seed),
            error_score=self.error_score,
            metric=fit.refit_metric if isinstance(fit.refit_metric, str) else "score",
            sampler=ModelSampler(self.param_distributions, int(seed), n_initial=10)
            if self.sampler == "bayes"
            else None,
        )

    def _strategy_done(self, strategy: Strategy) -> None:
        assert isinstance(strategy, HyperbandStrategy)
        self.n_resources_ = list(strategy.resources_)
        if strategy.sampler is not None:
            self.proposing_time_ = strategy.sampler.proposing_seconds
        self.n_brackets_ = strategy.n_brackets_
        self.min_resources_ = strategy.resources_[0]

    def _finish(self, trials: Any, fit: _Fit) -> None:
        super()._finish(trials, fit)
        rungs = np.asarray(self.cv_results_["iter"])
        self.n_candidates_ = [
            int(np.count_nonzero(rungs == k)) for k in range(len(self.n_resources_))
        ]
