"""GridSearchCV and RandomizedSearchCV: scikit-learn's classes, run by hpsearch.

Each class derives from scikit-learn's own, so everything scikit-learn gives its
search classes (constructor validation, metadata routing, ``set_callbacks``,
the HTML representation, ``predict`` and friends, ``score``, tags) behaves the
same. ``fit`` is hpsearch's: the space is checked before any fit, and one loop
(:mod:`hpsearch._loop`) runs the strategy's rounds on an executor, with
results recorded as they arrive when a storage is given.
"""

from __future__ import annotations

import contextlib
import dataclasses
import numbers
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import _fit_context, clone, is_classifier
from sklearn.metrics._scorer import _MultimetricScorer
from sklearn.model_selection import GridSearchCV as _SkGridSearchCV
from sklearn.model_selection import RandomizedSearchCV as _SkRandomizedSearchCV
from sklearn.model_selection import check_cv
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils.validation import _check_method_params, indexable

from hpsearch._early_stopping import set_refit_iterations
from hpsearch._evaluate import EvalContext, warn_scoring_failures
from hpsearch._loop import MemoryRecorder, Recorder, SearchRun
from hpsearch._progress import SearchProgress
from hpsearch._records import Candidate, FoldResult
from hpsearch._results import to_cv_results, to_frame, warn_or_raise_fit_failures
from hpsearch._space import check_distributions, check_grid
from hpsearch.executors import check_pre_dispatch, make_executor, threadable
from hpsearch.strategies import GridStrategy, RandomStrategy, Strategy, Trial

_HPSEARCH_CONSTRAINTS: dict[str, list[Any]] = {
    "progress": ["boolean", None],
    "storage": [str, object, None],
    "study": [str, None],
    "backend": [str, object, None],
}


