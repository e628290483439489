"""BayesSearchCV and HyperbandSearchCV(sampler="bayes"): model-based proposals.

A proposal is a function of the seed, the number of workers and the scores of
earlier candidates, never of the order results arrive in: checked on the
strategy against shuffled completion orders, and on real searches with
uneven fit times. A search resumed from a storage proposes what an
uninterrupted one did; the model beats random search on a simple landscape
over ten seeds with a margin; bad input is refused before any fit; and
``cv_results_`` is scikit-learn's for the same candidates.
"""

from __future__ import annotations

import hashlib
import threading
import time

import numpy as np
import pytest
from scipy.stats import loguniform, randint, uniform
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.model_selection import GridSearchCV as SkGridSearchCV
from sklearn.model_selection import KFold
from sklearn.utils._param_validation import InvalidParameterError

from hpsearch import (
    BayesSearchCV,
    HyperbandSearchCV,
    RandomizedSearchCV,
    SpaceError,
    load_study,
)
from hpsearch._records import FoldResult, Proposal
from hpsearch.strategies import BayesStrategy, History, Trial


class Landscape(RegressorMixin, BaseEstimator):
    """Scores a known function of its parameters (whatever the data).

    ``x`` and ``c`` matter, ``kind`` a little, ``z`` not at all. A fit sleeps
    0 or 20 ms as a hash of the parameters and ``jitter`` says, so that two
    searches with different ``jitter`` finish their fits in other orders.
    """

    def __init__(self, x=0.5, c=1.0, kind="a", z=0, jitter=-1, budget=9):
        self.x = x
        self.c = c
        self.kind = kind
        self.z = z
        self.jitter = jitter
        self.budget = budget

    def fit(self, X, y):
        with LOCK:
            FITS.append((self.x, self.c, self.kind, self.z))
            if len(FITS) == STOP_AT[0]:
                raise KeyboardInterrupt
        if self.jitter >= 0:
            text = f"{self.x}{self.c}{self.kind}{self.jitter}".encode()
            if hashlib.blake2b(text).digest()[0] % 2:
                time.sleep(0.02)
        return self

    def predict(self, X):
        return np.zeros(len(X))

    def score(self, X, y, sample_weight=None):
        value = -((self.x - 0.62) ** 2) - 0.05 * (np.log10(self.c) + 1.3) ** 2
        return float(value + 0.02 * (self.kind == "b")) * (1 + 1 / self.budget)


LOCK = threading.Lock()
FITS: list[tuple] = []
STOP_AT = [0]

SPACE = {
    "x": uniform(0, 1),
    "c": loguniform(1e-4, 1e2),
    "kind": ["a", "b", "c"],
    "z": randint(0, 100),
}
X, Y = np.zeros((30, 2)), np.zeros(30)


@pytest.fixture(autouse=True)
def fits():
    FITS.clear()
    STOP_AT[0] = 0
    yield FITS
    STOP_AT[0] = 0


def bayes(**options):
    options.setdefault("n_iter", 16)
    options.setdefault("n_initial", 5)
    return BayesSearchCV(
        Landscape(jitter=options.pop("jitter", -1)),
        options.pop("space", SPACE),
        cv=KFold(2),
        progress=False,
        **options,
    )


def params(search):
    return [dict(p) for p in search.cv_results_["params"]]


# -- the strategy: a function of scores, not of arrival order ---------------


def simulate(strategy, order_seed, n_workers=2, n_iter=14):
    """Run ``strategy`` against a loop whose results arrive in a random order."""
    rng = np.random.default_rng(order_seed)
    running: list[Proposal] = []
    trials: list[Trial] = []
    proposed = []
    idle = n_workers
    while True:
        new = list(strategy.propose(History(tuple(trials), tuple(running), idle)))
        proposed += [p.candidate.key for p in new]
        running += new
        if not running:
            return proposed
        done = running.pop(int(rng.integers(len(running))))
        est = Landscape(**done.candidate.params)
        fold = FoldResult(
            done.candidate.key, 0, {"score": est.score(None, None)}, None, 1, 0, 0
        )
        trials.append(Trial(done.candidate, (fold,)))
        idle = n_workers - len(running)


