"""The exceptions hpsearch raises.

Every exception derives from :class:`HpsearchError` and from the builtin a user
would already catch, so existing ``except ValueError:`` clauses keep working::

    HpsearchError
    ├── SpaceError(ValueError, TypeError)     a search space is illegal
    ├── StudyMismatchError(ValueError)        a rerun does not match the stored study
    └── StorageError(RuntimeError)            a storage cannot be used as asked
"""

from __future__ import annotations


class HpsearchError(Exception):
    """Base class of every error hpsearch raises on purpose."""


class SpaceError(HpsearchError, ValueError, TypeError):
    """A search space names an unknown parameter or holds an illegal value.

    It derives from both ValueError and TypeError because scikit-learn raises
    either for the same mistakes (a bare value where a list is needed is a
    TypeError there), and old ``except`` clauses should keep working.
    """


class StudyMismatchError(HpsearchError, ValueError):
    """A search was run again on a stored study that describes another search."""


class StorageError(HpsearchError, RuntimeError):
    """A storage URL, file or database cannot be used as asked."""