class _SearchMixin(BaseSearchCV):
    """hpsearch's ``fit``, shared by every search class.

    Subclasses say what to search with :meth:`_check_space` and
    :meth:`_make_strategy`.
    """

    def _check_space(self) -> None:
        """Refuse an illegal space (SpaceError), before anything is fitted."""
        raise NotImplementedError

    def _make_strategy(self, random_state: Any = None) -> Strategy:
        """The strategy of a checked space.

        ``random_state``, when given, replaces the search's own (a stored
        study's seed, so that a rerun proposes the same candidates).
        """
        raise NotImplementedError

    def _open_recorder(
        self, X: Any, y: Any, params: dict[str, Any], splits: Sequence[Any]
    ) -> Recorder:
        if getattr(self, "storage", None) is None:
            return MemoryRecorder()
        from hpsearch.storage import open_recorder

        return open_recorder(self, X, y, params, splits)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X: Any, y: Any = None, **params: Any) -> Any:
        """Run fit with all sets of parameters.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training vectors.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Targets; None for unsupervised learning.
        **params : dict of str -> object
            Parameters for the estimator's ``fit``, the scorer and the splitter
            (``groups``), routed as in scikit-learn.

        Returns
        -------
        self : object
            The fitted search.
        """
        scorers, refit_metric = self._get_scorers()
        X, y = indexable(X, y)
        params = _check_method_params(X, params=params)
        routed = self._get_routed_params_for_fit(params)
        sample_weight = params.get("sample_weight")
        metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        root_ctx = self._init_callback_context(
            max_subtasks=1 + (self.refit is not False)
        ).call_on_fit_task_begin(estimator=self, X=X, y=y, metadata=metadata)

        self._checked_cv_orig = check_cv(
            self.cv, y, classifier=is_classifier(self.estimator)
        )
        self._check_input_parameters(X=X, y=y, split_params=routed.splitter.split)
        self.n_splits_ = self._checked_cv_orig.get_n_splits(
            X, y, **routed.splitter.split
        )
        self._check_space()  # before anything is fitted or stored
        check_pre_dispatch(self.pre_dispatch)
        splits = list(self._checked_cv_orig.split(X, y, **routed.splitter.split))
        if len(splits) != self.n_splits_:
            raise ValueError(
                "cv.split and cv.get_n_splits return inconsistent results. "
                f"Expected {self.n_splits_} splits, got {len(splits)}"
            )
        trials = self._run(
            X, y, params, splits, scorers, routed, refit_metric, root_ctx
        )
        self._finish(trials, scorers, refit_metric, X, y, routed, root_ctx, metadata)
        return self

    def _run(
        self,
        X: Any,
        y: Any,
        params: dict[str, Any],
        splits: list[Any],
        scorers: Any,
        routed: Any,
        refit_metric: Any,
        root_ctx: Any,
    ) -> list[Trial]:
        # The study opens first: a mismatch is refused before any worker starts,
        # and a random search with random_state=None takes the study's seed.
        recorder = self._open_recorder(X, y, params, splits)
        strategy = self._make_strategy(getattr(recorder, "random_state", None))
        executor = make_executor(
            getattr(self, "backend", None),
            self.n_jobs,
            self.pre_dispatch,
            threadable=threadable(
                self.estimator,
                getattr(self, "param_grid", None),
                getattr(self, "param_distributions", None),
            ),
        )
        ctx = EvalContext(
            estimator=clone(self.estimator),
            X=X,
            y=y,
            splits=splits,
            scorer=scorers,
            fit_params=routed.estimator.fit,
            score_params=routed.scorer.score,
            return_train_score=self.return_train_score,
            error_score=self.error_score,
            threads=executor.threads_per_unit,
        )
        progress = SearchProgress(
            verbose=self.verbose,
            bar=getattr(self, "progress", None),
            metric=refit_metric if isinstance(refit_metric, str) else None,
            description=type(self).__name__,
        )
        search_ctx = root_ctx.subcontext(
            task_name="search", max_subtasks=None, sequential_subtasks=True
        )
        search_ctx.call_on_fit_task_begin(estimator=self)

        def on_result(result: FoldResult) -> None:
            progress.update(result)
            warn_scoring_failures(result.extra.get("warnings", ()), self.error_score)
            task_ctx = search_ctx.subcontext(task_name="candidate-split-evaluation")
            task_ctx.call_on_fit_task_begin(estimator=self)
            task_ctx.call_on_fit_task_end(estimator=self)

        def on_round(batch: Sequence[Candidate], n_splits: int) -> None:
            progress.start_round(batch, n_splits)
            start_round = getattr(recorder, "start_round", None)
            if start_round is not None:
                start_round(batch, n_splits)  # the study keeps the candidates

        run = SearchRun(
            strategy,
            ctx,
            executor,
            recorder,
            on_round=on_round,
            on_result=on_result,
        )
        # With a storage, Ctrl-C and SIGTERM stop cleanly and say how to resume.
        interruptible = getattr(recorder, "interruptible", contextlib.nullcontext)
        try:
            with interruptible():
                trials = run.run()
        finally:
            self.workers_ = dict(executor.lanes)  # where the units ran
            executor.close()
            progress.close()
            close = getattr(recorder, "close", None)
            if close is not None:
                close()
        search_ctx.call_on_fit_task_end(estimator=self)
        if not trials:
            raise ValueError(
                "No fits were performed. Was the CV iterator empty? "
                "Were there no candidates?"
            )
        return trials

    def _finish(
        self,
        trials: list[Trial],
        scorers: Any,
        refit_metric: Any,
        X: Any,
        y: Any,
        routed: Any,
        root_ctx: Any,
        metadata: Any,
    ) -> None:
        trials = _fill_failed(trials, self.error_score)
        warn_or_raise_fit_failures(trials, self.error_score)
        results = to_cv_results(trials, self.return_train_score)
        metrics = list(trials[0].folds[0].test_scores)
        self.multimetric_ = isinstance(scorers, _MultimetricScorer) or (
            callable(self.scoring) and metrics != ["score"]
        )
        if callable(self.scoring) and self.multimetric_:
            self._check_refit_for_multimetric(dict.fromkeys(metrics))
            refit_metric = self.refit
        if self.refit or not self.multimetric_:
            self.best_index_ = self._select_best_index(
                self.refit, refit_metric, results
            )
            if not callable(self.refit):
                self.best_score_ = results[f"mean_test_{refit_metric}"][
                    self.best_index_
                ]
            self.best_params_ = results["params"][self.best_index_]
        if self.refit:
            self._refit(X, y, routed, root_ctx, metadata, results)
        self.scorer_ = (
            scorers._scorers if isinstance(scorers, _MultimetricScorer) else scorers
        )
        self.cv_results_ = results
        self._statuses = [
            "failed" if any(f.status == "failed" for f in t.folds) else "ok"
            for t in trials
        ]
        root_ctx.call_on_fit_task_end(estimator=self, X=X, y=y, metadata=metadata)

    def _refit(
        self,
        X: Any,
        y: Any,
        routed: Any,
        root_ctx: Any,
        metadata: Any,
        results: Any = None,
    ) -> None:
        # Parameters are cloned too: they may be estimators (a pipeline step).
        self.best_estimator_ = clone(self.estimator).set_params(
            **clone(self.best_params_, safe=False)
        )
        if results is not None:  # EarlyStoppers refit for their folds' iterations
            set_refit_iterations(self.best_estimator_, results, self.best_index_)
        refit_ctx = root_ctx.subcontext(task_name="refit-with-best-params")
        with refit_ctx.propagate_callback_context(self.best_estimator_):
            refit_ctx.call_on_fit_task_begin(
                estimator=self, X=X, y=y, metadata=metadata
            )
            start = time.time()
            if y is not None:
                self.best_estimator_.fit(X, y, **routed.estimator.fit)
            else:
                self.best_estimator_.fit(X, **routed.estimator.fit)
            self.refit_time_ = time.time() - start
        if hasattr(self.best_estimator_, "feature_names_in_"):
            self.feature_names_in_ = self.best_estimator_.feature_names_in_
        refit_ctx.call_on_fit_task_end(estimator=self, X=X, y=y, metadata=metadata)

    @property
    def results_(self) -> pd.DataFrame:
        """The results as a DataFrame, one row per candidate.

        Columns: one per parameter, then per metric the mean, std and rank of the
        test score (and the train score's mean and std when recorded), then the
        mean and std of fit and score times, and ``status`` ("ok", or "failed"
        when a split failed).
        """
        frame = to_frame(self.cv_results_)
        frame["status"] = self._statuses
        return frame


