"""Parameter values and results as JSON: lossless round trips, refusals."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.preprocessing import PolynomialFeatures
from sklearn.svm import SVC

from hpsearch import NotStorableError
from hpsearch.storage import RunRecord, StudyRecord
from hpsearch.storage._codec import check_storable, decode_value, dumps, encode_value
from hpsearch.storage._study import Study

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.text(max_size=8),
    st.floats(width=32).map(np.float32),
    st.integers(-(2**31), 2**31 - 1).map(np.int32),
    st.booleans().map(np.bool_),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(
            st.one_of(st.text(max_size=4), st.integers()), inner, max_size=4
        ),
    ),
    max_leaves=12,
)


def same(a: object, b: object) -> bool:
    """Equal, of the same types all the way down (NaN equal to NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float | np.floating) and math.isnan(a):
        return math.isnan(b)  # type: ignore[arg-type]
    return bool(a == b)


@given(values)
def test_every_plain_value_round_trips_through_json_exactly(value):
    assert same(decode_value(json.loads(dumps(encode_value(value)))), value)


def test_estimators_classes_functions_and_arrays_round_trip():
    for value in [
        SVC(C=2.5, kernel="poly"),
        PolynomialFeatures(degree=np.int64(3)),
        np.log,
        os.path.join,
        SVC,
        np.arange(6).reshape(2, 3).astype(np.float32),
    ]:
        data = check_storable("p", value)
        back = decode_value(json.loads(dumps(data)))
        assert repr(back) == repr(value)
        assert type(back) is type(value)


def test_values_that_would_not_come_back_are_refused():
    class Local:
        pass

    with pytest.raises(
        NotStorableError,
        match=r"^Parameter 'p' must hold values that a study can store as plain "
        r"data; got <.* \(Local\): Local objects cannot be stored\.",
    ):
        check_storable("p", Local())
    with pytest.raises(NotStorableError, match=r"arrays of dtype object cannot"):
        check_storable("p", np.array([object()]))


def test_a_run_marked_running_by_a_live_process_makes_the_study_running():
    from hpsearch.storage import StudyData

    record = StudyRecord("s", {"cv": {"n_splits": 2}}, 1.0)
    live = RunRecord("r", "running", os.uname().nodename, os.getpid(), 2.0)
    dead = RunRecord("d", "running", os.uname().nodename, 2**22 + 12345, 2.0)
    assert Study(StudyData(record, runs=(live,))).status == "running"
    assert Study(StudyData(record, runs=(dead,))).progress.running == 0


def test_a_run_whose_heartbeat_is_older_than_its_lease_has_stopped():
    # On another host, where a process id says nothing: only the heartbeat.
    from hpsearch.storage import StudyData

    record = StudyRecord("s", {"cv": {"n_splits": 2}}, 1.0)
    beating = RunRecord("r", "running", "another-host", 1, 2.0, None, 100.0, 60.0)
    assert Study(StudyData(record, runs=(beating,), now=130.0)).status == "running"
    assert Study(StudyData(record, runs=(beating,), now=160.0)).progress.running == 1
    stopped = Study(StudyData(record, runs=(beating,), now=160.5))
    assert (stopped.status, stopped.progress.running) == ("interrupted", 0)
    # On this host, a dead process has stopped whatever its heartbeat says.
    dead = RunRecord(
        "d", "running", os.uname().nodename, 2**22 + 12345, 2.0, None, 100.0, 60.0
    )
    assert Study(StudyData(record, runs=(dead,), now=101.0)).progress.running == 0
    # A run written before schema 3 keeps no heartbeat: elsewhere it runs.
    legacy = RunRecord("l", "running", "another-host", 1, 2.0)
    assert Study(StudyData(record, runs=(legacy,), now=1e10)).status == "running"
