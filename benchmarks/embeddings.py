"""The embeddings case of issue #29, as a new user meets it: the Kather
texture features (``../shared/data/kather2016_texture_features.npz``), 2,000
training rows, 15 epochs, the library's own module and settings.

The optimiser is the benchmark's (Adam, learning rate 1e-3, batches of 64):
skorch's own default (SGD at 0.01), which the library keeps, underfits these
features in 15 epochs (about 0.55 for every method). Each seed draws a
stratified split (2,000 rows to train on, the other rows to test on),
standardises the features on the training rows and, for 30% noise, flips that
share of the training labels (``noise.symmetric_noise``). Every
method is a ``NoisyNeuralNetClassifier`` with ``max_epochs=15`` and
``random_state=seed`` and that optimiser, nothing else changed but its own
setting:

- plain cross-entropy: ``rounds=1, weighting=None, refinement=None``;
- ``rounds=1`` (the patent's single training);
- the default (since 2026-12-07, ``flagged_rows="auto"``: on these feature
  rows the flagged rows stay in the refit as unlabelled data; since that
  evening ``refit_look=1/3``);
- the default to 2026-12-07 (evening), the refit chosen at the candidates'
  end (``refit_look=None``);
- the default to 2026-12-07 (``flagged_rows="drop"``, ``refit_look=None``);
- the choice at the end with ``average_refit=False`` (a diagnosis: does the
  weight average cost a short schedule? ``select_average_short.py`` asks
  the validation splits).

Measured: clean-test accuracy, and for the two defaults the share of the rows
whose label is right that ``find_label_issues`` flags. Writes a CSV (appends)
and prints the means over seeds.

    python -m benchmarks embeddings --seeds 0 1 2
    python -m benchmarks embeddings --seeds 0 1 2 --methods "noisyskl (default)"
    python -m benchmarks embeddings --seeds 0 --rows 500 --epochs 2 --out "$(mktemp -d)/e.csv"
"""

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import train_test_split

from benchmarks.common import AT_END, DATA_DIR, DROPPED, RESULTS
from noisyskl import NoisyNeuralNetClassifier
from noisyskl.noise import symmetric_noise

#: the benchmark's optimiser (``common.net_settings``)
OPTIMISER = dict(optimizer=torch.optim.Adam, lr=1e-3, batch_size=64)

#: method -> the estimator's own setting (on top of max_epochs and random_state)
METHODS = {
    "plain CE (rounds=1, no weights, no refinement)": dict(rounds=1, weighting=None,
                                                           refinement=None),
    "noisyskl, 1 round": dict(rounds=1),
    "noisyskl (default)": {},
    # the defaults before, as they ran: the choice at the candidates' end
    AT_END: dict(refit_look=None),
    DROPPED: dict(flagged_rows="drop", refit_look=None),
    # a diagnosis (test rows choose nothing): the refit's weights not averaged
    f"{AT_END}, average_refit=False": dict(average_refit=False, refit_look=None),
}
#: the rows whose share of right labels flagged is recorded
FLAGGING = ("noisyskl (default)", AT_END, DROPPED)


def split(X, y, rows, seed):
    """``(Xtr, ytr, Xte, yte)``: ``rows`` stratified training rows, the rest to
    test on, standardised by the training rows' mean and deviation."""
    Xtr, Xte, ytr, yte = train_test_split(X, y, train_size=rows, stratify=y, random_state=seed)
    mean, std = Xtr.mean(0), Xtr.std(0) + 1e-6
    return ((Xtr - mean) / std).astype(np.float32), ytr, ((Xte - mean) / std).astype(
        np.float32), yte


def run(args):
    path = Path(args.data_dir) / "kather2016_texture_features.npz"
    if not path.exists():
        print(f"skipped: {path} not found (see ../shared/data/README)")
        return None
    with np.load(path) as d:
        X, y = d["X"].astype(np.float64), d["y"]
    torch.set_num_threads(args.threads)
    rows = []
    for seed in args.seeds:
        Xtr, ytr, Xte, yte = split(X, y, args.rows, seed)
        for noise in args.noises:
            noisy = (ytr if noise == 0 else
                     symmetric_noise(ytr, noise, random_state=seed)[0])
            for method in args.methods:
                own = METHODS[method]
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    clf = NoisyNeuralNetClassifier(max_epochs=args.epochs, random_state=seed,
                                                   verbose=0, **OPTIMISER, **own)
                    clf.fit(Xtr, noisy)
                flagged = clf.find_label_issues()["is_label_issue"].to_numpy()
                right = noisy == ytr
                row = dict(seed=seed, noise=noise, method=method, rows=args.rows,
                           epochs=args.epochs,
                           accuracy=float((clf.predict(Xte) == yte).mean()),
                           right_flagged=(float(flagged[right].mean()) if method in FLAGGING
                                          else np.nan),
                           wall_s=time.perf_counter() - start)
                rows.append(row)
                print(f"seed {seed} noise {noise:.1f} {method:55s} acc {row['accuracy']:.3f}",
                      flush=True)
    df = pd.DataFrame(rows)
    out = Path(args.out)
    df.to_csv(out, mode="a", index=False, header=not out.exists())
    table = df.groupby(["noise", "method"], sort=False)[["accuracy", "right_flagged"]].mean()
    print(table.round(3).to_string())
    return df


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=str(DATA_DIR))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--noises", type=float, nargs="+", default=[0.0, 0.3])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(RESULTS / "embeddings.csv"))
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
