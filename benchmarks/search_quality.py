"""Which search finds a good model in fewer fits: search quality, not speed.

Four cheap problems built from scikit-learn's datasets, each with three or
four hyperparameters of which one or two matter; every method searches each
of them with ten seeds (grid search once: it has no seed), one search at a
time per process (n_jobs=1, so a run's order is its completion order), two
processes side by side. Methods: grid, random, successive halving
(``HalvingRandomSearchCV``), Hyperband (ASHA), Bayes (``BayesSearchCV``),
Bayes with Hyperband (``HyperbandSearchCV(sampler="bayes")``) and Optuna's
default ``TPESampler`` through ask/tell with ``cross_val_score`` on the same
folds, as the reference.

An *evaluation* is a candidate cross-validated on every fold at the full
budget; a budgeted method's evaluation at a fraction of the budget counts as
that fraction (resource-weighted). A run's best score at ``n`` evaluations is
the best score at the full budget among what finished by then. *Regret* per
problem is 0 at the best score any run saw and 1 at random search's mean best
after 10 evaluations. The tables give the mean regret at 20, 40 and 80
evaluations, the evaluations and the wall time each method needs to reach
random search's 80-evaluation best (each seed's run against random search's
run with that seed; the median over seeds, "-" when most did not), and for
the model-based methods the share of the wall time spent proposing; the
PNG plots the mean best score against evaluations and against wall time.

    python benchmarks/search_quality.py            # the full run; README table
    python benchmarks/search_quality.py --quick    # one problem, 2 seeds, tiny
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
START, END = "<!-- quality:start -->", "<!-- quality:end -->"
METHODS = [
    "grid",
    "random",
    "halving",
    "hyperband",
    "bayes",
    "bayes+hyperband",
    "optuna-tpe",
]
BUDGETED = {"halving", "hyperband", "bayes+hyperband"}


# ---------------------------------------------------------------------------
# Problems


@dataclass(frozen=True)
class Problem:
    """A dataset, an estimator, its space (and a grid of it), its budget."""

    make: Callable[[], tuple[Any, Any, Any]]  # X, y, estimator
    space: Callable[[], dict[str, Any]]
    grid: dict[str, list[Any]]
    resource: str  # "n_samples" or an estimator parameter
    max_resources: int
    natural_budget: bool  # training cost grows with the budget by design
    scoring: Callable[[], Any] | None = None  # None: the estimator's score


def _svc() -> tuple[Any, Any, Any]:
    from sklearn.datasets import load_digits
    from sklearn.svm import SVC

    X, y = load_digits(return_X_y=True)
    return X[:540] / 16, y[:540], SVC()


def _hinge() -> Any:
    # Accuracy on digits has a wide plateau (many settings tie at the top to
    # a sample or two): the hinge loss of the decision function ranks them.
    from sklearn.metrics import hinge_loss, make_scorer

    return make_scorer(
        hinge_loss, greater_is_better=False, response_method="decision_function"
    )


def _svc_space() -> dict[str, Any]:
    from scipy.stats import loguniform

    return {
        "C": loguniform(1e-2, 1e3),  # matters
        "gamma": loguniform(1e-4, 1e1),  # matters most
        "tol": loguniform(1e-5, 1e-1),
        "shrinking": [True, False],
    }


def _gbm() -> tuple[Any, Any, Any]:
    from sklearn.datasets import make_classification
    from sklearn.ensemble import GradientBoostingClassifier

    X, y = make_classification(
        300, 12, n_informative=5, flip_y=0.05, class_sep=0.7, random_state=0
    )
    return X, y, GradientBoostingClassifier(n_estimators=27, random_state=0)


def _gbm_space() -> dict[str, Any]:
    from scipy.stats import loguniform, randint, uniform

    return {
        "learning_rate": loguniform(1e-3, 1.0),  # matters
        "max_depth": randint(1, 8),  # matters
        "subsample": uniform(0.6, 0.4),
        "min_samples_leaf": randint(1, 20),
    }


def _sgd() -> tuple[Any, Any, Any]:
    from sklearn.datasets import make_classification
    from sklearn.linear_model import SGDClassifier

    X, y = make_classification(
        600, 60, n_informative=6, n_redundant=10, flip_y=0.02, random_state=1
    )
    return (
        X,
        y,
        SGDClassifier(max_iter=27, tol=None, penalty="elasticnet", random_state=0),
    )


def _sgd_space() -> dict[str, Any]:
    from scipy.stats import loguniform, uniform

    return {
        "alpha": loguniform(1e-6, 1e1),  # matters most
        "l1_ratio": uniform(0, 1),  # matters
        "loss": ["hinge", "log_loss", "modified_huber"],
    }


def _knn() -> tuple[Any, Any, Any]:
    from sklearn.datasets import make_friedman1
    from sklearn.neighbors import KNeighborsRegressor

    X, y = make_friedman1(540, n_features=6, noise=1.0, random_state=0)
    return X, y, KNeighborsRegressor()


def _knn_space() -> dict[str, Any]:
    from scipy.stats import randint

    return {
        "n_neighbors": randint(1, 80),  # matters most
        "weights": ["uniform", "distance"],  # matters
        "p": [1, 2],
        "leaf_size": randint(5, 100),
    }


PROBLEMS: dict[str, Problem] = {
    "svc_digits": Problem(
        _svc,
        _svc_space,
        {
            "C": [0.01, 0.1, 1, 10, 100],
            "gamma": [1e-4, 1e-3, 1e-2, 1e-1],
            "tol": [1e-4, 1e-2],
            "shrinking": [True, False],
        },
        "n_samples",
        540,
        natural_budget=True,
        scoring=_hinge,
    ),
    "gbm": Problem(
        _gbm,
        _gbm_space,
        {
            "learning_rate": [0.003, 0.03, 0.3, 1.0],
            "max_depth": [1, 3, 5, 7],
            "subsample": [0.6, 1.0],
            "min_samples_leaf": [1, 5, 15],
        },
        "n_estimators",
        27,
        natural_budget=True,
    ),
    "sgd_linear": Problem(
        _sgd,
        _sgd_space,
        {
            "alpha": [1e-6, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10],
            "l1_ratio": [0.0, 0.3, 0.6, 1.0],
            "loss": ["hinge", "log_loss", "modified_huber"],
        },
        "max_iter",
        27,
        natural_budget=True,
    ),
    "knn_regressor": Problem(
        _knn,
        _knn_space,
        {
            "n_neighbors": [1, 3, 6, 10, 20, 40, 79],
            "weights": ["uniform", "distance"],
            "p": [1, 2],
            "leaf_size": [5, 30, 90],
        },
        "n_samples",
        540,
        natural_budget=False,
    ),
}


# ---------------------------------------------------------------------------
# One run, in a worker process


class _Clock:
    """A scorer that also notes when each fold was scored, and for what."""

    def __init__(self, names: list[str], t0: float, scorer: Any) -> None:
        from sklearn.metrics import check_scoring

        self.names, self.t0 = names, t0
        self.log: list[tuple[str, float]] = []
        self._check_scoring = check_scoring
        self._scorer = scorer

    def __call__(self, estimator: Any, X: Any, y: Any) -> float:
        score = self._check_scoring(estimator, self._scorer)(estimator, X, y)
        params = estimator.get_params()
        self.log.append((_key(params, self.names), time.perf_counter() - self.t0))
        return float(score)


def _key(params: Any, names: list[str]) -> str:
    return repr([params[n] for n in names])


def _search(
    method: str, problem: Problem, seed: int, n_evals: int, scoring: Any
) -> Any:
    import hpsearch

    X, y, estimator = problem.make()
    common = dict(cv=3, n_jobs=1, refit=False, progress=False, scoring=scoring)
    space = problem.space()
    R = problem.max_resources
    budget = {}
    if method in BUDGETED:
        if problem.resource != "n_samples":
            estimator.set_params(**{problem.resource: R})
        budget = dict(
            resource=problem.resource, max_resources=R, min_resources=R // 9, factor=3
        )
    if method == "grid":
        return hpsearch.GridSearchCV(estimator, problem.grid, **common), X, y
    if method == "random":
        return (
            hpsearch.RandomizedSearchCV(
                estimator, space, n_iter=n_evals, random_state=seed, **common
            ),
            X,
            y,
        )
    if method == "bayes":
        return (
            hpsearch.BayesSearchCV(
                estimator, space, n_iter=n_evals, random_state=seed, **common
            ),
            X,
            y,
        )
    if method == "halving":
        # 3 rounds (R/9, R/3, R): n/9 + n/9 + n/9 evaluations for n = 3 n_evals.
        return (
            hpsearch.HalvingRandomSearchCV(
                estimator,
                space,
                n_candidates=3 * n_evals,
                random_state=seed,
                **budget,
                **common,
            ),
            X,
            y,
        )
    sampler = "bayes" if method == "bayes+hyperband" else "random"
    # ASHA on 3 rungs costs about n/3 evaluations for n candidates.
    return (
        hpsearch.HyperbandSearchCV(
            estimator,
            space,
            n_iter=3 * n_evals,
            random_state=seed,
            sampler=sampler,
            **budget,
            **common,
        ),
        X,
        y,
    )


def run_one(args: tuple[str, str, int, int]) -> dict[str, Any]:
    """One search: its rows as (finish time, weight, score at full budget)."""
    warnings.simplefilter("ignore")
    name, method, seed, n_evals = args
    problem = PROBLEMS[name]
    if method == "optuna-tpe":
        return _optuna(problem, seed, n_evals)
    names = sorted(problem.space())
    if method in BUDGETED and problem.resource != "n_samples":
        names.append(problem.resource)
    t0 = time.perf_counter()
    clock = _Clock(names, t0, problem.scoring and problem.scoring())
    search, X, y = _search(method, problem, seed, n_evals, clock)
    t0 = clock.t0 = time.perf_counter()
    search.fit(X, y)
    wall = time.perf_counter() - t0
    results = search.cv_results_
    n_res = results.get("n_resources")
    full = problem.max_resources
    finished: dict[str, list[float]] = {}
    for key, when in clock.log:
        finished.setdefault(key, []).append(when)
    rows = []
    seen: dict[str, list[Any]] = {}
    last = 0.0
    for i, params in enumerate(results["params"]):
        resource = None if n_res is None else int(n_res[i])
        values = dict(params)
        if resource is not None and problem.resource != "n_samples":
            values[problem.resource] = resource
        key = _key(values, names)
        rungs = seen.setdefault(key, [])
        if resource not in rungs:
            rungs.append(resource)
        k = rungs.index(resource)
        # A failed fit is never scored: it counts as done with the row before.
        times = finished.get(key, [])[3 * k : 3 * k + 3] or [last]
        last = max(times)
        weight = 1.0 if resource is None else resource / full
        score = float(results["mean_test_score"][i])
        at_full = resource is None or resource == full
        rows.append((max(times), weight, score if at_full else None))
    rows.sort(key=lambda r: r[0])
    proposing = getattr(search, "proposing_time_", None)
    return {"rows": rows, "wall": wall, "proposing": proposing}


def _optuna(problem: Problem, seed: int, n_evals: int) -> dict[str, Any]:
    import optuna
    from scipy.stats import rv_discrete
    from sklearn.model_selection import cross_val_score

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    X, y, estimator = problem.make()
    space = problem.space()
    distributions = {}
    for name, dist in space.items():
        if isinstance(dist, list):
            distributions[name] = optuna.distributions.CategoricalDistribution(dist)
        elif isinstance(dist.dist, rv_discrete):
            low, high = dist.support()
            distributions[name] = optuna.distributions.IntDistribution(
                int(low), int(high)
            )
        else:
            low, high = dist.support()
            log = dist.dist.name in ("loguniform", "reciprocal")
            distributions[name] = optuna.distributions.FloatDistribution(
                float(low), float(high), log=log
            )
    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed)
    )
    rows = []
    t0 = time.perf_counter()
    proposing = 0.0
    for _ in range(n_evals):
        start = time.perf_counter()
        trial = study.ask(distributions)
        proposing += time.perf_counter() - start
        model = estimator.set_params(**trial.params)
        scoring = problem.scoring and problem.scoring()
        score = float(np.mean(cross_val_score(model, X, y, cv=3, scoring=scoring)))
        study.tell(trial, score)
        rows.append((time.perf_counter() - t0, 1.0, score))
    return {"rows": rows, "wall": time.perf_counter() - t0, "proposing": proposing}


# ---------------------------------------------------------------------------
# Curves, regret, tables


def curve(rows: list[tuple[float, float, float | None]], n_evals: int) -> np.ndarray:
    """The best full-budget score after 1..n_evals evaluations (nan: none yet)."""
    best = np.full(n_evals, np.nan)
    spent, top = 0.0, -np.inf
    marks = []
    for _, weight, score in rows:
        spent += weight
        if score is not None and np.isfinite(score):
            top = max(top, score)
        marks.append((spent, top))
    for n in range(1, n_evals + 1):
        reached = [t for s, t in marks if s <= n + 1e-9]
        if reached and np.isfinite(reached[-1]):
            best[n - 1] = reached[-1]
    return best


def first_reach(rows: list[Any], target: float) -> tuple[float, float]:
    """(evaluations, seconds) at which a run's full-budget best reached target."""
    spent = 0.0
    for when, weight, score in rows:
        spent += weight
        if score is not None and score >= target - 1e-12:
            return spent, when
    return np.inf, np.inf


