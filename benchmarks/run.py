"""hpsearch against scikit-learn (and friends) on the workloads of workloads.py.

Every run is a fresh process; the implementations of a workload run one after
the other, in a rotating order, ``--reps`` times, so that a noisy machine
slows each of them alike. For each implementation the table gives the median
wall time of ``fit`` (refit included), the median of its per-repetition ratio
to scikit-learn's, the peak memory of its process tree, its ratio to the
*limit*, and whether ``best_params_`` and every mean test score equal
scikit-learn's.

The limit is the unique work divided by n_jobs: each distinct pipeline prefix
fitted once per split, each final step (or estimator) fitted and scored once
per distinct candidate and split (on the training part too when the search
returns train scores, as halving does by default), each piece timed once in a
fresh process (BLAS threads = cores / n_jobs), plus the refit, which no one
can share out.
It is measured in every repetition, in the rotation with the searches, and
each search's ratio to it is the median of its per-repetition ratios.

    python benchmarks/run.py                 # everything; the README's table
    python benchmarks/run.py --quick         # a smoke run on tiny sizes
    python benchmarks/run.py --workloads text_j2 --reps 5
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
IMPLS = ["sklearn", "hpsearch", "sklearn-memory", "dask-ml"]


# ---------------------------------------------------------------------------
# In the child process: one search, or the limit


def _search(impl: str, workload: Any, quick: bool, tmp: str) -> Any:
    X, y, estimator, space = workload.make(quick)
    options = dict(workload.options)
    if quick and "n_iter" in options:
        options["n_iter"] = 4
    if workload.random or workload.halving:
        options["random_state"] = 0
    kwargs = dict(cv=5, n_jobs=workload.n_jobs, **options)
    if impl == "hpsearch":
        import hpsearch

        cls = hpsearch.RandomizedSearchCV if workload.random else hpsearch.GridSearchCV
        if workload.halving:
            cls = hpsearch.HalvingGridSearchCV
        return cls(estimator, space, progress=False, **kwargs), X, y
    if impl == "dask-ml" and workload.halving:
        # dask-ml's SuccessiveHalvingSearchCV is another algorithm (partial_fit
        # on blocks): not the same results to compare.
        raise NotImplementedError("dask-ml has no HalvingGridSearchCV")
    if impl == "dask-ml":
        import dask_ml.model_selection as dms

        cls = dms.RandomizedSearchCV if workload.random else dms.GridSearchCV
        scheduler = "sync" if workload.n_jobs == 1 else "threads"
        return cls(estimator, space, scheduler=scheduler, **kwargs), X, y
    from sklearn import model_selection as ms

    if impl == "sklearn-memory":
        from joblib import Memory

        estimator = estimator.set_params(memory=Memory(tmp, verbose=0))
    cls = ms.RandomizedSearchCV if workload.random else ms.GridSearchCV
    if workload.halving:
        from sklearn.experimental import enable_halving_search_cv  # noqa: F401

        cls = ms.HalvingGridSearchCV
    return cls(estimator, space, **kwargs), X, y


def run_child(impl: str, name: str, quick: bool) -> dict[str, Any]:
    """Fit one search; its wall time, peak memory and results."""
    import warnings

    from workloads import WORKLOADS

    warnings.simplefilter("ignore")  # convergence and deprecation chatter
    workload = WORKLOADS[name]
    with tempfile.TemporaryDirectory() as tmp:
        search, X, y = _search(impl, workload, quick, tmp)
        start = time.perf_counter()
        search.fit(X, y)
        wall = time.perf_counter() - start
    return {
        "wall": wall,
        "best": repr(sorted(search.best_params_.items())),
        "means": [float(v) for v in search.cv_results_["mean_test_score"]],
    }


def run_limit(name: str, quick: bool) -> dict[str, Any]:
    """The unique work of a workload / n_jobs, plus the refit.

    hpsearch's serial evaluation times each distinct piece once: a shared
    prefix's time is shared out among its candidates, so summing the fit and
    score times of the distinct candidates counts each piece exactly once.
    """
    import warnings

    import numpy as np
    from threadpoolctl import threadpool_limits
    from workloads import WORKLOADS

    warnings.simplefilter("ignore")
    workload = WORKLOADS[name]
    search, X, y = _search("hpsearch", workload, quick, "")
    threads = max(1, (os.cpu_count() or 1) // workload.n_jobs)
    search.set_params(n_jobs=1)
    with threadpool_limits(threads), _train_scoring() as train_scoring:
        search.fit(X, y)
    results = search.cv_results_
    seen: dict[str, float] = {}
    resources = results.get("n_resources", [None] * len(results["params"]))
    for i, params in enumerate(results["params"]):
        # A halving candidate at another resource is another piece of work.
        key = repr((sorted(params.items()), resources[i]))
        per_split = results["mean_fit_time"][i] + results["mean_score_time"][i]
        seen[key] = float(per_split) * search.n_splits_
    # Scoring the training parts (return_train_score, halving's default) is
    # work too, which scikit-learn's score_time leaves out; each (candidate,
    # resource, split) is scored once, so its total is unique work.
    work = float(np.sum(list(seen.values()))) + sum(train_scoring)
    return {"limit": work / workload.n_jobs + search.refit_time_}


@contextlib.contextmanager
def _train_scoring() -> Any:
    """Time every scoring of a training part, in this process; yield the times.

    hpsearch's ``scored_result`` scores the test part, then (with
    ``return_train_score``) the training part: the second ``score`` call of
    each ``scored_result`` is the one to time. A shared prefix transforms the
    training part once for all its candidates (``_fit_leaf``), untimed too.
    """
    import hpsearch._evaluate as evaluate
    import hpsearch._prefix as prefix

    times: list[float] = []
    calls: list[list[float]] = []
    score, scored_result = evaluate.score, evaluate.scored_result
    fit_leaf = prefix._fit_leaf

    def timed_leaf(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        level = fit_leaf(*args, **kwargs)
        if level.Xtrain is not None:
            spent = time.perf_counter() - start
            times.append(max(0.0, spent - level.fit_time - level.score_time))
        return level

    def timed_score(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return score(*args, **kwargs)
        finally:
            if calls:
                calls[-1].append(time.perf_counter() - start)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append([])
        try:
            return scored_result(*args, **kwargs)
        finally:
            times.extend(calls.pop()[1:])

    evaluate.score, evaluate.scored_result = timed_score, counted
    prefix.scored_result, prefix._fit_leaf = counted, timed_leaf
    try:
        yield times
    finally:
        evaluate.score, evaluate.scored_result = score, scored_result
        prefix.scored_result, prefix._fit_leaf = scored_result, fit_leaf


def run_calibration() -> dict[str, Any]:
    """CPU seconds of a fixed compiled workload (SVC fits), timed in this process."""
    import warnings

    from sklearn.datasets import load_digits
    from sklearn.svm import SVC

    warnings.simplefilter("ignore")
    X, y = load_digits(return_X_y=True)
    SVC(gamma=0.001).fit(X, y)  # warm
    start = time.perf_counter()
    for _ in range(8):
        SVC(gamma=0.001).fit(X, y)
    return {"seconds": time.perf_counter() - start}


# ---------------------------------------------------------------------------
# In the parent: alternate runs, then the table


def machine_speedup() -> float:
    """How much faster two processes finish two equal pieces of work than one.

    2.0 on two idle cores; less when the machine's cores are shared with other
    work (a noisy neighbour on a virtual machine), which no scheduling can
    recover and which the limit does not account for.
    """
    env = dict(os.environ, PYTHONPATH=str(HERE))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--calibrate"]
    ratios = []
    for _ in range(3):
        alone = _child(["--calibrate"])["seconds"]
        procs = [
            subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
            for _ in range(2)
        ]
        pair = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
        ratios.append(2 * alone / max(r["seconds"] for r in pair))
    return statistics.median(ratios)


def _child(args: list[str]) -> dict[str, Any]:
    """Run this script in a fresh process; its JSON result and peak memory.

    Memory is sampled from here, not by a thread in the child: a sampling
    thread would hold the GIL of a search that runs on threads.
    """
    import psutil

    env = dict(os.environ, PYTHONPATH=str(HERE))
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), *args],
            stdout=stdout,
            stderr=stderr,
            text=True,
            env=env,
        )
        peak = 0
        child = psutil.Process(proc.pid)
        while proc.poll() is None:
            total = 0
            with contextlib.suppress(psutil.Error):  # a process that just exited
                for one in [child, *child.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        total += one.memory_info().rss
            peak = max(peak, total)
            time.sleep(0.05)
        stdout.seek(0)
        stderr.seek(0)
        out, err = stdout.read(), stderr.read()
    if proc.returncode != 0:
        return {"error": (err.strip().splitlines() or ["?"])[-1]}
    result = json.loads(out.strip().splitlines()[-1])
    return {**result, "peak_mb": peak / 2**20}


def dask_ml_status() -> str | None:
    """None if dask-ml imports with this scikit-learn; else why not."""
    probe = "import dask_ml.model_selection"
    proc = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", probe],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode == 0:
        return None
    return (proc.stderr.strip().splitlines() or ["import failed"])[-1]


def measure(names: list[str], reps: int, quick: bool) -> list[dict[str, Any]]:
    """Run everything; one row per (workload, implementation)."""
    from workloads import WORKLOADS

    dask_problem = dask_ml_status()
    rows = []
    for name in names:
        workload = WORKLOADS[name]
        impls = IMPLS if workload.pipeline else IMPLS[:2]
        if dask_problem is not None:
            impls = [i for i in impls if i != "dask-ml"]
        # The limit is measured in every repetition too, in the rotation, so
        # that each run is compared with a limit measured under the same load.
        runs: dict[str, list[dict[str, Any]]] = {i: [] for i in [*impls, "limit"]}
        flag = ["--quick"] if quick else []
        for rep in range(reps):
            rotation = [*impls, "limit"]
            k = rep % len(rotation)
            for impl in rotation[k:] + rotation[:k]:
                args = ["--limit", name] if impl == "limit" else ["--child", impl, name]
                result = _child([*args, *flag])
                runs[impl].append(result)
                print(f"  {name} rep {rep} {impl}: {_short(result)}", file=sys.stderr)
        limits = [r.get("limit", float("nan")) for r in runs.pop("limit")]
        rows += _rows(workload, runs, limits)
        if dask_problem is not None and workload.pipeline:
            rows.append({"workload": name, "impl": "dask-ml", "skip": dask_problem})
    return rows


def _short(result: dict[str, Any]) -> str:
    if "error" in result:
        return "error: " + result["error"]
    if "limit" in result:
        return f"limit {result['limit']:.2f} s"
    return f"{result['wall']:.2f} s, {result['peak_mb']:.0f} MB"


def _max_diff(runs: list[dict[str, Any]], reference: dict[str, Any] | None) -> float:
    """The largest difference of a mean test score from the reference's."""
    if reference is None:
        return float("nan")
    diffs = [
        abs(a - b)
        for r in runs
        for a, b in zip(r["means"], reference["means"], strict=True)
    ]
    return max(diffs, default=float("nan"))


