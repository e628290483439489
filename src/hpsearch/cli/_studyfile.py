"""Study files: one TOML file describes a search; it becomes the Python API's objects.

:func:`load_study_file` checks the whole file (structure, estimator, space,
scoring, cv, data) and returns a :class:`StudyPlan`: the ``GridSearchCV`` or
``RandomizedSearchCV`` that the file describes, with its data and ``fit``
arguments. Nothing is fitted or stored until ``plan.search.fit`` is called.
The space is checked by the search class itself (``SpaceError``); this module
only adds the file, line and key to its messages.

What a file may say is :mod:`hpsearch.cli._schema`'s business; a search
kind is one entry of its ``KINDS``.
"""

from __future__ import annotations

import dataclasses
import re
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sklearn.base import clone, is_classifier
from sklearn.model_selection import (
    GroupKFold,
    KFold,
    ParameterGrid,
    StratifiedGroupKFold,
    StratifiedKFold,
)
from sklearn.pipeline import Pipeline

from hpsearch._errors import SpaceError
from hpsearch._records import FOLDS, Candidate
from hpsearch.cli._columns import Column, check_candidates, profile
from hpsearch.cli._data import Dataset, load_data
from hpsearch.cli._estimators import (
    FAILED,
    in_file_words,
    is_estimator_table,
    make_estimator,
    problem_lines,
    set_fixed,
    to_value,
)
from hpsearch.cli._schema import (
    DEFAULT_STORAGE,
    DISTRIBUTIONS,
    KINDS,
    Kind,
    Overrides,
    check_structure,
    is_int,
    is_number,
)
from hpsearch.cli._toml import KeyPath, Problems, describe, dotted, parse
from hpsearch.strategies import Rung


@dataclass
class StudyPlan:
    """A checked study: the search to fit, on what, and how big it is."""

    path: Path
    name: str
    storage: str
    kind: str
    search: Any
    data: Dataset
    n_splits: int
    rungs: list[Rung]
    fit_params: dict[str, Any] = field(default_factory=dict)
    columns: list[Column] = field(default_factory=list)

    @property
    def n_proposed(self) -> int:
        """Candidates proposed, over every round, repeated ones included."""
        return sum(r.n_candidates for r in self.rungs)

    @property
    def n_candidates(self) -> int:
        """Candidates evaluated, over every round (repeated ones once)."""
        return sum(r.n_candidates - r.n_repeated for r in self.rungs)

    @property
    def n_fits(self) -> int:
        """Fits the search runs (repeated candidates once), before any resume."""
        return sum(self.rung_fits(i) for i in range(len(self.rungs)))

    def rung_fits(self, i: int) -> int:
        """Fits of rung ``i``: every split, or in a race on folds the folds
        its candidates add to those of the rung below."""
        rung = self.rungs[i]
        n = rung.n_candidates - rung.n_repeated
        if getattr(self.search, "resource", None) != FOLDS:
            return n * self.n_splits
        below = int(self.rungs[i - 1].resource or 0) if i else 0
        return n * (int(rung.resource or self.n_splits) - below)

    def fit(self) -> Any:
        """Run the search: the Python API's ``fit``, nothing more."""
        return self.search.fit(self.data.X, self.data.y, **self.fit_params)


def load_study_file(
    path: str | Path,
    overrides: Overrides | None = None,
    progress: bool = True,
    storage: str = DEFAULT_STORAGE,
) -> StudyPlan:
    """Check a study file whole and build the search it describes.

    ``overrides`` replace the file's values; ``storage`` is used when neither
    they nor the file name one.

    Raises
    ------
    StudyFileError
        Listing every problem found, each with the file, line and key.
    """
    overrides = overrides or Overrides()
    path = Path(path)
    label = str(path)
    # As `python script.py` does for a script: modules next to the study file
    # (a network's module class, a custom estimator) import by name.
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        sys.path.append(folder)
    doc, lines = parse(path, label)
    problems = Problems(label, lines)
    sound = check_structure(doc, problems, overrides)
    kind_name = doc["search"].get("kind", "grid") if "search" in sound else "grid"
    estimator, space, data = _build_parts(
        doc, sound, path, KINDS[kind_name], overrides, problems
    )
    problems.raise_if_any()
    assert data is not None  # no problems: all was built

    name = overrides.study or doc.get("study") or path.stem
    storage = overrides.storage or doc.get("storage") or storage
    cv = _build_cv(doc.get("cv", {}), estimator, data, problems)
    problems.raise_if_any()
    kind = KINDS[kind_name]
    search = kind.search_class(
        estimator,
        space,
        cv=cv,
        progress=progress,
        storage=storage,
        study=name,
        **_search_options(doc.get("search", {}), kind, overrides),
    )
    uses_groups = isinstance(cv, GroupKFold | StratifiedGroupKFold)
    fit_params = {"groups": data.groups} if uses_groups else {}
    n_splits = _count_splits(search, data, fit_params, doc, problems)
    columns = profile(data.X)
    candidates = _listed_choices(space)
    # The data understood before any fit: refuse columns the estimator cannot take.
    for message in check_candidates(
        estimator, candidates, data.X, columns, lambda v: clone(v, safe=False)
    ):
        problems.add_text(("data",), message)
    problems.raise_if_any()
    try:  # the rounds, with the checks that need the data (resources)
        rungs = search.plan(data.X, data.y, **fit_params)
    except (ValueError, TypeError) as exc:
        problems.add(("search",), f"must describe a search this data allows; {exc}")
        rungs = []
    problems.raise_if_any()
    return StudyPlan(
        path=path,
        name=name,
        storage=storage,
        kind=kind_name,
        search=search,
        data=data,
        n_splits=n_splits,
        rungs=rungs,
        fit_params=fit_params,
        columns=columns,
    )


