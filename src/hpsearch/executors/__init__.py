"""Executors decide *where* units of work run: this process, local threads or
worker processes, or a cluster. Each is a small adapter to one interface,
:class:`Executor`; :func:`make_executor` picks one from a search's arguments.
"""

from hpsearch.executors._base import WAIT, Executor, LostTask
from hpsearch.executors._choose import make_executor, threadable
from hpsearch.executors._dask import DaskExecutor
from hpsearch.executors._local import LocalExecutor, SerialExecutor, check_pre_dispatch

__all__ = [
    "WAIT",
    "DaskExecutor",
    "Executor",
    "LocalExecutor",
    "LostTask",
    "SerialExecutor",
    "check_pre_dispatch",
    "make_executor",
    "threadable",
]