def _rows(workload: Any, runs: dict, limits: list[float]) -> list[dict[str, Any]]:
    base = runs["sklearn"]
    rows = []
    for impl, results in runs.items():
        ok = [r for r in results if "error" not in r]
        if not ok:
            rows.append({"workload": workload.name, "impl": impl, "skip": results[0]})
            continue
        wall = statistics.median(r["wall"] for r in ok)
        ratios = [
            r["wall"] / b["wall"]
            for r, b in zip(results, base, strict=True)
            if "error" not in r and "error" not in b
        ]
        reference = next((b for b in base if "error" not in b), None)
        equal = reference is not None and all(
            r["best"] == reference["best"] and r["means"] == reference["means"]
            for r in ok
        )
        rows.append(
            {
                "workload": workload.name,
                "n_jobs": workload.n_jobs,
                "impl": impl,
                "wall": wall,
                "vs_sklearn": statistics.median(ratios) if ratios else float("nan"),
                "peak_mb": statistics.median(r["peak_mb"] for r in ok),
                "limit": statistics.median(limits),
                "vs_limit": statistics.median(
                    r["wall"] / lim
                    for r, lim in zip(results, limits, strict=True)
                    if "error" not in r
                ),
                "equal": equal,
                "diff": _max_diff(ok, reference),
            }
        )
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """A Markdown table."""
    head = (
        "| workload | n_jobs | implementation | wall (s) | / sklearn | peak MB "
        "| limit (s) | / limit | same results | max abs diff of means |\n"
        "|---|---:|---|---:|---:|---:|---:|---:|---|---:|"
    )
    lines = [head]
    for r in rows:
        if "skip" in r:
            lines.append(
                f"| {r['workload']} | | {r['impl']} | skipped: {r['skip']} | | | | | |"
            )
            continue
        lines.append(
            f"| {r['workload']} | {r['n_jobs']} | {r['impl']} | {r['wall']:.2f} "
            f"| {r['vs_sklearn']:.2f} | {r['peak_mb']:.0f} | {r['limit']:.2f} "
            f"| {r['vs_limit']:.2f} | {'yes' if r['equal'] else 'NO'} "
            f"| {r['diff']:.1e} |"
        )
    return "\n".join(lines)


