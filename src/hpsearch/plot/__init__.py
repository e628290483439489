"""Plots of a search: interactive plotly figures from a fitted search or a study.

Every function takes a fitted search (hpsearch's or scikit-learn's), a
:class:`~hpsearch.storage.Study` from :func:`hpsearch.load_study`, or a
``cv_results_`` dict, and returns a ``plotly.graph_objects.Figure``, which
Jupyter shows inline (``fig.show()`` elsewhere). What is drawn is computed by
:mod:`hpsearch.plot._data`, apart from the drawing here.

plotly is an optional extra: ``pip install 'hpsearch[plot]'``.

========================  ==================================================
:func:`plot_param_scores`  score against each parameter, spread over folds
:func:`plot_heatmap`       mean score over two parameters
:func:`plot_history`       score and best-so-far against trial or time
:func:`plot_parallel`      parallel coordinates
:func:`plot_importance`    parameter importance (random-forest permutation)
:func:`plot_fit_times`     fit time against score
:func:`plot_rungs`         halving rungs: scores per resource, promotions
========================  ==================================================
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from hpsearch._errors import MissingExtraError
from hpsearch.plot import _data
from hpsearch.plot._data import IMPORTANCE_METHOD, PlotError

__all__ = [
    "IMPORTANCE_METHOD",
    "PlotError",
    "plot_fit_times",
    "plot_heatmap",
    "plot_history",
    "plot_importance",
    "plot_parallel",
    "plot_param_scores",
    "plot_rungs",
]

_OK = "#1f77b4"
_BEST = "#d62728"
_FAINT = "rgba(31, 119, 180, 0.35)"


def _go() -> Any:
    try:
        import plotly.graph_objects as go
    except ImportError as exc:
        raise MissingExtraError(
            f"hpsearch.plot needs plotly: pip install 'hpsearch[plot]' ({exc})."
        ) from None
    return go


def _esc(text: str) -> str:
    # plotly reads labels as a little HTML: stored strings show as text.
    return html.escape(text, quote=False)


def _layout(fig: Any, title: str, src: _data.Source) -> Any:
    fig.update_layout(
        title={"text": _esc(title)},
        template="plotly_white",
        margin={"l": 60, "r": 30, "t": 70, "b": 60},
        hoverlabel={"align": "left"},
    )
    return fig


def _score_title(src: _data.Source) -> str:
    return _esc(f"mean test {src.metric}")


def plot_param_scores(
    results: Any,
    params: Sequence[str] | None = None,
    metric: str | None = None,
    show_folds: bool | None = None,
    max_points: int | None = None,
) -> Any:
    """Score against each parameter, with the spread over folds.

    One panel per parameter: each candidate's mean test score with an error
    bar of one standard deviation over folds, and its fold scores as faint
    points. Log-spaced values get a log axis, categories a categorical one.

    Parameters
    ----------
    results : fitted search, Study or dict
        A fitted search, :func:`hpsearch.load_study`'s study or ``cv_results_``.
    params : list of str, optional
        The parameters to show; all by default.
    metric : str, optional
        The test metric; by default the refit metric.
    show_folds : bool, optional
        Draw each fold's score; by default when there are at most 1,000
        candidates (beyond, the error bars show the spread).
    max_points : int, optional
        Draw at most this many candidates, drawn at random with the best
        kept (the figure says so); all by default.

    Returns
    -------
    plotly.graph_objects.Figure

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.svm import SVC
    >>> from hpsearch import GridSearchCV
    >>> from hpsearch.plot import plot_param_scores
    >>> X, y = load_iris(return_X_y=True)
    >>> search = GridSearchCV(SVC(), {"C": [0.01, 0.1, 1, 10]}, progress=False)
    >>> fig = plot_param_scores(search.fit(X, y))
    >>> fig.layout.xaxis.type
    'log'
    """
    go = _go()
    from plotly.subplots import make_subplots

    src = _data.source(results, metric)
    panels = _data.param_scores(src, params, max_points)
    fig = make_subplots(
        rows=1,
        cols=len(panels),
        shared_yaxes=True,
        subplot_titles=[_esc(p.axis.name) for p in panels],
        horizontal_spacing=min(0.08, 0.5 / max(len(panels), 1)),
    )
    for col, panel in enumerate(panels, start=1):
        x = _axis_values(panel.axis, panel.x)
        n_splits = panel.folds.shape[1]
        if show_folds is None:
            show_folds = len(src.frame) <= 1000
        if n_splits and show_folds:
            fig.add_trace(
                go.Scatter(
                    x=np.repeat(x, n_splits),
                    y=panel.folds.ravel(),
                    mode="markers",
                    marker={"color": _FAINT, "size": 5},
                    name="fold scores",
                    legendgroup="folds",
                    showlegend=col == 1,
                    hoverinfo="skip",
                ),
                row=1,
                col=col,
            )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=panel.mean,
                error_y={"type": "data", "array": panel.std, "visible": True},
                mode="markers",
                marker={"color": _OK, "size": 8},
                name="mean ± std over folds",
                legendgroup="mean",
                showlegend=col == 1,
                text=[_esc(t) for t in panel.text],
                hovertemplate="%{text}<br>score %{y:.4g}<extra></extra>",
            ),
            row=1,
            col=col,
        )
        _set_axis(fig, panel.axis, row=1, col=col)
    fig.update_yaxes(title_text=_score_title(src), row=1, col=1)
    _pad_flat_scores(fig, [p.mean for p in panels] + [p.folds.ravel() for p in panels])
    _note(fig, _data.shown_note(len(panels[0].x), panels[0].total))
    return _layout(fig, "Score against each parameter", src)


def _note(fig: Any, text: str, y: float = 1.08) -> None:
    if text:
        fig.add_annotation(
            text=_esc(text),
            xref="paper",
            yref="paper",
            x=0,
            y=y,
            showarrow=False,
            xanchor="left",
            font={"size": 11},
        )


def _pad_flat_scores(fig: Any, values: Sequence[np.ndarray]) -> None:
    """Give equal scores a y range: plotly cannot autorange a flat line."""
    finite = np.concatenate([v[np.isfinite(v)] for v in values] or [np.zeros(0)])
    if len(finite) and np.ptp(finite) < 1e-9:
        centre = float(finite[0])
        pad = max(abs(centre) * 0.1, 0.1)
        fig.update_yaxes(range=[centre - pad, centre + pad])


def _axis_values(ax: _data.Axis, x: np.ndarray) -> Any:
    if ax.kind == "categorical":
        return [_esc(ax.categories[int(i)]) for i in x]
    return x


def _set_axis(fig: Any, ax: _data.Axis, **where: Any) -> None:
    if ax.kind == "log":
        # One label per decade, written out: narrow panels stay legible.
        fig.update_xaxes(type="log", dtick=1, exponentformat="none", **where)
    elif ax.kind == "categorical":
        fig.update_xaxes(
            type="category",
            categoryorder="array",
            categoryarray=[_esc(c) for c in ax.categories],
            **where,
        )


def plot_heatmap(
    results: Any,
    x: str,
    y: str,
    others: Literal["auto", "best", "mean"] = "auto",
    metric: str | None = None,
) -> Any:
    """Mean score over two parameters.

    The other parameters are fixed at the best candidate's values
    (``others="best"``) or averaged over (``"mean"``); ``"auto"`` fixes them
    when every (x, y) pair was tried with the best's values (a grid) and
    averages otherwise. The figure states which. Numeric parameters with
    many values (a random search) are binned.

    Parameters
    ----------
    results : fitted search, Study or dict
    x, y : str
        Two searched parameters.
    others : {"auto", "best", "mean"}, default="auto"
    metric : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
    """
    go = _go()
    src = _data.source(results, metric)
    cells = _data.heatmap(src, x, y, others)
    fig = go.Figure(
        go.Heatmap(
            x=[_esc(v) for v in cells.x_labels],
            y=[_esc(v) for v in cells.y_labels],
            z=cells.z,
            customdata=cells.counts,
            colorscale="Viridis",
            colorbar={"title": {"text": _score_title(src)}},
            hovertemplate=_esc(x)
            + "=%{x}<br>"
            + _esc(y)
            + "=%{y}<br>score %{z:.4g} (%{customdata} candidates)<extra></extra>",
        )
    )
    fig.update_xaxes(title_text=_esc(x), type="category")
    fig.update_yaxes(title_text=_esc(y), type="category")
    fig.add_annotation(
        text=_esc(cells.note),
        xref="paper",
        yref="paper",
        x=0,
        y=1.06,
        showarrow=False,
        xanchor="left",
        font={"size": 11},
    )
    return _layout(fig, f"Mean score over {x} and {y}", src)


def plot_history(
    results: Any,
    by: Literal["trial", "time"] = "trial",
    metric: str | None = None,
    max_points: int | None = None,
) -> Any:
    """The optimisation history: each trial's score and the best so far.

    Parameters
    ----------
    results : fitted search, Study or dict
    by : {"trial", "time"}, default="trial"
        Trial number (in the order candidates finished, for a study), or
        time: since the search started for a study; cumulative fit and score
        time for a fitted search (which records no clock times).
    metric : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
    """
    go = _go()
    src = _data.source(results, metric)
    hist = _data.history(src, by, max_points)
    shown = hist.shown if hist.shown is not None else np.arange(len(hist.x))
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=hist.x[shown],
            y=hist.score[shown],
            mode="markers",
            name="trial",
            marker={"color": _FAINT, "size": 6},
            text=[_esc(t) for t in hist.text],
            hovertemplate="%{text}<br>score %{y:.4g}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=hist.x,
            y=hist.best,
            mode="lines",
            name="best so far",
            line={"color": _BEST, "shape": "hv"},
        )
    )
    fig.update_xaxes(title_text=_esc(hist.x_title))
    fig.update_yaxes(title_text=_score_title(src))
    _note(fig, _data.shown_note(len(shown), len(hist.x)), y=1.06)
    return _layout(fig, f"Optimisation history (by {by})", src)


def plot_parallel(
    results: Any,
    params: Sequence[str] | None = None,
    metric: str | None = None,
    interactive: bool = False,
    max_points: int | None = None,
) -> Any:
    """Parallel coordinates: each candidate a line through its parameters.

    Every axis is scaled to its range (log axes on a log scale, categories
    spread evenly) and the last axis is the score. By default the lines are
    drawn as plain SVG, coloured by score in eight bands, better candidates
    on top and the best in red: it shows in any browser and notebook.
    ``interactive=True`` draws plotly's ``Parcoords`` instead, whose axes can
    be brushed to filter lines, but which needs WebGL.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    go = _go()
    src = _data.source(results, metric)
    par = _data.parallel(src, params, max_points)
    total = int(np.isfinite(src.frame["score"]).sum())
    if interactive:
        return _layout(_parcoords(go, par, src), "Parallel coordinates", src)
    lines = _data.parallel_lines(par, src.metric)
    n_axes = len(lines.names)
    order = np.argsort(lines.score, kind="stable")
    positions, score = lines.positions[order], lines.score[order]
    bands = np.array_split(np.arange(len(score)), min(8, len(score)))
    colours = _viridis(len(bands))
    fig = go.Figure()
    for band, colour in zip(bands, colours, strict=True):
        if not len(band):
            continue
        xs: list[Any] = []
        ys: list[Any] = []
        for row in positions[band]:
            xs += [*range(n_axes), None]
            ys += [*row, None]
        lo, hi = score[band[0]], score[band[-1]]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                line={"color": colour, "width": 1},
                opacity=0.7,
                name=f"{lo:.4g} to {hi:.4g}",
                hoverinfo="skip",
                connectgaps=False,
            )
        )
    fig.add_trace(
        go.Scatter(
            x=list(range(n_axes)),
            y=positions[-1],
            mode="lines+markers",
            line={"color": _BEST, "width": 3},
            name="best",
            text=[_esc(par.text[order[-1]])] * n_axes,
            hovertemplate="%{text}<extra>best</extra>",
        )
    )
    for i, marks in enumerate(lines.ticks):
        fig.add_shape(
            type="line", x0=i, x1=i, y0=0, y1=1, line={"color": "#444", "width": 1}
        )
        for y, text in marks:
            fig.add_annotation(
                x=i,
                y=y,
                text=_esc(text),
                showarrow=False,
                xanchor="right",
                xshift=-4,
                font={"size": 10},
                bgcolor="rgba(255,255,255,0.7)",
            )
    fig.update_xaxes(
        tickvals=list(range(n_axes)),
        ticktext=[_esc(n) for n in lines.names],
        side="top",
        showgrid=False,
        zeroline=False,
        range=[-0.3, n_axes - 0.7],
    )
    fig.update_yaxes(visible=False, range=[-0.05, 1.05])
    fig.update_layout(legend={"title": {"text": _score_title(src)}})
    _note(fig, _data.shown_note(len(par.score), total), y=-0.05)
    return _layout(fig, "Parallel coordinates", src)


