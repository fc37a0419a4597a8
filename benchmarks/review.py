"""One round of review: how many wrong labels a reviewer fixes per 100 rows
reviewed, and the test accuracy after refitting with those rows trusted.

A simulated reviewer who knows the true label reviews k% of the training
rows, chosen (a) by noisyskl's ranking (``export_review``'s: lowest
``label_quality`` first, from the default fit), (b) at random, (c) by
cleanlab's ranking (``cleanlab.rank.get_label_quality_scores`` on
five-fold cross-validated probabilities of the same CNN with plain
cross-entropy, as ``CleanLearning`` gets them). The decisions go through the
CSV the page downloads and ``read_review``; the default estimator is then
refitted from scratch on the reviewed labels (same seed). Blood cells (the
main benchmark's data, CNN, optimiser and 30 epochs), 40% symmetric and 40%
pair-flip noise.

    python -m benchmarks review --seeds 0 1 2            # all of it (about an hour on 2 cores)
    python -m benchmarks review --seeds 0 --epochs 2 --rows 300 --noises sym40 \
        --out /tmp/review.csv                            # smoke (CI)

Writes benchmarks/results/review.csv (one row per seed, noise, ranking and
k) and prints the goals of issue #27.
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from skorch import NeuralNetClassifier

from benchmarks.common import DATA_DIR, RESULTS, load_dataset, make_noise, net_settings
from noisyskl import NoisyNeuralNetClassifier, read_review

NOISES = {"sym40": ("symmetric", 0.4), "pair40": ("pair", 0.4)}
SHARES = (0.02, 0.05, 0.10)


def cleanlab_scores(Xtr, y_noisy, settings, epochs, seed, folds=5):
    """cleanlab's label quality of every row, from out-of-fold probabilities."""
    from cleanlab.rank import get_label_quality_scores
    from sklearn.model_selection import StratifiedKFold

    proba = np.zeros((len(y_noisy), len(np.unique(y_noisy))))
    for k, (fit_rows, held) in enumerate(StratifiedKFold(folds, shuffle=True, random_state=seed)
                                         .split(Xtr, y_noisy)):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed * 100 + k)
            net = NeuralNetClassifier(criterion=torch.nn.CrossEntropyLoss,
                                      **net_settings(settings, epochs, "cpu"))
            net.fit(Xtr[fit_rows], y_noisy[fit_rows])
            proba[held] = net.predict_proba(Xtr[held])
    return get_label_quality_scores(y_noisy, proba)


def review_csv(path, rows, y_noisy, y_true):
    """What a reviewer who knows the truth decides on ``rows``."""
    right = y_noisy[rows] == y_true[rows]
    pd.DataFrame({"row": rows, "path": "", "given_label": y_noisy[rows],
                  "decision": np.where(right, "given", "other"),
                  "label": y_true[rows]}).to_csv(path, index=False)
    return path


def default_fit(Xtr, y, settings, epochs, seed):
    return NoisyNeuralNetClassifier(random_state=seed, **net_settings(settings, epochs, "cpu"),
                                    rounds=2).fit(Xtr, y)


def run(args):
    rows_out = []
    tmp = Path(tempfile.mkdtemp())
    for seed in args.seeds:
        loaded = load_dataset("blood_cells", seed, args.data_dir)
        if loaded is None:
            print(f"skipping: the blood-cell file is not in {args.data_dir}")
            return None
        Xtr, ytr, Xte, yte, settings, epochs = loaded
        if args.rows:
            Xtr, ytr = Xtr[:args.rows], ytr[:args.rows]
        epochs = args.epochs or epochs
        for noise in args.noises:
            y_noisy, flipped = make_noise(*NOISES[noise], Xtr, ytr, seed)
            t0 = time.perf_counter()
            base = default_fit(Xtr, y_noisy, settings, epochs, seed)
            base_acc = float((base.predict(Xte) == yte).mean())
            report = base.find_label_issues()
            ranking = {
                "noisyskl": np.argsort(report.label_quality.to_numpy(), kind="stable"),
                "random": np.random.default_rng(seed).permutation(len(ytr)),
                "cleanlab": np.argsort(cleanlab_scores(Xtr, y_noisy, settings, epochs, seed),
                                       kind="stable"),
            }
            for share in args.shares:
                k = max(round(share * len(ytr)), 1)
                for name, order in ranking.items():
                    rows = order[:k]
                    fixed = int(flipped[rows].sum())
                    acc = np.nan
                    if share in args.refit_shares and name in args.refit_rankings:
                        csv = review_csv(tmp / f"{noise}_{seed}_{name}_{k}.csv", rows,
                                         y_noisy, ytr)
                        refit = default_fit(Xtr, read_review(csv, y_noisy), settings,
                                            epochs, seed)
                        acc = float((refit.predict(Xte) == yte).mean())
                    rows_out.append(dict(noise=noise, seed=seed, ranking=name, share=share,
                                         reviewed=k, wrong_fixed=fixed,
                                         fixed_per_100=100 * fixed / k,
                                         accuracy_no_review=base_acc,
                                         accuracy_after_review=acc, epochs=epochs,
                                         n_train=len(ytr)))
                    print(f"{noise} seed {seed} {name:9s} {share:.0%}: fixed {fixed}/{k}, "
                          f"accuracy {base_acc:.3f} -> {acc:.3f}", flush=True)
            print(f"  ({noise}, seed {seed}: {time.perf_counter() - t0:.0f} s)", flush=True)
    frame = pd.DataFrame(rows_out)
    frame.to_csv(args.out, index=False)
    return frame


