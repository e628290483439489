"""The strategy interface and the trial record it reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from hpsearch._records import Candidate, FoldResult


@dataclass(frozen=True)
class Trial:
    """A candidate with its results on every split, from round ``round``."""

    candidate: Candidate
    folds: tuple[FoldResult, ...]
    round: int = 0


class Strategy(Protocol):
    """Proposes candidates in rounds.

    Contract: ``propose`` depends only on ``history`` (and on the strategy's
    own construction arguments), so that a search replayed against a storage
    proposes the same rounds again and finds their results stored.
    """

    def propose(self, history: Sequence[Trial]) -> Sequence[Candidate]:
        """The next round of candidates; empty when the search is done."""
        ...
