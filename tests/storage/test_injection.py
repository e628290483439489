"""A study name, a table prefix or a parameter value can never change SQL.

Injection strings go where a user's text reaches the database, on SQLite and
PostgreSQL: study names and parameter values are stored and read back as they
are (bound parameters), a table prefix that is not a plain identifier is
refused, and names with control characters are refused before anything is
written. Every time, the other study and the tables are intact.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sklearn.datasets import load_iris
from sklearn.dummy import DummyClassifier
from sklearn.exceptions import FitFailedWarning

from hpsearch import GridSearchCV, NotStorableError, StorageError, load_study
from hpsearch.storage import SQLStorage, list_studies
from hpsearch.storage._sql import storage_url

X, y = load_iris(return_X_y=True)

INJECTIONS = [
    "x'); DROP TABLE hpsearch_studies; --",
    'x"; DROP TABLE hpsearch_results; --',
    "' OR '1'='1",
    "1; DELETE FROM hpsearch_candidates",
    "Robert'); DROP TABLE studies;--",
    "$$; DROP TABLE hpsearch_runs; $$",
]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def where(request, tmp_path):
    """(url, table prefix) of an empty set of tables on each SQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'runs.db'}", "hpsearch_"
    url = request.getfixturevalue("postgres_url")
    return url, request.getfixturevalue("postgres_prefix")


@pytest.fixture
def storage(where):
    """A storage on ``where`` holding one study, "bystander", that must stay."""
    url, prefix = where
    opened = SQLStorage(url, table_prefix=prefix)
    _search(opened, "bystander").fit(X, y)
    yield opened
    opened.close()


def _search(storage, study, strategies=("prior", "most_frequent")):
    return GridSearchCV(
        DummyClassifier(),
        {"strategy": list(strategies)},
        cv=2,
        progress=False,
        storage=storage,
        study=study,
    )


def _tables(url, prefix):
    engine = sa.create_engine(storage_url(url))
    try:
        names = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    return {n for n in names if n.startswith(prefix)}


def test_injection_strings_as_study_names_are_stored_as_they_are(where, storage):
    tables = _tables(*where)
    for name in INJECTIONS:
        _search(storage, name).fit(X, y)
    assert _tables(*where) == tables
    names = {s.name for s in list_studies(storage)}
    assert names == {"bystander", *INJECTIONS}
    for name in ["bystander", *INJECTIONS]:
        study = load_study(storage, name)
        assert study.progress.done == study.progress.total == 2 * 2


def test_injection_strings_as_parameter_values_are_stored_as_they_are(where, storage):
    tables = _tables(*where)
    # DummyClassifier's constant may be any label: strings pass through.
    search = GridSearchCV(
        DummyClassifier(strategy="constant"),
        {"constant": [*INJECTIONS, 0]},
        cv=2,
        progress=False,
        error_score=0.0,  # the strings are not labels of iris: failed fits
        storage=storage,
        study="values",
    )
    with pytest.warns(FitFailedWarning):
        search.fit(X, y)
    assert _tables(*where) == tables
    trials = load_study(storage, "values").trials
    assert [t.candidate.params["constant"] for t in trials] == [*INJECTIONS, 0]
    assert load_study(storage, "bystander").progress.done == 2 * 2


@pytest.mark.parametrize(
    "prefix",
    [
        "x; DROP TABLE hpsearch_studies; --",
        "hp'search_",
        'hp"search_',
        "1abc_",
        "",
        "a" * 41,
        "hp search_",
    ],
)
def test_a_table_prefix_that_is_not_a_plain_identifier_is_refused(
    where, storage, prefix
):
    tables = _tables(*where)
    with pytest.raises(
        StorageError,
        match=r"^table_prefix must be letters, digits and underscores, starting "
        r"with a letter or underscore, at most 40 characters; got ",
    ):
        SQLStorage(where[0], table_prefix=prefix)
    assert _tables(*where) == tables
    assert load_study(storage, "bystander").progress.done == 2 * 2


@pytest.mark.parametrize(
    "name", ["bad\x00name", "two\nlines", "tab\there", "\x1b[31mred", " ", ""]
)
def test_study_names_with_control_characters_are_refused_before_anything_is_written(
    storage, name
):
    with pytest.raises(
        NotStorableError,
        match=r"^study must be a non-empty name without control characters "
        r"\(NUL, newline, tab, escape, \.\.\.\); got .*\. Use printable "
        r"characters, such as 'svc-digits'\.$",
    ):
        _search(storage, name).fit(X, y)
    assert [s.name for s in list_studies(storage)] == ["bystander"]


def test_looking_up_a_name_with_control_characters_finds_no_study(storage):
    assert storage.get_study("bad\x00name") is None
    assert storage.delete_study("bad\x00name") is False
    assert [s.name for s in list_studies(storage)] == ["bystander"]
