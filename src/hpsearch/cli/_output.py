"""What the command line prints: Rich tables for people, JSON for scripts."""

from __future__ import annotations

import importlib
import inspect
import json
import math
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table


def console(stderr: bool = False) -> Console:
    """A console on stdout (or stderr); wide when it is not a terminal."""
    file = sys.stderr if stderr else sys.stdout
    width = None if file.isatty() else 160
    return Console(file=file, width=width, highlight=False, soft_wrap=False)


def storage_text(url: str) -> str:
    """A storage URL to print: any password masked as ***."""
    if "://" not in url:
        return url
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


def jsonable(value: Any) -> Any:
    """Plain JSON values: numpy scalars as numbers, NaN as null, dates as ISO text."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime | pd.Timestamp):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    return repr(value)


def dumps(value: Any) -> str:
    """``value`` as indented JSON text, newline-terminated."""
    return json.dumps(jsonable(value), indent=2) + "\n"


def print_json(value: Any) -> None:
    """Write ``value`` as indented JSON on stdout."""
    sys.stdout.write(dumps(value))


def readable(value: Any) -> Any:
    """A stored spec's tagged values (``{"float": "0.1"}``...) as plain values."""
    if isinstance(value, list):
        return [readable(v) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"float"}:
        return float(value["float"])
    if len(value) == 1 and set(value) & {"list", "tuple"}:
        return readable(next(iter(value.values())))
    if set(value) == {"dict"}:
        return {str(k): readable(v) for k, v in value["dict"]}
    if "estimator" in value and set(value) <= {"estimator", "params"}:
        return {"class": value["estimator"], "params": readable(value.get("params"))}
    if len(value) == 1 and set(value) & {"callable", "repr"}:
        return next(iter(value.values()))
    if set(value) == {"distribution", "args", "kwds"}:  # a scipy.stats distribution
        args = [repr(a) for a in readable(value["args"])]
        args += [f"{k}={v!r}" for k, v in readable(value["kwds"]).items()]
        return Shown(f"{value['distribution']}({', '.join(args)})")
    return {k: readable(v) for k, v in value.items()}


class Shown(str):
    """Text that is shown as it is, without quotes, where values are repr'd."""

    def __repr__(self) -> str:
        return str(self)


def estimator_text(value: Mapping[str, Any]) -> str:
    """A stored estimator as scikit-learn prints it: non-default parameters only,
    estimators inside (steps, transformers, a meta-estimator's estimator) too."""
    name = str(value["class"]).rsplit(".", 1)[-1]
    params = value.get("params") or {}
    steps = params.get("steps")
    if isinstance(steps, list) and all(isinstance(s, list) for s in steps):
        inner = [
            f"{step}=" + (estimator_text(est) if isinstance(est, dict) else repr(est))
            for step, est in steps
        ]
        return f"{name}({', '.join(inner)})"
    defaults = _defaults(str(value["class"]))
    changed = [
        f"{k}={_brief(v)}"
        for k, v in params.items()
        if k in defaults and (defaults[k] is _REQUIRED or not _same(defaults[k], v))
    ]
    return f"{name}({', '.join(changed)})"


_REQUIRED = object()


def _same(default: Any, value: Any) -> bool:
    """Whether a stored value (readable form) is the constructor's default."""
    if callable(default) and isinstance(value, str):  # np.float64: "numpy.float64"
        module = getattr(default, "__module__", "")
        return f"{module}.{getattr(default, '__qualname__', '')}" == value
    if isinstance(default, float) and isinstance(value, float):
        return default == value or (math.isnan(default) and math.isnan(value))
    try:
        return bool(default == value)
    except Exception:  # an array compared elementwise
        return False


def _defaults(path: str) -> dict[str, Any]:
    """The constructor's defaults by parameter (_REQUIRED where it has none)."""
    module, _, attr = path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module.replace(":", ".")), attr)
        signature = inspect.signature(cls.__init__)
    except Exception:  # not importable here: show no parameters
        return {}
    return {
        k: _REQUIRED if p.default is inspect.Parameter.empty else p.default
        for k, p in signature.parameters.items()
        if k != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }


def short(value: Any) -> str:
    """One line for a spec part: a space as ``C=[1, 10], gamma=loguniform(...)``,
    several spaces separated by ``|``, estimators as scikit-learn prints them."""
    spaces = isinstance(value, list) and all(isinstance(v, dict) for v in value)
    if spaces and value and not any(set(v) == {"class", "params"} for v in value):
        return " | ".join(short(v) for v in value)
    if isinstance(value, dict) and set(value) != {"class", "params"}:
        return ", ".join(f"{k}={_brief(v)}" for k, v in value.items())
    return value if isinstance(value, str) else _brief(value)


def _brief(value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"class", "params"}:
        return estimator_text(value)
    if isinstance(value, list):
        return "[" + ", ".join(_brief(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_brief(v)}" for k, v in value.items()) + "}"
    return repr(value)


def metric_label(metric: str | None, scoring: Any) -> str:
    """The name to show for a metric: the scorer's name for a single "score"."""
    if metric in (None, "score") and isinstance(scoring, str):
        return scoring
    return metric or "score"


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A results frame as a list of JSON-able rows, candidate index included."""
    frame = frame.reset_index()
    return [jsonable(row) for row in frame.to_dict(orient="records")]


def metric_names(frame: pd.DataFrame) -> list[str]:
    """The metrics of a results frame, from its ``rank_test_<metric>`` columns."""
    return [
        c.removeprefix("rank_test_")
        for c in frame.columns
        if c.startswith("rank_test_")
    ]


def param_columns(frame: pd.DataFrame) -> list[str]:
    """The parameter columns: those before the first score column."""
    names = []
    for column in frame.columns:
        if column.startswith(("mean_", "std_", "rank_", "split")) or column == "status":
            break
        names.append(column)
    return names


def top(frame: pd.DataFrame, n: int | None, metric: str | None = None) -> pd.DataFrame:
    """The ``n`` best rows by ``metric``'s rank (all rows when n is None)."""
    metrics = metric_names(frame)
    if not metrics:
        return frame.head(n) if n else frame
    metric = metric if metric in metrics else metrics[0]
    ordered = frame.sort_values(f"rank_test_{metric}", kind="stable")
    return ordered if n is None else ordered.head(n)


def _cell(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return "" if math.isnan(value) else f"{value:.4g}"
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "None"
    return str(value)


def _param_cell(row: Any, name: str, settings: Any) -> str:
    """A parameter's value; from the candidate's own setting when given, since
    the frame holds None as NaN."""
    if settings is None:
        return _cell(row[name])
    setting = settings[row.name]
    return "" if name not in setting else str(setting[name])


def results_table(
    frame: pd.DataFrame,
    title: str,
    metric: str | None = None,
    scoring: Any = None,
    params: Sequence[Mapping[str, Any]] | None = None,
) -> Table:
    """A table of candidates: rank, parameters, mean ± std per metric, fit time."""
    metrics = metric_names(frame)
    metric = metric if metric in metrics else (metrics[0] if metrics else None)
    table = Table(title=title, title_justify="left")
    if metric:
        table.add_column("rank", justify="right")
    names, settings = param_columns(frame), params
    for name in names:
        table.add_column(name)
    for m in metrics:
        table.add_column(f"{metric_label(m, scoring)} (mean ± std)", justify="right")
    table.add_column("fit time (s)", justify="right")
    if "status" in frame:
        table.add_column("status")
    for _, row in frame.iterrows():
        cells = [str(int(row[f"rank_test_{metric}"]))] if metric else []
        cells += [_param_cell(row, name, settings) for name in names]
        cells += [
            f"{_cell(row[f'mean_test_{m}'])} ± {_cell(row[f'std_test_{m}'])}"
            for m in metrics
        ]
        cells.append(_cell(row.get("mean_fit_time", float("nan"))))
        if "status" in frame:
            cells.append(str(row["status"]))
        table.add_row(*cells)
    return table


def params_text(params: Mapping[str, Any]) -> str:
    """``C=10, gamma=0.001``."""
    return ", ".join(f"{k}={v!r}" for k, v in params.items()) or "(defaults)"