def write_readme(text: str, header: str) -> None:
    """Put the table between the README's bench markers."""
    readme = README.read_text()
    if START not in readme or END not in readme:
        print(f"README.md has no {START} ... {END} markers; not updated")
        return
    before, rest = readme.split(START, 1)
    _, after = rest.split(END, 1)
    README.write_text(f"{before}{START}\n{header}\n\n{text}\n{END}{after}")


def main(argv: list[str] | None = None) -> int:
    """The command line: see the module docstring."""
    from workloads import WORKLOADS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, 1 rep")
    parser.add_argument("--reps", type=int, default=None, help="default: 3")
    parser.add_argument("--workloads", nargs="*", default=list(WORKLOADS))
    parser.add_argument("--child", nargs=2, metavar=("IMPL", "WORKLOAD"))
    parser.add_argument("--limit", metavar="WORKLOAD")
    parser.add_argument("--calibrate", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_child(*args.child, args.quick)))
        return 0
    if args.limit:
        print(json.dumps(run_limit(args.limit, args.quick)))
        return 0
    if args.calibrate:
        print(json.dumps(run_calibration()))
        return 0
    reps = args.reps or (1 if args.quick else 3)
    before = None if args.quick else machine_speedup()
    rows = measure(args.workloads, reps, args.quick)
    after = None if args.quick else machine_speedup()
    text = table(rows)
    print(text)
    speedup = (
        f"Two processes ran {before:.2f}x as fast as one before the run and "
        f"{after:.2f}x after it (2.00 on two idle cores)."
        if before is not None and after is not None
        else ""
    )
    print(speedup)
    (HERE / "results.md").write_text(text + "\n") if not args.quick else None
    full = not args.quick and set(args.workloads) == set(WORKLOADS)
    if full and not args.no_readme:
        header = (
            f"Measured by `make bench` ({reps} repetitions, medians; "
            f"{os.cpu_count()} cores; {time.strftime('%Y-%m-%d')}). {speedup}"
        )
        write_readme(text, header)
    # dask-ml's differences are reported, not ours to fail on.
    bad = [
        r for r in rows if "skip" not in r and not r["equal"] and r["impl"] != "dask-ml"
    ]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    sys.exit(main())
