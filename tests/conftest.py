"""Shared fixtures."""

import os

# Keras 3 runs on PyTorch in the tests (the [keras] extra installs no
# TensorFlow). Set before any test module imports keras or scikeras; worker
# processes and subprocesses inherit it.
os.environ.setdefault("KERAS_BACKEND", "torch")
