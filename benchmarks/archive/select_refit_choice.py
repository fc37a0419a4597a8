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

    python -m benchmarks.archive.select_refit_choice --dataset digits --noises sym0 sym40 pair40 --seeds 0 1 2
"""

import sys
from pathlib import Path

import pandas as pd

from benchmarks.archive._selection import record, selection_parser, validation_cells  # noqa: E402
from benchmarks.common import net_settings as _common  # noqa: E402

from noisyskl import NoisyNeuralNetClassifier  # noqa: E402

RULES = ("all held out", "unflagged held out")


def main():
    args = selection_parser(__doc__.split("\n")[0], dataset="digits").parse_args()
    rows = []
    for cell in validation_cells(args, holdout=0.2):
        report = cell.first.find_label_issues()
        trained = report["in_training"].to_numpy()
        flagged = report["is_label_issue"].to_numpy()
        held = ~trained
        common = _common(cell.settings, cell.epochs, args.device)
        scores = {}
        for refit, keep in (("drop", trained & ~flagged), ("no cleaning", trained)):
            net = NoisyNeuralNetClassifier(random_state=cell.seed, rounds=1, weighting=None,
                                           refinement=None, **common).fit(cell.Xf[keep],
                                                                          cell.nf[keep])
            on_held = net.predict(cell.Xf) == cell.nf
            scores[refit] = {
                "clean": float((net.predict(cell.Xv) == cell.yv).mean()),
                "all held out": float(on_held[held].mean()),
                "unflagged held out": float(on_held[held & ~flagged].mean()),
            }
        row = dict(dataset=args.dataset, noise=cell.noise, seed=cell.seed,
                   drop=scores["drop"]["clean"], no_cleaning=scores["no cleaning"]["clean"])
        for rule in RULES:
            pick = "drop" if scores["drop"][rule] >= scores["no cleaning"][rule] else "no cleaning"
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
