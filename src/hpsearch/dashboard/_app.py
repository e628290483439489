"""The dashboard's web app: three static pages and a read-only JSON API.

Pages are plain HTML and JavaScript files (``static/``) that fill themselves
from the API; they put every stored string into the page as text
(``textContent``), never as HTML, and a Content-Security-Policy forbids any
script but the app's own files. plotly.js is served from the installed
plotly package. Every route is a GET: nothing here writes to the storage.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.middleware.trustedhost import TrustedHostMiddleware

from hpsearch.dashboard._snapshots import Snapshot, Snapshots
from hpsearch.dashboard._tables import QueryError, page
from hpsearch.plot import _data

STATIC = Path(__file__).parent / "static"
#: At most this many candidates are drawn as markers or lines in a plot.
MAX_POINTS = 2000
PlotKind = Literal[
    "history",
    "history_time",
    "param_scores",
    "heatmap",
    "parallel",
    "importance",
    "fit_times",
    "rungs",
]
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class Problem(BaseModel):
    """An error: what was wrong with the request."""

    detail: str


class StudySummary(BaseModel):
    name: str
    search: str
    status: str = Field(description="running, finished or interrupted")
    done: int = Field(description="fits done of the latest search")
    total: int = Field(description="fits the latest search plans")
    failed: int
    running: int = Field(description="search processes working on it")
    candidates: int = Field(description="candidates with a result on every split")
    metric: str
    best_score: float | None
    created_at: str
    updated_at: str
    version: str = Field(description="changes whenever results are stored")


class StudyDetail(StudySummary):
    params: list[str]
    best_params: dict[str, str] | None
    spec: dict[str, Any]
    plots: list[str] = Field(description="the plot kinds this study can show")


class StorageInfo(BaseModel):
    url: str = Field(description="the storage, its password hidden")
    read_only: bool
    studies: int


class TrialPage(BaseModel):
    total: int = Field(description="rows matching the query")
    offset: int
    limit: int
    columns: list[str]
    rows: list[dict[str, Any]]


class Failure(BaseModel):
    candidate: int
    params: str
    split: int
    error: str


class FailurePage(BaseModel):
    total: int
    offset: int
    limit: int
    rows: list[Failure]


class Figure(BaseModel):
    """A plotly figure: ``Plotly.newPlot(div, data, layout)``."""

    data: list[dict[str, Any]]
    layout: dict[str, Any]


class Comparison(BaseModel):
    studies: list[StudySummary]
    params: dict[str, list[str]]
    same_space: bool
    figure: Figure


StudyName = Annotated[str, Query(description="the study's name")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "No study of that name"},
    503: {"model": Problem, "description": "The storage cannot be read"},
}
BAD: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    400: {"model": Problem, "description": "The query cannot be answered"},
}


def create_app(
    storage: Any,
    *,
    allowed_hosts: list[str] | None = None,
    interval: float = 2.0,
) -> FastAPI:
    """The dashboard app over ``storage`` (read-only).

    Parameters
    ----------
    storage : str or Storage
        As ``load_study``'s argument.
    allowed_hosts : list of str, optional
        Host names the app answers to (others get 400), a guard against DNS
        rebinding; by default the loopback names. ``["*"]`` allows any.
    interval : float, default=2.0
        The shortest time between two reads of one study.
    """
    snapshots = Snapshots(storage, interval=interval)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        snapshots.close()

    app = FastAPI(
        lifespan=lifespan,
        title="hpsearch dashboard",
        version=_version(),
        description="Read-only views of the studies in one storage. Every "
        "route is a GET; nothing changes stored data.",
        # FastAPI's documentation pages load their scripts from a CDN: none.
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.snapshots = snapshots
    app.add_middleware(
        TrustedHostMiddleware,
        allowed_hosts=allowed_hosts or ["127.0.0.1", "localhost", "[::1]", "::1"],
    )

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    @app.exception_handler(QueryError)
    async def bad_query(request: Request, exc: QueryError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.exception_handler(_data.PlotError)
    async def bad_plot(request: Request, exc: _data.PlotError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    _pages(app, snapshots)
    _api(app, snapshots)
    return app


def _version() -> str:
    from hpsearch import __version__

    return __version__


def _pages(app: FastAPI, snapshots: Snapshots) -> None:
    def serve(name: str) -> Callable[[], FileResponse]:
        def handler() -> FileResponse:
            return FileResponse(STATIC / name, media_type="text/html")

        return handler

    app.get("/", include_in_schema=False)(serve("index.html"))
    app.get("/study", include_in_schema=False)(serve("study.html"))
    app.get("/compare", include_in_schema=False)(serve("compare.html"))

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        import plotly

        path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
        return FileResponse(path, media_type="text/javascript")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")


def _snapshot(snapshots: Snapshots, name: str) -> Snapshot:
    try:
        snapshot = snapshots.get(name)
    except Exception as exc:  # the database went away, a network error...
        raise HTTPException(
            503, f"The storage {snapshots.url} cannot be read: {type(exc).__name__}."
        ) from None
    if snapshot is None:
        raise HTTPException(404, f"study must name a stored study; got {name!r}.")
    return snapshot


def _summary(snapshot: Snapshot) -> StudySummary:
    study = snapshot.study
    p = study.progress
    return StudySummary(
        name=study.name,
        search=study.spec.search,
        status=study.status,
        done=p.done,
        total=p.total,
        failed=p.failed,
        running=p.running,
        candidates=len(study.trials),
        metric=study.spec.refit or "score",
        best_score=_number(study.best_score_),
        created_at=study.created_at.isoformat(),
        updated_at=study.updated_at.isoformat(),
        version=snapshot.version,
    )


def _number(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _plain(value: Any) -> Any:
    """JSON-safe: non-finite numbers become their text."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _plots(snapshot: Snapshot) -> list[str]:
    src = snapshot.source
    if src is None:
        return []
    kinds = ["history", "history_time", "param_scores", "parallel", "fit_times"]
    if len(src.params) >= 2:
        kinds.insert(3, "heatmap")
    if int(src.frame["score"].notna().sum()) >= 3:
        kinds.append("importance")
    if "iter" in src.cv_results and "n_resources" in src.cv_results:
        kinds.append("rungs")
    return kinds


