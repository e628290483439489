"""The dashboard in a real browser (Debian's Chromium via Playwright).

The real ``hpsearch dashboard`` process serves real SQLite and PostgreSQL
storages filled by real searches. Every test fails on a console error, an
uncaught page error or a JavaScript dialog (what an injected ``alert`` would
open). The SQLite run saves the README's screenshots under docs/.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from dashboard.conftest import fresh_database, run_studies
from dashboard.studies import HOLD_AFTER, HOSTILE, HOSTILE_STUDY

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture
def page(browser) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(90_000)
    expect.set_options(timeout=90_000)
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(f"console {m.type}: {m.text}")
            if m.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))

    def on_dialog(dialog):  # type: ignore[no-untyped-def]
        problems.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.problems = problems  # a test may take out what it expects
    yield page
    context.close()
    assert problems == []


def until(condition, seconds: float = 120) -> None:  # type: ignore[no-untyped-def]
    """Wait for ``condition()`` (the page's CSP forbids Playwright's eval)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def leading_number(locator) -> int:  # type: ignore[no-untyped-def]
    return int(re.match(r"\d+", locator.text_content() or "0").group(0))


def study_url(server, name: str) -> str:  # type: ignore[no-untyped-def]
    return f"{server.url}/study?{urlencode({'name': name})}"


def test_studies_page_lists_every_study(server, page, storage):
    page.goto(server.url + "/")
    page.wait_for_selector("body[data-loaded]")
    names = page.locator("#studies tbody tr td:nth-child(2)").all_text_contents()
    # (The live-update test adds a study to the same storage.)
    assert {"svc-grid", "svc-random", HOSTILE_STUDY} <= set(names)
    row = page.locator("#studies tbody tr", has_text="svc-grid")
    assert row.locator(".badge").text_content() == "finished"
    assert row.locator("td").nth(4).text_content() == "72 / 72"
    assert "read-only" in page.locator("#storage").text_content()
    if storage.startswith("sqlite"):
        page.screenshot(path=str(DOCS / "dashboard-studies.png"))


def test_study_table_sorts_filters_and_pages(server, page):
    detail = server.get("/api/study", name="svc-grid").json()
    page.goto(study_url(server, "svc-grid"))
    page.wait_for_selector("body[data-version]")
    assert page.locator("#name").text_content() == "svc-grid"
    assert page.locator("#range").text_content() == "rows 1-24 of 24"
    header = page.locator('#trials th[data-column="mean_test_score"]')
    header.click()
    page.wait_for_selector('#trials th.sorted-asc[data-column="mean_test_score"]')
    header = page.locator('#trials th[data-column="mean_test_score"]')
    header.click()
    page.wait_for_selector('#trials th.sorted-desc[data-column="mean_test_score"]')
    column = (
        page.locator("#trials thead th").all_text_contents().index("mean_test_score")
    )
    first = page.locator("#trials tbody tr").first.locator("td").nth(column)
    assert float(first.text_content()) == pytest.approx(detail["best_score"], abs=1e-4)
    page.fill("#q", "kernel=rbf C>=1")
    expect(page.locator("#range")).to_have_text("rows 1-6 of 6")
    kernels = page.locator("#trials tbody tr td:nth-child(4)").all_text_contents()
    assert kernels == ["rbf"] * 6
    page.select_option("#limit", "25")
    page.fill("#q", "nope>1")
    page.wait_for_selector("#qerror:not([hidden])")
    assert (
        page.locator("#qerror")
        .text_content()
        .startswith("query term 'nope>1' must name a column of the trial table")
    )
    # The browser logs the API's answer to the bad query, as it logs any 400.
    assert page.problems == [
        "console error: Failed to load resource: the server responded with a "
        "status of 400 (Bad Request)"
    ]
    page.problems.clear()


def test_plots_render(server, page, storage):
    detail = server.get("/api/study", name="svc-grid").json()
    page.goto(study_url(server, "svc-grid"))
    page.wait_for_selector("body[data-plotted]")
    for kind in detail["plots"]:
        plot = page.locator(f"#plot-{kind}")
        assert plot.locator(".main-svg").count() >= 1, kind
        assert plot.locator(".note").count() == 0, plot.text_content()
    heat = page.locator("#plot-heatmap")
    assert "fixed at the best candidate" in heat.text_content()
    page.select_option("#hx", "kernel")
    expect(page.locator("#plot-heatmap .xtitle")).to_have_text("kernel")
    importance = page.locator("#plot-importance").text_content()
    assert "permutation importance on a random-forest surrogate" in importance
    if storage.startswith("sqlite"):
        page.select_option("#hx", "C")
        expect(page.locator("#plot-heatmap .xtitle")).to_have_text("C")
        page.locator("#overview").scroll_into_view_if_needed()
        page.screenshot(path=str(DOCS / "dashboard-study.png"), full_page=False)
        heat.screenshot(path=str(DOCS / "plot-heatmap.png"))
        page.locator("#plot-param_scores").screenshot(
            path=str(DOCS / "plot-param-scores.png")
        )
        page.locator("#plot-history").screenshot(path=str(DOCS / "plot-history.png"))


