"""HyperbandSearchCV(resource="folds"): a race on cross-validation folds.

Every fit uses all the training data of its split; rung k scores a
candidate on the first k folds, and a promoted candidate fits only the folds
it has not run. scikit-learn's ``cross_validate`` on the same splits is the
oracle of each row's split scores.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy.stats import randint
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import KFold, cross_validate

from hpsearch import HyperbandSearchCV
from hpsearch.strategies._hyperband import fold_rungs
from logged_trees import FITS, STOP_AT, Tree


@pytest.fixture(autouse=True)
def fits():
    FITS.clear()
    STOP_AT[0] = 0
    yield FITS


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = X[:500].copy()
    X[:, 0] = np.arange(500) / 1000  # the row's number: each fit logs its rows
    return X, y[:500]


SPACE = {"max_depth": randint(1, 12), "min_samples_leaf": randint(1, 30)}
CV = KFold(5, shuffle=True, random_state=0)


def race(**options):
    return HyperbandSearchCV(
        Tree(random_state=0),
        SPACE,
        resource="folds",
        n_iter=options.pop("n_iter", 15),
        cv=CV,
        random_state=0,
        progress=False,
        **options,
    )


def test_the_rungs_grow_by_factor_from_one_fold_to_all_of_them():
    assert fold_rungs(1, 5, 3) == [1, 3, 5]
    assert fold_rungs(1, 5, 2) == [1, 2, 4, 5]
    assert fold_rungs(1, 10, 3) == [1, 3, 9, 10]
    assert fold_rungs(2, 5, 3) == [2, 5]
    assert fold_rungs(5, 5, 3) == [5]


def test_each_row_scores_the_folds_it_ran_as_cross_validate_does(digits):
    X, y = digits
    search = race(n_jobs=2).fit(X, y)
    results = search.cv_results_
    assert search.n_resources_ == [1, 3, 5]
    assert search.max_resources_ == 5 and search.min_resources_ == 1
    assert list(np.unique(results["n_resources"])) == [1, 3, 5]
    assert list(results["n_resources"]) == [
        search.n_resources_[i] for i in results["iter"]
    ]
    assert "param_folds" not in results
    for i, params in enumerate(results["params"]):
        k = results["n_resources"][i]
        oracle = cross_validate(
            clone(Tree(random_state=0)).set_params(**params), X, y, cv=CV
        )["test_score"][:k]
        scores = np.array([results[f"split{s}_test_score"][i] for s in range(5)])
        assert np.isnan(scores[k:]).all()
        np.testing.assert_array_equal(scores[:k], oracle)
        assert results["mean_test_score"][i] == pytest.approx(oracle.mean())
        assert results["std_test_score"][i] == pytest.approx(oracle.std())


def test_a_promoted_candidate_fits_only_the_folds_it_has_not_run(digits, fits):
    X, y = digits
    search = race(n_jobs=1, refit=False).fit(X, y)
    results = search.cv_results_
    # Each (candidate, fold) was fitted once, whatever rungs it reached.
    assert len(fits) == len(set(fits))
    most = {}
    for params, k in zip(results["params"], results["n_resources"], strict=True):
        key = (params["max_depth"], params["min_samples_leaf"])
        most[key] = max(most.get(key, 0), int(k))
    assert len(fits) == sum(most.values())
    # Promotions happened: some candidates went on past their first fold.
    assert sorted(set(most.values())) == [1, 3, 5]


def test_the_best_candidate_is_the_best_of_those_that_ran_all_folds(digits):
    search = race(n_jobs=1).fit(*digits)
    results = search.cv_results_
    complete = np.flatnonzero(results["n_resources"] == 5)
    assert search.best_index_ in complete
    assert search.best_score_ == results["mean_test_score"][complete].max()
    # A candidate scored on fewer folds may look better: it is not chosen.
    assert search.n_candidates_[-1] == len(complete) >= 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"max_resources": 3},
            "max_resources must be 'auto' (all the 5 folds of cv) for "
            "resource='folds'; got 3.",
        ),
        (
            {"min_resources": 6},
            "min_resources must be at most the 5 folds of cv for resource='folds'; "
            "got 6.",
        ),
    ],
)
def test_bad_budgets_of_a_race_are_refused_before_any_fit(
    digits, fits, options, message
):
    with pytest.raises(ValueError, match=re.escape(message)):
        race(**options).fit(*digits)
    assert fits == []