def _api(app: FastAPI, snapshots: Snapshots) -> None:
    @app.get("/api/storage", response_model=StorageInfo, tags=["storage"])
    def storage_info() -> StorageInfo:
        """The storage the dashboard reads (its password hidden)."""
        return StorageInfo(
            url=snapshots.url, read_only=True, studies=len(snapshots.names())
        )

    @app.get("/api/studies", response_model=list[StudySummary], tags=["studies"])
    def studies() -> list[StudySummary]:
        """Every study: status, progress, best score, created and updated."""
        out = []
        for name in snapshots.names():
            snapshot = snapshots.get(name)
            if snapshot is not None:
                out.append(_summary(snapshot))
        return out

    @app.get(
        "/api/study", response_model=StudyDetail, responses=NOT_FOUND, tags=["studies"]
    )
    def study(name: StudyName) -> StudyDetail:
        """A study: its summary, spec, best parameters and which plots it has."""
        snapshot = _snapshot(snapshots, name)
        s = snapshot.study
        best = s.best_params_
        return StudyDetail(
            **_summary(snapshot).model_dump(),
            params=list(s.spec.parameters),
            best_params=None
            if best is None
            else {k: _data.label(v) for k, v in best.items()},
            spec=_plain(s.spec.to_dict()),
            plots=_plots(snapshot),
        )

    @app.get("/api/trials", response_model=TrialPage, responses=BAD, tags=["studies"])
    def trials(
        study: StudyName,
        sort: Annotated[str | None, Query(description="a column to sort by")] = None,
        order: Literal["asc", "desc"] = "asc",
        q: Annotated[
            str, Query(max_length=1000, description="filter; see the README")
        ] = "",
        status: Literal["ok", "failed"] | None = None,
        offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    ) -> TrialPage:
        """One page of the trial table, sorted and filtered on the server."""
        snapshot = _snapshot(snapshots, study)
        if snapshot.source is None:
            return TrialPage(total=0, offset=offset, limit=limit, columns=[], rows=[])
        result = page(
            snapshot.table,
            sort=sort,
            descending=order == "desc",
            query=q,
            status=status,
            offset=offset,
            limit=limit,
        )
        return TrialPage(
            total=result.total,
            offset=offset,
            limit=limit,
            columns=result.columns,
            rows=result.rows,
        )

    @app.get(
        "/api/failures",
        response_model=FailurePage,
        responses=NOT_FOUND,
        tags=["studies"],
    )
    def failures(
        study: StudyName,
        offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
        limit: Annotated[int, Query(ge=1, le=500)] = 20,
    ) -> FailurePage:
        """Failed fits of complete candidates, with their error text."""
        snapshot = _snapshot(snapshots, study)
        src = snapshot.source
        folds = None if src is None else src.folds
        if src is None or folds is None:
            return FailurePage(total=0, offset=offset, limit=limit, rows=[])
        failed = snapshot.cached("failed", lambda: folds[folds["status"] == "failed"])
        rows = [
            Failure(
                candidate=int(r.candidate),
                params=_data.params_text(src, int(r.candidate)),
                split=int(r.split),
                error=r.error or "",
            )
            for r in failed.iloc[offset : offset + limit].itertuples()
        ]
        return FailurePage(total=len(failed), offset=offset, limit=limit, rows=rows)

    @app.get(
        "/api/plot",
        response_class=Response,
        responses={200: {"model": Figure}, **BAD},
        tags=["plots"],
    )
    def plot(
        study: StudyName,
        kind: Annotated[PlotKind, Query(description="which plot")],
        x: Annotated[str | None, Query(description="heatmap: the x parameter")] = None,
        y: Annotated[str | None, Query(description="heatmap: the y parameter")] = None,
    ) -> Response:
        """A plotly figure of the study (JSON for ``Plotly.newPlot``)."""
        snapshot = _snapshot(snapshots, study)
        if snapshot.source is None:
            raise HTTPException(
                400, "study has no complete candidate yet; plots appear once one has."
            )
        src = snapshot.source
        if kind == "heatmap":
            names = list(src.params)
            x = x or (names[0] if names else None)
            y = y or (names[1] if len(names) > 1 else None)
            if x is None or y is None:
                raise HTTPException(400, "heatmap needs two searched parameters.")
        text = snapshot.cached(
            ("plot", kind, x, y), lambda: _figure(snapshot, kind, x, y)
        )
        return Response(text, media_type="application/json")

    @app.get("/api/compare", response_model=Comparison, responses=BAD, tags=["studies"])
    def compare(
        study: Annotated[
            list[str],
            Query(min_length=2, max_length=10, description="2 to 10 studies' names"),
        ],
    ) -> Comparison:
        """Studies side by side: best-so-far against trial on one plot."""
        names = list(study)
        shots = [_snapshot(snapshots, name) for name in names]
        params = {s.study.name: list(s.study.spec.parameters) for s in shots}
        # A study named twice is drawn twice: what was asked for.
        return Comparison(
            studies=[_summary(s) for s in shots],
            params=params,
            same_space=len({tuple(p) for p in params.values()}) == 1,
            figure=Figure(**json.loads(_comparison_figure(shots))),
        )


