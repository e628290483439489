"""SQLite and PostgreSQL storage through one SQLAlchemy 2 Core implementation.

Concurrency. Many processes may write one storage at once:

- SQLite runs in WAL mode (readers never block the writer), with a busy
  timeout, and every transaction starts with ``BEGIN IMMEDIATE``, so that two
  writers queue for the lock instead of failing when a reader upgrades; a
  transaction that still meets a lock is retried with jittered backoff.
  ``synchronous=NORMAL``: a commit survives the death of the process (what a
  search must survive); only a power cut may lose the last commits.
- PostgreSQL: each (candidate, split) row is inserted with ``ON CONFLICT DO
  NOTHING``; serialization failures and deadlocks are retried; sessions run
  with ``synchronous_commit=off`` (a commit survives the death of the search
  process, not a crash of the server: the same promise as SQLite's).

Schema. ``<prefix>schema_version`` holds the schema's version. Opening a
storage creates the tables when there are none and applies, in order, the
migrations from the stored version to :data:`SCHEMA_VERSION`; a version newer
than this library knows raises :class:`~hpsearch.StorageError`.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, OperationalError

from hpsearch._errors import MissingExtraError, StorageError
from hpsearch._records import FoldResult, TaskKey
from hpsearch._version import __version__
from hpsearch.storage._base import (
    Claimed,
    PlanEntry,
    RunRecord,
    StoredCandidate,
    StudyData,
    StudyRecord,
    check_study_name,
    fit_again,
    is_study_name,
    not_found,
)
from hpsearch.storage._codec import (
    decode_plan,
    dumps,
    encode_plan,
    encode_resource,
    result_row,
    row_result,
)

T = TypeVar("T")

SCHEMA_VERSION = 3

# How long a transaction keeps retrying a locked database before giving up
# (outside a search; a search's recorder sets ``SQLStorage.retry`` to the
# search's ``storage_retry`` for its run).
LOCK_TIMEOUT = 120.0

# SQLSTATE classes of a lost or refused connection (08: connection exception,
# 57: operator intervention, e.g. "terminating connection due to administrator
# command", "the database system is starting up").
_UNREACHABLE_CLASSES = ("08", "57")


def _tables(metadata: sa.MetaData, prefix: str) -> dict[str, sa.Table]:
    """Schema version 3 (the current one).

    Version 2 added the ``resource`` column to the key of ``results`` (""
    where there is none) and plan entries with a resource and a round.
    Version 3 added the runs' heartbeat (``heartbeat_at``, ``lease_seconds``)
    and ``claims``: the lease of a run on a task it is fitting.
    """
    studies = sa.Table(
        f"{prefix}studies",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("plan", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    candidates = sa.Table(
        f"{prefix}candidates",
        metadata,
        sa.Column("study_id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("params", sa.Text, nullable=False),
    )
    results = sa.Table(f"{prefix}results", metadata, *_result_columns())
    runs = sa.Table(
        f"{prefix}runs",
        metadata,
        sa.Column("study_id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("ended_at", sa.Float),
        *_heartbeat_columns(),
    )
    claims = sa.Table(
        f"{prefix}claims",
        metadata,
        sa.Column("study_id", sa.Integer, primary_key=True),
        sa.Column("candidate_key", sa.String(64), primary_key=True),
        sa.Column("resource", sa.String(64), primary_key=True),
        sa.Column("split", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("claimed_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Index(f"{prefix}claims_run", "study_id", "run_id"),
    )
    version = sa.Table(
        f"{prefix}schema_version",
        metadata,
        sa.Column("version", sa.Integer, nullable=False),
    )
    return {
        "studies": studies,
        "candidates": candidates,
        "results": results,
        "runs": runs,
        "claims": claims,
        "schema_version": version,
    }


def _heartbeat_columns() -> list[sa.Column[Any]]:
    """The runs' heartbeat (schema 3): the storage's clock at its last beat,
    and how long after it the run counts as stopped."""
    return [sa.Column("heartbeat_at", sa.Float), sa.Column("lease_seconds", sa.Float)]


def _result_columns() -> list[sa.Column[Any]]:
    """The columns of the results table: one row per (study, candidate,
    resource, split)."""
    return [
        sa.Column("study_id", sa.Integer, primary_key=True),
        sa.Column("candidate_key", sa.String(64), primary_key=True),
        sa.Column("resource", sa.String(64), primary_key=True),
        sa.Column("split", sa.Integer, primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("test_scores", sa.Text, nullable=False),
        sa.Column("train_scores", sa.Text),
        sa.Column("n_test_samples", sa.Integer, nullable=False),
        sa.Column("fit_time", sa.Float, nullable=False),
        sa.Column("score_time", sa.Float, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float, nullable=False),
        sa.Column("extra", sa.Text),
    ]


def _migrate_0_to_1(conn: sa.Connection, prefix: str) -> None:
    """Create the tables in an empty database (at the current schema)."""
    metadata = sa.MetaData()
    _tables(metadata, prefix)
    metadata.create_all(conn)


def _migrate_1_to_2(conn: sa.Connection, prefix: str) -> None:
    """Give every result a resource ("": none) in its key.

    The key of a table cannot be altered in SQLite, so the results move to a
    new table of the new shape, which then takes the old one's name (in the
    same transaction: a failure leaves schema 1 as it was). Plans of schema 1
    (a list of keys) are read as they are. A database that
    :func:`_migrate_0_to_1` has just created is already at schema 2.
    """
    old = f"{prefix}results"
    columns = [c["name"] for c in sa.inspect(conn).get_columns(old)]
    if "resource" in columns:
        return
    new = sa.Table(f"{prefix}results_v2", sa.MetaData(), *_result_columns())
    new.create(conn)
    kept = ", ".join(c for c in columns)
    conn.exec_driver_sql(
        f"INSERT INTO {new.name} ({kept}, resource) SELECT {kept}, '' FROM {old}"
    )
    conn.exec_driver_sql(f"DROP TABLE {old}")
    conn.exec_driver_sql(f"ALTER TABLE {new.name} RENAME TO {old}")


def _migrate_2_to_3(conn: sa.Connection, prefix: str) -> None:
    """Give every run a heartbeat (None: a run of an older hpsearch) and add
    the table of claims, the leases of processes sharing a study's work.

    Both are additions: the runs table gains two nullable columns (ALTER
    TABLE ADD COLUMN, in SQLite and PostgreSQL alike), so a search of the
    previous version still running keeps writing its rows; its run reads
    "running" as before (by its process id on this host). A database that
    :func:`_migrate_0_to_1` has just created is already at schema 3.
    """
    quote = conn.dialect.identifier_preparer.quote
    runs = f"{prefix}runs"
    columns = {c["name"] for c in sa.inspect(conn).get_columns(runs)}
    for column in _heartbeat_columns():
        if column.name not in columns:
            kind = column.type.compile(dialect=conn.dialect)
            conn.exec_driver_sql(
                f"ALTER TABLE {quote(runs)} ADD COLUMN {quote(column.name)} {kind}"
            )
    _tables(sa.MetaData(), prefix)["claims"].create(conn, checkfirst=True)


# A table prefix: an SQL identifier that needs no quoting. PostgreSQL keeps 63
# bytes of a name; the longest table is "<prefix>schema_version".
_PREFIX_MAX = 40
_PREFIX = re.compile(rf"[A-Za-z_][A-Za-z0-9_]{{0,{_PREFIX_MAX - 1}}}")

# MIGRATIONS[i] takes the schema from version i to version i + 1.
MIGRATIONS: list[Callable[[sa.Connection, str], None]] = [
    _migrate_0_to_1,
    _migrate_1_to_2,
    _migrate_2_to_3,
]
assert len(MIGRATIONS) == SCHEMA_VERSION


def storage_url(target: str | os.PathLike[str]) -> str:
    """The SQLAlchemy URL for a URL or a plain file path (SQLite)."""
    text = os.fspath(target)
    if "://" not in text:
        return f"sqlite:///{Path(text).expanduser().absolute()}"
    scheme, rest = text.split("://", 1)
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    return text


class SQLStorage:
    """Studies in a SQLite file or a PostgreSQL database (SQLAlchemy 2 Core).

    Parameters
    ----------
    url : str or path
        ``"sqlite:///runs.db"``, a file path (SQLite), or
        ``"postgresql://user@host:5432/db"`` (psycopg 3; install
        ``hpsearch[postgres]``).
    table_prefix : str, default ``"hpsearch_"``
        Prefix of every table name, so several sets of studies can share one
        database.

    Examples
    --------
    >>> import tempfile, os
    >>> from hpsearch.storage import SQLStorage
    >>> path = os.path.join(tempfile.mkdtemp(), "runs.db")
    >>> storage = SQLStorage(path)
    >>> storage.url.startswith("sqlite:///")
    True
    >>> storage.list_studies()
    []
    >>> storage.close()
    """

    def __init__(
        self, url: str | os.PathLike[str], table_prefix: str = "hpsearch_"
    ) -> None:
        if not isinstance(table_prefix, str) or not _PREFIX.fullmatch(table_prefix):
            # Table names are written into SQL (migrations, PostgreSQL's
            # catalog): only plain identifiers can never change a statement.
            raise StorageError(
                "table_prefix must be letters, digits and underscores, starting "
                f"with a letter or underscore, at most {_PREFIX_MAX} characters; "
                f"got {table_prefix!r}. Use a prefix such as 'hpsearch_' or "
                "'team_a_'."
            )
        self.table_prefix = table_prefix
        full = storage_url(url)
        try:
            parsed = sa.make_url(full)
        except sa.exc.ArgumentError as exc:
            raise StorageError(
                f"storage must be a file path or a database URL such as "
                f"'sqlite:///runs.db' or 'postgresql://user@host/db'; got {url!r} "
                f"({exc})."
            ) from None
        backend = parsed.get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            raise StorageError(
                f"storage must be a SQLite or PostgreSQL URL; got {url!r}. "
                "Use 'sqlite:///path.db', a file path, or 'postgresql://...'."
            )
        self.dialect = backend
        self.url = _display_url(parsed)
        self._engine = self._make_engine(parsed)
        self._t = _tables(sa.MetaData(), table_prefix)
        self._ids: dict[str, int] = {}
        self._inserts: dict[str, Any] = {}
        # Seconds a transaction retries a busy database (SQLite locked,
        # PostgreSQL serialization failures) and, when ``retry`` is set, an
        # unreachable one (a lost connection, a restarting server). None: a
        # busy database for LOCK_TIMEOUT, an unreachable one not at all (a
        # wrong URL fails at once). A search sets it for its run.
        self.retry: float | None = None
        # How many transactions met a busy or unreachable database and were
        # retried (for tests and diagnostics).
        self.retried = 0
        self._transaction(self._check_schema)

    def __repr__(self) -> str:
        return f"SQLStorage({self.url!r})"

    def _make_engine(self, url: sa.URL) -> sa.Engine:
        if self.dialect == "sqlite":
            database = url.database or ""
            if database and database != ":memory:":
                folder = Path(database).parent
                if not folder.is_dir():
                    raise StorageError(
                        f"storage's folder must exist; got {str(folder)!r}, which "
                        f"does not (storage {self.url}). Create it first."
                    )
                # Connections move between threads (the recorder commits in
                # a background thread); the pool hands each to one at a time.
                # SQLite's own busy wait is kept short so that the retry
                # bound (LOCK_TIMEOUT or a search's storage_retry) decides.
                engine = sa.create_engine(
                    url, connect_args={"timeout": 5, "check_same_thread": False}
                )
            else:
                engine = sa.create_engine(url, poolclass=sa.pool.StaticPool)
            sa.event.listen(engine, "connect", _sqlite_connect)
            sa.event.listen(engine, "begin", _sqlite_begin)
            return engine
        try:
            engine = sa.create_engine(url)
        except ModuleNotFoundError as exc:
            raise MissingExtraError(
                "PostgreSQL storage needs psycopg 3: pip install 'hpsearch[postgres]'"
                f" ({exc})."
            ) from None
        sa.event.listen(engine, "connect", _postgres_connect)
        return engine

    def close(self) -> None:
        """Close the connections to the database."""
        self._engine.dispose()

    # -- schema -----------------------------------------------------------

    def _check_schema(self, conn: sa.Connection) -> None:
        if self.dialect == "postgresql":
            # Two processes creating the tables at once would collide in the
            # catalog: serialize them on a lock named after the prefix.
            key = int.from_bytes(self.table_prefix.encode()[:7].ljust(7, b"_"), "big")
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
        version_table = self._t["schema_version"]
        inspector = sa.inspect(conn)
        if inspector.has_table(version_table.name):
            version = conn.execute(sa.select(version_table.c.version)).scalar()
            version = 0 if version is None else int(version)
        elif inspector.has_table(self._t["studies"].name):
            raise StorageError(
                f"{self.url} must have a {version_table.name} table next to its "
                f"{self._t['studies'].name} table; got none. The tables were not "
                "written by hpsearch: use another table_prefix or database."
            )
        else:
            version = 0
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"{self.url} has schema {version} but hpsearch "
                f"{__version__} reads schema {SCHEMA_VERSION} at most. "
                "Upgrade hpsearch: pip install --upgrade hpsearch"
            )
        if version == SCHEMA_VERSION:
            return
        for migrate in MIGRATIONS[version:]:
            migrate(conn, self.table_prefix)
        conn.execute(sa.delete(version_table))
        conn.execute(sa.insert(version_table).values(version=SCHEMA_VERSION))

    def schema_version(self) -> int:
        """The schema version of the database."""
        table = self._t["schema_version"]
        found = self._transaction(lambda c: c.execute(sa.select(table)).scalar())
        return int(found or 0)

    # -- transactions -------------------------------------------------------

    def _transaction(
        self,
        fn: Callable[[sa.Connection, int], T] | Callable[[sa.Connection], T],
        *,
        attempts: bool = False,
    ) -> T:
        """Run ``fn`` in one transaction, retried while the database is busy
        or, within ``self.retry`` seconds, unreachable.

        With ``attempts``, ``fn`` also gets the attempt's number (1, 2, ...):
        an attempt after the first may follow one whose commit succeeded
        without the answer reaching us, so it must not add twice.
        """
        started = time.monotonic()
        delay = 0.005
        attempt = 0
        remaining = 0.0
        while True:
            attempt += 1
            try:
                with self._engine.begin() as conn:
                    if attempts:
                        return fn(conn, attempt)  # type: ignore[call-arg]
                    return fn(conn)  # type: ignore[call-arg]
            except _MissingStudyError as missing:
                # Raised once the transaction is over: listing the studies
                # for the message takes a transaction of its own.
                raise not_found(self, missing.name) from None
            except DBAPIError as exc:
                kind = self._transient(exc)
                if kind is None:
                    raise self._error(exc) from exc
                bound = self.retry
                if bound is None:
                    bound = LOCK_TIMEOUT if kind == "busy" else 0.0
                waited = time.monotonic() - started
                if waited >= bound:
                    raise self._error(exc, waited if bound else None) from exc
                self.retried += 1
                remaining = bound - waited
            time.sleep(min(remaining, delay * (0.5 + random.random())))
            delay = min(delay * 2, 1.0)

    def _transient(self, exc: DBAPIError) -> str | None:
        """ "busy", "unreachable", or None (an error that retrying cannot mend)."""
        if self.dialect == "sqlite":
            text = str(exc.orig).lower()
            return "busy" if "locked" in text or "busy" in text else None
        code = getattr(exc.orig, "sqlstate", None)
        if code in ("40001", "40P01", "55P03"):
            return "busy"
        if exc.connection_invalidated or (
            isinstance(exc, OperationalError)
            and (code is None or code[:2] in _UNREACHABLE_CLASSES)
        ):
            return "unreachable"
        return None

    def _error(self, exc: DBAPIError, waited: float | None = None) -> StorageError:
        lines = str(exc.orig).strip().splitlines() or [type(exc.orig).__name__]
        detail = lines[0].rstrip(".")
        during = "" if waited is None else f" (still, after {waited:.0f} s of retries)"
        if isinstance(exc, OperationalError) and self.dialect == "postgresql":
            return StorageError(
                f"storage {self.url} must be reachable; got {detail!r}{during}. "
                "Check that the server runs and the URL is right."
            )
        return StorageError(f"storage {self.url} failed: {detail}{during}.")

    def _study_id(self, conn: sa.Connection, name: str) -> int:
        found = self._ids.get(name)
        if found is None:
            studies = self._t["studies"]
            found = conn.execute(
                sa.select(studies.c.id).where(studies.c.name == name)
            ).scalar()
            if found is None:
                raise _MissingStudyError(name)
            self._ids[name] = found
        return found

    def _insert_ignore(self, table: sa.Table, keys: list[str]) -> Any:
        found = self._inserts.get(table.name)
        if found is None:
            from sqlalchemy.dialects import postgresql, sqlite

            insert: Any = (
                sqlite.insert if self.dialect == "sqlite" else postgresql.insert
            )
            found = insert(table).on_conflict_do_nothing(index_elements=keys)
            self._inserts[table.name] = found
        return found

    def _insert_replacing_failed(self, table: sa.Table) -> Any:
        """An insert that keeps a stored result unless its status is failed."""
        found = self._inserts.get(f"{table.name}:retry")
        if found is None:
            from sqlalchemy.dialects import postgresql, sqlite

            insert: Any = (
                sqlite.insert if self.dialect == "sqlite" else postgresql.insert
            )
            stmt = insert(table)
            keys = ["study_id", "candidate_key", "resource", "split"]
            found = stmt.on_conflict_do_update(
                index_elements=keys,
                set_={
                    c.name: stmt.excluded[c.name] for c in table.c if c.name not in keys
                },
                where=table.c.status == "failed",
            )
            self._inserts[f"{table.name}:retry"] = found
        return found

    # -- the Storage interface ---------------------------------------------

    def create_study(self, study: StudyRecord) -> StudyRecord:
        """Store ``study`` unless its name exists; return the stored record."""
        check_study_name(study.name)
        studies = self._t["studies"]

        def create(conn: sa.Connection) -> StudyRecord:
            conn.execute(
                self._insert_ignore(studies, ["name"]),
                {
                    "name": study.name,
                    "spec": dumps(dict(study.spec)),
                    "plan": "[]",
                    "created_at": study.created_at,
                },
            )
            return self._get_study(conn, study.name)  # type: ignore[return-value]

        return self._transaction(create)

    def get_study(self, name: str) -> StudyRecord | None:
        """The study of that name, or None."""
        if not is_study_name(name):  # none is stored (PostgreSQL refuses NUL)
            return None
        return self._transaction(lambda conn: self._get_study(conn, name))

    def _get_study(self, conn: sa.Connection, name: str) -> StudyRecord | None:
        studies = self._t["studies"]
        row = conn.execute(sa.select(studies).where(studies.c.name == name)).first()
        if row is None:
            return None
        self._ids[name] = row.id
        return StudyRecord(row.name, json.loads(row.spec), row.created_at)

    def list_studies(self) -> list[StudyRecord]:
        """Every study, oldest first."""
        studies = self._t["studies"]
        rows = self._transaction(
            lambda conn: conn.execute(
                sa.select(studies).order_by(studies.c.created_at, studies.c.id)
            ).all()
        )
        return [StudyRecord(r.name, json.loads(r.spec), r.created_at) for r in rows]

    def delete_study(self, name: str) -> bool:
        """Delete a study with its results; False if there was none."""
        if not is_study_name(name):
            return False
        studies = self._t["studies"]

        def delete(conn: sa.Connection) -> bool:
            found = conn.execute(
                sa.select(studies.c.id).where(studies.c.name == name)
            ).scalar()
            if found is None:
                return False
            for table in ("results", "candidates", "runs", "claims"):
                t = self._t[table]
                conn.execute(sa.delete(t).where(t.c.study_id == found))
            conn.execute(sa.delete(studies).where(studies.c.id == found))
            return True

        self._ids.pop(name, None)
        return self._transaction(delete)

    def add_trials(
        self,
        name: str,
        candidates: Sequence[StoredCandidate],
        plan: Sequence[PlanEntry],
        *,
        extend: bool = False,
    ) -> None:
        """Store candidates and set (or, with ``extend``, extend) the plan."""
        studies, table = self._t["studies"], self._t["candidates"]

        def add(conn: sa.Connection, attempt: int) -> None:
            study_id = self._study_id(conn, name)
            if candidates:
                conn.execute(
                    self._insert_ignore(table, ["study_id", "key"]),
                    [
                        {"study_id": study_id, "key": c.key, "params": c.params}
                        for c in candidates
                    ],
                )
            entries = list(plan)
            if extend:
                query = sa.select(studies.c.plan).where(studies.c.id == study_id)
                if self.dialect == "postgresql":
                    query = query.with_for_update()
                stored = decode_plan(conn.execute(query).scalar())
                if (
                    attempt > 1
                    and entries
                    and _same_plan(stored[-len(entries) :], entries)
                ):
                    return  # an earlier attempt committed without telling us
                entries = [*stored, *entries]
            conn.execute(
                sa.update(studies)
                .where(studies.c.id == study_id)
                .values(plan=encode_plan(entries))
            )

        self._transaction(add, attempts=True)

    def add_results(
        self, name: str, results: Sequence[FoldResult], *, run_id: str | None = None
    ) -> None:
        """Store fold results; a (candidate, resource, split) stored is kept
        unless it failed. With ``run_id``, release that run's claims on them."""
        if not results:
            return
        table = self._t["results"]

        def add(conn: sa.Connection) -> None:
            study_id = self._study_id(conn, name)
            rows = [{"study_id": study_id, **result_row(r)} for r in results]
            conn.execute(self._insert_replacing_failed(table), rows)
            if run_id is not None:
                self._release(conn, study_id, run_id, results)

        self._transaction(add)

    def set_run(self, name: str, run: RunRecord) -> None:
        """Store or update a run record (by ``run.run_id``)."""
        table = self._t["runs"]

        def store(conn: sa.Connection) -> None:
            study_id = self._study_id(conn, name)
            where = (table.c.study_id == study_id) & (table.c.run_id == run.run_id)
            values = {
                "state": run.state,
                "host": run.host,
                "pid": run.pid,
                "started_at": run.started_at,
                "ended_at": run.ended_at,
                "lease_seconds": run.lease_seconds,
                "heartbeat_at": None if run.lease_seconds is None else self._now(conn),
            }
            if run.state != "running":
                claims = self._t["claims"]
                conn.execute(
                    sa.delete(claims).where(
                        claims.c.study_id == study_id, claims.c.run_id == run.run_id
                    )
                )
            if conn.execute(sa.update(table).where(where).values(values)).rowcount:
                return
            conn.execute(
                sa.insert(table).values(study_id=study_id, run_id=run.run_id, **values)
            )

        self._transaction(store)

    def claim(
        self,
        name: str,
        run_id: str,
        tasks: Sequence[TaskKey],
        lease_seconds: float,
        *,
        redo: Mapping[TaskKey, float] | None = None,
    ) -> Claimed:
        """Lease to ``run_id`` for ``lease_seconds`` the ``tasks`` that have no
        stored result and no live claim of another run; return those and the
        stored results of the others that are done.

        One transaction of three statements: each task is inserted, or taken
        over where its claim has expired or is the run's own (``ON CONFLICT
        DO UPDATE ... WHERE``, ``RETURNING`` the rows it wrote); then the
        results of the tasks taken are read (after the insert: on
        PostgreSQL, read committed, a holder may commit its result and drop
        its claim while the insert waits for its row), and the claims of
        those already done are dropped. A task held by another live run is
        neither: its holder releases it with its result, and a later claim
        finds that. A retried attempt finds its own claims and takes them
        again.
        """
        if not tasks:
            return Claimed()
        by_row = {(k, encode_resource(r), s): (k, r, s) for k, r, s in tasks}

        def take(conn: sa.Connection) -> Claimed:
            study_id = self._study_id(conn, name)
            now = self._now(conn)
            wanted = dict(by_row)
            rows = [
                {
                    "study_id": study_id,
                    "candidate_key": k,
                    "resource": r,
                    "split": s,
                    "run_id": run_id,
                    "claimed_at": now,
                    "expires_at": now + lease_seconds,
                }
                for k, r, s in wanted
            ]
            mine = (
                [tuple(row) for row in conn.execute(self._claim_statement(), rows)]
                if rows
                else []
            )
            taken = {row: wanted[row] for row in mine}
            late = self._stored(conn, study_id, taken, redo)
            if late:
                self._release(conn, study_id, run_id, late)
            return Claimed(tuple(taken.values()), tuple(late))

        return self._transaction(take)

    def _release(
        self,
        conn: sa.Connection,
        study_id: int,
        run_id: str,
        results: Sequence[FoldResult],
    ) -> None:
        """Drop the run's claims on the tasks of ``results``."""
        claims = self._t["claims"]
        conn.execute(
            sa.delete(claims).where(
                claims.c.study_id == study_id,
                claims.c.run_id == run_id,
                claims.c.candidate_key == sa.bindparam("k"),
                claims.c.resource == sa.bindparam("r"),
                claims.c.split == sa.bindparam("s"),
            ),
            [
                {"k": r.candidate_key, "r": encode_resource(r.resource), "s": r.split}
                for r in results
            ],
        )

    def _stored(
        self,
        conn: sa.Connection,
        study_id: int,
        wanted: dict[tuple[str, str, int], TaskKey],
        redo: Mapping[TaskKey, float] | None,
    ) -> list[FoldResult]:
        """The stored results of ``wanted`` tasks (by row key), which are
        removed from it (a failed one to fit again, in ``redo``, stays)."""
        results = self._t["results"]
        done = []
        for chunk in _chunks(sorted({k for k, _, _ in wanted}), 500):
            rows = conn.execute(
                sa.select(results).where(
                    results.c.study_id == study_id,
                    results.c.candidate_key.in_(chunk),
                )
            ).all()
            for row in rows:
                fields = dict(row._mapping)
                found = (fields["candidate_key"], fields["resource"], fields["split"])
                if found in wanted:
                    result = row_result(fields)
                    if not fit_again(result, redo):
                        done.append(result)
                        del wanted[found]
        return done

    def renew(self, name: str, run_id: str, lease_seconds: float) -> None:
        """Stamp the run's heartbeat and extend its claims by ``lease_seconds``."""
        runs, claims = self._t["runs"], self._t["claims"]

        def beat(conn: sa.Connection) -> None:
            study_id = self._study_id(conn, name)
            now = self._now(conn)
            conn.execute(
                sa.update(runs)
                .where(runs.c.study_id == study_id, runs.c.run_id == run_id)
                .values(heartbeat_at=now)
            )
            conn.execute(
                sa.update(claims)
                .where(claims.c.study_id == study_id, claims.c.run_id == run_id)
                .values(expires_at=now + lease_seconds)
            )

        self._transaction(beat)

    def _now(self, conn: sa.Connection) -> float:
        """The database's clock, in seconds since the epoch: leases and
        heartbeats of processes on many machines compare on one clock."""
        if self.dialect == "sqlite":
            query = "SELECT (julianday('now') - 2440587.5) * 86400.0"
        else:
            query = "SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS FLOAT8)"
        return float(conn.exec_driver_sql(query).scalar())  # type: ignore[arg-type]

    def _claim_statement(self) -> Any:
        """Insert a claim, or take over one that has expired or is the run's
        own; returns a row when the claim is the run's."""
        found = self._inserts.get("claim")
        if found is None:
            from sqlalchemy.dialects import postgresql, sqlite

            claims = self._t["claims"]
            insert: Any = (
                sqlite.insert if self.dialect == "sqlite" else postgresql.insert
            )
            stmt = insert(claims)
            found = stmt.on_conflict_do_update(
                index_elements=["study_id", "candidate_key", "resource", "split"],
                set_={
                    "run_id": stmt.excluded.run_id,
                    "claimed_at": stmt.excluded.claimed_at,
                    "expires_at": stmt.excluded.expires_at,
                },
                where=(claims.c.run_id == stmt.excluded.run_id)
                | (claims.c.expires_at < stmt.excluded.claimed_at),
            ).returning(claims.c.candidate_key, claims.c.resource, claims.c.split)
            self._inserts["claim"] = found
        return found

    def read(self, name: str) -> StudyData:
        """Everything stored for the study; raises StudyNotFoundError."""

        def read(conn: sa.Connection) -> StudyData:
            study = self._get_study(conn, name)
            if study is None:
                raise _MissingStudyError(name)
            study_id = self._ids[name]
            t = self._t
            plan = conn.execute(
                sa.select(t["studies"].c.plan).where(t["studies"].c.id == study_id)
            ).scalar()
            candidates = conn.execute(
                sa.select(t["candidates"].c.key, t["candidates"].c.params).where(
                    t["candidates"].c.study_id == study_id
                )
            ).all()
            results = conn.execute(
                sa.select(t["results"])
                .where(t["results"].c.study_id == study_id)
                .order_by(t["results"].c.finished_at)
            ).all()
            runs = conn.execute(
                sa.select(t["runs"]).where(t["runs"].c.study_id == study_id)
            ).all()
            return StudyData(
                study=study,
                candidates={c.key: c.params for c in candidates},
                plan=decode_plan(plan),
                results=tuple(row_result(dict(r._mapping)) for r in results),
                runs=tuple(
                    RunRecord(
                        r.run_id,
                        r.state,
                        r.host,
                        r.pid,
                        r.started_at,
                        r.ended_at,
                        r.heartbeat_at,
                        r.lease_seconds,
                    )
                    for r in runs
                ),
                now=self._now(conn),
            )

        return self._transaction(read)


