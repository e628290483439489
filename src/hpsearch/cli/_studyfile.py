"""Study files: one TOML file describes a search; it becomes the Python API's objects.

:func:`load_study_file` checks the whole file (structure, estimator, space,
scoring, cv, data) and returns a :class:`StudyPlan`: the ``GridSearchCV`` or
``RandomizedSearchCV`` that the file describes, with its data and ``fit``
arguments. Nothing is fitted or stored until ``plan.search.fit`` is called.
The space is checked by the search class itself (``SpaceError``); this module
only adds the file, line and key to its messages.

A search kind is one entry of :data:`KINDS`: the search class, the name of its
space argument, and the options of ``[search]`` it takes.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import scipy.stats
from sklearn.base import is_classifier
from sklearn.metrics import get_scorer_names
from sklearn.model_selection import (
    GroupKFold,
    KFold,
    StratifiedGroupKFold,
    StratifiedKFold,
)
from sklearn.pipeline import Pipeline

from hpsearch._errors import SpaceError
from hpsearch._search import GridSearchCV, RandomizedSearchCV
from hpsearch.cli._data import Dataset, load_data
from hpsearch.cli._toml import KeyPath, Problems, describe, dotted, parse

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


KINDS: dict[str, Kind] = {
    "grid": Kind(GridSearchCV, "param_grid", distributions=False),
    "random": Kind(
        RandomizedSearchCV,
        "param_distributions",
        distributions=True,
        options=("n_iter", "random_state"),
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


@dataclass
class StudyPlan:
    """A checked study: the search to fit, on what, and how big it is."""

    path: Path
    name: str
    storage: str
    kind: str
    search: Any
    data: Dataset
    n_candidates: int
    n_splits: int
    n_proposed: int
    fit_params: dict[str, Any] = field(default_factory=dict)

    @property
    def n_fits(self) -> int:
        """Fits the search runs (repeated candidates once), before any resume."""
        return self.n_candidates * self.n_splits

    def fit(self) -> Any:
        """Run the search: the Python API's ``fit``, nothing more."""
        return self.search.fit(self.data.X, self.data.y, **self.fit_params)


def load_study_file(
    path: str | Path, overrides: Overrides | None = None, progress: bool = True
) -> StudyPlan:
    """Check a study file whole and build the search it describes.

    Raises
    ------
    StudyFileError
        Listing every problem found, each with the file, line and key.
    """
    overrides = overrides or Overrides()
    path = Path(path)
    label = str(path)
    doc, lines = parse(path, label)
    problems = Problems(label, lines)
    sound = _check_structure(doc, problems, overrides)
    # Each part is checked when its own table is sound, so that one run of
    # the command reports every problem it can.
    estimator = space = data = None
    if "estimator" in sound:
        estimator = _build_estimator(doc["estimator"], problems)
    search_doc = doc.get("search", {})
    kind_name = search_doc.get("kind", "grid") if "search" in sound else "grid"
    kind = KINDS[kind_name]
    if "search" in sound:
        # What could be built is checked by the API, to report its problems too.
        space = _build_space(search_doc["space"], kind, problems)
    if "data" in sound:
        data = load_data(doc["data"], path.parent, problems)
    strategy = None
    if estimator is not None and space:
        try:  # the API's own check of the space, as fit does it
            with warnings.catch_warnings():
                if problems.messages:  # the file is refused anyway: errors only
                    warnings.simplefilter("ignore")
                strategy = kind.search_class(
                    estimator, space, **_search_options(search_doc, kind, overrides)
                )._make_strategy()
        except SpaceError as exc:
            problems.messages.extend(_locate_space_error(str(exc), kind, problems))
    problems.raise_if_any()
    assert data is not None and strategy is not None  # no problems: all was built

    name = overrides.study or doc.get("study") or path.stem
    storage = overrides.storage or doc.get("storage") or DEFAULT_STORAGE
    cv = _build_cv(doc.get("cv", {}), estimator, data, problems)
    problems.raise_if_any()
    search = kind.search_class(
        estimator,
        space,
        cv=cv,
        progress=progress,
        storage=storage,
        study=name,
        **_search_options(search_doc, kind, overrides),
    )
    candidates = strategy.propose([])
    uses_groups = isinstance(cv, GroupKFold | StratifiedGroupKFold)
    fit_params = {"groups": data.groups} if uses_groups else {}
    n_splits = _count_splits(search, data, fit_params, doc, problems)
    problems.raise_if_any()
    return StudyPlan(
        path=path,
        name=name,
        storage=storage,
        kind=kind_name,
        search=search,
        data=data,
        n_candidates=len({c.key for c in candidates}),
        n_splits=n_splits,
        n_proposed=len(candidates),
        fit_params=fit_params,
    )


