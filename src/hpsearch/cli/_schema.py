"""What a study file may say: its tables and keys, search kinds, distributions.

The checks here need no import and no data: keys, types and plain values.
Each records its problems with :class:`~hpsearch.cli._toml.Problems` and
says which tables are sound enough to build from, so that one run of the
command reports every problem it can.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import scipy.stats
from sklearn.metrics import get_scorer_names

from hpsearch._bayes import BayesSearchCV
from hpsearch._errors import NotStorableError
from hpsearch._halving import HalvingGridSearchCV, HalvingRandomSearchCV
from hpsearch._hyperband import HyperbandSearchCV
from hpsearch._search import GridSearchCV, RandomizedSearchCV
from hpsearch.cli._toml import KeyPath, Problems, describe
from hpsearch.storage._base import check_study_name

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
    "continue_training",
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
            "continue_training",
            "sampler",
        ),
    ),
    "bayes": Kind(
        BayesSearchCV,
        "param_distributions",
        distributions=True,
        options=("n_iter", "n_initial", "random_state"),
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


@dataclass(frozen=True)
class Field:
    """One key of a study file: what it holds, for the checks and the JSON Schema.

    ``kind`` is "string", "integer", "number", "boolean", "names" (an array of
    column names), "table" or "any" (checked by code of its own; ``schema``
    describes it).
    """

    kind: str
    help: str
    rule: str = ""  # what the value must be, in words; default from kind
    minimum: int | None = None
    nonempty: bool = False
    enum: tuple[str, ...] = ()
    schema: Mapping[str, Any] | None = None  # the JSON Schema of an "any"

    def must(self) -> str:
        """``an integer >= 1``: the rule of the error messages."""
        if self.rule:
            return self.rule
        if self.kind == "integer":
            more = f" >= {self.minimum}" if self.minimum is not None else ""
            return f"an integer{more}"
        return {
            "string": "a non-empty string" if self.nonempty else "a string",
            "number": "a number",
            "boolean": "true or false",
            "names": "a non-empty array of column names",
            "table": "a table",
        }.get(self.kind, "a valid value")

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` has the field's kind (and bounds)."""
        if self.kind == "string":
            return isinstance(value, str) and (bool(value) or not self.nonempty)
        if self.kind == "integer":
            return is_int(value) and (self.minimum is None or value >= self.minimum)
        if self.kind == "number":
            return is_number(value)
        if self.kind == "boolean":
            return isinstance(value, bool)
        if self.kind == "names":
            return (
                isinstance(value, list)
                and bool(value)
                and all(isinstance(v, str) and v for v in value)
            )
        if self.kind == "table":
            return isinstance(value, dict)
        return True


