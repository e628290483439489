"""Study specs: fingerprints of data and splits, descriptions, identity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import loguniform

from hpsearch.storage._spec import describe, fingerprint, hash_splits


def test_fingerprints_are_equal_for_equal_data_of_any_layout():
    X = np.arange(12.0).reshape(4, 3)
    assert fingerprint(X) == fingerprint(X.copy()) == fingerprint(np.asfortranarray(X))
    assert fingerprint(X.tolist()) == fingerprint(X)
    assert fingerprint(sp.csc_matrix(X)) == fingerprint(sp.csr_matrix(X))


def test_fingerprints_differ_for_any_change_of_value_dtype_shape_or_names():
    X = np.arange(12.0).reshape(4, 3)
    changed = X.copy()
    changed[3, 2] += 1e-12
    prints = {
        fingerprint(X),
        fingerprint(changed),
        fingerprint(X.astype(np.float32)),
        fingerprint(X.reshape(3, 4)),
        fingerprint(pd.DataFrame(X, columns=["a", "b", "c"])),
        fingerprint(pd.DataFrame(X, columns=["a", "b", "d"])),
        fingerprint(np.array(["a", "b"], dtype=object)),
        fingerprint(np.array(["a", "c"], dtype=object)),
        fingerprint([[1, 2], [3]]),
    }
    assert len(prints) == 9


@given(
    st.lists(st.floats(allow_nan=False), min_size=1, max_size=30), st.integers(0, 29)
)
def test_changing_one_value_changes_the_fingerprint(values, index):
    array = np.array(values)
    changed = array.copy()
    i = index % len(values)
    changed[i] = np.nextafter(changed[i], -np.inf if changed[i] > 0 else np.inf)
    assert fingerprint(array) != fingerprint(changed)


def test_split_hashes_see_every_index():
    splits = [(np.array([0, 1]), np.array([2])), (np.array([1, 2]), np.array([0]))]
    assert hash_splits(splits) == hash_splits([(list(a), list(b)) for a, b in splits])
    moved = [(np.array([0, 2]), np.array([1])), splits[1]]
    assert hash_splits(splits) != hash_splits(moved)


def test_descriptions_are_stable_from_run_to_run():
    assert describe(loguniform(1e-3, 1e3)) == {
        "distribution": "loguniform",
        "args": {"list": [{"float": "0.001"}, {"float": "1000.0"}]},
        "kwds": {"dict": []},
    }
    assert " at 0x" not in str(describe(object()))
