import os
import platform

import numpy as np
import pytest
import torch
from sklearn.datasets import load_iris
from skorch.dataset import Dataset as SkorchDataset

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _warnings_said_again():
    """Warnings said once per process (noisyskl.repeated_warnings) are said
    again in each test."""
    from noisyskl import repeated_warnings

    repeated_warnings(reset=True)
    yield


def cpu_model():
    """The CPU's model name (Linux), else what the platform module knows."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def pytest_report_header(config):
    """Where the suite ran, at the top of its output: float32 results that
    tests compare depend on the CPU's kernels and the threading."""
    return [f"cpu: {cpu_model()} ({os.cpu_count()} cores); torch {torch.__version__}, "
            f"kernels {torch.backends.cpu.get_cpu_capability()}, "
            f"{torch.get_num_threads()} intra-op / {torch.get_num_interop_threads()} "
            f"inter-op threads ({torch.__config__.parallel_info().splitlines()[-1].strip()})"]

# NOISYSKL_TEST_DEVICE=cuda runs every test built on make_clf on that device
# (how the suite was checked on a GPU); CI leaves it unset, so tests run on CPU.
TEST_DEVICE = os.environ.get("NOISYSKL_TEST_DEVICE", "cpu")


class TinyMLP(torch.nn.Module):
    """4 inputs -> logits for ``n_classes`` classes."""

    def __init__(self, n_features=4, n_classes=3, hidden=16):
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(n_features, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, n_classes)
        )

    def forward(self, X):
        return self.net(X)


@pytest.fixture
def iris():
    X, y = load_iris(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), y


def make_clf(**kwargs):
    from noisyskl import NoisyNeuralNetClassifier

    # rounds=1: most tests check the single training's mechanics; the default
    # (rounds=2) has its own tests
    params = dict(module=TinyMLP, max_epochs=6, lr=0.05, optimizer=torch.optim.Adam,
                  warm_up=2, verbose=0, random_state=0, rounds=1, device=TEST_DEVICE)
    params.update(kwargs)
    return NoisyNeuralNetClassifier(**params)


@pytest.fixture
def clf_factory():
    return make_clf


def flip_labels(y, rate, n_classes, seed):
    """Symmetric noise: each label flipped with probability ``rate`` to another class."""
    rng = np.random.default_rng(seed)
    flip = rng.random(len(y)) < rate
    noisy = y.copy()
    noisy[flip] = (noisy[flip] + rng.integers(1, n_classes, flip.sum())) % n_classes
    return noisy, flip


# iris's class names, for tests that fit on string labels
STRING_CLASSES = np.array(["setosa", "versicolor", "virginica"])


class CountingDataset(SkorchDataset):
    """skorch's Dataset, counting the rows it hands out."""

    rows_read = 0

    def __getitem__(self, i):
        type(self).rows_read += 1
        return super().__getitem__(i)


class BatchNormMLP(torch.nn.Module):
    """4 inputs -> 3 logits, with batch norm (which cannot train on one row)."""

    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.BatchNorm1d(16),
                                       torch.nn.ReLU(), torch.nn.Linear(16, 3))

    def forward(self, X):
        return self.net(X)


def flag_rows(monkeypatch, flagged):
    """Make ``find_label_issues`` flag the rows ``flagged`` (a boolean mask, or
    a function of the report's length giving one)."""
    from noisyskl import NoisyNeuralNetClassifier

    original = NoisyNeuralNetClassifier.find_label_issues

    def flag(self, *args, **kwargs):
        report = original(self, *args, **kwargs)
        report["is_label_issue"] = flagged(len(report)) if callable(flagged) else flagged
        return report

    monkeypatch.setattr(NoisyNeuralNetClassifier, "find_label_issues", flag)