# ---------------------------------------------------------------------------
# Structure: keys, types and values that need no import


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_structure(
    doc: dict[str, Any], p: Problems, overrides: Overrides
) -> set[str]:
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
        step_list = table["steps"]
        if not (isinstance(step_list, list) and step_list):
            p.add(
                (*path, "steps"),
                "must be a non-empty array of tables, each written "
                f"[[estimator.steps]]; got {describe(step_list)}.",
            )
            return
        names = set()
        for i, step in enumerate(step_list):
            if not isinstance(step, dict):
                p.add((*path, "steps", i), f"must be a table; got {describe(step)}.")
                continue
            _check_estimator_table(step, (*path, "steps", i), p, steps=False)
            name = step.get("name")
            if not (isinstance(name, str) and name and "__" not in name):
                p.add(
                    (*path, "steps", i, "name"),
                    "must be a step name without '__' (it prefixes the step's "
                    f"parameters, as in svc__C); got {describe(name)}.",
                )
            elif name in names:
                p.add(
                    (*path, "steps", i, "name"),
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
    kind = search.get("kind", "grid")
    if kind not in KINDS:
        p.add(
            ("search", "kind"),
            f"must be one of {', '.join(map(repr, KINDS))}; got {describe(kind)}.",
        )
    else:
        for option in ("n_iter", "random_state"):
            if option in search and option not in KINDS[kind].options:
                p.add(
                    ("search", option),
                    f'applies to kind = "random" only; got it with kind = {kind!r}. '
                    "Remove it or change the kind.",
                )
        if overrides.n_iter is not None and "n_iter" not in KINDS[kind].options:
            p.add(
                ("search", "kind"),
                f'must be "random" for --n-iter to apply; got {kind!r}.',
            )
    if "space" not in search:
        p.add(
            ("search",),
            "must have a space, e.g. [search.space] C = [0.1, 1, 10]; it has none.",
        )
    elif not (
        isinstance(search["space"], dict)
        or (
            isinstance(search["space"], list)
            and search["space"]
            and all(isinstance(s, dict) for s in search["space"])
        )
    ):
        p.add(
            ("search", "space"),
            "must be a table (or an array of tables, written [[search.space]]); "
            f"got {describe(search['space'])}.",
        )
    sound = len(p.messages) == before
    _check_search_values(search, p)
    return sound


def _check_search_values(search: dict[str, Any], p: Problems) -> None:
    if "n_iter" in search and not (_is_int(search["n_iter"]) and search["n_iter"] >= 1):
        p.add(
            ("search", "n_iter"),
            f"must be an integer >= 1; got {describe(search['n_iter'])}.",
        )
    for key in ("random_state", "n_jobs"):
        if key in search and not _is_int(search[key]):
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
    if not (_is_number(score) or score == "raise"):
        p.add(
            ("search", "error_score"),
            f'must be a number, nan or "raise"; got {describe(score)}.',
        )
    scoring = search.get("scoring")
    metrics = [scoring] if isinstance(scoring, str) else scoring
    if scoring is not None:
        if not (
            isinstance(metrics, list)
            and metrics
            and all(isinstance(m, str) for m in metrics)
        ):
            p.add(
                ("search", "scoring"),
                "must be a scorer name or an array of scorer names; got "
                f"{describe(scoring)}.",
            )
            metrics = []
        known = get_scorer_names()
        for metric in metrics:
            if metric not in known:
                close = difflib.get_close_matches(metric, known, n=3)
                hint = (
                    f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
                )
                p.add(
                    ("search", "scoring"),
                    f"must name scikit-learn scorers; got {metric!r}.{hint} "
                    "All names: sklearn.metrics.get_scorer_names().",
                )
    refit = search.get("refit", True)
    if not (
        isinstance(refit, bool) or (isinstance(refit, str) and refit in (metrics or []))
    ):
        p.add(
            ("search", "refit"),
            "must be true, false or one of the scoring names "
            f"({', '.join(map(repr, metrics or [])) or 'none given'}); "
            f"got {describe(refit)}.",
        )


def _check_cv(cv: Any, p: Problems) -> None:
    if not isinstance(cv, dict):
        p.add(("cv",), f"must be a table; got {describe(cv)}.")
        return
    p.unknown_keys(cv, ("cv",), CV_KEYS)
    folds = cv.get("folds", 5)
    if not (_is_int(folds) and folds >= 2):
        p.add(("cv", "folds"), f"must be an integer >= 2; got {describe(folds)}.")
    for key in ("shuffle", "stratified", "group"):
        if key in cv and not isinstance(cv[key], bool):
            p.add(("cv", key), f"must be true or false; got {describe(cv[key])}.")
    if "random_state" in cv:
        if not _is_int(cv["random_state"]):
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


# ---------------------------------------------------------------------------
# Estimator: import paths, fixed parameters checked by the API's space check


def _import(path_text: str, path: KeyPath, p: Problems) -> Any:
    module_name, _, attr = path_text.rpartition(".")
    if not module_name:
        p.add(
            path,
            f'must be a full import path such as "sklearn.svm.SVC"; got {path_text!r}.',
        )
        return None
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        p.add(
            path,
            f"must be an importable path; got {path_text!r}, but module "
            f"{module_name!r} cannot be imported ({exc}). Is it installed?",
        )
        return None
    obj = getattr(module, attr, None)
    if obj is None:
        public = [n for n in dir(module) if not n.startswith("_")]
        close = difflib.get_close_matches(attr, public, n=3)
        hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
        p.add(
            path,
            f"must be an importable path; got {path_text!r}, but module "
            f"{module_name!r} has no {attr!r}.{hint}",
        )
        return None
    if not (isinstance(obj, type) and hasattr(obj, "get_params")):
        p.add(
            path,
            "must name a scikit-learn-compatible estimator class (with "
            f"get_params and set_params); got {path_text!r}.",
        )
        return None
    return obj


def _build_estimator(table: dict[str, Any], p: Problems) -> Any:
    if "steps" not in table:
        return _make(table, ("estimator",), p)
    steps = [
        (step["name"], _make(step, ("estimator", "steps", i), p))
        for i, step in enumerate(table["steps"])
    ]
    if any(est is None for _, est in steps):
        return None
    pipeline = Pipeline(steps)
    _set_fixed(pipeline, table.get("params", {}), ("estimator", "params"), p)
    return pipeline


def _make(table: dict[str, Any], path: KeyPath, p: Problems) -> Any:
    cls = _import(table["class"], (*path, "class"), p)
    if cls is None:
        return None
    try:
        estimator = cls()
    except Exception as exc:
        p.add(
            (*path, "class"),
            f"must be constructible without arguments (fixed parameters go in "
            f"params); {table['class']}() raised {type(exc).__name__}: {exc}",
        )
        return None
    _set_fixed(estimator, table.get("params", {}), (*path, "params"), p)
    return estimator


def _set_fixed(
    estimator: Any, params: dict[str, Any], path: KeyPath, p: Problems
) -> None:
    """Set fixed parameters, each checked as a one-value grid by the API."""
    params = {k: to_python(v) for k, v in params.items()}
    valid = estimator.get_params(deep=True)
    known = {k: v for k, v in params.items() if k in valid}
    for name in params:
        if name not in valid:
            close = difflib.get_close_matches(name, list(valid), n=3)
            hint = f"Did you mean {' or '.join(map(repr, close))}? " if close else ""
            p.add(
                (*path, name),
                f"must be a parameter of {type(estimator).__name__}; got {name!r}. "
                f"{hint}Valid parameters: {', '.join(sorted(valid))}.",
            )
    try:
        GridSearchCV(estimator, {k: [v] for k, v in known.items()})._make_strategy()
    except SpaceError as exc:
        for problem in _problem_lines(str(exc)):
            match = re.match(r"param_grid\['([^']+)'\] (.*)", problem, re.S)
            if match:
                p.add((*path, match.group(1)), match.group(2))
            else:
                p.add(path, problem)
    estimator.set_params(**known)


# ---------------------------------------------------------------------------
# Space: lists of values and distribution tables


def to_python(value: Any) -> Any:
    """TOML values as parameter values: the string "None" is None."""
    if value == NONE:
        return None
    if isinstance(value, list):
        return [to_python(v) for v in value]
    return value


def _build_space(space: Any, kind: Kind, p: Problems) -> Any:
    if isinstance(space, list):
        return [
            _build_one_space(s, ("search", "space", i), kind, p)
            for i, s in enumerate(space)
        ]
    return _build_one_space(space, ("search", "space"), kind, p)


def _build_one_space(
    space: dict[str, Any], path: KeyPath, kind: Kind, p: Problems
) -> dict[str, Any]:
    built = {}
    for name, value in space.items():
        here = (*path, name)
        if isinstance(value, list):
            built[name] = to_python(value)
        elif isinstance(value, dict) and kind.distributions:
            distribution = _build_distribution(value, here, p)
            if distribution is not None:
                built[name] = distribution
        elif isinstance(value, dict):
            p.add(
                here,
                "must be an array of values for a grid search; got a distribution "
                'table. Use kind = "random" for distributions, or list the values.',
            )
        else:
            fix = (
                " or a distribution table such as "
                '{ dist = "loguniform", low = 1e-3, high = 1e3 }'
                if kind.distributions
                else ""
            )
            p.add(
                here,
                f"must be an array of values{fix}; got {describe(value)}. "
                f"Wrap a single value in brackets: [{value!r}].",
            )
    return built


def _build_distribution(table: dict[str, Any], path: KeyPath, p: Problems) -> Any:
    dist = table.get("dist")
    if dist not in DISTRIBUTIONS:
        p.add(
            (*path, "dist"),
            f"must be one of {', '.join(map(repr, DISTRIBUTIONS))}; got "
            f"{describe(dist) if dist is not None else 'nothing'}.",
        )
        return None
    keys, make = DISTRIBUTIONS[dist]
    p.unknown_keys(table, path, ("dist", *keys))
    args = {}
    for key in keys:
        value = table.get(key)
        if key == "values":
            ok = isinstance(value, list) and len(value) > 0
            rule = "a non-empty array of values"
        elif dist == "randint":
            ok, rule = _is_int(value), "an integer"
        else:
            ok, rule = _is_number(value), "a number"
        if value is None:
            p.add(path, f"must have `{key}` ({rule}) for dist = {dist!r}; it has none.")
        elif not ok:
            p.add((*path, key), f"must be {rule}; got {describe(value)}.")
        else:
            args[key] = to_python(value)
    if len(args) < len(keys):
        return None
    if "low" in args and not args["low"] < args["high"]:
        p.add(
            (*path, "high"),
            f"must be greater than low ({args['low']!r}); got {args['high']!r}.",
        )
    elif dist == "loguniform" and args["low"] <= 0:
        p.add((*path, "low"), f"must be > 0 for a loguniform; got {args['low']!r}.")
    elif dist == "normal" and args["std"] <= 0:
        p.add((*path, "std"), f"must be > 0; got {args['std']!r}.")
    else:
        return make(**args)
    return None


def _problem_lines(message: str) -> list[str]:
    if message.startswith("The search space has "):
        return message.split("\n- ")[1:] or [message]
    return [message.split("\n- ", 1)[-1]]


def _locate_space_error(message: str, kind: Kind, p: Problems) -> list[str]:
    """The API's SpaceError, one problem per line, with file, line and key."""
    located = []
    pattern = re.compile(
        rf"{kind.space_arg}(?:\[(\d+)\])?(?:\['([^']+)'\]| names '([^']+)')?"
    )
    for problem in _problem_lines(message):
        match = pattern.match(problem)
        if match is None:
            located.append(f"{p.label}: {problem}")
            continue
        index, name = match.group(1), match.group(2) or match.group(3)
        path: KeyPath = ("search", "space")
        if index is not None:
            path = (*path, int(index))
        if match.group(3):
            text = f"{dotted(path)} names {name!r}" + problem[match.end() :]
        else:
            path = (*path, name) if name else path
            text = dotted(path) + problem[match.end() :]
        located.append(f"{p.where((*path, name) if name else path)}: {text}")
    return located


# ---------------------------------------------------------------------------
# Search options, cv


def _search_options(
    search: dict[str, Any], kind: Kind, overrides: Overrides
) -> dict[str, Any]:
    options: dict[str, Any] = {}
    scoring = search.get("scoring")
    if isinstance(scoring, list) and len(scoring) == 1:
        scoring = scoring[0]
    options["scoring"] = scoring
    refit = search.get("refit", True)
    if isinstance(scoring, list) and refit is True:
        refit = scoring[0]  # several metrics: the first one picks the best
    options["refit"] = refit
    for key in ("error_score", "return_train_score", *kind.options):
        if key in search:
            options[key] = search[key]
    options["n_jobs"] = search.get("n_jobs")
    options["backend"] = search.get("backend")
    for key, value in dataclasses.asdict(overrides).items():
        if key in ("n_jobs", "backend", "n_iter") and value is not None:
            options[key] = value
    return options


def _build_cv(cv: dict[str, Any], estimator: Any, data: Dataset, p: Problems) -> Any:
    folds = cv.get("folds", 5)
    shuffle = cv.get("shuffle", False)
    group = cv.get("group", data.groups is not None)
    if group and data.groups is None:
        p.add(
            ("cv", "group"),
            "needs a group column; got group = true without data.groups. "
            'Add groups = "<column>" to [data].',
        )
        return None
    stratified = cv.get("stratified")
    if stratified is None and not group and not shuffle:
        return folds  # scikit-learn's own choice: stratified for classifiers
    if stratified is None:
        stratified = is_classifier(estimator)
    seed = cv.get("random_state")
    if group and stratified:
        return StratifiedGroupKFold(folds, shuffle=shuffle, random_state=seed)
    if group:
        return GroupKFold(folds, shuffle=shuffle, random_state=seed)
    if stratified:
        return StratifiedKFold(folds, shuffle=shuffle, random_state=seed)
    return KFold(folds, shuffle=shuffle, random_state=seed)


def _count_splits(
    search: Any,
    data: Dataset,
    fit_params: dict[str, Any],
    doc: Mapping[str, Any],
    p: Problems,
) -> int:
    """Split the data now, so that a bad cv fails before anything runs."""
    from sklearn.model_selection import check_cv

    cv = check_cv(search.cv, data.y, classifier=is_classifier(search.estimator))
    try:
        return len(list(cv.split(data.X, data.y, **fit_params)))
    except ValueError as exc:
        path: KeyPath = ("cv", "folds") if "cv" in doc else ("data",)
        p.add(
            path,
            f"must split the data; {type(cv).__name__} cannot: {exc} "
            "Use fewer folds or other cv options.",
        )
        return 0