def table(frame):
    """The results as Markdown (``results/review.md``, included by docs/review.md)."""
    fixed = frame.groupby(["noise", "share", "ranking"]).fixed_per_100.agg(["mean", "std"])
    seeds = frame.seed.nunique()
    lines = [f"Wrong labels fixed per 100 rows reviewed (mean ± sd over {seeds} seeds):", "",
             "| noise | reviewed | noisyskl's ranking | random | cleanlab's ranking |",
             "| --- | --- | --- | --- | --- |"]
    for (noise, share), cell in fixed.groupby(level=[0, 1]):
        cell = cell.droplevel([0, 1])
        lines.append(f"| {noise} | {share:.0%} | " + " | ".join(
            f"{cell.loc[r, 'mean']:.1f} ± {cell.loc[r, 'std']:.1f}"
            for r in ("noisyskl", "random", "cleanlab")) + " |")
    done = frame[frame.accuracy_after_review.notna()]
    lines += ["", f"Test accuracy after one round of review (mean ± sd over {seeds} seeds; "
              "the default refitted with the reviewed rows trusted):", "",
              "| noise | reviewed | rows chosen by | no review | after review | change |",
              "| --- | --- | --- | --- | --- | --- |"]
    for (noise, share, ranking), cell in done.groupby(["noise", "share", "ranking"]):
        before, after = cell.accuracy_no_review, cell.accuracy_after_review
        change = 100 * (after - before)
        per_seed = ", ".join(f"{c:+.1f}" for c in change)
        lines.append(f"| {noise} | {share:.0%} | {ranking} | {before.mean():.3f} ± "
                     f"{before.std():.3f} | {after.mean():.3f} ± {after.std():.3f} | "
                     f"{change.mean():+.1f} points (per seed {per_seed}) |")
    return "\n".join(lines) + "\n"


def goals(frame):
    """Issue #27's goals, from the results."""
    mean = frame.groupby(["noise", "ranking", "share"]).mean(numeric_only=True)
    lines = []
    for noise in sorted(frame.noise.unique()):
        ours, rand, cl = (mean.loc[(noise, r, 0.05), "fixed_per_100"]
                          for r in ("noisyskl", "random", "cleanlab"))
        lines.append(f"{noise}: top 5% fixes {ours:.1f} per 100 vs random {rand:.1f} "
                     f"({ours / max(rand, 1e-9):.1f}x, goal >= 4x: "
                     f"{'met' if ours >= 4 * rand else 'not met'}) and cleanlab {cl:.1f} "
                     f"(goal >= cleanlab: {'met' if ours >= cl else 'not met'})")
        gain = 100 * (mean.loc[(noise, "noisyskl", 0.05), "accuracy_after_review"]
                      - mean.loc[(noise, "noisyskl", 0.05), "accuracy_no_review"])
        if np.isfinite(gain):
            lines.append(f"{noise}: one review round at 5% (our ranking): {gain:+.1f} points "
                         + ("(goal >= +2: " + ("met)" if gain >= 2 else "not met)")
                            if noise == "sym40" else ""))
    return "\n".join(lines)


def parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--noises", nargs="+", default=list(NOISES), choices=list(NOISES))
    p.add_argument("--shares", type=float, nargs="+", default=list(SHARES))
    p.add_argument("--refit-shares", type=float, nargs="*", default=[0.05],
                   help="the shares whose review is refitted for accuracy (default 5%%)")
    p.add_argument("--refit-rankings", nargs="*", default=["noisyskl", "random"],
                   help="the rankings whose review is refitted (default ours and random)")
    p.add_argument("--epochs", type=int, default=None, help="default: the benchmark's 30")
    p.add_argument("--rows", type=int, default=None, help="the first N training rows only")
    p.add_argument("--data-dir", default=DATA_DIR)
    p.add_argument("--out", default=str(RESULTS / "review.csv"))
    p.add_argument("--table-only", metavar="CSV", default=None,
                   help="write results/review.md from a results CSV, training nothing")
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    frame = pd.read_csv(args.table_only) if args.table_only else run(args)
    if frame is not None:
        if args.table_only or args.out == str(RESULTS / "review.csv"):
            (RESULTS / "review.md").write_text(table(frame))
        print(goals(frame))


if __name__ == "__main__":
    main()
