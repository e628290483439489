"""Grid search over a model's training epochs, as in the mission's first example.

The model is scikit-learn's MLPClassifier, whose ``max_iter`` counts epochs; a
Keras model wrapped by scikeras exposes ``epochs`` the same way.

Run: .venv/bin/python examples/epochs_grid_search.py
"""

import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from hpsearch import GridSearchCV

X, Y = load_digits(return_X_y=True)
model = make_pipeline(
    StandardScaler(), MLPClassifier(hidden_layer_sizes=(32,), random_state=0)
)
warnings.simplefilter("ignore", ConvergenceWarning)  # few epochs on purpose

grid = GridSearchCV(
    estimator=model,
    param_grid=dict(mlpclassifier__max_iter=[10, 20, 30]),
    n_jobs=-1,
)
grid_result = grid.fit(X, Y)
print(f"Best: {grid_result.best_score_:.4f} using {grid_result.best_params_}")
for mean, std, params in zip(
    grid_result.cv_results_["mean_test_score"],
    grid_result.cv_results_["std_test_score"],
    grid_result.cv_results_["params"],
    strict=True,
):
    print(f"{mean:.4f} ({std:.4f}) with: {params}")
