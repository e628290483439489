"""Hostile study files: every one is refused with a clear message, exit code 2,
and nothing written.

Hypothesis builds structured TOML from a sound study file: a key given a value
of the wrong kind (numbers huge, negative, nan, infinite; strings empty, with
control characters or far too long; arrays, tables, dates), unknown keys, a
table removed. The loader runs in this process on many of them, the command
line in a subprocess on a few.
"""

from __future__ import annotations

import datetime
import json
import math
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hpsearch.cli import StudyFileError, load_study_file

SOUND: dict[str, Any] = {
    "study": "fuzz",
    "data": {"source": "sklearn:iris"},
    "estimator": {"class": "sklearn.tree.DecisionTreeClassifier"},
    "search": {
        "kind": "random",
        "n_iter": 2,
        "random_state": 0,
        "space": {"max_depth": [1, 2, 3], "min_samples_leaf": [1, 2]},
    },
    "cv": {"folds": 2},
}

# Where a wrong value goes: every table and key of the schema, a space entry,
# a distribution's arguments, keys that do not exist.
PATHS = [
    ("study",),
    ("storage",),
    ("data",),
    ("data", "source"),
    ("data", "target"),
    ("data", "features"),
    ("data", "categorical"),
    ("data", "groups"),
    ("estimator",),
    ("estimator", "class"),
    ("estimator", "params"),
    ("estimator", "params", "max_depth"),
    ("estimator", "steps"),
    ("search",),
    ("search", "kind"),
    ("search", "space"),
    ("search", "space", "max_depth"),
    ("search", "space", "min_samples_leaf"),
    ("search", "space", "criterion"),
    ("search", "scoring"),
    ("search", "refit"),
    ("search", "n_jobs"),
    ("search", "backend"),
    ("search", "error_score"),
    ("search", "return_train_score"),
    ("search", "n_iter"),
    ("search", "random_state"),
    ("search", "factor"),
    ("search", "brackets"),
    ("search", "fit_timeout"),
    ("search", "storage_retry"),
    ("cv",),
    ("cv", "folds"),
    ("cv", "shuffle"),
    ("cv", "random_state"),
    ("cv", "stratified"),
    ("cv", "group"),
    ("unknown",),
    ("search", "unknown"),
    ("search", "space", "max_depth", "distribution"),
]

# Strings that must not be imported or opened as given: import paths and data
# sources are drawn from these, never from random text (which could name a
# module with side effects).
SAFE_NAMES = [
    "",
    " ",
    "sklearn",
    "sklearn.svm",
    "sklearn.svm.SVX",
    "sklearn.svm.SVC.fit",
    "pathlib.Path",
    "nope.Nope",
    "sklearn:nope",
    "missing.csv",
    "x'); DROP TABLE studies; --",
    "a\x00b",
    "\u202egnp.atad",
    "../../etc/passwd",
]

SAFE_KEYS = {("data", "source"), ("estimator", "class"), ("search", "backend")}

texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40
)
numbers = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([0, -1, 2**63 - 1, -(2**63), 10**15]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -0.0, 5e-324]),
)
scalars = st.one_of(
    numbers,
    st.booleans(),
    texts,
    st.sampled_from(SAFE_NAMES),
    st.just(datetime.datetime(1979, 5, 27, 7, 32)),
    st.just(datetime.date(1979, 5, 27)),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(["a", "class", "low", "values", "x"]), inner, max_size=3
        ),
    ),
    max_leaves=6,
)


@st.composite
def hostile_documents(draw: st.DrawFn) -> dict[str, Any]:
    """The sound document with one to three keys changed, added or removed."""
    doc = json.loads(json.dumps(SOUND))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        if path in SAFE_KEYS:
            value = draw(st.one_of(st.sampled_from(SAFE_NAMES), numbers, values))
            if isinstance(value, str) and value not in SAFE_NAMES:
                value = "nope.Nope"
        else:
            value = draw(st.one_of(values, st.none()))  # None: remove the key
        table = doc
        for key in path[:-1]:
            if not isinstance(table.get(key), dict):
                table[key] = {}
            table = table[key]
        if value is None:
            table.pop(path[-1], None)
        else:
            table[path[-1]] = value
    return doc


def to_toml(doc: dict[str, Any]) -> str:
    """A TOML document: top-level values first, then one [table] per table."""
    lines = [
        f"{_key(k)} = {_value(v)}" for k, v in doc.items() if not isinstance(v, dict)
    ]
    for name, table in doc.items():
        if isinstance(table, dict):
            lines.append(f"[{_key(name)}]")
            lines += [f"{_key(k)} = {_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def _key(key: str) -> str:
    return _string(key)


def _string(text: str) -> str:
    # JSON's escapes are TOML's; DEL must be escaped in TOML, not in JSON.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_the_sound_document_loads(study_file):
    path = study_file(to_toml(SOUND))
    assert load_study_file(path.name).name == "fuzz"


# A valid change may warn (a value listed twice, more draws than candidates):
# this test is about errors and writes.
@pytest.mark.filterwarnings("ignore")
@settings(
    max_examples=150,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(doc=hostile_documents())
def test_hostile_study_files_are_refused_with_a_clear_message(study_file, doc):
    path = study_file(to_toml(doc))
    before = _files(path.parent)
    try:
        plan = load_study_file(path.name)
    except StudyFileError as exc:
        message = str(exc)
        assert message.startswith("study.toml"), message
        assert "Traceback" not in message
        assert len(message) < 5000, message[:300]
    else:  # a change that is allowed: the plan is sound
        assert plan.n_splits >= 2
    assert _files(path.parent) == before  # nothing written, no storage created


HOSTILE = [
    # every problem of a file is reported at once: a control character, a
    # wrong kind, a huge number, an injection string as an import path
    {
        **SOUND,
        "study": "bad\x00name",
        "search": {**SOUND["search"], "n_iter": "many"},
        "cv": {"folds": 2**63 - 1},
        "estimator": {"class": "x'); DROP TABLE studies; --"},
    },
    # a value the search class itself refuses
    {**SOUND, "search": {**SOUND["search"], "fit_timeout": -1}},
]


@pytest.mark.parametrize("doc", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_study_files_exit_2_through_the_command_line(
    study_file, hpsearch_subprocess, workdir, doc
):
    study_file(to_toml(doc))
    run = hpsearch_subprocess("run", "study.toml", "--no-progress", cwd=workdir)
    assert run.returncode == 2, run.stderr
    assert run.stderr.startswith("Error: study.toml"), run.stderr
    assert "Traceback" not in run.stderr
    assert _files(workdir) == {"study.toml"}  # no hpsearch.db
    assert not os.path.exists(workdir / "hpsearch.db")


def test_a_study_name_with_control_characters_on_the_command_line_exits_2(
    study_file, hpsearch, workdir
):
    study_file(to_toml(SOUND))
    result = hpsearch("run", "study.toml", "--study", "a\tb", "--no-progress")
    assert result.exit_code == 2
    assert result.stderr.endswith(
        "Error: study must be a non-empty name without control characters (NUL, "
        "newline, tab, escape, ...); got 'a\\tb'. Use printable characters, such "
        "as 'svc-digits'.\n"
    )
    assert _files(workdir) == {"study.toml"}
