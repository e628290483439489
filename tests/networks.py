"""Small real networks for the tests: PyTorch modules, Keras models, probes.

Worker processes import these by name (tests/ is on sys.path), so they live
in a module of their own. Each probe is a skorch callback that writes what it
saw to a file named in its parameters, one line per fit (one ``write`` on a
file opened for appending, so lines from several processes never mix).
"""

from __future__ import annotations

import hashlib
import json
import os
import time

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import torch
from sklearn.datasets import load_digits
from skorch.callbacks import Callback
from torch import nn


def digits(n: int = 360) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` digits, scaled to [0, 1], as float32 and int64."""
    X, y = load_digits(return_X_y=True)
    return (X[:n] / 16).astype(np.float32), y[:n].astype(np.int64)


class MLP(nn.Module):
    """One hidden layer; ``seed`` makes its initial weights (and the epochs'
    shuffling, which draws from the same generator after it) reproducible."""

    def __init__(self, n_in: int = 64, hidden: int = 16, n_out: int = 10, seed=0):
        super().__init__()
        if seed is not None:
            torch.manual_seed(seed)
        self.net = nn.Sequential(
            nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, n_out)
        )

    def forward(self, X):
        return self.net(X)


def append_line(path: str, record: dict) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, (json.dumps(record) + "\n").encode())
    finally:
        os.close(fd)


def read_lines(path: str) -> list[dict]:
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def _cpu_by_thread() -> dict[str, int]:
    """Nanoseconds each thread of this process has run (Linux schedstat)."""
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/schedstat") as f:
                out[tid] = int(f.read().split()[0])
        except OSError:  # the thread ended meanwhile
            pass
    return out


class ThreadProbe(Callback):
    """Counts the threads that computed during training.

    A thread counts when it ran at least a tenth of what the busiest thread
    ran while the network trained: an OpenMP pool splits each large matrix
    product evenly, so each of its working threads runs about as much as the
    busiest; threads that only wait (loky's queue threads) run next to nothing.
    """

    def __init__(self, log: str | None = None):
        self.log = log

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.before_ = _cpu_by_thread()

    def on_train_end(self, net, X=None, y=None, **kwargs):
        after = _cpu_by_thread()
        ran = [after[t] - self.before_.get(t, 0) for t in after]
        busiest = max(ran)
        append_line(
            self.log,
            {
                "pid": os.getpid(),
                "busy_threads": sum(r >= busiest / 10 for r in ran),
                "threads_alive": len(after),
                "intra_op": torch.get_num_threads(),
                "inter_op": torch.get_num_interop_threads(),
                "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
            },
        )


class RowRecorder(Callback):
    """Writes the row ids (column 0 of X) a fit trained and validated on."""

    def __init__(self, log: str | None = None):
        self.log = log

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kw):
        if len(net.history) > 1:
            return  # once per fit
        ids = {
            "train": _ids(dataset_train),
            "valid": _ids(dataset_valid),
        }
        append_line(self.log, ids)


def _ids(dataset) -> list[int]:
    if dataset is None:
        return []
    X = dataset.X
    return sorted(int(v) for v in np.asarray(X)[:, 0])


class FitLog(Callback):
    """Appends the fit's hidden units and a digest of its training rows."""

    def __init__(self, log: str | None = None):
        self.log = log

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        if self.log is None:
            return
        rows = hashlib.blake2b(np.ascontiguousarray(X).tobytes(), digest_size=6)
        fd = os.open(self.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            hidden = net.get_params()["module__hidden"]
            os.write(fd, f"{hidden} {rows.hexdigest()}\n".encode())
        finally:
            os.close(fd)
        hold_at = os.environ.get(HOLD_AT)
        if hold_at is not None:
            with open(self.log) as log:
                if sum(1 for _ in log) >= int(hold_at):
                    _hold()


# Set in a search process's environment, fits wait once the log holds this
# many lines: the test that kills the process then knows it is mid-search,
# however busy the machine.
HOLD_AT = "HPSEARCH_TEST_NETWORK_HOLD_AT"


def _hold() -> None:
    """Wait until a signal stops this process (ten minutes at most)."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        time.sleep(0.05)


def build_keras(hidden: int = 16, seed: int = 0, meta=None, compile_kwargs=None):
    """A Keras classifier on the PyTorch backend; ``seed`` makes it repeatable.

    scikeras' ``random_state`` seeds Python, NumPy and TensorFlow but not
    PyTorch, which Keras 3 draws from on that backend: seed all of them here.
    """
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(hidden, activation="relu"),
            keras.layers.Dense(meta["n_classes_"], activation="softmax"),
        ]
    )
    # scikeras' loss, optimizer and optimizer__* parameters, built.
    model.compile(**compile_kwargs)
    return model


class Wide(nn.Module):
    """Large enough matrix products that PyTorch splits them among threads."""

    def __init__(self, hidden: int = 384):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(64, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, 10),
        )

    def forward(self, X):
        return self.net(X)


def wide_net(log: str):
    """A network whose fits write their busy threads to ``log``."""
    from skorch import NeuralNetClassifier

    return NeuralNetClassifier(
        Wide,
        criterion=nn.CrossEntropyLoss,
        max_epochs=2,
        batch_size=1024,
        train_split=None,
        verbose=0,
        callbacks=[("probe", ThreadProbe(str(log)))],
    )


def small_net(**params):
    """A small seeded skorch classifier: fits take a fraction of a second."""
    from skorch import NeuralNetClassifier

    defaults = dict(
        criterion=nn.CrossEntropyLoss,
        max_epochs=8,
        lr=0.2,
        batch_size=32,
        train_split=None,
        verbose=0,
    )
    return NeuralNetClassifier(MLP, **{**defaults, **params})


def network_grid() -> dict:
    return {"module__hidden": [4, 6, 8, 10, 12, 16]}


class EpochLog(Callback):
    """Appends ``epoch`` per epoch trained and ``end <history length>`` per
    fit to ``log``: the epochs a search ran, and how far each net got."""

    def __init__(self, log: str | None = None):
        self.log = log

    def on_epoch_end(self, net, **kwargs):
        append_line(self.log, {"epoch": len(net.history)})

    def on_train_end(self, net, X=None, y=None, **kwargs):
        append_line(self.log, {"end": len(net.history)})


def keras_epoch_log(log: str):
    """A Keras callback that appends one line per epoch trained to ``log``."""
    import keras

    class _EpochLog(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            append_line(log, {"epoch": epoch})

    return _EpochLog()
