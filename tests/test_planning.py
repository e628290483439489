"""Planning: every task in one unit, shared prefixes together, longest first."""

from __future__ import annotations

from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import check_scoring
from sklearn.model_selection import ParameterGrid
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from hpsearch._evaluate import EvalContext
from hpsearch._planning import MAX_BATCH, Planner, batch_size, split_largest
from hpsearch._records import FoldResult, Task
from hpsearch._space import make_candidates

PIPE = Pipeline(
    [
        ("scale", StandardScaler()),
        ("pca", PCA(random_state=0)),
        ("clf", LogisticRegression()),
    ]
)


def plan(estimator, grid, n_splits=3, n_workers=1, planner=None):
    scorer = check_scoring(estimator)
    ctx = EvalContext(estimator, None, None, [None] * n_splits, scorer=scorer)
    planner = planner or Planner(ctx)
    candidates = make_candidates(ParameterGrid(grid))
    tasks = [Task(c, s) for c in candidates for s in range(n_splits)]
    return tasks, planner(tasks, n_workers)


def test_every_task_is_in_exactly_one_unit():
    grid = {"pca__n_components": [2, 3, 4], "clf__C": [0.1, 1, 10, 100]}
    for n_workers in (1, 2, 3):
        tasks, units = plan(PIPE, grid, n_workers=n_workers)
        planned = [t for u in units for t in u]
        assert sorted(planned, key=id) == sorted(tasks, key=id)


def test_tasks_sharing_a_prefix_on_a_split_are_one_unit_in_prefix_order():
    grid = {"pca__n_components": [2, 3], "clf__C": [0.1, 1, 10]}
    _, units = plan(PIPE, grid)
    # One unit per split (the scaler is shared by all), each with 6 tasks
    # in which the candidates of one PCA come one after the other.
    assert sorted(len(u) for u in units) == [6, 6, 6]
    for unit in units:
        assert len({t.split for t in unit}) == 1
        n_components = [t.candidate.params["pca__n_components"] for t in unit]
        assert n_components in ([2, 2, 2, 3, 3, 3], [3, 3, 3, 2, 2, 2])
        assert all(len(chain) == 2 for chain in unit.chains)


def test_a_random_state_left_none_ends_the_shared_prefix():
    estimator = clone(PIPE).set_params(pca__random_state=None)
    _, units = plan(estimator, {"clf__C": [0.1, 1]})
    assert all(len(chain) == 1 for unit in units for chain in unit.chains)
    estimator = clone(PIPE).set_params(scale=PCA(random_state=None))
    _, units = plan(estimator, {"clf__C": [0.1, 1]})
    assert all(chain == () for unit in units for chain in unit.chains)


def test_cheap_tasks_are_batched_by_observed_times_smaller_towards_the_end():
    ctx = EvalContext(DecisionTreeClassifier(), None, None, [None] * 5, scorer=None)
    planner = Planner(ctx)
    grid = {"max_depth": list(range(1, 41)), "min_samples_leaf": [1, 2, 3, 4, 5]}
    tasks, units = plan(DecisionTreeClassifier(), grid, 5, 2, planner)
    sizes = []
    for unit in units:
        sizes.append(len(unit))
        for task in unit:  # as if each took 1 ms
            planner.observe(
                FoldResult(task.candidate.key, task.split, {}, None, 1, 1e-3, 0)
            )
    assert sizes[0] == 1  # nothing known yet
    assert max(sizes) == MAX_BATCH
    assert sizes[1:] == sorted(sizes[1:], reverse=True) and sizes[-1] == 1
    assert sum(sizes) == len(tasks) == 1000


def test_expensive_tasks_run_one_a_unit():
    assert batch_size([0.5, 0.7], remaining=100, n_workers=2) == 1


def test_known_task_times_put_the_longest_first():
    ctx = EvalContext(DecisionTreeClassifier(), None, None, [None] * 2, scorer=None)
    planner = Planner(ctx)
    tasks, _ = plan(DecisionTreeClassifier(), {"max_depth": [1, 2, 3]}, 2, 1, planner)
    for task, seconds in zip(tasks[::2], [0.1, 5.0, 1.0], strict=True):
        planner.observe(
            FoldResult(task.candidate.key, 0, {"score": 1.0}, None, 1, seconds, 0.0)
        )
    units = list(planner([t for t in tasks if t.split == 1], 4))
    assert [u[0].candidate.params["max_depth"] for u in units] == [2, 3, 1]


def test_too_few_units_are_split_where_fewest_prefixes_are_shared():
    grid = {"pca__n_components": [2, 3], "clf__C": [0.1, 1, 10]}
    _, units = plan(PIPE, grid, n_splits=1)
    halves = split_largest(list(units), 3)
    assert [len(u) for u in halves] == [3, 3]
    for half in halves:
        assert len({t.candidate.params["pca__n_components"] for t in half}) == 1