def test_proposals_do_not_depend_on_the_order_results_arrive_in():
    runs = [
        simulate(BayesStrategy(SPACE, n_iter=12, seed=3, n_initial=4), order)
        for order in range(3)
    ]
    assert len(set(runs[0])) == 12
    assert all(run == runs[0] for run in runs)


def test_every_candidate_is_new_and_a_small_list_space_ends_when_exhausted():
    space = {"x": [0.1, 0.5, 0.9], "kind": ["a", "b"]}
    run = simulate(BayesStrategy(space, n_iter=None, seed=0, n_initial=2), 0)
    assert len(run) == len(set(run)) == 6


# -- real searches --------------------------------------------------------


def test_same_seed_and_n_jobs_give_the_same_candidates_with_uneven_fit_times():
    first = bayes(random_state=0, n_jobs=2, backend="threading", jitter=0).fit(X, Y)
    order_first = list(FITS)
    FITS.clear()
    second = bayes(random_state=0, n_jobs=2, backend="threading", jitter=1).fit(X, Y)
    assert params(first) == params(second)
    assert len({repr(p) for p in params(first)}) == 16
    # The fits ran in another order: the slow ones were others.
    assert sorted(order_first) == sorted(FITS)


@pytest.mark.slow
def test_the_model_beats_random_search_over_ten_seeds():
    best = 0.0 * (1 + 1 / 9) + 0.02 * (1 + 1 / 9)  # the landscape's maximum
    regret = {"bayes": [], "random": []}
    for seed in range(10):
        b = bayes(n_iter=20, n_initial=6, random_state=seed, refit=False).fit(X, Y)
        r = RandomizedSearchCV(
            Landscape(),
            SPACE,
            n_iter=20,
            random_state=seed,
            cv=KFold(2),
            refit=False,
            progress=False,
        ).fit(X, Y)
        regret["bayes"].append(best - b.best_score_)
        regret["random"].append(best - r.best_score_)
    wins = sum(b < r for b, r in zip(regret["bayes"], regret["random"], strict=True))
    # 9 wins of 10 happen to a coin one time in a hundred; the margin is tenfold.
    assert wins >= 9, regret
    assert np.median(regret["bayes"]) < 0.1 * np.median(regret["random"]), regret


def test_cv_results_are_scikit_learns_for_the_same_candidates():
    search = bayes(n_iter=8, n_initial=4, random_state=1, return_train_score=True).fit(
        X, Y
    )
    grid = [{k: [v] for k, v in p.items()} for p in params(search)]
    sk = SkGridSearchCV(Landscape(), grid, cv=KFold(2), return_train_score=True).fit(
        X, Y
    )
    ours = search.cv_results_
    assert list(ours) == list(sk.cv_results_)
    for key, value in sk.cv_results_.items():
        if "time" in key:
            continue
        assert list(ours[key]) == list(value), key
    assert search.best_params_ == sk.best_params_
    assert search.best_index_ == sk.best_index_


def test_a_resumed_search_proposes_what_an_uninterrupted_one_did(tmp_path):
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    whole = bayes(random_state=0, n_jobs=1).fit(X, Y)
    n_fits = len(FITS)
    FITS.clear()
    STOP_AT[0] = 2 * 9 + 1  # the 10th candidate's first fit is interrupted
    with pytest.raises(KeyboardInterrupt):
        bayes(random_state=0, n_jobs=1, storage=url, study="b").fit(X, Y)
    STOP_AT[0] = 0
    assert load_study(url, "b").status == "interrupted"
    FITS.clear()
    resumed = bayes(random_state=0, n_jobs=1, storage=url, study="b").fit(X, Y)
    assert params(resumed) == params(whole)
    assert len(FITS) == n_fits - 2 * 9  # nothing stored was fitted again
    study = load_study(url, "b")
    assert study.status == "finished"
    assert [dict(p) for p in study.cv_results_["params"]] == params(whole)
    assert study.best_params_ == whole.best_params_


def test_a_longer_rerun_on_two_workers_continues_as_one_long_search(tmp_path):
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    options = dict(random_state=4, n_jobs=2, backend="threading")
    whole = bayes(n_iter=14, **options).fit(X, Y)
    bayes(n_iter=8, storage=url, study="b", **options).fit(X, Y)
    FITS.clear()
    longer = bayes(n_iter=14, storage=url, study="b", **options).fit(X, Y)
    assert params(longer) == params(whole)
    assert len(FITS) == 2 * 6 + 1  # the 6 new candidates and the refit