def _viridis(n: int) -> list[str]:
    from plotly.colors import sample_colorscale

    return list(sample_colorscale("Viridis", list(np.linspace(0, 1, max(n, 2)))[:n]))


def _parcoords(go: Any, par: Any, src: _data.Source) -> Any:
    dimensions = []
    for ax, values in zip(par.axes, par.values, strict=True):
        dim: dict[str, Any] = {"label": _esc(ax.name), "values": values}
        if ax.kind == "categorical":
            dim["tickvals"] = list(range(len(ax.categories)))
            dim["ticktext"] = [_esc(c) for c in ax.categories]
        elif ax.kind == "log":
            finite = values[np.isfinite(values)]
            ticks = np.arange(np.floor(finite.min()), np.ceil(finite.max()) + 1)
            dim["tickvals"] = ticks
            dim["ticktext"] = [f"{10**t:g}" for t in ticks]
            dim["label"] = _esc(f"{ax.name} (log)")
        dimensions.append(dim)
    dimensions.append({"label": _score_title(src), "values": par.score})
    return go.Figure(
        go.Parcoords(
            line={
                "color": par.score,
                "colorscale": "Viridis",
                "showscale": True,
                "colorbar": {"title": {"text": "score"}},
            },
            dimensions=dimensions,
        )
    )


