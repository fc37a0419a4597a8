"""Choosing between cleaning and not cleaning on held-out rows, with the
noisy labels' transition matrix taken into account (#29).

As ``select_refit_choice`` (validation cells; the first round, with the
library's current flags, holds out a fifth of its fit rows; two plain
cross-entropy refits, ``drop`` and ``no cleaning``, train on the rest), with
the scores of the held-out rows:

- ``all held out``: accuracy against the held-out rows' noisy labels;
- ``corrected``: the same confusion matrix ``M[k, i]`` (prediction k,
  annotation i), corrected for the noise the first round found: ``T[j, i]``,
  the share of rows of class j annotated i, is estimated from the first
  round's report on its training rows (a flagged row counts as its suggested
  class, any other as its annotation), and the clean accuracy is
  ``trace(M T^-1) / n`` (the unbiased estimate under class-conditional noise,
  Natarajan et al., NeurIPS 2013; Patrini et al., CVPR 2017).

    python -m benchmarks.archive.select_refit_choice_corrected --dataset digits --noises sym0 sym40 pair40 inst40 --seeds 0 1 2
"""

import numpy as np
import pandas as pd

from benchmarks.archive._selection import record, selection_parser, validation_cells
from benchmarks.common import net_settings as _common

from noisyskl import NoisyNeuralNetClassifier

RULES = ("all held out", "corrected")


def transition(given, suggested, flagged, n_classes):
    """``T[j, i]``: share of the rows of (estimated) class j annotated i."""
    true = np.where(flagged, suggested, given)
    counts = np.zeros((n_classes, n_classes))
    np.add.at(counts, (true, given), 1)
    return counts / counts.sum(1, keepdims=True).clip(min=1)


def corrected_accuracy(pred, given, T):
    n = T.shape[0]
    M = np.zeros((n, n))
    np.add.at(M, (pred, given), 1)
    try:
        A = M @ np.linalg.inv(T)
    except np.linalg.LinAlgError:
        return float(np.trace(M) / len(pred))
    return float(np.trace(A) / len(pred))


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
        T = transition(given[trained], suggested[trained], flagged[trained], len(classes))
        held = ~trained
        common = _common(cell.settings, cell.epochs, args.device)
        scores = {}
        for refit, keep in (("drop", trained & ~flagged), ("no cleaning", trained)):
            net = NoisyNeuralNetClassifier(random_state=cell.seed, rounds=1, weighting=None,
                                           refinement=None, **common).fit(cell.Xf[keep],
                                                                          cell.nf[keep])
            pred = np.searchsorted(classes, net.predict(cell.Xf))
            scores[refit] = {
                "clean": float((net.predict(cell.Xv) == cell.yv).mean()),
                "all held out": float((pred[held] == given[held]).mean()),
                "corrected": corrected_accuracy(pred[held], given[held], T),
            }
        row = dict(dataset=args.dataset, noise=cell.noise, seed=cell.seed,
                   flagged=float(flagged[trained].mean()),
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
