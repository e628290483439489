"""Study files of kind halving_grid and halving_random, through the CLI."""

from __future__ import annotations

import json

import numpy as np
from sklearn.datasets import load_wine
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import HalvingRandomSearchCV as SkHalvingRandom
from sklearn.model_selection import StratifiedKFold
from sklearn.tree import DecisionTreeClassifier

from hpsearch import load_study

HALVING = """
study = "halving"

[data]
source = "sklearn:wine"

[estimator]
class = "sklearn.ensemble.RandomForestClassifier"
params = { random_state = 0 }

[search]
kind = "halving_grid"
resource = "n_estimators"
max_resources = 27
factor = 3
random_state = 0

[search.space]
max_depth = [2, 4, 8]
min_samples_leaf = [1, 3, 5]

[cv]
folds = 3
"""


def test_dry_run_prints_each_rung_with_its_fits(study_file, hpsearch, workdir):
    study_file(HALVING)
    result = hpsearch("run", "study.toml", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "rung 1/3   9 candidates x 3 n_estimators: 27 fits" in result.output
    assert "rung 2/3   3 candidates x 9 n_estimators: 9 fits" in result.output
    assert "rung 3/3   1 candidates x 27 n_estimators: 3 fits" in result.output
    assert "fits       39" in result.output
    assert not (workdir / "hpsearch.db").exists()

    as_json = json.loads(hpsearch("run", "study.toml", "--dry-run", "--json").output)
    assert [r["n_fits"] for r in as_json["rungs"]] == [27, 9, 3]
    assert as_json["n_fits"] == 39


def test_a_halving_random_study_runs_and_equals_scikit_learn(study_file, hpsearch):
    study_file(
        """
        study = "hr"

        [data]
        source = "sklearn:wine"

        [estimator]
        class = "sklearn.tree.DecisionTreeClassifier"
        params = { random_state = 0 }

        [search]
        kind = "halving_random"
        n_candidates = 12
        factor = 2
        random_state = 0

        [search.space]
        max_depth = { dist = "randint", low = 1, high = 10 }
        criterion = ["gini", "entropy"]

        [cv]
        folds = 3
        """
    )
    result = hpsearch("run", "study.toml", "--no-progress")
    assert result.exit_code == 0, result.output
    study = load_study("sqlite:///hpsearch.db", "hr")
    X, y = load_wine(return_X_y=True)
    from scipy.stats import randint

    sk = SkHalvingRandom(
        DecisionTreeClassifier(random_state=0),
        {"max_depth": randint(1, 10), "criterion": ["gini", "entropy"]},
        n_candidates=12,
        factor=2,
        random_state=0,
        cv=StratifiedKFold(3) if False else 3,
    ).fit(X, y)
    np.testing.assert_array_equal(
        study.cv_results_["mean_test_score"], sk.cv_results_["mean_test_score"]
    )
    np.testing.assert_array_equal(study.cv_results_["iter"], sk.cv_results_["iter"])
    assert study.best_params_ == sk.best_params_


def test_a_halving_option_on_a_grid_kind_is_refused(study_file, hpsearch):
    study_file(HALVING.replace('kind = "halving_grid"', 'kind = "grid"'))
    result = hpsearch("run", "study.toml", "--dry-run")
    assert result.exit_code == 2
    assert (
        'search.factor applies to kind = "halving_grid", "halving_random" or '
        '"hyperband" only; '
        "got it with kind = 'grid'. Remove it or change the kind." in result.output
    )


def test_a_searched_resource_is_refused_before_anything_is_written(
    study_file, hpsearch, workdir
):
    study_file(HALVING.replace("max_depth = [2, 4, 8]", "n_estimators = [5, 10]"))
    result = hpsearch("run", "study.toml")
    assert result.exit_code == 2
    assert "Cannot use parameter n_estimators as the resource" in result.output
    assert not (workdir / "hpsearch.db").exists()