def summarize(
    runs: dict[tuple[str, str, int], dict[str, Any]], n_evals: int
) -> dict[str, Any]:
    """Per problem and method: regret at 1/4, 1/2, 1 of n_evals, reach."""
    checkpoints = [n_evals // 4, n_evals // 2, n_evals]
    anchor = max(n_evals // 8, 1)
    out: dict[str, Any] = {}
    for name in PROBLEMS:
        mine = {k: v for k, v in runs.items() if k[0] == name}
        if not mine:
            continue
        curves = {k: curve(v["rows"], n_evals) for k, v in mine.items()}
        best_any = max(
            s
            for v in mine.values()
            for _, _, s in v["rows"]
            if s is not None and np.isfinite(s)
        )
        random = [c for k, c in curves.items() if k[1] == "random"]
        worst = float(np.nanmean([c[anchor - 1] for c in random]))
        # Each seed's target: random search's best after n_evals, same seed.
        target = {k[2]: float(c[-1]) for k, c in curves.items() if k[1] == "random"}
        scale = best_any - worst if best_any > worst else 1.0
        table = {}
        for method in METHODS:
            keys = [k for k in curves if k[1] == method]
            if not keys:
                continue
            regret = [
                float(
                    np.nanmean(
                        [
                            (best_any - np.nan_to_num(curves[k][n - 1], nan=worst))
                            / scale
                            for k in keys
                        ]
                    )
                )
                for n in checkpoints
            ]
            reach = [
                first_reach(mine[k]["rows"], target.get(k[2], np.inf)) for k in keys
            ]
            walls = [mine[k]["wall"] for k in keys]
            proposing = [
                mine[k]["proposing"] for k in keys if mine[k]["proposing"] is not None
            ]
            table[method] = {
                "regret": regret,
                "evals_to_target": float(np.median([r[0] for r in reach])),
                "seconds_to_target": float(np.median([r[1] for r in reach])),
                "wall": float(np.median(walls)),
                "proposing_share": (
                    float(np.sum(proposing) / np.sum(walls)) if proposing else None
                ),
                "mean_curve": np.nanmean([curves[k] for k in keys], axis=0).tolist(),
            }
        out[name] = {
            "best_any": best_any,
            "random_at_anchor": worst,
            "target": float(np.mean(list(target.values()))),
            "natural_budget": PROBLEMS[name].natural_budget,
            "methods": table,
        }
    return out


def _num(x: float, unit: str = "") -> str:
    return "-" if not np.isfinite(x) else f"{x:.3g}{unit}" if unit else f"{x:.0f}"


def render(summary: dict[str, Any], n_evals: int, n_seeds: int) -> str:
    checkpoints = [n_evals // 4, n_evals // 2, n_evals]
    lines = [
        f"| problem | method | regret @{checkpoints[0]} | @{checkpoints[1]} "
        f"| @{checkpoints[2]} | evals to random's best | seconds to it | wall (s) "
        "| proposing |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, problem in summary.items():
        for method, m in problem["methods"].items():
            share = m["proposing_share"]
            lines.append(
                f"| {name} | {method} | "
                + " | ".join(f"{r:.2f}" for r in m["regret"])
                + f" | {_num(m['evals_to_target'])}"
                + f" | {_num(m['seconds_to_target'], ' s')}"
                + f" | {m['wall']:.1f}"
                + f" | {'' if share is None else f'{100 * share:.1f}%'} |"
            )
    means = {}
    for method in METHODS:
        values = [
            p["methods"][method]["regret"]
            for p in summary.values()
            if method in p["methods"]
        ]
        if values:
            means[method] = np.mean(values, axis=0)
    lines.append("")
    lines.append(f"Mean regret over the problems ({n_seeds} seeds each):")
    lines.append("")
    lines.append(
        f"| method | @{checkpoints[0]} | @{checkpoints[1]} | @{checkpoints[2]} |"
    )
    lines.append("|---|---|---|---|")
    for method, v in means.items():
        lines.append(f"| {method} | " + " | ".join(f"{x:.2f}" for x in v) + " |")
    return "\n".join(lines)


def targets(summary: dict[str, Any], n_evals: int) -> list[str]:
    """The issue's targets, each with whether it holds."""
    out = []
    by = {
        m: np.mean([p["methods"][m]["regret"][-1] for p in summary.values()])
        for m in ("bayes", "optuna-tpe")
        if all(m in p["methods"] for p in summary.values())
    }
    if len(by) == 2:
        ratio = by["bayes"] / by["optuna-tpe"] if by["optuna-tpe"] else np.inf
        out.append(
            f"Bayes mean regret @{n_evals} = {by['bayes']:.3f}, Optuna TPE's = "
            f"{by['optuna-tpe']:.3f}: ratio {ratio:.2f} (target <= 0.8): "
            f"{'holds' if ratio <= 0.8 else 'does not hold'}."
        )
    limit = round(n_evals * 30 / 80)
    reached = {
        n: p["methods"]["bayes"]["evals_to_target"]
        for n, p in summary.items()
        if "bayes" in p["methods"]
    }
    ok = all(v <= limit for v in reached.values())
    out.append(
        f"Bayes reaches random's {n_evals}-evaluation best within {limit} evaluations "
        "(median over seeds): "
        + ", ".join(f"{n} {_num(v)}" for n, v in reached.items())
        + f": {'holds' if ok else 'does not hold'} on every problem."
    )
    for name, p in summary.items():
        methods = p["methods"]
        if "random" not in methods:
            continue
        base = methods["random"]["seconds_to_target"]
        best = min(
            (methods[m]["seconds_to_target"], m)
            for m in ("hyperband", "bayes+hyperband")
            if m in methods
        )
        ok = best[0] <= base / 2
        kind = "natural budget" if p["natural_budget"] else "no natural budget"
        out.append(
            f"{name} ({kind}): random reaches its best in {_num(base, ' s')}, "
            f"{best[1]} in {_num(best[0], ' s')}: half or less "
            f"{'holds' if ok else 'does not hold'}."
        )
    shares = [
        (n, m, p["methods"][m]["proposing_share"])
        for n, p in summary.items()
        for m in ("bayes", "bayes+hyperband", "optuna-tpe")
        if m in p["methods"] and p["methods"][m]["proposing_share"] is not None
    ]
    out.append(
        "Proposing share of wall time (target <= 5%): "
        + ", ".join(f"{n}/{m} {100 * s:.1f}%" for n, m, s in shares)
        + "."
    )
    return out


def plot(
    summary: dict[str, Any], runs: dict[Any, Any], n_evals: int, path: Path
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        2, len(summary), figsize=(4.2 * len(summary), 7), squeeze=False
    )
    for j, (name, p) in enumerate(summary.items()):
        for method, m in p["methods"].items():
            axes[0][j].plot(range(1, n_evals + 1), m["mean_curve"], label=method)
            keys = [k for k in runs if k[0] == name and k[1] == method]
            horizon = max(runs[k]["wall"] for k in runs if k[0] == name)
            grid = np.linspace(0, horizon, 200)
            values = []
            for k in keys:
                best, top, i = [], -np.inf, 0
                rows = [r for r in runs[k]["rows"]]
                for t in grid:
                    while i < len(rows) and rows[i][0] <= t:
                        if rows[i][2] is not None and np.isfinite(rows[i][2]):
                            top = max(top, rows[i][2])
                        i += 1
                    best.append(top if np.isfinite(top) else np.nan)
                values.append(best)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                axes[1][j].plot(grid, np.nanmean(values, axis=0), label=method)
        low = p["random_at_anchor"] - 0.5 * (p["best_any"] - p["random_at_anchor"])
        for row in (0, 1):
            axes[row][j].set_ylim(low, p["best_any"] + 0.1 * (p["best_any"] - low))
            axes[row][j].axhline(p["target"], color="grey", lw=0.8, ls=":")
        axes[0][j].set_title(name)
        axes[0][j].set_xlabel("evaluations (resource-weighted)")
        axes[1][j].set_xlabel("wall time (s)")
    axes[0][0].set_ylabel("mean best score")
    axes[1][0].set_ylabel("mean best score")
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def proposing_cost(n_trials: int = 200) -> str:
    """Seconds per proposal of the model at ``n_trials`` on each problem's
    space (scores from a smooth function of the coordinates: the fits are
    not what is timed). CPU time too: on a busy machine the wall time also
    counts the waits for a core."""
    from hpsearch.strategies import ModelSampler

    lines = [
        f"| problem | trials {n_trials - 50}-{n_trials}: mean wall s/proposal "
        "| max | mean CPU s/proposal | max |",
        "|---|---|---|---|---|",
    ]
    for name, problem in PROBLEMS.items():
        sampler = ModelSampler(problem.space(), 0, 10)
        observed: dict[int, float] = {}
        wall, cpu = [], []
        for i in range(n_trials):
            start, start_cpu = time.perf_counter(), time.process_time()
            sampler.propose(i, observed, [])
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            u = sampler._points[i][1]
            observed[i] = float(-np.sum((u - 0.3) ** 2))
        w, c = wall[n_trials - 50 :], cpu[n_trials - 50 :]
        lines.append(
            f"| {name} | {np.mean(w):.3f} | {np.max(w):.3f} "
            f"| {np.mean(c):.3f} | {np.max(c):.3f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="one problem, 2 seeds, 12 evaluations"
    )
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--evals", type=int, default=80)
    parser.add_argument("--problems", nargs="*", default=None)
    parser.add_argument("--methods", nargs="*", default=None)
    parser.add_argument("--jobs", type=int, default=2, help="processes side by side")
    parser.add_argument("--no-readme", action="store_true")
    parser.add_argument(
        "--proposing", action="store_true", help="time proposals at 200 trials only"
    )
    parser.add_argument(
        "--cache", default=None, help="a JSON-lines file that keeps each run's result"
    )
    parser.add_argument("--out", default=str(HERE / "search_quality"))
    args = parser.parse_args(argv)
    if args.proposing:
        print(proposing_cost())
        return 0
    if args.quick:
        args.seeds, args.evals = 2, 12
        args.problems = args.problems or ["knn_regressor"]
        args.no_readme = True
    problems = args.problems or list(PROBLEMS)
    methods = args.methods or METHODS
    tasks = [
        (name, method, seed, args.evals)
        for name in problems
        for method in methods
        for seed in (range(1) if method == "grid" else range(args.seeds))
    ]
    # Seed by seed: a run cut short still has every method on its first seeds.
    tasks.sort(key=lambda t: (t[2], t[1] not in BUDGETED))
    start = time.perf_counter()
    runs: dict[tuple[str, str, int], dict[str, Any]] = {}
    env_threads = {
        k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    }
    os.environ.update(env_threads)
    # Each run is kept as it ends (--cache): a run stopped and started again
    # continues; --seeds N below what is cached summarises the first N seeds.
    cache = Path(args.cache) if args.cache else None
    if cache is not None and cache.exists():
        for line in cache.read_text().splitlines():
            entry = json.loads(line)
            runs[tuple(entry["task"][:3])] = entry["result"]  # type: ignore[index]
    todo = [t for t in tasks if t[:3] not in runs]
    with ProcessPoolExecutor(max(args.jobs, 1)) as pool:
        futures = {pool.submit(run_one, task): task for task in todo}
        for n, future in enumerate(as_completed(futures), 1):
            task = futures[future]
            runs[task[:3]] = result = future.result()
            print(f"[{n}/{len(todo)}] {task[:3]}", file=sys.stderr, flush=True)
            if cache is not None:
                with cache.open("a") as f:
                    f.write(json.dumps({"task": task, "result": result}) + "\n")
    runs = {k: v for k, v in runs.items() if k in {t[:3] for t in tasks}}
    for (name, method, _), result in list(runs.items()):
        if method == "grid":  # one run stands for every seed
            for seed in range(1, args.seeds):
                runs[name, method, seed] = result
    summary = summarize(runs, args.evals)
    table = render(summary, args.evals, args.seeds)
    checks = targets(summary, args.evals)
    if not args.quick:
        table += (
            "\n\nThe model's cost per proposal at 200 trials:\n\n" + proposing_cost()
        )
    took = time.perf_counter() - start
    header = (
        f"Measured by `make bench` ({args.seeds} seeds, {args.evals} evaluations, "
        f"cv=3, n_jobs=1 per search, {args.jobs} searches side by side on 2 cores; "
        f"{time.strftime('%Y-%m-%d')}; {took / 60:.1f} min in all)."
    )
    text = "\n\n".join(
        [header, table, "Targets:\n\n" + "\n".join(f"- {c}" for c in checks)]
    )
    print(text)
    out = Path(args.out)
    if not args.quick:
        out.with_suffix(".md").write_text(text + "\n")
        out.with_suffix(".json").write_text(json.dumps(summary, indent=1))
        plot(summary, runs, args.evals, out.with_suffix(".png"))
        if not args.no_readme:
            readme = README.read_text()
            if START in readme:
                head, rest = readme.split(START, 1)
                _, tail = rest.split(END, 1)
                image = "![search quality](benchmarks/search_quality.png)"
                block = f"{START}\n{text}\n\n{image}\n{END}"
                README.write_text(head + block + tail)
    else:
        plot(summary, runs, args.evals, Path(args.out).with_suffix(".quick.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
