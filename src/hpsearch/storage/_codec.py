"""Parameter values and fold results as plain JSON, and back, never pickles.

A stored parameter value must come back as the value the search used, so that
``load_study(...).best_params_`` can be set on an estimator. JSON alone keeps
numbers, strings, lists and ``None``; everything else is written as a small
tagged object:

=====================  ===============================================
value                  stored as
=====================  ===============================================
``1.5``, ``nan``       ``{"float": "1.5"}`` (``repr``: exact, NaN too)
``(1, 2)``             ``{"tuple": [1, 2]}``
``{"a": 1}``           ``{"dict": [["a", 1]]}`` (keys of any type)
``np.float32(0.5)``    ``{"numpy": "float32", "value": "0.5"}``
``np.array([1, 2])``   ``{"ndarray": [1, 2], "dtype": "int64"}``
``SVC(C=2)``           ``{"estimator": "sklearn.svm.SVC", "params": ...}``
``np.log``, classes    ``{"callable": "numpy.log"}``
=====================  ===============================================

Estimators come back by importing their class and calling it with their
stored parameters; callables by importing them by name. A value that would not
come back equal (a lambda, an open file, an estimator whose class cannot be
imported) is refused, with :func:`check_storable`, before the search starts.
"""

from __future__ import annotations

import importlib
import json
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hpsearch._errors import NotStorableError, StorageError
from hpsearch._records import FoldResult, Resource
from hpsearch.storage._base import PlanEntry


def encode_value(value: Any) -> Any:
    """The JSON-able form of a parameter value; raises NotStorableError."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.generic):
        if isinstance(value, np.bool_ | np.integer | np.floating):
            return {"numpy": value.dtype.name, "value": repr(value.item())}
        raise NotStorableError(_why(value, "numpy scalars of this kind"))
    if isinstance(value, int):
        if type(value) is not int:
            raise NotStorableError(_why(value, f"{type(value).__name__} values"))
        return value
    if isinstance(value, float):
        return {"float": repr(float(value))}
    if isinstance(value, list):
        return [encode_value(v) for v in value]
    if isinstance(value, tuple):
        return {"tuple": [encode_value(v) for v in value]}
    if isinstance(value, dict):
        return {"dict": [[encode_value(k), encode_value(v)] for k, v in value.items()]}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biufUS":
            raise NotStorableError(_why(value, f"arrays of dtype {value.dtype}"))
        return {
            "ndarray": encode_value(value.tolist()),
            "dtype": value.dtype.str,
            "shape": list(value.shape),
        }
    if isinstance(value, type) or (
        callable(value) and not hasattr(value, "get_params")
    ):
        return _encode_callable(value)
    if hasattr(value, "get_params"):
        return _encode_estimator(value)
    raise NotStorableError(_why(value, f"{type(value).__name__} objects"))


def decode_value(data: Any) -> Any:
    """The parameter value that :func:`encode_value` wrote."""
    if isinstance(data, list):
        return [decode_value(v) for v in data]
    if not isinstance(data, dict):
        return data
    if "float" in data:
        return float(data["float"])
    if "tuple" in data:
        return tuple(decode_value(v) for v in data["tuple"])
    if "dict" in data:
        return {decode_value(k): decode_value(v) for k, v in data["dict"]}
    if "numpy" in data:
        dtype = np.dtype(data["numpy"])
        text = data["value"]
        number: Any = {"b": lambda t: t == "True", "f": float}.get(dtype.kind, int)(
            text
        )
        return dtype.type(number)
    if "ndarray" in data:
        values = decode_value(data["ndarray"])
        return np.array(values, dtype=np.dtype(data["dtype"])).reshape(data["shape"])
    if "callable" in data:
        return _import(data["callable"])
    if "estimator" in data:
        cls = _import(data["estimator"])
        return cls(**decode_value(data["params"]))
    raise StorageError(
        f"A stored parameter value must be one hpsearch wrote; got {data!r}. "
        "Was the storage written by a newer hpsearch?"
    )


def check_storable(name: str, value: Any) -> Any:
    """Encode ``value`` and check that it reads back equal; return the encoding.

    Raises NotStorableError naming the parameter when it does not.
    """
    try:
        data = encode_value(value)
        back = decode_value(json.loads(dumps(data)))
        same = dumps(encode_value(back)) == dumps(data)
    except NotStorableError as exc:
        raise NotStorableError(
            f"Parameter {name!r} must hold values that a study can store as plain "
            f"data; got {_show(value)}: {exc} cannot be stored. "
            "Use numbers, strings, None, lists, tuples, dicts, numpy scalars or "
            "arrays, estimators, or classes and functions importable by name; or "
            "run without storage (storage=None)."
        ) from None
    except Exception as exc:  # a class that cannot be rebuilt from its params
        same = False
        detail = f" ({type(exc).__name__}: {exc})"
    else:
        detail = ""
    if not same:
        raise NotStorableError(
            f"Parameter {name!r} must hold values that a study can store as plain "
            f"data and read back equal; got {_show(value)}, which reads back "
            f"differently{detail}. Use values that can be rebuilt from their "
            "class and get_params(), or run without storage (storage=None)."
        )
    return data


def dumps(data: Any) -> str:
    """Compact, key-sorted JSON (NaN and infinities as Python writes them)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def _encode_callable(value: Any) -> dict[str, str]:
    module = getattr(value, "__module__", None)
    qualname = getattr(value, "__qualname__", None)
    if not module or not qualname or "<" in qualname:
        raise NotStorableError(_why(value, "functions without an importable name"))
    name = f"{module}:{qualname}"
    try:
        found = _import(name)
    except Exception:
        found = None
    if found is not value:
        raise NotStorableError(_why(value, f"objects not importable as {name}"))
    return {"callable": name}


