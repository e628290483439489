"""Optional extras: which one installs a library, and a clear error without it.

>>> EXTRAS["lightgbm"]
'boosting'
"""

from __future__ import annotations

import importlib
from types import ModuleType

from hpsearch._errors import MissingExtraError

# Top-level module -> the hpsearch extra that installs a version known to work.
EXTRAS = {
    "torch": "torch",
    "skorch": "torch",
    "keras": "keras",
    "scikeras": "keras",
    "lightgbm": "boosting",
    "xgboost": "boosting",
    "distributed": "dask",
    "dask": "dask",
    "psycopg": "postgres",
    "pyarrow": "parquet",
}


def require(module: str, needed_for: str) -> ModuleType:
    """Import ``module``, or raise MissingExtraError naming the extra.

    >>> require("sys", "nothing").__name__
    'sys'
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        extra = EXTRAS.get(module.split(".")[0])
        install = (
            f"pip install 'hpsearch[{extra}]'" if extra else f"pip install {module}"
        )
        raise MissingExtraError(
            f"{needed_for} needs {module}, which cannot be imported ({exc}). "
            f"Install it with: {install}"
        ) from exc
