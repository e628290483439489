"""Strategies decide *what* to evaluate next, from what has been evaluated.

A strategy is a pure function of the history of the current search: given the
trials evaluated so far, :meth:`Strategy.propose` returns the next batch of
candidates, or an empty sequence when the search is done. Grid and random
search propose everything in the first round; adaptive strategies (successive
halving, model-based search) propose round after round. The search loop in
:mod:`hpsearch._loop` serves them all alike.
"""

from hpsearch.strategies._base import Strategy, Trial
from hpsearch.strategies._grid import GridStrategy, RandomStrategy

__all__ = ["GridStrategy", "RandomStrategy", "Strategy", "Trial"]
