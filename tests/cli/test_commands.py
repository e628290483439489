"""Every command in this process, through Click's runner, on real SQLite files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.svm import SVC

import hpsearch as hp
from hpsearch import GridSearchCV

STUDY = """
[data]
source = "sklearn:iris"

[estimator]
class = "sklearn.svm.SVC"

[search]
scoring = "accuracy"

[search.space]
C = [0.1, 1, 10]
"""
COMMANDS = ["run", "studies", "show", "export", "delete"]


def run_study(hpsearch_cli, *args: str) -> None:
    result = hpsearch_cli("run", "study.toml", "--no-progress", *args)
    assert result.exit_code == 0, result.output


def test_version(hpsearch):
    result = hpsearch("--version")
    assert result.exit_code == 0
    assert result.stdout == f"hpsearch, version {hpsearch_version()}\n"


def hpsearch_version() -> str:
    return hp.__version__


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_every_command_has_help(hpsearch, command):
    args = [command, "--help"] if command else ["--help"]
    result = hpsearch(*args)
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: ")
    if command is None:
        for name in COMMANDS:
            assert name in result.stdout
    elif command != "run":
        assert "--storage" in result.stdout


def test_dry_run_counts_candidates_and_fits_and_writes_nothing(study_file, hpsearch):
    study_file(STUDY)
    result = hpsearch("run", "study.toml", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "study.toml is valid. Nothing was fitted or written (--dry-run)." in (
        result.stdout
    )
    assert "search     grid: 3 candidates" in result.stdout
    assert "cv         5 folds (cv=5, scikit-learn's choice)" in result.stdout
    assert "fits       15" in result.stdout
    as_json = json.loads(hpsearch("run", "study.toml", "--dry-run", "--json").stdout)
    assert as_json["valid"] is True
    assert as_json["study"] == "study"
    assert as_json["storage"] == "sqlite:///hpsearch.db"
    assert (as_json["n_candidates"], as_json["n_splits"], as_json["n_fits"]) == (
        3,
        5,
        15,
    )
    columns = as_json["data"].pop("columns")
    assert as_json["data"] == {
        "source": "sklearn:iris",
        "n_samples": 150,
        "n_features": 4,
    }
    assert [(c["kind"], c["missing"]) for c in columns] == [("number", 0)] * 4
    assert not (study_file("x").parent / "hpsearch.db").exists()


def test_dry_run_counts_repeated_candidates_once(study_file, hpsearch):
    study_file(
        STUDY.replace(
            'scoring = "accuracy"', 'kind = "random"\nn_iter = 8\nrandom_state = 0'
        ).replace(
            "C = [0.1, 1, 10]",
            'C = { dist = "randint", low = 1, high = 3 }\ngamma = ["scale", 0.1]',
        )
    )
    result = hpsearch("run", "study.toml", "--dry-run", "--json")
    summary = json.loads(result.stdout)
    assert summary["n_proposed"] == 8
    assert summary["n_candidates"] == 4  # the same draws as the API's: 4 distinct
    assert summary["n_fits"] == 20
    text = hpsearch("run", "study.toml", "--dry-run").stdout
    assert "search     random: 4 candidates (8 proposed, 4 repeated)" in text


def test_run_gives_the_python_api_results_and_resumes(study_file, hpsearch, workdir):
    study_file(STUDY)
    result = hpsearch("run", "study.toml", "--no-progress")
    assert result.exit_code == 0, result.output
    X, y = load_iris(return_X_y=True, as_frame=True)
    direct = GridSearchCV(
        SVC(), {"C": [0.1, 1, 10]}, scoring="accuracy", progress=False
    )
    direct.fit(X, y)
    stored = hp.load_study("sqlite:///hpsearch.db", "study")
    np.testing.assert_array_equal(
        stored.cv_results_["mean_test_score"], direct.cv_results_["mean_test_score"]
    )
    assert stored.best_params_ == direct.best_params_
    out = result.stdout
    assert (
        "Study study in sqlite:///hpsearch.db: 3 candidates x 5 folds = 15 fits" in out
    )
    assert "Top 3 of 3 candidates" in out
    assert "accuracy (mean ± std)" in out
    assert f"Best parameters: C={direct.best_params_['C']!r}" in out
    assert f"Best mean test accuracy: {direct.best_score_:.4f}" in out
    assert "See them with:\n  hpsearch show study\n" in out

    again = hpsearch("run", "study.toml", "--no-progress")
    assert again.exit_code == 0
    assert (
        "Resuming: 15 fits are already stored; only the rest will run." in again.stdout
    )


def test_run_json_is_parseable(study_file, hpsearch):
    study_file(STUDY)
    result = hpsearch("run", "study.toml", "--no-progress", "--json", "--top", "2")
    assert result.exit_code == 0
    summary = json.loads(result.stdout)  # the human lines went to stderr
    assert summary["study"] == "study"
    stored = hp.load_study("sqlite:///hpsearch.db", "study")
    assert summary["best_params"] == stored.best_params_ == {"C": 10}
    assert summary["best_score"] == pytest.approx(stored.best_score_)
    assert [row["rank_test_score"] for row in summary["results"]] == [1, 2]
    assert "Study study in sqlite:///hpsearch.db" in result.stderr


def test_run_shows_the_progress_bar(study_file, hpsearch):
    study_file(STUDY)
    result = hpsearch("run", "study.toml")
    assert result.exit_code == 0
    assert "15/15 fits" in result.stderr
    assert "best accuracy" in result.stderr or "best score" in result.stderr


def test_storage_and_study_from_the_file_and_from_options(
    study_file, hpsearch, workdir
):
    study_file('study = "named"\nstorage = "sqlite:///file.db"\n' + STUDY)
    run_study(hpsearch)
    assert [s.name for s in hpsearch_list("sqlite:///file.db")] == ["named"]
    run_study(hpsearch, "--storage", "sqlite:///other.db", "--study", "renamed")
    assert [s.name for s in hpsearch_list("sqlite:///other.db")] == ["renamed"]
    assert not (workdir / "hpsearch.db").exists()


def hpsearch_list(storage: str) -> list:
    return hp.list_studies(storage)


def test_storage_from_the_environment_after_the_file(study_file, hpsearch, monkeypatch):
    study_file(STUDY)
    monkeypatch.setenv("HPSEARCH_STORAGE", "sqlite:///env.db")
    run_study(hpsearch)
    result = hpsearch("studies", "--json")  # reads HPSEARCH_STORAGE too
    assert [s["name"] for s in json.loads(result.stdout)] == ["study"]
    study_file('storage = "sqlite:///file.db"\n' + STUDY)
    run_study(hpsearch)  # the file's storage wins over the environment
    assert [s.name for s in hpsearch_list("sqlite:///file.db")] == ["study"]


def test_studies_lists_status_progress_and_best_score(study_file, hpsearch):
    study_file(STUDY)
    run_study(hpsearch)
    result = hpsearch("studies")
    assert result.exit_code == 0
    assert "Studies in sqlite:///hpsearch.db" in result.stdout
    best = hp.load_study("sqlite:///hpsearch.db", "study").best_score_
    row = next(line for line in result.stdout.splitlines() if "│ study " in line)
    assert "finished" in row and "15/15" in row and f"{best:.4f}" in row
    summaries = json.loads(hpsearch("studies", "--json").stdout)
    assert len(summaries) == 1
    assert summaries[0]["name"] == "study"
    assert summaries[0]["status"] == "finished"
    assert (summaries[0]["done"], summaries[0]["total"]) == (15, 15)
    assert summaries[0]["best_score"] == pytest.approx(best)
    assert summaries[0]["created_at"].endswith("+00:00")


def test_studies_of_a_missing_file_creates_nothing(hpsearch, workdir):
    result = hpsearch("studies")
    assert result.exit_code == 0
    assert result.stdout == (
        "No studies in sqlite:///hpsearch.db yet. Run one: hpsearch run STUDY.toml\n"
    )
    assert json.loads(hpsearch("studies", "--json").stdout) == []
    assert not (workdir / "hpsearch.db").exists()


def test_show_summarises_the_study(study_file, hpsearch):
    study_file(STUDY.replace("C = [0.1, 1, 10]", "C = [0.1, 1, 10, 100]"))
    run_study(hpsearch)
    result = hpsearch("show", "study", "--top", "2")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith(
        "Study study in sqlite:///hpsearch.db: finished, 20/20 fits done, 0 failed\n"
    )
    assert "  search     GridSearchCV\n" in out
    assert "  space      C=[0.1, 1, 10, 100]\n" in out
    assert "  cv         5 splits\n" in out
    assert "  scoring    accuracy (best by accuracy)\n" in out
    assert "Best parameters: C=10" in out
    assert "Top 2 of 4 candidates" in out
    assert "All 4 candidates" in hpsearch("show", "study", "--all").stdout


def test_show_json(study_file, hpsearch):
    study_file(STUDY)
    run_study(hpsearch)
    shown = json.loads(hpsearch("show", "study", "--json", "--top", "1").stdout)
    assert shown["status"] == "finished"
    assert shown["progress"] == {"done": 15, "total": 15, "failed": 0, "running": 0}
    assert shown["best_params"] == {"C": 10}
    assert shown["spec"]["search"] == "GridSearchCV"
    assert shown["n_candidates"] == 3
    assert len(shown["results"]) == 1
    assert shown["results"][0]["C"] == 10


@pytest.mark.parametrize(
    "args",
    [
        ("show", "nope"),
        ("export", "nope", "-o", "x.csv"),
        ("delete", "nope", "--yes"),
    ],
)
def test_unknown_study_exits_2_and_lists_the_studies(study_file, hpsearch, args):
    study_file(STUDY)
    run_study(hpsearch)
    result = hpsearch(*args)
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: study must name a study stored in sqlite:///hpsearch.db; got "
        "'nope'. Stored studies: 'study'.\n"
    )


def test_unknown_study_in_a_missing_file(hpsearch, workdir):
    result = hpsearch("show", "nope", "--storage", "sqlite:///none.db")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: study must name a study stored in sqlite:///none.db; got 'nope', "
        "but none.db does not exist, so it holds no study yet. Run one first: "
        "hpsearch run STUDY.toml, or give --storage.\n"
    )
    assert not (workdir / "none.db").exists()


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_export_writes_the_results(study_file, hpsearch, workdir, fmt):
    study_file(
        STUDY.replace("C = [0.1, 1, 10]", 'C = [0.1, 1]\ngamma = ["scale", 0.1]')
    )
    run_study(hpsearch)
    result = hpsearch("export", "study", "--format", fmt, "-o", f"out.{fmt}")
    assert result.exit_code == 0, result.output
    assert result.stderr == f"Wrote 4 candidates of study 'study' to out.{fmt}.\n"
    expected = hp.load_study("sqlite:///hpsearch.db", "study").results_
    if fmt == "csv":
        frame = pd.read_csv(workdir / "out.csv", index_col="candidate")
    elif fmt == "json":
        frame = pd.DataFrame(json.loads((workdir / "out.json").read_text()))
        frame = frame.set_index("candidate")
    else:
        frame = pd.read_parquet(workdir / "out.parquet")
    assert list(frame.columns) == list(expected.columns)
    np.testing.assert_allclose(frame["mean_test_score"], expected["mean_test_score"])
    assert [str(g) for g in frame["gamma"]] == [str(g) for g in expected["gamma"]]


def test_export_format_from_the_suffix_and_to_stdout(study_file, hpsearch, workdir):
    study_file(STUDY)
    run_study(hpsearch)
    assert hpsearch("export", "study", "-o", "r.json").exit_code == 0
    assert len(json.loads((workdir / "r.json").read_text())) == 3
    result = hpsearch("export", "study", "--format", "csv", "-o", "-")
    assert result.stdout.splitlines()[0].startswith("candidate,C,mean_test_score,")
    bad = hpsearch("export", "study", "--format", "parquet", "-o", "-")
    assert bad.exit_code == 2
    assert "must be a file for --format parquet; got '-'." in bad.stderr


def test_export_refuses_a_suffix_it_cannot_write(study_file, hpsearch, workdir):
    study_file(STUDY)
    run_study(hpsearch)
    bad = hpsearch("export", "study", "-o", "results.xlsx")
    assert bad.exit_code == 2
    assert (
        "must end in .csv, .json or .parquet (the format to write); got "
        "'results.xlsx', and hpsearch cannot write .xlsx files. Use "
        "-o results.csv, or name the format: --format csv."
    ) in " ".join(bad.stderr.split())
    assert not (workdir / "results.xlsx").exists()
    # Naming the format writes it whatever the suffix; no suffix means csv.
    assert hpsearch("export", "study", "--format", "csv", "-o", "r.txt").exit_code == 0
    assert (workdir / "r.txt").read_text().startswith("candidate,C,")
    assert hpsearch("export", "study", "-o", "results").exit_code == 0
    assert (workdir / "results").read_text().startswith("candidate,C,")


def test_delete_asks_first(study_file, hpsearch):
    study_file(STUDY)
    run_study(hpsearch)
    declined = hpsearch("delete", "study", input="n\n")
    assert declined.exit_code == 1
    assert (
        "Delete study 'study' (15/15 fits) from sqlite:///hpsearch.db? [y/N]: "
        in declined.output
    )
    assert [s.name for s in hpsearch_list("sqlite:///hpsearch.db")] == ["study"]
    accepted = hpsearch("delete", "study", input="y\n")
    assert accepted.exit_code == 0
    assert "Deleted study 'study' from sqlite:///hpsearch.db." in accepted.stdout
    assert hpsearch_list("sqlite:///hpsearch.db") == []


def test_delete_yes_does_not_ask(study_file, hpsearch):
    study_file(STUDY)
    run_study(hpsearch)
    result = hpsearch("delete", "study", "--yes")
    assert result.exit_code == 0
    assert result.stdout == "Deleted study 'study' from sqlite:///hpsearch.db.\n"


def test_rerun_of_a_changed_study_is_refused_with_the_ways_out(study_file, hpsearch):
    study_file(STUDY)
    run_study(hpsearch)
    study_file(STUDY.replace('SVC"', 'SVC"\nparams = { kernel = "linear" }'))
    result = hpsearch("run", "study.toml", "--no-progress")
    assert result.exit_code == 2
    assert (
        "Error: study 'study' in sqlite:///hpsearch.db must describe this search"
        in (result.stderr)
    )
    assert result.stderr.endswith(
        "From the command line: hpsearch run study.toml --study study-2, or "
        "hpsearch delete study --storage sqlite:///hpsearch.db first.\n"
    )


def test_unexpected_errors_exit_1_and_point_to_debug(study_file, hpsearch):
    # DummyClassifier(strategy="constant") without a constant fails in fit.
    study_file(
        STUDY.replace('scoring = "accuracy"', 'error_score = "raise"')
        .replace("sklearn.svm.SVC", "sklearn.dummy.DummyClassifier")
        .replace("C = [0.1, 1, 10]", 'strategy = ["constant"]')
    )
    result = hpsearch("run", "study.toml", "--no-progress")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ValueError: ")
    assert result.stderr.endswith("Rerun with --debug to see the traceback.\n")
    debug = hpsearch("--debug", "run", "study.toml", "--no-progress")
    assert "Traceback (most recent call last)" in debug.stderr


def test_show_prints_estimators_distributions_and_none_like_python(
    study_file, hpsearch
):
    study_file(
        """
        [data]
        source = "sklearn:iris"
        [[estimator.steps]]
        name = "scale"
        class = "sklearn.preprocessing.StandardScaler"
        [[estimator.steps]]
        name = "tree"
        class = "sklearn.tree.DecisionTreeClassifier"
        params = { random_state = 0 }
        [search]
        kind = "random"
        n_iter = 3
        random_state = 0
        [search.space]
        tree__max_depth = ["None"]
        tree__min_samples_leaf = { dist = "randint", low = 1, high = 4 }
        """
    )
    run_study(hpsearch)
    out = hpsearch("show", "study").stdout
    assert (
        "  estimator  Pipeline(scale=StandardScaler(), "
        "tree=DecisionTreeClassifier(random_state=0))\n" in out
    )
    assert (
        "  space      tree__max_depth=[None], "
        "tree__min_samples_leaf=randint(1, 4)\n" in out
    )
    rows = [line for line in out.splitlines() if line.startswith("│")]
    assert len(rows) == 3
    assert all(row.split("│")[2].strip() == "None" for row in rows)


def test_storage_passwords_are_not_printed(study_file, hpsearch):
    study_file(STUDY)
    url = "postgresql://me:secret@db.example.org/studies"
    result = hpsearch("run", "study.toml", "--dry-run", "--storage", url)
    assert result.exit_code == 0
    assert "study in postgresql://me:***@db.example.org/studies" in result.stdout
    assert "secret" not in result.output
    as_json = hpsearch("run", "study.toml", "--dry-run", "--json", "--storage", url)
    assert json.loads(as_json.stdout)["storage"] == (
        "postgresql://me:***@db.example.org/studies"
    )


def test_show_a_study_written_by_the_python_api(hpsearch, workdir):
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_iris(return_X_y=True)
    pipe = Pipeline([("scale", StandardScaler()), ("clf", SVC())])
    space = [
        {"clf": [SVC(C=2), KNeighborsClassifier()]},
        {"scale": ["passthrough"], "clf": [SVC()]},
    ]
    GridSearchCV(pipe, space, storage="api.db", study="api", progress=False).fit(X, y)
    result = hpsearch("show", "api", "--storage", "api.db")
    assert result.exit_code == 0, result.output
    assert (
        "  space      clf=[SVC(C=2), KNeighborsClassifier()] | clf=[SVC()], "
        "scale=['passthrough']\n" in result.stdout
    )
    assert "│ SVC(C=2) " in result.stdout
    exported = hpsearch("export", "api", "--storage", "api.db", "-o", "api.parquet")
    assert exported.exit_code == 0
    frame = pd.read_parquet(workdir / "api.parquet")
    assert list(frame["clf"]) == ["SVC(C=2)", "KNeighborsClassifier()", "SVC()"]