def plot_importance(
    results: Any, metric: str | None = None, random_state: int = 0
) -> Any:
    """Parameter importance: permutation importance on a random-forest surrogate.

    See :data:`IMPORTANCE_METHOD`; the figure states the method.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    go = _go()
    src = _data.source(results, metric)
    imp = _data.importance(src, random_state)
    fig = go.Figure(
        go.Bar(
            x=imp.mean[::-1],
            y=[_esc(p) for p in imp.params[::-1]],
            error_x={"type": "data", "array": imp.std[::-1]},
            orientation="h",
            marker={"color": _OK},
            hovertemplate="%{y}: %{x:.3g}<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="drop in the surrogate's R² when shuffled")
    fig.add_annotation(
        text="Method: " + _esc(imp.method.split(":")[0]),
        xref="paper",
        yref="paper",
        x=0,
        y=1.06,
        showarrow=False,
        xanchor="left",
        font={"size": 11},
    )
    return _layout(fig, "Parameter importance", src)


def plot_fit_times(
    results: Any, metric: str | None = None, max_points: int | None = None
) -> Any:
    """Each candidate's mean fit time per fold against its mean score.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    go = _go()
    src = _data.source(results, metric)
    times = _data.fit_times(src, max_points)
    fig = go.Figure(
        go.Scatter(
            x=times.fit_time,
            y=times.score,
            mode="markers",
            marker={"color": _OK, "size": 7},
            text=[_esc(t) for t in times.text],
            hovertemplate="%{text}<br>fit %{x:.3g} s, score %{y:.4g}<extra></extra>",
        )
    )
    positive = times.fit_time[times.fit_time > 0]
    if len(positive) and positive.max() / positive.min() > 100:
        fig.update_xaxes(type="log")
    fig.update_xaxes(title_text="mean fit time per fold (s)")
    fig.update_yaxes(title_text=_score_title(src))
    total = int(np.isfinite(src.frame["score"]).sum())
    _note(fig, _data.shown_note(len(times.score), total), y=1.06)
    return _layout(fig, "Fit time against score", src)