def test_without_n_iter_a_list_space_is_searched_until_exhausted():
    space = {"x": [0.2, 0.6], "kind": ["a", "b", "c"]}
    search = bayes(space=space, n_iter=None, timeout=600, n_initial=2).fit(X, Y)
    assert len({repr(p) for p in params(search)}) == 6
    assert search.best_params_ == {"x": 0.6, "kind": "b"}


def test_proposing_time_is_reported():
    search = bayes(random_state=0).fit(X, Y)
    assert search.proposing_time_ > 0


# -- Hyperband with the model's proposals -----------------------------------


def hyperband(**options):
    return HyperbandSearchCV(
        Landscape(jitter=options.pop("jitter", -1)),
        {k: v for k, v in SPACE.items()},
        resource="budget",
        max_resources=9,
        min_resources=1,
        n_iter=options.pop("n_iter", 12),
        cv=KFold(2),
        progress=False,
        **options,
    )


def first_rung(search):
    rungs = search.cv_results_["iter"]
    return [p for p, k in zip(params(search), rungs, strict=True) if k == 0]


def test_hyperband_takes_new_candidates_from_the_model_reproducibly():
    options = dict(random_state=0, n_jobs=2, backend="threading", sampler="bayes")
    first = hyperband(jitter=0, **options).fit(X, Y)
    second = hyperband(jitter=1, **options).fit(X, Y)
    assert first_rung(first) == first_rung(second)
    plain = hyperband(random_state=0, n_jobs=2, backend="threading").fit(X, Y)
    assert first_rung(plain) != first_rung(first)
    assert first.proposing_time_ > 0
    assert not hasattr(plain, "proposing_time_")


def test_hyperband_with_the_model_resumes_as_it_ran(tmp_path):
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    whole = hyperband(random_state=0, n_jobs=1, sampler="bayes").fit(X, Y)
    FITS.clear()
    STOP_AT[0] = 2 * 11 + 1
    with pytest.raises(KeyboardInterrupt):
        hyperband(
            random_state=0, n_jobs=1, sampler="bayes", storage=url, study="h"
        ).fit(X, Y)
    STOP_AT[0] = 0
    resumed = hyperband(
        random_state=0, n_jobs=1, sampler="bayes", storage=url, study="h"
    ).fit(X, Y)
    for key in ("params", "iter", "mean_test_score"):
        assert list(resumed.cv_results_[key]) == list(whole.cv_results_[key]), key


# -- bad input ---------------------------------------------------------------


class NoQuantiles:
    """Has rvs (scikit-learn takes it) but no ppf/cdf (a model cannot place it)."""

    def rvs(self, random_state=None):
        return 0.5


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (
            lambda: hyperband(sampler="tpe"),
            InvalidParameterError,
            # scikit-learn lists the options of a set: in either order.
            r"The 'sampler' parameter of HyperbandSearchCV must be a str among "
            r"\{'(bayes|random)', '(bayes|random)'\}\. Got 'tpe' instead\.",
        ),
        (
            lambda: bayes(space={"x": NoQuantiles()}),
            SpaceError,
            r"param_distributions\['x'\] must be a list or a scipy.stats "
            r"distribution \(with ppf and cdf\) for a model-based search; got "
            r"NoQuantiles\.",
        ),
        (
            lambda: hyperband(sampler="bayes").set_params(
                param_distributions=[{"x": [0.1]}, {"x": NoQuantiles()}]
            ),
            SpaceError,
            r"param_distributions\[1\]\['x'\] must be a list or a scipy.stats",
        ),
        (
            lambda: bayes(n_iter=None),
            ValueError,
            "n_iter must be an int when there is no timeout; got None",
        ),
        (
            lambda: bayes(n_initial=0),
            InvalidParameterError,
            "The 'n_initial' parameter of BayesSearchCV must be an int in the range",
        ),
        (
            lambda: bayes(scoring=["r2", "neg_mean_squared_error"], refit=False),
            ValueError,
            "refit must name the metric the model optimises when scoring has "
            "several; got refit=False.",
        ),
    ],
)
def test_bad_input_is_refused_before_any_fit(make, error, message):
    with pytest.raises(error, match=message):
        make().fit(X, Y)
    assert FITS == []