def _fill_failed(trials: list[Trial], error_score: Any) -> list[Trial]:
    """Give failed folds ``error_score`` for each metric the others report."""
    ok = next((f for t in trials for f in t.folds if f.status == "ok"), None)
    metrics = list(ok.test_scores) if ok is not None else ["score"]
    if isinstance(error_score, numbers.Number):
        filled = dict.fromkeys(metrics, float(error_score))  # type: ignore[arg-type]
    else:
        filled = dict.fromkeys(metrics, np.nan)

    def fill(fold: FoldResult) -> FoldResult:
        if fold.status == "ok":
            return fold
        return dataclasses.replace(
            fold,
            test_scores=filled,
            train_scores=filled if fold.train_scores is not None else None,
        )

    return [
        dataclasses.replace(t, folds=tuple(fill(f) for f in t.folds)) for t in trials
    ]


class GridSearchCV(_SearchMixin, _SkGridSearchCV):
    """Exhaustive search over a parameter grid, scikit-learn's GridSearchCV.

    Same arguments, same results and the same fitted attributes as
    :class:`sklearn.model_selection.GridSearchCV`; in addition the space is
    checked against the estimator before any fit, duplicate candidates are
    fitted once, a progress bar shows what is happening, and with ``storage``
    every result is kept as it arrives and a rerun resumes.

    Parameters
    ----------
    estimator, param_grid, scoring, n_jobs, refit, cv, verbose, pre_dispatch, \
error_score, return_train_score
        As in :class:`sklearn.model_selection.GridSearchCV`.
    progress : bool or None, default=None
        Draw a progress bar on stderr; None draws it when stderr is a terminal.
    storage : str, path or storage object, default=None
        Where results are kept: ``"sqlite:///runs.db"``, a file path (SQLite),
        ``"postgresql://..."``. None keeps them in memory only.
    study : str, default=None
        The study's name in the storage; None derives one from the search.
    backend : str, Client or None, default=None
        Where the work runs. None: with ``n_jobs`` > 1, threads of this
        process for scikit-learn's estimators (moving to loky processes if
        their fits hold the GIL), loky processes for any other estimator.
        "loky" (processes) and "threading" force one kind; "dask" (the active
        ``distributed.Client``), a scheduler address or a ``Client`` run on a
        Dask cluster.

    Attributes
    ----------
    cv_results_, best_estimator_, best_score_, best_params_, best_index_, \
scorer_, n_splits_, refit_time_, multimetric_, classes_, n_features_in_, \
feature_names_in_
        As in scikit-learn.
    results_ : pandas.DataFrame
        ``cv_results_`` as a table, one row per candidate.
    workers_ : dict
        Where the fits ran and how many at once: ``{"serial": 1}``,
        ``{"threads": 2}``, ``{"threads": 1, "processes": 1}`` (the units held
        the GIL, so all but one thread moved to processes), ``{"processes": 2}``
        or ``{"dask": 8}``.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.svm import SVC
    >>> from hpsearch import GridSearchCV
    >>> X, y = load_iris(return_X_y=True)
    >>> search = GridSearchCV(SVC(), {"C": [0.1, 1, 10]}, progress=False).fit(X, y)
    >>> search.best_params_
    {'C': 10}
    >>> list(search.results_.columns[:4])
    ['C', 'mean_test_score', 'std_test_score', 'rank_test_score']
    """

    _parameter_constraints: dict = {
        **_SkGridSearchCV._parameter_constraints,
        **_HPSEARCH_CONSTRAINTS,
    }

    def __init__(
        self,
        estimator: Any,
        param_grid: Any,
        *,
        scoring: Any = None,
        n_jobs: int | None = None,
        refit: Any = True,
        cv: Any = None,
        verbose: int = 0,
        pre_dispatch: Any = "2*n_jobs",
        error_score: Any = np.nan,
        return_train_score: bool = False,
        progress: bool | None = None,
        storage: Any = None,
        study: str | None = None,
        backend: Any = None,
    ) -> None:
        super().__init__(
            estimator=estimator,
            param_grid=param_grid,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            error_score=error_score,
            return_train_score=return_train_score,
        )
        self.progress = progress
        self.storage = storage
        self.study = study
        self.backend = backend

    def _check_space(self) -> None:
        check_grid(self.estimator, self.param_grid)

    def _make_strategy(self, random_state: Any = None) -> Strategy:
        return GridStrategy(self.param_grid)


