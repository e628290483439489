"""Issue 16 through the real command line in a subprocess: the customers CSV
(600 rows: numbers, text categories, empty cells), estimators written as
tables anywhere a value goes, wrong kinds refused up front, the data checked
before any fit, the failure report, --retry-failed and the JSON Schema."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import jsonschema
import pytest
import sklearn
from packaging.requirements import Requirement
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import get_scorer_names

import hpsearch as hp
from customers import write_customers
from hpsearch.cli._toml import tomllib

EXAMPLES = Path(__file__).parents[2] / "examples"
DOCS_SCHEMA = Path(__file__).parents[2] / "docs" / "study-file.schema.json"

DATA = """[data]
source = "customers.csv"
target = "churn"
"""
# The pipeline, written as it must be: each transformer's estimator a table.
IMPUTE_SCALE = (
    '{ class = "sklearn.pipeline.Pipeline", params = { steps = ['
    '["impute", { class = "sklearn.impute.SimpleImputer" }], '
    '["scale", { class = "sklearn.preprocessing.StandardScaler" }]] } }'
)
ONE_HOT = (
    '{ class = "sklearn.preprocessing.OneHotEncoder", '
    'params = { handle_unknown = "ignore" } }'
)
PIPELINE = f"""
[[estimator.steps]]
name = "prep"
class = "sklearn.compose.ColumnTransformer"
[estimator.steps.params]
transformers = [
  ["num", {IMPUTE_SCALE}, ["age", "income"]],
  ["cat", {ONE_HOT}, ["city", "plan"]],
]

