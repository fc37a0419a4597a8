"""Can the first round's own statistics tell hard clean rows from wrong labels? (validation split)

At 0% noise the ``rounds=2`` refit leaves out about a tenth of the clean rows
(blood cells; a fifth on Kather): rows the first round never came to agree
with. This script asks whether gating the flags by what the first round
believes keeps those rows without keeping the wrong labels. For each
validation cell (see ``_selection.py``; the first round trains on the fit
rows, the test split is never touched) it scores gates on the flagged rows:

- ``flag``: the library's rule (flagged in >= 10% of the refinements);
- ``flag & belief >= t``: and the latest predicted probability of the refined
  label is at least t (0.5, 0.7, 0.9);
- ``flag & belief >= class threshold``: t is the class's mean self-confidence
  (cleanlab's per-class threshold, here on in-sample predictions);
- ``flag & p(annotation) < t``: and the predicted probability of the
  annotation is below t (0.1, 0.2);
- ``flagged in >= f``: flagged in at least f of the refinements (0.5, 0.9).

Printed per gate and noise: the share of clean rows it drops, the share of
wrong labels it keeps, and its detection F1 against the rows we flipped.

    python -m benchmarks.archive.select_flag_gate --dataset blood_cells --noises sym0 sym20 sym40 pair40 inst40 --seeds 0 1 2
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.archive._selection import flag_scores, print_means, record, selection_parser, validation_cells  # noqa: E402


def gates(state, annotation):
    """Boolean drop masks, one per gate, from the first round's per-row state."""
    proba = state.proba.numpy()
    rows, believed = np.arange(len(annotation)), state.targets.numpy().argmax(1)
    belief, p_annotation = proba[rows, believed], proba[rows, annotation]
    fraction = state.flagged_fraction().numpy()
    flag = fraction >= 0.1
    self_confidence = np.array([proba[annotation == k, k].mean() if (annotation == k).any()
                                else 1.0 for k in range(proba.shape[1])])
    return {
        "flag": flag,
        "flag & belief >= 0.5": flag & (belief >= 0.5),
        "flag & belief >= 0.7": flag & (belief >= 0.7),
        "flag & belief >= 0.9": flag & (belief >= 0.9),
        "flag & belief >= class threshold": flag & (belief >= self_confidence[believed]),
        "flag & p(annotation) < 0.1": flag & (p_annotation < 0.1),
        "flag & p(annotation) < 0.2": flag & (p_annotation < 0.2),
        "flagged in >= 0.5": fraction >= 0.5,
        "flagged in >= 0.9": fraction >= 0.9,
    }


def main():
    parser = selection_parser(__doc__.split("\n")[0])
    args = parser.parse_args()
    rows = []
    for cell in validation_cells(args):
        wrong = cell.flipped
        for gate, drop in gates(cell.first.refinement_state_, cell.y_idx).items():
            record(rows, dict(dataset=args.dataset, noise=cell.noise, seed=cell.seed, gate=gate,
                              **flag_scores(drop, wrong)), args.csv)
    df = pd.DataFrame(rows)
    print_means(df, "gate", ("clean_dropped", "wrong_kept", "det_f1"),
                list(dict.fromkeys(df.gate)), f"{args.dataset}, seeds {args.seeds}")


if __name__ == "__main__":
    main()
