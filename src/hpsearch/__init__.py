"""hpsearch: hyperparameter search for scikit-learn, faster, resumable, observable.

``GridSearchCV`` and ``RandomizedSearchCV`` are drop-in replacements for
scikit-learn's classes of the same names.
"""

from hpsearch._early_stopping import EarlyStopper
from hpsearch._errors import (
    BackendError,
    ClusterError,
    HpsearchError,
    MissingExtraError,
    NotStorableError,
    SpaceError,
    StorageError,
    StudyMismatchError,
    StudyNotFoundError,
)
from hpsearch._search import GridSearchCV, RandomizedSearchCV
from hpsearch.storage import delete_study, list_studies, load_study

__version__ = "0.1.0"

__all__ = [
    "BackendError",
    "ClusterError",
    "EarlyStopper",
    "GridSearchCV",
    "HpsearchError",
    "MissingExtraError",
    "NotStorableError",
    "RandomizedSearchCV",
    "SpaceError",
    "StorageError",
    "StudyMismatchError",
    "StudyNotFoundError",
    "__version__",
    "delete_study",
    "list_studies",
    "load_study",
]