def test_hostile_strings_show_as_text(server, page):
    page.goto(study_url(server, HOSTILE_STUDY))
    page.wait_for_selector("body[data-plotted]")
    assert page.locator("#name").text_content() == HOSTILE_STUDY
    assert page.title() == HOSTILE_STUDY + " · hpsearch dashboard"
    cells = page.locator("#trials tbody td").all_text_contents()
    assert HOSTILE[0] in cells and HOSTILE[1] in cells
    failure = page.locator(".failure pre").first.text_content()
    assert f"ValueError: cannot fit {HOSTILE[0]} <b>bold</b>" in failure
    ticks = page.locator("#plot-param_scores .xtick text").all_text_contents()
    assert HOSTILE[0] in ticks and HOSTILE[1] in ticks
    # Nothing stored became markup: no image, no script, no bold element.
    assert page.locator("img").count() == 0
    assert page.locator("main script, .failure b, #trials b").count() == 0
    page.goto(server.url + "/")
    page.wait_for_selector("body[data-loaded]")
    assert page.locator("img").count() == 0
    page.locator("#studies a", has_text=HOSTILE_STUDY).click()
    page.wait_for_selector("body[data-version]")
    assert page.locator("#name").text_content() == HOSTILE_STUDY


def test_compare_draws_best_so_far_curves_together(server, page):
    page.goto(f"{server.url}/compare?study=svc-grid&study=svc-random")
    page.wait_for_selector("body[data-plotted]")
    assert page.locator("#compare-plot .scatterlayer .trace").count() == 2
    legend = page.locator("#compare-plot .legendtext").all_text_contents()
    assert legend == ["svc-grid", "svc-random"]
    assert page.locator("#side tbody tr").count() == 2
    assert page.locator("#space").text_content() == (
        "The studies search the same parameters."
    )


def test_progress_and_results_appear_while_a_search_runs(
    storage, start_server, page, tmp_path
):
    server = start_server(storage)
    name = f"live-{uuid.uuid4().hex[:6]}"
    # The search's fits after the 10th wait for this file: it still runs
    # when the page opens, however long the browser takes.
    gate = tmp_path / "go"
    search = run_studies(storage, "--slow", name, str(gate))
    try:
        while server.get("/api/study", name=name).status_code != 200 or (
            server.get("/api/study", name=name).json()["candidates"] < 1
        ):
            assert search.poll() is None, search.communicate()[0]
            time.sleep(0.3)
        page.goto(study_url(server, name))
        page.wait_for_selector("body[data-version]")
        page.evaluate("window.notReloaded = true")
        first = page.locator("#progress").text_content()
        done = int(re.match(r"(\d+) of 40 fits", first).group(1))
        assert done <= HOLD_AFTER
        rows = int(page.locator("#trials").get_attribute("data-total"))
        assert rows < 20
        gate.touch()
        until(lambda: leading_number(page.locator("#progress")) > done)
        until(lambda: int(page.locator("#trials").get_attribute("data-total")) > rows)
        out, _ = search.communicate(timeout=240)
        assert search.returncode == 0, out
        expect(page.locator("#status")).to_have_text("finished")
        assert page.locator("#progress").text_content().startswith("40 of 40 fits")
        assert page.locator("#range").text_content() == "rows 1-20 of 20"
        assert page.evaluate("window.notReloaded") is True
    finally:
        if search.poll() is None:
            search.kill()
            search.wait()


@pytest.mark.postgres
def test_a_storage_password_never_reaches_a_page_or_the_log(
    postgres_storage, start_server, page
):
    secret = "Pw-" + uuid.uuid4().hex[:10]
    # The server trusts local connections, so a wrong password still connects.
    with_password = postgres_storage.replace(
        "postgresql://postgres@", f"postgresql://postgres:{secret}@", 1
    )
    assert secret in with_password
    server = start_server(with_password)
    bodies = [
        server.get(path).text
        for path in ("/", "/api/storage", "/api/studies", "/api/openapi.json")
    ]
    bodies.append(server.get("/api/study", name="svc-grid").text)
    page.goto(server.url + "/")
    page.wait_for_selector("body[data-loaded]")
    bodies.append(page.content())
    assert "***" in page.locator("#storage").text_content()
    page.goto(study_url(server, "svc-grid"))
    page.wait_for_selector("body[data-version]")
    bodies.append(page.content())
    page.goto("about:blank")  # stops the page's polling before the server
    log = server.stop()
    assert "postgresql://postgres:***@" in log
    for text in [*bodies, log]:
        assert secret not in text


def test_fresh_database_helper_is_dropped_afterwards():
    # Guards the PostgreSQL fixture: a database it makes is gone afterwards.
    import os

    base = os.environ.get("HPSEARCH_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("HPSEARCH_TEST_POSTGRES_URL is not set")
    import sqlalchemy as sa

    with fresh_database(base) as url:
        name = sa.make_url(url).database
    engine = sa.create_engine(base.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        found = conn.exec_driver_sql(
            "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
        ).first()
    engine.dispose()
    assert found is None
