"""The strategy interface and the records it reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from hpsearch._records import Candidate, FoldResult, Proposal, Resource


@dataclass(frozen=True)
class Trial:
    """A candidate evaluated at ``resource`` on every split, in ``round``."""

    candidate: Candidate
    folds: tuple[FoldResult, ...]
    round: int = 0
    resource: Resource = None


@dataclass(frozen=True)
class History:
    """What a strategy sees when asked for work.

    ``trials`` are the proposals evaluated on every split, in the order they
    completed; ``running`` the proposals started and not yet complete;
    ``idle`` how many workers have nothing to do (at least 1 when nothing
    runs), the number of proposals a strategy that proposes one by one should
    make.
    """

    trials: Sequence[Trial] = ()
    running: Sequence[Proposal] = ()
    idle: int = 1


@dataclass(frozen=True)
class Rung:
    """A round a strategy plans ahead: ``n_candidates`` at ``resource``.

    ``n_repeated`` of them repeat an earlier candidate of the round (they run
    once). For the command line's dry run and the progress bar; a strategy
    that cannot tell in advance gives its best estimate.
    """

    round: int
    n_candidates: int
    resource: Resource = None
    n_repeated: int = 0


class Strategy(Protocol):
    """Decides what to evaluate next, from what has been evaluated.

    Contract: the loop calls ``propose`` whenever a worker is free (and once
    at the start). It returns proposals to start now; an empty sequence
    means "nothing now": the loop asks again when more results arrive, and
    the search is done when nothing runs and nothing is proposed. A strategy
    that must wait for a round to finish returns nothing until ``history``
    shows it finished. ``propose`` depends only on ``history`` and on the
    strategy's construction arguments (its seed included), so that a search
    replayed against a storage proposes the same work again and finds its
    results stored. ``outline`` gives the rounds planned ahead.
    """

    def propose(self, history: History) -> Sequence[Proposal]:
        """The proposals to start now; empty: nothing until more results."""
        ...

    def outline(self) -> Sequence[Rung]:
        """The rounds planned ahead, for a dry run and progress."""
        ...
