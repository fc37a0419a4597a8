"""Rare class under label noise: does refinement erase it?

sklearn digits with class 0 cut to 2% of the training rows, then 20%
symmetric noise on the training labels. Every zero not used for training goes
to the (clean) test set, so minority recall is measured on about 150 images.
Compares plain skorch cross-entropy (with and without class weights) and
noisyskl (with and without ``class_weight="balanced"``), all with the same
module, optimiser, epochs and seeds, and counts how many true minority labels
the refinement changed.

    python -m benchmarks.archive.imbalance            # about 1 minute on 2 cores
"""

import argparse

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from skorch import NeuralNetClassifier

from noisyskl import MLPModule, NoisyNeuralNetClassifier

MINORITY = 0


def make_data(minority_share=0.02, seed=0):
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, stratify=y, random_state=seed)
    rng = np.random.default_rng(seed)
    n_major = int((ytr != MINORITY).sum())
    n_keep = max(1, round(minority_share * n_major / (1 - minority_share)))
    minority_rows = np.flatnonzero(ytr == MINORITY)
    keep = rng.choice(minority_rows, n_keep, replace=False)
    unused = np.setdiff1d(minority_rows, keep)
    train = np.concatenate([np.flatnonzero(ytr != MINORITY), keep])
    Xte = np.concatenate([Xte, Xtr[unused]])
    yte = np.concatenate([yte, ytr[unused]])
    return Xtr[train], ytr[train], Xte, yte


def flip(y, rate, rng, n_classes=10):
    out = y.copy()
    mask = rng.random(len(y)) < rate
    out[mask] = (out[mask] + rng.integers(1, n_classes, mask.sum())) % n_classes
    return out


def run(seed, noise=0.2, epochs=100):
    Xtr, ytr, Xte, yte = make_data(seed=seed)
    noisy = flip(ytr, noise, np.random.default_rng(seed))
    common = dict(module=MLPModule, module__n_features=64, module__n_classes=10,
                  module__hidden_units=(128,), max_epochs=epochs, lr=1e-3,
                  optimizer=torch.optim.Adam, batch_size=64, train_split=None,
                  iterator_train__shuffle=True, verbose=0)
    counts = np.bincount(noisy, minlength=10)
    balanced = torch.tensor(len(noisy) / (10 * counts), dtype=torch.float32)

    def recall(m):
        pred = m.predict(Xte)
        return float(((pred == MINORITY) & (yte == MINORITY)).sum() / (yte == MINORITY).sum())

    out = {}
    for name, kwargs in {"plain CE": {}, "plain CE, balanced class weights":
                         {"criterion__weight": balanced}}.items():
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            m = NeuralNetClassifier(criterion=torch.nn.CrossEntropyLoss, **common, **kwargs)
            out[name] = (recall(m.fit(Xtr, noisy)), float((m.predict(Xte) == yte).mean()), None)
    for name, kwargs in {"noisyskl": {}, "noisyskl, class_weight='balanced'":
                         {"class_weight": "balanced"}}.items():
        # rounds=1: the single training, as measured for the user guide
        m = NoisyNeuralNetClassifier(random_state=seed, rounds=1, **common, **kwargs).fit(Xtr, noisy)
        refined = m.classes_[m.refined_labels_.argmax(1)]
        kept_minority = (ytr == MINORITY) & (noisy == MINORITY)
        erased = int((kept_minority & (refined != MINORITY)).sum())
        out[name] = (recall(m), float((m.predict(Xte) == yte).mean()),
                     f"{erased} of {int(kept_minority.sum())}")
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = [run(s) for s in args.seeds]
    print(f"digits, class {MINORITY} at 2% of training rows, 20% symmetric noise, "
          f"seeds {args.seeds}; mean ± sd\n")
    print("| method | minority recall | accuracy | true minority labels refined away |")
    print("| --- | --- | --- | --- |")
    for name in results[0]:
        rec = [r[name][0] for r in results]
        acc = [r[name][1] for r in results]
        erased = "; ".join(r[name][2] for r in results) if results[0][name][2] else "–"
        print(f"| {name} | {np.mean(rec):.3f} ± {np.std(rec):.3f} | "
              f"{np.mean(acc):.3f} ± {np.std(acc):.3f} | {erased} |")


if __name__ == "__main__":
    main()
