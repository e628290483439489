"""One study, many processes: `hpsearch run study.toml` in 1 process, then in 4.

Each repetition starts from an empty SQLite file (or a fresh study on
PostgreSQL with --postgres) and runs either one `hpsearch run` or four started
together on the same study (each process then fits what no other holds and
waits for the others' last results). Two times: "wall", from the first start
to the last exit; "search", from the first run's start to the last run's end
as the storage recorded them (the search without starting Python, importing
scikit-learn, loading the data and printing the tables, which no split of the
work shortens and which a loaded machine stretches). Two studies:

- sleep: fits that sleep 0.3 s (tests/cli/slow_estimators.py), so the split
  shows independently of the cores: the ideal with 4 processes is 1/4;
- cpu: fits that compute for about 0.3 s (a random forest), with n_jobs=1 in
  each process: on a machine of C cores the ideal is max(1/4, 1/C).

"startup" is the time one process takes to import hpsearch and scikit-learn.

With --overhead it instead times what claims cost a process alone on its
study: the same search of 72 fits of about 22 ms (the worst case: cheap fits,
one claim per unit of work) on SQLite, with claims and without (a search that
does not split its work), alternately.

Run: .venv/bin/python benchmarks/shared_study.py [--reps 2] [--kinds sleep cpu]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
SLOW = HERE.parent / "tests" / "cli"

STUDIES = {
    "sleep": """
        [data]
        source = "sklearn:iris"

        [estimator]
        class = "slow_estimators.SlowClassifier"

        [search]
        kind = "grid"
        n_jobs = 1

        [search.space]
        strategy = ["prior", "most_frequent", "uniform", "stratified"]
        delay = [0.275, 0.285, 0.295, 0.305, 0.315, 0.325]

        [cv]
        folds = 3
    """,  # 24 candidates x 3 folds = 72 fits of 0.3 s on average: 21.6 s of sleeping
    "cpu": """
        [data]
        source = "sklearn:digits"

        [estimator]
        class = "sklearn.ensemble.RandomForestClassifier"
        params = { n_estimators = 30, n_jobs = 1 }

        [search]
        kind = "grid"
        n_jobs = 1

        [search.space]
        max_depth = [6, 8, 10, 12, 14, 16]
        random_state = [0, 1, 2, 3]

        [cv]
        folds = 3
    """,  # 24 candidates x 3 folds = 72 fits
}


def run(study: Path, storage: str, name: str, n: int) -> tuple[float, float]:
    env = {
        **os.environ,
        "PYTHONPATH": f"{SLOW}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    command = [
        sys.executable,
        "-m",
        "hpsearch.cli",
        "run",
        str(study),
        "--storage",
        storage,
        "--no-progress",
        "--json",
    ]
    start = time.perf_counter()
    processes = [
        subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
        )
        for _ in range(n)
    ]
    for process in processes:
        _, err = process.communicate()
        if process.returncode != 0:
            raise SystemExit(err.decode())
    wall = time.perf_counter() - start
    from hpsearch.storage import SQLStorage

    opened = SQLStorage(storage)
    runs = opened.read(name).runs
    opened.close()
    assert len(runs) == n and all(r.state == "finished" for r in runs)
    return wall, max(r.ended_at for r in runs) - min(r.started_at for r in runs)  # type: ignore[type-var]


def startup() -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "import hpsearch.cli, sklearn.ensemble"], check=True
    )
    return time.perf_counter() - start


def overhead(reps: int, storage: str | None) -> None:
    """Median fit time of one process with claims and without."""
    sys.path.insert(0, str(SLOW))
    from sklearn.datasets import load_iris
    from slow_estimators import SlowClassifier

    from hpsearch import GridSearchCV

    X, y = load_iris(return_X_y=True)
    folder = Path(tempfile.mkdtemp())
    times: dict[bool, list[float]] = {True: [], False: []}
    for rep in range(reps):
        for claims in (True, False):
            GridSearchCV._splits_work = lambda self, c=claims: c  # type: ignore[method-assign]
            search = GridSearchCV(
                SlowClassifier(),
                {
                    "strategy": ["prior", "most_frequent", "uniform", "stratified"],
                    "delay": [0.02, 0.021, 0.022, 0.023, 0.024, 0.025],
                },
                cv=3,
                storage=storage or str(folder / f"{rep}-{claims}.db"),
                study=f"overhead-{uuid.uuid4().hex[:8]}",
                progress=False,
                refit=False,
            )
            start = time.perf_counter()
            search.fit(X, y)
            times[claims].append(time.perf_counter() - start)
    without = statistics.median(times[False])
    with_claims = statistics.median(times[True])
    print("| storage | without claims (s) | with claims (s) | ratio |")
    print("|---|---:|---:|---:|")
    print(
        f"| {'PostgreSQL' if storage else 'SQLite'} | {without:.2f} "
        f"| {with_claims:.2f} | {with_claims / without:.3f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--kinds", nargs="+", default=list(STUDIES))
    parser.add_argument("--postgres", default=None, help="a PostgreSQL URL")
    parser.add_argument("--overhead", action="store_true")
    args = parser.parse_args()
    if args.overhead:
        overhead(args.reps, args.postgres)
        return
    folder = Path(tempfile.mkdtemp())
    print(
        f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}, "
        f"startup: {startup():.2f} s"
    )
    print("| study | processes | wall (s) | / 1 process | search (s) | / 1 process |")
    print("|---|---:|---:|---:|---:|---:|")
    for kind in args.kinds:
        study = folder / f"{kind}.toml"
        study.write_text(textwrap.dedent(STUDIES[kind]).lstrip())
        times: dict[int, list[tuple[float, float]]] = {1: [], 4: []}
        for rep in range(args.reps):
            for n in (1, 4):
                name = f"{kind}-{rep}-{n}-{uuid.uuid4().hex[:6]}"
                study.write_text(
                    f'study = "{name}"\n' + textwrap.dedent(STUDIES[kind]).lstrip()
                )
                storage = args.postgres or f"sqlite:///{folder / f'{name}.db'}"
                times[n].append(run(study, storage, name, n))
        one = [statistics.median(t[i] for t in times[1]) for i in (0, 1)]
        for n in (1, 4):
            wall, span = (statistics.median(t[i] for t in times[n]) for i in (0, 1))
            print(
                f"| {kind} | {n} | {wall:.2f} | {wall / one[0]:.2f} | {span:.2f} "
                f"| {span / one[1]:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
