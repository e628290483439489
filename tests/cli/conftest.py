"""Fixtures for the command line: study files in a temporary folder, runners."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from hpsearch.cli import cli
from interrupts import default_sigint

HERE = Path(__file__).parent
EXAMPLES = HERE.parents[1] / "examples"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary current directory (the default storage lands there)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(HERE))  # slow_estimators, for study files
    monkeypatch.delenv("HPSEARCH_STORAGE", raising=False)
    return tmp_path


@pytest.fixture
def study_file(workdir: Path) -> Callable[..., Path]:
    """Write a study file (dedented) into the working folder."""

    def write(text: str, name: str = "study.toml") -> Path:
        path = workdir / name
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    return write


@pytest.fixture
def hpsearch() -> Callable[..., Result]:
    """Run the CLI in this process through Click's runner."""

    def invoke(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)

    return invoke


def start(*args: str, cwd: Path) -> subprocess.Popen[str]:
    """Start the real CLI (python -m hpsearch.cli) in a subprocess."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), *sys.path])}
    env.pop("HPSEARCH_STORAGE", None)
    return subprocess.Popen(
        [sys.executable, "-m", "hpsearch.cli", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )


@pytest.fixture
def hpsearch_process() -> Callable[..., subprocess.Popen[str]]:
    """Start the real CLI in a subprocess; the test waits for it."""
    return start


@pytest.fixture
def hpsearch_subprocess() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the real CLI in a subprocess to the end."""

    def run(
        *args: str, cwd: Path, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        process = start(*args, cwd=cwd)
        out, err = process.communicate(timeout=timeout)
        return subprocess.CompletedProcess(process.args, process.returncode, out, err)

    return run
