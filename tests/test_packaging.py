"""What a user installs: the wheel's contents and metadata, the README's quick
start run as written, the version written once, shell completion."""

from __future__ import annotations

import email
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import hpsearch

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).parents[1]


@pytest.mark.slow
def test_the_wheel_ships_py_typed_and_full_metadata(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path, ROOT],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("hpsearch-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = email.message_from_bytes(
            archive.read(f"hpsearch-{hpsearch.__version__}.dist-info/METADATA")
        )
    assert "hpsearch/py.typed" in names
    assert metadata["Version"] == hpsearch.__version__
    classifiers = metadata.get_all("Classifier")
    assert "Typing :: Typed" in classifiers
    assert "Programming Language :: Python :: 3.10" in classifiers
    urls = dict(u.split(", ", 1) for u in metadata.get_all("Project-URL"))
    assert set(urls) == {"Homepage", "Documentation", "Changelog", "Issues"}


def test_the_version_is_written_once():
    from importlib.metadata import version

    assert hpsearch.__version__ == version("hpsearch")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"]
    assert pyproject["project"]["dynamic"] == ["version"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "hpsearch._version.__version__"
    }


def readme_block(heading: str) -> str:
    """The first ```python block of the README section under ``heading``."""
    text = (ROOT / "README.md").read_text()
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


@pytest.mark.slow
def test_the_readme_quick_start_runs_as_written(tmp_path):
    code = readme_block("Quick start")
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "{'" in result.stdout  # it prints best_params_


def test_the_readme_shows_how_to_install_beside_make_demo():
    text = (ROOT / "README.md").read_text()
    quick = text.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    assert "pip install hpsearch" in quick and "make demo" in quick


def test_shell_completion_as_the_readme_documents_it(tmp_path):
    text = (ROOT / "README.md").read_text()
    assert 'eval "$(_HPSEARCH_COMPLETE=bash_source hpsearch)"' in text
    script = Path(sys.executable).with_name("hpsearch")
    for shell, marker in [("bash", "complete -o nosort"), ("zsh", "compdef")]:
        result = subprocess.run(
            [script],
            env={**os.environ, "_HPSEARCH_COMPLETE": f"{shell}_source"},
            capture_output=True,
            text=True,
            check=True,
        )
        assert marker in result.stdout
    # What the shell asks for on `hpsearch ex<TAB>`: the export command.
    result = subprocess.run(
        [script],
        env={
            **os.environ,
            "_HPSEARCH_COMPLETE": "bash_complete",
            "COMP_WORDS": "hpsearch ex",
            "COMP_CWORD": "1",
        },
        capture_output=True,
        text=True,
        check=True,
    )
    assert "plain,export" in result.stdout.split()
