"""Executors decide *where* units of work run: this process, local worker
processes or threads, or a cluster. Each is a small adapter to one interface,
:class:`Executor`; :func:`make_executor` picks one from a search's arguments.
"""

from hpsearch.executors._base import Executor, make_executor
from hpsearch.executors._dask import DaskExecutor
from hpsearch.executors._local import LokyExecutor, SerialExecutor, ThreadExecutor

__all__ = [
    "DaskExecutor",
    "Executor",
    "LokyExecutor",
    "SerialExecutor",
    "ThreadExecutor",
    "make_executor",
]