def plot_rungs(results: Any, metric: str | None = None) -> Any:
    """A halving search's rungs: each candidate's score per resource.

    Lines join a candidate's rungs; filled markers were promoted to the next
    rung, open ones stopped there, stars reached the last rung.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    go = _go()
    src = _data.source(results, metric)
    frame = _data.rungs(src).frame
    fig = go.Figure()
    lines_x: list[Any] = []
    lines_y: list[Any] = []
    for _, group in frame.groupby("candidate", sort=False):
        if len(group) > 1:
            lines_x += [*group["n_resources"], None]
            lines_y += [*group["score"], None]
    fig.add_trace(
        go.Scatter(
            x=lines_x,
            y=lines_y,
            mode="lines",
            line={"color": "rgba(120,120,120,0.35)", "width": 1},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    kinds: list[tuple[str, Any, dict[str, Any]]] = [
        ("promoted", frame["promoted"], {"symbol": "circle", "color": _OK}),
        (
            "stopped",
            ~frame["promoted"] & ~frame["final"],
            {"symbol": "circle-open", "color": "#7f7f7f"},
        ),
        ("last rung", frame["final"], {"symbol": "star", "color": _BEST, "size": 11}),
    ]
    for name, mask, marker in kinds:
        part = frame[mask]
        fig.add_trace(
            go.Scatter(
                x=part["n_resources"],
                y=part["score"],
                mode="markers",
                name=f"{name} ({len(part)})",
                marker={"size": 8, **marker},
                text=[_esc(t) for t in part["text"]],
                customdata=part["iter"],
                hovertemplate="rung %{customdata}: %{text}<br>"
                "resources %{x}, score %{y:.4g}<extra></extra>",
            )
        )
    resources = frame["n_resources"]
    if resources.min() > 0 and resources.max() / resources.min() >= 10:
        fig.update_xaxes(type="log")
    fig.update_xaxes(title_text="resources (n_resources)")
    fig.update_yaxes(title_text=_score_title(src))
    return _layout(fig, "Halving rungs: candidates promoted per resource", src)
