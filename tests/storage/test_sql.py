"""SQLStorage itself: URLs, schema versions and migrations, SQLite settings, errors."""

from __future__ import annotations

import signal
import sqlite3
import sys

import pytest
import sqlalchemy as sa

from hpsearch import GridSearchCV, MissingExtraError, StorageError
from hpsearch.storage import SCHEMA_VERSION, MemoryStorage, SQLStorage, open_storage
from hpsearch.storage._sql import MIGRATIONS, storage_url


def test_a_plain_path_means_sqlite_and_postgresql_urls_use_psycopg(tmp_path):
    assert storage_url(tmp_path / "runs.db") == f"sqlite:///{tmp_path / 'runs.db'}"
    assert storage_url("postgresql://u@h:5432/db") == "postgresql+psycopg://u@h:5432/db"
    assert storage_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert storage_url("sqlite:///x.db") == "sqlite:///x.db"


def test_open_storage_takes_urls_paths_and_storage_objects(tmp_path):
    memory = MemoryStorage()
    assert open_storage(memory) is memory
    opened = open_storage(tmp_path / "runs.db")
    assert isinstance(opened, SQLStorage)
    assert opened.url == f"sqlite:///{tmp_path / 'runs.db'}"
    opened.close()
    opened = open_storage(f"sqlite:///{tmp_path / 'other.db'}")
    assert isinstance(opened, SQLStorage)
    opened.close()


def test_open_storage_refuses_other_things():
    with pytest.raises(
        StorageError,
        match=r"^storage must be a file path, a database URL such as "
        r"'sqlite:///runs\.db' or 'postgresql://user@host/db', or a storage "
        r"object; got 3 \(int\)\.$",
    ):
        open_storage(3)
    with pytest.raises(
        StorageError,
        match=r"^storage must be a SQLite or PostgreSQL URL; got "
        r"'mysql://u@h/db'\. Use 'sqlite:///path\.db', a file path, or "
        r"'postgresql://\.\.\.'\.$",
    ):
        open_storage("mysql://u@h/db")


def test_a_file_in_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(
        StorageError,
        match=r"^storage's folder must exist; got '.*nowhere', which does not "
        r"\(storage sqlite:///.*nowhere/runs\.db\)\. Create it first\.$",
    ):
        SQLStorage(tmp_path / "nowhere" / "runs.db")


def test_an_unreachable_postgres_server_is_a_storage_error():
    with pytest.raises(
        StorageError,
        match=r"^storage postgresql://postgres@127\.0\.0\.1:1/test must be "
        r"reachable; got 'connection failed: .*Connection refused'\. Check that "
        r"the server runs and the URL is right\.$",
    ):
        SQLStorage("postgresql://postgres@127.0.0.1:1/test")


def test_postgres_without_psycopg_names_the_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(
        MissingExtraError,
        match=r"^PostgreSQL storage needs psycopg 3: pip install "
        r"'hpsearch\[postgres\]' \(.*\)\.$",
    ):
        SQLStorage("postgresql://postgres@127.0.0.1:1/test")


def test_a_new_file_gets_the_current_schema_in_wal_mode(tmp_path):
    path = tmp_path / "runs.db"
    storage = SQLStorage(path)
    assert storage.schema_version() == SCHEMA_VERSION == len(MIGRATIONS)
    storage.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert {
        "hpsearch_studies",
        "hpsearch_candidates",
        "hpsearch_results",
        "hpsearch_runs",
        "hpsearch_schema_version",
    } <= tables


def test_a_schema_newer_than_the_library_is_refused(tmp_path):
    path = tmp_path / "runs.db"
    SQLStorage(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE hpsearch_schema_version SET version = 99")
    with pytest.raises(
        StorageError,
        match=rf"^sqlite:///.*runs\.db has schema 99 but hpsearch \S+ reads schema "
        rf"{SCHEMA_VERSION} at most\. Upgrade hpsearch: pip install --upgrade "
        r"hpsearch$",
    ):
        SQLStorage(path)


def test_opening_an_older_schema_applies_the_migrations_in_order(tmp_path, monkeypatch):
    path = tmp_path / "runs.db"
    SQLStorage(path).close()
    applied = []

    def to_2(conn: sa.Connection, prefix: str) -> None:
        applied.append(2)
        conn.exec_driver_sql(f"ALTER TABLE {prefix}studies ADD COLUMN note TEXT")

    monkeypatch.setattr("hpsearch.storage._sql.MIGRATIONS", [*MIGRATIONS, to_2])
    monkeypatch.setattr("hpsearch.storage._sql.SCHEMA_VERSION", SCHEMA_VERSION + 1)
    storage = SQLStorage(path)
    assert applied == [2]
    assert storage.schema_version() == SCHEMA_VERSION + 1
    storage.close()
    SQLStorage(path).close()  # up to date now: nothing applied again
    assert applied == [2]


def test_tables_not_written_by_hpsearch_are_refused(tmp_path):
    path = tmp_path / "runs.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE hpsearch_studies (x INTEGER)")
    with pytest.raises(
        StorageError,
        match=r"must have a hpsearch_schema_version table next to its "
        r"hpsearch_studies table; got none\.",
    ):
        SQLStorage(path)


def test_signal_handlers_are_restored_after_a_stored_search(tmp_path):
    from sklearn.datasets import load_iris
    from sklearn.tree import DecisionTreeClassifier

    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    X, y = load_iris(return_X_y=True)
    GridSearchCV(
        DecisionTreeClassifier(), {"max_depth": [1, 2]}, storage=tmp_path / "r.db"
    ).fit(X, y)
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
