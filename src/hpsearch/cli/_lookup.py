"""Looking into a storage from the command line without creating anything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from hpsearch._errors import StudyNotFoundError


def missing_sqlite_file(storage: str) -> Path | None:
    """The SQLite file that ``storage`` names, when it does not exist.

    Reading commands check this first so that looking into a storage never
    creates an empty database file.
    """
    if "://" not in storage:
        path = Path(storage)
    else:
        try:
            url = sa.make_url(storage)
        except sa.exc.ArgumentError:
            return None  # the storage explains a bad URL
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return None
        path = Path(url.database)
    return None if path.exists() else path


def find_study(storage: str, name: str) -> Any:
    """The stored study ``name``, or None; never creates a SQLite file."""
    from hpsearch.storage import load_study

    if missing_sqlite_file(storage) is not None:
        return None
    try:
        return load_study(storage, name)
    except StudyNotFoundError:
        return None
