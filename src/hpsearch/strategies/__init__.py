"""Strategies decide *what* to evaluate next, from what has been evaluated.

A strategy is asked for work at the start and whenever a worker is free; it
answers with proposals (a candidate at a resource) or with nothing for now.
Grid and random search propose everything at once; successive halving
proposes round after round, each once the one before has finished;
Hyperband (ASHA) and model-based search propose one piece of work per
free worker; the search loop in :mod:`hpsearch._loop` serves them all alike.
"""

from hpsearch.strategies._base import History, Rung, Strategy, Trial
from hpsearch.strategies._bayes import BayesStrategy, ModelSampler
from hpsearch.strategies._grid import GridStrategy, RandomStrategy
from hpsearch.strategies._halving import HalvingStrategy
from hpsearch.strategies._hyperband import HyperbandStrategy

__all__ = [
    "BayesStrategy",
    "GridStrategy",
    "HalvingStrategy",
    "History",
    "HyperbandStrategy",
    "ModelSampler",
    "RandomStrategy",
    "Rung",
    "Strategy",
    "Trial",
]