class RandomizedSearchCV(_SearchMixin, _SkRandomizedSearchCV):
    """Randomized search over parameter settings, scikit-learn's RandomizedSearchCV.

    Draws the same candidates, in the same order, as
    :class:`sklearn.model_selection.RandomizedSearchCV` for the same
    ``random_state``, and gives the same results; the space is checked against
    the estimator (each distribution on a few draws of its own) before any fit.

    Parameters
    ----------
    estimator, param_distributions, n_iter, scoring, n_jobs, refit, cv, verbose, \
pre_dispatch, random_state, error_score, return_train_score
        As in :class:`sklearn.model_selection.RandomizedSearchCV`.
    progress, storage, study, backend
        As in :class:`GridSearchCV`.

    Examples
    --------
    >>> from scipy.stats import randint
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from hpsearch import RandomizedSearchCV
    >>> X, y = load_iris(return_X_y=True)
    >>> search = RandomizedSearchCV(
    ...     DecisionTreeClassifier(random_state=0),
    ...     {"max_depth": [3, None], "min_samples_leaf": randint(1, 9)},
    ...     n_iter=5, random_state=0, progress=False,
    ... ).fit(X, y)
    >>> len(search.cv_results_["params"])
    5
    """

    _parameter_constraints: dict = {
        **_SkRandomizedSearchCV._parameter_constraints,
        **_HPSEARCH_CONSTRAINTS,
    }

    def __init__(
        self,
        estimator: Any,
        param_distributions: Any,
        *,
        n_iter: int = 10,
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
    ) -> None:
        super().__init__(
            estimator=estimator,
            param_distributions=param_distributions,
            n_iter=n_iter,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            random_state=random_state,
            error_score=error_score,
            return_train_score=return_train_score,
        )
        self.progress = progress
        self.storage = storage
        self.study = study
        self.backend = backend

    def _check_space(self) -> None:
        check_distributions(self.estimator, self.param_distributions)

    def _make_strategy(self, random_state: Any = None) -> Strategy:
        seed = self.random_state if random_state is None else random_state
        return RandomStrategy(self.param_distributions, self.n_iter, seed)
