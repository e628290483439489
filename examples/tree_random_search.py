"""Random search over a decision tree, as in the mission's second example.

Run: .venv/bin/python examples/tree_random_search.py
"""

from scipy.stats import randint
from sklearn.datasets import load_breast_cancer
from sklearn.tree import DecisionTreeClassifier

from hpsearch import RandomizedSearchCV

X, y = load_breast_cancer(return_X_y=True)

param_dist = {
    "max_depth": [3, None],
    "max_features": randint(1, 9),
    "min_samples_leaf": randint(1, 9),
    "criterion": ["gini", "entropy"],
}
tree_cv = RandomizedSearchCV(DecisionTreeClassifier(), param_dist, cv=5, random_state=0)
tree_cv.fit(X, y)
print(tree_cv.best_params_, tree_cv.best_score_)
