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
import torch
from sklearn.metrics import recall_score

from benchmarks.archive._selection import record, selection_parser, validation_cells
from benchmarks.common import net_settings as _common
from noisyskl import NoisyNeuralNetClassifier
from noisyskl import functional as Fn

CANDIDATES = {"drop": "drop", "no cleaning": "every"}


def main():
    args = selection_parser(__doc__.split("\n")[0], dataset="digits").parse_args()
    rows = []
    for cell in validation_cells(args, holdout=0.2):
        cell.first.set_params(flag_limit="confident_joint")
        report = cell.first.find_label_issues()
        trained = report["in_training"].to_numpy()
        flagged = report["is_label_issue"].to_numpy()
        classes = cell.first.classes_
        given = np.searchsorted(classes, cell.nf)
        suggested = np.searchsorted(classes, report["predicted_label"].to_numpy())
        T = Fn.noise_transition(torch.as_tensor(given[trained]),
                                torch.as_tensor(suggested[trained]),
                                torch.as_tensor(flagged[trained]), len(classes))
        held = ~trained
        annotation = torch.as_tensor(given[held])
        common = _common(cell.settings, cell.epochs, args.device)
        row = dict(dataset=args.dataset, noise=cell.noise, seed=cell.seed, held=int(held.sum()),
                   flagged=float(flagged[trained].mean()))
        preds, recalls = {}, {}
        for refit, keep in (("drop", trained & ~flagged), ("no cleaning", trained)):
            net = NoisyNeuralNetClassifier(random_state=cell.seed, rounds=1, weighting=None,
                                           refinement=None, **common).fit(cell.Xf[keep],
                                                                          cell.nf[keep])
            pred = torch.as_tensor(np.searchsorted(classes, net.predict(cell.Xf))[held])
            preds[refit] = pred
            clean = net.predict(cell.Xv)
            recalls[refit] = recall_score(cell.yv, clean, labels=classes, average=None,
                                          zero_division=0)
            name = CANDIDATES[refit]
            row[f"clean_{name}"] = float((clean == cell.yv).mean())
            row[f"min_recall_{name}"] = float(recalls[refit].min())
            row[f"corrected_{name}"] = Fn.noise_corrected_accuracy(pred, annotation, T)
            row[f"balanced_{name}"] = float(np.nanmean(
                Fn.noise_corrected_recall(pred, annotation, T).numpy()))
        row["disagree"] = float((preds["drop"] != preds["no cleaning"]).float().mean())
        row["recall_gap"] = float((recalls["drop"] - recalls["no cleaning"]).min())
        record(rows, row, args.csv)
    print(pd.DataFrame(rows).drop(columns=["dataset", "seed"]).groupby("noise", sort=False)
          .mean().round(3).to_string())


if __name__ == "__main__":
    main()
