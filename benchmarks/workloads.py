"""The benchmark workloads: data, estimator, space and n_jobs of each search.

Each is sized to run 5-30 s with scikit-learn on a 2-core machine; ``quick``
shrinks data and spaces to a smoke run of a second or two.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import loguniform, randint
from sklearn.datasets import load_breast_cancer, load_digits, make_classification
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier


@dataclass(frozen=True)
class Workload:
    """One search: ``make(quick)`` gives ``(X, y, estimator, space)``."""

    name: str
    make: Callable[[bool], tuple[Any, Any, Any, Any]]
    n_jobs: int
    random: bool = False  # RandomizedSearchCV (n_iter in ``options``)
    halving: bool = False  # HalvingGridSearchCV (random_state=0)
    pipeline: bool = False  # also compared with Pipeline(memory=...) and dask-ml
    options: dict[str, Any] = field(default_factory=dict)


def _digits(quick: bool) -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    return (X[:300], y[:300]) if quick else (X, y)


def pca_svc(quick: bool) -> tuple[Any, Any, Any, Any]:
    """Scaler + PCA + SVC on digits: 6 PCAs x 4 C x 3 gamma."""
    X, y = _digits(quick)
    estimator = Pipeline(
        [
            ("scale", StandardScaler()),
            # random_state set: a PCA left random is (rightly) never shared.
            ("pca", PCA(random_state=0)),
            ("svc", SVC()),
        ]
    )
    space = {
        "pca__n_components": [5, 10] if quick else [8, 16, 24, 32, 40, 48],
        "svc__C": [1.0, 10.0] if quick else [0.3, 1.0, 10.0, 100.0],
        "svc__gamma": ["scale"] if quick else ["scale", 0.003, 0.03],
    }
    return X, y, estimator, space


def _text(n_docs: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Documents of pseudo-words whose frequencies depend on the class."""
    rng = np.random.default_rng(seed)
    vocab = np.array([f"w{i}{chr(97 + i % 26)}" for i in range(3000)])
    y = rng.integers(0, 4, size=n_docs)
    base = 1.0 / np.arange(1, len(vocab) + 1) ** 1.1
    docs = []
    for label in y:
        weights = base * np.exp(rng.normal(0, 0.3, len(vocab)))
        weights[label * 40 : label * 40 + 40] *= 6  # words typical of the class
        words = rng.choice(vocab, size=rng.integers(40, 160), p=weights / weights.sum())
        docs.append(" ".join(words))
    return docs, y


def text(quick: bool) -> tuple[Any, Any, Any, Any]:
    """TF-IDF (4 settings) x SGD classifier (8 settings) on generated text."""
    X, y = _text(300 if quick else 2000)
    estimator = Pipeline(
        [("tfidf", TfidfVectorizer()), ("clf", SGDClassifier(random_state=0))]
    )
    space = {
        "tfidf__ngram_range": [(1, 1)] if quick else [(1, 1), (1, 2)],
        "tfidf__sublinear_tf": [False] if quick else [False, True],
        "clf__alpha": [1e-4, 1e-3] if quick else [1e-6, 1e-5, 1e-4, 1e-3],
        "clf__penalty": ["l2"] if quick else ["l2", "l1"],
    }
    return X, y, estimator, space


def cheap(quick: bool) -> tuple[Any, Any, Any, Any]:
    """Hundreds of small trees on breast cancer: 400 candidates x 5 splits."""
    X, y = load_breast_cancer(return_X_y=True)
    space = {
        "max_depth": [1, 2, 3] if quick else list(range(1, 21)),
        "min_samples_leaf": [1, 5] if quick else list(range(1, 21)),
    }
    return X, y, DecisionTreeClassifier(random_state=0), space


def random_svc(quick: bool) -> tuple[Any, Any, Any, Any]:
    """SVC on scaled digits, C and gamma drawn from log-uniform distributions."""
    X, y = _digits(quick)
    X = StandardScaler().fit_transform(X)
    space = {
        "C": loguniform(1e-1, 1e3),
        "gamma": loguniform(1e-4, 1e-1),
        "shrinking": [True, False],
    }
    return X, y, SVC(), space


def forests(quick: bool) -> tuple[Any, Any, Any, Any]:
    """Random forests of 0.2-1 s each, the parallel-efficiency workload."""
    n = 300 if quick else 2000
    X, y = make_classification(n, n_features=30, n_informative=10, random_state=0)
    space = {
        "n_estimators": [10] if quick else [40, 80],
        "max_features": ["sqrt", 0.5],
        "min_samples_leaf": randint(1, 10),
    }
    return X, y, RandomForestClassifier(random_state=0), space


WORKLOADS = {
    w.name: w
    for w in [
        Workload("pca_svc_j1", pca_svc, n_jobs=1, pipeline=True),
        Workload("pca_svc_j2", pca_svc, n_jobs=2, pipeline=True),
        Workload("text_j1", text, n_jobs=1, pipeline=True),
        Workload("text_j2", text, n_jobs=2, pipeline=True),
        Workload("cheap_trees_j2", cheap, n_jobs=2),
        Workload("random_svc_j2", random_svc, 2, random=True, options={"n_iter": 60}),
        Workload("forests_j2", forests, 2, random=True, options={"n_iter": 10}),
        Workload("halving_pca_svc_j1", pca_svc, 1, pipeline=True, halving=True),
        Workload("halving_pca_svc_j2", pca_svc, 2, pipeline=True, halving=True),
    ]
}
