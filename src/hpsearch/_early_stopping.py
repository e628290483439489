"""Early stopping inside cross-validation: :class:`EarlyStopper`.

Boosted trees and neural networks stop early on a validation set. In a
search, that set must come from each fold's *training* rows: a global
``eval_set`` (the usual advice) lets every fold stop on rows that are some
other fold's test rows, and the scores are optimistic. ``EarlyStopper`` wraps
the estimator; its ``fit`` carves a validation part out of the rows it is
given (in a search: the fold's training rows, never its test rows), fits with
the library's own early stopping on that part, and keeps the number of
iterations the fit used (``n_iterations_``). A search reports that number
per fold (``split<i>_n_iterations``, ``mean_n_iterations`` and
``std_n_iterations`` in ``cv_results_``) and refits the best candidate on all
rows for a number of iterations taken from its folds (``refit_iterations``:
the median by default).

Each supported library is one :class:`_Library` entry: how to fit with early
stopping on given validation rows and read the iterations used, and how to fit
a fixed number of iterations.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.model_selection import train_test_split
from sklearn.utils import get_tags
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _num_samples, check_is_fitted

from hpsearch._extras import require

# The column a fold's iterations get in cv_results_ (split<i>_, mean_, std_).
COLUMN = "n_iterations"

REFIT_RULES = ("median", "mean", "max", "validation")
_RULES: dict[str, Callable[[np.ndarray], Any]] = {
    "median": np.median,
    "mean": np.mean,
    "max": np.max,
}


@dataclass(frozen=True)
class _Library:
    """How one library stops early, and how it fits a fixed number of rounds."""

    name: str
    # The parameter that caps the iterations: the most a fold may use.
    iterations_param: str
    # (estimator, X, y, X_val, y_val, patience, fit params) -> iterations used
    fit_stopping: Callable[..., int]
    # (estimator, X, y, iterations, fit params) -> None
    fit_fixed: Callable[..., None]


def _lightgbm_stopping(est, X, y, X_val, y_val, patience, params) -> int:
    lightgbm = require("lightgbm", "EarlyStopper with a LightGBM model")

    stop = lightgbm.early_stopping(patience, first_metric_only=True, verbose=False)
    callbacks = [*params.pop("callbacks", []), stop]
    evals: dict[str, Any]
    if "eval_X" in inspect.signature(est.fit).parameters:  # LightGBM >= 4.7
        evals = {"eval_X": (X_val,), "eval_y": (y_val,)}
    else:
        evals = {"eval_set": [(X_val, y_val)]}
    est.fit(X, y, callbacks=callbacks, **evals, **params)
    # LightGBM predicts with its best iteration from now on.
    return max(1, int(est.best_iteration_ or est.n_estimators))


def _lightgbm_fixed(est, X, y, n, params) -> None:
    est.set_params(n_estimators=n).fit(X, y, **params)


def _xgboost_stopping(est, X, y, X_val, y_val, patience, params) -> int:
    est.set_params(early_stopping_rounds=patience)
    est.fit(X, y, eval_set=[(X_val, y_val)], verbose=False, **params)
    # XGBoost predicts with its best iteration (0-based) from now on.
    return int(est.best_iteration) + 1


def _xgboost_fixed(est, X, y, n, params) -> None:
    est.set_params(n_estimators=n, early_stopping_rounds=None).fit(X, y, **params)


def _hist_gb_stopping(est, X, y, X_val, y_val, patience, params) -> int:
    est.set_params(early_stopping=True, n_iter_no_change=patience)
    est.fit(X, y, X_val=X_val, y_val=y_val, **params)
    # validation_score_[i] is the score after i iterations (0: the baseline).
    # The model keeps the `patience` iterations after the best one: scikit-learn
    # cannot drop them, so the fold is scored with them.
    return max(1, int(np.argmax(est.validation_score_)))


def _hist_gb_fixed(est, X, y, n, params) -> None:
    est.set_params(max_iter=n, early_stopping=False).fit(X, y, **params)


_SKORCH_CALLBACK = "hpsearch_early_stopping"


def _skorch_stopping(est, X, y, X_val, y_val, patience, params) -> int:
    require("skorch", "EarlyStopper with a skorch network")
    from skorch.callbacks import EarlyStopping
    from skorch.dataset import Dataset
    from skorch.helper import predefined_split

    stop = EarlyStopping(monitor="valid_loss", patience=patience, load_best=True)
    callbacks = [*(est.callbacks or []), (_SKORCH_CALLBACK, stop)]
    est.set_params(
        train_split=predefined_split(Dataset(X_val, y_val)), callbacks=callbacks
    )
    est.fit(X, y, **params)
    # load_best put back the module of the best epoch.
    best = np.flatnonzero(est.history[:, "valid_loss_best"])
    return int(best[-1]) + 1 if len(best) else len(est.history)


def _skorch_fixed(est, X, y, n, params) -> None:
    est.set_params(max_epochs=n, train_split=None).fit(X, y, **params)


def _keras_stopping(est, X, y, X_val, y_val, patience, params) -> int:
    keras = require("keras", "EarlyStopper with a Keras model")

    stop = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=patience, restore_best_weights=True
    )
    callbacks = est.callbacks
    callbacks = [] if callbacks is None else list(np.atleast_1d(callbacks))
    # Keras holds out the *last* validation_split of the rows, before it
    # shuffles: put the carved validation rows last. scikeras encodes the
    # targets of both parts together. Half a row of slack keeps Keras'
    # floor(n * (1 - split)) on the boundary despite rounding.
    n_val = _num_samples(X_val)
    n = _num_samples(X) + n_val
    est.set_params(validation_split=(n_val - 0.5) / n, callbacks=[*callbacks, stop])
    est.fit(_concat(X, X_val), _concat(y, y_val), **params)
    losses = est.history_["val_loss"]
    return int(np.argmin(losses)) + 1


def _keras_fixed(est, X, y, n, params) -> None:
    est.set_params(epochs=n, validation_split=0.0).fit(X, y, **params)


def _concat(a: Any, b: Any) -> Any:
    if hasattr(a, "iloc"):  # pandas
        import pandas as pd

        return pd.concat([a, b])
    return np.concatenate([np.asarray(a), np.asarray(b)])


# Recognised by the module and names of the estimator's classes, so that no
# library is imported to look.
_LIBRARIES: dict[str, _Library] = {
    "lightgbm": _Library(
        "LightGBM", "n_estimators", _lightgbm_stopping, _lightgbm_fixed
    ),
    "xgboost": _Library("XGBoost", "n_estimators", _xgboost_stopping, _xgboost_fixed),
    "sklearn": _Library(
        "HistGradientBoosting", "max_iter", _hist_gb_stopping, _hist_gb_fixed
    ),
    "skorch": _Library("skorch", "max_epochs", _skorch_stopping, _skorch_fixed),
    "scikeras": _Library("scikeras", "epochs", _keras_stopping, _keras_fixed),
}

_SUPPORTED = (
    "lightgbm.LGBMModel (LGBMClassifier, LGBMRegressor, LGBMRanker), "
    "xgboost.XGBModel (XGBClassifier, XGBRegressor, ...), scikit-learn's "
    "HistGradientBoostingClassifier and HistGradientBoostingRegressor, "
    "skorch.NeuralNet (NeuralNetClassifier, NeuralNetRegressor) and "
    "scikeras.wrappers.BaseWrapper (KerasClassifier, KerasRegressor)"
)


def library_of(estimator: Any) -> _Library | None:
    """The library entry for ``estimator``'s class, or None if unsupported."""
    for cls in type(estimator).__mro__:
        root = cls.__module__.split(".")[0]
        if root == "sklearn":
            if cls.__name__ == "BaseHistGradientBoosting":
                return _LIBRARIES["sklearn"]
            continue
        if root == "lightgbm" and cls.__name__ == "LGBMModel":
            return _LIBRARIES["lightgbm"]
        if root == "xgboost" and cls.__name__ == "XGBModel":
            return _LIBRARIES["xgboost"]
        if root == "skorch" and cls.__name__ == "NeuralNet":
            return _LIBRARIES["skorch"]
        if root == "scikeras" and cls.__name__ == "BaseWrapper":
            return _LIBRARIES["scikeras"]
    return None


