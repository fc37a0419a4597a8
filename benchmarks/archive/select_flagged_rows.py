"""``flagged_rows="unlabelled"`` against the default ``"drop"``, through the estimator (#29).

The validation cells of ``_selection.py`` (the test split is never touched).
On each cell's fit rows two ``rounds=2`` fits with the library's settings,
``refit_rows="choose"`` and a fifth held out (``ValidSplit(0.2)``, seeded, as
``choice_cells``), the same ``random_state`` (so the same first round):
``flagged_rows="drop"`` (the default) and ``"unlabelled"``. Recorded: clean
validation accuracy of each, which refit each choice kept and its
noise-corrected held-out scores, and the wall time.

``--views`` trains both on a torch Dataset of the fit rows whose items are
drawn as the benchmark's DivideMix draws its views (a random 4-pixel crop of
the reflect-padded image and a horizontal flip, each item every time it is
read): what a user with an augmenting Dataset of images gets. Without it, the
rows are the arrays themselves.

``--variants`` adds variants of ``"unlabelled"`` tried against its loss on the
blood-cell arrays under pair-flip noise (patched in for the fit, not in the
library): ``unlabelled_ramp`` raises λ_u linearly from 0 over the refit's
first half of epochs (DivideMix and MixMatch ramp λ_u up: DivideMix over 16
epochs after a 10-epoch warm-up; our refit starts from fresh weights, whose
first guesses are noise), ``unlabelled_prior`` pulls the batch's mean
prediction towards the labelled rows' class shares instead of uniform (the
blood cells' classes are 5-20% each).

    python -m benchmarks.archive.select_flagged_rows --dataset blood_cells \\
        --noises sym40 pair40 sym0 --seeds 0 1 2 --threads 1 --views \\
        --csv benchmarks/results/select_flagged_rows_cpu.csv
"""

import contextlib
import time

import numpy as np
import torch
import torch.nn.functional as F
from skorch.dataset import ValidSplit

from benchmarks.archive._selection import record, selection_parser, validation_splits
from benchmarks.common import net_settings as _common
from noisyskl import NoisyNeuralNetClassifier, RefitNet, _functional

VARIANTS = ("drop", "unlabelled", "unlabelled_ramp", "unlabelled_prior")


class CropFlipRows(torch.utils.data.Dataset):
    """Items ``(view of image i, label i)``: a random 4-pixel crop of the
    reflect-padded image and a horizontal flip with probability 1/2, drawn
    from torch's generator each time the item is read."""

    def __init__(self, X, y):
        self.X = torch.as_tensor(np.asarray(X), dtype=torch.float32)
        self.y = np.asarray(y)

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        x = F.pad(self.X[i][None], (4, 4, 4, 4), mode="reflect")[0]
        h, w = self.X.shape[2:]
        a, b = torch.randint(0, 9, (2,)).tolist()
        x = x[:, a:a + h, b:b + w]
        return (x.flip(2) if torch.rand(()) < 0.5 else x), self.y[i]


@contextlib.contextmanager
def variant(name):
    """Patch the refit's loss for one of the ``unlabelled_*`` variants while
    the block runs (nothing for ``drop`` and ``unlabelled``)."""
    if name in ("drop", "unlabelled"):
        yield name
        return
    loss, step, begin = (_functional.semi_supervised_loss, RefitNet.train_step_single,
                         RefitNet.on_train_begin)
    now = {}

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        begin(self, net, X=X, y=y, **kwargs)
        if self.unlabelled_ is not None:
            labelled = np.asarray(y)[~self.unlabelled_.cpu().numpy()]
            counts = np.bincount(labelled, minlength=len(self.classes_))
            now["shares"] = torch.as_tensor(counts / counts.sum(), dtype=torch.float32)

    def train_step_single(self, batch, **fit_params):
        now["ramp"] = min(1.0, (len(self.history) - 1) / (self.max_epochs / 2))
        return step(self, batch, **fit_params)

    def patched(logits, targets, unlabelled, lambda_u=1.0, weights=None):
        if name == "unlabelled_ramp":
            return loss(logits, targets, unlabelled, lambda_u * now["ramp"], weights)
        # unlabelled_prior: the uniform prior's term swapped for the labelled shares'
        proba_mean = logits.float().softmax(1).mean(0)
        n = logits.shape[1]
        uniform = ((1.0 / n) * torch.log((1.0 / n) / proba_mean)).sum()
        shares = now["shares"].to(logits.device).clamp_min(1e-8)
        return (loss(logits, targets, unlabelled, lambda_u, weights) - uniform
                + (shares * torch.log(shares / proba_mean)).sum())

    _functional.semi_supervised_loss = patched
    RefitNet.train_step_single, RefitNet.on_train_begin = train_step_single, on_train_begin
    try:
        yield "unlabelled"
    finally:
        _functional.semi_supervised_loss = loss
        RefitNet.train_step_single, RefitNet.on_train_begin = step, begin


def main():
    parser = selection_parser(__doc__.split("\n")[0], dataset="digits")
    parser.add_argument("--views", action="store_true")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS,
                        default=["drop", "unlabelled"])
    args = parser.parse_args()
    rows = []
    for cell in validation_splits(args):
        common = _common(cell.settings, cell.epochs, args.device)
        common["train_split"] = ValidSplit(0.2, stratified=True, random_state=cell.seed)
        data = CropFlipRows(cell.Xf, cell.nf) if args.views else cell.Xf
        row = dict(dataset=args.dataset, noise=cell.noise, seed=cell.seed, views=args.views)
        for flagged_rows in args.variants:
            start = time.perf_counter()
            with variant(flagged_rows) as setting:
                est = NoisyNeuralNetClassifier(random_state=cell.seed, flagged_rows=setting,
                                               **common)
                est.fit(data, None if args.views else cell.nf)
            choice = est.refit_choice_ or {}
            row[f"clean_{flagged_rows}"] = float((est.predict(cell.Xv) == cell.yv).mean())
            row[f"kept_{flagged_rows}"] = choice.get("refit_rows")
            for kind in ("every", "unflagged"):
                row[f"score_{kind}_{flagged_rows}"] = choice.get(f"score_{kind}")
            row[f"wall_{flagged_rows}"] = time.perf_counter() - start
        record(rows, row, args.csv)


if __name__ == "__main__":
    main()
