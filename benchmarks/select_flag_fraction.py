"""Choose ``min_flagged_fraction`` for the ``rounds=2`` refit on a validation split.

As in ``select_defaults.py``: the training part of a benchmark data set (same
70/30 split as run.py) gets the noise and is split again 70/30 into fit and
validation rows; the test split is never touched. The first training
(``rounds=1``) runs once per seed; each candidate threshold then gets its own
refit (exactly what ``rounds=2`` would do with that threshold). Printed per
threshold: validation accuracy against the clean labels (what we care about)
and the noisy ones (all a user has), and the detection F1 on the fit rows.

    python benchmarks/select_flag_fraction.py --dataset blood_cells --noises sym0 sym40 --seeds 0 1
"""

import argparse
import copy
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import HERE, NOISES, _common, load_dataset, make_noise  # noqa: E402

from noisyskl import NoisyNeuralNetClassifier  # noqa: E402

FRACTIONS = (0.1, 0.25, 0.5, 1.0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="blood_cells")
    parser.add_argument("--noises", nargs="+", default=["sym0", "sym40"], choices=list(NOISES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--fractions", type=float, nargs="+", default=list(FRACTIONS))
    parser.add_argument("--data-dir", default=str(HERE.parent.parent / "shared/data"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--csv", help="append rows to this CSV")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for seed in args.seeds:
        loaded = load_dataset(args.dataset, seed, args.data_dir)
        if loaded is None:
            sys.exit(f"{args.dataset}: data file not found in {args.data_dir}")
        Xtr, ytr, _, _, settings, epochs = loaded  # the test split is not touched
        for noise in args.noises:
            noisy, flipped = make_noise(*NOISES[noise], Xtr, ytr, seed)
            Xf, Xv, nf, nv, yf, yv, ff, _ = train_test_split(
                Xtr, noisy, ytr, flipped, test_size=0.3, stratify=ytr, random_state=seed)
            first = NoisyNeuralNetClassifier(random_state=seed, rounds=1,
                                             **_common(settings, epochs, args.device)).fit(Xf, nf)
            y_idx = np.searchsorted(first.classes_, nf)
            for fraction in args.fractions:
                net = copy.deepcopy(first).set_params(min_flagged_fraction=fraction)
                flags = net.find_label_issues()["is_label_issue"].to_numpy()
                net._refit_without_issues(first._validate_X(Xf, reset=False), y_idx, "fit")
                pred = net.predict(Xv)
                rows.append(dict(noise=noise, seed=seed, fraction=fraction,
                                 clean=float((pred == yv).mean()),
                                 noisy=float((pred == nv).mean()),
                                 flagged=float(flags.mean()),
                                 det_f1=f1_score(ff, flags) if ff.any() else np.nan))
                print(pd.DataFrame(rows[-1:]).round(3).to_string(index=False, header=False),
                      flush=True)
                if args.csv:
                    pd.DataFrame(rows[-1:]).assign(dataset=args.dataset).to_csv(
                        args.csv, mode="a", index=False, header=not Path(args.csv).exists())
    df = pd.DataFrame(rows)
    table = df.groupby(["noise", "fraction"]).agg(
        clean=("clean", "mean"), clean_sd=("clean", "std"), noisy=("noisy", "mean"),
        flagged=("flagged", "mean"), det_f1=("det_f1", "mean")).round(3)
    print(f"\n{args.dataset}, seeds {args.seeds}: rounds=2 validation accuracy by "
          "min_flagged_fraction\n")
    print(table.to_string())


if __name__ == "__main__":
    main()
