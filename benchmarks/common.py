"""What the benchmarks share: the data sets, the blood-cell CNN, the methods'
settings, the noise, the timing helpers and the paths.

Every benchmark imports from here (``from benchmarks.common import ...``);
nothing here imports a benchmark. The library is used through its public API
only.
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict, train_test_split

from noisyskl import MLPModule
from noisyskl.noise import instance_dependent_noise, pair_flip_noise, symmetric_noise

#: the ``benchmarks`` folder, and the repository's root above it
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
#: where the recorded results live (the docs include ``tables.md`` from here)
RESULTS = HERE / "results"
#: the data files (blood cells, Kather 2016, the blood-cell JPEGs): ``$NOISYSKL_DATA``,
#: else ``../shared/data`` from the repository's root
DATA_DIR = Path(os.environ.get("NOISYSKL_DATA", ROOT.parent / "shared" / "data"))

NOISES = {
    "sym0": ("symmetric", 0.0), "sym20": ("symmetric", 0.2), "sym40": ("symmetric", 0.4),
    "sym60": ("symmetric", 0.6), "pair40": ("pair", 0.4), "inst40": ("instance", 0.4),
}


class BloodCellCNN(torch.nn.Module):
    """4 conv + batch-norm blocks (32-64-64-128), as in FINDINGS.md."""

    def __init__(self, n_classes=8):
        super().__init__()
        layers, width = [], 3
        for out in (32, 64, 64, 128):
            layers += [torch.nn.Conv2d(width, out, 3, padding=1), torch.nn.BatchNorm2d(out),
                       torch.nn.ReLU(), torch.nn.MaxPool2d(2)]
            width = out
        layers += [torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                   torch.nn.Linear(128, n_classes)]
        self.net = torch.nn.Sequential(*layers)

    def forward(self, X):
        return self.net(X)


# ----------------------------------------------------------------- datasets
def _split_standardise(X, y, seed, axis):
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, stratify=y, random_state=seed)
    mean, std = Xtr.mean(axis=axis, keepdims=True), Xtr.std(axis=axis, keepdims=True) + 1e-6
    Xtr, Xte = (((part - mean) / std).astype(np.float32) for part in (Xtr, Xte))
    return Xtr, Xte, ytr, yte


def _mlp_data(X, y, seed, hidden, epochs):
    """Tabular data for an MLP with one hidden layer."""
    Xtr, Xte, ytr, yte = _split_standardise(X, y, seed, axis=0)
    settings = dict(module=MLPModule, module__n_features=X.shape[1],
                    module__n_classes=len(np.unique(y)), module__hidden_units=(hidden,))
    return Xtr, ytr, Xte, yte, settings, epochs


def load_dataset(name, seed, data_dir=DATA_DIR):
    """Return (Xtr, ytr, Xte, yte, module settings, epochs) or None if the file is absent."""
    if name == "digits":
        X, y = load_digits(return_X_y=True)
        return _mlp_data(X / 16.0, y, seed, hidden=128, epochs=60)
    if name == "breast_cancer":
        return _mlp_data(*load_breast_cancer(return_X_y=True), seed, hidden=64, epochs=60)
    if name == "kather2016":
        path = Path(data_dir) / "kather2016_texture_features.npz"
        if not path.exists():
            return None
        with np.load(path) as d:
            X, y = d["X"].astype(np.float64), d["y"]
        return _mlp_data(X, y, seed, hidden=128, epochs=40)
    if name in ("blood_cells", "blood_cells_64px"):
        path = Path(data_dir) / "blood_cells_pbc_64px.npz"
        if not path.exists():
            return None
        with np.load(path) as d:
            x, y = d["x"], d["y"]
        if name == "blood_cells":  # the benchmark's images: 2x2 means, 32 px
            x = x.reshape(-1, 32, 2, 32, 2, 3).mean((2, 4))
        # blood_cells_64px (the file's own resolution, 4x the convolutions'
        # work): for timing per epoch only
        x = x.transpose(0, 3, 1, 2) / 255.0
        Xtr, Xte, ytr, yte = _split_standardise(x, y, seed, axis=(0, 2, 3))
        return Xtr, ytr, Xte, yte, dict(module=BloodCellCNN, module__n_classes=8), 30
    raise ValueError(f"unknown dataset {name!r}")


def make_noise(kind, rate, Xtr, ytr, seed):
    """``(noisy labels, flipped mask)`` for one of :data:`NOISES`' kinds."""
    if kind == "symmetric":
        return symmetric_noise(ytr, rate, random_state=seed)
    if kind == "pair":
        return pair_flip_noise(ytr, rate, random_state=seed)
    # instance-dependent: flips likelier near a reference model's class boundary
    proba = cross_val_predict(LogisticRegression(max_iter=300), Xtr.reshape(len(Xtr), -1), ytr,
                              cv=5, method="predict_proba")
    return instance_dependent_noise(ytr, proba, rate, random_state=seed)