def _listed_choices(space: Any) -> list[Candidate]:
    """Every combination of the space's listed values (distributions left
    out): the estimators and step stand-ins the search may build."""
    spaces = [space] if isinstance(space, Mapping) else list(space)
    listed = [
        {k: v for k, v in one.items() if isinstance(v, list | tuple)} for one in spaces
    ]
    return [Candidate(dict(p), "") for p in ParameterGrid(listed)]


def _build_parts(
    doc: dict[str, Any],
    sound: set[str],
    path: Path,
    kind: Kind,
    overrides: Overrides,
    problems: Problems,
) -> tuple[Any, Any, Dataset | None]:
    """Estimator, space and data; None where they failed.

    Each part is built when its own table is sound, so that one run of the
    command reports every problem it can.
    """
    estimator = space = data = None
    if "estimator" in sound:
        estimator = _build_estimator(doc["estimator"], problems)
    if "search" in sound:
        # What could be built is checked by the API, to report its problems too.
        space = _build_space(doc["search"]["space"], kind, problems)
    if "data" in sound:
        data = load_data(doc["data"], path.parent, problems)
    if estimator is not None and space:
        options = _search_options(doc["search"], kind, overrides)
        try:  # the API's own check of the space, as fit does it
            with warnings.catch_warnings():
                if problems.messages:  # the file is refused anyway: errors only
                    warnings.simplefilter("ignore")
                kind.search_class(estimator, space, **options).check_space()
        except SpaceError as exc:
            problems.messages.extend(
                _locate_space_error(exc.explanation, kind, problems)
            )
    return estimator, space, data


# ---------------------------------------------------------------------------
# Estimator and space: values built by hpsearch.cli._estimators


def _build_estimator(table: dict[str, Any], p: Problems) -> Any:
    if "steps" not in table:
        return make_estimator(table, ("estimator",), p, checked=True)
    steps = [
        (step["name"], make_estimator(step, ("estimator", "steps", i), p, checked=True))
        for i, step in enumerate(table["steps"])
    ]
    if any(est is None for _, est in steps):
        return None
    pipeline = Pipeline(steps)
    params = {
        k: to_value(v, ("estimator", "params", k), p)
        for k, v in table.get("params", {}).items()
    }
    params = {k: v for k, v in params.items() if v is not FAILED}
    set_fixed(pipeline, params, ("estimator", "params"), p)
    return pipeline


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
            values = to_value(value, here, p)
            if values is not FAILED:
                built[name] = values
        elif is_estimator_table(value):
            p.add(
                here,
                "must be an array of values; got one estimator table. Wrap it in "
                f"brackets to search it: {name} = [{{ class = ... }}], or list "
                "several to swap them.",
            )
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
            ok, rule = is_int(value), "an integer"
        else:
            ok, rule = is_number(value), "a number"
        if value is None:
            p.add(path, f"must have `{key}` ({rule}) for dist = {dist!r}; it has none.")
        elif not ok:
            p.add((*path, key), f"must be {rule}; got {describe(value)}.")
        else:
            args[key] = to_value(value, (*path, key), p)
    if any(v is FAILED for v in args.values()):
        return None
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


def _locate_space_error(message: str, kind: Kind, p: Problems) -> list[str]:
    """The API's SpaceError, one problem per line, with file, line and key."""
    located = []
    pattern = re.compile(
        rf"{kind.space_arg}(?:\[(\d+)\])?(?:\['([^']+)'\]| names '([^']+)')?"
    )
    for problem in problem_lines(message):
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
        located.append(
            f"{p.where((*path, name) if name else path)}: {in_file_words(text)}"
        )
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
    if isinstance(scoring, list) and scoring and refit is True:
        refit = scoring[0]  # several metrics: the first one picks the best
    options["refit"] = refit
    for key in (
        "error_score",
        "return_train_score",
        "fit_timeout",
        "storage_retry",
        *kind.options,
    ):
        if key in search:
            options[key] = search[key]
    options["n_jobs"] = search.get("n_jobs")
    options["backend"] = search.get("backend")
    for key, value in dataclasses.asdict(overrides).items():
        if value is not None and key in (
            "n_jobs",
            "backend",
            "n_iter",
            "timeout",
            "timeout_running",
            "fit_timeout",
        ):
            options[key] = value
    if overrides.retry_failed:
        options["retry_failed"] = True
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
