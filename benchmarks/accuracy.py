"""noisyskl against its peers, on real data with injected label noise.

    python -m benchmarks accuracy --quick                      # CI smoke run, ~1 min
    python -m benchmarks accuracy                              # full grid (hours on CPU)
    python -m benchmarks accuracy --datasets blood_cells --noises sym0 sym40 --seeds 0 1 2
    python -m benchmarks accuracy --report-only                # tables and plots from the CSV

Every method gets the same torch module, optimiser (Adam, lr 1e-3), batch size
(64), epochs and seeds, and trains on the same noisy labels; test labels are
clean. Results are appended to ``<out>/results.csv`` (a run can be resumed:
finished rows are skipped) and each class's test recall to ``<out>/recalls.csv``
(one row per class; the "no class erased" check of issue #29), and ``<out>/tables.md`` (included by
docs/benchmarks.md) and the plots are written from all rows
(:mod:`benchmarks.report`). The quick mode checks that everything runs; it
asserts nothing about accuracy. Time per epoch is :mod:`benchmarks.timing`.
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import (
    f1_score,
    precision_recall_fscore_support,
    recall_score,
    roc_auc_score,
)
from skorch import NeuralNetClassifier

from benchmarks.common import (
    DATA_DIR,
    NOISES,
    OURS,
    RESEEDED,
    RESULTS,
    load_dataset,
    make_noise,
    net_settings,
    ours,
)
from benchmarks.peers import (
    KNOBS,
    CoTeachingNet,
    DivideMix,
    ELRNet,
    GCELoss,
    LabelSmoothingLoss,
    SCELoss,
    SoftBootstrapLoss,
    make_peer,
)
from benchmarks.report import report
from noisyskl import NoisyNeuralNetClassifier

PEERS = {
    "plain CE": torch.nn.CrossEntropyLoss,
    "bootstrap (soft)": SoftBootstrapLoss,
    "GCE (q=0.7)": GCELoss,
    "SCE (α=0.1, β=1)": SCELoss,
    "label smoothing (0.1)": LabelSmoothingLoss,
}
#: the noisy-label field's methods that train more than a loss (issue #29),
#: at their published settings: net class and its own arguments
FIELD = {
    "ELR (β=0.7, λ=3)": (ELRNet, dict(elr_beta=0.7, elr_lambda=3.0)),
    "Co-teaching (τ=0.2 guessed)": (CoTeachingNet, dict(forget_rate=0.2, forget_epochs=10)),
}
#: written as a plain torch loop (two networks, a mixture, MixMatch)
DIVIDEMIX = "DivideMix (λ_u=25)"
#: the field's peers with their main knob chosen per data set on validation
#: splits of the training data (benchmarks/results/select_peer_knobs.md);
#: row name -> peer of ``peers.KNOBS``
TUNED = {f"{peer} ({knob} tuned)": peer for peer, (knob, _) in KNOBS.items()}
#: data set -> peer -> the chosen value (select_peer_knobs.md)
TUNED_VALUES = {
    "breast_cancer": {"label smoothing": 0.1, "ELR": 3.0, "Co-teaching": 0.4, "DivideMix": 0.0},
    "digits": {"label smoothing": 0.4, "ELR": 3.0, "Co-teaching": 0.4, "DivideMix": 0.0},
    "kather2016": {"label smoothing": 0.1, "ELR": 1.0, "Co-teaching": 0.2, "DivideMix": 1.0},
    "blood_cells": {"label smoothing": 0.1, "ELR": 7.0, "Co-teaching": 0.2, "DivideMix": 1.0},
}
#: plain CE's torch seed plus this: RESEEDED
RESEED = 1000
ALL_METHODS = (list(PEERS) + list(FIELD) + [DIVIDEMIX] + list(TUNED) + list(OURS)
               + ["cleanlab CleanLearning", "oracle (clean labels)", RESEEDED])


def run_method(method, Xtr, y_noisy, y_clean, Xte, seed, settings, epochs, device, cv_folds,
               dataset=None):
    """Train one method; return (test predictions, wall seconds, flags, suspicion scores)."""
    common = net_settings(settings, epochs, device)
    flags = scores = None
    t0 = time.perf_counter()
    if method in OURS:
        clf = NoisyNeuralNetClassifier(random_state=seed, **ours(method, common))
        clf.fit(Xtr, y_noisy)
        report = clf.find_label_issues()
        flags = report["is_label_issue"].to_numpy()
        scores = 1.0 - report["label_quality"].to_numpy()
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + (RESEED if method == RESEEDED else 0))
            if method == "cleanlab CleanLearning":
                from cleanlab.classification import CleanLearning

                net = NeuralNetClassifier(criterion=torch.nn.CrossEntropyLoss, **common)
                clf = CleanLearning(clf=net, seed=seed, cv_n_folds=cv_folds, verbose=False)
                clf.fit(Xtr, y_noisy)
                issues = clf.get_label_issues()
                flags = issues["is_label_issue"].to_numpy()
                scores = 1.0 - issues["label_quality"].to_numpy()
            elif method == DIVIDEMIX:
                own = {k[len("module__"):]: v for k, v in settings.items()
                       if k.startswith("module__")}
                clf = DivideMix(settings["module"], own, epochs, lr=common["lr"],
                                batch_size=common["batch_size"], seed=seed, device=device)
                clf.fit(Xtr, y_noisy)
            elif method in TUNED:
                peer = TUNED[method]
                value = TUNED_VALUES.get(dataset, {}).get(peer)
                if value is None:
                    raise ValueError(f"{method}: no value chosen for {dataset!r} yet (run "
                                     "benchmarks.archive.select_peer_knobs)")
                clf = make_peer(peer, value, settings, common, seed, device)
                clf.fit(Xtr, y_noisy)
            elif method in FIELD:
                net_class, own = FIELD[method]
                clf = net_class(criterion=torch.nn.CrossEntropyLoss, **common, **own)
                clf.fit(Xtr, y_noisy)
            else:
                criterion = (torch.nn.CrossEntropyLoss
                             if method in ("oracle (clean labels)", RESEEDED) else PEERS[method])
                clf = NeuralNetClassifier(criterion=criterion, **common)
                clf.fit(Xtr, y_clean if method == "oracle (clean labels)" else y_noisy)
    wall = time.perf_counter() - t0
    return np.asarray(clf.predict(Xte)), wall, flags, scores


def detection(flags, scores, flipped):
    if flags is None or not flipped.any():
        return dict(det_precision=np.nan, det_recall=np.nan, det_f1=np.nan, det_auroc=np.nan)
    p, r, f, _ = precision_recall_fscore_support(flipped, flags, average="binary",
                                                 zero_division=0)
    return dict(det_precision=p, det_recall=r, det_f1=f, det_auroc=roc_auc_score(flipped, scores))


def run_grid(args):
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    csv = out / "results.csv"
    done = set()
    if csv.exists():
        old = pd.read_csv(csv)
        done = set(zip(old.dataset, old.noise, old.seed, old.method))
    for dataset in args.datasets:
        for seed in args.seeds:
            loaded = load_dataset(dataset, seed, args.data_dir)
            if loaded is None:
                print(f"skipping {dataset}: its file is not in {args.data_dir}", flush=True)
                break
            Xtr, ytr, Xte, yte, settings, epochs = loaded
            epochs = args.epochs or epochs
            for noise in args.noises:
                kind, rate = NOISES[noise]
                y_noisy, flipped = make_noise(kind, rate, Xtr, ytr, seed)
                for method in args.methods:
                    if (dataset, noise, seed, method) in done:
                        continue
                    pred, wall, flags, scores = run_method(
                        method, Xtr, y_noisy, ytr, Xte, seed, settings, epochs, args.device,
                        args.cv_folds, dataset)
                    row = dict(dataset=dataset, noise=noise, seed=seed, method=method,
                               accuracy=(pred == yte).mean(),
                               macro_f1=f1_score(yte, pred, average="macro"),
                               wall_s=wall, epochs=epochs, n_train=len(ytr),
                               actual_noise=flipped.mean(),
                               **detection(flags, scores, flipped))
                    pd.DataFrame([row]).to_csv(csv, mode="a", header=not csv.exists(),
                                               index=False)
                    record_recalls(out / "recalls.csv", row, yte, pred)
                    print(f"{dataset:13s} {noise:6s} seed {seed} {method:28s} "
                          f"acc {row['accuracy']:.3f} det_f1 {row['det_f1']:.3f} "
                          f"{wall:6.1f}s", flush=True)


def record_recalls(path, row, y_test, pred):
    """Append each class's test recall for one cell and method to ``path``."""
    classes = np.unique(y_test)
    recall = recall_score(y_test, pred, labels=classes, average=None, zero_division=0)
    frame = pd.DataFrame({key: row[key] for key in ("dataset", "noise", "seed", "method")}
                         | {"label": classes, "recall": recall})
    frame.to_csv(path, mode="a", header=not path.exists(), index=False)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="CI smoke run on digits")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--data-dir", default=str(DATA_DIR))
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--datasets", nargs="+",
                        default=["digits", "breast_cancer", "kather2016", "blood_cells"])
    parser.add_argument("--noises", nargs="+", default=list(NOISES), choices=list(NOISES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=ALL_METHODS, choices=ALL_METHODS)
    parser.add_argument("--epochs", type=int, default=None, help="override per-dataset epochs")
    parser.add_argument("--cv-folds", type=int, default=5, help="cleanlab's K")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.quick:
        args.datasets, args.noises, args.seeds = ["digits"], ["sym40", "inst40"], [0]
        args.epochs, args.cv_folds = 8, 2
        if args.out == str(RESULTS):
            args.out = tempfile.mkdtemp(prefix="noisyskl-bench-")
    if not args.report_only:
        run_grid(args)
    report(args.out, ALL_METHODS)
    if args.quick:
        print(f"quick run OK; results in {args.out}")


if __name__ == "__main__":
    main()
