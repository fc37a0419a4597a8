"""Time per epoch, noisyskl against plain skorch, interleaved in one run.

Every repetition trains, on each data set (the accuracy benchmark's data,
module and settings), plain skorch and each noisyskl variant of
``PAIRS`` one after the other, and each variant is timed against the
plain skorch run of the same repetition (the median epoch after each
training's first). Writes ``<out>/timing.csv`` and ``<out>/timing.md``.

    python -m benchmarks timing --datasets digits blood_cells --reps 15
    python -m benchmarks timing --device cuda --datasets digits blood_cells blood_cells_64px
    python -m benchmarks timing --compile ...          # the same, every net torch.compiled
    python -m benchmarks timing --quick                # CI smoke run: digits, 2 repetitions
    python -m benchmarks timing --whole-fit --datasets digits kather2016 blood_cells --reps 3

``--whole-fit`` times whole fits instead (the default's refits included), at
each data set's own epochs, and writes ``timing_fit.csv`` and ``timing_fit.md``.
``--noise sym40`` trains on that cell's noisy labels (the accuracy benchmark's,
seed 0) instead of clean ones. ``--methods`` times only the pairs of those
methods; ``--append`` adds the
rows to the CSV already there (replacing its rows of the data sets timed
again, so that every ratio stays one run's) and writes the table from all:

    python -m benchmarks timing --whole-fit --datasets blood_cells --reps 2 \\
        --methods "noisyskl (default), 20% validation split" --append
"""

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch
from skorch import NeuralNetClassifier
from skorch.dataset import ValidSplit
from torch.utils.data import default_collate

from benchmarks.common import (
    AT_END,
    DATA_DIR,
    DEFAULT,
    DROPPED,
    NOISES,
    PREVIOUS,
    RESULTS,
    load_dataset,
    make_noise,
    net_settings,
    ours,
    seconds_per_epoch,
)
from noisyskl import NoisyNeuralNetClassifier

PLAIN_SKORCH = "plain skorch"
#: One round with the rows fetched one by one and collated,
#: as plain skorch fetches them (a collate_fn of one's own turns the library's
#: whole-batch fetching off), to separate the method's own cost from that saving.
ROW_BY_ROW = "noisyskl, 1 round, rows fetched one by one"
#: The benchmark's setting holds nothing out (train_split=None); skorch's default,
#: and so the estimator's, holds out a stratified 20% and scores it every epoch.
SPLIT = ", 20% validation split"
#: (method, the plain skorch run it is timed against), interleaved per repetition.
PAIRS = (
    ("noisyskl, 1 round", PLAIN_SKORCH),
    (ROW_BY_ROW, PLAIN_SKORCH),
    (PREVIOUS, PLAIN_SKORCH),
    ("noisyskl, 1 round" + SPLIT, PLAIN_SKORCH + SPLIT),
)

#: ``--whole-fit``: (method, the plain skorch run it is timed against), whole
#: fits at the data set's own epochs (the refits run). Without a split the
#: default trains four times (first round, two candidates, the kept kind on
#: every row); with one (skorch's default, as a user gets it) three. On these
#: feature rows the default keeps the flagged rows unlabelled (flagged_rows=
#: "auto"); DROPPED is the default to 2026-12-07, which leaves them out, and
#: AT_END the default to 2026-12-07 (evening), whose candidates both train to
#: their end (refit_look=None).
WHOLE_FIT_PAIRS = (
    (DEFAULT, PLAIN_SKORCH),
    (AT_END, PLAIN_SKORCH),
    (DROPPED, PLAIN_SKORCH),
    (PREVIOUS, PLAIN_SKORCH),
    ("noisyskl, 1 round", PLAIN_SKORCH),
    (DEFAULT + SPLIT, PLAIN_SKORCH + SPLIT),
    (AT_END + SPLIT, PLAIN_SKORCH + SPLIT),
    (DROPPED + SPLIT, PLAIN_SKORCH + SPLIT),
)


def _net(method, rep, common):
    if method.endswith(SPLIT):
        method = method[: -len(SPLIT)]
        common = dict(common, train_split=ValidSplit(5))  # skorch's default
    if method == PLAIN_SKORCH:
        return NeuralNetClassifier(criterion=torch.nn.CrossEntropyLoss, **common)
    if method == ROW_BY_ROW:
        return NoisyNeuralNetClassifier(random_state=rep, rounds=1, **common,
                                        iterator_train__collate_fn=default_collate)
    # one round (the method's own cost) or the default (both trainings)
    return NoisyNeuralNetClassifier(random_state=rep, **ours(method, common))


