"""A real dashboard (the CLI in a subprocess) over real storages, and Chromium.

Storages are filled by real searches in another process (``studies.py``):
a SQLite file, and a fresh database on the PostgreSQL server (when
HPSEARCH_TEST_POSTGRES_URL is set), dropped afterwards. The browser is
Debian's Chromium driven by Playwright (the Makefile installs both).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

HERE = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
POSTGRES_ENV = "HPSEARCH_TEST_POSTGRES_URL"


def run_studies(storage: str, *args: str) -> subprocess.Popen[str]:
    """Start ``studies.py`` (real searches) on ``storage`` in a process."""
    return subprocess.Popen(
        [sys.executable, str(HERE / "studies.py"), storage, *args],
        cwd=HERE,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def fill(storage: str) -> None:
    proc = run_studies(storage)
    out, _ = proc.communicate(timeout=240)
    assert proc.returncode == 0, out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``hpsearch dashboard`` running in a subprocess; its output kept."""

    def __init__(self, storage: str, log: Path, *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._out = log.open("w")
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "hpsearch.cli", "dashboard",
                "--storage", storage, "--port", str(self.port),
                "--refresh", "0.5", *extra,
            ],
            stdout=self._out,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"dashboard exited: {log.read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/api/storage", timeout=5).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise AssertionError(f"dashboard did not start: {log.read_text()}")
            time.sleep(0.2)

    def get(self, path: str, **params: object) -> httpx.Response:
        return httpx.get(self.url + path, params=params, timeout=120)  # type: ignore[arg-type]

    def stop(self) -> str:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._out.close()
        return self.log.read_text()


@pytest.fixture(scope="session")
def sqlite_storage(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('dash') / 'studies.db'}"
    fill(url)
    return url


@contextlib.contextmanager
def fresh_database(base: str) -> Iterator[str]:
    """A new database on the PostgreSQL server of ``base``; dropped after."""
    import sqlalchemy as sa

    from hpsearch.storage._sql import storage_url

    name = f"hpsearch_dash_{uuid.uuid4().hex[:10]}"
    # pool_pre_ping: the server may have restarted since (the storage outage
    # tests restart it), and the pooled connection with it.
    engine = sa.create_engine(
        storage_url(base), isolation_level="AUTOCOMMIT", pool_pre_ping=True
    )
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(base).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_storage() -> Iterator[str]:
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    with fresh_database(base) as url:
        fill(url)
        yield url


@pytest.fixture(
    scope="session",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def storage(request: pytest.FixtureRequest) -> str:
    """Each real storage in turn, filled with the studies of studies.py."""
    return str(request.getfixturevalue(f"{request.param}_storage"))


@pytest.fixture(scope="session")
def start_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def start(storage: str, *extra: str) -> Server:
        log = tmp_path_factory.mktemp("log") / "dashboard.log"
        server = Server(storage, log, *extra)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def shared_server(start_server: Callable[..., Server]) -> Callable[[str], Server]:
    """One dashboard per storage for the whole session (they start slowly)."""
    servers: dict[str, Server] = {}

    def get(storage: str) -> Server:
        if storage not in servers:
            servers[storage] = start_server(storage)
        return servers[storage]

    return get


@pytest.fixture(scope="session")
def server(storage: str, shared_server: Callable[[str], Server]) -> Server:
    return shared_server(storage)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"the browser tests need Debian's Chromium at {CHROMIUM}; install it "
            "with `make test` (or: apt-get install -y chromium)."
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()
