"""HyperbandSearchCV: asynchronous successive halving over Hyperband brackets.

What ASHA promises is checked on real searches: a free worker gets a
promotion or a new candidate while another still runs (proved with events,
not times), the same seed gives the same search, a search resumed from a
storage proposes what an uninterrupted one did and refits nothing stored,
and every bad argument is refused before any fit.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from scipy.stats import loguniform, randint
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, ParameterSampler
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils._param_validation import InvalidParameterError

from hpsearch import HyperbandSearchCV, SpaceError, load_study
from hpsearch._space import make_candidates
from hpsearch.strategies import HyperbandStrategy
from hpsearch.strategies._hyperband import rung_resources


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600], y[:600]


class Scored(ClassifierMixin, BaseEstimator):
    """Scores ``quality`` (whatever the data); logs every fit to ``EVENTS``.

    The first fit of ``budget=1`` blocks until a fit of a larger budget has
    started (``ask`` mode): only a loop that hands a free worker a promotion
    while the blocked fit runs can finish.
    """

    def __init__(self, quality=0.5, budget=1, mode="plain"):
        self.quality = quality
        self.budget = budget
        self.mode = mode

    def fit(self, X, y):
        with LOCK:
            EVENTS.append(("start", self.quality, self.budget))
            block = self.mode == "ask" and self.budget == 1 and not BLOCKED
            if block:
                BLOCKED.append(self.quality)
            if len(EVENTS) == STOP_AT[0]:
                raise KeyboardInterrupt
        if self.budget > 1:
            PROMOTED.set()
        if block and not PROMOTED.wait(timeout=120):
            raise RuntimeError("no promotion while a fit ran: a worker waited")
        with LOCK:
            EVENTS.append(("end", self.quality, self.budget))
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])

    def score(self, X, y, sample_weight=None):
        return self.quality * (1 - 1 / (1 + self.budget))


LOCK = threading.Lock()
EVENTS: list[tuple[str, float, int]] = []
BLOCKED: list[float] = []
PROMOTED = threading.Event()
STOP_AT = [0]


@pytest.fixture
def events():
    EVENTS.clear()
    BLOCKED.clear()
    PROMOTED.clear()
    STOP_AT[0] = 0
    yield EVENTS


def xy(n=40):
    X = np.arange(2 * n, dtype=float).reshape(n, 2)
    return X, np.arange(n) % 2


QUALITIES = {"quality": [round(0.1 * i, 1) for i in range(1, 10)]}


def scored_search(**options):
    return HyperbandSearchCV(
        Scored(mode=options.pop("mode", "plain")),
        QUALITIES,
        resource="budget",
        max_resources=9,
        min_resources=1,
        cv=options.pop("cv", KFold(2)),
        progress=False,
        **options,
    )


def test_a_free_worker_gets_a_promotion_while_another_fit_still_runs(events):
    """The first budget-1 fit can only end once a budget-3 fit has started:
    the other worker must get rung-0 candidates and then a promotion while
    it runs. Synchronous halving (a rung waits to fill) would never promote."""
    search = scored_search(
        mode="ask",
        n_iter=9,
        random_state=0,
        n_jobs=2,
        backend="threading",
        cv=[(np.arange(0, 40, 2), np.arange(1, 40, 2))],  # one fit per rung
    ).fit(*xy())
    blocked = BLOCKED[0]
    end_of_blocked = events.index(("end", blocked, 1))
    first_promotion = next(i for i, e in enumerate(events) if e[2] > 1)
    assert first_promotion < end_of_blocked
    # Both workers were busy meanwhile: others' fits ran during the blocked one.
    during = events[events.index(("start", blocked, 1)) + 1 : end_of_blocked]
    assert sum(e[0] == "end" for e in during) >= 3
    assert search.workers_ == {"threads": 2}
    # Every candidate ran on rung 0, and the best one reached max_resources.
    assert search.n_candidates_[0] == 9 and search.n_candidates_[-1] >= 1
    assert search.best_params_ == {"quality": 0.9, "budget": 9}


def test_the_best_candidate_reaches_max_resources(events):
    search = scored_search(n_iter=9, random_state=0, n_jobs=1).fit(*xy())
    assert search.n_resources_ == [1, 3, 9]
    # ASHA promotes the top third of each rung's results *so far*: at least
    # the top third of the rung, and never more than it has started.
    assert search.n_candidates_[0] == 9
    assert 3 <= search.n_candidates_[1] < 9
    assert 1 <= search.n_candidates_[2] <= search.n_candidates_[1]
    results = search.cv_results_
    assert list(results)[:2] == ["iter", "n_resources"]
    assert search.best_params_ == {"quality": 0.9, "budget": 9}
    assert search.best_score_ == pytest.approx(0.9 * 0.9)
    assert search.best_estimator_.budget == 9
    frame = search.results_
    assert list(frame.columns[:3]) == ["iter", "n_resources", "quality"]


def history(strategy, done, running=(), idle=1):
    """A History of ``done`` (quality, rung) results and running proposals."""
    from hpsearch._records import FoldResult, Proposal
    from hpsearch.strategies import History, Trial

    strategy._candidate(10**6)  # draws every candidate (a finite n_iter)
    by_quality = {c.params["quality"]: c for c in strategy._candidates}
    trials = []
    for quality, rung in done:
        candidate = by_quality[quality]
        fold = FoldResult(candidate.key, 0, {"score": quality}, None, 1, 0.0, 0.0)
        trials.append(Trial(candidate, (fold,), rung, strategy.resources_[rung]))
    proposals = [Proposal(by_quality[q], strategy.resources_[r], r) for q, r in running]
    return History(tuple(trials), tuple(proposals), idle)


def test_a_candidate_is_promoted_once_in_the_top_third_of_its_rung_so_far():
    strategy = HyperbandStrategy(
        {"quality": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]},
        n_iter=6,
        factor=3,
        min_resources=1,
        max_resources=9,
        brackets=1,
        resource="p",
        n_samples=10,
        base_splits=[],
        seed=0,
    )
    first = strategy.propose(history(strategy, [], idle=2))
    assert [p.round for p in first] == [0, 0]
    q = [p.candidate.params["quality"] for p in first]
    order = [c.params["quality"] for c in strategy._candidates[:6]]
    assert q == order[:2]
    # Two results: floor(2 / 3) = 0 promotions, so the next candidate starts.
    h = history(strategy, [(order[0], 0), (order[1], 0)])
    (p,) = strategy.propose(h)
    assert (p.candidate.params["quality"], p.round) == (order[2], 0)
    # Three results: the best of them goes to rung 1, at once.
    done = [(order[0], 0), (order[1], 0), (order[2], 0)]
    (p,) = strategy.propose(history(strategy, done))
    assert (p.candidate.params["quality"], p.round) == (max(order[:3]), 1)
    assert p.resource == 3
    # ...while it runs, a free worker starts the next candidate.
    running = [(max(order[:3]), 1)]
    (p,) = strategy.propose(history(strategy, done, running))
    assert (p.candidate.params["quality"], p.round) == (order[3], 0)


def test_once_every_candidate_started_a_closed_rung_keeps_its_top_third():
    strategy = HyperbandStrategy(
        {"quality": [0.1, 0.2, 0.3, 0.4]},
        n_iter=4,
        factor=3,
        min_resources=1,
        max_resources=9,
        brackets=1,
        resource="p",
        n_samples=10,
        base_splits=[],
        seed=0,
    )
    strategy.propose(history(strategy, [], idle=4))
    done = [(0.1, 0), (0.2, 0), (0.4, 0)]
    # 0.3 still runs: rung 0 may get better; ASHA's own rule promotes 0.4.
    (p,) = strategy.propose(history(strategy, done, [(0.3, 0)]))
    assert (p.candidate.params["quality"], p.round) == (0.4, 1)
    done += [(0.3, 0), (0.4, 1)]
    # Nothing runs, no candidate is left: the top ceil(4 / 3) = 2 of rung 0
    # go on, then the single result of rung 1 (ASHA alone would stop here).
    (p,) = strategy.propose(history(strategy, done))
    assert (p.candidate.params["quality"], p.round) == (0.3, 1)
    done += [(0.3, 1)]
    (p,) = strategy.propose(history(strategy, done))
    assert (p.candidate.params["quality"], p.round) == (0.4, 2)
    assert strategy.propose(history(strategy, [*done, (0.4, 2)])) == []


def test_the_candidates_are_random_search_candidates(digits):
    space = {"max_depth": randint(1, 12), "min_samples_leaf": randint(1, 30)}
    search = HyperbandSearchCV(
        DecisionTreeClassifier(random_state=0),
        space,
        n_iter=12,
        random_state=3,
        cv=3,
        n_jobs=1,
        progress=False,
    ).fit(*digits)
    rung0 = [
        p
        for p, i in zip(
            search.cv_results_["params"], search.cv_results_["iter"], strict=True
        )
        if i == 0
    ]
    expected = list(ParameterSampler(space, 12, random_state=3))
    assert sorted(map(str, rung0)) == sorted(map(str, expected))


def test_the_same_seed_gives_the_same_search(digits):
    def run():
        return HyperbandSearchCV(
            DecisionTreeClassifier(random_state=0),
            {"max_depth": randint(1, 20), "min_samples_leaf": loguniform(1e-3, 0.1)},
            n_iter=10,
            factor=2,
            brackets=None,
            random_state=7,
            cv=3,
            n_jobs=1,
            progress=False,
        ).fit(*digits)

    first, second = run(), run()
    for key in ("params", "iter", "n_resources", "mean_test_score"):
        assert list(first.cv_results_[key]) == list(second.cv_results_[key]), key
    assert first.best_params_ == second.best_params_
    assert first.n_brackets_ == len(first.n_resources_) == 4


def test_n_samples_rungs_train_on_subsamples(digits):
    search = HyperbandSearchCV(
        DecisionTreeClassifier(random_state=0),
        {"max_depth": [2, 4, 6, 8, 10, 12, None]},
        n_iter=7,
        max_resources=540,
        min_resources=60,
        random_state=0,
        cv=3,
        n_jobs=1,
        return_train_score=True,
        progress=False,
    ).fit(*digits)
    assert search.n_resources_ == [60, 180, 540]
    # The test part shrinks with the training part: 60 of 600 samples.
    assert search.cv_results_["n_resources"][0] == 60


def test_brackets_share_candidates_as_hyperband_does():
    strategy = HyperbandStrategy(
        {"a": randint(0, 10**6)},
        n_iter=40,
        factor=3,
        min_resources=1,
        max_resources=27,
        brackets=None,
        resource="p",
        n_samples=10,
        base_splits=[],
        seed=0,
    )
    shares = np.bincount([strategy._bracket(i) for i in range(40)])
    # Hyperband starts 27, 12, 6 and 4 candidates in its four brackets: 49.
    assert list(shares) == [22, 10, 5, 3]
    assert [r.resource for r in strategy.outline()] == [1, 3, 9, 27]
    assert rung_resources(1, 30, 3) == [1, 3, 10, 30]
    assert rung_resources(5, 5, 3) == [5]


def test_a_resumed_search_proposes_what_an_uninterrupted_one_did(tmp_path, events):
    X, y = xy()
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    whole = scored_search(n_iter=9, random_state=0, n_jobs=1).fit(X, y)
    n_fits = sum(e[0] == "start" for e in events)
    events.clear()
    STOP_AT[0] = 2 * 13 + 1  # the 14th fit is interrupted as it starts
    with pytest.raises(KeyboardInterrupt):
        scored_search(n_iter=9, random_state=0, n_jobs=1, storage=url, study="hb").fit(
            X, y
        )
    STOP_AT[0] = 0
    assert load_study(url, "hb").status == "interrupted"
    stored = sum(e[0] == "end" for e in events)
    assert stored == 13
    events.clear()
    resumed = scored_search(
        n_iter=9, random_state=0, n_jobs=1, storage=url, study="hb"
    ).fit(X, y)
    # Nothing stored was fitted again, and the search is the same.
    assert sum(e[0] == "start" for e in events) == n_fits - stored
    for key in ("params", "iter", "n_resources", "mean_test_score"):
        assert list(resumed.cv_results_[key]) == list(whole.cv_results_[key]), key
    study = load_study(url, "hb")
    assert study.status == "finished"
    assert study.best_params_ == whole.best_params_
    for key in ("params", "iter", "n_resources", "mean_test_score"):
        assert list(study.cv_results_[key]) == list(whole.cv_results_[key]), key


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        (
            {
                "resource": "budget",
                "max_resources": 9,
                "param_distributions": {"budget": [1, 2]},
            },
            SpaceError,
            "param_distributions must not hold the resource 'budget'; got it among "
            "the searched parameters.",
        ),
        (
            {"resource": "n_estimators"},
            ValueError,
            "resource must be 'n_samples', 'folds' or a parameter of Scored; got "
            "'n_estimators'.",
        ),
        (
            {"resource": "budget", "max_resources": "auto"},
            ValueError,
            "max_resources must be an int for resource='budget'; got 'auto'.",
        ),
        (
            {"max_resources": 100},
            SpaceError,
            "max_resources must be at most the number of samples when "
            "resource='n_samples'; got max_resources=100 for 40 samples.",
        ),
        (
            {"resource": "budget", "max_resources": 9, "min_resources": 10},
            ValueError,
            "min_resources must be at most max_resources; got min_resources=10 and "
            "max_resources=9.",
        ),
        (
            {"n_iter": None},
            ValueError,
            "n_iter must be an int when there is no timeout; got None.",
        ),
        ({"factor": 1}, InvalidParameterError, "The 'factor' parameter"),
        ({"brackets": 0}, InvalidParameterError, "The 'brackets' parameter"),
        ({"scoring": ["accuracy"]}, InvalidParameterError, "The 'scoring' parameter"),
    ],
)
def test_bad_arguments_are_refused_before_any_fit(events, options, error, message):
    options = {"param_distributions": QUALITIES, **options}
    search = HyperbandSearchCV(Scored(), cv=KFold(2), progress=False, **options)
    with pytest.raises(error, match=_literal(message)):
        search.fit(*xy())
    assert events == []


def test_a_resource_value_the_estimator_refuses_is_refused_before_any_fit(digits):
    search = HyperbandSearchCV(
        LogisticRegression(),
        {"C": [0.1, 1.0]},
        resource="max_iter",
        max_resources=9,
        min_resources=0,
        progress=False,
    )
    with pytest.raises(InvalidParameterError, match="min_resources"):
        search.fit(*digits)


def _literal(text):
    import re

    return re.escape(text)


def test_a_strategy_never_proposes_twice_the_same_work():
    candidates = make_candidates(
        ParameterSampler({"a": randint(0, 5)}, 30, random_state=0)
    )
    strategy = HyperbandStrategy(
        {"a": randint(0, 5)},
        n_iter=30,
        factor=3,
        min_resources=1,
        max_resources=9,
        brackets=1,
        resource="p",
        n_samples=10,
        base_splits=[],
        seed=0,
    )
    # Thirty draws of five values: five distinct candidates, each once.
    assert len({c.key for c in candidates}) == 5
    from hpsearch.strategies import History

    proposals = strategy.propose(History(idle=30))
    assert len(proposals) == 5
    assert len({p.key for p in proposals}) == 5