TOP_FIELDS: dict[str, Field] = {
    "study": Field(
        "string",
        "The study's name; default: the file's name without .toml.",
        nonempty=True,
    ),
    "storage": Field(
        "string",
        "Where results are kept: sqlite:///file.db, a file path or "
        "postgresql://...; default sqlite:///hpsearch.db.",
        nonempty=True,
    ),
    "data": Field("table", "The data: a CSV or Parquet file, or sklearn:<dataset>."),
    "estimator": Field(
        "table", "The estimator: class and params, or a pipeline of steps."
    ),
    "search": Field("table", "The search: its kind, space, scoring and options."),
    "cv": Field("table", "How the data is split for cross-validation."),
}
DATA_FIELDS: dict[str, Field] = {
    "source": Field(
        "string",
        "A .csv or .parquet file (relative to the study file) or sklearn:<name>: "
        "iris, digits, wine, breast_cancer, diabetes.",
        nonempty=True,
    ),
    "target": Field(
        "string", "The column to predict.", rule="a column name", nonempty=True
    ),
    "groups": Field(
        "string",
        "A column of groups, for group-aware cv.",
        rule="a column name",
        nonempty=True,
    ),
    "features": Field("names", "The feature columns; default: every other column."),
    "categorical": Field(
        "names",
        "Columns read as pandas category dtype, for estimators with native "
        "categorical support (HistGradientBoosting*).",
    ),
}
SEARCH_FIELDS: dict[str, Field] = {
    "kind": Field(
        "string",
        "The search: grid (default), random, halving_grid, halving_random, "
        "hyperband or bayes.",
        enum=tuple(KINDS),
    ),
    "space": Field(
        "any", "The values to search: a [search.space] or [[search.space]] tables."
    ),
    "scoring": Field(
        "any", "A scorer name or an array of them; default: the estimator's score."
    ),
    "refit": Field("any", "true, false, or the scoring name that picks the best."),
    "n_jobs": Field("integer", "Parallel jobs; -1 uses every core. Default 1."),
    "backend": Field(
        "string",
        'Where fits run: "loky", "threading", "serial", "dask" or tcp://host:8786.',
        rule='a string such as "loky", "threading" or "dask"',
    ),
    "error_score": Field(
        "any",
        'The score of a failed fit: a number, nan, or "raise".',
        schema={"anyOf": [{"type": "number"}, {"const": "raise"}]},
    ),
    "return_train_score": Field("boolean", "Also score the training splits."),
    "n_iter": Field(
        "integer",
        "Candidates to sample (random, hyperband; bayes: to propose, default 50). "
        "Default 10.",
        minimum=1,
    ),
    "random_state": Field("integer", "The seed of a random or halving search."),
    "factor": Field(
        "number", "Halving: each round keeps 1/factor, with factor x more. Default 3."
    ),
    "resource": Field(
        "string",
        'Halving: "n_samples" (default) or an estimator parameter (n_estimators); '
        'hyperband also "folds" (a race on the cv folds).',
        nonempty=True,
    ),
    "max_resources": Field(
        "any",
        'Halving: the largest budget, a number or "auto" (every sample).',
        schema={"anyOf": [{"type": "integer"}, {"const": "auto"}]},
    ),
    "min_resources": Field(
        "any",
        'Halving: the first budget, a number, "exhaust" or "smallest".',
        schema={"anyOf": [{"type": "integer"}, {"enum": ["exhaust", "smallest"]}]},
    ),
    "aggressive_elimination": Field(
        "boolean", "Halving: more rounds on the smallest budget when needed."
    ),
    "n_candidates": Field(
        "any",
        'halving_random: candidates of the first round, a number or "exhaust".',
        schema={"anyOf": [{"type": "integer"}, {"const": "exhaust"}]},
    ),
    "brackets": Field(
        "integer",
        "hyperband: how many Hyperband brackets (1: plain ASHA, the default).",
        minimum=1,
    ),
    "continue_training": Field(
        "any",
        "Halving, hyperband: a promoted candidate continues its smaller rung's "
        'fit (warm_start) instead of starting again: true, false or "auto".',
        schema={"anyOf": [{"type": "boolean"}, {"const": "auto"}]},
    ),
    "sampler": Field(
        "string",
        'hyperband: where new candidates come from, "random" (default) or '
        '"bayes" (a model of the scores so far).',
        enum=("random", "bayes"),
    ),
    "n_initial": Field(
        "integer",
        "bayes: candidates that cover the space before the model proposes. Default 10.",
        minimum=1,
    ),
    "fit_timeout": Field(
        "number",
        "Seconds one fit may take: past it the fit is stopped, its worker "
        "replaced, and the fit recorded as failed. Fits run in worker processes.",
        rule="a number of seconds > 0",
        schema={"type": "number", "exclusiveMinimum": 0},
    ),
    "storage_retry": Field(
        "number",
        "Seconds the search rides out a storage that is away or busy before "
        "it stops. Default 300.",
        rule="a number of seconds >= 0",
        schema={"type": "number", "minimum": 0},
    ),
}
CV_FIELDS: dict[str, Field] = {
    "folds": Field("integer", "Number of folds; default 5.", minimum=2),
    "shuffle": Field("boolean", "Shuffle before splitting; default false."),
    "random_state": Field("integer", "The shuffling seed (with shuffle = true)."),
    "stratified": Field("boolean", "Stratified folds; default: yes for classifiers."),
    "group": Field(
        "boolean", "Group-aware folds; default: yes when data.groups is set."
    ),
}
ESTIMATOR_FIELDS: dict[str, Field] = {
    "class": Field(
        "string",
        'An estimator class by import path, such as "sklearn.svm.SVC".',
        rule="an import path",
        nonempty=True,
    ),
    "params": Field(
        "table",
        "Fixed parameters; a value may be an estimator table "
        "{ class = ..., params = ... }.",
        rule="a table of fixed parameters",
    ),
}
STEP_FIELDS: dict[str, Field] = {
    "name": Field(
        "string",
        "The step's name, without '__'; it prefixes its parameters (svc__C).",
        nonempty=True,
    ),
    **ESTIMATOR_FIELDS,
}
ESTIMATOR_KEYS = tuple(ESTIMATOR_FIELDS)
TOP_KEYS = tuple(TOP_FIELDS)
SEARCH_KEYS = tuple(SEARCH_FIELDS)
CV_KEYS = tuple(CV_FIELDS)


def check_fields(
    table: Mapping[str, Any], path: KeyPath, fields: Mapping[str, Field], p: Problems
) -> None:
    """Each present key's kind, from its field (unknown keys are not checked)."""
    for key, field in fields.items():
        if key in table and field.kind != "any" and not field.accepts(table[key]):
            p.add((*path, key), f"must be {field.must()}; got {describe(table[key])}.")


@dataclass(frozen=True)
class Overrides:
    """Command-line options that replace values of the study file."""

    storage: str | None = None
    study: str | None = None
    n_jobs: int | None = None
    backend: str | None = None
    n_iter: int | None = None
    retry_failed: bool = False
    timeout: float | None = None
    timeout_running: str | None = None
    fit_timeout: float | None = None


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
    check_fields(doc, (), {k: TOP_FIELDS[k] for k in ("study", "storage")}, p)
    name = doc.get("study")
    if overrides.study is None and isinstance(name, str) and name:
        try:
            check_study_name(name)
        except NotStorableError:
            p.add(
                ("study",),
                "must be a name without control characters (NUL, newline, tab, "
                f"escape, ...); got {name!r}. Use printable characters.",
            )
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
    keys = (*ESTIMATOR_KEYS, "steps") if steps else tuple(STEP_FIELDS)
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
    if not isinstance(kind, str) or kind not in KINDS:
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
        "sampler",
        "n_initial",
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
            f'must be "random", "hyperband" or "bayes" for --n-iter to apply; '
            f"got {kind!r}.",
        )


def _check_search_values(search: dict[str, Any], p: Problems) -> None:
    simple = {k: f for k, f in SEARCH_FIELDS.items() if k != "kind"}
    check_fields(search, ("search",), simple, p)
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
    check_fields(cv, ("cv",), CV_FIELDS, p)
    if (
        "random_state" in cv
        and is_int(cv["random_state"])
        and not cv.get("shuffle", False)
    ):
        p.add(
            ("cv", "random_state"),
            "only applies with shuffle = true; got shuffle = false. "
            "Add shuffle = true or remove random_state.",
        )
