"""``hpsearch run --timeout``: a time budget from the command line."""

from __future__ import annotations

from hpsearch import load_study

GRID = """
study = "slow"

[data]
source = "sklearn:iris"

[estimator]
class = "slow_estimators.SlowClassifier"

[search]
kind = "grid"

[search.space]
delay = [0.1, 0.1001, 0.1002, 0.1003, 0.1004, 0.1005, 0.1006, 0.1007, 0.1008, 0.1009]
strategy = ["prior", "most_frequent", "stratified", "uniform", "constant"]

[cv]
folds = 3
"""


def test_timeout_stops_a_long_study_and_a_rerun_continues(
    study_file, hpsearch_subprocess, workdir
):
    # 40 candidates x 3 folds x 0.1 s: 12 s of fits, stopped after 3 s.
    study_file(GRID.replace('"uniform", "constant"', '"uniform"'))
    url = f"sqlite:///{workdir / 'hpsearch.db'}"
    first = hpsearch_subprocess(
        "run",
        "study.toml",
        "--timeout",
        "3s",
        "--n-jobs",
        "1",
        "--no-progress",
        cwd=workdir,
    )
    assert first.returncode == 0, first.stderr
    assert "timeout=3.0 expired:" in first.stderr
    assert "Run the search again to continue with a fresh budget." in first.stderr
    done = load_study(url, "slow").progress.done
    assert 0 < done < 40 * 3
    second = hpsearch_subprocess(
        "run",
        "study.toml",
        "--timeout",
        "3s",
        "--n-jobs",
        "1",
        "--no-progress",
        cwd=workdir,
    )
    assert second.returncode == 0, second.stderr
    assert load_study(url, "slow").progress.done > done


def test_a_bad_timeout_is_refused(study_file, hpsearch, workdir):
    study_file(GRID)
    result = hpsearch("run", "study.toml", "--timeout", "ten minutes")
    assert result.exit_code == 2
    assert (
        "a duration must be seconds or a number with h, m or s (90, 90s, 10m, 2h, "
        "1h30m); got 'ten minutes'." in result.output
    )
    assert not (workdir / "hpsearch.db").exists()


def test_timeout_running_is_passed_to_the_search_and_checked(study_file, hpsearch):
    from hpsearch.cli._schema import Overrides
    from hpsearch.cli._studyfile import load_study_file

    study_file(GRID)
    plan = load_study_file(
        "study.toml", Overrides(timeout=60, timeout_running="cancel"), progress=False
    )
    assert plan.search.timeout_running == "cancel"
    assert plan.search.timeout == 60
    result = hpsearch("run", "study.toml", "--timeout-running", "kill")
    assert result.exit_code == 2
    assert "'kill' is not one of 'finish', 'cancel'." in result.output
