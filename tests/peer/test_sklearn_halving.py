"""scikit-learn's own tests for its halving searches, run on hpsearch's classes.

The test module ships in scikit-learn's wheel. Its module globals and the
values of its ``parametrize`` marks are rebound from scikit-learn's
``HalvingGridSearchCV``/``HalvingRandomSearchCV`` to hpsearch's, and every
test function is collected here. Tests that fail for a deliberate, documented
difference are marked ``xfail`` with the reason (``xfail_strict`` is on, so a
test that starts passing is reported).
"""

from __future__ import annotations

import pytest
from sklearn.model_selection import _search_successive_halving as sk_halving
from sklearn.model_selection.tests import test_successive_halving as peer
from sklearn.utils._testing import get_pytest_filterwarning_lines

import hpsearch
from peer_rebinding import rebind

REPLACE = {
    sk_halving.HalvingGridSearchCV: hpsearch.HalvingGridSearchCV,
    sk_halving.HalvingRandomSearchCV: hpsearch.HalvingRandomSearchCV,
}

# scikit-learn's tests run under scikit-learn's warning filters (its CI's
# SKLEARN_WARNINGS_AS_ERRORS list), not hpsearch's "every warning is an error".
pytestmark = pytest.mark.filterwarnings("default", *get_pytest_filterwarning_lines())

# Every test passes: none is marked as a deliberate difference.
globals().update(rebind(peer, REPLACE))
