"""hpsearch: hyperparameter search for scikit-learn, faster, resumable, observable.

``GridSearchCV``, ``RandomizedSearchCV``, ``HalvingGridSearchCV`` and
``HalvingRandomSearchCV`` are drop-in replacements for scikit-learn's classes
of the same names; ``HyperbandSearchCV`` is asynchronous successive halving
(ASHA) over Hyperband brackets with the same ``cv_results_``;
``BayesSearchCV`` proposes each candidate from a model of the scores so far.
"""

from hpsearch._bayes import BayesSearchCV
from hpsearch._early_stopping import EarlyStopper
from hpsearch._errors import (
    BackendError,
    ClusterError,
    FitTimeoutError,
    HpsearchError,
    MissingExtraError,
    NotStorableError,
    SpaceError,
    SpaceValueError,
    StorageError,
    StudyMismatchError,
    StudyNotFoundError,
    WorkerCrashError,
)
from hpsearch._halving import HalvingGridSearchCV, HalvingRandomSearchCV
from hpsearch._hyperband import HyperbandSearchCV
from hpsearch._search import GridSearchCV, RandomizedSearchCV
from hpsearch._version import __version__
from hpsearch.storage import delete_study, list_studies, load_study

__all__ = [
    "BackendError",
    "BayesSearchCV",
    "ClusterError",
    "EarlyStopper",
    "FitTimeoutError",
    "GridSearchCV",
    "HalvingGridSearchCV",
    "HalvingRandomSearchCV",
    "HpsearchError",
    "HyperbandSearchCV",
    "MissingExtraError",
    "NotStorableError",
    "RandomizedSearchCV",
    "SpaceError",
    "SpaceValueError",
    "StorageError",
    "StudyMismatchError",
    "StudyNotFoundError",
    "WorkerCrashError",
    "__version__",
    "delete_study",
    "list_studies",
    "load_study",
]
