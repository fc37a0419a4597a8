"""Which rule should choose between the two candidate refits (#29): the
noise-corrected accuracy alone, with a margin, or per class.

As ``select_refit_choice_corrected`` (validation cells; the first round holds
out a fifth of its fit rows; two plain cross-entropy candidates, ``drop``
(the unflagged rows) and ``no cleaning`` (every row), train on the rest), but
it records each candidate's raw scores on the held-out rows, so that rules
can be compared afterwards without training again:

- ``corrected``: ``functional.noise_corrected_accuracy``;
- ``balanced``: the mean over classes of ``functional.noise_corrected_recall``;
- ``disagree``: the share of held-out rows the two candidates predict
  differently (the paired difference of two accuracies has a standard error
  of at most ``sqrt(disagree / n)``);

and each candidate's clean validation accuracy and lowest per-class recall
(``min_recall``) and the lowest, over classes, of the ``drop`` minus
``no cleaning`` recall (``recall_gap``: negative where dropping loses a class).

    python -m benchmarks.archive.select_refit_choice_rule --dataset digits \
        --noises sym0 sym40 pair40 inst40 --seeds 0 1 2 --threads 1 \
        --csv benchmarks/results/select_refit_choice_rule_cpu.csv
"""

import numpy as np
import pandas as pd
from sklearn.metrics import recall_score

from benchmarks.archive._selection import (
    choice_cells,
    held_out_prediction,
    plain_refit,
    record,
    selection_parser,
)
from noisyskl import functional as Fn

CANDIDATES = {"drop": "drop", "no cleaning": "every"}


def main():
    args = selection_parser(__doc__.split("\n")[0], dataset="digits").parse_args()
    rows = []
    for cell in choice_cells(args):
        row = dict(dataset=args.dataset, noise=cell.noise, seed=cell.seed,
                   held=int(cell.held.sum()), flagged=float(cell.flagged[cell.trained].mean()))
        preds, recalls = {}, {}
        every = cell.trained
        for refit, keep in (("drop", every & ~cell.flagged), ("no cleaning", every)):
            net = plain_refit(cell, keep)
            pred = preds[refit] = held_out_prediction(cell, net)
            clean = net.predict(cell.Xv)
            recalls[refit] = recall_score(cell.yv, clean, labels=cell.classes, average=None,
                                          zero_division=0)
            name = CANDIDATES[refit]
            row[f"clean_{name}"] = float((clean == cell.yv).mean())
            row[f"min_recall_{name}"] = float(recalls[refit].min())
            row[f"corrected_{name}"] = Fn.noise_corrected_accuracy(pred, cell.annotation,
                                                                   cell.transition)
            row[f"balanced_{name}"] = float(np.nanmean(
                Fn.noise_corrected_recall(pred, cell.annotation, cell.transition).numpy()))
        row["disagree"] = float((preds["drop"] != preds["no cleaning"]).float().mean())
        row["recall_gap"] = float((recalls["drop"] - recalls["no cleaning"]).min())
        record(rows, row, args.csv)
    print(pd.DataFrame(rows).drop(columns=["dataset", "seed"]).groupby("noise", sort=False)
          .mean().round(3).to_string())


if __name__ == "__main__":
    main()
