"""retry_failed=True reruns the fits a study holds as failed; by default they stay."""

from __future__ import annotations

import pytest
from sklearn.datasets import load_iris
from sklearn.tree import DecisionTreeClassifier

import hpsearch
from hpsearch import GridSearchCV

X, y = load_iris(return_X_y=True)


class SwitchedTree(DecisionTreeClassifier):
    """Fails while ``broken`` is set: a cause outside the search (a package,
    a file, a service), fixed between two runs."""

    broken = False
    fits = 0

    # fit's own signature, not **kwargs: on scikit-learn 1.7 a tree whose fit
    # hides check_input breaks its metadata requests (scikit-learn's own
    # GridSearchCV raises "Trying to remove parameter check_input").
    def fit(self, X, y, sample_weight=None, check_input=True):
        type(self).fits += 1
        if type(self).broken:
            raise RuntimeError("the service is down")
        return super().fit(X, y, sample_weight=sample_weight, check_input=check_input)


def search(storage, **kwargs):
    return GridSearchCV(
        SwitchedTree(random_state=0),
        {"max_depth": [1, 2]},
        cv=3,
        storage=storage,
        study="switched",
        progress=False,
        **kwargs,
    )


@pytest.fixture
def failed_study(tmp_path):
    """A SQLite study whose 6 fits all failed."""
    storage = f"sqlite:///{tmp_path / 'runs.db'}"
    SwitchedTree.broken = True
    with pytest.raises(ValueError, match="All the 6 fits failed"):
        search(storage).fit(X, y)
    SwitchedTree.broken = False
    yield storage
    SwitchedTree.broken = False


def test_a_study_whose_fits_all_failed_reads_failed(failed_study):
    study = hpsearch.load_study(failed_study, "switched")
    assert study.status == "failed"
    assert (study.progress.done, study.progress.failed) == (6, 6)
    [summary] = hpsearch.list_studies(failed_study)
    assert summary.status == "failed"


def test_failed_fits_are_kept_by_default(failed_study):
    SwitchedTree.fits = 0
    with pytest.raises(ValueError, match="All the 6 fits failed"):
        search(failed_study).fit(X, y)
    assert SwitchedTree.fits == 0  # nothing ran: the failures are stored results


def test_retry_failed_reruns_them_and_the_study_finishes(failed_study):
    SwitchedTree.fits = 0
    fitted = search(failed_study, retry_failed=True).fit(X, y)
    assert SwitchedTree.fits == 6 + 1  # every split of both candidates, the refit
    assert list(fitted.results_["status"]) == ["ok", "ok"]
    study = hpsearch.load_study(failed_study, "switched")
    assert (study.status, study.progress.failed) == ("finished", 0)
    assert study.best_score_ == pytest.approx(fitted.best_score_)
    # A retry of a sound study runs nothing.
    SwitchedTree.fits = 0
    search(failed_study, retry_failed=True).fit(X, y)
    assert SwitchedTree.fits == 1  # the refit only


def test_retry_failed_must_be_a_boolean():
    with pytest.raises(ValueError, match="'retry_failed' parameter"):
        search(None, retry_failed="yes").fit(X, y)
