"""scikit-learn's extension point: a subclass's ``_run_search`` on hpsearch.

scikit-learn's search classes are extended by implementing
``_run_search(self, evaluate_candidates)``. The same mixin on
``hpsearch.GridSearchCV`` and on scikit-learn's gives the same
``cv_results_`` (its ``more_results`` columns and its own ``cv`` included),
and on hpsearch it is stored and resumes like any search.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV as SkGridSearchCV
from sklearn.model_selection import KFold
from sklearn.svm import SVC

import hpsearch


class TwoStages:
    """Two C values, then ten times the better one on shuffled folds."""

    def _run_search(self, evaluate_candidates):
        first = evaluate_candidates(
            [{"C": 0.1}, {"C": 1.0}], more_results={"stage": [0, 0]}
        )
        best = first["params"][int(np.argmax(first["mean_test_score"]))]
        evaluate_candidates(
            [{"C": best["C"] * 10}],
            cv=KFold(5, shuffle=True, random_state=0),
            more_results={"stage": [1]},
        )


class Ours(TwoStages, hpsearch.GridSearchCV):
    pass


class Theirs(TwoStages, SkGridSearchCV):
    pass


def same(ours: dict, theirs: dict) -> None:
    assert list(ours) == list(theirs)
    for key, value in theirs.items():
        if "time" in key:
            continue
        if key == "params":
            assert ours[key] == value
        else:
            np.testing.assert_array_equal(ours[key], value, err_msg=key)


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_a_custom_run_search_gives_scikit_learns_results(n_jobs):
    X, y = load_iris(return_X_y=True)
    ours = Ours(SVC(), {"C": [1.0]}, n_jobs=n_jobs, progress=False).fit(X, y)
    theirs = Theirs(SVC(), {"C": [1.0]}, n_jobs=n_jobs).fit(X, y)
    same(ours.cv_results_, theirs.cv_results_)
    assert ours.best_params_ == theirs.best_params_ == {"C": 10.0}
    assert ours.best_score_ == theirs.best_score_


def test_a_custom_run_search_is_stored_and_resumes(tmp_path):
    from hpsearch import load_study

    X, y = load_iris(return_X_y=True)
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    first = Ours(SVC(), {"C": [1.0]}, storage=url, study="custom", progress=False)
    first.fit(X, y)
    study = load_study(url, "custom")
    assert study.status == "finished"
    assert study.progress.done == 15
    # The second stage's own folds are kept apart from the first's.
    assert {r.resource for r in study.trials} == {None, 1}
    again = Ours(SVC(), {"C": [1.0]}, storage=url, study="custom", progress=False)
    again.fit(X, y)
    same(again.cv_results_, first.cv_results_)


class Failing:
    def _run_search(self, evaluate_candidates):
        evaluate_candidates([{"C": 1.0}])
        raise RuntimeError("the custom search gave up")


class OursFailing(Failing, hpsearch.GridSearchCV):
    pass


def test_an_error_in_run_search_reaches_the_caller():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(RuntimeError, match="the custom search gave up"):
        OursFailing(SVC(), {"C": [1.0]}, progress=False).fit(X, y)