def _chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _same_plan(a: Sequence[PlanEntry], b: Sequence[PlanEntry]) -> bool:
    return encode_plan(list(a)) == encode_plan(list(b))


class _MissingStudyError(Exception):
    """No study of this name (turned into StudyNotFoundError by _transaction)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _display_url(url: sa.URL) -> str:
    text = url.render_as_string(hide_password=True)
    return text.replace("postgresql+psycopg://", "postgresql://", 1)


def _sqlite_connect(dbapi_connection: Any, record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN IMMEDIATE itself (pysqlite's
    # own implicit BEGIN would take the write lock only at the first write).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        for _ in range(600):
            try:
                cursor.execute("PRAGMA journal_mode=WAL")
                break
            except Exception as exc:  # locked while another process sets it
                if "locked" not in str(exc).lower():
                    raise
                time.sleep(0.05)
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _postgres_connect(dbapi_connection: Any, record: Any) -> None:
    # A commit returns once the server has the rows, without waiting for its
    # disk: a killed search loses nothing it committed; only a crash of the
    # server itself may lose the last fraction of a second of results (fitted
    # again on resume), as with SQLite's synchronous=NORMAL. It halves the
    # cost of a commit.
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
    dbapi_connection.commit()


def _sqlite_begin(conn: sa.Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")
