"""Shared fixtures, and the settings that keep the suite free of chance.

Hypothesis draws the same examples on every run (``derandomize``) and has no
per-example deadline and no "too slow" health check: on a busy machine an
example may take seconds, which says nothing about hpsearch.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "hpsearch",
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)
settings.load_profile("hpsearch")

# Keras 3 runs on PyTorch in the tests (the [keras] extra installs no
# TensorFlow). Set before any test module imports keras or scikeras; worker
# processes and subprocesses inherit it.
os.environ.setdefault("KERAS_BACKEND", "torch")
