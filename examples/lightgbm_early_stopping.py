"""LightGBM with early stopping inside each cross-validation fold.

EarlyStopper carves each fold's validation rows out of that fold's training
rows (never its test rows), stops on them, and the search reports how many
trees each fold kept (split<i>_n_iterations, mean_n_iterations). The best
candidate is refitted on all rows with the median of its folds' trees.

Needs: pip install 'hpsearch[boosting]'
Run:   .venv/bin/python examples/lightgbm_early_stopping.py
"""

from lightgbm import LGBMClassifier
from scipy.stats import loguniform, randint
from sklearn.datasets import load_breast_cancer

from hpsearch import EarlyStopper, RandomizedSearchCV

if __name__ == "__main__":
    X, y = load_breast_cancer(return_X_y=True)
    model = EarlyStopper(
        LGBMClassifier(n_estimators=2000, verbose=-1),  # the cap, never reached
        validation_fraction=0.15,
        patience=20,
    )
    space = {
        "estimator__learning_rate": loguniform(0.01, 0.3),
        "estimator__num_leaves": randint(4, 64),
        "estimator__min_child_samples": randint(5, 50),
    }
    search = RandomizedSearchCV(
        model, space, n_iter=12, cv=5, scoring="roc_auc", n_jobs=-1, random_state=0
    ).fit(X, y)
    results = search.cv_results_
    print(f"Best AUC {search.best_score_:.4f} with {search.best_params_}")
    best = search.best_index_
    for i in range(5):
        print(f"  fold {i}: {results[f'split{i}_n_iterations'][best]:.0f} trees")
    print(f"Refitted on all rows with {search.best_estimator_.n_iterations} trees.")
