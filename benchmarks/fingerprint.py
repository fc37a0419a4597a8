"""Fingerprints of fitted estimators, for changes that must not change results.

Fits the fingerprint configurations (default, ``rounds=1``, balanced, BN CNN,
uint8 images, Checkpoint, a label matrix, a Dataset, and a fit long enough to
flag rows so that ``refit_rows="choose"`` chooses, and the same with
``refit_rows="unflagged"``, whose refit keeps the flagged rows unlabelled) on
the digits with 30% of the labels flipped and prints one SHA-256 per
configuration over the refined labels, the predicted probabilities, the flags
and the module's parameters. Run it before
and after a change (``git stash`` or a worktree of the old revision) and
compare the lines: a change meant to keep behaviour keeps every line.

    python -m benchmarks fingerprint > after.txt
    git worktree add /tmp/before HEAD~1
    PYTHONPATH=/tmp/before python benchmarks/fingerprint.py > before.txt
    diff before.txt after.txt

(The old revision's run goes as a file, so that ``/tmp/before``'s noisyskl comes
before the working tree's; the first line printed says which one was used.)

The two-process path is compared by ``tests/test_distributed.py``.
"""

import argparse
import hashlib
import tempfile
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from skorch.callbacks import Checkpoint

from noisyskl import NoisyNeuralNetClassifier


def digits(noise=0.3, seed=0):
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(seed)
    flip = rng.random(len(y)) < noise
    y = y.copy()
    y[flip] = (y[flip] + rng.integers(1, 10, flip.sum())) % 10
    return X, y


def configurations(folder):
    """name -> (estimator parameters, X, y)."""
    X, y = digits()
    Xf = (X / 16).astype(np.float32)
    images = Xf.reshape(-1, 1, 8, 8)
    rng = np.random.default_rng(1)
    votes = np.stack([y, *digits(0.2, seed=2)[1:], *digits(0.4, seed=3)[1:]], axis=1)
    votes = votes.astype(float)
    votes[rng.random(votes.shape) < 0.2] = np.nan  # annotators who did not label a row
    votes[np.isnan(votes).all(1), 0] = y[np.isnan(votes).all(1)]
    common = dict(max_epochs=8, random_state=0, verbose=0)
    return {
        "default": (common, Xf, y),
        "rounds=1": (dict(common, rounds=1), Xf, y),
        "balanced": (dict(common, class_weight="balanced"), Xf, y),
        "bn_cnn": (dict(common, module__channels=(8, 16)), images, y),
        "uint8": (dict(common, module__channels=(8, 16)),
                  (images * 255).astype(np.uint8), y),
        "checkpoint": (dict(common, callbacks=[Checkpoint(dirname=folder, monitor=None)]),
                       Xf, y),
        "label_matrix": (dict(common, annotator_weighting="reliability"), Xf, votes),
        "dataset": (common, Rows(Xf, y), None),
        # long enough that rows are flagged: the refits and their choice run
        "refit_choice": (dict(common, max_epochs=20, lr=0.05), Xf, y),
        # the same with the refit without the flagged rows kept: on these feature
        # rows flagged_rows="auto" keeps them as unlabelled rows
        "refit_unflagged": (dict(common, max_epochs=20, lr=0.05, refit_rows="unflagged"),
                            Xf, y),
    }


class Rows(torch.utils.data.Dataset):
    """``(x, label)`` items of arrays, as a Dataset of files gives them."""

    def __init__(self, X, y):
        self.X, self.y = X, y

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return torch.from_numpy(self.X[i]), int(self.y[i])


def fingerprint(clf, X):
    digest = hashlib.sha256()
    for array in (clf.refined_labels_, clf.predict_proba(X),
                  clf.find_label_issues()["is_label_issue"].to_numpy()):
        digest.update(np.ascontiguousarray(array).tobytes())
    for value in clf.module_.state_dict().values():
        digest.update(value.detach().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="*", help="configuration names (default: all)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(f"# noisyskl from {Path(find_spec('noisyskl').origin).parent}", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        for name, (params, X, y) in configurations(folder).items():
            if args.only and name not in args.only:
                continue
            clf = NoisyNeuralNetClassifier(**params).fit(X, y)
            print(f"{name:14s} {fingerprint(clf, X)}", flush=True)


if __name__ == "__main__":
    main()
