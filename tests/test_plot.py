"""hpsearch.plot: what to draw is checked against cv_results_, without a browser."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from scipy.stats import loguniform, uniform
from sklearn.datasets import load_iris
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import HalvingGridSearchCV
from sklearn.model_selection import RandomizedSearchCV as SkRandomizedSearchCV
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from hpsearch import GridSearchCV, MissingExtraError, RandomizedSearchCV, load_study
from hpsearch.plot import (
    IMPORTANCE_METHOD,
    PlotError,
    _data,
    plot_fit_times,
    plot_heatmap,
    plot_history,
    plot_importance,
    plot_parallel,
    plot_param_scores,
    plot_rungs,
)
from hpsearch.storage import MemoryStorage

X, Y = load_iris(return_X_y=True)
HOSTILE = ['<script>alert("x")</script>', '"><img src=x onerror=alert(1)>']


@pytest.fixture(scope="module")
def grid() -> GridSearchCV:
    space = {"C": [0.01, 0.1, 1, 10], "kernel": ["linear", "rbf"], "gamma": [0.1, 1]}
    return GridSearchCV(SVC(), space, progress=False).fit(X, Y)


@pytest.fixture(scope="module")
def stored() -> object:
    storage = MemoryStorage()
    space = {"max_depth": [1, 2, 3, None], "criterion": ["gini", "entropy"]}
    GridSearchCV(
        DecisionTreeClassifier(random_state=0),
        space,
        storage=storage,
        study="trees",
        progress=False,
    ).fit(X, Y)
    return load_study(storage, "trees")


def kind(values: list[object]) -> str:
    params = [{"p": v} for v in values]
    src = _data.source({"params": params, "mean_test_score": np.zeros(len(values))})
    return _data.axis(src, "p").kind


def test_axis_kind_is_log_for_log_spaced_values_numeric_else_categorical():
    rng = np.random.default_rng(0)
    assert kind([1e-3, 1e-2, 1e-1, 1, 10]) == "log"
    assert kind(list(loguniform(1e-4, 1e2).rvs(50, random_state=0))) == "log"
    assert kind(list(uniform(1, 1000).rvs(50, random_state=0))) == "numeric"
    assert kind([1, 2, 3, 4, 5]) == "numeric"
    assert kind([0, 1, 10, 100]) == "numeric"  # zero has no logarithm
    assert kind([2, 4, 8]) == "numeric"  # less than a decade
    assert kind([True, False]) == "categorical"
    assert kind(["rbf", "linear"]) == "categorical"
    assert kind([None, 3, 5]) == "categorical"
    assert kind(list(rng.integers(1, 5, 20))) == "numeric"


def test_param_scores_are_cv_results_means_and_fold_scores(grid):
    panels = {p.axis.name: p for p in _data.param_scores(_data.source(grid))}
    results = grid.cv_results_
    assert set(panels) == {"C", "kernel", "gamma"}
    assert panels["C"].axis.kind == "log"
    assert panels["kernel"].axis.categories == ("linear", "rbf")
    np.testing.assert_array_equal(panels["C"].x, results["param_C"].astype(float))
    np.testing.assert_array_equal(panels["C"].mean, results["mean_test_score"])
    np.testing.assert_array_equal(panels["C"].std, results["std_test_score"])
    folds = np.column_stack([results[f"split{i}_test_score"] for i in range(5)])
    np.testing.assert_array_equal(panels["kernel"].folds, folds)
    kernels = [panels["kernel"].axis.categories[int(i)] for i in panels["kernel"].x]
    assert kernels == list(results["param_kernel"])


def test_param_scores_leave_out_failed_candidates_and_unset_parameters():
    cv_results = {
        "params": [{"a": 1, "b": "x"}, {"a": 2}, {"a": 3, "b": "y"}],
        "mean_test_score": np.array([0.5, 0.7, np.nan]),
        "std_test_score": np.zeros(3),
    }
    panels = {p.axis.name: p for p in _data.param_scores(_data.source(cv_results))}
    assert list(panels["a"].x) == [1.0, 2.0]
    assert panels["b"].axis.categories == ("x", "y")
    assert list(panels["b"].mean) == [0.5]


def test_heatmap_fixes_other_parameters_at_the_best_candidates_on_a_grid(grid):
    cells = _data.heatmap(_data.source(grid), "C", "kernel")
    frame = grid.results_
    best = frame.loc[frame["rank_test_score"].idxmin()]
    assert cells.others == "best"
    assert cells.fixed == {"gamma": repr(float(best["gamma"]))}
    assert cells.note.startswith("other parameters fixed at the best")
    at_best = frame[frame["gamma"] == best["gamma"]]
    for _, row in at_best.iterrows():
        i = cells.y_labels.index(row["kernel"])
        j = cells.x_labels.index(f"{row['C']:.4g}")
        assert cells.z[i, j] == row["mean_test_score"]
        assert cells.counts[i, j] == 1


def test_heatmap_averages_over_other_parameters_when_asked(grid):
    cells = _data.heatmap(_data.source(grid), "C", "kernel", others="mean")
    means = grid.results_.groupby(["kernel", "C"])["mean_test_score"].mean()
    for (kernel, c), mean in means.items():
        i, j = cells.y_labels.index(kernel), cells.x_labels.index(f"{c:.4g}")
        assert cells.z[i, j] == pytest.approx(mean)
        assert cells.counts[i, j] == 2
    assert cells.note == "averaged over the other parameters (gamma)"


def test_heatmap_of_a_random_search_bins_and_averages():
    space = {"C": loguniform(1e-3, 1e3), "gamma": loguniform(1e-4, 1e1)}
    search = RandomizedSearchCV(
        SVC(), space, n_iter=40, random_state=0, progress=False
    ).fit(X, Y)
    cells = _data.heatmap(_data.source(search), "C", "gamma", max_bins=5)
    assert cells.others == "mean"
    assert len(cells.x_labels) == 5 and len(cells.y_labels) == 5
    assert cells.counts.sum() == 40
    finite = search.cv_results_["mean_test_score"]
    assert np.nanmin(cells.z) >= finite.min() and np.nanmax(cells.z) <= finite.max()


def test_history_best_so_far_is_the_running_maximum(grid):
    hist = _data.history(_data.source(grid))
    scores = grid.cv_results_["mean_test_score"]
    np.testing.assert_array_equal(hist.score, scores)
    np.testing.assert_array_equal(hist.best, np.maximum.accumulate(scores))
    assert list(hist.x) == list(range(1, len(scores) + 1))
    by_time = _data.history(_data.source(grid), by="time")
    assert by_time.x_title == "cumulative fit + score time (s)"
    assert (np.diff(by_time.x) >= 0).all()


def test_history_of_a_study_follows_the_order_results_finished(stored):
    src = _data.source(stored)
    assert src.timed
    hist = _data.history(src, by="time")
    assert hist.x_title == "time since the search started (s)"
    assert (np.diff(hist.x) >= 0).all() and hist.x[0] >= 0
    finished = [max(f.finished_at for f in t.folds) for t in stored.trials]
    order = np.argsort(finished, kind="stable")
    np.testing.assert_array_equal(
        hist.score, stored.cv_results_["mean_test_score"][order]
    )


def test_parallel_coordinates_hold_log10_of_log_parameters(grid):
    par = _data.parallel(_data.source(grid))
    by_name = {a.name: v for a, v in zip(par.axes, par.values, strict=True)}
    np.testing.assert_allclose(
        by_name["C"], np.log10(grid.cv_results_["param_C"].astype(float))
    )
    np.testing.assert_array_equal(par.score, grid.cv_results_["mean_test_score"])


def test_importance_ranks_the_parameter_the_score_depends_on_first():
    rng = np.random.default_rng(0)
    a, b, c = rng.uniform(0, 1, 60), rng.uniform(0, 1, 60), rng.choice(["u", "v"], 60)
    cv_results = {
        "params": [{"a": x, "b": y, "c": z} for x, y, z in zip(a, b, c, strict=True)],
        "mean_test_score": np.sin(3 * a) + 0.01 * b,
    }
    imp = _data.importance(_data.source(cv_results))
    assert imp.params[0] == "a"
    assert imp.mean[0] > 10 * max(imp.mean[1:])
    assert "permutation importance on a random-forest surrogate" in imp.method


def test_rungs_mark_the_candidates_scikit_learn_promoted():
    space = {"C": [0.01, 0.1, 1, 10, 100], "gamma": [0.01, 0.1, 1]}
    search = HalvingGridSearchCV(SVC(), space, random_state=0, factor=2).fit(X, Y)
    frame = _data.rungs(_data.source(search)).frame
    results = search.cv_results_
    assert list(frame["n_resources"]) == list(results["n_resources"])
    for rung in range(search.n_iterations_ - 1):
        promoted = frame[(frame["iter"] == rung) & frame["promoted"]]
        nxt = [
            str(p)
            for p, i in zip(results["params"], results["iter"], strict=True)
            if i == rung + 1
        ]
        here = [
            str(p)
            for p, i, keep in zip(
                results["params"], results["iter"], frame["promoted"], strict=True
            )
            if i == rung and keep
        ]
        assert sorted(here) == sorted(nxt)
        assert len(promoted) == search.n_candidates_[rung + 1]
    assert frame["final"].sum() == search.n_candidates_[-1]


def test_max_points_draws_a_sample_with_the_best_and_says_so():
    rng = np.random.default_rng(1)
    scores = rng.uniform(0, 1, 50)
    cv_results = {
        "params": [{"a": float(v)} for v in rng.uniform(1, 2, 50)],
        "mean_test_score": scores,
    }
    src = _data.source(cv_results)
    panel = _data.param_scores(src, max_points=10)[0]
    assert len(panel.x) == 10 and panel.total == 50
    assert scores.max() in panel.mean
    hist = _data.history(src, max_points=10)
    assert len(hist.shown) == 10 and len(hist.best) == 50
    np.testing.assert_array_equal(hist.best, np.maximum.accumulate(scores))
    fig = plot_fit_times(cv_results, max_points=10)
    assert len(fig.data[0].y) == 10
    assert fig.layout.annotations[0].text == (
        "10 of 50 candidates shown, drawn at random (the best included)"
    )
    assert len(_data.parallel(src, max_points=10).score) == 10
    assert len(_data.param_scores(src)[0].x) == 50


def test_figures_draw_from_a_fitted_search_and_a_stored_study(grid, stored):
    for results in (grid, stored):
        for draw in (
            plot_param_scores,
            plot_history,
            plot_parallel,
            plot_importance,
            plot_fit_times,
        ):
            fig = draw(results)
            assert fig.data, draw.__name__
    fig = plot_param_scores(grid)
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["C", "gamma", "kernel"]
    assert fig.layout.xaxis.type == "log"
    assert fig.layout.xaxis3.type == "category"
    heat = plot_heatmap(grid, "C", "kernel")
    assert "fixed at the best candidate" in heat.layout.annotations[0].text
    heat = plot_heatmap(stored, "max_depth", "criterion")
    assert heat.layout.annotations[0].text == "no other parameter is searched"
    assert plot_history(stored, by="time").layout.xaxis.title.text.startswith("time")
    importance = plot_importance(grid)
    assert "random-forest surrogate" in importance.layout.annotations[0].text


def test_rung_figure_counts_promoted_stopped_and_last_rung():
    search = HalvingGridSearchCV(
        SVC(), {"C": [0.1, 1, 10, 100], "gamma": [0.01, 0.1]}, random_state=0
    ).fit(X, Y)
    names = [t.name for t in plot_rungs(search).data if t.name]
    n = search.n_candidates_
    assert names == [
        f"promoted ({sum(n[1:])})",
        f"stopped ({sum(n[:-1]) - sum(n[1:])})",
        f"last rung ({n[-1]})",
    ]


def test_stored_strings_are_escaped_in_figures():
    cv_results = {
        "params": [{"kernel": HOSTILE[0]}, {"kernel": HOSTILE[1]}, {"kernel": "rbf"}],
        "mean_test_score": np.array([0.1, 0.2, 0.3]),
    }
    text = json.dumps(
        [
            f.to_plotly_json()
            for f in (plot_param_scores(cv_results), plot_parallel(cv_results))
        ],
        default=str,
    )
    assert "<script>" not in text and "<img" not in text
    assert "&lt;script&gt;" in text and "&lt;img src=x" in text


def test_multimetric_results_plot_the_metric_asked_for():
    search = GridSearchCV(
        SVC(),
        {"C": [0.1, 1, 10]},
        scoring=["accuracy", "f1_macro"],
        refit="f1_macro",
        progress=False,
    ).fit(X, Y)
    assert _data.source(search).metric == "f1_macro"
    src = _data.source(search, metric="accuracy")
    np.testing.assert_array_equal(
        src.frame["score"], search.cv_results_["mean_test_accuracy"]
    )
    with pytest.raises(
        PlotError,
        match=r"metric must be one of the results' metrics \['accuracy', "
        r"'f1_macro'\]; got 'recall'\. Pass metric= with one of them\.",
    ):
        _data.source(search, metric="recall")


def test_scikit_learn_searches_plot_too():
    search = SkRandomizedSearchCV(
        SVC(), {"C": loguniform(1e-2, 1e2)}, n_iter=6, random_state=0
    ).fit(X, Y)
    assert plot_param_scores(search).layout.xaxis.type == "log"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda g: _data.source(SVC()),
            r"results must be a fitted search; got an unfitted SVC\. Call "
            r"fit\(X, y\) first, or pass hpsearch\.load_study\(storage, name\)\.",
        ),
        (
            lambda g: _data.source([1, 2]),
            r"results must be a fitted search, a Study from hpsearch\.load_study "
            r"or a cv_results_ dict; got list\.",
        ),
        (
            lambda g: _data.source({}),
            r"results must hold at least one complete candidate; got none\.",
        ),
        (
            lambda g: plot_param_scores(g, params=["c"]),
            r"params must name searched parameters \['C', 'gamma', 'kernel'\]; "
            r"got 'c'\. Use one of those names\.",
        ),
        (
            lambda g: plot_heatmap(g, "C", "C"),
            r"x and y must be two different parameters; got 'C' twice\.",
        ),
        (
            lambda g: plot_heatmap(g, "C", "kernel", others="max"),
            r"others must be 'auto', 'best' or 'mean'; got 'max'\.",
        ),
        (
            lambda g: plot_history(g, by="epoch"),
            r"by must be 'trial' or 'time'; got 'epoch'\.",
        ),
        (
            lambda g: plot_rungs(g),
            r"results must come from a halving search \(cv_results_ with 'iter' "
            r"and 'n_resources'\)",
        ),
        (
            lambda g: plot_importance(
                {"params": [{"a": 1}], "mean_test_score": np.ones(1)}
            ),
            r"results must hold at least 3 candidates with finite scores for "
            r"parameter importance; got 1\. Run more candidates\.",
        ),
    ],
)
def test_bad_input_is_refused_with_a_message(grid, call, message):
    with pytest.raises(PlotError, match=message):
        call(grid)


def test_all_failed_candidates_explain_why_nothing_is_drawn():
    cv_results = {
        "params": [{"a": 1, "b": 2}, {"a": 2, "b": 3}],
        "mean_test_score": np.array([np.nan, np.nan]),
    }
    with pytest.raises(PlotError, match="every candidate failed"):
        plot_heatmap(cv_results, "a", "b")


def test_importance_method_is_named():
    assert IMPORTANCE_METHOD.startswith(
        "permutation importance on a random-forest surrogate"
    )


def test_missing_plotly_names_the_extra():
    code = textwrap.dedent(
        """
        import sys
        sys.modules["plotly"] = None  # as if not installed
        from hpsearch.plot import plot_history
        try:
            plot_history({"params": [{"a": 1}], "mean_test_score": [0.5]})
        except ImportError as exc:
            print(type(exc).__name__, exc)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith(
        "MissingExtraError hpsearch.plot needs plotly: pip install 'hpsearch[plot]'"
    )
    assert issubclass(MissingExtraError, ImportError)


def test_fold_rows_of_a_study_hold_times_and_errors():
    from estimators_for_tests import FAIL, FailingClassifier

    storage = MemoryStorage()
    with warnings.catch_warnings():  # FitFailedWarning, non-finite scores
        warnings.simplefilter("ignore")
        GridSearchCV(
            FailingClassifier(),
            {"parameter": [0, FAIL, 2]},
            storage=storage,
            study="fails",
            progress=False,
        ).fit(X, Y)
    study = load_study(storage, "fails")
    folds = _data.fold_rows(study)
    assert len(folds) == 15
    failed = folds[folds["status"] == "failed"]
    assert set(failed["candidate"]) == {1}
    assert failed["error"].str.contains("Failing classifier failed as required").all()
    assert folds.loc[folds["status"] == "ok", "error"].isna().all()
    assert (folds["finished"] >= folds["started"]).all() and folds["started"].min() == 0
    src = _data.source(study)
    assert list(src.frame["status"]) == ["ok", "failed", "ok"]
