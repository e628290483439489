"""GridSearchCV and RandomizedSearchCV: scikit-learn's classes, run by hpsearch.

Each class derives from scikit-learn's own, so everything scikit-learn gives its
search classes (constructor validation, metadata routing, ``set_callbacks``,
the HTML representation, ``predict`` and friends, ``score``, tags) behaves the
same. ``fit`` is hpsearch's: the space is checked before any fit, and one loop
(:mod:`hpsearch._loop`) runs the strategy's rounds on an executor, with
results recorded as they arrive when a storage is given.
"""

from __future__ import annotations

import dataclasses
import inspect
import time
import warnings
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import _fit_context, clone, is_classifier
from sklearn.metrics._scorer import _MultimetricScorer
from sklearn.model_selection import GridSearchCV as _SkGridSearchCV
from sklearn.model_selection import RandomizedSearchCV as _SkRandomizedSearchCV
from sklearn.model_selection import check_cv
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_method_params, _num_samples, indexable

from hpsearch._compat import (
    callback_context,
    check_input_parameters,
    inconsistent_splits,
)
from hpsearch._continuation import Continuation
from hpsearch._early_stopping import set_refit_iterations
from hpsearch._evaluate import EvalContext, warn_scoring_failures
from hpsearch._loop import MemoryRecorder, Promotable, Recorder, SearchRun
from hpsearch._progress import SearchProgress
from hpsearch._records import FoldResult, Proposal
from hpsearch._results import (
    best_index,
    summarize,
    to_frame,
    warn_or_raise_fit_failures,
)
from hpsearch._space import check_distributions, check_grid
from hpsearch.executors import check_pre_dispatch, make_executor, threadable
from hpsearch.strategies import GridStrategy, RandomStrategy, Rung, Strategy, Trial
from hpsearch.strategies._run_search import RunSearchStrategy

_HPSEARCH_CONSTRAINTS: dict[str, list[Any]] = {
    "progress": ["boolean", None],
    "storage": [str, object, None],
    "study": [str, None],
    "backend": [str, object, None],
    "retry_failed": ["boolean"],
    "storage_retry": [Interval(Real, 0, None, closed="left")],
    "timeout": [Interval(Real, 0, None, closed="neither"), None],
    "timeout_running": [StrOptions({"finish", "cancel"})],
    "fit_timeout": [Interval(Real, 0, None, closed="neither"), None],
}
# Halving and Hyperband: continue promoted candidates' fits (_continuation).
_CONTINUE_CONSTRAINT: dict[str, list[Any]] = {
    "continue_training": ["boolean", StrOptions({"auto"})],
}


@dataclasses.dataclass
class _Fit:
    """What ``fit`` has checked and derived from its arguments."""

    X: Any
    y: Any
    params: dict[str, Any]
    routed: Any
    scorers: Any
    refit_metric: Any
    splits: list[Any]
    metadata: Any = None
    root_ctx: Any = None
    continuation: Continuation | None = None  # continue_training, resolved


