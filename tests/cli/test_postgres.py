"""The command line on the PostgreSQL server (HPSEARCH_TEST_POSTGRES_URL)."""

from __future__ import annotations

import json
import os
import uuid

import pytest

pytestmark = pytest.mark.postgres


@pytest.fixture
def postgres_url() -> str:
    url = os.environ.get("HPSEARCH_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("HPSEARCH_TEST_POSTGRES_URL is not set")
    return url


def test_run_resume_show_export_delete_on_postgres(
    study_file, hpsearch, postgres_url, workdir
):
    name = f"cli-{uuid.uuid4().hex[:12]}"  # the database is shared: a fresh name
    study_file(
        """
        [data]
        source = "sklearn:iris"
        [estimator]
        class = "sklearn.svm.SVC"
        [search.space]
        C = [1, 10]
        """
    )
    args = ("--storage", postgres_url)
    first = hpsearch("run", "study.toml", "--study", name, "--no-progress", *args)
    assert first.exit_code == 0, first.output
    again = hpsearch("run", "study.toml", "--study", name, "--no-progress", *args)
    assert "Resuming: 10 fits are already stored" in again.stdout
    listed = json.loads(hpsearch("studies", "--json", *args).stdout)
    assert name in [s["name"] for s in listed]
    shown = json.loads(hpsearch("show", name, "--json", *args).stdout)
    assert shown["status"] == "finished"
    assert hpsearch("export", name, "-o", "r.csv", *args).exit_code == 0
    assert (workdir / "r.csv").read_text().startswith("candidate,C,")
    assert hpsearch("delete", name, "--yes", *args).exit_code == 0
    assert hpsearch("show", name, *args).exit_code == 2
    assert not (workdir / "hpsearch.db").exists()
