"""Study files of kind hyperband, through the CLI."""

from __future__ import annotations

import json

import numpy as np

from hpsearch import load_study

HYPERBAND = """
study = "hb"

[data]
source = "sklearn:wine"

[estimator]
class = "sklearn.ensemble.RandomForestClassifier"
params = { random_state = 0 }

[search]
kind = "hyperband"
resource = "n_estimators"
max_resources = 27
min_resources = 1
factor = 3
n_iter = 9
random_state = 0

[search.space]
max_depth = [2, 4, 8]
min_samples_leaf = [1, 3, 5]

[cv]
folds = 3
"""


def test_dry_run_prints_each_rung_with_its_fits(study_file, hpsearch, workdir):
    study_file(HYPERBAND)
    result = hpsearch("run", "study.toml", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "rung 1/4   9 candidates x 1 n_estimators: 27 fits" in result.output
    assert "rung 2/4   3 candidates x 3 n_estimators: 9 fits" in result.output
    assert "rung 4/4   1 candidates x 27 n_estimators: 3 fits" in result.output
    assert not (workdir / "hpsearch.db").exists()

    as_json = json.loads(hpsearch("run", "study.toml", "--dry-run", "--json").output)
    assert [r["n_fits"] for r in as_json["rungs"]] == [27, 9, 3, 3]


def test_a_hyperband_study_runs_and_is_stored(study_file, hpsearch, workdir):
    study_file(HYPERBAND)
    result = hpsearch("run", "study.toml", "--n-jobs", "1")
    assert result.exit_code == 0, result.output
    study = load_study(f"sqlite:///{workdir / 'hpsearch.db'}", "hb")
    assert study.status == "finished"
    iters = list(study.cv_results_["iter"])
    assert iters.count(0) == 9 and max(iters) == 3
    assert study.best_params_["n_estimators"] == 27


def test_an_option_of_another_kind_is_refused(study_file, hpsearch):
    study_file(HYPERBAND.replace("factor = 3", "aggressive_elimination = true"))
    result = hpsearch("run", "study.toml", "--dry-run")
    assert result.exit_code != 0
    assert (
        "search.aggressive_elimination applies to kind = "
        '"halving_grid" or "halving_random" only; got it with kind = '
        "'hyperband'." in result.output
    )
    study_file(
        HYPERBAND.replace('kind = "hyperband"', 'kind = "random"').replace(
            "n_iter = 9", "brackets = 2"
        )
    )
    result = hpsearch("run", "study.toml", "--dry-run")
    assert result.exit_code != 0
    assert 'search.brackets applies to kind = "hyperband" only' in result.output


def test_a_race_on_folds_dry_runs_with_the_folds_each_rung_adds(
    study_file, hpsearch, workdir
):
    study_file(
        HYPERBAND.replace('resource = "n_estimators"', 'resource = "folds"')
        .replace(
            "sklearn.ensemble.RandomForestClassifier",
            "sklearn.tree.DecisionTreeClassifier",
        )
        .replace("max_resources = 27\n", "")
        .replace("folds = 3", "folds = 5")
    )
    result = hpsearch("run", "study.toml", "--dry-run")
    assert result.exit_code == 0, result.output
    # 9 candidates on 1 fold, the top 3 on 2 more folds, the best on 2 more.
    assert "rung 1/3   9 candidates x 1 folds: 9 fits" in result.output
    assert "rung 2/3   3 candidates x 3 folds: 6 fits" in result.output
    assert "rung 3/3   1 candidates x 5 folds: 2 fits" in result.output
    result = hpsearch("run", "study.toml", "--n-jobs", "1", "--no-progress")
    assert result.exit_code == 0, result.output
    assert "13 candidates x 1 to 5 folds = 17 fits" in result.output
    study = load_study(f"sqlite:///{workdir / 'hpsearch.db'}", "hb")
    assert study.status == "finished"
    assert max(study.cv_results_["n_resources"]) == 5
    assert study.progress.done == study.progress.total


def test_continue_training_in_a_study_file_continues_promoted_fits(
    study_file, hpsearch, workdir
):
    study_file(HYPERBAND.replace("factor = 3", "factor = 3\ncontinue_training = true"))
    result = hpsearch("run", "study.toml", "--n-jobs", "1")
    assert result.exit_code == 0, result.output
    study = load_study(f"sqlite:///{workdir / 'hpsearch.db'}", "hb")
    rungs = np.asarray(study.cv_results_["iter"])
    continued = study.cv_results_["continued_from"]
    # Rung 0 starts from scratch; every later rung goes on from the one below.
    assert np.isnan(continued[rungs == 0]).all()
    below = np.array([1, 3, 9])[rungs[rungs > 0] - 1]
    np.testing.assert_array_equal(continued[rungs > 0], below)
