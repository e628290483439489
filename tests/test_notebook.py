"""In a notebook: the progress bar, through a real Jupyter kernel (nbclient runs
a notebook on ipykernel, as Jupyter does), and what a rerun tells."""

from __future__ import annotations

import logging
import sys
import textwrap

import nbformat
import pytest
from nbclient import NotebookClient
from sklearn.datasets import load_iris
from sklearn.svm import SVC

from hpsearch import GridSearchCV

X, y = load_iris(return_X_y=True)


def run_notebook(tmp_path, *cells: str) -> list[list[dict]]:
    """Execute the cells in a fresh ipykernel; each cell's outputs."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(textwrap.dedent(c)) for c in cells]
    # The kernel runs this interpreter (the one with hpsearch installed).
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    client = NotebookClient(
        notebook,
        timeout=240,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    # The kernel runs this interpreter, whatever kernelspec "python3" names.
    client.km = client.kernel_manager_class(kernel_name="python3")
    client.km.kernel_spec.argv[0] = sys.executable
    client.execute()
    return [cell.outputs for cell in notebook.cells]


def stderr_text(outputs: list[dict]) -> str:
    return "".join(o.get("text", "") for o in outputs if o.get("name") == "stderr")


@pytest.mark.slow
def test_the_progress_bar_shows_in_a_jupyter_kernel_by_default(tmp_path):
    setup, default, off = run_notebook(
        tmp_path,
        """
        import sys
        from sklearn.datasets import load_iris
        from sklearn.svm import SVC
        from hpsearch import GridSearchCV
        X, y = load_iris(return_X_y=True)
        print(sys.executable, sys.stderr.isatty())
        """,
        """
        search = GridSearchCV(SVC(), {"C": [1, 2]}, cv=3).fit(X, y)
        """,
        """
        search = GridSearchCV(SVC(), {"C": [1, 2]}, cv=3, progress=False).fit(X, y)
        """,
    )
    assert setup[0]["text"] == f"{sys.executable} False\n"  # no terminal there
    text = stderr_text(default)
    assert "GridSearchCV" in text and "6/6 fits" in text and "ETA" in text
    # The line is rewritten in place: carriage returns, no cursor-moving codes.
    assert text.startswith("\r") and text.endswith("\n")
    assert "\x1b" not in text
    assert stderr_text(off) == ""


def test_a_fitted_search_names_its_study_and_storage(tmp_path):
    search = GridSearchCV(
        SVC(), {"C": [1]}, cv=2, progress=False, storage=tmp_path / "runs.db"
    ).fit(X, y)
    assert search.study_name_.startswith("SVC-")
    assert search.storage_url_ == f"sqlite:///{tmp_path / 'runs.db'}"
    plain = GridSearchCV(SVC(), {"C": [1]}, cv=2, progress=False).fit(X, y)
    assert plain.study_name_ is None and plain.storage_url_ is None


def test_a_rerun_that_resumes_says_so_once_through_logging(tmp_path, caplog):
    storage = tmp_path / "runs.db"

    def search(grid):
        return GridSearchCV(
            SVC(), grid, cv=3, progress=False, storage=storage, study="svc"
        )

    caplog.set_level(logging.INFO, logger="hpsearch")
    search({"C": [1, 2]}).fit(X, y)
    assert [r.getMessage() for r in caplog.records if r.name == "hpsearch"] == []
    search({"C": [1, 2, 3]}).fit(X, y)
    messages = [r.getMessage() for r in caplog.records if r.name == "hpsearch"]
    assert messages == ["resuming study 'svc': 6 of 9 fits already stored"]
    assert [r.levelno for r in caplog.records if r.name == "hpsearch"] == [logging.INFO]