class _SearchMixin(BaseSearchCV):
    """hpsearch's ``fit``, shared by every search class.

    Subclasses say what to search with :meth:`_check_space` and
    :meth:`_make_strategy`; :meth:`_resource` names a task's resource.
    """

    def _check_space(self) -> None:
        """Refuse an illegal space (SpaceError), before anything is fitted."""
        raise NotImplementedError

    def check_space(self) -> None:
        """Refuse an illegal space before anything is fitted.

        ``fit`` and :meth:`plan` call it first; it needs no data. Raises
        :class:`~hpsearch.SpaceError` (a ``ValueError``) naming every value
        the estimator would refuse.

        Examples
        --------
        >>> from sklearn.svm import SVC
        >>> from hpsearch import GridSearchCV
        >>> GridSearchCV(SVC(), {"C": [1, "big"]}).check_space()
        Traceback (most recent call last):
        ...
        hpsearch._errors.SpaceValueError: The 'C' parameter of SVC must be a float in the range (0.0, inf]. Got 'big' instead.
        param_grid['C'] holds values that SVC does not accept: 'big' (str). The 'C' parameter of SVC must be a float in the range (0.0, inf].
        """  # noqa: E501
        self._check_space()

    def _make_strategy(self, fit: _Fit, random_state: Any = None) -> Strategy:
        """The strategy of a checked space.

        ``random_state``, when given, replaces the search's own (a stored
        study's seed, so that a rerun proposes the same candidates).
        """
        raise NotImplementedError

    def _resource(self) -> str | None:
        """What a task's resource is: "n_samples", a parameter, or None."""
        return None

    def _splits_work(self) -> bool:
        """Whether processes running this search on one study split its work:
        true where every candidate is planned at the start (grid, random with
        ``n_iter``); a search whose next work depends on the results so far
        refuses a second live process on its study."""
        return False

    def _continuation(self) -> Continuation | None:
        """How fits continue from a smaller resource (``continue_training``);
        None: from scratch. Raises ValueError for an impossible request."""
        return None

    def _promotable(self, strategy: Strategy) -> Promotable | None:
        """The strategy's ``promotable``, when fits may continue."""
        return None

    def _strategy_done(self, strategy: Strategy) -> None:
        """Take what the strategy found out (halving's fitted attributes)."""
        self._more_results = dict(getattr(strategy, "more_results", {}))

    def _custom_search(self) -> bool:
        """Whether a subclass brings its own ``_run_search``, the way
        scikit-learn's search classes are extended."""
        for klass in type(self).__mro__:
            if "_run_search" in vars(klass):
                return not klass.__module__.startswith(("sklearn.", "hpsearch."))
        return False

    def _run_search_strategy(self, fit: _Fit) -> Strategy:
        """The subclass's ``_run_search`` as a strategy on hpsearch's loop."""
        split_params = fit.routed.splitter.split

        def splits_of(cv: Any) -> list[Any]:
            splits = list(cv.split(fit.X, fit.y, **split_params))
            if len(splits) != self.n_splits_:
                raise inconsistent_splits(self.n_splits_, len(splits))
            return splits

        def to_results(trials: Sequence[Trial], more: Any) -> dict[str, Any]:
            summary = summarize(
                trials,
                error_score=self.error_score,
                return_train_score=self.return_train_score,
                refit_metric=None,
            )
            return {**{k: np.asarray(v) for k, v in more.items()}, **summary.cv_results}

        kwargs = {}
        if "callback_ctx" in inspect.signature(self._run_search).parameters:
            kwargs["callback_ctx"] = fit.root_ctx
        return RunSearchStrategy(self._run_search, splits_of, to_results, kwargs)

    def _open_recorder(self, fit: _Fit) -> Recorder:
        if getattr(self, "storage", None) is None:
            return MemoryRecorder()
        from hpsearch.storage import open_recorder

        return open_recorder(self, fit.X, fit.y, fit.params, fit.splits)

    def _prepare(self, X: Any, y: Any, params: dict[str, Any]) -> _Fit:
        """Check the arguments, the space and the splits; nothing is fitted."""
        scorers, refit_metric = self._get_scorers()
        X, y = indexable(X, y)
        self._n_samples_orig = _num_samples(X)
        params = _check_method_params(X, params=params)
        routed = self._get_routed_params_for_fit(params)
        self._checked_cv_orig = check_cv(
            self.cv, y, classifier=is_classifier(self.estimator)
        )
        check_input_parameters(self, X, y, routed.splitter.split)
        self.n_splits_ = self._checked_cv_orig.get_n_splits(
            X, y, **routed.splitter.split
        )
        self._check_space()  # before anything is fitted or stored
        check_pre_dispatch(getattr(self, "pre_dispatch", "2*n_jobs"))
        splits = list(self._checked_cv_orig.split(X, y, **routed.splitter.split))
        if not splits:  # before a study is stored with no splits
            raise ValueError(
                "No fits were performed. Was the CV iterator empty? Were there no "
                "candidates? cv gave no train/test splits: a generator such as "
                "KFold(5).split(X) can be iterated once only. Pass the splitter "
                "itself (cv=KFold(5)) or a list of splits."
            )
        if len(splits) != self.n_splits_:
            raise inconsistent_splits(self.n_splits_, len(splits))
        fit = _Fit(X, y, params, routed, scorers, refit_metric, splits)
        fit.continuation = self._continuation()  # continue_training, checked
        return fit

    def plan(self, X: Any, y: Any = None, **params: Any) -> list[Rung]:
        """The rounds this search would run on ``X, y``, without fitting.

        Checks everything ``fit`` checks first (the space, the splits, the
        resources), so a search that plans without an error starts without
        one.

        Parameters
        ----------
        X, y, **params
            As for :meth:`fit`.

        Returns
        -------
        list of Rung
            ``round``, ``n_candidates`` and ``resource`` of each round; a
            halving search has one per rung, grid and random search one.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from sklearn.svm import SVC
        >>> from hpsearch import GridSearchCV
        >>> X, y = load_iris(return_X_y=True)
        >>> GridSearchCV(SVC(), {"C": [0.1, 1, 10]}).plan(X, y)
        [Rung(round=0, n_candidates=3, resource=None, n_repeated=0)]
        """
        self._validate_params()
        fit = self._prepare(X, y, params)
        return list(self._make_strategy(fit).outline())

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
        fit = self._prepare(X, y, params)
        sample_weight = fit.params.get("sample_weight")
        fit.metadata = (
            None if sample_weight is None else {"sample_weight": sample_weight}
        )
        fit.root_ctx = callback_context(
            self, max_subtasks=1 + (self.refit is not False)
        ).call_on_fit_task_begin(
            estimator=self, X=fit.X, y=fit.y, metadata=fit.metadata
        )
        trials = self._run(fit)
        self._finish(trials, fit)
        return self

    def _run(self, fit: _Fit) -> list[Trial]:
        # The study opens first: a mismatch is refused before any worker starts,
        # and a search with random_state=None takes the study's seed.
        timeout = getattr(self, "timeout", None)
        deadline = None if timeout is None else time.monotonic() + timeout
        recorder = self._open_recorder(fit)
        # Which study this fit wrote, and where (passwords masked); None without.
        self.study_name_ = getattr(recorder, "name", None)
        self.storage_url_ = getattr(getattr(recorder, "storage", None), "url", None)
        try:
            if self._custom_search():
                strategy = self._run_search_strategy(fit)
            else:
                strategy = self._make_strategy(fit, recorder.random_state)
            executor = make_executor(
                getattr(self, "backend", None),
                self.n_jobs,
                getattr(self, "pre_dispatch", "2*n_jobs"),
                threadable=threadable(
                    self.estimator,
                    getattr(self, "param_grid", None),
                    getattr(self, "param_distributions", None),
                ),
                fit_timeout=getattr(self, "fit_timeout", None),
            )
        except BaseException:
            recorder.close()
            raise
        promotable = None if fit.continuation is None else self._promotable(strategy)
        ctx = EvalContext(
            estimator=clone(self.estimator),
            X=fit.X,
            y=fit.y,
            splits=fit.splits,
            scorer=fit.scorers,
            fit_params=fit.routed.estimator.fit,
            score_params=fit.routed.scorer.score,
            return_train_score=self.return_train_score,
            error_score=self.error_score,
            threads=executor.threads_per_unit,
            resource=self._resource(),
            continuation=None if promotable is None else fit.continuation,
            fit_timeout=getattr(self, "fit_timeout", None),
        )
        display = SearchProgress(
            verbose=self.verbose,
            bar=getattr(self, "progress", None),
            metric=fit.refit_metric if isinstance(fit.refit_metric, str) else None,
            description=type(self).__name__,
            rungs=strategy.outline() if self._resource() is not None else (),
            resource=self._resource(),
            error_score=self.error_score,
            metric_names=(
                list(fit.scorers._scorers)
                if isinstance(fit.scorers, _MultimetricScorer)
                else None
            ),
        )
        search_ctx = fit.root_ctx.subcontext(
            task_name="search", max_subtasks=None, sequential_subtasks=True
        )
        search_ctx.call_on_fit_task_begin(estimator=self)

        def on_result(result: FoldResult) -> None:
            warn_scoring_failures(result.extra.get("warnings", ()), self.error_score)
            # As scikit-learn: the train part of X, y and sample_weight.
            train: dict[str, Any] = {}
            if getattr(self, "_skl_callbacks", None):  # only when someone listens
                index = fit.splits[result.split][0]
                weight = fit.routed.estimator.fit.get("sample_weight")
                train = {
                    "X": _safe_indexing(fit.X, index),
                    "y": None if fit.y is None else _safe_indexing(fit.y, index),
                    "metadata": None
                    if weight is None
                    else {"sample_weight": _safe_indexing(weight, index)},
                }
            # One evaluation per listed candidate, as in scikit-learn, even
            # where equal candidates share one fit.
            for _ in range(listed.get(result.candidate_key, 1)):
                task_ctx = search_ctx.subcontext(task_name="candidate-split-evaluation")
                task_ctx.call_on_fit_task_begin(estimator=self, **train)
                task_ctx.call_on_fit_task_end(estimator=self, **train)

        listed: dict[str, int] = {}

        def on_start(proposals: Sequence[Proposal]) -> None:
            listed.clear()
            for proposal in proposals:
                key = proposal.candidate.key
                listed[key] = listed.get(key, 0) + 1

        run = SearchRun(
            strategy,
            ctx,
            executor,
            recorder,
            display,
            on_result,
            on_start=on_start,
            deadline=deadline,
            timeout_running=getattr(self, "timeout_running", "finish"),
            promotable=promotable,
        )
        try:
            trials = run.run()
        finally:
            self.workers_ = dict(executor.lanes)  # where the units ran
        self._strategy_done(strategy)
        search_ctx.call_on_fit_task_end(estimator=self)
        self.timed_out_ = run.timed_out
        if run.timed_out:
            self._report_timeout(run.n_incomplete, len(trials), run.n_cancelled)
        if not trials:
            raise ValueError(
                "No fits were performed. Was the CV iterator empty? "
                "Were there no candidates?"
            )
        return trials

    def _report_timeout(
        self, n_incomplete: int, n_complete: int, n_cancelled: int = 0
    ) -> None:
        """Say what the time budget left out (or refuse a budget that left
        nothing)."""
        timeout = getattr(self, "timeout", None)
        resume = (
            " Run the search again to continue with a fresh budget."
            if getattr(self, "storage", None) is not None
            else " Give a storage to continue it later, or a larger timeout."
        )
        if not n_complete:
            raise ValueError(
                f"timeout must leave time to evaluate a candidate on every "
                f"split; got timeout={timeout!r} and no candidate was fully "
                f"evaluated.{resume}"
            )
        cancelled = (
            f" {n_cancelled} fits in flight were cancelled (timeout_running='cancel')."
            if n_cancelled
            else ""
        )
        if n_incomplete:
            warnings.warn(
                f"timeout={timeout!r} expired: {n_incomplete} of "
                f"{n_incomplete + n_complete} proposed candidate evaluations "
                f"were not complete and are left out of cv_results_ and best_*."
                + cancelled
                + resume,
                UserWarning,
                stacklevel=4,
            )

    def _finish(self, trials: list[Trial], fit: _Fit) -> None:
        # The fit failures first, then non-finite scores: scikit-learn's order.
        warn_or_raise_fit_failures(trials, self.error_score)
        summary = summarize(
            trials,
            error_score=self.error_score,
            return_train_score=self.return_train_score,
            resource=self._resource(),
            refit_metric=None,
        )
        more = getattr(self, "_more_results", {})  # a custom _run_search's
        results = {**{k: np.asarray(v) for k, v in more.items()}, **summary.cv_results}
        refit_metric = fit.refit_metric
        metrics = [k[10:] for k in results if k.startswith("mean_test_")]
        self.multimetric_ = isinstance(fit.scorers, _MultimetricScorer) or (
            callable(self.scoring) and metrics != ["score"]
        )
        if callable(self.scoring) and self.multimetric_:
            self._check_refit_for_multimetric(dict.fromkeys(metrics))
            refit_metric = self.refit
        if self.refit or not self.multimetric_:
            self.best_index_ = self._select_best_index(
                self.refit, refit_metric, results
            )
            if not callable(self.refit) or "iter" in results:
                self.best_score_ = results[f"mean_test_{refit_metric}"][
                    self.best_index_
                ]
            self.best_params_ = results["params"][self.best_index_]
        if self.refit:
            self._refit(fit, results)
        self.scorer_ = (
            fit.scorers._scorers
            if isinstance(fit.scorers, _MultimetricScorer)
            else fit.scorers
        )
        self.cv_results_ = results
        self._statuses = summary.statuses
        fit.root_ctx.call_on_fit_task_end(
            estimator=self, X=fit.X, y=fit.y, metadata=fit.metadata
        )

    @staticmethod
    def _select_best_index(refit: Any, refit_metric: Any, results: Any) -> Any:
        """scikit-learn's rule (:func:`hpsearch._results.best_index`)."""
        if callable(refit) and "iter" not in results:
            return BaseSearchCV._select_best_index(refit, refit_metric, results)
        return best_index(results, refit_metric)

    def _refit(self, fit: _Fit, results: Any = None) -> None:
        # Parameters are cloned too: they may be estimators (a pipeline step).
        self.best_estimator_ = clone(self.estimator).set_params(
            **clone(self.best_params_, safe=False)
        )
        X, y, metadata = fit.X, fit.y, fit.metadata
        if results is not None:  # EarlyStoppers refit for their folds' iterations
            set_refit_iterations(self.best_estimator_, results, self.best_index_)
        refit_ctx = fit.root_ctx.subcontext(task_name="refit-with-best-params")
        with refit_ctx.propagate_callback_context(self.best_estimator_):
            refit_ctx.call_on_fit_task_begin(
                estimator=self, X=X, y=y, metadata=metadata
            )
            start = time.time()
            if y is not None:
                self.best_estimator_.fit(X, y, **fit.routed.estimator.fit)
            else:
                self.best_estimator_.fit(X, **fit.routed.estimator.fit)
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


