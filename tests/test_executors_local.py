"""The local executors: what runs where, and what reaches the workers."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from hpsearch.executors import LokyExecutor, SerialExecutor, ThreadExecutor

SCRIPT = textwrap.dedent(
    """
    import numpy as np
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV as SkGridSearchCV
    from hpsearch import GridSearchCV

    class Wrapped(ClassifierMixin, BaseEstimator):  # defined in __main__
        def __init__(self, C=1.0):
            self.C = C

        def fit(self, X, y):
            self.model_ = LogisticRegression(C=self.C, max_iter=500).fit(X, y)
            self.classes_ = self.model_.classes_
            return self

        def predict(self, X):
            return self.model_.predict(X)

    if __name__ == "__main__":
        X, y = load_iris(return_X_y=True)
        grid = {"C": [0.01, 1.0, 100.0]}
        ours = GridSearchCV(Wrapped(), grid, n_jobs=2, progress=False).fit(X, y)
        theirs = SkGridSearchCV(Wrapped(), grid, n_jobs=2).fit(X, y)
        assert np.array_equal(ours.cv_results_["mean_test_score"],
                              theirs.cv_results_["mean_test_score"])
        print("equal", ours.best_params_)
    """
)


def test_estimators_defined_in_a_scripts_main_run_in_worker_processes(tmp_path):
    script = tmp_path / "search_script.py"
    script.write_text(SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("equal {'C':")


def add(shared, item):
    return shared + item


@pytest.mark.parametrize(
    "executor",
    [SerialExecutor(), ThreadExecutor(2), LokyExecutor(2)],
    ids=["serial", "threads", "loky"],
)
def test_every_local_executor_runs_each_item_once_with_the_shared_value(executor):
    try:
        results = sorted(executor.map_unordered(add, range(20), 100))
    finally:
        executor.close()
    assert results == list(range(100, 120))
