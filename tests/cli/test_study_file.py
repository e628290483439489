"""Study files become the Python API's own objects."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from hpsearch import GridSearchCV, RandomizedSearchCV
from hpsearch.cli import load_study_file
from hpsearch.cli._toml import key_lines

REPO = Path(__file__).parents[2]


def test_key_lines_finds_tables_arrays_of_tables_and_dotted_keys():
    text = (
        'study = "x"\n'
        "[data]\n"
        'source = "a.csv"\n'
        "[[estimator.steps]]\n"
        'name = "one"\n'
        "[[estimator.steps]]\n"
        '"name" = "two"\n'
        "[search.space]\n"
        "C = { dist = 'loguniform', low = 1, high = 2 }\n"
        "svc.gamma = [1]\n"
    )
    lines = key_lines(text)
    assert lines[("study",)] == 1
    assert lines[("data", "source")] == 3
    assert lines[("estimator", "steps", 0, "name")] == 5
    assert lines[("estimator", "steps", 1, "name")] == 7
    assert lines[("search", "space", "C")] == 9
    assert lines[("search", "space", "svc", "gamma")] == 10


def test_grid_study_is_a_grid_search(study_file):
    path = study_file(
        """
        [data]
        source = "sklearn:iris"
        [estimator]
        class = "sklearn.svm.SVC"
        params = { kernel = "linear", class_weight = "None" }
        [search]
        scoring = "accuracy"
        n_jobs = 2
        [search.space]
        C = [0.1, 1]
        """
    )
    plan = load_study_file(path, progress=False)
    search = plan.search
    assert type(search) is GridSearchCV
    assert isinstance(search.estimator, SVC)
    assert search.estimator.get_params()["kernel"] == "linear"
    assert search.estimator.get_params()["class_weight"] is None
    assert search.param_grid == {"C": [0.1, 1]}
    assert (search.scoring, search.n_jobs, search.cv) == ("accuracy", 2, 5)
    assert (search.storage, search.study) == ("sqlite:///hpsearch.db", "study")
    assert (plan.n_candidates, plan.n_splits, plan.n_fits) == (2, 5, 10)


def test_random_study_gets_scipy_distributions_and_none(study_file):
    path = study_file(
        """
        [data]
        source = "sklearn:breast_cancer"
        [estimator]
        class = "sklearn.tree.DecisionTreeClassifier"
        [search]
        kind = "random"
        n_iter = 7
        random_state = 3
        [search.space]
        max_depth = [3, "None"]
        min_samples_leaf = { dist = "randint", low = 1, high = 9 }
        ccp_alpha = { dist = "uniform", low = 0.0, high = 0.02 }
        min_impurity_decrease = { dist = "loguniform", low = 1e-6, high = 1e-2 }
        max_features = { dist = "choice", values = ["sqrt", "log2", "None"] }
        min_weight_fraction_leaf = { dist = "normal", mean = 0.1, std = 0.01 }
        """
    )
    search = load_study_file(path).search
    assert type(search) is RandomizedSearchCV
    assert (search.n_iter, search.random_state) == (7, 3)
    space = search.param_distributions
    assert space["max_depth"] == [3, None]
    assert space["max_features"] == ["sqrt", "log2", None]
    assert space["min_samples_leaf"].dist.name == "randint"
    assert space["min_samples_leaf"].args == (1, 9)
    assert space["ccp_alpha"].dist.name == "uniform"
    assert space["ccp_alpha"].support() == (0.0, 0.02)
    assert space["min_impurity_decrease"].dist.name == "loguniform"
    assert space["min_impurity_decrease"].support() == (1e-6, 1e-2)
    assert space["min_weight_fraction_leaf"].dist.name == "norm"
    assert space["min_weight_fraction_leaf"].mean() == pytest.approx(0.1)


def test_n_iter_and_other_overrides(study_file):
    from hpsearch.cli._schema import Overrides

    path = study_file(
        """
        [data]
        source = "sklearn:iris"
        [estimator]
        class = "sklearn.svm.SVC"
        [search]
        kind = "random"
        [search.space]
        C = { dist = "loguniform", low = 0.1, high = 10 }
        """
    )
    plan = load_study_file(
        path, Overrides("runs.db", "other", n_jobs=3, backend="threading", n_iter=4)
    )
    search = plan.search
    assert (search.storage, search.study, plan.name) == ("runs.db", "other", "other")
    assert (search.n_jobs, search.backend, search.n_iter) == (3, "threading", 4)
    assert plan.n_fits == 4 * 5


def test_pipeline_steps_several_spaces_and_metrics(study_file):
    path = study_file(
        """
        [data]
        source = "sklearn:wine"
        [[estimator.steps]]
        name = "scale"
        class = "sklearn.preprocessing.StandardScaler"
        [[estimator.steps]]
        name = "svc"
        class = "sklearn.svm.SVC"
        params = { C = 2.0 }
        [search]
        scoring = ["accuracy", "f1_macro"]
        [[search.space]]
        svc__kernel = ["linear"]
        [[search.space]]
        svc__kernel = ["rbf"]
        svc__gamma = [0.01, 0.1]
        """
    )
    plan = load_study_file(path)
    search = plan.search
    assert isinstance(search.estimator, Pipeline)
    assert [name for name, _ in search.estimator.steps] == ["scale", "svc"]
    assert search.estimator.get_params()["svc__C"] == 2.0
    assert search.param_grid == [
        {"svc__kernel": ["linear"]},
        {"svc__kernel": ["rbf"], "svc__gamma": [0.01, 0.1]},
    ]
    assert search.scoring == ["accuracy", "f1_macro"]
    assert search.refit == "accuracy"  # several metrics: the first picks the best
    assert plan.n_candidates == 3


def test_csv_with_groups_and_features_uses_group_cv(study_file, workdir):
    frame = pd.DataFrame(
        {
            "a": range(40),
            "b": [i % 3 for i in range(40)],
            "site": [i % 5 for i in range(40)],
            "y": [i % 2 for i in range(40)],
        }
    )
    frame.to_csv(workdir / "train.csv", index=False)
    text = """
        [data]
        source = "train.csv"
        target = "y"
        groups = "site"
        features = ["a"]
        [estimator]
        class = "sklearn.linear_model.Ridge"
        [search.space]
        alpha = [0.1, 1.0]
        [cv]
        folds = 5
        """
    plan = load_study_file(study_file(text))
    assert list(plan.data.X.columns) == ["a"]
    assert isinstance(plan.search.cv, GroupKFold)
    assert plan.fit_params["groups"].tolist() == frame["site"].tolist()
    stratified = load_study_file(
        study_file(text.replace("folds = 5", "folds = 5\nstratified = true"))
    )
    assert isinstance(stratified.search.cv, StratifiedGroupKFold)
    plain = load_study_file(
        study_file(text.replace("folds = 5", "folds = 5\ngroup = false"))
    )
    assert plain.search.cv == 5
    assert plain.fit_params == {}  # the groups go to group-aware splitters only
    shuffled = load_study_file(
        study_file(
            text.replace(
                "folds = 5",
                "folds = 4\ngroup = false\nshuffle = true\nrandom_state = 1",
            )
        )
    )
    assert isinstance(shuffled.search.cv, KFold)
    assert (shuffled.search.cv.n_splits, shuffled.search.cv.random_state) == (4, 1)


def test_parquet_data(study_file, workdir):
    pd.DataFrame(
        {"x": [float(i) for i in range(30)], "y": [i % 2 for i in range(30)]}
    ).to_parquet(workdir / "d.parquet")
    path = study_file(
        """
        [data]
        source = "d.parquet"
        target = "y"
        [estimator]
        class = "sklearn.neighbors.KNeighborsClassifier"
        [search.space]
        n_neighbors = [1, 3]
        """
    )
    plan = load_study_file(path)
    assert plan.data.X.shape == (30, 1)


def test_the_readmes_complete_study_file_is_valid(tmp_path, hpsearch, monkeypatch):
    readme = (REPO / "README.md").read_text()
    section = readme.split("A complete study file", 1)[1]
    text = re.search(r"```toml\n(.*?)```", section, re.S).group(1)
    (tmp_path / "data").mkdir()
    shutil.copy(REPO / "examples" / "data" / "wine.csv", tmp_path / "data")
    (tmp_path / "study.toml").write_text(text)
    monkeypatch.chdir(tmp_path)
    result = hpsearch("run", "study.toml", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "search     random: 20 candidates" in result.stdout
    assert not (tmp_path / "hpsearch.db").exists()
