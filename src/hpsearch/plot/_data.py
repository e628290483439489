"""What to draw: plain tables computed from a search's results, no plotting.

Every figure of :mod:`hpsearch.plot` is drawn from one of the records here,
built by a function of a :class:`Source`: the results of a fitted search, a
stored study or a ``cv_results_`` dict, normalised once. Nothing here imports
plotly, so these functions are tested without it (and without a browser), and
the dashboard serves the same numbers.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from hpsearch._errors import HpsearchError

Kind = Literal["numeric", "log", "categorical"]
#: The method :func:`importance` uses, as the figure states it.
IMPORTANCE_METHOD = (
    "permutation importance on a random-forest surrogate: a "
    "RandomForestRegressor (100 trees) fitted to the mean test scores (of at "
    "most 2,000 candidates, drawn at random), each parameter shuffled 10 "
    "times; the mean drop in the surrogate's R²"
)


class PlotError(HpsearchError, ValueError):
    """A plot cannot be drawn from these results as asked."""


@dataclass(frozen=True)
class Source:
    """A search's results, normalised: one row per candidate.

    ``frame`` has a ``candidate`` column (index in ``cv_results_``), one
    column per parameter (``param_<name>``, values as given), ``score``
    (mean test score of ``metric``), ``std``, ``split<i>`` fold scores,
    ``fit_time`` and ``score_time`` (means per fold), ``status``, and where
    known ``finished`` (seconds since the search's first fit started).
    ``folds`` has one row per fold result where known (stored studies):
    ``candidate``, ``split``, ``status``, ``fit_time``, ``started``,
    ``finished``, ``error``.
    """

    frame: pd.DataFrame
    params: tuple[str, ...]
    metric: str
    n_splits: int
    cv_results: Mapping[str, Any]
    folds: pd.DataFrame | None = None
    timed: bool = False
    texts: Sequence[str] = ()


def source(results: Any, metric: str | None = None) -> Source:
    """The :class:`Source` of a fitted search, a stored study or ``cv_results_``.

    Parameters
    ----------
    results : fitted search, Study or dict
        A fitted hpsearch or scikit-learn search (anything with
        ``cv_results_``), a :class:`~hpsearch.storage.Study` from
        :func:`hpsearch.load_study`, or a ``cv_results_`` dict.
    metric : str, optional
        Which test score to show; by default the refit metric, or the only
        one.

    Examples
    --------
    >>> from hpsearch.plot._data import source
    >>> src = source({"params": [{"C": 1}, {"C": 10}],
    ...               "param_C": [1, 10],
    ...               "mean_test_score": [0.5, 0.75],
    ...               "std_test_score": [0.0, 0.1],
    ...               "split0_test_score": [0.5, 0.65],
    ...               "split1_test_score": [0.5, 0.85],
    ...               "mean_fit_time": [0.1, 0.2],
    ...               "mean_score_time": [0.01, 0.01]})
    >>> src.params, src.metric, src.n_splits
    (('C',), 'score', 2)
    """
    if isinstance(results, Source) and metric in (None, results.metric):
        return results
    cv_results, refit, folds = _unpack(results)
    if not cv_results or not len(cv_results.get("params", ())):
        raise PlotError(
            "results must hold at least one complete candidate; got none. "
            "Plot a study once a candidate has a result on every split."
        )
    metrics = sorted(
        k[len("mean_test_") :] for k in cv_results if k.startswith("mean_test_")
    )
    if metric is None:
        metric = refit if refit in metrics else metrics[0] if metrics else "score"
    if metric not in metrics:
        raise PlotError(
            f"metric must be one of the results' metrics {metrics}; got "
            f"{metric!r}. Pass metric= with one of them."
        )
    params = cv_results["params"]
    names = tuple(dict.fromkeys(n for p in params for n in p))
    n = len(params)
    frame = pd.DataFrame({"candidate": np.arange(n)})
    for name in names:
        frame[f"param_{name}"] = pd.Series(
            [p.get(name, _MISSING) for p in params], dtype=object
        )
    frame["score"] = np.asarray(cv_results[f"mean_test_{metric}"], dtype=float)
    frame["std"] = np.asarray(
        cv_results.get(f"std_test_{metric}", np.zeros(n)), dtype=float
    )
    n_splits = 0
    while f"split{n_splits}_test_{metric}" in cv_results:
        frame[f"split{n_splits}"] = np.asarray(
            cv_results[f"split{n_splits}_test_{metric}"], dtype=float
        )
        n_splits += 1
    for column in ("fit_time", "score_time"):
        frame[column] = np.asarray(
            cv_results.get(f"mean_{column}", np.full(n, np.nan)), dtype=float
        )
    frame["status"] = np.where(np.isfinite(frame["score"]), "ok", "failed")
    timed = False
    if folds is not None and len(folds):
        last = folds.groupby("candidate")["finished"].max()
        frame["finished"] = frame["candidate"].map(last).astype(float)
        failed = folds.loc[folds["status"] == "failed", "candidate"].unique()
        frame.loc[frame["candidate"].isin(failed), "status"] = "failed"
        timed = True
    return Source(
        frame=frame,
        params=names,
        metric=metric,
        n_splits=n_splits,
        cv_results=cv_results,
        folds=folds,
        timed=timed,
        texts=[", ".join(f"{k}={label(v)}" for k, v in p.items()) for p in params],
    )


class _Missing:
    """A parameter that a candidate does not set (lists of grids)."""

    def __repr__(self) -> str:
        return "<unset>"


_MISSING = _Missing()


def _unpack(results: Any) -> tuple[Mapping[str, Any], Any, pd.DataFrame | None]:
    """``cv_results_``, the refit metric and per-fold rows (studies only)."""
    from hpsearch.storage import Study

    if isinstance(results, Source):
        return results.cv_results, results.metric, results.folds
    if isinstance(results, Study):
        return results.cv_results_, results.spec.refit or "score", fold_rows(results)
    if isinstance(results, Mapping):
        return results, "score", None
    if hasattr(results, "cv_results_"):
        refit = getattr(results, "refit", True)
        return results.cv_results_, refit if isinstance(refit, str) else "score", None
    if hasattr(results, "fit") and hasattr(results, "get_params"):
        raise PlotError(
            f"results must be a fitted search; got an unfitted "
            f"{type(results).__name__}. Call fit(X, y) first, or pass "
            "hpsearch.load_study(storage, name)."
        )
    raise PlotError(
        "results must be a fitted search, a Study from hpsearch.load_study or "
        f"a cv_results_ dict; got {type(results).__name__}."
    )


def fold_rows(study: Any) -> pd.DataFrame:
    """One row per fold result of a study's complete candidates.

    Columns: ``candidate`` (index in ``cv_results_``), ``split``, ``status``,
    ``fit_time``, ``score_time``, ``started`` and ``finished`` (seconds since
    the first fit started), ``error`` (the traceback of a failed fit).
    """
    rows = [
        (i, f.split, f.status, f.fit_time, f.score_time, f.started_at,
         f.finished_at, f.error)
        for i, trial in enumerate(study.trials)
        for f in trial.folds
    ]  # fmt: skip
    frame = pd.DataFrame(
        rows,
        columns=[
            "candidate", "split", "status", "fit_time", "score_time",
            "started", "finished", "error",
        ],
    )  # fmt: skip
    if len(frame):
        start = frame["started"].where(frame["started"] > 0).min()
        if not math.isfinite(start):
            start = frame["finished"].min()
        frame["started"] = frame["started"] - start
        frame["finished"] = frame["finished"] - start
    return frame


# ---------------------------------------------------------------------------
# Axes


@dataclass(frozen=True)
class Axis:
    """How one parameter is laid out: its kind and, if categorical, its order."""

    name: str
    kind: Kind
    categories: tuple[str, ...] = ()


def label(value: Any) -> str:
    """The text of a parameter value on an axis or in a table."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return repr(value)
    if isinstance(value, str):
        return value
    return repr(value) if not hasattr(value, "get_params") else _estimator(value)


def _estimator(value: Any) -> str:
    return type(value).__name__ + "()"


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def axis(src: Source, name: str) -> Axis:
    """Numeric, log or categorical: how the values of ``name`` are best shown.

    A parameter is numeric when every value is a real number (not a bool);
    log when, in addition, all are positive, they span at least a factor of
    10, and they fill the range more evenly on a log scale than on a linear
    one (a log-spaced grid, or samples of ``loguniform``).

    Examples
    --------
    >>> import numpy as np
    >>> from hpsearch.plot._data import axis, source
    >>> def kind(values):
    ...     params = [{"p": v} for v in values]
    ...     src = source({"params": params, "mean_test_score": np.zeros(len(values))})
    ...     return axis(src, "p").kind
    >>> kind([0.001, 0.01, 0.1, 1, 10]), kind([1, 2, 3, 4]), kind(["a", "b"])
    ('log', 'numeric', 'categorical')
    """
    values = [v for v in src.frame[f"param_{name}"] if v is not _MISSING]
    if values and all(_is_number(v) for v in values):
        distinct = np.unique(np.asarray(values, dtype=float))
        if _log_spaced(distinct):
            return Axis(name, "log")
        return Axis(name, "numeric")
    categories = tuple(sorted(dict.fromkeys(label(v) for v in values)))
    return Axis(name, "categorical", categories)


def _log_spaced(distinct: np.ndarray) -> bool:
    if len(distinct) < 3 or distinct[0] <= 0 or distinct[-1] / distinct[0] < 10:
        return False
    ideal = np.linspace(0, 1, len(distinct))

    def gap(values: np.ndarray) -> float:
        spread = (values - values[0]) / (values[-1] - values[0])
        return float(np.abs(spread - ideal).max())

    return gap(np.log(distinct)) < gap(distinct)


def coordinates(src: Source, ax: Axis) -> np.ndarray:
    """The values of a parameter as numbers to plot (categories by position).

    Unset values are NaN; a log axis holds the values themselves (the figure
    sets the axis type), categories their index in ``ax.categories``.
    """
    column = src.frame[f"param_{ax.name}"]
    if ax.kind == "categorical":
        index = {c: i for i, c in enumerate(ax.categories)}
        return np.array(
            [np.nan if v is _MISSING else index[label(v)] for v in column], float
        )
    return np.array([np.nan if v is _MISSING else float(v) for v in column], float)


def params_text(src: Source, row: int) -> str:
    """``C=1, kernel='rbf'``: a candidate's parameters as hover text."""
    return src.texts[row]


# ---------------------------------------------------------------------------
# What each figure shows


@dataclass(frozen=True)
class ParamScores:
    """Score against one parameter: each candidate's mean, spread and folds."""

    axis: Axis
    x: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    folds: np.ndarray  # candidates x splits
    text: list[str]
    total: int = 0  # candidates with a score and this parameter, shown or not


def param_scores(
    src: Source, params: Sequence[str] | None = None, max_points: int | None = None
) -> list[ParamScores]:
    """For each parameter (all by default), its candidates' scores.

    Failed candidates (NaN scores) and candidates that do not set the
    parameter are left out; beyond ``max_points`` candidates, a random
    subset (with the best) is kept.
    """
    names = _check_params(src, params)
    folds = src.frame[[f"split{i}" for i in range(src.n_splits)]].to_numpy(float)
    out = []
    for name in names:
        ax = axis(src, name)
        x = coordinates(src, ax)
        scores = src.frame["score"].to_numpy()
        keep = np.isfinite(x) & np.isfinite(scores)
        total = int(keep.sum())
        rows = thin(np.flatnonzero(keep), scores, max_points)
        out.append(
            ParamScores(
                axis=ax,
                x=x[rows],
                mean=src.frame["score"].to_numpy()[rows],
                std=_clean_spread(src.frame["std"].to_numpy()[rows]),
                folds=folds[rows],
                text=[params_text(src, r) for r in rows],
                total=total,
            )
        )
    return out


def thin(rows: np.ndarray, scores: np.ndarray, max_points: int | None) -> np.ndarray:
    """At most ``max_points`` of ``rows``, drawn at random (seeded), the best
    kept; all of them when ``max_points`` is None or not exceeded."""
    if max_points is None or len(rows) <= max_points:
        return rows
    if max_points < 1:
        raise PlotError(
            f"max_points must be a positive int or None; got {max_points!r}."
        )
    best = (
        rows[int(np.nanargmax(scores[rows]))]
        if np.isfinite(scores[rows]).any()
        else rows[0]
    )
    rest = rows[rows != best]
    chosen = np.random.default_rng(0).choice(rest, max_points - 1, replace=False)
    return np.sort(np.append(chosen, best))


def shown_note(shown: int, total: int) -> str:
    """What a thinned figure says about it; empty when all are shown."""
    if shown >= total:
        return ""
    return (
        f"{shown:,} of {total:,} candidates shown, drawn at random (the best included)"
    )


def _clean_spread(std: np.ndarray) -> np.ndarray:
    """Rounding noise (equal fold scores give std ~1e-17) becomes 0."""
    return np.where(np.abs(std) < 1e-12, 0.0, std)


def _check_params(src: Source, params: Sequence[str] | None) -> list[str]:
    if params is None:
        return list(src.params)
    if isinstance(params, str):
        params = [params]
    unknown = [p for p in params if p not in src.params]
    if unknown:
        raise PlotError(
            f"params must name searched parameters {list(src.params)}; got "
            f"{unknown[0]!r}. Use one of those names."
        )
    return list(params)


@dataclass(frozen=True)
class Heatmap:
    """Mean score over a grid of two parameters."""

    x: Axis
    y: Axis
    x_labels: list[str]
    y_labels: list[str]
    z: np.ndarray  # len(y_labels) x len(x_labels), NaN where no candidate
    counts: np.ndarray
    others: Literal["best", "mean"]
    fixed: dict[str, str] = field(default_factory=dict)

    @property
    def note(self) -> str:
        """What the cells show, stated on the figure."""
        if not self.fixed:
            return "no other parameter is searched"
        if self.others == "best":
            shown = ", ".join(f"{k}={v}" for k, v in self.fixed.items())
            return f"other parameters fixed at the best candidate's: {shown}"
        return "averaged over the other parameters (" + ", ".join(self.fixed) + ")"


def heatmap(
    src: Source,
    x: str,
    y: str,
    others: Literal["auto", "best", "mean"] = "auto",
    max_bins: int = 10,
) -> Heatmap:
    """Mean score per (x, y) cell, the other parameters fixed or averaged.

    ``others="best"`` keeps the candidates whose other parameters equal the
    best candidate's; ``"mean"`` averages over all candidates in a cell;
    ``"auto"`` is "best" when that leaves every (x, y) pair that was tried
    (a grid), else "mean" (a random search). Numeric parameters with more
    than ``max_bins`` values are binned (on a log scale for log axes).
    """
    if others not in ("auto", "best", "mean"):
        raise PlotError(
            f"others must be 'auto', 'best' or 'mean'; got {others!r}. 'best' "
            "fixes the other parameters at the best candidate's values, 'mean' "
            "averages over them."
        )
    names = _check_params(src, [x, y])
    if names[0] == names[1]:
        raise PlotError(
            f"x and y must be two different parameters; got {x!r} twice. "
            f"Pick two of {list(src.params)}."
        )
    frame = src.frame[np.isfinite(src.frame["score"])]
    if frame.empty:
        raise PlotError(_NO_SCORES)
    ax_x, ax_y = axis(src, x), axis(src, y)
    bx, lx = _bins(frame[f"param_{x}"], ax_x, max_bins)
    by, ly = _bins(frame[f"param_{y}"], ax_y, max_bins)
    rest = [n for n in src.params if n not in (x, y)]
    best = frame.loc[frame["score"].idxmax()]
    fixed_mask = np.ones(len(frame), bool)
    for n in rest:
        fixed_mask &= np.array(
            [label(v) == label(best[f"param_{n}"]) for v in frame[f"param_{n}"]]
        )
    valid = (bx >= 0) & (by >= 0)
    if others == "auto":
        tried = set(zip(bx[valid], by[valid], strict=True))
        at_best = set(zip(bx[valid & fixed_mask], by[valid & fixed_mask], strict=True))
        others = "best" if rest and at_best == tried else "mean"
    chosen = valid & (fixed_mask if others == "best" else True)
    z = np.full((len(ly), len(lx)), np.nan)
    counts = np.zeros((len(ly), len(lx)), int)
    scores = frame["score"].to_numpy()
    for i, j, s in zip(by[chosen], bx[chosen], scores[chosen], strict=True):
        counts[i, j] += 1
        z[i, j] = s if counts[i, j] == 1 else z[i, j] + (s - z[i, j]) / counts[i, j]
    fixed = {n: label(best[f"param_{n}"]) for n in rest}
    return Heatmap(ax_x, ax_y, lx, ly, z, counts, others, fixed)


def _bins(values: pd.Series, ax: Axis, max_bins: int) -> tuple[np.ndarray, list[str]]:
    """Each value's cell index (-1: unset) and the cells' labels."""
    if ax.kind == "categorical":
        index = {c: i for i, c in enumerate(ax.categories)}
        codes = [-1 if v is _MISSING else index[label(v)] for v in values]
        return np.array(codes, int), list(ax.categories)
    numbers_ = np.array([np.nan if v is _MISSING else float(v) for v in values])
    distinct = np.unique(numbers_[np.isfinite(numbers_)])
    if len(distinct) <= max_bins:
        index = {v: i for i, v in enumerate(distinct)}
        codes = [index[v] if np.isfinite(v) else -1 for v in numbers_]
        return np.array(codes, int), [f"{v:.4g}" for v in distinct]
    lo, hi = distinct[0], distinct[-1]
    if ax.kind == "log":
        edges = np.geomspace(lo, hi, max_bins + 1)
    else:
        edges = np.linspace(lo, hi, max_bins + 1)
    cells = np.clip(np.searchsorted(edges, numbers_, side="right") - 1, 0, max_bins - 1)
    cells = np.where(np.isfinite(numbers_), cells, -1)
    names = [f"{a:.3g} to {b:.3g}" for a, b in itertools.pairwise(edges)]
    return cells.astype(int), names


_NO_SCORES = (
    "results must hold a candidate with a finite score; every candidate "
    "failed. Look at the failed fits' errors (results_['status'])."
)


@dataclass(frozen=True)
class History:
    """Score and best-so-far in the order candidates finished."""

    x: np.ndarray
    x_title: str
    score: np.ndarray
    best: np.ndarray
    text: list[str]
    shown: np.ndarray | None = None  # the trials whose markers are drawn


def history(
    src: Source, by: Literal["trial", "time"] = "trial", max_points: int | None = None
) -> History:
    """The optimisation history against trial number or against time.

    Trials are numbered in the order they finished (stored studies; a fitted
    search has no times, so its candidates' order). Time is the wall-clock
    time since the first fit started for a stored study; for a fitted search
    it is the cumulative fit and score time of its candidates (compute time,
    as if run one at a time), and the axis says so.
    """
    if by not in ("trial", "time"):
        raise PlotError(
            f"by must be 'trial' or 'time'; got {by!r}. 'trial' numbers the "
            "candidates in the order they finished."
        )
    frame = src.frame
    if src.timed:
        frame = frame.sort_values(["finished", "candidate"], kind="stable")
    score = frame["score"].to_numpy()
    best = np.fmax.accumulate(np.where(np.isfinite(score), score, -np.inf))
    best = np.where(np.isfinite(best), best, np.nan)
    if by == "trial":
        x = np.arange(1, len(frame) + 1, dtype=float)
        title = "trial (in the order finished)" if src.timed else "trial"
    elif src.timed:
        x = frame["finished"].to_numpy(float)
        title = "time since the search started (s)"
    else:
        per = (frame["fit_time"] + frame["score_time"]).to_numpy(float)
        x = np.cumsum(np.nan_to_num(per) * max(src.n_splits, 1))
        title = "cumulative fit + score time (s)"
    shown = thin(np.arange(len(frame)), score, max_points)
    text = [params_text(src, r) for r in frame.index[shown]]
    return History(x, title, score, best, text, shown)


@dataclass(frozen=True)
class Parallel:
    """Parallel coordinates: one axis per parameter, then the score."""

    axes: list[Axis]
    values: list[np.ndarray]
    score: np.ndarray
    text: list[str] = field(default_factory=list)


def parallel(
    src: Source, params: Sequence[str] | None = None, max_points: int | None = None
) -> Parallel:
    """Each candidate with a finite score as a line across its parameters.

    Log axes hold log10 of the values (the figure labels ticks with the
    values); categories their position.
    """
    names = _check_params(src, params)
    scores = src.frame["score"].to_numpy()
    if not np.isfinite(scores).any():
        raise PlotError(_NO_SCORES)
    keep = np.zeros(len(scores), bool)
    keep[thin(np.flatnonzero(np.isfinite(scores)), scores, max_points)] = True
    axes, values = [], []
    for name in names:
        ax = axis(src, name)
        x = coordinates(src, ax)[keep]
        axes.append(ax)
        values.append(np.log10(x) if ax.kind == "log" else x)
    text = [src.texts[int(i)] for i in np.flatnonzero(keep)]
    return Parallel(axes, values, src.frame["score"].to_numpy()[keep], text)


@dataclass(frozen=True)
class ParallelLines:
    """Parallel coordinates laid out: every axis scaled to [0, 1].

    ``positions`` is candidates x (parameters + score), NaN where a candidate
    does not set a parameter; ``ticks`` holds, per axis, (position, label)
    pairs; ``names`` the axes' titles.
    """

    names: list[str]
    positions: np.ndarray
    ticks: list[list[tuple[float, str]]]
    score: np.ndarray


def parallel_lines(par: Parallel, metric: str = "score") -> ParallelLines:
    """Scale each axis of ``par`` to [0, 1] and choose its tick labels."""
    columns, ticks, names = [], [], []
    for ax, values in [*zip(par.axes, par.values, strict=True), (None, par.score)]:
        finite = values[np.isfinite(values)]
        lo, hi = (finite.min(), finite.max()) if len(finite) else (0.0, 1.0)
        if ax is not None and ax.kind == "categorical":
            lo, hi = 0.0, float(max(len(ax.categories) - 1, 1))
        span = hi - lo
        scaled = (
            (values - lo) / span
            if span > 0
            else np.where(np.isfinite(values), 0.5, np.nan)
        )
        columns.append(scaled)
        if ax is None:
            names.append(f"mean test {metric}")
            marks = [(lo, f"{lo:.4g}"), (hi, f"{hi:.4g}")]
        elif ax.kind == "categorical":
            names.append(ax.name)
            marks = [(float(i), c) for i, c in enumerate(ax.categories)]
        elif ax.kind == "log":
            names.append(f"{ax.name} (log)")
            marks = [(lo, f"{10**lo:.3g}"), (hi, f"{10**hi:.3g}")]
        else:
            names.append(ax.name)
            marks = [(lo, f"{lo:.4g}"), (hi, f"{hi:.4g}")]
        ticks.append(
            [((v - lo) / span if span > 0 else 0.5, text) for v, text in marks]
        )
    return ParallelLines(names, np.column_stack(columns), ticks, par.score)


@dataclass(frozen=True)
class Importance:
    """Each parameter's importance by :data:`IMPORTANCE_METHOD`."""

    params: list[str]
    mean: np.ndarray
    std: np.ndarray
    method: str = IMPORTANCE_METHOD


def importance(
    src: Source, random_state: int = 0, max_candidates: int = 2000
) -> Importance:
    """Permutation importance of each parameter on a random-forest surrogate.

    A ``RandomForestRegressor`` learns the mean test score from the
    parameters (log axes as log10, categories as codes, unset as -1); each
    parameter's importance is how much the surrogate's R² drops, on the
    candidates themselves, when that parameter's column is shuffled
    (scikit-learn's ``permutation_importance``, 10 repeats). Sorted, most
    important first. Over ``max_candidates`` candidates, a random subset of
    that size is used (seeded by ``random_state``).
    """
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.inspection import permutation_importance

    keep = np.isfinite(src.frame["score"].to_numpy())
    if keep.sum() < 3:
        raise PlotError(
            "results must hold at least 3 candidates with finite scores for "
            f"parameter importance; got {int(keep.sum())}. Run more candidates."
        )
    columns = []
    for name in src.params:
        ax = axis(src, name)
        x = coordinates(src, ax)
        columns.append(np.nan_to_num(np.log10(x) if ax.kind == "log" else x, nan=-1))
    X = np.column_stack(columns)[keep]
    y = src.frame["score"].to_numpy()[keep]
    if len(y) > max_candidates:
        chosen = np.random.default_rng(random_state).choice(
            len(y), max_candidates, replace=False
        )
        X, y = X[chosen], y[chosen]
    if np.ptp(y) == 0:
        zeros = np.zeros(len(src.params))
        return Importance(list(src.params), zeros, zeros)
    forest = RandomForestRegressor(n_estimators=100, random_state=random_state)
    forest.fit(X, y)
    result = permutation_importance(
        forest, X, y, n_repeats=10, random_state=random_state
    )
    order = np.argsort(-result.importances_mean, kind="stable")
    return Importance(
        [src.params[i] for i in order],
        result.importances_mean[order],
        result.importances_std[order],
    )


@dataclass(frozen=True)
class Rungs:
    """A halving search's rungs: every (candidate, rung) with its score.

    ``candidate`` identifies a parameter setting across rungs; ``promoted``
    says whether it went on to the next rung; ``final`` marks the last rung.
    """

    frame: pd.DataFrame  # candidate, iter, n_resources, score, promoted, text


def rungs(src: Source) -> Rungs:
    """Candidates and their scores per resource, and which were promoted.

    Needs the ``iter`` and ``n_resources`` columns of a halving search's
    ``cv_results_`` (scikit-learn's ``HalvingGridSearchCV`` and
    ``HalvingRandomSearchCV`` have them).
    """
    cv = src.cv_results
    if "iter" not in cv or "n_resources" not in cv:
        raise PlotError(
            "results must come from a halving search (cv_results_ with 'iter' "
            "and 'n_resources'); got columns without them. Rungs exist only for "
            "successive halving and Hyperband searches."
        )
    texts = [params_text(src, r) for r in src.frame.index]
    ids = {t: i for i, t in enumerate(dict.fromkeys(texts))}
    frame = pd.DataFrame(
        {
            "candidate": [ids[t] for t in texts],
            "iter": np.asarray(cv["iter"], int),
            "n_resources": np.asarray(cv["n_resources"], float),
            "score": src.frame["score"].to_numpy(),
            "text": texts,
        }
    )
    reached = frame.groupby("candidate")["iter"].max()
    last = frame["iter"].max()
    frame["promoted"] = frame["iter"] < frame["candidate"].map(reached)
    frame["final"] = frame["iter"] == last
    return Rungs(frame)


@dataclass(frozen=True)
class FitTimes:
    """Mean fit time against mean score, per candidate."""

    fit_time: np.ndarray
    score: np.ndarray
    text: list[str]


def fit_times(src: Source, max_points: int | None = None) -> FitTimes:
    """Each candidate's mean fit time per fold and its mean score."""
    scores = src.frame["score"].to_numpy()
    keep = thin(np.flatnonzero(np.isfinite(scores)), scores, max_points)
    return FitTimes(
        src.frame["fit_time"].to_numpy()[keep],
        src.frame["score"].to_numpy()[keep],
        [params_text(src, r) for r in keep],
    )
