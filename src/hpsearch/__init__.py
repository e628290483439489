"""hpsearch: hyperparameter search for scikit-learn, faster, resumable, observable.

``GridSearchCV`` and ``RandomizedSearchCV`` are drop-in replacements for
scikit-learn's classes of the same names.
"""

from hpsearch._errors import (
    BackendError,
    ClusterError,
    HpsearchError,
    MissingExtraError,
    SpaceError,
    StorageError,
    StudyMismatchError,
)
from hpsearch._search import GridSearchCV, RandomizedSearchCV

__version__ = "0.1.0"

__all__ = [
    "BackendError",
    "ClusterError",
    "GridSearchCV",
    "HpsearchError",
    "MissingExtraError",
    "RandomizedSearchCV",
    "SpaceError",
    "StorageError",
    "StudyMismatchError",
    "__version__",
]