def _encode_estimator(value: Any) -> dict[str, Any]:
    cls = type(value)
    # Import from the public module when it has the class (sklearn.svm, not
    # sklearn.svm._classes), so that a file stays readable across refactors.
    public = cls.__module__.split("._")[0]
    module = (
        public
        if getattr(_try_module(public), cls.__name__, None) is cls
        else (cls.__module__)
    )
    _encode_callable(cls)
    params = value.get_params(deep=False)
    return {
        "estimator": f"{module}:{cls.__qualname__}",
        "params": {"dict": [[k, encode_value(v)] for k, v in sorted(params.items())]},
    }


def _try_module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except Exception:
        return None


def _import(name: str) -> Any:
    module, _, qualname = name.partition(":")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _why(value: Any, what: str) -> str:
    return what


def _show(value: Any) -> str:
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} ({type(value).__name__})"


# ---------------------------------------------------------------------------
# Fold results


def encode_scores(scores: Mapping[str, Any] | None) -> str | None:
    """Scores as a JSON object of numbers; NaN and infinities as Python writes them."""
    if scores is None:
        return None
    return dumps({name: _number(value) for name, value in scores.items()})


def decode_scores(text: str | None) -> dict[str, Any] | None:
    """The scores :func:`encode_scores` wrote."""
    return None if text is None else json.loads(text)


def _number(value: Any) -> float | int:
    if isinstance(value, bool | np.bool_):
        return int(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    return float(value)


def encode_resource(resource: Resource) -> str:
    """A resource as key text: "" for none, else its JSON number."""
    if resource is None:
        return ""
    if isinstance(resource, np.generic):
        resource = resource.item()
    return json.dumps(resource)


def decode_resource(text: str | None) -> Resource:
    """The resource :func:`encode_resource` wrote."""
    return json.loads(text) if text else None


def encode_plan(entries: Sequence[PlanEntry]) -> str:
    """A study's plan as JSON: a key alone where there is no resource or round
    (as schema 1 wrote every entry), else ``[key, resource, round]``."""
    out: list[Any] = []
    for key, resource, round_ in entries:
        if resource is None and round_ == 0:
            out.append(key)
        else:
            out.append([key, decode_resource(encode_resource(resource)), int(round_)])
    return json.dumps(out)


def decode_plan(text: str | None) -> tuple[PlanEntry, ...]:
    """The plan :func:`encode_plan` (or schema 1) wrote."""
    entries = []
    for item in json.loads(text or "[]"):
        if isinstance(item, str):
            entries.append((item, None, 0))
        else:
            key, resource, round_ = item
            entries.append((key, resource, int(round_)))
    return tuple(entries)


def result_row(result: FoldResult) -> dict[str, Any]:
    """One fold result as a row of plain columns."""
    extra = {k: v for k, v in result.extra.items() if _is_json(v)}
    return {
        "candidate_key": result.candidate_key,
        "resource": encode_resource(result.resource),
        "split": int(result.split),
        "status": result.status,
        "test_scores": encode_scores(result.test_scores),
        "train_scores": encode_scores(result.train_scores),
        "n_test_samples": int(result.n_test_samples),
        "fit_time": float(result.fit_time),
        "score_time": float(result.score_time),
        "error": result.error,
        "started_at": float(result.started_at),
        "finished_at": float(result.finished_at),
        "extra": dumps(extra) if extra else None,
    }


def row_result(row: Mapping[str, Any]) -> FoldResult:
    """The fold result :func:`result_row` wrote."""
    return FoldResult(
        candidate_key=row["candidate_key"],
        split=int(row["split"]),
        test_scores=decode_scores(row["test_scores"]) or {},
        train_scores=decode_scores(row["train_scores"]),
        n_test_samples=int(row["n_test_samples"]),
        fit_time=float(row["fit_time"]),
        score_time=float(row["score_time"]),
        status=row["status"],
        error=row["error"],
        started_at=float(row["started_at"]),
        finished_at=float(row["finished_at"]),
        extra=json.loads(row["extra"]) if row["extra"] else {},
        resource=decode_resource(row.get("resource")),
    )


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