[[estimator.steps]]
name = "clf"
class = "sklearn.linear_model.LogisticRegression"
"""


@pytest.fixture
def customers(workdir: Path) -> Path:
    return write_customers(workdir / "customers.csv")


def write(workdir: Path, text: str, name: str = "study.toml") -> Path:
    path = workdir / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_dry_run_shows_column_kinds_and_missing_values(
    customers, workdir, hpsearch, hpsearch_subprocess
):
    write(workdir, DATA + PIPELINE + "[search.space]\nclf__C = [0.1, 1.0]\n")
    done = hpsearch_subprocess("run", "study.toml", "--dry-run", cwd=workdir)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert (
        "  data       customers.csv: 600 samples, 4 features (2 number, 2 category; "
        "2 with missing values)"
    ) in lines
    assert "             age     number" in lines
    assert "             income  number    24 missing" in lines
    assert "             city    category  5 values" in lines
    assert "             plan    category  3 values, 50 missing" in lines
    assert not (workdir / "hpsearch.db").exists()
    dry = hpsearch("run", "study.toml", "--dry-run", "--json")  # in this process
    columns = json.loads(dry.stdout)["data"]["columns"]
    assert [(c["name"], c["kind"], c["missing"]) for c in columns] == [
        ("age", "number", 0),
        ("income", "number", 24),
        ("city", "category", 0),
        ("plan", "category", 50),
    ]


def test_text_columns_for_gradient_boosting_are_refused_before_any_fit(
    customers, workdir, hpsearch, hpsearch_subprocess
):
    study = DATA + (
        '[estimator]\nclass = "sklearn.ensemble.HistGradientBoostingClassifier"\n'
        "params = { max_iter = 10 }\n"
        "[search.space]\nlearning_rate = [0.1]\n[cv]\nfolds = 2\n"
    )
    write(workdir, study)
    done = hpsearch_subprocess("run", "study.toml", cwd=workdir)
    assert done.returncode == 2
    assert done.stderr == (
        "Error: study.toml, line 1: data columns city, plan must be numbers for "
        "HistGradientBoostingClassifier, which takes no text categories "
        "(scikit-learn's tags: categorical and string are False); got text "
        'categories. List them in [data] categorical = ["city", "plan"]: '
        "HistGradientBoostingClassifier takes pandas category columns natively. Or "
        "encode them in the pipeline (a ColumnTransformer with a OneHotEncoder on "
        "them).\n"
    )
    assert "Traceback" not in done.stderr
    assert not (workdir / "hpsearch.db").exists()  # nothing fitted or stored
    # The fix it names: native categories, as pandas category dtype.
    write(workdir, study.replace('target = "churn"', TARGET_AND_CATEGORICAL))
    done = hpsearch("run", "study.toml", "--no-progress")
    assert done.exit_code == 0, done.output
    assert "city category (5 values, category dtype)" in done.stdout
    study_ = hp.load_study("sqlite:///hpsearch.db", "study")
    assert (study_.status, study_.progress.done, study_.progress.failed) == (
        "finished",
        2,
        0,
    )


TARGET_AND_CATEGORICAL = 'target = "churn"\ncategorical = ["city", "plan"]'


def test_missing_values_for_an_estimator_without_nan_support_are_refused(
    customers, workdir, hpsearch_subprocess
):
    study = DATA.replace(
        'target = "churn"', 'target = "churn"\nfeatures = ["age", "income"]'
    )
    study += (
        '[estimator]\nclass = "sklearn.linear_model.LogisticRegression"\n'
        "[search.space]\nC = [0.1, 1.0]\n"
    )
    write(workdir, study)
    done = hpsearch_subprocess("run", "study.toml", cwd=workdir)
    assert done.returncode == 2
    assert done.stderr.startswith(
        "Error: study.toml, line 1: data column income must have no missing values "
        "for LogisticRegression, which does not take them (scikit-learn's tags: "
        "allow_nan is False); got 24 empty cells. Add an imputer step before it"
    )


def test_a_column_transformer_pipeline_runs_and_reads_back_readably(
    customers, workdir, hpsearch, hpsearch_subprocess
):
    space = (
        "[search.space]\n"
        "prep__num__scale__with_mean = [true, false]\n"  # nested names are checked
        'prep__cat = [{ class = "sklearn.preprocessing.OneHotEncoder", params = '
        '{ handle_unknown = "ignore" } }, "drop"]\n'
        "[cv]\nfolds = 2\n"
    )
    write(workdir, DATA + PIPELINE + space)
    done = hpsearch_subprocess("run", "study.toml", "--no-progress", cwd=workdir)
    assert done.returncode == 0, done.stderr
    assert "OneHotEncoder(handle_unknown='ignore')" in done.stdout
    shown = hpsearch("show", "study")
    text = " ".join(shown.stdout.split())  # long lines wrap at 160 columns
    assert (
        "estimator Pipeline(prep=ColumnTransformer(transformers=[['num', "
        "Pipeline(impute=SimpleImputer(), scale=StandardScaler()), ['age', "
        "'income']], ['cat', OneHotEncoder(handle_unknown='ignore'), ['city', "
        "'plan']]]), clf=LogisticRegression()) "
    ) in text
    assert (
        "space prep__cat=[OneHotEncoder(handle_unknown='ignore'), 'drop'], "
        "prep__num__scale__with_mean=[True, False] "
    ) in text
    exported = hpsearch("export", "study", "-o", "-", "--format", "json")
    rows = json.loads(exported.stdout)
    assert sorted(r["prep__cat"] for r in rows) == [
        "OneHotEncoder(handle_unknown='ignore')",
        "OneHotEncoder(handle_unknown='ignore')",
        "drop",
        "drop",
    ]


def test_swapped_final_steps_run_and_wrong_kinds_are_refused_up_front(
    customers, workdir, hpsearch, hpsearch_subprocess
):
    swap = (
        "[search.space]\n"
        'clf = [{ class = "sklearn.svm.SVC" }, '
        '{ class = "sklearn.linear_model.LogisticRegression", params = { C = 0.5 } }]\n'
        "[cv]\nfolds = 2\n"
    )
    write(workdir, DATA + PIPELINE + swap)
    done = hpsearch("run", "study.toml", "--no-progress")
    assert done.exit_code == 0, done.output
    assert "Best parameters: clf=" in done.stdout
    # A name where an estimator belongs, and an estimator table with a typo.
    wrong = swap.replace('{ class = "sklearn.svm.SVC" }', '"sklearn.svm.SVC"')
    write(workdir, DATA + PIPELINE + wrong, "wrong.toml")
    done = hpsearch_subprocess("run", "wrong.toml", cwd=workdir)
    assert done.returncode == 2
    assert done.stderr == (
        "Error: wrong.toml, line 18: search.space.clf must hold values that can be "
        "Pipeline's step 'clf': an estimator (an object with fit) or 'passthrough' "
        "or None; got 'sklearn.svm.SVC' (str). Write the estimator as a table: "
        '{ class = "sklearn.svm.SVC" }.\n'
    )
    typo = swap.replace("params = { C", "parms = { C")
    write(workdir, DATA + PIPELINE + typo, "typo.toml")
    done = hpsearch("run", "typo.toml")
    assert done.exit_code == 2
    assert done.stderr.startswith(
        "Error: typo.toml, line 18: search.space.clf[1].parms is not a known key; "
        "got 'parms'. Did you mean 'params'? Keys allowed in [search.space.clf[1]]: "
        "class, params."
    )
    assert hp.load_study("sqlite:///hpsearch.db", "study").progress.done == 4
    assert [s.name for s in hp.list_studies("sqlite:///hpsearch.db")] == ["study"]


# Two of three candidates fail in fit, on every supported scikit-learn: only
# liblinear takes dual=True.
FAILING = PIPELINE + (
    "[[search.space]]\n"
    "clf__dual = [false, true]\n"
    "[[search.space]]\n"
    'clf__solver = ["newton-cg"]\n'
    "clf__dual = [true]\n"
    "[cv]\nfolds = 2\n"
)


def fit_error(**params) -> str:
    """The installed scikit-learn's error for a LogisticRegression's params."""
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError) as info:
        LogisticRegression(**params).fit(X, y)
    return f"ValueError: {str(info.value).splitlines()[-1]}"


def test_when_most_fits_fail_a_short_report_and_exit_2(
    customers, workdir, hpsearch_subprocess
):
    write(workdir, DATA + FAILING)
    done = hpsearch_subprocess("run", "study.toml", "--no-progress", cwd=workdir)
    assert done.returncode == 2
    report = done.stderr.splitlines()
    assert (
        report[0] == "4 of 6 fits failed (2 of 3 candidates), with 2 distinct errors:"
    )
    assert report[1] == f"- {fit_error(dual=True)}"
    assert report[2] == "  2 fits, candidate: clf__dual=True"
    assert report[3] == (
        '  Hint: Only solver = "liblinear" takes dual = true. Search dual with that '
        "solver (several [[search.space]] tables), or leave dual false."
    )
    assert report[4] == f"- {fit_error(dual=True, solver='newton-cg')}"
    assert report[5] == "  2 fits, candidate: clf__dual=True, clf__solver='newton-cg'"
    assert "Traceback (most recent call last)" not in done.stderr
    assert report[-2] == (
        "Study 'study' failed: most of its fits did. Once the cause is fixed outside "
        "the study file (a package, memory, your own code), run the failed fits "
        "again with:"
    )
    assert "Best parameters: clf__dual=False" in done.stdout  # the one that ran
    [summary] = hp.list_studies("sqlite:///hpsearch.db")
    assert (summary.status, summary.failed, summary.done) == ("failed", 4, 6)
    # --debug adds the tracebacks; the stored fits are not run again.
    debug = hpsearch_subprocess(
        "--debug", "run", "study.toml", "--no-progress", cwd=workdir
    )
    assert debug.returncode == 2
    assert (
        "Resuming: 6 fits are already stored, 4 of them failed (kept;" in debug.stdout
    )
    assert debug.stderr.count("Traceback (most recent call last):") == 2


@pytest.mark.parametrize(
    ("error", "hint"),
    [
        (
            "ValueError: Solver lbfgs supports only 'l2' or None penalties, got "
            "elasticnet penalty.",
            "This solver does not support this penalty.",
        ),
        (
            "ValueError: Solver newton-cg supports only dual=False, got dual=True",
            'Only solver = "liblinear" takes dual = true.',
        ),
    ],
)
def test_solver_errors_get_the_hint_for_what_the_solver_refused(error, hint):
    from hpsearch.cli._failures import hint_for

    assert (hint_for(error) or "").startswith(hint)


def test_retry_failed_reruns_the_stored_failed_fits(
    workdir, hpsearch, hpsearch_subprocess
):
    study = (
        '[data]\nsource = "sklearn:iris"\n'
        '[estimator]\nclass = "slow_estimators.SwitchedClassifier"\n'
        '[search.space]\nstrategy = ["prior", "most_frequent"]\n[cv]\nfolds = 2\n'
    )
    write(workdir, study)
    (workdir / "BROKEN").touch()
    done = hpsearch_subprocess("run", "study.toml", "--no-progress", cwd=workdir)
    assert done.returncode == 2
    assert done.stderr.splitlines()[:3] == [
        "4 of 4 fits failed (2 of 2 candidates), with 1 distinct error:",
        "- RuntimeError: the BROKEN file says the service is down",
        "  4 fits, candidates: strategy='prior'; strategy='most_frequent'",
    ]
    assert done.stderr.splitlines()[-1].endswith("--study study --retry-failed")
    assert hp.load_study("sqlite:///hpsearch.db", "study").status == "failed"
    (workdir / "BROKEN").unlink()  # the cause is fixed
    kept = hpsearch("run", "study.toml", "--no-progress")
    assert kept.exit_code == 2  # by default the failures are kept
    assert (
        "Resuming: 4 fits are already stored, 4 of them failed (kept; "
        "--retry-failed runs them again); only the rest will run."
    ) in kept.stdout
    retried = hpsearch_subprocess(
        "run", "study.toml", "--no-progress", "--retry-failed", cwd=workdir
    )
    assert retried.returncode == 0, retried.stderr
    assert (
        "Resuming: 4 fits are already stored; the 4 failed ones run again "
        "(--retry-failed) with the rest."
    ) in retried.stdout
    loaded = hp.load_study("sqlite:///hpsearch.db", "study")
    assert (loaded.status, loaded.progress.done, loaded.progress.failed) == (
        "finished",
        4,
        0,
    )


def test_the_json_schema_comes_from_the_checks_and_flags_what_they_flag(
    workdir, hpsearch, hpsearch_subprocess
):
    done = hpsearch_subprocess("schema", cwd=workdir)
    assert done.returncode == 0, done.stderr
    schema = json.loads(done.stdout)
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)

    for path in sorted(EXAMPLES.glob("*.toml")):
        errors = list(validator.iter_errors(tomllib.loads(path.read_text())))
        assert errors == [], (path, errors)
    # Scorer names are the installed scikit-learn's.
    scorers = sorted(get_scorer_names())
    for path in SCORER_ENUMS:
        assert _at(schema, path)["enum"] == scorers
    # The copy in docs/ that editors point at is the one the command writes
    # with the newest supported scikit-learn; an older release differs only
    # in its scorer names.
    docs = json.loads(DOCS_SCHEMA.read_text())
    if not newest_supported_sklearn():
        for path in SCORER_ENUMS:
            _at(docs, path)["enum"] = scorers
    assert docs == schema
    bad = (
        '[data]\nsource = "sklearn:iris"\n[estimator]\nclass = "sklearn.svm.SVC"\n'
        '[search.space]\nC = [1]\n[cv]\nfold = 3\nshuffle = "yes"\n'
    )
    write(workdir, bad)
    errors = sorted(e.message for e in validator.iter_errors(tomllib.loads(bad)))
    assert errors == [
        "'yes' is not of type 'boolean'",
        "Additional properties are not allowed ('fold' was unexpected)",
    ]
    assert checked_by_hpsearch(hpsearch) == [
        "study.toml, line 8: cv.fold is not a known key; got 'fold'. Did you mean "
        "'folds'? Keys allowed in [cv]: folds, shuffle, random_state, stratified, "
        "group.",
        "study.toml, line 9: cv.shuffle must be true or false; got 'yes' (string).",
    ]


# Where the schema lists scikit-learn's scorer names.
SCORER_ENUMS = [
    ("properties", "search", "properties", "scoring", "anyOf", 0),
    ("properties", "search", "properties", "scoring", "anyOf", 1, "items"),
    ("properties", "search", "properties", "refit", "anyOf", 1),
]


def _at(schema, path):
    for key in path:
        schema = schema[key]
    return schema


def newest_supported_sklearn() -> bool:
    """Whether the installed scikit-learn is the newest minor release that
    hpsearch's requirement admits (the next minor release is not)."""
    [spec] = [
        Requirement(r).specifier
        for r in importlib.metadata.requires("hpsearch") or []
        if Requirement(r).name == "scikit-learn"
    ]
    major, minor = (int(p) for p in sklearn.__version__.split(".")[:2])
    return not spec.contains(f"{major}.{minor + 1}")


def checked_by_hpsearch(hpsearch) -> list[str]:
    result = hpsearch("run", "study.toml", "--dry-run")
    assert result.exit_code == 2
    return [line.removeprefix("- ") for line in result.stderr.splitlines()[1:]]
