"""Study files of kind bayes, and hyperband with sampler = "bayes", through the CLI."""

from __future__ import annotations

import json
import re

from hpsearch import load_study

BAYES = """
study = "by"

[data]
source = "sklearn:iris"

[estimator]
class = "sklearn.svm.SVC"

[search]
kind = "bayes"
n_iter = 8
n_initial = 4
random_state = 0

[search.space]
C = { dist = "loguniform", low = 0.01, high = 100 }
kernel = ["rbf", "linear"]

[cv]
folds = 3
"""


def test_dry_run_says_how_many_candidates_and_fits(study_file, hpsearch, workdir):
    study_file(BAYES)
    result = hpsearch("run", "study.toml", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "search     bayes: 8 candidates" in result.output
    plan = json.loads(hpsearch("run", "study.toml", "--dry-run", "--json").output)
    assert plan["kind"] == "bayes"
    assert plan["n_fits"] == 24
    assert not (workdir / "hpsearch.db").exists()


def test_a_bayes_study_runs_is_stored_and_resumes_as_one(study_file, hpsearch, workdir):
    study_file(BAYES.replace("n_iter = 8", "n_iter = 6"))
    assert hpsearch("run", "study.toml", "--n-jobs", "1").exit_code == 0
    study_file(BAYES)
    result = hpsearch("run", "study.toml", "--n-jobs", "1")
    assert result.exit_code == 0, result.output
    study = load_study(f"sqlite:///{workdir / 'hpsearch.db'}", "by")
    assert study.status == "finished"
    assert len(study.cv_results_["params"]) == 8
    study_file(BAYES.replace('study = "by"', 'study = "whole"'))
    assert hpsearch("run", "study.toml", "--n-jobs", "1").exit_code == 0
    whole = load_study(f"sqlite:///{workdir / 'hpsearch.db'}", "whole")
    assert list(whole.cv_results_["params"]) == list(study.cv_results_["params"])


def test_hyperband_takes_the_bayes_sampler(study_file, hpsearch, workdir):
    study_file(
        BAYES.replace("n_initial = 4\n", "").replace(
            'kind = "bayes"',
            'kind = "hyperband"\nsampler = "bayes"\nmin_resources = 30',
        )
    )
    result = hpsearch("run", "study.toml", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "rung 1/2   8 candidates x 50 samples: 24 fits" in result.output
    assert hpsearch("run", "study.toml", "--n-jobs", "1").exit_code == 0
    study = load_study(f"sqlite:///{workdir / 'hpsearch.db'}", "by")
    assert list(study.cv_results_["iter"]).count(0) == 8


def test_options_of_other_kinds_and_bad_values_are_refused(study_file, hpsearch):
    study_file(BAYES.replace("n_initial = 4", "brackets = 2"))
    result = hpsearch("run", "study.toml", "--dry-run")
    assert result.exit_code != 0
    assert 'search.brackets applies to kind = "hyperband" only' in result.output
    study_file(BAYES.replace('kind = "bayes"', 'kind = "random"'))
    result = hpsearch("run", "study.toml", "--dry-run")
    assert result.exit_code != 0
    assert 'search.n_initial applies to kind = "bayes" only' in result.output
    study_file(
        BAYES.replace('kind = "bayes"', 'kind = "hyperband"\nsampler = "tpe"').replace(
            "n_initial = 4\n", ""
        )
    )
    result = hpsearch("run", "study.toml", "--dry-run")
    assert result.exit_code != 0
    # scikit-learn lists the options of a set: in either order.
    assert re.search(
        r"study\.toml, line 9: search must describe a search this data allows; The "
        r"'sampler' parameter of HyperbandSearchCV must be a str among "
        r"\{'(bayes|random)', '(bayes|random)'\}\. Got 'tpe' instead\.",
        result.output,
    ), result.output
