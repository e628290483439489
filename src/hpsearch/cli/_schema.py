"""What a study file may say: its tables and keys, search kinds, distributions.

The checks here need no import and no data: keys, types and plain values.
Each records its problems with :class:`~hpsearch.cli._toml.Problems` and
says which tables are sound enough to build from, so that one run of the
command reports every problem it can.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import scipy.stats
from sklearn.metrics import get_scorer_names

from hpsearch._halving import HalvingGridSearchCV, HalvingRandomSearchCV
from hpsearch._hyperband import HyperbandSearchCV
from hpsearch._search import GridSearchCV, RandomizedSearchCV
from hpsearch.cli._toml import KeyPath, Problems, describe

DEFAULT_STORAGE = "sqlite:///hpsearch.db"

# TOML has no null: the string "None" stands for Python's None in parameter values.
NONE = "None"


@dataclass(frozen=True)
class Kind:
    """A search kind: its class, its space argument and its own options."""

    search_class: type
    space_arg: str
    distributions: bool
    options: tuple[str, ...] = ()


# Successive halving's own options, checked by the search class itself.
HALVING_OPTIONS = (
    "factor",
    "resource",
    "max_resources",
    "min_resources",
    "aggressive_elimination",
)
# A new search class (Hyperband, TPE) becomes a study-file kind here.
KINDS: dict[str, Kind] = {
    "grid": Kind(GridSearchCV, "param_grid", distributions=False),
    "random": Kind(
        RandomizedSearchCV,
        "param_distributions",
        distributions=True,
        options=("n_iter", "random_state"),
    ),
    "halving_grid": Kind(
        HalvingGridSearchCV,
        "param_grid",
        distributions=False,
        options=(*HALVING_OPTIONS, "random_state"),
    ),
    "halving_random": Kind(
        HalvingRandomSearchCV,
        "param_distributions",
        distributions=True,
        options=(*HALVING_OPTIONS, "n_candidates", "random_state"),
    ),
    "hyperband": Kind(
        HyperbandSearchCV,
        "param_distributions",
        distributions=True,
        options=(
            "factor",
            "resource",
            "max_resources",
            "min_resources",
            "n_iter",
            "brackets",
            "random_state",
        ),
    ),
}

# name -> (required keys, scipy.stats distribution from those keys)
DISTRIBUTIONS: dict[str, tuple[tuple[str, ...], Callable[..., Any]]] = {
    "loguniform": (
        ("low", "high"),
        lambda low, high: scipy.stats.loguniform(low, high),
    ),
    "uniform": (
        ("low", "high"),
        lambda low, high: scipy.stats.uniform(loc=low, scale=high - low),
    ),
    "randint": (("low", "high"), lambda low, high: scipy.stats.randint(low, high)),
    "normal": (("mean", "std"), lambda mean, std: scipy.stats.norm(mean, std)),
    "choice": (("values",), lambda values: values),
}

TOP_KEYS = ("study", "storage", "data", "estimator", "search", "cv")
SEARCH_KEYS = (
    "kind",
    "space",
    "scoring",
    "refit",
    "n_jobs",
    "backend",
    "error_score",
    "return_train_score",
    "n_iter",
    "random_state",
    *HALVING_OPTIONS,
    "n_candidates",
    "brackets",
)
CV_KEYS = ("folds", "shuffle", "random_state", "stratified", "group")


@dataclass(frozen=True)
class Overrides:
    """Command-line options that replace values of the study file."""

    storage: str | None = None
    study: str | None = None
    n_jobs: int | None = None
    backend: str | None = None
    n_iter: int | None = None
    timeout: float | None = None


_DURATION = re.compile(
    r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?"
)


def parse_duration(text: str) -> float:
    """Seconds in "90", "90s", "10m", "2h", "1h30m" or "1.5h"; ValueError else."""
    match = _DURATION.fullmatch(text.strip().lower())
    if not text.strip() or match is None or not any(match.groups()):
        raise ValueError(
            f"a duration must be seconds or a number with h, m or s (90, 90s, "
            f"10m, 2h, 1h30m); got {text!r}."
        )
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    total = 3600 * hours + 60 * minutes + seconds
    if total <= 0:
        raise ValueError(f"a duration must be more than 0 seconds; got {text!r}.")
    return total


def is_number(value: Any) -> bool:
    """An int or float, not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_int(value: Any) -> bool:
    """An int, not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_structure(doc: dict[str, Any], p: Problems, overrides: Overrides) -> set[str]:
    """Check keys and plain values; return the tables found sound."""
    sound = set()
    p.unknown_keys(doc, (), TOP_KEYS)
    for key in ("study", "storage"):
        if key in doc and not (isinstance(doc[key], str) and doc[key]):
            p.add((key,), f"must be a non-empty string; got {describe(doc[key])}.")
    for key, example in [
        ("data", 'source = "sklearn:iris"'),
        ("estimator", 'class = "sklearn.svm.SVC"'),
    ]:
        if key not in doc:
            p.add_text(
                (),
                f"the study file must have a [{key}] table; it has none. "
                f"Add one, e.g. [{key}] {example}.",
            )
        elif not isinstance(doc[key], dict):
            p.add((key,), f"must be a table; got {describe(doc[key])}.")
        else:
            sound.add(key)
    if "estimator" in sound:
        before = len(p.messages)
        _check_estimator_table(doc["estimator"], ("estimator",), p, steps=True)
        if len(p.messages) > before:
            sound.discard("estimator")
    if _check_search(doc.get("search"), p, overrides):
        sound.add("search")
    if "cv" in doc:
        _check_cv(doc["cv"], p)
    return sound


def _check_estimator_table(
    table: dict[str, Any], path: KeyPath, p: Problems, steps: bool
) -> None:
    keys = ("class", "params", "steps") if steps else ("name", "class", "params")
    p.unknown_keys(table, path, keys)
    has_class, has_steps = "class" in table, steps and "steps" in table
    if has_class == has_steps:
        p.add(
            path,
            "must have either `class` (an import path such as "
            '"sklearn.svm.SVC") or `steps` (a pipeline: [[estimator.steps]] '
            "tables); got " + ("both." if has_class else "neither."),
        )
    if has_class and not (isinstance(table["class"], str) and table["class"]):
        p.add(
            (*path, "class"), f"must be an import path; got {describe(table['class'])}."
        )
    if "params" in table and not isinstance(table["params"], dict):
        p.add(
            (*path, "params"),
            f"must be a table of fixed parameters; got {describe(table['params'])}.",
        )
    if has_steps:
        _check_steps(table["steps"], (*path, "steps"), p)


def _check_steps(steps: Any, path: KeyPath, p: Problems) -> None:
    if not (isinstance(steps, list) and steps):
        p.add(
            path,
            "must be a non-empty array of tables, each written "
            f"[[estimator.steps]]; got {describe(steps)}.",
        )
        return
    names = set()
    for i, step in enumerate(steps):
        if not isinstance(step, dict):
            p.add((*path, i), f"must be a table; got {describe(step)}.")
            continue
        _check_estimator_table(step, (*path, i), p, steps=False)
        name = step.get("name")
        if not (isinstance(name, str) and name and "__" not in name):
            p.add(
                (*path, i, "name"),
                "must be a step name without '__' (it prefixes the step's "
                f"parameters, as in svc__C); got {describe(name)}.",
            )
        elif name in names:
            p.add(
                (*path, i, "name"),
                f"must be unique among the steps; got {name!r} twice.",
            )
        names.add(name)


def _check_search(search: Any, p: Problems, overrides: Overrides) -> bool:
    """Check [search]; True when its kind and space can be built."""
    if search is None:
        p.add_text(
            (),
            "the study file must have a [search] table with a space; it has none. "
            'Add e.g. [search] kind = "grid" and [search.space] C = [0.1, 1, 10].',
        )
        return False
    if not isinstance(search, dict):
        p.add(("search",), f"must be a table; got {describe(search)}.")
        return False
    p.unknown_keys(search, ("search",), SEARCH_KEYS)
    before = len(p.messages)
    _check_kind(search, p, overrides)
    space = search.get("space")
    if space is None:
        p.add(
            ("search",),
            "must have a space, e.g. [search.space] C = [0.1, 1, 10]; it has none.",
        )
    elif not (
        isinstance(space, dict)
        or (
            isinstance(space, list)
            and space
            and all(isinstance(s, dict) for s in space)
        )
    ):
        p.add(
            ("search", "space"),
            "must be a table (or an array of tables, written [[search.space]]); "
            f"got {describe(space)}.",
        )
    sound = len(p.messages) == before
    _check_search_values(search, p)
    _check_scoring(search, p)
    return sound


def _check_kind(search: dict[str, Any], p: Problems, overrides: Overrides) -> None:
    kind = search.get("kind", "grid")
    if kind not in KINDS:
        p.add(
            ("search", "kind"),
            f"must be one of {', '.join(map(repr, KINDS))}; got {describe(kind)}.",
        )
        return
    for option in (
        "n_iter",
        "random_state",
        *HALVING_OPTIONS,
        "n_candidates",
        "brackets",
    ):
        if option in search and option not in KINDS[kind].options:
            names = [f'"{name}"' for name, k in KINDS.items() if option in k.options]
            kinds = " or ".join(
                [", ".join(names[:-1]), names[-1]] if names[1:] else names
            )
            p.add(
                ("search", option),
                f"applies to kind = {kinds} only; got it with kind = {kind!r}. "
                "Remove it or change the kind.",
            )
    if overrides.n_iter is not None and "n_iter" not in KINDS[kind].options:
        p.add(
            ("search", "kind"),
            f'must be "random" or "hyperband" for --n-iter to apply; got {kind!r}.',
        )


def _check_search_values(search: dict[str, Any], p: Problems) -> None:
    if "n_iter" in search and not (is_int(search["n_iter"]) and search["n_iter"] >= 1):
        p.add(
            ("search", "n_iter"),
            f"must be an integer >= 1; got {describe(search['n_iter'])}.",
        )
    for key in ("random_state", "n_jobs"):
        if key in search and not is_int(search[key]):
            p.add(("search", key), f"must be an integer; got {describe(search[key])}.")
    if "backend" in search and not isinstance(search["backend"], str):
        p.add(
            ("search", "backend"),
            'must be a string such as "loky", "threading" or "dask"; got '
            f"{describe(search['backend'])}.",
        )
    if "return_train_score" in search and not isinstance(
        search["return_train_score"], bool
    ):
        p.add(
            ("search", "return_train_score"),
            f"must be true or false; got {describe(search['return_train_score'])}.",
        )
    score = search.get("error_score", 0.0)
    if not (is_number(score) or score == "raise"):
        p.add(
            ("search", "error_score"),
            f'must be a number, nan or "raise"; got {describe(score)}.',
        )


def _check_scoring(search: dict[str, Any], p: Problems) -> None:
    scoring = search.get("scoring")
    metrics = [scoring] if isinstance(scoring, str) else scoring
    if scoring is not None and not (
        isinstance(metrics, list)
        and metrics
        and all(isinstance(m, str) for m in metrics)
    ):
        p.add(
            ("search", "scoring"),
            "must be a scorer name or an array of scorer names; got "
            f"{describe(scoring)}.",
        )
    metrics = metrics if isinstance(metrics, list) else []
    known = get_scorer_names()
    for metric in metrics:
        if isinstance(metric, str) and metric not in known:
            close = difflib.get_close_matches(metric, known, n=3)
            hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
            p.add(
                ("search", "scoring"),
                f"must name scikit-learn scorers; got {metric!r}.{hint} "
                "All names: sklearn.metrics.get_scorer_names().",
            )
    refit = search.get("refit", True)
    if not (isinstance(refit, bool) or (isinstance(refit, str) and refit in metrics)):
        p.add(
            ("search", "refit"),
            "must be true, false or one of the scoring names "
            f"({', '.join(map(repr, metrics)) or 'none given'}); "
            f"got {describe(refit)}.",
        )


def _check_cv(cv: Any, p: Problems) -> None:
    if not isinstance(cv, dict):
        p.add(("cv",), f"must be a table; got {describe(cv)}.")
        return
    p.unknown_keys(cv, ("cv",), CV_KEYS)
    folds = cv.get("folds", 5)
    if not (is_int(folds) and folds >= 2):
        p.add(("cv", "folds"), f"must be an integer >= 2; got {describe(folds)}.")
    for key in ("shuffle", "stratified", "group"):
        if key in cv and not isinstance(cv[key], bool):
            p.add(("cv", key), f"must be true or false; got {describe(cv[key])}.")
    if "random_state" in cv:
        if not is_int(cv["random_state"]):
            p.add(
                ("cv", "random_state"),
                f"must be an integer; got {describe(cv['random_state'])}.",
            )
        elif not cv.get("shuffle", False):
            p.add(
                ("cv", "random_state"),
                "only applies with shuffle = true; got shuffle = false. "
                "Add shuffle = true or remove random_state.",
            )
