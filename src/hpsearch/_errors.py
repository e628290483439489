"""The exceptions hpsearch raises.

Every exception derives from :class:`HpsearchError` and from the builtin a user
would already catch, so existing ``except ValueError:`` clauses keep working::

    HpsearchError
    ├── SpaceError(ValueError, TypeError)     a search space is illegal
    │   └── SpaceValueError(InvalidParameterError)  a value the estimator refuses
    ├── StudyMismatchError(ValueError)        a rerun does not match the stored study
    ├── StorageError(RuntimeError)            a storage cannot be used as asked
    │   └── NotStorableError(ValueError)      a parameter value cannot be stored
    ├── StudyNotFoundError(KeyError)          no study of that name in the storage
    ├── BackendError(ValueError)              a backend value names no executor
    ├── ClusterError(RuntimeError)            a cluster cannot run or finish the search
    ├── WorkerCrashError(RuntimeError)        a fit killed its worker, twice
    ├── FitTimeoutError(TimeoutError)         a fit ran past fit_timeout
    └── MissingExtraError(ImportError)        an optional extra is not installed
"""

from __future__ import annotations

from sklearn.utils._param_validation import InvalidParameterError


class HpsearchError(Exception):
    """Base class of every error hpsearch raises on purpose."""


class SpaceError(HpsearchError, ValueError, TypeError):
    """A search space names an unknown parameter or holds an illegal value.

    It derives from both ValueError and TypeError because scikit-learn raises
    either for the same mistakes (a bare value where a list is needed is a
    TypeError there), and old ``except`` clauses should keep working.

    Where scikit-learn reports the same mistake, its message comes first and
    hpsearch's explanation after it; ``explanation`` holds hpsearch's part.
    """

    def __init__(self, message: str, explanation: str | None = None) -> None:
        super().__init__(message)
        self.explanation = message if explanation is None else explanation


class SpaceValueError(SpaceError, InvalidParameterError):
    """A search space holds a value the estimator's declared constraints forbid.

    It is also scikit-learn's ``InvalidParameterError``, which scikit-learn
    raises for the same value at the first fit.
    """


class StudyMismatchError(HpsearchError, ValueError):
    """A search was run again on a stored study that describes another search."""


class StorageError(HpsearchError, RuntimeError):
    """A storage URL, file or database cannot be used as asked."""


class NotStorableError(StorageError, ValueError):
    """A parameter value cannot be written as plain data and read back equal."""


class StudyNotFoundError(HpsearchError, KeyError):
    """A storage has no study of the name asked for.

    It derives from KeyError, as a missing key in a mapping would; its message
    lists the studies that do exist.
    """

    def __str__(self) -> str:
        # KeyError's own __str__ shows the repr of its argument, quotes and all.
        return str(self.args[0]) if self.args else ""


class BackendError(HpsearchError, ValueError):
    """A search's ``backend`` is none of the accepted forms."""


class ClusterError(HpsearchError, RuntimeError):
    """A cluster cannot run the search, or stopped running it.

    Raised when no scheduler can be reached, when the connection to it is lost
    mid-search, or when a unit of work keeps killing the workers that run it.
    Results that arrived before were recorded: with a storage, running the
    search again resumes it.
    """


class MissingExtraError(HpsearchError, ImportError):
    """An optional part of hpsearch is used but its extra is not installed."""


class WorkerCrashError(HpsearchError, RuntimeError):
    """A fit killed its worker process twice (the second time alone) and
    ``error_score='raise'``; otherwise such a fit is recorded as failed."""


class FitTimeoutError(HpsearchError, TimeoutError):
    """A fit ran past the search's ``fit_timeout`` and ``error_score='raise'``;
    otherwise it is stopped and recorded as failed."""
