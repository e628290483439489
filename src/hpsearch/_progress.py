"""What a search shows while it runs: scikit-learn's verbose lines and a
progress bar (tasks done of total, elapsed, ETA, best mean score so far)."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from hpsearch._records import FoldResult, Proposal
from hpsearch.strategies import Rung


class SearchProgress:
    """Follows fold results as they arrive; prints and draws as asked.

    ``bar`` None shows the bar when stderr is a terminal; ``metric`` is the
    score that "best so far" follows (the refit metric). ``rungs`` (a halving
    search's rounds) and ``resource`` ("n_samples" or a parameter) name the
    round in the bar: ``rung 2/4: 27 candidates x 270 samples``.
    """

    def __init__(
        self,
        verbose: int = 0,
        bar: bool | None = None,
        metric: str | None = "score",
        description: str = "search",
        rungs: Sequence[Rung] = (),
        resource: str | None = None,
    ) -> None:
        self.verbose = verbose
        self.show_bar = sys.stderr.isatty() if bar is None else bar
        self.metric = metric
        self.description = description
        self.best: float | None = None
        self.rungs = list(rungs)
        self.resource = resource
        self._sums: dict[tuple[str, Any], list[float]] = {}
        self._params: dict[str, Mapping[str, Any]] = {}
        self._n_splits = 1
        self._progress: Progress | None = None
        self._task_id: Any = None

    def rung_text(self, proposal: Proposal) -> str | None:
        """``rung 2/4: 27 candidates x 270 samples`` for a halving round."""
        if not self.rungs or proposal.round >= len(self.rungs):
            return None
        rung = self.rungs[proposal.round]
        unit = "samples" if self.resource == "n_samples" else str(self.resource)
        return (
            f"rung {rung.round + 1}/{len(self.rungs)}: {rung.n_candidates} "
            f"candidates x {rung.resource} {unit}"
        )

    def start(self, proposals: Sequence[Proposal], n_splits: int) -> None:
        """Proposals start: announce them and grow the bar."""
        self._n_splits = n_splits
        self._params.update({p.candidate.key: p.candidate.params for p in proposals})
        if self.verbose > 0:
            print(
                f"Fitting {n_splits} folds for each of {len(proposals)} candidates,"
                f" totalling {len(proposals) * n_splits} fits"
            )
        total = len({p.key for p in proposals}) * n_splits
        if not self.show_bar:
            return
        rung = self.rung_text(proposals[0]) if proposals else None
        if self._progress is None:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("fits"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[best]}"),
                console=Console(file=sys.stderr),
                transient=False,
            )
            self._progress.start()
            self._task_id = self._progress.add_task(
                rung or self.description, total=total, best=""
            )
        else:
            task = self._progress.tasks[0]
            self._progress.update(
                self._task_id,
                total=(task.total or 0) + total,
                description=rung or self.description,
            )

    def update(self, result: FoldResult) -> None:
        """One fold result arrived."""
        if self.metric is not None and result.status == "ok":
            work = (result.candidate_key, result.resource)
            scores = self._sums.setdefault(work, [])
            scores.append(result.test_scores.get(self.metric, float("nan")))
            if len(scores) == self._n_splits:
                mean = sum(scores) / len(scores)
                if mean == mean and (self.best is None or mean > self.best):
                    self.best = mean
        if self.verbose > 1:
            self._print_line(result)
        if self._progress is not None:
            best = "" if self.best is None else f"best {self.metric}={self.best:.4g}"
            self._progress.update(self._task_id, advance=1, best=best)

    def _print_line(self, result: FoldResult) -> None:
        params = self._params.get(result.candidate_key, {})
        text = ", ".join(f"{k}={params[k]}" for k in sorted(params))
        if result.status == "failed":
            text += "; failed"
        elif self.verbose > 2:
            text += ";" + "".join(
                f" {name}: (test={value:.3f})"
                for name, value in sorted(result.test_scores.items())
            )
        total = result.fit_time + result.score_time
        text += f" total time={total:.1f}s"
        head = f"[CV {result.split + 1}/{self._n_splits}] END "
        print(head + "." * max(0, 80 - len(head) - len(text)) + text)

    def close(self) -> None:
        """Stop drawing the bar."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
