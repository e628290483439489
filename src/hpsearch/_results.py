"""Trials become ``cv_results_`` (scikit-learn's layout, to the dtype),
``results_`` (a tidy DataFrame) and the best candidate, and the fit-failure
report. One module for a fitted search and a stored study alike, so the two
always agree."""

from __future__ import annotations

import dataclasses
import numbers
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.ma import MaskedArray
from scipy.stats import rankdata
from sklearn.exceptions import FitFailedWarning

from hpsearch._records import FOLDS, FoldResult
from hpsearch.strategies import Trial


@dataclasses.dataclass(frozen=True)
class Summary:
    """What a search's or a study's trials add up to.

    ``best_index`` follows scikit-learn's rule (see :func:`best_index`); None
    when there is no trial or no refit metric.
    """

    cv_results: dict[str, Any]
    statuses: list[str]
    best_index: int | None


def summarize(
    trials: Sequence[Trial],
    *,
    error_score: Any,
    return_train_score: bool,
    resource: str | None = None,
    refit_metric: str | None = "score",
) -> Summary:
    """``cv_results_``, the status of each row and the best row, for trials."""
    trials = fill_failed(trials, error_score)
    results = to_cv_results(trials, return_train_score, resource)
    best = None
    if refit_metric is not None and f"rank_test_{refit_metric}" in results:
        best = best_index(results, refit_metric)
    return Summary(results, statuses(trials), best)


def best_index(results: Mapping[str, Any], refit_metric: str) -> int:
    """The best row, by scikit-learn's rules.

    The first row ranked 1 for the refit metric; for successive halving
    (``results`` has an ``iter`` column), the best mean test score of the
    last round, the first such row on ties (NaN everywhere: its first row).
    """
    if "iter" in results:
        rounds = np.asarray(results["iter"])
        last = np.flatnonzero(rounds == rounds.max())
        scores = np.asarray(results["mean_test_score"])[last]  # a single metric
        return int(last[0 if np.isnan(scores).all() else np.nanargmax(scores)])
    return int(np.asarray(results[f"rank_test_{refit_metric}"]).argmin())


def statuses(trials: Sequence[Trial]) -> list[str]:
    """ "failed" for a trial with a failed split, else "ok"."""
    return [
        "failed" if any(f.status == "failed" for f in t.folds) else "ok" for t in trials
    ]


def fill_failed(trials: Sequence[Trial], error_score: Any) -> list[Trial]:
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


def trial_params(trial: Trial, resource: str | None) -> dict[str, Any]:
    """A row's parameters: the candidate's, and its budget parameter if any."""
    params = dict(trial.candidate.params)
    if resource not in (None, "n_samples", FOLDS) and trial.resource is not None:
        params[resource] = trial.resource  # as scikit-learn's halving shows it
    return params


def to_cv_results(
    trials: Sequence[Trial],
    return_train_score: bool,
    resource: str | None = None,
) -> dict[str, Any]:
    """``cv_results_`` for these trials, their order kept.

    With a ``resource`` (successive halving), the first columns are ``iter``
    (the round) and ``n_resources``, as in scikit-learn's halving classes;
    with ``continue_training``, ``continued_from`` (see :func:`continued_from`).
    A trial may have run some of the splits only (a race on folds): its
    other ``split<i>_`` values are NaN, and its mean and std are over the
    splits it ran.
    """
    n_candidates = len(trials)
    folds = [f for t in trials for f in t.folds]
    n_splits = 1 + max(f.split for f in folds)
    rows = np.asarray([i for i, t in enumerate(trials) for _ in t.folds], dtype=int)
    cols = np.asarray([f.split for f in folds], dtype=int)
    ran = np.zeros((n_candidates, n_splits), dtype=bool)
    ran[rows, cols] = True
    results: dict[str, Any] = {}
    if resource is not None:
        results["iter"] = np.asarray([t.round for t in trials])
        results["n_resources"] = np.asarray([t.resource for t in trials])
    if any("continued_from" in f.extra for f in folds):  # continue_training
        results["continued_from"] = np.asarray(
            [continued_from(t) for t in trials], dtype=np.float64
        )

    def store(
        name: str, values: list[float], splits: bool = False, rank: bool = False
    ) -> None:
        if ran.all():
            array = np.array(values, dtype=np.float64).reshape(n_candidates, n_splits)
            means = array.mean(axis=1)
            stds = np.sqrt(((array - means[:, None]) ** 2).mean(axis=1))
        else:  # each row over the splits it ran
            array = np.full((n_candidates, n_splits), np.nan)
            array[rows, cols] = values
            count = ran.sum(axis=1)
            means = np.where(ran, array, 0.0).sum(axis=1) / count
            squares = np.where(ran, (array - means[:, None]) ** 2, 0.0)
            stds = np.sqrt(squares.sum(axis=1) / count)
        if splits:
            for i in range(n_splits):
                results[f"split{i}_{name}"] = array[:, i]
        results[f"mean_{name}"] = means
        if name.startswith(("train_", "test_")) and not np.isfinite(means).all():
            warnings.warn(
                f"One or more of the {name.split('_')[0]} scores are non-finite: "
                f"{means}",
                UserWarning,
                stacklevel=4,
            )
        results[f"std_{name}"] = stds
        if rank:
            results[f"rank_{name}"] = rank_scores(means)

    store("fit_time", [f.fit_time for f in folds])
    store("score_time", [f.score_time for f in folds])
    params = [trial_params(t, resource) for t in trials]
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


def continued_from(trial: Trial) -> float:
    """The smaller resource a row's fits went on from; NaN: from scratch.

    A row whose folds partly continued (a fold that failed on the smaller
    resource, a resumed search) gives the resource the others went on from.
    """
    values = [f.extra.get("continued_from") for f in trial.folds]
    return next((float(v) for v in values if v is not None), np.nan)


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

    Columns: ``iter``, ``n_resources`` (and ``continued_from``) for successive
    halving, the
    parameters (without the ``param_`` prefix), then for each
    metric ``mean_test_<m>``, ``std_test_<m>``, ``rank_test_<m>`` (and train
    scores when recorded), then fit and score times and ``status`` ("ok", or
    "failed" when any split failed).
    """
    params = cv_results["params"]
    frame = pd.DataFrame.from_records(
        [dict(p) for p in params], index=pd.RangeIndex(len(params), name="candidate")
    )
    # Successive halving's round and budget, and where a fit continued from.
    for key in ("continued_from", "n_resources", "iter"):
        if key in cv_results:
            frame.insert(0, key, np.asarray(cv_results[key]))
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
