"""Strategies decide *what* to evaluate next, from what has been evaluated.

A strategy is asked for work at the start and whenever a worker is free; it
answers with proposals (a candidate at a resource) or with nothing for now.
Grid and random search propose everything at once; successive halving
proposes round after round, each once the one before has finished; the
search loop in :mod:`hpsearch._loop` serves them all alike.
"""

from hpsearch.strategies._base import History, Rung, Strategy, Trial
from hpsearch.strategies._grid import GridStrategy, RandomStrategy
from hpsearch.strategies._halving import HalvingStrategy

__all__ = [
    "GridStrategy",
    "HalvingStrategy",
    "History",
    "RandomStrategy",
    "Rung",
    "Strategy",
    "Trial",
]
