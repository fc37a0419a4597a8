"""Writes ``old_<commit>.pkl``: an estimator fitted by the noisyskl on
``PYTHONPATH``, its ``predict_proba``, and the ``predict_proba`` after one
``partial_fit`` of a copy, for ``test_persistence.py``'s test of estimators
pickled by older versions. Run at an older commit:

    git worktree add --detach /tmp/old COMMIT
    PYTHONPATH=/tmp/old python tests/data/old_pickle.py COMMIT

Iris, standardised, 30% of the labels flipped (seeded), a linear module, 12
epochs, ``random_state=0``: enough flags that the refit's rows depend on
``refit_rows``, ``flagged_rows`` and ``refit_look`` (the confident joint's cap
does not bind here, so ``flag_limit`` is not pinned by these fixtures).
"""

import pickle
import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_iris

import noisyskl


def data():
    X, y = load_iris(return_X_y=True)
    X = ((X - X.mean(0)) / X.std(0)).astype("float32")
    rng = np.random.default_rng(0)
    flip = rng.random(len(y)) < 0.3
    y = y.copy()
    y[flip] = (y[flip] + rng.integers(1, 3, flip.sum())) % 3
    return X, y


def make():
    return noisyskl.NoisyNeuralNetClassifier(
        torch.nn.Linear, module__in_features=4, module__out_features=3, max_epochs=12,
        lr=0.1, verbose=0, random_state=0)


if __name__ == "__main__":
    X, y = data()
    clf = make().fit(X, y)
    more = pickle.loads(pickle.dumps(clf)).partial_fit(X, y)
    out = Path(__file__).with_name(f"old_{sys.argv[1]}.pkl")
    out.write_bytes(pickle.dumps((clf, clf.predict_proba(X), more.predict_proba(X))))
    print(out, noisyskl.__file__)
