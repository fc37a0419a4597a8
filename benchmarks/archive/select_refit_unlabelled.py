"""Should the refit keep the flagged rows as unlabelled data instead of dropping them (#29)?

DivideMix's lever (Li, Socher and Hoi, ICLR 2020): the rows it distrusts stay
in training without their labels, with a target guessed by the network
itself. Here the first round's flags decide which rows are unlabelled (no
second network, no mixture model), and one refit trains on

- the unflagged rows against their annotations (cross-entropy), and
- a batch of flagged rows of the same size per step against the refit's own
  guess: its softmax averaged over two views of the rows, sharpened
  (T = 0.5), under the squared error weighted by ``lambda_u`` (DivideMix's
  unlabelled loss, with the λ_u that its tuning chose on the blood cells, 1),
  plus DivideMix's uniform-prior term,

with two views per row for images (random 4-pixel crop and flip, as the
benchmark's DivideMix) and the rows themselves for tabular data. Candidates,
on the validation cells of ``select_refit_mixup`` (the first round holds out a
fifth of its fit rows; candidates train on the rest and are scored on the
held-out rows, corrected for noise, as ``refit_rows="choose"`` does):

- ``drop``, ``every``: the library's two plain refits (the default chooses
  between them; ``drop`` equals the column of the runs before, bit for bit);
- ``drop_views``: this script's loop on the unflagged rows with the views and
  no unlabelled rows (what augmentation alone gives);
- ``drop_views_bn``: the same with the batch-norm statistics recomputed on
  the rows as they are after training (as the mixup candidates);
- ``unlab``: the unflagged rows labelled, the flagged unlabelled;
- ``unlab_mix``: the same with MixMatch's mixup over both (α 4, the larger
  weight on the first row), batch-norm statistics recomputed on the rows
  unmixed after training (as ``select_refit_mixup``);
- ``unlab_noviews``, ``unlab_mix_noviews``: the two without views (what the
  library could do with arrays of images, which it does not augment; on
  tabular rows the same as with views).

    python -m benchmarks.archive.select_refit_unlabelled --dataset digits \\
        --noises sym0 sym20 sym40 pair40 inst40 --seeds 0 1 2 --threads 1 \\
        --csv benchmarks/results/select_refit_unlabelled_cpu.csv
"""

import numpy as np
import torch
import torch.nn.functional as F

from benchmarks.archive._selection import (
    choice_cells,
    plain_refit,
    record,
    score_candidate,
    selection_parser,
)
from benchmarks.peers import DivideMix


