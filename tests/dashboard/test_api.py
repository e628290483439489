"""The JSON API against real stored studies, with hpsearch's reading API as oracle."""

from __future__ import annotations

import base64
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import numpy as np
import pytest
from starlette.testclient import TestClient

from dashboard.studies import HOSTILE, HOSTILE_STUDY
from hpsearch import list_studies, load_study
from hpsearch.dashboard import create_app
from hpsearch.plot._data import label


@pytest.fixture(scope="module")
def client(sqlite_storage: str) -> Iterator[TestClient]:
    app = create_app(sqlite_storage)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client


def test_studies_list_what_list_studies_returns(client, sqlite_storage):
    got = {s["name"]: s for s in client.get("/api/studies").json()}
    summaries = list_studies(sqlite_storage)
    assert set(got) == {s.name for s in summaries}
    for summary in summaries:
        row = got[summary.name]
        assert (row["status"], row["done"], row["total"], row["failed"]) == (
            summary.status, summary.done, summary.total, summary.failed,
        )  # fmt: skip
        if summary.best_score is None:
            assert row["best_score"] is None
        else:
            assert row["best_score"] == pytest.approx(summary.best_score)
        assert row["updated_at"] == summary.updated_at.isoformat()
    assert {"svc-grid", "svc-random", HOSTILE_STUDY} <= set(got)


def test_study_detail_holds_spec_best_params_and_plots(client, sqlite_storage):
    study = load_study(sqlite_storage, "svc-grid")
    detail = client.get("/api/study", params={"name": "svc-grid"}).json()
    assert detail["best_params"] == {k: label(v) for k, v in study.best_params_.items()}
    assert detail["spec"]["parameters"] == ["C", "gamma", "kernel"]
    assert detail["spec"]["search"] == "GridSearchCV"
    assert "heatmap" in detail["plots"] and "importance" in detail["plots"]
    assert "rungs" not in detail["plots"]


def all_rows(client, **params):
    rows, offset = [], 0
    while True:
        page = client.get(
            "/api/trials", params={"study": "svc-grid", "offset": offset, **params}
        ).json()
        rows += page["rows"]
        offset += page["limit"]
        if offset >= page["total"]:
            return page["total"], rows


def test_trial_table_sorts_like_results_(client, sqlite_storage):
    frame = load_study(sqlite_storage, "svc-grid").results_
    total, rows = all_rows(client, sort="mean_test_score", order="desc", limit=7)
    assert total == len(frame) == len(rows) == 24
    expected = frame.sort_values("mean_test_score", ascending=False, kind="stable")
    assert [r["mean_test_score"] for r in rows] == list(expected["mean_test_score"])
    assert sorted(r["candidate"] for r in rows) == list(range(24))
    _, by_c = all_rows(client, sort="C", limit=50)
    assert [r["C"] for r in by_c] == sorted(frame["C"].astype(float))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kernel=rbf", lambda f: f["kernel"] == "rbf"),
        ("kernel!=rbf C>=1", lambda f: (f["kernel"] != "rbf") & (f["C"] >= 1)),
        ("SIGMOID", lambda f: f["kernel"] == "sigmoid"),
        ("rank_test_score<=3", lambda f: f["rank_test_score"] <= 3),
        ("'gamma=0.001' kernel=rbf",
         lambda f: (f["gamma"] == 0.001) & (f["kernel"] == "rbf")),
    ],
)  # fmt: skip
def test_trial_table_filters_like_pandas(client, sqlite_storage, query, expected):
    frame = load_study(sqlite_storage, "svc-grid").results_
    total, rows = all_rows(client, q=query, limit=5)
    want = frame.index[expected(frame)]
    assert total == len(want) > 0
    assert sorted(r["candidate"] for r in rows) == list(want)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"sort": "nope"},
            "sort must be a column of the trial table ['candidate', 'C', ",
        ),
        (
            {"q": "depth>3"},
            "query term 'depth>3' must name a column of the trial table [",
        ),
        (
            {"q": "C>big"},
            "query term 'C>big' must compare C with a number; got 'big'.",
        ),
        (
            {"q": "kernel<rbf"},
            "query term 'kernel<rbf' must use = or != on the text column kernel; "
            "got '<'.",
        ),
        ({"q": "'open"}, 'query must have matching quotes; got "\'open"'),
    ],
)
def test_bad_queries_get_400_with_a_message(client, params, message):
    response = client.get("/api/trials", params={"study": "svc-grid", **params})
    assert response.status_code == 400
    assert response.json()["detail"].startswith(message)


