"""What a search shows while it runs: scikit-learn's verbose lines and a
progress bar (tasks done of total, elapsed, ETA, best mean score so far).

The bar is drawn by Rich on a terminal. In a Jupyter kernel, whose stderr is
no terminal, the same line is rewritten in place with a carriage return, as a
notebook's output area understands (no cursor-moving escape codes, no
ipywidgets needed).
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

from joblib.logger import short_format_time
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from hpsearch._records import FoldResult, Proposal, TaskKey, work_tasks
from hpsearch.strategies import Rung


class SearchProgress:
    """Follows fold results as they arrive; prints and draws as asked.

    ``bar`` None shows the bar when stderr is a terminal or this process is a
    Jupyter kernel; ``metric`` is the score that "best so far" follows (the
    refit metric). ``verbose`` > 1 prints scikit-learn's lines;
    ``metric_names`` (a multimetric scoring) and ``error_score`` make a failed
    fit's line read as scikit-learn's does. ``rungs`` (a halving search's
    rounds) and ``resource`` ("n_samples" or a parameter) name the round in
    the bar: ``rung 2/4: 27 candidates x 270 samples``.
    """

    def __init__(
        self,
        verbose: int = 0,
        bar: bool | None = None,
        metric: str | None = "score",
        description: str = "search",
        error_score: Any = float("nan"),
        metric_names: Sequence[str] | None = None,
        rungs: Sequence[Rung] = (),
        resource: str | None = None,
    ) -> None:
        self.rungs = list(rungs)
        self.resource = resource
        self.verbose = verbose
        self.error_score = error_score
        self.metric_names = metric_names
        self._index: dict[str, int] = {}
        self._n_candidates = 0
        terminal = sys.stderr.isatty()
        self.notebook = not terminal and in_notebook()
        self.show_bar = (terminal or self.notebook) if bar is None else bar
        self._last_draw = 0.0
        self.metric = metric
        self.description = description
        self.best: float | None = None
        self._sums: dict[tuple[str, Any], dict[int, float]] = {}
        self._params: dict[str, Mapping[str, Any]] = {}
        self._n_splits = 1
        self._counted: set[TaskKey] = set()  # in the bar's total
        self._advanced: set[TaskKey] = set()  # done, in the bar
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
        batch = [p.candidate for p in proposals]
        self._n_splits = n_splits
        self._params.update({c.key: c.params for c in batch})
        self._index = {}
        for i, c in enumerate(batch):
            self._index.setdefault(c.key, i)
        self._n_candidates = len(batch)
        if self.verbose > 0:
            kind = self.resource
            sizes = {len(work_tasks(*p.key, n_splits, kind)) for p in proposals}
            k = sizes.pop() if len(sizes) == 1 else n_splits  # a race: its folds
            print(
                f"Fitting {k} folds for each of {len(batch)} candidates,"
                f" totalling {len(batch) * k} fits"
            )
        # Each (candidate, resource, split) counts once: a race on folds
        # shares a candidate's folds between its rungs.
        tasks = {
            task
            for work in {p.key for p in proposals}
            for task in work_tasks(*work, n_splits, self.resource)
        }
        total = len(tasks - self._counted)
        self._counted |= tasks
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
                auto_refresh=not self.notebook,
            )
            if not self.notebook:
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
        self._draw()

    def update(self, result: FoldResult) -> None:
        """One fold result arrived."""
        if self.metric is not None and result.status == "ok":
            work = (result.candidate_key, result.resource)
            scores = self._sums.setdefault(work, {})  # a race on folds tells
            scores[result.split] = result.test_scores.get(self.metric, float("nan"))
            if len(scores) == self._n_splits:  # the best of complete candidates
                mean = sum(scores.values()) / len(scores)
                if mean == mean and (self.best is None or mean > self.best):
                    self.best = mean
        if self.verbose > 1:
            self._print_line(result)
        if self._progress is not None and result.key not in self._advanced:
            self._advanced.add(result.key)
            best = "" if self.best is None else f"best {self.metric}={self.best:.4g}"
            self._progress.update(self._task_id, advance=1, best=best)
            self._draw()

    def _print_line(self, result: FoldResult) -> None:
        """scikit-learn's ``[CV i/k] END ...`` line (and START from verbose 10)."""
        params = self._params.get(result.candidate_key, {})
        params_msg = ", ".join(f"{k}={params[k]}" for k in sorted(params))
        progress = ""
        if self.verbose > 2:
            progress = f" {result.split + 1}/{self._n_splits}"
            if self.verbose > 9:
                index = self._index.get(result.candidate_key, 0)
                progress += f"; {index + 1}/{self._n_candidates}"
        if self.verbose > 9:
            start = f"[CV{progress}] START {params_msg}"
            print(start + "." * (80 - len(start)))
        text = params_msg + (";" if params_msg else "")
        if self.verbose > 2:
            text += self._scores_text(result)
        total = result.fit_time + result.score_time
        text += f" total time={short_format_time(total)}"
        head = f"[CV{progress}] END "
        print(head + "." * (80 - len(head) - len(text)) + text)

    def _scores_text(self, result: FoldResult) -> str:
        test: Any = result.test_scores
        train: Any = result.train_scores
        if result.status == "failed":  # scikit-learn prints error_score
            names = self.metric_names
            test = dict.fromkeys(names, self.error_score) if names else self.error_score
            if train is not None:
                train = test
        elif self.metric_names is None and list(test) == ["score"]:
            test = test["score"]
            train = None if train is None else train["score"]
        if isinstance(test, Mapping):
            text = ""
            for name in sorted(test):
                text += f" {name}: ("
                if train is not None:
                    text += f"train={train[name]:.3f}, "
                text += f"test={test[name]:.3f})"
            return text
        if train is not None:
            return f", score=(train={train:.3f}, test={test:.3f})"
        return f", score={test:.3f}"

    def _draw(self, final: bool = False) -> None:
        """In a notebook: rewrite the bar's line (at most ten times a second)."""
        if not self.notebook or self._progress is None:
            return
        now = time.monotonic()
        if not final and now - self._last_draw < 0.1:
            return
        self._last_draw = now
        console = Console(
            file=io.StringIO(),
            width=100,
            color_system=None,
            force_terminal=False,
            force_jupyter=False,
        )
        console.print(self._progress.get_renderable())
        text = console.file.getvalue().rstrip("\n")  # type: ignore[attr-defined]
        sys.stderr.write("\r" + text + ("\n" if final else ""))
        sys.stderr.flush()

    def close(self) -> None:
        """Stop drawing the bar."""
        if self._progress is not None:
            self._draw(final=True)
            self._progress.stop()
            self._progress = None


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (ipykernel, Colab, VS Code)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return getattr(shell, "kernel", None) is not None
