"""What a study is: :class:`StudySpec`, its fingerprints, and how reruns compare.

A stored result may be reused by a rerun only when it would have come out the
same: same estimator (class and fixed parameters), same data, same splits, same
scoring, same train-score setting, and a space over the same parameter names.
Those parts make the study's *identity*. The values of the space are not part
of it: candidates are stored one by one under their canonical key, so a grid
extended with new values reuses the results of the candidates it shares.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from hpsearch._space import canonical
from hpsearch._version import __version__

# Parts of a spec that must be equal for stored results to be reused, with
# the words a mismatch message uses for them.
IDENTITY = {
    "search": "the search class",
    "estimator": "the estimator or its fixed parameters",
    "parameters": "the names of the searched parameters",
    "cv": "the cross-validation splits",
    "scoring": "the scoring",
    "data": "the data",
    "return_train_score": "return_train_score",
    "resource": "the resource",
    "subsample_seed": "the random_state that draws the subsamples",
}


@dataclass(frozen=True)
class StudySpec:
    """What a stored study describes; plain JSON-able data.

    Attributes
    ----------
    search : str
        The search class, e.g. ``"GridSearchCV"``.
    estimator : object
        The estimator's class and fixed parameters, in canonical form.
    parameters : list of str
        The names of the searched parameters, sorted.
    space : object
        The search space as written (distributions by name and arguments).
    cv : dict
        ``n_splits`` and ``splits``, a hash of every split's indices.
    scoring : object
        The scoring as given (metric names; callables by name).
    data : dict
        A fingerprint (hash of the bytes) of ``X``, ``y`` and each fit
        parameter such as ``groups`` or ``sample_weight``.
    return_train_score : bool
        Whether train scores are recorded.
    refit : str or None
        The metric that ``best_*`` follow.
    error_score : float or str
        What failed fits score.
    random_state : int or None
        The seed that the search drew its candidates (and a halving search
        its subsamples) with.
    resource : str or None
        What a task's resource is (successive halving): "n_samples" or an
        estimator parameter; None for grid and random search.
    subsample_seed : int or None
        With ``resource="n_samples"``, the ``random_state`` the search was
        given (it draws each round's rows, so results at other seeds differ);
        None when it was None (the study's seed is then used) or not needed.
    versions : dict
        Python, hpsearch, scikit-learn, numpy and the estimator's package.
    """

    search: str
    estimator: Any
    parameters: list[str]
    space: Any
    cv: Mapping[str, Any]
    scoring: Any
    data: Mapping[str, str]
    return_train_score: bool = False
    refit: str | None = "score"
    error_score: Any = "nan"
    random_state: int | None = None
    versions: Mapping[str, str] = field(default_factory=dict)
    resource: str | None = None
    subsample_seed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The spec as a JSON-able dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StudySpec:
        """A spec from :meth:`to_dict`'s output.

        Unknown keys are ignored and missing ones left empty, so that a spec
        written by another version still reads.
        """
        names = cls.__dataclass_fields__
        empty: dict[str, Any] = {
            "search": "",
            "estimator": None,
            "parameters": [],
            "space": [],
            "cv": {"n_splits": 0, "splits": ""},
            "scoring": None,
            "data": {},
        }
        return cls(**{**empty, **{k: v for k, v in data.items() if k in names}})

    def identity(self) -> dict[str, Any]:
        """The parts that must match for stored results to be reused."""
        return {name: getattr(self, name) for name in IDENTITY}

    def fingerprint(self) -> str:
        """A short hash of :meth:`identity`."""
        text = json.dumps(self.identity(), sort_keys=True, separators=(",", ":"))
        return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def differences(stored: StudySpec, now: StudySpec) -> list[str]:
    """One line per identity part that differs between two specs."""
    lines = []
    old, new = stored.identity(), now.identity()
    for name, words in IDENTITY.items():
        if _norm(old[name]) == _norm(new[name]):
            continue
        if name == "data":
            parts = sorted(set(old[name]) | set(new[name]))
            changed = [p for p in parts if old[name].get(p) != new[name].get(p)]
            lines.append(f"{words} ({', '.join(changed)}) differ from the stored data")
        elif name == "estimator":
            lines.append(_estimator_difference(old[name], new[name]))
        elif name == "cv":
            lines.append(
                f"{words} differ: stored {old[name]['n_splits']} splits "
                f"({old[name]['splits'][:12]}), now {new[name]['n_splits']} splits "
                f"({new[name]['splits'][:12]})"
            )
        else:
            lines.append(
                f"{words} differ: stored {_short(old[name])}, now {_short(new[name])}"
            )
    return lines


def _estimator_difference(old: Any, new: Any) -> str:
    """Which fixed parameters differ, when the estimator's class is the same."""
    try:
        assert old["estimator"] == new["estimator"]
        before = {k: v for k, v in old["params"]["dict"]}
        after = {k: v for k, v in new["params"]["dict"]}
    except (AssertionError, KeyError, TypeError, ValueError):
        return f"the estimator differs: stored {_short(old)}, now {_short(new)}"
    changed = [
        f"{k} (stored {_value(before.get(k))}, now {_value(after.get(k))})"
        for k in sorted(set(before) | set(after))
        if _norm(before.get(k)) != _norm(after.get(k))
    ]
    return "the estimator's fixed parameters differ: " + ", ".join(changed)


def _value(data: Any) -> str:
    """A described value, as the user wrote it where that is plain."""
    if isinstance(data, dict) and set(data) == {"float"}:
        return data["float"]
    if isinstance(data, str):  # paths differ at their end: keep it
        text = repr(data)
        return text if len(text) <= 60 else "'..." + text[-56:]
    text = _short(data)
    return text if len(text) <= 60 else text[:57] + "..."


def _norm(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "..."


# ---------------------------------------------------------------------------
# Building a spec from a search


def build_spec(
    search: Any,
    X: Any,
    y: Any,
    params: Mapping[str, Any],
    splits: Sequence[Any],
    random_state: int | None,
) -> StudySpec:
    """The spec of ``search`` run on this data and these splits."""
    space = getattr(search, "param_grid", None)
    if space is None:
        space = search.param_distributions
    spaces = [space] if isinstance(space, Mapping) else list(space)
    refit = search.refit
    return StudySpec(
        search=type(search).__name__,
        estimator=describe(search.estimator),
        parameters=sorted({name for s in spaces for name in s}),
        space=[{name: describe(values) for name, values in s.items()} for s in spaces],
        cv={"n_splits": len(splits), "splits": hash_splits(splits)},
        scoring=describe(search.scoring),
        data={
            "X": fingerprint(X),
            **({} if y is None else {"y": fingerprint(y)}),
            **{name: fingerprint(value) for name, value in sorted(params.items())},
        },
        return_train_score=bool(search.return_train_score),
        refit=refit if isinstance(refit, str) else ("score" if refit else None),
        error_score=search.error_score
        if isinstance(search.error_score, str)
        else repr(float(search.error_score)),
        random_state=random_state,
        versions=versions(search.estimator),
        resource=getattr(search, "resource", None),
        subsample_seed=_subsample_seed(search),
    )


def _subsample_seed(search: Any) -> int | None:
    """The given seed of a search that subsamples rows per round, else None."""
    seed = getattr(search, "random_state", None)
    if getattr(search, "resource", None) != "n_samples":
        return None
    return int(seed) if isinstance(seed, int | np.integer) else None


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def describe(value: Any) -> Any:
    """A JSON-able description of ``value`` that is stable from run to run.

    As :func:`hpsearch._space.canonical`, with scipy distributions described by
    name and arguments and memory addresses removed from ``repr`` fallbacks.
    """
    if hasattr(value, "rvs") and hasattr(value, "dist"):  # a frozen scipy dist
        return {
            "distribution": getattr(value.dist, "name", type(value.dist).__name__),
            "args": canonical(list(value.args)),
            "kwds": canonical(dict(value.kwds)),
        }
    if hasattr(value, "_score_func"):  # a scorer made by make_scorer
        return {"scorer": _ADDRESS.sub("", repr(value))}
    return _strip(canonical(value))


def _strip(data: Any) -> Any:
    if isinstance(data, str):
        return _ADDRESS.sub("", data)
    if isinstance(data, list):
        return [_strip(v) for v in data]
    if isinstance(data, dict):
        return {k: _strip(v) for k, v in data.items()}
    return data


def hash_splits(splits: Sequence[Any]) -> str:
    """A hash of every split's train and test indices."""
    digest = hashlib.blake2b(digest_size=16)
    for train, test in splits:
        for part in (train, test):
            array = np.ascontiguousarray(np.asarray(part, dtype=np.int64))
            digest.update(len(array).to_bytes(8, "little"))
            digest.update(_bytes(array))
    return digest.hexdigest()


def fingerprint(value: Any) -> str:
    """A hash of the bytes of an array, sparse matrix, DataFrame or list.

    It reads every byte once (hashlib's blake2b, about 1 GB/s), with no copy
    for contiguous numeric arrays.
    """
    digest = hashlib.blake2b(digest_size=16)
    _feed(digest, value)
    return digest.hexdigest()


def _feed(digest: Any, value: Any) -> None:
    import pandas as pd
    import scipy.sparse as sp

    if value is None:
        digest.update(b"none")
    elif isinstance(value, pd.DataFrame):
        digest.update(f"frame{list(map(str, value.columns))}".encode())
        for _, column in value.items():
            _feed(digest, column)
    elif isinstance(value, pd.Series):
        digest.update(f"series{value.dtype}".encode())
        _feed_array(digest, value.to_numpy())
    elif sp.issparse(value):
        matrix = value.tocsr()
        digest.update(f"sparse{matrix.shape}".encode())
        for part in (matrix.data, matrix.indices, matrix.indptr):
            _feed_array(digest, part)
    elif isinstance(value, Mapping):
        digest.update(json.dumps(describe(value), sort_keys=True).encode())
    else:
        try:
            array = np.asarray(value)
        except ValueError:  # ragged lists: an object array of them
            array = np.empty(len(value), dtype=object)
            array[:] = list(value)
        _feed_array(digest, array)


def _feed_array(digest: Any, array: np.ndarray) -> None:
    import joblib
    import pandas as pd

    if array.dtype.kind == "O":
        digest.update(b"object")
        try:
            values = pd.util.hash_array(array.ravel())
        except TypeError:  # unhashable elements (lists, dicts)
            digest.update(joblib.hash(array).encode())
        else:
            digest.update(_bytes(values))
        return
    digest.update(f"{array.dtype.str}{array.shape}".encode())
    digest.update(_bytes(array))


def _bytes(array: np.ndarray) -> memoryview:
    """The array's bytes, without a copy when it is contiguous."""
    return np.ascontiguousarray(array).reshape(-1).view(np.uint8).data


def versions(estimator: Any) -> dict[str, str]:
    """The versions of the libraries a stored result depends on."""
    import sklearn

    found = {
        "python": platform.python_version(),
        "hpsearch": __version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
    }
    package = type(estimator).__module__.split(".")[0]
    module = sys.modules.get(package)
    if package not in ("sklearn", "numpy") and module is not None:
        found[package] = str(getattr(module, "__version__", "unknown"))
    return found
