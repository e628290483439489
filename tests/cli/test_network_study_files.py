"""Study files that name networks and boosted trees by import path."""

from __future__ import annotations

import sys
import textwrap

import pytest

from hpsearch import MissingExtraError
from hpsearch._extras import require
from hpsearch.cli import StudyFileError, load_study_file

NET_MODULE = """
import numpy as np
from skorch import NeuralNetClassifier
from torch import nn


class Tiny(nn.Module):
    def __init__(self, hidden=4):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(4, hidden), nn.Linear(hidden, 3))

    def forward(self, X):
        return self.layers(X)


class IrisNet(NeuralNetClassifier):
    def __init__(self, module=Tiny, criterion=nn.CrossEntropyLoss, max_epochs=2,
                 train_split=None, verbose=0, **kwargs):
        super().__init__(module, criterion=criterion, max_epochs=max_epochs,
                         train_split=train_split, verbose=verbose, **kwargs)

    def get_dataset(self, X, y=None):
        X = np.asarray(X, dtype=np.float32)
        return super().get_dataset(X, None if y is None else np.asarray(y))
"""

STUDY = """
[data]
source = "sklearn:iris"

[estimator]
class = "{module}.IrisNet"
params = {{ {fixed} }}

[search.space]
module__hidden = [2, 3]

[cv]
folds = 2
"""


@pytest.fixture
def net_study(study_file, workdir):
    # A fresh module name per test: another test's import is not reused.
    module = f"irisnets_{workdir.name.replace('-', '_')}"
    (workdir / f"{module}.py").write_text(textwrap.dedent(NET_MODULE))

    def write(fixed: str):
        return study_file(STUDY.format(module=module, fixed=fixed))

    yield write
    sys.modules.pop(module, None)


def test_a_network_class_next_to_the_study_file_runs_with_routed_fixed_params(
    net_study, hpsearch
):
    path = net_study("lr = 0.05, iterator_train__shuffle = true")
    result = hpsearch("run", path.name, "--no-progress")
    assert result.exit_code == 0, result.output
    assert "Best parameters: module__hidden=" in result.stdout


def test_a_misspelt_routed_fixed_param_names_the_line_and_the_close_name(net_study):
    path = net_study("module__hiden = 3")
    with pytest.raises(StudyFileError) as info:
        load_study_file(path.name)
    text = str(info.value)
    assert "line 6: estimator.params.module__hiden must name an argument of " in text
    assert (
        ".Tiny, which IrisNet calls with the module__* parameters; got 'hiden'" in text
    )
    assert "Did you mean 'module__hidden'?" in text


def test_a_library_that_is_not_installed_names_its_extra(
    study_file, monkeypatch, hpsearch
):
    monkeypatch.setitem(sys.modules, "lightgbm", None)  # as if not installed
    path = study_file(
        """
        [data]
        source = "sklearn:iris"

        [estimator]
        class = "lightgbm.LGBMClassifier"

        [search.space]
        num_leaves = [4, 8]
        """
    )
    with pytest.raises(StudyFileError) as info:
        load_study_file(path.name)
    assert str(info.value).startswith(
        "study.toml, line 5: estimator.class must be an importable path; got "
        "'lightgbm.LGBMClassifier', but module 'lightgbm' cannot be imported ("
    )
    assert str(info.value).endswith(
        "). Install it with: pip install 'hpsearch[boosting]'"
    )


@pytest.mark.parametrize(
    ("module", "extra"),
    [
        ("torch", "torch"),
        ("skorch", "torch"),
        ("scikeras", "keras"),
        ("xgboost", "boosting"),
    ],
)
def test_require_names_the_extra_of_a_missing_library(monkeypatch, module, extra):
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingExtraError) as info:
        require(module, "This example")
    assert str(info.value).startswith(f"This example needs {module}, which cannot be ")
    assert str(info.value).endswith(f"Install it with: pip install 'hpsearch[{extra}]'")