def _estimator_has(attr: str) -> Callable[[Any], bool]:
    def check(self: Any) -> bool:
        inner = getattr(self, "estimator_", self.estimator)
        return hasattr(inner, attr)

    return check


class EarlyStopper(MetaEstimatorMixin, BaseEstimator):
    """Stop early on a validation part of the rows given to ``fit``.

    In a search, each fold's validation part is carved from that fold's
    training rows, never from its test rows, and each fold stops on its own.
    The iterations each fold used are reported in the search's ``cv_results_``
    (``split<i>_n_iterations``, ``mean_n_iterations``, ``std_n_iterations``),
    and the best candidate is refitted on all rows for a number of iterations
    taken from its folds (``refit_iterations``).

    Parameters
    ----------
    estimator : estimator
        A LightGBM, XGBoost, HistGradientBoosting, skorch or scikeras
        estimator. Its iteration parameter (``n_estimators``, ``max_iter``,
        ``max_epochs``, ``epochs``) is the most a fit may use; search it and
        its other parameters as ``estimator__<name>``.
    validation_fraction : float, default=0.1
        The share of the rows given to ``fit`` held out to stop on; stratified
        by class for classifiers.
    patience : int, default=10
        Stop after this many iterations without a better validation loss
        (the library's default loss for the task).
    refit_iterations : {"median", "mean", "max", "validation"}, default="median"
        How a search's refit of the best candidate chooses its iterations:
        the median (or mean, or max) of the iterations its folds used,
        trained on all rows with no validation part; or "validation": stop
        early again, on a validation part of all rows. The median is the
        default because the folds' scores were measured at about that many
        iterations, and one fold that stopped very late or very early does
        not move it.
    n_iterations : int or None, default=None
        None: stop early. A number: fit exactly that many iterations on all
        rows, with no validation part (what a search's refit sets).
    random_state : int, RandomState instance or None, default=0
        Seeds the choice of the validation rows.

    Attributes
    ----------
    estimator_ : estimator
        The fitted estimator.
    n_iterations_ : int
        The iterations of the best validation loss (or ``n_iterations``).
    validation_indices_ : ndarray or None
        Positions, in the rows given to ``fit``, of the validation rows (None
        when ``n_iterations`` was set).

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.ensemble import HistGradientBoostingClassifier
    >>> from hpsearch import EarlyStopper, GridSearchCV
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> model = EarlyStopper(HistGradientBoostingClassifier(max_iter=100), patience=5)
    >>> search = GridSearchCV(
    ...     model, {"estimator__learning_rate": [0.1, 0.3]}, cv=3, progress=False
    ... ).fit(X, y)
    >>> search.cv_results_["split0_n_iterations"].shape
    (2,)
    >>> search.best_estimator_.n_iterations is not None  # refit: fold median
    True
    """

    _parameter_constraints: dict = {
        "estimator": [object],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "patience": [Interval(numbers.Integral, 1, None, closed="left")],
        "refit_iterations": [StrOptions(set(REFIT_RULES))],
        "n_iterations": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator: Any,
        *,
        validation_fraction: float = 0.1,
        patience: int = 10,
        refit_iterations: str = "median",
        n_iterations: int | None = None,
        random_state: Any = 0,
    ) -> None:
        self.estimator = estimator
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.refit_iterations = refit_iterations
        self.n_iterations = n_iterations
        self.random_state = random_state

    def __sklearn_tags__(self) -> Any:
        tags = get_tags(self.estimator)
        return tags

    def fit(self, X: Any, y: Any = None, **fit_params: Any) -> EarlyStopper:
        """Fit with early stopping on a validation part of these rows.

        ``fit_params`` go to the estimator's ``fit``; those with one value per
        row (``sample_weight``) are split with the rows.
        """
        self._validate_params()
        library = library_of(self.estimator)
        if library is None:
            raise TypeError(
                "EarlyStopper's estimator must be one whose library stops early "
                f"on a validation set: {_SUPPORTED}; got "
                f"{type(self.estimator).__name__}. For other estimators use "
                "their own early-stopping options."
            )
        estimator = clone(self.estimator)
        if self.n_iterations is not None:
            library.fit_fixed(estimator, X, y, self.n_iterations, dict(fit_params))
            self.estimator_ = estimator
            self.n_iterations_ = int(self.n_iterations)
            self.validation_indices_ = None
            return self
        train, val = self._carve(X, y)
        split = _split_params(fit_params, _num_samples(X), train)
        self.n_iterations_ = library.fit_stopping(
            estimator,
            _take(X, train),
            _take(y, train),
            _take(X, val),
            _take(y, val),
            self.patience,
            split,
        )
        self.estimator_ = estimator
        self.validation_indices_ = val
        return self

    def _carve(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """Positions of the rows to train on and to validate on."""
        n = _num_samples(X)
        indices = np.arange(n)
        stratify = None
        if y is not None and get_tags(self.estimator).estimator_type == "classifier":
            _, counts = np.unique(np.asarray(y), return_counts=True)
            n_val = math.ceil(self.validation_fraction * n)
            # Stratify when every class can give a row to each part.
            if counts.min() >= 2 and n_val >= len(counts):
                stratify = y
        train, val = train_test_split(
            indices,
            test_size=self.validation_fraction,
            random_state=self.random_state,
            stratify=stratify,
        )
        return np.sort(train), np.sort(val)

    @property
    def classes_(self) -> Any:
        """The classes of the fitted classifier."""
        check_is_fitted(self)
        return self.estimator_.classes_

    @property
    def n_features_in_(self) -> Any:
        """Features seen in ``fit``."""
        check_is_fitted(self)
        return self.estimator_.n_features_in_

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "estimator_")

    @available_if(_estimator_has("predict"))
    def predict(self, X: Any, **params: Any) -> Any:
        """The fitted estimator's predictions."""
        check_is_fitted(self)
        return self.estimator_.predict(X, **params)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X: Any, **params: Any) -> Any:
        """The fitted estimator's class probabilities."""
        check_is_fitted(self)
        return self.estimator_.predict_proba(X, **params)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X: Any, **params: Any) -> Any:
        """The fitted estimator's log class probabilities."""
        check_is_fitted(self)
        return self.estimator_.predict_log_proba(X, **params)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X: Any) -> Any:
        """The fitted estimator's decision function."""
        check_is_fitted(self)
        return self.estimator_.decision_function(X)

    @available_if(_estimator_has("score"))
    def score(self, X: Any, y: Any = None, **params: Any) -> Any:
        """The fitted estimator's own score."""
        check_is_fitted(self)
        return self.estimator_.score(X, y, **params)


