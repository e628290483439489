"""Storages: where studies and their fold results are kept, and read back.

:class:`Storage` is the interface; :class:`MemoryStorage` keeps studies in this
process, :class:`SQLStorage` in a SQLite file or a PostgreSQL database.
:func:`open_storage` turns a search's ``storage`` argument (a URL, a file path
or a storage object) into a storage. A search records into its study through
:func:`open_recorder`; :func:`load_study`, :func:`list_studies` and
:func:`delete_study` read and manage studies.
"""

from typing import TYPE_CHECKING, Any

from hpsearch.storage._base import (
    Claimed,
    RunRecord,
    Storage,
    StoredCandidate,
    StudyData,
    StudyRecord,
)
from hpsearch.storage._memory import MemoryStorage
from hpsearch.storage._recorder import StudyRecorder, open_recorder
from hpsearch.storage._spec import StudySpec
from hpsearch.storage._study import (
    Progress,
    Study,
    StudySummary,
    delete_study,
    list_studies,
    load_study,
    open_storage,
)

if TYPE_CHECKING:
    from hpsearch.storage._sql import SCHEMA_VERSION, SQLStorage


def __getattr__(name: str) -> Any:
    # SQLAlchemy loads only when a SQL storage is used (it takes ~0.15 s).
    if name in ("SCHEMA_VERSION", "SQLStorage"):
        from hpsearch.storage import _sql

        return getattr(_sql, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "SCHEMA_VERSION",
    "Claimed",
    "MemoryStorage",
    "Progress",
    "RunRecord",
    "SQLStorage",
    "Storage",
    "StoredCandidate",
    "Study",
    "StudyData",
    "StudyRecord",
    "StudyRecorder",
    "StudySpec",
    "StudySummary",
    "delete_study",
    "list_studies",
    "load_study",
    "open_recorder",
    "open_storage",
]
