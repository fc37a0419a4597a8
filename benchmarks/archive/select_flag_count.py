"""Flag as many rows as labels look wrong: a count from a confident joint (validation split).

At 0% noise the ``rounds=2`` refit leaves out hard but correct rows (a tenth
of the blood cells, a fifth of Kather), so the default trails plain
cross-entropy on clean data. This script tries the lever of issue #20: decide
*how many* rows to flag from an estimate of how many labels are wrong, then
flag the rows with the lowest ``label_quality`` up to that count, and nothing
where the data look clean.

The count is cleanlab's calibrated confident joint (off-diagonal sum;
``functional.confident_joint_issue_count``), computed
from predictions that are not yet memorised: the first round's training-pass
predictions at the end of its first refinement epoch (``warm_up``), at half its
epochs, or averaged over all its refinements. For each validation cell (see
``_selection.py``: the training part of the data gets the noise and is split
70/30 into fit and validation rows; the test split is never touched; the first
round trains on every fit row, as in run.py), each variant drops its rows and
refits exactly as ``rounds=2`` does (``refit_without_issues``):

- ``library``: the library's rule (flagged in >= 10% of the refinements);
- ``none``: no row dropped (the refit is plain cross-entropy on every row);
- ``library, at most CJ(e)``: the library's flags, keeping only the
  ``n(e)`` of them with the lowest label quality, where ``n(e)`` is the count
  from the predictions ``e`` (``first``, ``mid``, ``mean``);
- ``lowest quality, CJ(e)``: the ``n(e)`` rows with the lowest label quality,
  whatever the vote.

Printed per variant and noise: validation accuracy against the clean labels
(what we care about) and the noisy ones, the share of rows dropped, the count
estimate against the true number of flipped rows, and the detection F1.

    python -m benchmarks.archive.select_flag_count --dataset blood_cells --noises sym0 sym40 pair40 --seeds 0 1
"""

import copy
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from skorch.callbacks import Callback

from benchmarks.archive._selection import VOTE_ONLY, flag_scores, record, selection_parser, validation_splits  # noqa: E402
from benchmarks.common import net_settings as _common  # noqa: E402

import noisyskl.functional as Fn  # noqa: E402
from noisyskl import NoisyNeuralNetClassifier  # noqa: E402
from noisyskl._refit import refit_without_issues  # noqa: E402


class _Predictions(Callback):
    """Keeps the per-row predictions at chosen epochs and their mean over the refinements."""

    def __init__(self, epochs):
        self.epochs = epochs

    def initialize(self):
        self.at, self.total, self.count = {}, None, 0
        return self

    def on_epoch_end(self, net, **kwargs):
        epoch, proba = len(net.history), net.refinement_state_.proba.detach().cpu().numpy()
        if epoch in self.epochs:
            self.at[epoch] = proba.copy()
        if epoch >= max(net.warm_up, 1):
            self.total = proba.copy() if self.total is None else self.total + proba
            self.count += 1


def lowest(quality, candidates, n):
    """The ``n`` rows of ``candidates`` (a mask) with the lowest quality."""
    order = np.flatnonzero(candidates)[np.argsort(quality[candidates], kind="stable")]
    drop = np.zeros(len(quality), bool)
    drop[order[:n]] = True
    return drop


def main():
    parser = selection_parser(__doc__.split("\n")[0])
    args = parser.parse_args()
    rows = []
    for cell in validation_splits(args):
        common = _common(cell.settings, cell.epochs, args.device)
        warm_up = NoisyNeuralNetClassifier().warm_up
        seen = _Predictions({warm_up, cell.epochs // 2})
        first = NoisyNeuralNetClassifier(random_state=cell.seed, rounds=1, **VOTE_ONLY,
                                         callbacks=[("predictions", seen)], **common)
        first.fit(cell.Xf, cell.nf)
        y_idx = np.searchsorted(first.classes_, cell.nf)
        report = first.find_label_issues()
        library = report["is_label_issue"].to_numpy()
        quality = report["label_quality"].to_numpy()
        sources = {"first": seen.at[warm_up], "mid": seen.at[cell.epochs // 2],
                   "mean": seen.total / seen.count}
        counts = {name: Fn.confident_joint_issue_count(torch.from_numpy(p), torch.from_numpy(y_idx))
                  for name, p in sources.items()}
        variants = {"library": library, "none": np.zeros_like(library)}
        for name, n in counts.items():
            variants[f"library, at most CJ({name})"] = lowest(quality, library, n)
            variants[f"lowest quality, CJ({name})"] = lowest(quality, np.ones_like(library), n)
        X = first._validate_X(cell.Xf, reset=False)
        for variant, drop in variants.items():
            net = copy.deepcopy(first).set_params(callbacks=[])
            net._take_refit(refit_without_issues(net, X, y_idx, "fit", keep=~drop))
            pred = net.predict(cell.Xv)
            record(rows, dict(dataset=args.dataset, noise=cell.noise, seed=cell.seed,
                              variant=variant, clean=float((pred == cell.yv).mean()),
                              noisy=float((pred == cell.nv).mean()),
                              dropped=float(drop.mean()), flipped=float(cell.flipped.mean()),
                              **{f"cj_{k}": v / len(drop) for k, v in counts.items()},
                              **flag_scores(drop, cell.flipped)), args.csv)
    df = pd.DataFrame(rows)
    order = list(dict.fromkeys(df.variant))
    for value in ("clean", "dropped", "det_f1"):
        table = df.pivot_table(index="variant", columns="noise", values=value, aggfunc="mean")
        print(f"\n{args.dataset}, seeds {args.seeds}: {value} (mean over seeds)\n")
        print(table.reindex(order).round(3).to_string())
    est = df.groupby("noise")[["flipped", "cj_first", "cj_mid", "cj_mean"]].mean()
    print("\nshare of rows flipped, and the confident joint's estimates\n")
    print(est.round(3).to_string())


if __name__ == "__main__":
    main()
