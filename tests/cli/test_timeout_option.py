"""``hpsearch run --timeout``: a time budget from the command line."""

from __future__ import annotations

import pytest

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


FIT_TIMEOUT = """
study = "hangs"

[data]
source = "sklearn:iris"

[estimator]
class = "slow_estimators.SlowClassifier"

[search]
kind = "grid"
fit_timeout = 1
storage_retry = 30

[search.space]
delay = [0.0, 0.01, 600.0]

[cv]
folds = 2
"""


def test_fit_timeout_and_storage_retry_in_a_study_file_reach_the_search(study_file):
    from hpsearch.cli import load_study_file
    from hpsearch.cli._schema import Overrides

    path = study_file(FIT_TIMEOUT)
    plan = load_study_file(path.name)
    assert plan.search.fit_timeout == 1
    assert plan.search.storage_retry == 30
    plan = load_study_file(path.name, Overrides(fit_timeout=5.0))
    assert plan.search.fit_timeout == 5.0  # --fit-timeout replaces the file's


@pytest.mark.slow
def test_fits_past_fit_timeout_are_stopped_and_reported_as_failed(
    study_file, hpsearch_subprocess, workdir
):
    # Two fits sleep ten minutes; the limit is one second.
    study_file(FIT_TIMEOUT)
    run = hpsearch_subprocess("run", "study.toml", "--no-progress", cwd=workdir)
    assert "timed out after 1 s" in run.stdout + run.stderr
    study = load_study(f"sqlite:///{workdir / 'hpsearch.db'}", "hangs")
    assert study.progress.done == study.progress.total == 3 * 2
    assert study.progress.failed == 2
    hangs = [t for t in study.trials if t.candidate.params["delay"] == 600.0]
    assert [f.error.split(" (")[0] for f in hangs[0].folds] == [
        "timed out after 1 s"
    ] * 2
