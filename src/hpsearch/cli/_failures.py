"""The failure report: how many fits failed, each distinct error once.

Built from a stored study (``hpsearch.load_study``), so that it says the same
after a run, a resume or a retry: every error's last line with how many fits
it hit and which candidates, and a hint where one applies. Tracebacks only
with ``--debug``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hpsearch.storage._base import mostly_failed

# How many candidates an error lists before "and N more".
SHOWN_CANDIDATES = 3

# (last line of the error, what to do about it)
HINTS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            r"could not convert string to float|non-numeric|"
            r"dtype='numeric' is not compatible|Cannot cast object dtype"
        ),
        "A text column reached an estimator that needs numbers. Encode it "
        "(a ColumnTransformer step with a OneHotEncoder on it), or list it in "
        "[data] categorical for an estimator with native categorical support "
        "(HistGradientBoosting*).",
    ),
    (
        re.compile(r"contains NaN|NaN values|missing values"),
        "Missing values reached an estimator that does not take them. Add a step "
        'with class = "sklearn.impute.SimpleImputer" before it, or use an estimator '
        "that takes them (HistGradientBoosting*).",
    ),
    (
        re.compile(r"Found unknown categories"),
        "A test split holds a category its training split did not. Give the "
        'encoder params = { handle_unknown = "ignore" }.',
    ),
    (
        re.compile(r"supports only dual=False"),
        'Only solver = "liblinear" takes dual = true. Search dual with that '
        "solver (several [[search.space]] tables), or leave dual false.",
    ),
    (
        re.compile(r"supports only .*penalt"),
        "This solver does not support this penalty. Search the solver with the "
        'penalty (several [[search.space]] tables), or use solver = "saga".',
    ),
    (
        re.compile(r"MemoryError|Unable to allocate"),
        "A fit ran out of memory. Use fewer jobs (--n-jobs) or smaller settings.",
    ),
]


@dataclass(frozen=True)
class ErrorGroup:
    """The fits that failed with one error."""

    error: str  # the error's last line
    n_fits: int
    candidates: tuple[Mapping[str, Any], ...]
    traceback: str
    hint: str | None


@dataclass(frozen=True)
class FailureReport:
    """The failed fits of a study's latest search."""

    n_failed: int
    n_fits: int
    n_candidates: int
    n_candidates_failed: int
    groups: list[ErrorGroup] = field(default_factory=list)

    @property
    def mostly_failed(self) -> bool:
        """Most fits failed: the command exits 2 and the study reads failed."""
        return mostly_failed(self.n_failed, self.n_fits)

    def text(self, debug: bool = False) -> str:
        """The report for people; tracebacks only with ``debug``."""
        lines = [
            f"{self.n_failed} of {self.n_fits} fits failed "
            f"({self.n_candidates_failed} of {self.n_candidates} candidates), "
            f"with {len(self.groups)} distinct error"
            f"{'s' if len(self.groups) != 1 else ''}:"
        ]
        hinted: set[str] = set()
        for group in self.groups:
            shown = "; ".join(_params(c) for c in group.candidates[:SHOWN_CANDIDATES])
            more = len(group.candidates) - SHOWN_CANDIDATES
            if more > 0:
                shown += f"; and {more} more"
            fits = f"{group.n_fits} fit" + ("s" if group.n_fits != 1 else "")
            which = "candidate" + ("s" if len(group.candidates) != 1 else "")
            lines.append(f"- {group.error}\n  {fits}, {which}: {shown}")
            if group.hint and group.hint not in hinted:
                lines.append(f"  Hint: {group.hint}")
                hinted.add(group.hint)
            if debug:
                lines.append("  " + group.traceback.strip().replace("\n", "\n  "))
        if not debug:
            lines.append("Tracebacks: rerun with hpsearch --debug run ...")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """The report for scripts."""
        return {
            "n_failed": self.n_failed,
            "n_fits": self.n_fits,
            "errors": [
                {
                    "error": g.error,
                    "n_fits": g.n_fits,
                    "candidates": list(g.candidates),
                    "hint": g.hint,
                }
                for g in self.groups
            ],
        }


def last_line(error: str | None) -> str:
    """The line of a traceback that says what went wrong."""
    lines = [line.strip() for line in (error or "").strip().splitlines()]
    lines = [line for line in lines if line]
    return lines[-1] if lines else "unknown error"


def hint_for(error: str) -> str | None:
    """What to do about an error, when hpsearch knows."""
    for pattern, hint in HINTS:
        if pattern.search(error):
            return hint
    return None


def failure_report(study: Any) -> FailureReport | None:
    """The failed fits of a stored study's latest search; None if none failed."""
    trials: Sequence[Any] = study.trials
    folds = [(t, f) for t in trials for f in t.folds]
    failed = [(t, f) for t, f in folds if f.status == "failed"]
    if not failed:
        return None
    by_error: dict[str, list[Any]] = {}
    for trial, fold in failed:
        by_error.setdefault(last_line(fold.error), []).append((trial, fold))
    groups = []
    for error, hits in sorted(by_error.items(), key=lambda item: -len(item[1])):
        candidates: dict[str, Mapping[str, Any]] = {}
        for trial, _ in hits:
            candidates.setdefault(trial.candidate.key, trial.candidate.params)
        groups.append(
            ErrorGroup(
                error=error,
                n_fits=len(hits),
                candidates=tuple(candidates.values()),
                traceback=hits[0][1].error or "",
                hint=hint_for(error),
            )
        )
    n_candidates_failed = len({t.candidate.key for t, _ in failed})
    return FailureReport(
        len(failed), len(folds), len(trials), n_candidates_failed, groups
    )


def _params(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in params.items()) or "(defaults)"