def _figure(snapshot: Snapshot, kind: str, x: str | None, y: str | None) -> str:
    from hpsearch import plot

    study = snapshot.source  # computed once per snapshot
    # A browser draws SVG markers slowly: large studies show a sample.
    most = MAX_POINTS
    if kind == "history":
        fig = plot.plot_history(study, max_points=most)
    elif kind == "history_time":
        fig = plot.plot_history(study, by="time", max_points=most)
    elif kind == "param_scores":
        fig = plot.plot_param_scores(study, max_points=most)
    elif kind == "heatmap":
        fig = plot.plot_heatmap(study, x, y)  # type: ignore[arg-type]
    elif kind == "parallel":
        fig = plot.plot_parallel(study, max_points=most)
    elif kind == "importance":
        fig = plot.plot_importance(study)
    elif kind == "fit_times":
        fig = plot.plot_fit_times(study, max_points=most)
    else:
        fig = plot.plot_rungs(study)
    return str(fig.to_json())


def _comparison_figure(shots: list[Snapshot]) -> str:
    import html

    import plotly.graph_objects as go

    fig = go.Figure()
    for shot in shots:
        src = shot.source
        name = html.escape(shot.study.name, quote=False)
        if src is None:
            continue
        hist = _data.history(src)
        fig.add_trace(
            go.Scatter(
                x=hist.x, y=hist.best, mode="lines", name=name, line={"shape": "hv"}
            )
        )
    fig.update_layout(
        title={"text": "Best so far"},
        template="plotly_white",
        xaxis_title="trial (in the order finished)",
        yaxis_title="best mean test score",
    )
    return str(fig.to_json())
