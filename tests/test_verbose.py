"""``verbose`` prints scikit-learn's lines, character for character (times aside)."""

from __future__ import annotations

import re
import warnings

import pytest
from sklearn import model_selection as sk
from sklearn.datasets import load_iris
from sklearn.exceptions import FitFailedWarning
from sklearn.svm import LinearSVC

import hpsearch
from estimators_for_tests import FAIL, FailingClassifier

X, y = load_iris(return_X_y=True)
TIME = re.compile(r"total time=(\s*\d+\.\d(s|min))$")


def lines(text: str) -> list[str]:
    """The printed lines, each fit's time replaced by one of the same width."""
    return sorted(TIME.sub("total time=   0.0s", line) for line in text.splitlines())


def printed(capsys, cls_name: str, estimator, grid, **kwargs) -> tuple[list, list]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitFailedWarning)
        getattr(hpsearch, cls_name)(estimator, grid, progress=False, **kwargs).fit(X, y)
        ours = capsys.readouterr().out
        getattr(sk, cls_name)(estimator, grid, **kwargs).fit(X, y)
        theirs = capsys.readouterr().out
    return lines(ours), lines(theirs)


def test_the_issues_example_prints_scikit_learns_line(capsys):
    ours, theirs = printed(
        capsys,
        "GridSearchCV",
        LinearSVC(random_state=0),
        {"C": [0.1]},
        scoring="accuracy",
        verbose=3,
        cv=3,
        return_train_score=True,
    )
    assert ours == theirs
    assert any(
        line.startswith("[CV 1/3] END .........C=0.1;, score=(train=") for line in ours
    )


@pytest.mark.parametrize("verbose", [1, 2, 3, 10])
@pytest.mark.parametrize("return_train_score", [False, True])
@pytest.mark.parametrize(
    "scoring", [None, "accuracy", ["accuracy", "f1_macro"], {"acc": "accuracy"}]
)
def test_every_verbose_level_prints_scikit_learns_lines(
    capsys, verbose, return_train_score, scoring
):
    ours, theirs = printed(
        capsys,
        "GridSearchCV",
        LinearSVC(random_state=0),
        {"C": [0.01, 1.0], "fit_intercept": [True, False]},
        scoring=scoring,
        refit=not isinstance(scoring, list | dict),
        verbose=verbose,
        cv=3,
        return_train_score=return_train_score,
    )
    assert ours == theirs
    assert len(ours) >= 1


@pytest.mark.parametrize("scoring", [None, ["accuracy", "f1_macro"]])
@pytest.mark.parametrize("return_train_score", [False, True])
def test_failed_fits_print_error_score_as_scikit_learn(
    capsys, scoring, return_train_score
):
    ours, theirs = printed(
        capsys,
        "GridSearchCV",
        FailingClassifier(),
        {"parameter": [0, FAIL]},
        scoring=scoring,
        refit=False,
        verbose=3,
        cv=3,
        error_score=-1.0,
        return_train_score=return_train_score,
    )
    assert ours == theirs
    assert any("=-1.000" in line for line in ours)


def test_random_search_prints_scikit_learns_lines(capsys):
    ours, theirs = printed(
        capsys,
        "RandomizedSearchCV",
        LinearSVC(random_state=0),
        {"C": [0.01, 0.1, 1.0, 10.0]},
        n_iter=3,
        random_state=0,
        verbose=10,
        cv=2,
    )
    assert ours == theirs
