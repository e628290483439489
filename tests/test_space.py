"""Illegal spaces are refused before any fit, every problem in one message."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import randint, uniform
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from hpsearch import GridSearchCV, RandomizedSearchCV, SpaceError
from hpsearch._space import candidate_key

X, y = load_iris(return_X_y=True)


class CountingTree(DecisionTreeClassifier):
    """Counts fits in this process, to show nothing was fitted."""

    fits = 0

    # fit's own signature, not **kwargs: on scikit-learn 1.7 a tree whose fit
    # hides check_input breaks its metadata requests (scikit-learn's own
    # GridSearchCV raises "Trying to remove parameter check_input").
    def fit(self, X, y, sample_weight=None, check_input=True):
        type(self).fits += 1
        return super().fit(X, y, sample_weight=sample_weight, check_input=check_input)


def fit_grid(space, estimator=None, **kwargs):
    search = GridSearchCV(
        estimator or DecisionTreeClassifier(), space, progress=False, **kwargs
    )
    return search.fit(X, y)


def test_all_problems_are_reported_together_and_nothing_is_fitted():
    CountingTree.fits = 0
    with pytest.raises(SpaceError) as info:
        fit_grid(
            {"max_depth": [3, 3.5, -1], "criterion": ["gini", "foo"], "bogus": [1]},
            CountingTree(),
        )
    assert CountingTree.fits == 0
    # scikit-learn's message for the first problem, then hpsearch's explanation.
    first, explanation = str(info.value).split("\n", 1)
    assert first == (
        "The 'max_depth' parameter of CountingTree must be an int in the range "
        "[1, inf) or None. Got 3.5 instead."
    )
    assert explanation == info.value.explanation
    lines = explanation.split("\n")
    assert lines[0] == "The search space has 3 problems:"
    assert lines[1] == (
        "- param_grid['max_depth'] holds values that CountingTree does not accept: "
        "3.5 (float), -1 (int). The 'max_depth' parameter of CountingTree must be an "
        "int in the range [1, inf) or None."
    )
    # scikit-learn prints the allowed options as a set, in no fixed order.
    assert lines[2].startswith(
        "- param_grid['criterion'] holds values that CountingTree does not accept: "
        "'foo' (str). The 'criterion' parameter of CountingTree must be a str among {"
    )
    assert lines[3] == (
        "- param_grid names 'bogus', which is not a parameter of CountingTree. Valid "
        "parameters are: ccp_alpha, class_weight, criterion, max_depth, max_features, "
        "max_leaf_nodes, min_impurity_decrease, min_samples_leaf, min_samples_split, "
        "min_weight_fraction_leaf, monotonic_cst, random_state, splitter."
    )


def test_space_error_is_a_value_error_and_a_type_error():
    with pytest.raises(ValueError):
        fit_grid({"max_depth": [0]})
    with pytest.raises(TypeError):
        fit_grid({"max_depth": 3})


def test_a_misspelt_name_suggests_the_close_one():
    with pytest.raises(SpaceError, match=r"'max_depht'.*Did you mean 'max_depth'\?"):
        fit_grid({"max_depht": [3]})


def test_nested_pipeline_names_are_checked_against_their_step():
    pipe = Pipeline([("scale", StandardScaler()), ("svc", SVC())])
    with pytest.raises(SpaceError) as info:
        fit_grid(
            {
                "svc__C": [-1.0, 1.0],
                "svc__kernel": ["rbf", "nope"],
                "scale__bogus": [True],
            },
            pipe,
        )
    text = str(info.value)
    assert (
        "param_grid['svc__C'] holds values that SVC does not accept: -1.0 (float)"
        in text
    )
    assert "The 'C' parameter of SVC must be a float in the range (0.0, inf]." in text
    assert (
        "param_grid['svc__kernel'] holds values that SVC does not accept: 'nope'"
        in text
    )
    assert (
        "param_grid names 'scale__bogus', which is not a parameter of Pipeline" in text
    )


def test_steps_replaced_in_the_grid_own_their_parameters():
    pipe = Pipeline([("clf", SVC())])
    grid = [
        {"clf": [LogisticRegression()], "clf__C": [1.0, 2.0]},
        {"clf": [RandomForestClassifier()], "clf__max_depth": [2.5]},
    ]
    with pytest.raises(
        SpaceError,
        match=r"param_grid\[1\]\['clf__max_depth'\] holds "
        r"values that RandomForestClassifier does not accept: 2.5",
    ):
        fit_grid(grid, pipe)
    # penalty is a LogisticRegression parameter, not an SVC one: legal here.
    search = fit_grid(
        [{"clf": [LogisticRegression(max_iter=300)], "clf__C": [1.0]}], pipe
    )
    assert isinstance(search.best_estimator_[-1], LogisticRegression)


@pytest.mark.parametrize(
    ("space", "message"),
    [
        (
            {"max_depth": 3},
            r"^param_grid\['max_depth'\] must be a list of values; "
            r"got 3 \(int\)\. Wrap a single value in a list: \[3\]\.$",
        ),
        (
            {"max_depth": []},
            r"^param_grid\['max_depth'\] must hold at least one "
            r"value; got an empty list\.$",
        ),
        (
            [],
            r"^param_grid must not be an empty list; got \[\]\. Give at least one "
            r"dict of parameter lists, e\.g\. \{'C': \[1, 10\]\}\.$",
        ),
        (
            (["max_depth"]),
            r"^param_grid must be a dict or a list of dicts; got "
            r"\['max_depth'\] \(list\)\. Example: \{'C': \[0\.1, 1, 10\]\}\.$",
        ),
        (
            {"max_depth": randint(1, 5)},
            r"^param_grid\['max_depth'\] must be a list of "
            r"values; got a distribution \(rv_discrete_frozen\)\. Distributions belong "
            r"in RandomizedSearchCV's param_distributions\.$",
        ),
        (
            {"max_depth": np.array([[1, 2]])},
            r"must be a one-dimensional list of "
            r"values; got an array of shape \(1, 2\)\.$",
        ),
    ],
)
def test_malformed_grids_are_refused_with_a_clear_message(space, message):
    with pytest.raises(SpaceError) as info:
        fit_grid(space)
    assert re.search(message, info.value.explanation)


def test_a_grid_of_the_wrong_type_is_refused_by_sklearns_own_check():
    from sklearn.utils._param_validation import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="'param_grid' parameter"):
        fit_grid("max_depth")


def test_distributions_are_checked_on_draws():
    search = RandomizedSearchCV(
        DecisionTreeClassifier(), {"max_depth": uniform(1, 5)}, progress=False
    )
    with pytest.raises(SpaceError) as info:
        search.fit(X, y)
    assert re.search(
        (
            r"^param_distributions\['max_depth'\] holds values that "
            r"DecisionTreeClassifier does not accept \(drawn from the distribution\): "
            r"[0-9.]+ \(float\), [0-9.]+ \(float\), \.\.\. \(20 of 20 draws\)\. The "
            r"'max_depth' parameter of DecisionTreeClassifier must be an int in the "
            r"range \[1, inf\) or None\.$"
        ),
        info.value.explanation,
    )


def test_checking_distributions_leaves_the_sampled_candidates_unchanged():
    from sklearn.model_selection import RandomizedSearchCV as SkRandomizedSearchCV

    space = {"max_depth": randint(1, 9), "min_samples_leaf": randint(1, 5)}
    ours = RandomizedSearchCV(
        DecisionTreeClassifier(), space, n_iter=5, random_state=3, progress=False
    ).fit(X, y)
    theirs = SkRandomizedSearchCV(
        DecisionTreeClassifier(), space, n_iter=5, random_state=3
    ).fit(X, y)
    assert ours.cv_results_["params"] == theirs.cv_results_["params"]


@pytest.mark.parametrize(
    ("space", "message"),
    [
        (
            {"max_depth": object()},
            r"^param_distributions\['max_depth'\] must be a "
            r"list of values or a distribution with an rvs method \(scipy\.stats\); "
            r"got <object object at 0x[0-9a-f]+> \(object\)\.$",
        ),
        (
            [{}],
            r"^param_distributions must name at least one parameter; got an empty "
            r"dict\.$",
        ),
        ({"max_depth": []}, r"must hold at least one value; got an empty list\.$"),
    ],
)
def test_malformed_distributions_are_refused(space, message):
    search = RandomizedSearchCV(DecisionTreeClassifier(), space, progress=False)
    with pytest.raises(SpaceError) as info:
        search.fit(X, y)
    assert re.search(message, info.value.explanation)


def test_n_iter_below_one_is_refused_as_in_sklearn():
    from sklearn.utils._param_validation import InvalidParameterError

    search = RandomizedSearchCV(
        DecisionTreeClassifier(), {"max_depth": [1]}, n_iter=0, progress=False
    )
    with pytest.raises(InvalidParameterError, match="'n_iter' parameter"):
        search.fit(X, y)


def test_repeated_values_warn_run_once_and_keep_a_row_each():
    CountingTree.fits = 0
    with pytest.warns(
        UserWarning,
        match=(
            r"^param_grid\['max_depth'\] lists 2 more than once\. Each candidate is "
            r"evaluated once; cv_results_ still has a row for every listed "
            r"combination\. Remove the repeated values to silence this warning\.$"
        ),
    ):
        search = fit_grid({"max_depth": [2, 2, 3]}, CountingTree(random_state=0), cv=3)
    assert CountingTree.fits == 2 * 3 + 1  # two distinct candidates, then the refit
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == 3 and scores[0] == scores[1]
    assert (
        search.cv_results_["rank_test_score"].tolist()[:2]
        == [search.cv_results_["rank_test_score"][0]] * 2
    )


@given(
    st.one_of(
        st.integers(),
        st.floats(allow_nan=False),
        st.booleans(),
        st.none(),
        st.text(max_size=5),
    )
)
def test_equal_settings_have_equal_keys_and_types_stay_apart(value):
    assert candidate_key({"a": value}) == candidate_key({"a": value})
    if isinstance(value, int) and not isinstance(value, bool):
        assert candidate_key(
            {"a": np.int64(value)} if abs(value) < 2**62 else {"a": value}
        ) == candidate_key({"a": value})
        assert candidate_key({"a": float(value)}) != candidate_key({"a": value})


def test_estimator_values_have_keys_by_class_and_parameters():
    assert candidate_key({"clf": SVC(C=1)}) == candidate_key({"clf": SVC(C=1)})
    assert candidate_key({"clf": SVC(C=1)}) != candidate_key({"clf": SVC(C=2)})
    assert candidate_key({"a": 1}) != candidate_key({"a": True})
    assert candidate_key({"a": (1, 2)}) != candidate_key({"a": [1, 2]})


def test_a_key_that_is_not_a_name_is_refused():
    with pytest.raises(
        SpaceError, match=r"^param_grid keys must be parameter names; got 1\.$"
    ):
        fit_grid({1: [2]})


# ---------------------------------------------------------------------------
# Wrong kinds: a value that cannot stand where it is put


def test_a_dict_where_a_pipeline_step_belongs_is_refused_before_any_fit(tmp_path):
    CountingTree.fits = 0
    pipe = Pipeline([("scale", StandardScaler()), ("clf", CountingTree())])
    storage = f"sqlite:///{tmp_path / 'runs.db'}"
    with pytest.raises(SpaceError) as info:
        fit_grid(
            {"clf": [{"class": "sklearn.svm.SVC"}, CountingTree()]},
            pipe,
            storage=storage,
            study="swap",
        )
    assert str(info.value) == (
        "param_grid['clf'] must hold values that can be Pipeline's step 'clf': an "
        "estimator (an object with fit) or 'passthrough' or None; got {'class': "
        "'sklearn.svm.SVC'} (dict). Give estimator objects, such as SVC(), not "
        "their names or dicts."
    )
    assert CountingTree.fits == 0
    assert not (tmp_path / "runs.db").exists()  # nothing stored, not even a file


def test_an_intermediate_step_must_transform():
    pipe = Pipeline([("scale", StandardScaler()), ("clf", SVC())])
    with pytest.raises(
        SpaceError,
        match=r"^param_grid\['scale'\] must hold values that can be Pipeline's step "
        r"'scale': a transformer \(an object with fit and transform\) or "
        r"'passthrough' or None; got 'sklearn.preprocessing.StandardScaler' \(str\)",
    ):
        fit_grid({"scale": ["sklearn.preprocessing.StandardScaler"]}, pipe)


def test_swapped_steps_and_passthrough_are_accepted():
    pipe = Pipeline([("scale", StandardScaler()), ("clf", SVC())])
    search = fit_grid(
        {
            "scale": ["passthrough", StandardScaler()],
            "clf": [SVC(), LogisticRegression(max_iter=500)],
        },
        pipe,
        cv=2,
    )
    assert len(search.cv_results_["params"]) == 4


def test_a_meta_estimators_estimator_must_be_an_estimator():
    from sklearn.ensemble import BaggingClassifier

    with pytest.raises(
        SpaceError,
        # scikit-learn's message first, then hpsearch's.
        match=r"^The 'estimator' parameter of BaggingClassifier must be an object "
        r"implementing 'fit' and 'predict' or None\. Got 'sklearn.svm.SVC' instead\."
        r"\nparam_grid\['estimator'\] holds values that BaggingClassifier does "
        r"not accept: 'sklearn.svm.SVC' \(str\)\. The 'estimator' parameter of "
        r"BaggingClassifier must be an object implementing 'fit' and 'predict' or "
        r"None\.$",
    ):
        GridSearchCV(BaggingClassifier(), {"estimator": ["sklearn.svm.SVC"]}).fit(X, y)


def test_column_transformer_parts_are_checked_in_the_estimator_and_the_space():
    from sklearn.compose import ColumnTransformer

    bad = ColumnTransformer([("num", "sklearn.preprocessing.StandardScaler", [0])])
    with pytest.raises(
        SpaceError,
        match=r"^estimator\.steps\[0\]\[1\]\.transformers\[0\]\[1\], the "
        r"ColumnTransformer part 'num', "
        r"must be a transformer \(an object with fit and transform\) or 'drop' or "
        r"'passthrough'; got 'sklearn.preprocessing.StandardScaler' \(str\)\.",
    ):
        fit_grid({"clf__C": [1.0]}, Pipeline([("prep", bad), ("clf", SVC())]))
    good = ColumnTransformer(
        [("num", StandardScaler(), [0, 1])], remainder="passthrough"
    )
    pipe = Pipeline([("prep", good), ("clf", SVC())])
    with pytest.raises(
        SpaceError,
        match=r"^param_grid\['prep__num'\] must hold values that can be "
        r"ColumnTransformer's part 'num': a transformer",
    ):
        fit_grid({"prep__num": [{"class": "x"}]}, pipe)
    search = fit_grid({"prep__num": ["drop", "passthrough", StandardScaler()]}, pipe)
    assert list(search.results_["status"]) == ["ok", "ok", "ok"]


def test_estimators_in_the_space_have_their_own_parameters_checked():
    pipe = Pipeline([("clf", SVC())])
    with pytest.raises(
        SpaceError,
        match=r"^param_grid\['clf'\]'s SVC's C must be allowed by SVC; "
        r"got -1 \(int\)\. "
        r"The 'C' parameter of SVC must be a float in the range \(0\.0, inf\]\.$",
    ):
        fit_grid({"clf": [SVC(C=-1)]}, pipe)


def test_a_parameter_of_only_some_swapped_estimators_says_which_lack_it():
    pipe = Pipeline([("clf", SVC())])
    with pytest.raises(
        SpaceError,
        # scikit-learn's message first (set_params refuses it), then hpsearch's.
        match=r"^Invalid parameter 'max_depth' for estimator LogisticRegression\(\)"
        r"\. Valid parameters are: \[.*\]\.\n"
        r"param_grid\['clf__max_depth'\] must name a parameter of every "
        r"estimator listed for 'clf'; got 'max_depth', which LogisticRegression does "
        r"not have\. Put those estimators in a space of their own \(a list of dicts; "
        r"in a study file, \[\[search\.space\]\] tables\)\.$",
    ):
        fit_grid(
            {
                "clf": [DecisionTreeClassifier(), LogisticRegression()],
                "clf__max_depth": [2],
            },
            pipe,
        )
