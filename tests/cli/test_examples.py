"""Every study file in examples/ runs, shrunk: one job, few random candidates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import hpsearch as hp

EXAMPLES = Path(__file__).parents[2] / "examples"
STUDY_FILES = sorted(EXAMPLES.glob("*.toml"))


def test_there_are_examples_of_every_kind():
    names = {path.stem for path in STUDY_FILES}
    assert {"svc_digits", "tree_random", "pipeline_grid", "wine_csv"} <= names


@pytest.mark.parametrize("path", STUDY_FILES, ids=lambda p: p.stem)
def test_example_study_runs(path, workdir, hpsearch):
    text = path.read_text()
    random = 'kind = "random"' in text or 'kind = "bayes"' in text
    shrink = ["--n-iter", "3"] if random else []
    dry = hpsearch("run", str(path), "--dry-run", "--json", *shrink)
    assert dry.exit_code == 0, dry.output
    plan = json.loads(dry.stdout)
    args = ["--storage", "sqlite:///examples.db", "--n-jobs", "1", "--no-progress"]
    result = hpsearch("run", str(path), *args, *shrink)
    assert result.exit_code == 0, result.output
    assert "Best parameters: " in result.stdout
    study = hp.load_study("sqlite:///examples.db", plan["study"])
    assert study.status == "finished"
    assert study.progress.done == plan["n_fits"]
