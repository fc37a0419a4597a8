"""Can ``fit`` itself choose between cleaning and not cleaning, from its own held-out rows?

A validation experiment for a possible ``rounds=2`` variant; the test split is
never touched. As in ``_selection.py``, the training part of a benchmark data
set gets the noise and is split 70/30 into fit rows and validation rows (clean
labels, used only to score). On the fit rows the first round trains with
``train_split=ValidSplit(0.2)``: a fifth of the rows is held out, never trained
on, and refined (and flagged) from the validation passes. Then two plain
cross-entropy refits train from the same seed on the first round's training
rows: ``drop`` (without the flagged rows, as ``rounds=2`` does) and
``no cleaning`` (every row as annotated). Each is scored on the held-out rows'
*noisy* labels, the only labels ``fit`` has, in two ways:

- ``all held out``: every held-out row;
- ``unflagged held out``: only the held-out rows the first round did not flag
  (a guard against systematic noise, which rewards a model that learned it).

Printed per cell: clean validation accuracy of both refits and of what each
rule picks.

    python benchmarks/select_refit_choice.py --dataset digits --noises sym0 sym40 pair40 --seeds 0 1 2
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from skorch.dataset import ValidSplit
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _selection import record, selection_parser  # noqa: E402
from run import NOISES, _common, load_dataset, make_noise  # noqa: E402

from noisyskl import NoisyNeuralNetClassifier  # noqa: E402

RULES = ("all held out", "unflagged held out")


def main():
    args = selection_parser(__doc__.split("\n")[0], dataset="digits").parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for seed in args.seeds:
        loaded = load_dataset(args.dataset, seed, args.data_dir)
        if loaded is None:
            sys.exit(f"{args.dataset}: data file not found in {args.data_dir}")
        Xtr, ytr, _, _, settings, epochs = loaded  # the test split is not touched
        for noise in args.noises:
            noisy, _ = make_noise(*NOISES[noise], Xtr, ytr, seed)
            Xf, Xv, nf, _, _, yv = train_test_split(Xtr, noisy, ytr, test_size=0.3, stratify=ytr,
                                                    random_state=seed)
            common = _common(settings, epochs, args.device)
            common["train_split"] = ValidSplit(0.2, stratified=True, random_state=seed)
            first = NoisyNeuralNetClassifier(random_state=seed, rounds=1, **common).fit(Xf, nf)
            report = first.find_label_issues()
            trained = report["in_training"].to_numpy()
            flagged = report["is_label_issue"].to_numpy()
            held = ~trained
            common["train_split"] = None
            scores = {}
            for refit, keep in (("drop", trained & ~flagged), ("no cleaning", trained)):
                net = NoisyNeuralNetClassifier(random_state=seed, rounds=1, weighting=None,
                                               refinement=None, **common).fit(Xf[keep], nf[keep])
                on_held = net.predict(Xf) == nf
                scores[refit] = {
                    "clean": float((net.predict(Xv) == yv).mean()),
                    "all held out": float(on_held[held].mean()),
                    "unflagged held out": float(on_held[held & ~flagged].mean()),
                }
            row = dict(dataset=args.dataset, noise=noise, seed=seed,
                       drop=scores["drop"]["clean"], no_cleaning=scores["no cleaning"]["clean"])
            for rule in RULES:
                pick = "drop" if scores["drop"][rule] >= scores["no cleaning"][rule] else \
                    "no cleaning"
                row[rule] = scores[pick]["clean"]
                row[f"{rule}: picked drop"] = pick == "drop"
            record(rows, row, args.csv)
    df = pd.DataFrame(rows)
    print(f"\n{args.dataset}, seeds {args.seeds}: clean validation accuracy "
          "(refits, and what each rule picks)\n")
    print(df.drop(columns=["dataset", "seed"]).groupby("noise", sort=False).mean().round(3)
          .to_string())


if __name__ == "__main__":
    main()
