"""Choose ``min_flagged_fraction`` for the ``rounds=2`` refit on a validation split.

As in ``select_defaults.py``: the training part of a benchmark data set (same
70/30 split as run.py) gets the noise and is split again 70/30 into fit and
validation rows; the test split is never touched. The first training
(``rounds=1``) runs once per seed; each candidate threshold then gets its own
refit (exactly what ``rounds=2`` would do with that threshold). Printed per
threshold: validation accuracy against the clean labels (what we care about)
and the noisy ones (all a user has), and the detection F1 on the fit rows.
Also printed: the share of rows flagged whose annotation the refit (which never
saw them) predicts, and the detection F1 if those were un-flagged
(``det_f1_unconfirmed``): would the refit's out-of-sample view sharpen the report?

    python -m benchmarks.archive.select_flag_fraction --dataset blood_cells --noises sym0 sym40 --seeds 0 1
"""

import copy
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

from benchmarks.archive._selection import record, selection_parser, validation_cells  # noqa: E402

from noisyskl._refit import refit_without_issues  # noqa: E402

FRACTIONS = (0.1, 0.25, 0.5, 1.0)


def main():
    parser = selection_parser(__doc__.split("\n")[0])
    parser.add_argument("--fractions", type=float, nargs="+", default=list(FRACTIONS))
    args = parser.parse_args()
    rows = []
    for cell in validation_cells(args):
        first = cell.first
        for fraction in args.fractions:
            net = copy.deepcopy(first).set_params(min_flagged_fraction=fraction)
            flags = net.find_label_issues()["is_label_issue"].to_numpy()
            net._take_refit(refit_without_issues(
                net, first._validate_X(cell.Xf, reset=False), cell.y_idx, "fit"))
            pred = net.predict(cell.Xv)
            confirmed = flags & (net.predict(cell.Xf) == cell.nf)  # out of sample: flagged rows
            record(rows, dict(noise=cell.noise, seed=cell.seed, fraction=fraction,
                              clean=float((pred == cell.yv).mean()),
                              noisy=float((pred == cell.nv).mean()),
                              flagged=float(flags.mean()),
                              det_f1=(f1_score(cell.flipped, flags) if cell.flipped.any()
                                      else np.nan),
                              confirmed=float(confirmed.mean()),
                              det_f1_unconfirmed=(f1_score(cell.flipped, flags & ~confirmed)
                                                  if cell.flipped.any() else np.nan),
                              dataset=args.dataset), args.csv)
    df = pd.DataFrame(rows)
    table = df.groupby(["noise", "fraction"]).agg(
        clean=("clean", "mean"), clean_sd=("clean", "std"), noisy=("noisy", "mean"),
        flagged=("flagged", "mean"), det_f1=("det_f1", "mean"), confirmed=("confirmed", "mean"),
        det_f1_unconfirmed=("det_f1_unconfirmed", "mean")).round(3)
    print(f"\n{args.dataset}, seeds {args.seeds}: rounds=2 validation accuracy by "
          "min_flagged_fraction\n")
    print(table.to_string())


if __name__ == "__main__":
    main()
