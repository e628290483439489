"""The data of a study file: a CSV or Parquet file, or a scikit-learn dataset."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from hpsearch.cli._schema import DATA_FIELDS, check_fields
from hpsearch.cli._toml import Problems, describe

# scikit-learn's datasets that ship with it (no download), as `sklearn:<name>`.
SKLEARN_DATASETS = ("breast_cancer", "diabetes", "digits", "iris", "wine")
DATA_KEYS = tuple(DATA_FIELDS)
READERS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


@dataclass(frozen=True)
class Dataset:
    """Features, target and optional groups, with where they came from."""

    X: pd.DataFrame
    y: pd.Series
    groups: pd.Series | None
    source: str
    categorical: tuple[str, ...] = ()


def load_data(table: dict[str, Any], base: Path, p: Problems) -> Dataset | None:
    """Load ``[data]``; problems go to ``p`` (the caller raises them)."""
    before = len(p.messages)
    p.unknown_keys(table, ("data",), DATA_KEYS)
    source = table.get("source")
    if not (isinstance(source, str) and source):
        p.add(
            ("data", "source"),
            "must be a CSV or Parquet file path or sklearn:<name> "
            f"({', '.join(SKLEARN_DATASETS)}); got "
            f"{describe(source) if source is not None else 'nothing'}.",
        )
        return None
    others = {k: f for k, f in DATA_FIELDS.items() if k != "source"}
    check_fields(table, ("data",), others, p)
    if len(p.messages) > before:
        return None
    if source.startswith("sklearn:"):
        frame, default_target = _load_sklearn(source, p), "target"
    else:
        frame, default_target = _load_file(source, base, p), None
    if frame is None:
        return None
    return _select(frame, table, default_target, source, p)


def _load_sklearn(source: str, p: Problems) -> pd.DataFrame | None:
    name = source.removeprefix("sklearn:")
    if name not in SKLEARN_DATASETS:
        p.add(
            ("data", "source"),
            f"must name a bundled scikit-learn dataset; got {source!r}. "
            f"Available: {', '.join('sklearn:' + n for n in SKLEARN_DATASETS)}.",
        )
        return None
    import sklearn.datasets

    return getattr(sklearn.datasets, f"load_{name}")(as_frame=True).frame


def _load_file(source: str, base: Path, p: Problems) -> pd.DataFrame | None:
    path = base / source
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        p.add(
            ("data", "source"),
            f"must end in .csv or .parquet (or be sklearn:<name>); got {source!r}.",
        )
        return None
    if not path.is_file():
        p.add(
            ("data", "source"),
            f"must be an existing file; got {source!r}, and {path} does not exist. "
            "Paths are relative to the study file's folder.",
        )
        return None
    try:
        if reader == "csv":
            return pd.read_csv(path)
        return pd.read_parquet(path)
    except ImportError:
        p.add(
            ("data", "source"),
            "is a Parquet file, which needs pyarrow: pip install 'hpsearch[parquet]'.",
        )
    except Exception as exc:
        p.add(
            ("data", "source"),
            f"must be a readable {reader} file; got {source!r}: "
            f"{type(exc).__name__}: {exc}",
        )
    return None


def _select(
    frame: pd.DataFrame,
    table: dict[str, Any],
    default_target: str | None,
    source: str,
    p: Problems,
) -> Dataset | None:
    columns = [str(c) for c in frame.columns]
    target = table.get("target", default_target)
    if target is None:
        p.add(
            ("data",),
            "must name the target column of the file: target = "
            f'"<column>"; it names none. Columns: {_show(columns)}.',
        )
        return None
    named = {"target": target, "groups": table.get("groups")}
    for key in ("features", "categorical"):
        for i, column in enumerate(table.get(key) or []):
            named[f"{key}[{i}]"] = column
    before = len(p.messages)
    for key, column in named.items():
        if column is not None and column not in columns:
            close = difflib.get_close_matches(column, columns, n=1)
            hint = f"Did you mean {close[0]!r}? " if close else ""
            p.add(
                ("data", key.split("[")[0]),
                f"must be a column of {source}; got {column!r}. {hint}"
                f"Columns: {_show(columns)}.",
            )
    if len(p.messages) > before:
        return None
    groups = named["groups"]
    features = table.get("features") or [
        c for c in frame.columns if c not in (target, groups)
    ]
    categorical = table.get("categorical") or []
    for column in categorical:
        if column not in features:
            p.add(
                ("data", "categorical"),
                f"must name feature columns; got {column!r}, which is "
                + ("the target." if column == target else "not among the features.")
                + " Remove it from categorical, or add it to features.",
            )
    if len(p.messages) > before:
        return None
    X = frame[features].copy()
    for column in categorical:
        # pandas category dtype: what native categorical support reads.
        X[column] = X[column].astype("category")
    return Dataset(
        X=X,
        y=frame[target],
        groups=None if groups is None else frame[groups],
        source=source,
        categorical=tuple(categorical),
    )


def _show(columns: list[str]) -> str:
    return ", ".join(columns[:30]) + (
        f", ... ({len(columns)} in all)" if len(columns) > 30 else ""
    )