def check_n_iter(search: Any) -> None:
    """``n_iter=None`` (draw until the time runs out) needs a timeout."""
    if search.n_iter is None and getattr(search, "timeout", None) is None:
        raise ValueError(
            "n_iter must be an int when there is no timeout; got None. "
            "Give n_iter, or a timeout to draw candidates until it expires."
        )


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
        ``"postgresql://..."``. None keeps them in memory only. Processes
        running the same search on one storage share its study's work: each
        fits what no other live process holds, and each ends with the full
        ``cv_results_``.
    study : str, default=None
        The study's name in the storage; None derives one from the search.
    backend : str, Client or None, default=None
        Where the work runs. None: with ``n_jobs`` > 1, threads of this
        process for scikit-learn's estimators (moving to loky processes if
        their fits hold the GIL), loky processes for any other estimator.
        "loky" (processes) and "threading" force one kind; "dask" (the active
        ``distributed.Client``), a scheduler address or a ``Client`` run on a
        Dask cluster.
    retry_failed : bool, default=False
        With a storage: run again the fits its study holds as failed (after
        fixing their cause). By default they are kept, as the other results.
    storage_retry : float, default=300
        Seconds the search rides out a storage that is unreachable (a lost
        connection, a restarting server) or busy (a SQLite file locked by
        another process): the fits go on, their results wait in memory and
        are committed in order once the storage is back. Past this bound the
        search stops with a StorageError that says how to resume. Five
        minutes cover a server restart or a managed database's failover.
    timeout : float or None, default=None
        Seconds after which no new work starts; work that runs then
        finishes. ``cv_results_`` and ``best_*`` hold the candidates fully
        evaluated by then (``timed_out_`` is True), and a warning says how
        many were not. With a storage, running the search again continues
        with a fresh budget (nothing stored is fitted again).
    timeout_running : {"finish", "cancel"}, default="finish"
        What ``timeout`` does to the fits running when it expires. "finish"
        waits for them (their results are kept, so no work is wasted; the
        search ends once the units handed to the workers are done). "cancel"
        stops them and returns at once: loky worker processes are terminated
        (joblib starts fresh ones when next needed), Dask futures cancelled;
        a fit running in a thread cannot be stopped, so its result is
        dropped and it finishes in the background (with ``n_jobs=1`` the fit
        runs in the caller's thread and finishes first). Cancelled fits are
        not stored.
    fit_timeout : float or None, default=None
        Seconds one fit (with its scoring) may take. A fit past the limit
        is stopped, its worker process replaced, and the (candidate, split)
        recorded as failed ("timed out after 60 s"), as ``error_score``
        says (``'raise'`` raises :class:`~hpsearch.FitTimeoutError`). Only
        a process can be stopped: fits run in worker processes (with
        ``n_jobs`` None or 1 in one, one fit at a time) or on Dask, one
        task per unit (no pipeline prefix shared); ``backend="threading"``
        or ``"serial"`` is refused.

    Attributes
    ----------
    cv_results_, best_estimator_, best_score_, best_params_, best_index_, \
scorer_, n_splits_, refit_time_, multimetric_, classes_, n_features_in_, \
feature_names_in_
        As in scikit-learn.
    results_ : pandas.DataFrame
        ``cv_results_`` as a table, one row per candidate.
    study_name_ : str or None
        The study this fit wrote in ``storage`` (None without a storage).
    storage_url_ : str or None
        The storage's URL, any password masked as ``***``: look at the
        study from the command line with
        ``hpsearch show <study_name_> --storage <storage_url_>``.
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
        retry_failed: bool = False,
        storage_retry: float = 300.0,
        timeout: float | None = None,
        timeout_running: str = "finish",
        fit_timeout: float | None = None,
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
        self.retry_failed = retry_failed
        self.storage_retry = storage_retry
        self.timeout = timeout
        self.timeout_running = timeout_running
        self.fit_timeout = fit_timeout

    def _check_space(self) -> None:
        check_grid(self.estimator, self.param_grid)

    def _make_strategy(self, fit: _Fit, random_state: Any = None) -> Strategy:
        return GridStrategy(self.param_grid)

    def _splits_work(self) -> bool:
        return not self._custom_search()


class RandomizedSearchCV(_SearchMixin, _SkRandomizedSearchCV):
    """Randomized search over parameter settings, scikit-learn's RandomizedSearchCV.

    Draws the same candidates, in the same order, as
    :class:`sklearn.model_selection.RandomizedSearchCV` for the same
    ``random_state``, and gives the same results; the space is checked against
    the estimator (each distribution on a few draws of its own) before any fit.

    Parameters
    ----------
    estimator, param_distributions, scoring, n_jobs, refit, cv, verbose, \
pre_dispatch, random_state, error_score, return_train_score
        As in :class:`sklearn.model_selection.RandomizedSearchCV`.
    n_iter : int or None, default=10
        As in scikit-learn; None draws candidates until ``timeout`` expires
        (a list-only space: until its grid is exhausted).
    progress, storage, study, backend, retry_failed, storage_retry, timeout, \
timeout_running, fit_timeout
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
        "n_iter": [Interval(Integral, 1, None, closed="left"), None],
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
        retry_failed: bool = False,
        storage_retry: float = 300.0,
        timeout: float | None = None,
        timeout_running: str = "finish",
        fit_timeout: float | None = None,
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
        self.retry_failed = retry_failed
        self.storage_retry = storage_retry
        self.timeout = timeout
        self.timeout_running = timeout_running
        self.fit_timeout = fit_timeout

    def _check_space(self) -> None:
        check_distributions(self.estimator, self.param_distributions)
        check_n_iter(self)

    def _make_strategy(self, fit: _Fit, random_state: Any = None) -> Strategy:
        seed = self.random_state if random_state is None else random_state
        return RandomStrategy(self.param_distributions, self.n_iter, seed)

    def _splits_work(self) -> bool:
        return self.n_iter is not None and not self._custom_search()
