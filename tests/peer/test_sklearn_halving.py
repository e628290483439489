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

import hpsearch
from peer_rebinding import rebind_module

REPLACE = {
    sk_halving.HalvingGridSearchCV: hpsearch.HalvingGridSearchCV,
    sk_halving.HalvingRandomSearchCV: hpsearch.HalvingRandomSearchCV,
}

# Warnings as scikit-learn's own test configuration treats them: shown, except
# deprecations, which fail.
pytestmark = [
    pytest.mark.filterwarnings("default"),
    pytest.mark.filterwarnings("error::DeprecationWarning"),
    pytest.mark.filterwarnings("error::FutureWarning"),
]

# name (or name[params]) -> why hpsearch deliberately differs
DIFFERENCES: dict[str, str] = {}

globals().update(rebind_module(peer, REPLACE, DIFFERENCES))
