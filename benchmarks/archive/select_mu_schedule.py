"""Does a Gaussian centre that rises over the first round keep the hard clean rows? (validation split)

At 0% noise the default (``rounds=2``) loses 3 points on the blood cells and
7 on Kather against plain cross-entropy: the first round's Gaussian weight,
centred on mu = 0.2, barely trains on rows with a large gradient norm, so hard
but correct rows are never fitted, get flagged and are left out of the refit.
This script tries a curriculum: mu rises linearly from 0.2 at the first epoch
to a higher value at the last, so that late epochs weight the hard rows more.
The refit (plain cross-entropy) is unchanged.

For each validation cell (see ``_selection.py``: the noisy training part is
split into fit and validation rows; the test split is never touched) the
default estimator trains on the fit rows once per schedule, from the same
seed. Printed per schedule and noise: the clean validation accuracy of the
final model, the share of clean fit rows flagged (and so dropped), the share
of wrong labels kept, and the detection F1 against the rows we flipped.

    python -m benchmarks.archive.select_mu_schedule --dataset blood_cells --noises sym0 sym40 pair40 --seeds 0 1 2
"""

import sys
from pathlib import Path

import pandas as pd
from skorch.callbacks import Callback

from benchmarks.archive._selection import (  # noqa: E402
    VOTE_ONLY,
    flag_scores,
    print_means,
    record,
    selection_parser,
    validation_splits,
)
from benchmarks.common import net_settings as _common  # noqa: E402

from noisyskl import NoisyNeuralNetClassifier  # noqa: E402

#: name -> (mu at the first epoch, mu at the last); None: the library's constant mu.
SCHEDULES = {
    "mu = 0.2 (the library)": None,
    "mu 0.2 -> 0.5": (0.2, 0.5),
    "mu 0.2 -> 0.8": (0.2, 0.8),
}


class RisingMu(Callback):
    """Sets the criterion's mu before each epoch of the first round, linearly
    from ``start`` (first epoch) to ``end`` (last epoch)."""

    def __init__(self, start, end):
        self.start, self.end = start, end

    def on_epoch_begin(self, net, **kwargs):
        if "_refit_" in net.__dict__:  # the rounds=2 refit is plain cross-entropy
            return
        done = (len(net.history) - 1) / max(net.max_epochs - 1, 1)
        mu = self.start + (self.end - self.start) * done
        net.criterion_.mu = mu
        if net.criterion_.density is not None:
            net.criterion_.density.resync(mu=mu)  # its sum for sigma is around mu


def main():
    args = selection_parser(__doc__.split("\n")[0]).parse_args()
    rows = []
    for cell in validation_splits(args):
        common = _common(cell.settings, cell.epochs, args.device)
        for name, schedule in SCHEDULES.items():
            callbacks = [] if schedule is None else [RisingMu(*schedule)]
            clf = NoisyNeuralNetClassifier(random_state=cell.seed, rounds=2, **VOTE_ONLY,
                                           callbacks=callbacks, **common).fit(cell.Xf, cell.nf)
            drop = clf.find_label_issues()["is_label_issue"].to_numpy()
            record(rows, dict(dataset=args.dataset, noise=cell.noise, seed=cell.seed,
                              schedule=name,
                              accuracy=float((clf.predict(cell.Xv) == cell.yv).mean()),
                              **flag_scores(drop, cell.flipped)), args.csv)
    print_means(pd.DataFrame(rows), "schedule", ("accuracy", "clean_dropped", "wrong_kept",
                                                 "det_f1"),
                list(SCHEDULES), f"{args.dataset}, seeds {args.seeds}")


if __name__ == "__main__":
    main()