def time_per_epoch(args):
    """Time per epoch (``--whole-fit``: per fit), noisyskl vs plain skorch,
    interleaved in one run."""
    pairs = WHOLE_FIT_PAIRS if args.whole_fit else PAIRS
    if args.methods:
        unknown = set(args.methods) - {method for method, _ in pairs}
        if unknown:
            raise SystemExit(f"--methods: no such pair {sorted(unknown)}; choose from "
                             f"{[method for method, _ in pairs]}")
        pairs = tuple(pair for pair in pairs if pair[0] in args.methods)
    methods = list(dict.fromkeys(m for pair in pairs for m in pair[::-1]))
    rows = []
    for dataset in args.datasets:
        loaded = load_dataset(dataset, 0, args.data_dir)
        if loaded is None:
            continue
        Xtr, ytr, _, _, settings, epochs = loaded
        label = dataset
        if args.noise != "sym0":  # (the labels of the accuracy benchmark's cell, seed 0)
            ytr = make_noise(*NOISES[args.noise], Xtr, ytr, 0)[0]
            label = f"{dataset} {args.noise}"
        for rep in range(args.reps):
            for method in methods:
                common = net_settings(settings, epochs if args.whole_fit else args.epochs,
                                      args.device)
                if args.compile:
                    common["compile"] = True  # skorch: torch.compile module and criterion
                net = _net(method, rep, common)
                start = time.perf_counter()
                net.fit(Xtr, ytr)
                choice = getattr(net, "refit_choice_", None) or {}
                rows.append(dict(dataset=label, rep=rep, method=method,
                                 s_per_epoch=seconds_per_epoch(net),
                                 fit_s=time.perf_counter() - start,
                                 # (which refit was kept, and the epochs of the one on
                                 # every row: fewer where it stopped at the look)
                                 kept=choice.get("refit_rows"),
                                 epochs_every=choice.get("epochs_every")))
    df = pd.DataFrame(rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name, value, unit = (("timing_fit", "fit_s", "s/fit") if args.whole_fit
                         else ("timing", "s_per_epoch", "s/epoch"))
    if args.append and (out / f"{name}.csv").exists():
        before = pd.read_csv(out / f"{name}.csv")
        # (a data set timed again is timed wholly by this run: every ratio side by side)
        df = pd.concat([before[~before.dataset.isin(df.dataset)], df], ignore_index=True)
    df.to_csv(out / f"{name}.csv", index=False)
    wide = df.pivot_table(index=["dataset", "rep"], columns="method", values=value)
    lines = [f"| data | method | {unit} | plain skorch {unit} | ratio, median | ratio, min-max |",
             "| --- | --- | --- | --- | --- | --- |"]
    every_pair = WHOLE_FIT_PAIRS if args.whole_fit else PAIRS
    for dataset, part in wide.groupby(level=0):
        for method, plain in every_pair:
            if method not in part or plain not in part or part[method].isna().all():
                continue  # (not measured on this data set)
            ratio = part[method] / part[plain]  # per repetition, side by side
            lines.append(f"| {dataset} | {method} | {part[method].median():.4f} | "
                         f"{part[plain].median():.4f} | {ratio.median():.3f} | "
                         f"{ratio.min():.3f}-{ratio.max():.3f} |")
    text = "\n".join(lines)
    (out / f"{name}.md").write_text(text + "\n")
    print(text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="CI smoke run: digits, 2 repetitions, to a temporary folder")
    parser.add_argument("--datasets", nargs="+",
                        default=["digits", "breast_cancer", "kather2016", "blood_cells"])
    parser.add_argument("--data-dir", default=str(DATA_DIR))
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=6,
                        help="per training (past the warm-up of 5, so refinement runs)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--compile", action="store_true",
                        help="every net (plain skorch too) with skorch's compile=True")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--whole-fit", action="store_true",
                        help="time whole fits at each data set's own epochs (the default's "
                             "refits included) instead of epochs; writes timing_fit.*")
    parser.add_argument("--methods", nargs="+",
                        help="time only the pairs of these methods (default: every pair)")
    parser.add_argument("--noise", default="sym0", choices=list(NOISES),
                        help="train on the accuracy benchmark's noisy labels of this cell "
                             "(seed 0); rows are named '<data set> <noise>'")
    parser.add_argument("--append", action="store_true",
                        help="add to the CSV there, replacing its rows of the data sets "
                             "timed again, and tabulate them all")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.quick:
        args.datasets, args.reps = ["digits"], 2
        if args.out == str(RESULTS):
            args.out = tempfile.mkdtemp(prefix="noisyskl-timing-")
    time_per_epoch(args)


if __name__ == "__main__":
    main()