def test_unknown_study_is_404(client):
    for path in ("/api/study?name=nope", "/api/trials?study=nope"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json() == {
            "detail": "study must name a stored study; got 'nope'."
        }


def test_failures_carry_the_error_text(client):
    page = client.get("/api/failures", params={"study": HOSTILE_STUDY}).json()
    assert page["total"] == 3
    assert {r["split"] for r in page["rows"]} == {0, 1, 2}
    for row in page["rows"]:
        assert row["params"] == f"parameter={HOSTILE[0]}"
        assert f"ValueError: cannot fit {HOSTILE[0]} <b>bold</b>" in row["error"]


def test_every_plot_of_a_study_is_a_figure(client):
    detail = client.get("/api/study", params={"name": "svc-random"}).json()
    for kind in detail["plots"]:
        figure = client.get("/api/plot", params={"study": "svc-random", "kind": kind})
        assert figure.status_code == 200, (kind, figure.text)
        assert figure.json()["data"], kind
    heat = client.get(
        "/api/plot",
        params={"study": "svc-grid", "kind": "heatmap", "x": "kernel", "y": "C"},
    ).json()
    assert heat["layout"]["xaxis"]["title"]["text"] == "kernel"
    rungs = client.get("/api/plot", params={"study": "svc-grid", "kind": "rungs"})
    assert rungs.status_code == 400
    assert rungs.json()["detail"].startswith("results must come from a halving search")


def numbers(data):
    """An array of a figure's JSON: a list, or plotly's base64 typed array."""
    if isinstance(data, dict):
        return np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"])
    return np.asarray(data, dtype=float)


def test_compare_puts_best_so_far_curves_on_one_plot(client, sqlite_storage):
    result = client.get(
        "/api/compare", params=[("study", "svc-grid"), ("study", "svc-random")]
    ).json()
    assert result["same_space"] is True
    curves = result["figure"]["data"]
    assert [c["name"] for c in curves] == ["svc-grid", "svc-random"]
    for curve, name in zip(curves, ["svc-grid", "svc-random"], strict=True):
        best = load_study(sqlite_storage, name).best_score_
        assert numbers(curve["y"]).max() == pytest.approx(best)
        assert np.all(np.diff(numbers(curve["y"])) >= 0)
    one = client.get("/api/compare", params={"study": "svc-grid"})
    assert one.status_code == 422  # FastAPI's check of the documented bounds
    assert one.json()["detail"][0]["msg"].startswith(
        "List should have at least 2 items"
    )


def test_the_api_is_read_only(client, sqlite_storage):
    before = [(s.name, s.done, s.updated_at) for s in list_studies(sqlite_storage)]
    spec = client.get("/api/openapi.json").json()
    methods = {m for path in spec["paths"].values() for m in path}
    assert methods == {"get"}
    for path in spec["paths"]:
        for method in ("post", "put", "patch", "delete"):
            response = client.request(method, path, params={"study": "svc-grid"})
            assert response.status_code == 405, (method, path)
    after = [(s.name, s.done, s.updated_at) for s in list_studies(sqlite_storage)]
    assert before == after


def test_pages_forbid_foreign_scripts_and_framing(client):
    response = client.get("/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert client.get("/static/plotly.min.js").status_code == 200
    # FastAPI's own documentation pages would load scripts from a CDN.
    assert client.get("/api/docs").status_code == 404


def test_other_host_names_are_refused(client):
    response = client.get("/api/studies", headers={"host": "attacker.example"})
    assert response.status_code == 400


def test_missing_dashboard_extra_names_it():
    code = textwrap.dedent(
        """
        import sys
        sys.modules["fastapi"] = None  # as if not installed
        from hpsearch.dashboard import create_app
        try:
            create_app("sqlite:///unused.db")
        except ImportError as exc:
            print(type(exc).__name__, exc)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith(
        "MissingExtraError hpsearch dashboard needs FastAPI, uvicorn and plotly: "
        "pip install 'hpsearch[dashboard]'"
    )


def test_cli_refuses_a_sqlite_file_that_does_not_exist(tmp_path):
    missing = tmp_path / "nope.db"
    proc = subprocess.run(
        [sys.executable, "-m", "hpsearch.cli", "dashboard", "--storage", str(missing)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert (
        f"storage must exist to be shown; got {missing}, but {missing} does not "
        "exist." in proc.stderr
    )
    assert not missing.exists()


def test_cli_help_shows_safe_defaults():
    from click.testing import CliRunner

    from hpsearch.cli import cli

    result = CliRunner().invoke(cli, ["dashboard", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "--storage" in text
    assert "--host TEXT Address to listen on." in text
    assert "[default: 127.0.0.1]" in text and "[default: 8080;" in text
    assert "dashboard" in CliRunner().invoke(cli, ["--help"]).output
