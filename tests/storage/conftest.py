"""Storages for the storage tests: in memory, a SQLite file, the PostgreSQL server.

PostgreSQL tests run when HPSEARCH_TEST_POSTGRES_URL is set (``.ci/run`` sets
it) and fail, not skip, when the server cannot be reached then. Each test gets
tables of its own (a fresh prefix), dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from hpsearch.storage import MemoryStorage, SQLStorage
from hpsearch.storage._sql import _tables

POSTGRES_ENV = "HPSEARCH_TEST_POSTGRES_URL"


def fresh_prefix() -> str:
    return f"t{uuid.uuid4().hex[:12]}_"


def drop_tables(url: str, prefix: str) -> None:
    """Drop every table a test made under ``prefix``."""
    from hpsearch.storage._sql import storage_url

    engine = sa.create_engine(storage_url(url))
    metadata = sa.MetaData()
    _tables(metadata, prefix)
    metadata.drop_all(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    return url


@pytest.fixture
def postgres_prefix(postgres_url: str) -> Iterator[str]:
    prefix = fresh_prefix()
    yield prefix
    drop_tables(postgres_url, prefix)


@pytest.fixture(
    params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def storage(request: pytest.FixtureRequest, tmp_path) -> Iterator[object]:
    """Each storage implementation in turn: the contract suite runs on all."""
    if request.param == "memory":
        yield MemoryStorage()
        return
    if request.param == "sqlite":
        opened = SQLStorage(tmp_path / "studies.db")
        yield opened
        opened.close()
        return
    url = request.getfixturevalue("postgres_url")
    prefix = request.getfixturevalue("postgres_prefix")
    opened = SQLStorage(url, table_prefix=prefix)
    yield opened
    opened.close()