class UnlabelledRefit(DivideMix):
    """One network trained on labelled rows (cross-entropy) and unlabelled
    rows (``lambda_u`` × squared error against its own sharpened guess, and
    the uniform prior), optionally mixed (MixMatch). Shares the benchmark
    DivideMix's settings, views, sharpening and prediction."""

    def __init__(self, *args, mix=False, views=True, recompute_bn=False, labels=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.mix, self.views, self.labels = mix, views, labels
        self.recompute_bn = recompute_bn or mix

    def _views(self, x):
        return super()._views(x) if self.views else x

    def fit(self, X, y, unlabelled):
        torch.manual_seed(self.seed)
        np.random.seed(self.seed)
        X = torch.as_tensor(np.asarray(X), dtype=torch.float32, device=self.device)
        y = torch.as_tensor(np.asarray(y), dtype=torch.long, device=self.device)
        c = self.module_kwargs["n_classes"]
        self.classes_ = np.arange(c)
        net = self.module(**self.module_kwargs).to(self.device)
        self.nets_ = [net, net]  # (DivideMix's predict_proba averages two)
        opt = torch.optim.Adam(net.parameters(), lr=self.lr)
        lab = torch.as_tensor(np.flatnonzero(~unlabelled), device=self.device)
        unl = torch.as_tensor(np.flatnonzero(unlabelled), device=self.device)
        use_u = self.lambda_u > 0 and len(unl) > 1
        for _ in range(self.max_epochs):
            net.train()
            for rows in lab[torch.randperm(len(lab))].split(self.batch_size):
                if len(rows) < 2:
                    continue
                inputs, targets = [self._views(X[rows])], [F.one_hot(y[rows], c).float()]
                if use_u:
                    u = unl[torch.randint(len(unl), (len(rows),))]
                    u1, u2 = self._views(X[u]), self._views(X[u])
                    with torch.no_grad():  # label guessing (train mode, as DivideMix)
                        guess = self._sharpen((net(u1).softmax(1) + net(u2).softmax(1)) / 2)
                    inputs.append(u1)
                    targets.append(guess)
                all_x, all_t = torch.cat(inputs), torch.cat(targets)
                if self.mix:
                    lam = np.random.beta(self.alpha, self.alpha)
                    lam = max(lam, 1 - lam)
                    order = torch.randperm(len(all_x))
                    all_x = lam * all_x + (1 - lam) * all_x[order]
                    all_t = lam * all_t + (1 - lam) * all_t[order]
                logits = net(all_x)
                n_x = len(rows)
                loss = -(F.log_softmax(logits[:n_x], 1) * all_t[:n_x]).sum(1).mean()
                if use_u:
                    loss = loss + self.lambda_u * (
                        (logits[n_x:].softmax(1) - all_t[n_x:]) ** 2).mean()
                    prior = torch.full((c,), 1.0 / c, device=logits.device)
                    loss = loss + (prior * torch.log(prior / logits.softmax(1).mean(0))).sum()
                opt.zero_grad()
                loss.backward()
                opt.step()
        if self.recompute_bn:  # batch-norm statistics of the rows unmixed, as they are
            torch.optim.swa_utils.update_bn(
                torch.utils.data.DataLoader(X, batch_size=self.batch_size), net,
                device=self.device)
        return self

    def predict(self, X):
        return self.labels[self.predict_proba(X).argmax(1)]


def own_refit(cell, args, keep, unlabelled, lambda_u, mix, views=True, recompute_bn=False):
    """An :class:`UnlabelledRefit` on the fit rows ``keep`` (``unlabelled``
    among them without labels), with the cell's module, Adam, batch size,
    epochs and seed."""
    own = {k[len("module__"):]: v for k, v in cell.settings.items() if k.startswith("module__")}
    net = UnlabelledRefit(cell.settings["module"], own, cell.common["max_epochs"],
                          lr=cell.common["lr"], batch_size=cell.common["batch_size"],
                          seed=cell.seed, lambda_u=lambda_u, device=args.device, mix=mix,
                          views=views, recompute_bn=recompute_bn, labels=cell.classes)
    return net.fit(cell.Xf[keep], cell.y_idx[keep], unlabelled[keep])


def main():
    parser = selection_parser(__doc__.split("\n")[0], dataset="digits")
    parser.add_argument("--lambda-u", type=float, default=1.0)
    parser.add_argument("--candidates", nargs="+",
                        default=["drop", "every", "drop_views", "unlab", "unlab_mix"])
    args = parser.parse_args()
    rows = []
    for cell in choice_cells(args):
        row = dict(dataset=args.dataset, noise=cell.noise, seed=cell.seed,
                   lambda_u=args.lambda_u, flagged=float(cell.flagged[cell.trained].mean()))
        unflagged = cell.trained & ~cell.flagged
        none = np.zeros_like(cell.flagged)
        for name in args.candidates:
            if name in ("drop", "every"):
                net = plain_refit(cell, unflagged if name == "drop" else cell.trained)
            elif name.startswith("drop_views"):
                net = own_refit(cell, args, unflagged, none, 0.0, False,
                                recompute_bn=name.endswith("_bn"))
            else:
                net = own_refit(cell, args, cell.trained, cell.flagged, args.lambda_u,
                                name.startswith("unlab_mix"), views=not name.endswith("_noviews"))
            score_candidate(cell, net, name, row)
        record(rows, row, args.csv)


if __name__ == "__main__":
    main()
