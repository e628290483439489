"""The trial table: built once per snapshot, then sorted, filtered and paged.

A query is space-separated terms. ``name<op>value`` (``op`` one of ``=``,
``!=``, ``<``, ``<=``, ``>``, ``>=``) compares a column: as numbers where the
column holds numbers, as text (``=`` and ``!=`` only) otherwise. Any other
term must appear, case-insensitively, in the candidate's parameters text.
All terms must hold.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hpsearch._errors import HpsearchError
from hpsearch.plot import _data

_TERM = re.compile(r"^([A-Za-z_][\w.]*)\s*(<=|>=|!=|=|<|>)(.*)$")
_OPS = {
    "=": np.equal,
    "!=": np.not_equal,
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
}


class QueryError(HpsearchError, ValueError):
    """A trial-table query or sort names what the table does not have."""


@dataclass(frozen=True)
class TrialTable:
    """The table, each numeric parameter's numbers (to sort and compare),
    and each candidate's parameters text, lower case (to search)."""

    frame: pd.DataFrame
    numbers: dict[str, np.ndarray]
    text: np.ndarray


def trial_table(snapshot: Any) -> TrialTable:
    """One row per complete candidate: parameters, then the numbers.

    Numeric parameters are numbers, others their text (``label``).
    """
    study, src = snapshot.study, snapshot.source
    results = study.results_
    table = pd.DataFrame({"candidate": np.arange(len(results))})
    keys: dict[str, Any] = {}
    for name in src.params:
        ax = _data.axis(src, name)
        if ax.kind == "categorical":
            values = src.frame[f"param_{name}"]
            table[name] = [
                "" if v is _data._MISSING else _data.label(v) for v in values
            ]
        else:
            keys[name] = table[name] = _data.coordinates(src, ax)
    for column in results.columns:
        if column.startswith(("mean_", "std_", "rank_")):
            table[column] = results[column].to_numpy()
    table["status"] = src.frame["status"].to_numpy()
    if src.timed:
        table["finished_s"] = src.frame["finished"].to_numpy()
    text = np.array([t.lower() for t in src.texts], dtype=object)
    return TrialTable(table, keys, text)


@dataclass(frozen=True)
class Page:
    """Rows of one page of the trial table, and how many rows match."""

    total: int
    rows: list[dict[str, Any]]
    columns: list[str]


def page(
    trials: TrialTable,
    *,
    sort: str | None,
    descending: bool,
    query: str,
    status: str | None,
    offset: int,
    limit: int,
) -> Page:
    """Filter by ``query`` and ``status``, sort by ``sort``, slice."""
    table = trials.frame
    columns = list(table.columns)
    if sort is not None and sort not in columns:
        raise QueryError(
            f"sort must be a column of the trial table {columns}; got {sort!r}."
        )
    mask = _filter(trials, query)
    if status:
        mask &= table["status"].to_numpy() == status
    rows = np.flatnonzero(mask)
    if sort is not None:
        values = trials.numbers.get(sort, table[sort].to_numpy())
        part = values[rows]
        if part.dtype.kind in "fiu":
            # NaN (failed or unset) sorts last either way.
            nan = np.isnan(part.astype(float))
            order = np.lexsort((-part if descending else part, nan))
        else:
            order = np.argsort(part.astype(str), kind="stable")
            if descending:
                order = order[::-1]
        rows = rows[order]
    chosen = table.iloc[rows[offset : offset + limit]]
    records = [
        {str(k): _json(v) for k, v in record.items()}
        for record in chosen.to_dict(orient="records")
    ]
    return Page(len(rows), records, columns)


def _json(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def _filter(trials: TrialTable, query: str) -> np.ndarray:
    table = trials.frame
    mask = np.ones(len(table), bool)
    try:
        terms = shlex.split(query)
    except ValueError as exc:
        raise QueryError(
            f"query must have matching quotes; got {query!r} ({exc})."
        ) from None
    for term in terms:
        match = _TERM.match(term)
        if match is None:
            text = trials.text
            needle = term.lower()
            mask &= np.fromiter((needle in t for t in text), bool, len(text))
            continue
        name, op, raw = match.groups()
        if name not in table.columns:
            raise QueryError(
                f"query term {term!r} must name a column of the trial table "
                f"{list(table.columns)}; got {name!r}."
            )
        values = trials.numbers.get(name, table[name].to_numpy())
        if values.dtype.kind in "fiu":
            try:
                number = float(raw)
            except ValueError:
                raise QueryError(
                    f"query term {term!r} must compare {name} with a number; "
                    f"got {raw!r}."
                ) from None
            with np.errstate(invalid="ignore"):
                mask &= _OPS[op](values.astype(float), number)
        elif op in ("=", "!="):
            mask &= (values.astype(str) == raw) == (op == "=")
        else:
            raise QueryError(
                f"query term {term!r} must use = or != on the text column "
                f"{name}; got {op!r}."
            )
    return mask
