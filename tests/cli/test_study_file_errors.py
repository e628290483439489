"""Every way a study file can be wrong: one clear message, exit code 2, no traceback.

Messages are pinned whole: file, line, key, what was found, what is expected.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hpsearch.cli import StudyFileError, load_study_file

GOOD = """\
[data]
source = "sklearn:iris"

[estimator]
class = "sklearn.svm.SVC"

[search]
kind = "grid"

[search.space]
C = [0.1, 1]
"""


def check_error(hpsearch, path: Path, expected: str, *args: str) -> None:
    """The CLI exits 2 with exactly this message and writes no storage."""
    result = hpsearch("run", str(path.name), "--dry-run", *args)
    assert result.exit_code == 2, result.output
    assert result.stderr == f"Error: {expected}\n"
    assert "Traceback" not in result.output
    result = hpsearch("run", str(path.name), "--no-progress", *args)
    assert result.exit_code == 2
    assert not (path.parent / "hpsearch.db").exists()  # nothing written
    if not args:
        with pytest.raises(StudyFileError) as info:
            load_study_file(path.name)  # the working folder is path's
        assert str(info.value) == expected


def test_missing_study_file(workdir, hpsearch):
    result = hpsearch("run", "nope.toml")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: The study file must exist; got 'nope.toml', which does not. "
        "Check the path (it is relative to the current directory).\n"
    )


def test_invalid_toml_names_file_line_and_column(study_file, hpsearch):
    path = study_file('[data\nsource = "sklearn:iris"\n')
    check_error(
        hpsearch,
        path,
        "study.toml must be valid TOML; it is not: Expected ']' at the end of a "
        "table declaration (at line 1, column 6). See https://toml.io for the syntax.",
    )


def test_an_unclosed_array_names_the_line_where_it_starts(study_file, hpsearch):
    path = study_file(GOOD.replace("C = [0.1, 1]", "C = [0.1, 1"))
    check_error(
        hpsearch,
        path,
        "study.toml must be valid TOML; it is not: Unclosed array (at end of "
        "document). The problem starts at line 11: 'C = [0.1, 1'. See "
        "https://toml.io for the syntax.",
    )
    path = study_file(
        GOOD.replace("C = [0.1, 1]", "C = [0.1, 1\n\n# gamma\ngamma = [1]")
    )
    check_error(
        hpsearch,
        path,
        "study.toml must be valid TOML; it is not: Unclosed array (at line 14, "
        "column 1). The problem starts at line 11: 'C = [0.1, 1'. See "
        "https://toml.io for the syntax.",
    )


def test_unknown_key_suggests_the_known_one(study_file, hpsearch):
    path = study_file(GOOD.replace('kind = "grid"', 'kind = "grid"\nn_job = 2'))
    check_error(
        hpsearch,
        path,
        "study.toml, line 9: search.n_job is not a known key; got 'n_job'. "
        "Did you mean 'n_jobs'? Keys allowed in [search]: kind, space, scoring, "
        "refit, n_jobs, backend, error_score, return_train_score, n_iter, "
        "random_state, factor, resource, max_resources, min_resources, "
        "aggressive_elimination, n_candidates, brackets, continue_training, "
        "sampler, n_initial, fit_timeout, storage_retry.",
    )


def test_missing_estimator_table(study_file, hpsearch):
    path = study_file(GOOD.replace('[estimator]\nclass = "sklearn.svm.SVC"\n', ""))
    check_error(
        hpsearch,
        path,
        "study.toml: the study file must have a [estimator] table; it has none. "
        'Add one, e.g. [estimator] class = "sklearn.svm.SVC".',
    )


def test_unknown_estimator_class_suggests_close_names(study_file, hpsearch):
    path = study_file(GOOD.replace("sklearn.svm.SVC", "sklearn.svm.SVX"))
    check_error(
        hpsearch,
        path,
        "study.toml, line 5: estimator.class must be an importable path; got "
        "'sklearn.svm.SVX', but module 'sklearn.svm' has no 'SVX'. Did you mean "
        "'SVR' or 'SVC'?",
    )


def test_unknown_estimator_module(study_file, hpsearch):
    path = study_file(GOOD.replace("sklearn.svm.SVC", "sklearn.svn.SVC"))
    check_error(
        hpsearch,
        path,
        "study.toml, line 5: estimator.class must be an importable path; got "
        "'sklearn.svn.SVC', but module 'sklearn.svn' cannot be imported (No module "
        "named 'sklearn.svn'). Is it installed?",
    )


def test_estimator_path_that_is_not_an_estimator(study_file, hpsearch):
    path = study_file(GOOD.replace("sklearn.svm.SVC", "pathlib.Path"))
    check_error(
        hpsearch,
        path,
        "study.toml, line 5: estimator.class must name a scikit-learn-compatible "
        "estimator class (with get_params and set_params); got 'pathlib.Path'.",
    )


def test_unknown_fixed_parameter(study_file, hpsearch):
    path = study_file(GOOD.replace('SVC"', 'SVC"\nparams = { kernal = "rbf" }'))
    check_error(
        hpsearch,
        path,
        "study.toml, line 6: estimator.params.kernal must be a parameter of SVC; "
        "got 'kernal'. Did you mean 'kernel'? Valid parameters: C, break_ties, "
        "cache_size, class_weight, coef0, decision_function_shape, degree, gamma, "
        "kernel, max_iter, probability, random_state, shrinking, tol, verbose.",
    )


def test_illegal_fixed_value(study_file, hpsearch):
    path = study_file(GOOD.replace('SVC"', 'SVC"\n[estimator.params]\ndegree = 2.5'))
    check_error(
        hpsearch,
        path,
        "study.toml, line 7: estimator.params.degree holds values that SVC does "
        "not accept: 2.5 (float). The 'degree' parameter of SVC must be an int in "
        "the range [0, inf).",
    )


def test_unknown_space_parameter_comes_from_the_api_with_its_line(study_file, hpsearch):
    path = study_file(GOOD + "gama = [0.1]\n")
    check_error(
        hpsearch,
        path,
        "study.toml, line 12: search.space names 'gama', which is not a parameter "
        "of SVC. Did you mean 'gamma'? Valid parameters are: C, break_ties, "
        "cache_size, class_weight, coef0, decision_function_shape, degree, gamma, "
        "kernel, max_iter, probability, random_state, shrinking, tol, verbose.",
    )


def test_float_for_an_integer_parameter(study_file, hpsearch):
    path = study_file(
        GOOD.replace("sklearn.svm.SVC", "sklearn.tree.DecisionTreeClassifier").replace(
            "C = [0.1, 1]", 'max_depth = [3, 3.5, "None"]'
        )
    )
    check_error(
        hpsearch,
        path,
        "study.toml, line 11: search.space.max_depth holds values that "
        "DecisionTreeClassifier does not accept: 3.5 (float). The 'max_depth' "
        "parameter of DecisionTreeClassifier must be an int in the range "
        "[1, inf) or None.",
    )


def test_pipeline_step_parameter_checked_against_its_step(study_file, hpsearch):
    path = study_file(
        """
        [data]
        source = "sklearn:iris"

        [[estimator.steps]]
        name = "scale"
        class = "sklearn.preprocessing.StandardScaler"

        [[estimator.steps]]
        name = "svc"
        class = "sklearn.svm.SVC"
        params = { C = -1.0 }

        [search.space]
        svc__degree = [2, 2.5]
        """
    )
    check_error(
        hpsearch,
        path,
        "study.toml has 2 problems:\n"
        "- study.toml, line 11: estimator.steps[1].params.C holds values that SVC "
        "does not accept: -1.0 (float). The 'C' parameter of SVC must be a float "
        "in the range (0.0, inf].\n"
        "- study.toml, line 14: search.space.svc__degree holds values that SVC "
        "does not accept: 2.5 (float). The 'degree' parameter of SVC must be an "
        "int in the range [0, inf).",
    )


def test_distribution_bound_that_is_not_a_number(study_file, hpsearch):
    path = study_file(
        GOOD.replace('"grid"', '"random"').replace(
            "C = [0.1, 1]", 'C = { dist = "loguniform", low = "small", high = 1e3 }'
        )
    )
    check_error(
        hpsearch,
        path,
        "study.toml, line 11: search.space.C.low must be a number; got 'small' "
        "(string).",
    )


def test_distribution_problems(study_file, hpsearch):
    path = study_file(
        GOOD.replace('"grid"', '"random"').replace(
            "C = [0.1, 1]",
            'C = { dist = "lognormal", low = 1, high = 2 }\n'
            'gamma = { dist = "uniform", low = 2, high = 1 }\n'
            'degree = { dist = "randint", low = 1.5, high = 4 }\n'
            'tol = { dist = "loguniform", low = 0 , high = 1 }\n'
            'coef0 = { dist = "normal", mean = 0 }\n'
            'kernel = { dist = "choice", values = [] }\n'
            'shrinking = { dist = "choice", values = [true, false], p = 1 }',
        )
    )
    check_error(
        hpsearch,
        path,
        "study.toml has 7 problems:\n"
        "- study.toml, line 11: search.space.C.dist must be one of 'loguniform', "
        "'uniform', 'randint', 'normal', 'choice'; got 'lognormal' (string).\n"
        "- study.toml, line 12: search.space.gamma.high must be greater than low "
        "(2); got 1.\n"
        "- study.toml, line 13: search.space.degree.low must be an integer; got "
        "1.5 (float).\n"
        "- study.toml, line 14: search.space.tol.low must be > 0 for a "
        "loguniform; got 0.\n"
        "- study.toml, line 15: search.space.coef0 must have `std` (a number) for "
        "dist = 'normal'; it has none.\n"
        "- study.toml, line 16: search.space.kernel.values must be a non-empty "
        "array of values; got [] (array).\n"
        "- study.toml, line 17: search.space.shrinking.p is not a known key; got "
        "'p'. Keys allowed in [search.space.shrinking]: dist, values.",
    )


def test_distribution_in_a_grid(study_file, hpsearch):
    path = study_file(
        GOOD.replace("C = [0.1, 1]", 'C = { dist = "loguniform", low = 1, high = 2 }')
    )
    check_error(
        hpsearch,
        path,
        "study.toml, line 11: search.space.C must be an array of values for a grid "
        'search; got a distribution table. Use kind = "random" for distributions, '
        "or list the values.",
    )


def test_single_value_where_a_list_is_needed(study_file, hpsearch):
    path = study_file(GOOD.replace("C = [0.1, 1]", "C = 0.1"))
    check_error(
        hpsearch,
        path,
        "study.toml, line 11: search.space.C must be an array of values; got 0.1 "
        "(float). Wrap a single value in brackets: [0.1].",
    )


def test_unknown_search_kind(study_file, hpsearch):
    path = study_file(GOOD.replace('"grid"', '"tpe"'))
    check_error(
        hpsearch,
        path,
        "study.toml, line 8: search.kind must be one of 'grid', 'random', "
        "'halving_grid', 'halving_random', 'hyperband', 'bayes'; got 'tpe' (string).",
    )


def test_random_only_options_in_a_grid(study_file, hpsearch):
    path = study_file(GOOD.replace('kind = "grid"', 'kind = "grid"\nn_iter = 5'))
    check_error(
        hpsearch,
        path,
        'study.toml, line 9: search.n_iter applies to kind = "random", '
        '"hyperband" or "bayes" only; got it with kind = \'grid\'. Remove it or '
        "change the kind.",
    )


def test_n_iter_option_with_a_grid(study_file, hpsearch):
    path = study_file(GOOD)
    check_error(
        hpsearch,
        path,
        'study.toml, line 8: search.kind must be "random", "hyperband" or "bayes" '
        "for --n-iter to apply; got 'grid'.",
        "--n-iter",
        "3",
    )


def test_unknown_scorer_and_refit(study_file, hpsearch):
    path = study_file(
        GOOD.replace(
            'kind = "grid"', 'kind = "grid"\nscoring = ["acuracy"]\nrefit = "f1"'
        )
    )
    check_error(
        hpsearch,
        path,
        "study.toml has 2 problems:\n"
        "- study.toml, line 9: search.scoring must name scikit-learn scorers; got "
        "'acuracy'. Did you mean 'accuracy' or 'top_k_accuracy'? All names: "
        "sklearn.metrics.get_scorer_names().\n"
        "- study.toml, line 10: search.refit must be true, false or one of the "
        "scoring names ('acuracy'); got 'f1' (string).",
    )


def test_missing_data_file(study_file, hpsearch):
    path = study_file(
        GOOD.replace('"sklearn:iris"', '"data/train.csv"\ntarget = "label"')
    )
    check_error(
        hpsearch,
        path,
        "study.toml, line 2: data.source must be an existing file; got "
        "'data/train.csv', and data/train.csv does not exist. "
        "Paths are relative to the study file's folder.",
    )


def test_missing_target_column(study_file, hpsearch, workdir):
    (workdir / "train.csv").write_text("a,b,label\n1,2,0\n3,4,1\n")
    path = study_file(GOOD.replace('"sklearn:iris"', '"train.csv"\ntarget = "y"'))
    check_error(
        hpsearch,
        path,
        "study.toml, line 3: data.target must be a column of train.csv; got 'y'. "
        "Columns: a, b, label.",
    )


def test_file_data_needs_a_target(study_file, hpsearch, workdir):
    (workdir / "train.csv").write_text("a,b,label\n1,2,0\n3,4,1\n")
    path = study_file(GOOD.replace('"sklearn:iris"', '"train.csv"'))
    check_error(
        hpsearch,
        path,
        "study.toml, line 1: data must name the target column of the file: target "
        '= "<column>"; it names none. Columns: a, b, label.',
    )


def test_missing_group_and_feature_columns(study_file, hpsearch, workdir):
    (workdir / "train.csv").write_text("a,b,label\n1,2,0\n3,4,1\n")
    path = study_file(
        GOOD.replace(
            '"sklearn:iris"',
            '"train.csv"\ntarget = "label"\ngroups = "patient"\nfeatures = ["a", "c"]',
        )
    )
    check_error(
        hpsearch,
        path,
        "study.toml has 2 problems:\n"
        "- study.toml, line 4: data.groups must be a column of train.csv; got "
        "'patient'. Columns: a, b, label.\n"
        "- study.toml, line 5: data.features must be a column of train.csv; got "
        "'c'. Columns: a, b, label.",
    )


def test_unknown_bundled_dataset(study_file, hpsearch):
    path = study_file(GOOD.replace("sklearn:iris", "sklearn:mnist"))
    check_error(
        hpsearch,
        path,
        "study.toml, line 2: data.source must name a bundled scikit-learn dataset; "
        "got 'sklearn:mnist'. Available: sklearn:breast_cancer, sklearn:diabetes, "
        "sklearn:digits, sklearn:iris, sklearn:wine.",
    )


def test_cv_that_cannot_split_the_data(study_file, hpsearch):
    path = study_file(GOOD + "\n[cv]\nfolds = 51\n")
    check_error(
        hpsearch,
        path,
        "study.toml, line 14: cv.folds must split the data; StratifiedKFold "
        "cannot: n_splits=51 cannot be greater than the number of members in each "
        "class. Use fewer folds or other cv options.",
    )


def test_cv_options(study_file, hpsearch):
    path = study_file(
        GOOD + '\n[cv]\nfolds = 1\nstratified = "yes"\nrandom_state = 0\n'
    )
    check_error(
        hpsearch,
        path,
        "study.toml has 3 problems:\n"
        "- study.toml, line 14: cv.folds must be an integer >= 2; got 1 (integer).\n"
        "- study.toml, line 15: cv.stratified must be true or false; got 'yes' "
        "(string).\n"
        "- study.toml, line 16: cv.random_state only applies with shuffle = true; "
        "got shuffle = false. Add shuffle = true or remove random_state.",
    )


def test_group_cv_needs_a_group_column(study_file, hpsearch):
    path = study_file(GOOD + "\n[cv]\ngroup = true\n")
    check_error(
        hpsearch,
        path,
        "study.toml, line 14: cv.group needs a group column; got group = true "
        'without data.groups. Add groups = "<column>" to [data].',
    )


def test_every_problem_is_reported_at_once_in_line_order(study_file, hpsearch):
    study_file(
        """
        [data]
        source = "sklearn:iris"

        [estimator]
        class = "sklearn.svm.SVC"
        params = { C = "big" }

        [search]
        kind = "random"
        scoring = "acuracy"

        [search.space]
        gamma = { dist = "loguniform", low = "small", high = 1e3 }
        degree = [2.5, 3]
        tol = 0.1
        """
    )
    result = hpsearch("run", "study.toml", "--dry-run")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == "Error: study.toml has 5 problems:"
    assert [line.split(":")[0] for line in lines[1:]] == [
        "- study.toml, line 6",
        "- study.toml, line 10",
        "- study.toml, line 13",
        "- study.toml, line 14",
        "- study.toml, line 15",
    ]


def test_debug_shows_the_traceback(study_file, hpsearch):
    study_file(GOOD.replace("sklearn.svm.SVC", "sklearn.svm.SVX"))
    result = hpsearch("--debug", "run", "study.toml", "--dry-run")
    assert result.exit_code == 2
    assert "Traceback (most recent call last)" in result.stderr
    assert "StudyFileError" in result.stderr


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (
            '["target"]',
            "data.categorical must name feature columns; got 'target', which is the "
            "target. Remove it from categorical, or add it to features.",
        ),
        (
            '["petal_length"]',
            "data.categorical must be a column of sklearn:iris; got 'petal_length'. "
            "Did you mean 'petal length (cm)'? Columns: sepal length (cm), sepal "
            "width (cm), petal length (cm), petal width (cm), target.",
        ),
    ],
)
def test_categorical_must_name_feature_columns(study_file, hpsearch, columns, message):
    path = study_file(
        GOOD.replace(
            'source = "sklearn:iris"',
            f'source = "sklearn:iris"\ncategorical = {columns}',
        )
    )
    check_error(hpsearch, path, f"study.toml, line 3: {message}")


def test_an_estimator_that_needs_arguments_gets_them_from_params(study_file, hpsearch):
    path = study_file(
        GOOD.replace(
            'class = "sklearn.svm.SVC"',
            'class = "sklearn.compose.ColumnTransformer"',
        ).replace("C = [0.1, 1]", 'remainder = ["drop"]')
    )
    check_error(
        hpsearch,
        path,
        "study.toml, line 5: estimator.class must be constructible from its params; "
        "sklearn.compose.ColumnTransformer() raised TypeError: "
        "ColumnTransformer.__init__() missing 1 required positional argument: "
        "'transformers'. Give transformers in params.",
    )


def test_an_estimator_table_in_a_space_must_be_listed(study_file, hpsearch):
    path = study_file(GOOD.replace("C = [0.1, 1]", 'kernel = { class = "x.Y" }'))
    check_error(
        hpsearch,
        path,
        "study.toml, line 11: search.space.kernel must be an array of values; got "
        "one estimator table. Wrap it in brackets to search it: kernel = [{ class = "
        "... }], or list several to swap them.",
    )
