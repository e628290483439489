"""How fast the dashboard's pages load over a study of 100,000 fold results.

A study of 20,000 candidates x 5 splits is stored in SQLite (``big_study``),
``hpsearch dashboard`` serves it in its own process, and Debian's Chromium
(Playwright) loads the pages as a person would. The study page's load is
timed by the browser's own clock (``performance.now()``, from the start of
the navigation) until its data is in the page: header, progress, best
parameters, spec and the first page of the trial table; then until every
plot is drawn (plotly.js loads and the plots draw after the data shows).
The studies page and a click on a column are timed from Python. Also
timed: the trial-table API (sorted, filtered, later pages) as the table's
buttons call it, and, in the
same run, reading the study with ``load_study`` and building its
``results_`` (what a page would cost without the dashboard's snapshots).
The first read of a study (when the dashboard starts) is listed apart.

Run: .venv/bin/python benchmarks/dashboard_load.py [--candidates 20000]
Writes benchmarks/dashboard_results.md.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from big_study import N_SPLITS, make_big_study  # noqa: E402

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def timed(fn, reps: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=20_000)
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    storage = f"sqlite:///{folder / 'big.db'}"
    print(f"storing {args.candidates} x {N_SPLITS} fold results ...", flush=True)
    make_big_study(storage, "big", args.candidates)
    n_results = args.candidates * N_SPLITS

    from hpsearch import load_study

    def read() -> None:
        load_study(storage, "big").results_  # noqa: B018

    read_times = timed(read, 3)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "hpsearch.cli", "dashboard", "--storage", storage,
         "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    rows: list[tuple[str, list[float]]] = []
    try:
        start = time.perf_counter()
        while True:
            try:
                if httpx.get(url + "/api/study?name=big", timeout=300).is_success:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        cold = time.perf_counter() - start
        client = httpx.Client(base_url=url, timeout=60)
        api = [
            ("API: trials by score", {"sort": "mean_test_score", "order": "desc"}),
            ("API: trials by C, page 200", {"sort": "C", "offset": 10_000}),
            ("API: trials, 'kernel=rbf C>1'", {"q": "kernel=rbf C>1", "sort": "gamma"}),
            ("API: trials, text 'poly'", {"q": "poly", "status": "ok"}),
        ]
        for name, params in api:
            rows.append(
                (
                    name,
                    timed(
                        lambda p=params: client.get(
                            "/api/trials", params={"study": "big", **p}
                        ).raise_for_status(),
                        args.reps * 3,
                    ),
                )
            )
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(300_000)
            study = f"{url}/study?{urlencode({'name': 'big'})}"
            # Once: the plots are computed on first request, then kept.
            page.goto(study)
            page.wait_for_selector("body[data-plotted]")
            first_plots = float(
                page.locator("body").get_attribute("data-plotted-ms") or "nan"
            )
            plots = {}
            for kind in (
                "history",
                "param_scores",
                "heatmap",
                "parallel",
                "importance",
            ):
                plots[kind] = timed(
                    lambda k=kind: client.get(
                        "/api/plot", params={"study": "big", "kind": k}
                    ).raise_for_status(),
                    3,
                )

            shown_ms: list[float] = []
            plotted_ms: list[float] = []

            def load_study_page() -> None:
                page.goto("about:blank")
                page.goto(study)
                page.wait_for_selector("body[data-version]")
                body = page.locator("body")
                shown_ms.append(float(body.get_attribute("data-shown-ms") or "nan"))
                page.wait_for_selector("body[data-plotted]")
                plotted_ms.append(float(body.get_attribute("data-plotted-ms") or "nan"))

            def load_index() -> None:
                page.goto("about:blank")
                page.goto(url + "/")
                page.wait_for_selector("body[data-loaded]")

            def sort_in_page() -> None:
                page.locator('#trials th[data-column="gamma"]').click()
                page.wait_for_selector(
                    '#trials th[data-column="gamma"].sorted-asc, '
                    '#trials th[data-column="gamma"].sorted-desc'
                )

            rows.insert(0, ("page: studies list", timed(load_index, args.reps)))
            timed(load_study_page, args.reps)
            rows.insert(1, ("page: study, data shown", [t / 1e3 for t in shown_ms]))
            rows.insert(
                2, ("page: study, every plot drawn", [t / 1e3 for t in plotted_ms])
            )
            page.goto(study)
            page.wait_for_selector("body[data-plotted]")
            rows.insert(
                3, ("page: click a column to sort", timed(sort_in_page, args.reps))
            )
            browser.close()
        for kind, times in plots.items():
            rows.append((f"API: plot {kind} (kept after the first)", times))
    finally:
        server.terminate()
        server.wait()
    reading = statistics.median(read_times)
    lines = [
        f"Dashboard over one SQLite study of {n_results:,} fold results "
        f"({args.candidates:,} candidates x {N_SPLITS} splits); median of "
        f"{args.reps} or more; this machine (2 cores, shared).",
        "",
        "| what | median (s) | max (s) | / reading the study |",
        "|---|---:|---:|---:|",
    ]
    for name, times in rows:
        med = statistics.median(times)
        lines.append(f"| {name} | {med:.3f} | {max(times):.3f} | {med / reading:.3f} |")
    lines += [
        f"| reading the study: load_study + results_ (no dashboard) | {reading:.3f} "
        f"| {max(read_times):.3f} | 1.000 |",
        f"| first read when the dashboard starts (once) | {cold:.3f} | {cold:.3f} "
        f"| {cold / reading:.3f} |",
        f"| first visit's plots, computed once per read (browser clock) | "
        f"{first_plots / 1000:.3f} | {first_plots / 1000:.3f} | "
        f"{first_plots / 1000 / reading:.3f} |",
    ]
    text = "\n".join(lines)
    print(text)
    (HERE / "dashboard_results.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
