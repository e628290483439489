"""Trials become ``cv_results_`` (scikit-learn's layout, to the dtype) and
``results_`` (a tidy DataFrame), and the fit-failure report."""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.ma import MaskedArray
from scipy.stats import rankdata
from sklearn.exceptions import FitFailedWarning

from hpsearch.strategies import Trial


def to_cv_results(
    trials: Sequence[Trial],
    return_train_score: bool,
    more_results: Mapping[str, Sequence[Any]] | None = None,
) -> dict[str, Any]:
    """``cv_results_`` for these trials, candidate order kept."""
    n_candidates = len(trials)
    n_splits = len(trials[0].folds)
    folds = [f for t in trials for f in t.folds]
    results: dict[str, Any] = {
        k: np.asarray(v) for k, v in (more_results or {}).items()
    }

    def store(
        name: str, values: list[float], splits: bool = False, rank: bool = False
    ) -> None:
        array = np.array(values, dtype=np.float64).reshape(n_candidates, n_splits)
        if splits:
            for i in range(n_splits):
                results[f"split{i}_{name}"] = array[:, i]
        means = array.mean(axis=1)
        results[f"mean_{name}"] = means
        if name.startswith(("train_", "test_")) and not np.isfinite(means).all():
            warnings.warn(
                f"One or more of the {name.split('_')[0]} scores are non-finite: "
                f"{means}",
                UserWarning,
                stacklevel=4,
            )
        results[f"std_{name}"] = np.sqrt(((array - means[:, None]) ** 2).mean(axis=1))
        if rank:
            results[f"rank_{name}"] = rank_scores(means)

    store("fit_time", [f.fit_time for f in folds])
    store("score_time", [f.score_time for f in folds])
    params = [dict(t.candidate.params) for t in trials]
    results.update(param_columns(params))
    results["params"] = params
    metrics = list(folds[0].test_scores)
    for metric in metrics:
        store(f"test_{metric}", [f.test_scores[metric] for f in folds], True, True)
        if return_train_score:
            train = [(f.train_scores or {})[metric] for f in folds]
            store(f"train_{metric}", train, True)
    # Numbers a fitted estimator reports per fold (EarlyStopper: n_iterations).
    columns = sorted({name for f in folds for name in f.extra.get("columns", {})})
    for name in columns:
        values = [f.extra.get("columns", {}).get(name, np.nan) for f in folds]
        store(name, values, splits=True)
    return results


def rank_scores(means: np.ndarray) -> np.ndarray:
    """Rank 1 for the best mean; ties share the lowest rank; NaN ranks last."""
    if np.isnan(means).all():
        return np.ones_like(means, dtype=np.int32)
    filled = np.where(np.isnan(means), np.nanmin(means) - 1, means)
    return rankdata(-filled, method="min").astype(np.int32, copy=False)


def param_columns(params: Sequence[Mapping[str, Any]]) -> dict[str, MaskedArray]:
    """One masked array per parameter, masked where a candidate lacks it."""
    n = len(params)
    columns: dict[str, dict[int, Any]] = {}
    for i, setting in enumerate(params):
        for name, value in setting.items():
            columns.setdefault(f"param_{name}", {})[i] = value
    out = {}
    for key, values in columns.items():
        dtype: Any
        try:
            arr = np.array(list(values.values()))
        except ValueError:  # sequences of different lengths
            dtype = np.dtype(object)
        else:
            # Strings and same-length sequences would not make a 1-d array of
            # one value per candidate: keep them as objects.
            dtype = arr.dtype if arr.dtype.kind != "U" and arr.ndim == 1 else object
        column = MaskedArray(np.empty(n, dtype=dtype), mask=True)
        for i, value in values.items():
            column[i] = value
        out[key] = column
    return out


def to_frame(cv_results: Mapping[str, Any]) -> pd.DataFrame:
    """``results_``: one row per candidate, one column per parameter and metric.

    Columns: the parameters (without the ``param_`` prefix), then for each
    metric ``mean_test_<m>``, ``std_test_<m>``, ``rank_test_<m>`` (and train
    scores when recorded), then fit and score times and ``status`` ("ok", or
    "failed" when any split failed).
    """
    params = cv_results["params"]
    frame = pd.DataFrame.from_records(
        [dict(p) for p in params], index=pd.RangeIndex(len(params), name="candidate")
    )
    stats = [k for k in cv_results if k.startswith(("mean_", "std_", "rank_"))]
    metric_cols = sorted(
        (k for k in stats if "_test_" in k or "_train_" in k),
        key=lambda k: (
            k.split("_", 2)[2],
            k.split("_", 1)[1][:4] != "test",
            ["mean", "std", "rank"].index(k.split("_", 1)[0]),
        ),
    )
    for key in [
        *metric_cols,
        "mean_fit_time",
        "std_fit_time",
        "mean_score_time",
        "std_score_time",
    ]:
        frame[key] = np.asarray(cv_results[key])
    return frame


def warn_or_raise_fit_failures(trials: Sequence[Trial], error_score: Any) -> None:
    """scikit-learn's FitFailedWarning, naming the failing parameters too.

    All fits failing is an error, as in scikit-learn.
    """
    folds = [(t, f) for t in trials for f in t.folds]
    failed = [(t, f) for t, f in folds if f.status == "failed"]
    if not failed:
        return
    errors = Counter(f.error for _, f in failed)
    delimiter = "-" * 80 + "\n"
    summary = "\n".join(
        f"{delimiter}{n} fits failed with the following error:\n{error}"
        for error, n in errors.items()
    )
    if len(failed) == len(folds):
        raise ValueError(
            f"\nAll the {len(folds)} fits failed.\n"
            "It is very likely that your model is misconfigured.\n"
            "You can try to debug the error by setting error_score='raise'.\n\n"
            f"Below are more details about the failures:\n{summary}"
        )
    by_candidate: dict[str, tuple[Trial, int, str]] = {}
    for trial, fold in failed:
        _, count, _ = by_candidate.get(trial.candidate.key, (trial, 0, ""))
        last_line = (fold.error or "").strip().splitlines()[-1:] or [""]
        by_candidate[trial.candidate.key] = (trial, count + 1, last_line[0])
    named = "\n".join(
        f"  {_params_text(t.candidate.params)}: {n} of {len(t.folds)} splits failed "
        f"({error})"
        for t, n, error in by_candidate.values()
    )
    warnings.warn(
        f"\n{len(failed)} fits failed out of a total of {len(folds)}.\n"
        "The score on these train-test partitions for these parameters"
        f" will be set to {error_score}.\n"
        "If these failures are not expected, you can try to debug them "
        "by setting error_score='raise'.\n\n"
        f"Failing parameters:\n{named}\n\n"
        f"Below are more details about the failures:\n{summary}",
        FitFailedWarning,
        stacklevel=3,
    )


def _params_text(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in sorted(params.items())) or "(defaults)"
