"""The customers CSV of issue 16: 600 rows of mixed columns with empty cells.

``age`` and ``income`` are numbers (income has empty cells), ``city`` is a
text category, ``plan`` a text category with empty cells; ``churn`` (0/1) is
the target and depends on all four, so that a good model beats chance.
``python tests/customers.py examples/data/customers.csv`` writes the copy
in examples/.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

CITIES = ["paris", "lyon", "marseille", "lille", "nantes"]
PLANS = ["basic", "plus", "premium"]


def customers(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """The customers table, the same for the same seed."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n)
    income = np.round(rng.normal(42_000, 12_000, n), -2)
    city = rng.choice(CITIES, n, p=[0.35, 0.25, 0.2, 0.1, 0.1])
    plan = rng.choice(PLANS, n, p=[0.5, 0.3, 0.2])
    logit = (
        -0.04 * (age - 45)
        - (income - 42_000) / 15_000
        + np.where(plan == "basic", 1.0, -0.8)
        + np.where(city == "lyon", 0.9, 0.0)
    )
    churn = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame(
        {"age": age, "income": income, "city": city, "plan": plan, "churn": churn}
    )
    frame.loc[rng.random(n) < 0.05, "income"] = np.nan
    frame.loc[rng.random(n) < 0.07, "plan"] = None
    return frame


def write_customers(path: Path, n: int = 600, seed: int = 0) -> Path:
    """Write the CSV (empty cells for missing values); return its path."""
    customers(n, seed).to_csv(path, index=False)
    return path


if __name__ == "__main__":
    print(write_customers(Path(sys.argv[1])))