def _take(data: Any, rows: np.ndarray) -> Any:
    if data is None:
        return None
    if hasattr(data, "iloc"):
        return data.iloc[rows]
    return np.asarray(data)[rows] if not hasattr(data, "shape") else data[rows]


def _split_params(
    params: Mapping[str, Any], n: int, rows: np.ndarray
) -> dict[str, Any]:
    """Fit parameters with one value per row keep the training rows' values."""
    out = {}
    for name, value in params.items():
        if hasattr(value, "__len__") and not isinstance(value, str | Mapping):
            try:
                if _num_samples(value) == n:
                    value = _take(value, rows)
            except TypeError:
                pass
        out[name] = value
    return out


# ---------------------------------------------------------------------------
# The search's side: a fold's column, and the refit's iterations


def fold_columns(fitted: Any) -> dict[str, float]:
    """Per-fold numbers a fitted estimator reports for ``cv_results_``.

    An :class:`EarlyStopper`, alone or as a pipeline's last step, reports the
    iterations it used.
    """
    while hasattr(fitted, "steps"):
        fitted = fitted.steps[-1][1]
    if isinstance(fitted, EarlyStopper) and hasattr(fitted, "n_iterations_"):
        return {COLUMN: float(fitted.n_iterations_)}
    return {}


def set_refit_iterations(
    estimator: Any, cv_results: Mapping[str, Any], index: int
) -> None:
    """Give the EarlyStoppers in a refit the iterations their rule picks.

    The rule reads candidate ``index``'s ``split<i>_n_iterations`` columns;
    folds that failed (NaN) are left out.
    """
    stoppers = _stoppers(estimator)
    if not stoppers:
        return
    splits = sorted(
        k for k in cv_results if k.startswith("split") and k.endswith(f"_{COLUMN}")
    )
    values = np.array([cv_results[k][index] for k in splits], dtype=float)
    values = values[np.isfinite(values)]
    if not len(values):
        return
    for path, stopper in stoppers:
        rule = stopper.refit_iterations
        if rule == "validation":
            continue
        pick: Callable[[np.ndarray], Any] = _RULES[rule]
        n = pick(values)
        name = f"{path}__n_iterations" if path else "n_iterations"
        estimator.set_params(**{name: max(1, round(float(n)))})


def _stoppers(estimator: Any) -> Sequence[tuple[str, EarlyStopper]]:
    if isinstance(estimator, EarlyStopper):
        return [("", estimator)]
    if not hasattr(estimator, "get_params"):
        return []
    return [
        (name, value)
        for name, value in estimator.get_params(deep=True).items()
        if isinstance(value, EarlyStopper)
    ]
