"""The ``hpsearch`` command line and its TOML study files.

``hpsearch run study.toml`` builds the search the file describes (the same
``GridSearchCV`` or ``RandomizedSearchCV`` as the Python API) and fits it with a
storage, so that running it again resumes; ``studies``, ``show``, ``export`` and
``delete`` read that storage. See ``hpsearch --help``.
"""

from hpsearch.cli import (
    _dashboard,  # noqa: F401 - registers `hpsearch dashboard`
    _jsonschema,  # noqa: F401 - registers `hpsearch schema`
    _studies,  # noqa: F401 - registers the storage commands
)
from hpsearch.cli._app import cli, main
from hpsearch.cli._studyfile import StudyPlan, load_study_file
from hpsearch.cli._toml import StudyFileError

__all__ = ["StudyFileError", "StudyPlan", "cli", "load_study_file", "main"]
