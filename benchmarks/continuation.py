"""What continue_training saves: promoted candidates go on from their rung.

Successive halving and Hyperband over a budget parameter, each search with
every fit from scratch (scikit-learn's behaviour, hpsearch's default) and
with ``continue_training=True``, in the same process, in a rotating order,
``--reps`` times; the table gives the median wall time of ``fit`` (refit
included), its ratio to scikit-learn's halving search (to hpsearch's
from-scratch search where scikit-learn has none), the budget actually trained
(trees or epochs, counted by a callback in every fit, the refit's included),
the CPU time of the process (all searches run with n_jobs=1 in this
process: less sensitive than wall time to other work on a shared machine),
and the best score.

    python benchmarks/continuation.py             # the README's numbers
    python benchmarks/continuation.py --quick     # a smoke run, boosting only
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scipy.stats import loguniform, randint, uniform
from sklearn.datasets import load_digits, make_classification
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import HalvingGridSearchCV as SkHalvingGrid
from sklearn.model_selection import HalvingRandomSearchCV as SkHalvingRandom

import hpsearch

HERE = Path(__file__).resolve().parent


class Counter:
    """Counts the trees (a boosting ``monitor``) or epochs built, in a file."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __call__(self, *args: Any) -> bool:
        with open(self.path, "a") as f:
            f.write("1\n")
        return False

    def count(self) -> int:
        if not os.path.exists(self.path):
            return 0
        with open(self.path) as f:
            return len(f.read().split())


def boosting(quick: bool) -> tuple[Any, Any, Any, dict, dict]:
    X, y = make_classification(
        n_samples=300 if quick else 1000, n_features=20, random_state=0
    )
    space = {
        "max_depth": randint(1, 6),
        "learning_rate": loguniform(0.01, 0.5),
        "subsample": uniform(0.5, 0.5),
    }
    budget = dict(
        resource="n_estimators",
        min_resources=1 if quick else 9,
        max_resources=9 if quick else 243,
        factor=3,
    )
    return X, y, GradientBoostingClassifier(random_state=0), space, budget


def network(quick: bool) -> tuple[Any, Any, Any, dict, dict]:
    import torch
    from skorch.callbacks import Callback

    sys.path.insert(0, str(HERE.parent / "examples"))
    from nets import DigitsNet  # a skorch MLP on the digits, seeded

    torch.set_num_threads(1)
    X, y = load_digits(return_X_y=True)

    class EpochCount(Callback):
        def __init__(self, counter: Any = None) -> None:
            self.counter = counter

        def on_epoch_end(self, net: Any, **kwargs: Any) -> None:
            if self.counter is not None:
                self.counter()

    net = DigitsNet(max_epochs=1, callbacks=[("count", EpochCount())])
    grid = {"module__hidden": [8, 16, 32], "lr": [0.02, 0.05, 0.1, 0.2, 0.4]}
    budget = dict(
        resource="max_epochs", min_resources="exhaust", max_resources=27, factor=3
    )
    return X[:900], y[:900], net, grid, budget


def _searches(problem: str, quick: bool) -> dict[str, Callable[[Counter], Any]]:
    """name -> run(counter) for each search of ``problem``."""
    if problem == "network":
        X, y, estimator, space, budget = network(quick)
    else:
        X, y, estimator, space, budget = boosting(quick)
    common = dict(cv=3, random_state=0, **budget)
    ours = dict(progress=False, n_jobs=1, **common)

    def fit(search: Any, counter: Counter) -> Any:
        if problem == "network":
            search.estimator.set_params(callbacks__count__counter=counter)
            return search.fit(X, y)
        return search.fit(X, y, monitor=counter)

    if problem == "network":
        return {
            "sklearn HalvingGridSearchCV": lambda c: fit(
                SkHalvingGrid(estimator, space, **common), c
            ),
            "hpsearch, from scratch": lambda c: fit(
                hpsearch.HalvingGridSearchCV(estimator, space, **ours), c
            ),
            "hpsearch, continue_training": lambda c: fit(
                hpsearch.HalvingGridSearchCV(
                    estimator, space, continue_training=True, **ours
                ),
                c,
            ),
        }
    n = 9 if quick else 27
    hyperband = dict(n_iter=n, **{k: v for k, v in ours.items()})
    return {
        "sklearn HalvingRandomSearchCV": lambda c: fit(
            SkHalvingRandom(estimator, space, n_candidates=n, **common), c
        ),
        "hpsearch, from scratch": lambda c: fit(
            hpsearch.HalvingRandomSearchCV(estimator, space, n_candidates=n, **ours),
            c,
        ),
        "hpsearch, continue_training": lambda c: fit(
            hpsearch.HalvingRandomSearchCV(
                estimator, space, n_candidates=n, continue_training=True, **ours
            ),
            c,
        ),
        "HyperbandSearchCV, from scratch": lambda c: fit(
            hpsearch.HyperbandSearchCV(estimator, space, **hyperband), c
        ),
        "HyperbandSearchCV, continue_training": lambda c: fit(
            hpsearch.HyperbandSearchCV(
                estimator, space, continue_training=True, **hyperband
            ),
            c,
        ),
    }


def run(problem: str, quick: bool, reps: int) -> list[dict[str, Any]]:
    searches = _searches(problem, quick)
    names = list(searches)
    times: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    built: dict[str, int] = {}
    best: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(reps):
            order = names[rep % len(names) :] + names[: rep % len(names)]
            for name in order:
                counter = Counter(os.path.join(tmp, f"{rep}-{names.index(name)}"))
                start, start_cpu = time.perf_counter(), time.process_time()
                search = searches[name](counter)
                times[name].append(time.perf_counter() - start)
                cpu[name].append(time.process_time() - start_cpu)
                built[name] = counter.count()
                best[name] = float(search.best_score_)
    rows = []
    for name in names:
        reference = names[0] if "Hyperband" not in name else names[3]
        rows.append(
            {
                "problem": problem,
                "search": name,
                "wall": statistics.median(times[name]),
                "cpu": statistics.median(cpu[name]),
                "cpu_ratio": statistics.median(
                    a / b for a, b in zip(cpu[name], cpu[reference], strict=True)
                ),
                "ratio": statistics.median(
                    a / b for a, b in zip(times[name], times[reference], strict=True)
                ),
                "reference": reference,
                "built": built[name],
                "best": best[name],
            }
        )
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    unit = {"boosting": "trees", "network": "epochs"}
    lines = [
        "| problem | search | wall (s) | / reference | CPU (s) | / reference "
        "| budget trained | best score |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['problem']} | {r['search']} | {r['wall']:.2f} | {r['ratio']:.2f} "
            f"| {r['cpu']:.2f} | {r['cpu_ratio']:.2f} "
            f"| {r['built']} {unit[r['problem']]} | {r['best']:.4f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, 1 rep")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument(
        "--problems", nargs="*", default=None, help="boosting, network (default: both)"
    )
    args = parser.parse_args(argv)
    problems = args.problems or (
        ["boosting"] if args.quick else ["boosting", "network"]
    )
    reps = 1 if args.quick else args.reps
    rows = [row for problem in problems for row in run(problem, args.quick, reps)]
    text = table(rows)
    print(text)
    if not args.quick:
        out = HERE / "continuation_results.md"
        out.write_text(
            f"`python benchmarks/continuation.py --reps {reps}` on "
            f"{os.cpu_count()} cores, n_jobs=1, cv=3. / reference: the median "
            "per-repetition ratio of the wall (or CPU) time to that of the first "
            "search of the same kind (scikit-learn's halving search; hpsearch's "
            "Hyperband from scratch).\n\n" + text + "\n"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