# ------------------------------------------------------------------ methods
# Every setting is spelled out, so that rows stay valid when a library default
# changes. The ablations vary the single training (rounds=1); the default
# (rounds=2) adds a plain-CE refit without the flagged rows.
#: plain CE again with another torch seed (the same labels and rows): how far
#: two plain CE fits differ by their seed (run both with the same thread
#: count for the seed alone), the noise floor of the
#: per-class check (report.class_losses); not ranked
RESEEDED = "plain CE, another torch seed"
DEFAULT = "noisyskl (default)"
#: the default to 2026-12-05: the refit always on the unflagged rows, every row trained
PREVIOUS = "noisyskl, refit on unflagged rows (default to 2026-12-05)"
#: the default before its flags were capped by the confident joint (2026-12-01)
UNCAPPED = "noisyskl, 2 rounds, flags not capped"
#: the default with the flagged rows kept as unlabelled data (flagged_rows="unlabelled")
UNLABELLED = "noisyskl, flagged rows unlabelled"
#: the default to 2026-12-07: the flagged rows left out of the refit whatever the rows
DROPPED = "noisyskl, flagged rows dropped (default to 2026-12-07)"
#: the default to 2026-12-07 (evening): the refit chosen only at both candidates' end
AT_END = "noisyskl, refit chosen at the candidates' end (refit_look=None)"
OURS = {
    # every row trained, as every method here (train_split=None): the refit is
    # chosen on a fifth held out by the two candidates, then trains on every row;
    # flagged_rows="auto": as UNLABELLED on feature rows, as DROPPED on images;
    # refit_look=1/3: the refit on every row stops there where it does not lead
    DEFAULT: dict(rounds=2, refit_rows="choose", min_flagged_fraction=0.1, average_refit=True,
                  flag_limit="confident_joint", flagged_rows="auto", refit_look=1 / 3),
    AT_END: dict(rounds=2, refit_rows="choose", min_flagged_fraction=0.1, average_refit=True,
                 flag_limit="confident_joint", flagged_rows="auto", refit_look=None),
    DROPPED: dict(rounds=2, refit_rows="choose", min_flagged_fraction=0.1, average_refit=True,
                  flag_limit="confident_joint", flagged_rows="drop", refit_look=None),
    PREVIOUS: dict(rounds=2, refit_rows="unflagged", min_flagged_fraction=0.1,
                   average_refit=True, flag_limit="confident_joint", flagged_rows="drop"),
    UNCAPPED: dict(rounds=2, refit_rows="unflagged", min_flagged_fraction=0.1,
                   average_refit=True, flag_limit=None, flagged_rows="drop"),
    UNLABELLED: dict(rounds=2, refit_rows="choose", min_flagged_fraction=0.1,
                     average_refit=True, flag_limit="confident_joint", flagged_rows="unlabelled",
                     refit_look=None),
    # the single training's rows (and their detection) predate flag_limit
    "noisyskl, 1 round": dict(rounds=1, flag_limit=None),
    "α·β (patent's weights)": dict(rounds=1, weighting="both", flag_limit=None),
    "α only": dict(rounds=1, weighting="density", flag_limit=None),
    "weights, no refinement": dict(rounds=1, refinement=None, flag_limit=None),
    "refinement, no weights": dict(rounds=1, weighting=None, flag_limit=None),
    "printed refinement formula": dict(rounds=1, refinement="printed", flag_limit=None),
}


def ours(method, common):
    """The keyword arguments of one of :data:`OURS`: ``common`` (from
    :func:`net_settings`) with the method's own, which win (a ``train_split``)."""
    return {**common, **OURS[method]}


def net_settings(settings, epochs, device, batch_size=64):
    """The keyword arguments every benchmarked net shares (plain skorch's and
    ours): the data set's module ``settings``, Adam at 1e-3, shuffled batches,
    no validation split, silent."""
    return dict(**settings, max_epochs=epochs, lr=1e-3, optimizer=torch.optim.Adam,
                batch_size=batch_size, train_split=None, iterator_train__shuffle=True,
                verbose=0, device=device)


# ------------------------------------------------------------------- timing
def timing_parser(description, reps):
    """Arguments shared by the side-by-side timing benchmarks: ``--dataset``,
    ``--data-dir``, ``--reps``, ``--threads``, ``--device`` and
    ``--batch-size``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--data-dir", default=str(DATA_DIR))
    parser.add_argument("--reps", type=int, default=reps)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=64,
                        help="the benchmark's is 64; the method's cost is per batch")
    return parser


def training_rows(args):
    """Set the thread count and load ``args.dataset``'s training rows and
    module settings, ``(Xtr, ytr, settings)``; exit where the file is missing."""
    torch.set_num_threads(args.threads)
    loaded = load_dataset(args.dataset, 0, args.data_dir)
    if loaded is None:
        sys.exit(f"{args.dataset}: data file not found in {args.data_dir}")
    Xtr, ytr, _, _, settings, _ = loaded
    return Xtr, ytr, settings


def ratio_text(ratios):
    """``median (lower quartile-upper quartile)`` of per-repetition ratios."""
    q1, median, q3 = np.quantile(np.asarray(ratios, dtype=float), [0.25, 0.5, 0.75])
    return f"{median:.3f}  ({q1:.3f}-{q3:.3f})"


def seconds_per_epoch(net):
    """Median epoch duration of a fitted net, skipping each training's first epoch
    (both of ``rounds=2``'s trainings)."""
    durations = list(net.history[1:, "dur"])
    if hasattr(net, "first_round_history_"):
        durations += list(net.first_round_history_[1:, "dur"])
    return float(np.median(durations))


# ------------------------------------------------------------ subprocesses
def module_command(module, *args):
    """The command line that runs ``python -m benchmarks.<module> ARGS`` with
    this interpreter (for the benchmarks that measure each case in a fresh
    process)."""
    return [sys.executable, "-m", f"benchmarks.{module}", *map(str, args)]


def run_module(module, *args, cwd=ROOT, env=None):
    """Run ``benchmarks.<module>`` in a fresh process from the repository's
    root (so that ``benchmarks`` imports whatever the current directory);
    return its standard output. Paths among ``args`` should be absolute."""
    done = subprocess.run(module_command(module, *args), cwd=cwd, env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode:
        sys.stderr.write(done.stderr)
        done.check_returncode()
    return done.stdout
