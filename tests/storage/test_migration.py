"""Migrations: schema 1 (results keyed by candidate and split) to 2 (and
resource), schema 2 to 3 (runs' heartbeat, claims).

``data/schema1.db`` was written by hpsearch at schema 1: a grid study
interrupted with 4 of its 18 fits missing, and a finished random study whose
seed was drawn by the study. ``data/schema2.db`` was written by hpsearch at
schema 2 (the commit before schema 3): the same grid study, interrupted with 4
of its 18 fits missing, and a finished halving study (results with
resources). Opened now, each reads back as it was stored and resumes: only the
missing fits run. On PostgreSQL the same rows are copied into tables of the
old schema (reflected from the file) under a fresh prefix.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from scipy.stats import randint

from hpsearch import GridSearchCV, RandomizedSearchCV, load_study
from hpsearch.storage import SQLStorage
from hpsearch.storage._sql import SCHEMA_VERSION

sys.path.insert(0, os.path.dirname(__file__))
from counting import CountingClassifier, data, read_fits

SCHEMA1 = Path(__file__).parent / "data" / "schema1.db"
SCHEMA2 = Path(__file__).parent / "data" / "schema2.db"
TABLES = ("schema_version", "studies", "candidates", "results", "runs")


def v1_rows(source: Path = SCHEMA1) -> dict[str, list[dict]]:
    engine = sa.create_engine(f"sqlite:///{source}")
    metadata = sa.MetaData()
    metadata.reflect(engine)
    with engine.connect() as conn:
        rows = {
            name: [
                dict(r._mapping)
                for r in conn.execute(sa.select(metadata.tables[f"hpsearch_{name}"]))
            ]
            for name in TABLES
        }
    engine.dispose()
    return rows


def copy_to_postgres(url: str, prefix: str, path: Path = SCHEMA1) -> None:
    """The tables and rows of ``path``, as hpsearch wrote them, under ``prefix``."""
    source = sa.create_engine(f"sqlite:///{path}")
    reflected = sa.MetaData()
    reflected.reflect(source)
    from hpsearch.storage._sql import storage_url

    target = sa.create_engine(storage_url(url))
    metadata = sa.MetaData()
    tables = {
        name: reflected.tables[f"hpsearch_{name}"].to_metadata(
            metadata, name=f"{prefix}{name}"
        )
        for name in TABLES
    }
    metadata.create_all(target)
    rows = v1_rows(path)
    with target.begin() as conn:
        for name, table in tables.items():
            if rows[name]:
                conn.execute(sa.insert(table), rows[name])
    source.dispose()
    target.dispose()


def check_migrated(storage: SQLStorage) -> None:
    """Run in a fresh folder: the estimators log their fits to ./fits.log."""
    assert storage.schema_version() == SCHEMA_VERSION == 3
    stored = v1_rows()
    grid = load_study(storage, "grid")
    assert grid.status == "interrupted"
    assert (grid.progress.done, grid.progress.total) == (14, 18)
    # Every stored result reads back unchanged, with no resource.
    by_key = {(r.candidate_key, r.split): r for r in storage.read("grid").results}
    grid_id = next(s["id"] for s in stored["studies"] if s["name"] == "grid")
    v1 = [r for r in stored["results"] if r["study_id"] == grid_id]
    assert len(v1) == len(by_key) == 14
    for row in v1:
        result = by_key[row["candidate_key"], row["split"]]
        assert result.resource is None
        assert result.test_scores == {
            k: float(v) for k, v in json.loads(row["test_scores"]).items()
        }
        assert result.fit_time == row["fit_time"]

    X, y = data()
    log = "fits.log"  # as in the stored estimator (a fixed parameter)
    resumed = GridSearchCV(
        CountingClassifier(log=log),
        {"C": list(range(6))},
        cv=3,
        storage=storage,
        study="grid",
        progress=False,
        refit=False,
    ).fit(X, y)
    assert len(read_fits(log)) == 4  # only the missing fits ran
    expected = GridSearchCV(
        CountingClassifier(log="other.log"),
        {"C": list(range(6))},
        cv=3,
        progress=False,
    ).fit(X, y)
    np.testing.assert_array_equal(
        resumed.cv_results_["split2_test_score"],
        expected.cv_results_["split2_test_score"],
    )
    assert load_study(storage, "grid").status == "finished"

    # The random study's stored seed draws the same candidates: nothing to fit.
    before = load_study(storage, "random")
    again = RandomizedSearchCV(
        CountingClassifier(log=log),
        {"C": randint(0, 50)},
        n_iter=4,
        cv=3,
        storage=storage,
        study="random",
        progress=False,
        refit=False,
    ).fit(X, y)
    assert len(read_fits(log)) == 4
    assert again.cv_results_["params"] == before.cv_results_["params"]


def test_a_schema_1_sqlite_file_migrates_reads_back_and_resumes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "runs.db"
    shutil.copy(SCHEMA1, path)
    storage = SQLStorage(path)
    try:
        check_migrated(storage)
    finally:
        storage.close()


@pytest.mark.postgres
def test_schema_1_tables_on_postgres_migrate_read_back_and_resume(
    postgres_url, postgres_prefix, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    copy_to_postgres(postgres_url, postgres_prefix)
    storage = SQLStorage(postgres_url, table_prefix=postgres_prefix)
    try:
        check_migrated(storage)
    finally:
        storage.close()


def check_migrated_2_to_3(storage: SQLStorage) -> None:
    """Run in a fresh folder: the estimators log their fits to ./fits.log."""
    assert storage.schema_version() == SCHEMA_VERSION == 3
    stored = v1_rows(SCHEMA2)
    ids = {s["name"]: s["id"] for s in stored["studies"]}
    for name in ("grid", "halving"):
        # Every stored result and run reads back unchanged; old runs keep no
        # heartbeat, and their stopped state stands.
        read = storage.read(name)
        rows = [r for r in stored["results"] if r["study_id"] == ids[name]]
        by_key = {(r.candidate_key, r.split, r.resource): r for r in read.results}
        assert len(rows) == len(by_key)
        for row in rows:
            resource = None if row["resource"] == "" else json.loads(row["resource"])
            result = by_key[row["candidate_key"], row["split"], resource]
            assert result.fit_time == row["fit_time"]
            assert result.test_scores == {
                k: float(v) for k, v in json.loads(row["test_scores"]).items()
            }
        runs = [r for r in stored["runs"] if r["study_id"] == ids[name]]
        assert [(r.run_id, r.state, r.heartbeat_at) for r in read.runs] == [
            (r["run_id"], r["state"], None) for r in runs
        ]
    halving = load_study(storage, "halving")
    assert halving.status == "finished"
    assert (halving.progress.done, halving.progress.total) == (33, 33)
    assert sorted(set(halving.cv_results_["n_resources"])) == [20, 40, 80]
    grid = load_study(storage, "grid")
    assert grid.status == "interrupted"
    assert (grid.progress.done, grid.progress.total) == (14, 18)

    X, y = data()
    GridSearchCV(
        CountingClassifier(log="fits.log"),
        {"C": list(range(6))},
        cv=3,
        storage=storage,
        study="grid",
        progress=False,
        refit=False,
    ).fit(X, y)
    assert len(read_fits("fits.log")) == 4  # only the missing fits ran
    grid = load_study(storage, "grid")
    assert grid.status == "finished"
    assert (grid.progress.done, grid.progress.total) == (18, 18)
    # The new run keeps a heartbeat; the claims table holds nothing after it.
    new = [r for r in storage.read("grid").runs if r.heartbeat_at is not None]
    assert [(r.state, r.lease_seconds) for r in new] == [("finished", 60.0)]
    claims = storage._t["claims"]
    with storage._engine.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(claims)).scalar() == 0
        )


def test_a_schema_2_sqlite_file_migrates_reads_back_and_resumes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HPSEARCH_LEASE_SECONDS", raising=False)
    path = tmp_path / "runs.db"
    shutil.copy(SCHEMA2, path)
    storage = SQLStorage(path)
    try:
        check_migrated_2_to_3(storage)
    finally:
        storage.close()


@pytest.mark.postgres
def test_schema_2_tables_on_postgres_migrate_read_back_and_resume(
    postgres_url, postgres_prefix, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HPSEARCH_LEASE_SECONDS", raising=False)
    copy_to_postgres(postgres_url, postgres_prefix, SCHEMA2)
    storage = SQLStorage(postgres_url, table_prefix=postgres_prefix)
    try:
        check_migrated_2_to_3(storage)
    finally:
        storage.close()
