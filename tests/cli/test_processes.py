"""The real ``hpsearch`` command in subprocesses: kills, Ctrl-C, resume."""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

import hpsearch as hp

HOLD_AFTER = "HPSEARCH_TEST_HOLD_AFTER"  # read by slow_estimators.SlowClassifier

SLOW = """
[data]
source = "sklearn:iris"

[estimator]
class = "slow_estimators.SlowClassifier"

[search]
kind = "grid"

[search.space]
strategy = ["prior", "most_frequent"]
delay = [0.1, 0.12]
"""  # 4 candidates x 5 folds = 20 fits of about 0.1 s


@pytest.fixture
def slow_study(tmp_path: Path) -> Path:
    path = tmp_path / "slow.toml"
    path.write_text(textwrap.dedent(SLOW).lstrip())
    return path


def stored_fits(folder: Path) -> int:
    if not (folder / "runs.db").exists():
        return 0
    studies = hp.list_studies(f"sqlite:///{folder / 'runs.db'}")
    return studies[0].done if studies else 0


def wait_for_fits(folder: Path, process: subprocess.Popen, n: int) -> int:
    """Wait until ``n`` fits are stored (pytest's timeout catches a hang)."""
    while True:
        assert process.poll() is None, process.communicate()
        done = stored_fits(folder)
        if done >= n:
            return done
        time.sleep(0.05)


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "hpsearch"
    result = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout == f"hpsearch, version {hp.__version__}\n"


def test_run_and_show_in_real_processes(tmp_path, hpsearch_subprocess):
    (tmp_path / "iris.toml").write_text(
        '[data]\nsource = "sklearn:iris"\n[estimator]\nclass = "sklearn.svm.SVC"\n'
        "[search.space]\nC = [1, 10]\n"
    )
    run = hpsearch_subprocess("run", "iris.toml", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "Best parameters: C=" in run.stdout
    assert "10/10 fits" in run.stderr  # the progress bar, forced on
    shown = hpsearch_subprocess("show", "iris", "--json", cwd=tmp_path)
    assert json.loads(shown.stdout)["progress"]["done"] == 10
    missing = hpsearch_subprocess("show", "nope", cwd=tmp_path)
    assert missing.returncode == 2
    assert missing.stderr == (
        "Error: study must name a study stored in sqlite:///hpsearch.db; got "
        "'nope'. Stored studies: 'iris'.\n"
    )


def test_resume_after_sigkill_completes_without_recomputing(
    slow_study, hpsearch_process, hpsearch_subprocess, monkeypatch
):
    folder = slow_study.parent
    args = ("run", "slow.toml", "--storage", "sqlite:///runs.db", "--no-progress")
    monkeypatch.setenv(HOLD_AFTER, "5")  # the 6th fit waits for the signal
    process = hpsearch_process(*args, cwd=folder)
    monkeypatch.delenv(HOLD_AFTER)
    wait_for_fits(folder, process, 5)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL
    kept = stored_fits(folder)
    assert 5 <= kept < 20

    resumed = hpsearch_subprocess(*args, cwd=folder)
    assert resumed.returncode == 0, resumed.stderr
    assert f"Resuming: {kept} fits are already stored" in resumed.stdout
    study = hp.load_study(f"sqlite:///{folder / 'runs.db'}", "slow")
    assert (study.progress.done, study.progress.total) == (20, 20)
    assert study.status == "finished"
    # Only the missing fits ran: every stored result is there once.
    assert len(study.results_) == 4
    assert list(study.results_["mean_test_score"]) == pytest.approx([1 / 3] * 4)


@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)]
)
def test_interrupt_keeps_work_and_prints_the_resume_command(
    slow_study,
    hpsearch,
    hpsearch_process,
    hpsearch_subprocess,
    signum,
    code,
    monkeypatch,
):
    folder = slow_study.parent
    monkeypatch.setenv(HOLD_AFTER, "3")  # the 4th fit waits for the signal
    process = hpsearch_process(
        "run",
        "slow.toml",
        "--storage",
        "sqlite:///runs.db",
        "--no-progress",
        cwd=folder,
    )
    monkeypatch.delenv(HOLD_AFTER)
    wait_for_fits(folder, process, 3)
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    assert process.returncode == code, err
    assert "Traceback" not in err
    hint = (
        "Interrupted. Finished fits are kept in sqlite:///runs.db (study 'slow'). "
        "Resume with:\n  hpsearch run slow.toml --storage sqlite:///runs.db "
        "--study slow\n"
    )
    assert hint in err
    assert "To resume, run the same search again" not in err  # one hint, not two
    kept = stored_fits(folder)
    assert kept >= 3
    storage = f"sqlite:///{folder / 'runs.db'}"
    shown = hpsearch("show", "slow", "--storage", storage)
    assert shown.exit_code == 0
    assert f"Study slow in {storage}: interrupted, {kept}/20 fits done" in shown.stdout
    listed = hpsearch("studies", "--storage", storage, "--json")
    assert json.loads(listed.stdout)[0]["status"] == "interrupted"

    command = err.split("Resume with:\n  ")[1].splitlines()[0]
    words = shlex.split(command)
    assert words[:2] == ["hpsearch", "run"]
    resumed = hpsearch_subprocess(*words[1:], "--no-progress", cwd=folder)
    assert resumed.returncode == 0, resumed.stderr
    assert f"Resuming: {kept} fits are already stored" in resumed.stdout
    assert stored_fits(folder) == 20


SHARED = """
[data]
source = "sklearn:iris"

[estimator]
class = "slow_estimators.LoggedSlowClassifier"

[search]
kind = "grid"
n_jobs = 1

[search.space]
strategy = ["prior", "most_frequent", "uniform", "stratified"]
delay = [0.05, 0.06, 0.07]

[cv]
folds = 3
"""  # 12 candidates x 3 folds = 36 fits


@pytest.mark.slow
def test_hpsearch_run_in_two_processes_fits_each_task_once_and_all_agree(
    tmp_path: Path, hpsearch_process
):
    study = tmp_path / "shared.toml"
    study.write_text(textwrap.dedent(SHARED).lstrip())
    command = ("run", str(study), "--storage", "sqlite:///runs.db", "--json")
    processes = [hpsearch_process(*command, cwd=tmp_path) for _ in range(2)]
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        outputs.append(json.loads(out))
    lines = [line.split() for line in (tmp_path / "fits.log").read_text().splitlines()]
    fits = Counter(tuple(line[:3]) for line in lines if line[3] == "100")
    # Each (candidate, fold) once: 36 distinct training parts, none twice;
    # then each process refits the best candidate on the 150 rows.
    assert len(fits) == 36 and set(fits.values()) == {1}
    assert len([line for line in lines if line[3] == "150"]) == 2
    assert outputs[1] == outputs[0]
    assert outputs[0]["n_fits"] == 36 and len(outputs[0]["results"]) == 10  # --top
    assert {s.status for s in hp.list_studies(f"sqlite:///{tmp_path / 'runs.db'}")} == {
        "finished"
    }
