"""What should the ``rounds=2`` refit do with the flagged rows? Scored on a validation split.

As in ``select_flag_fraction.py``: the training part of a benchmark data set
(same 70/30 split as run.py) gets the noise and is split again 70/30 into fit
and validation rows; the test split is never touched. The first training
(``rounds=1``, the library's settings) runs once per seed and cell; then each
candidate second round trains a fresh net from the same seed on the fit rows:

- ``library (drop)``: what ``rounds=2`` does now (``_refit_without_issues``);
- ``drop``: the same rule in this script's own loop (checks the loop);
- ``drop, same steps``: the same rows, for ``max_epochs * n_rows / n_kept``
  epochs, so that the refit takes as many optimiser steps as the first round;
- ``drop, averaged weights``: the same rows; predictions from the running
  average of the weights (and batch-norm statistics) over the last third of
  the epochs (``torch.optim.swa_utils.AveragedModel``), which smooths out a
  bad final epoch;
- ``down-weight``: every row; a flagged row's loss is weighted by its
  ``label_quality`` (mass on the annotation averaged over the refinements);
- ``down-weight, squared``: the same with ``label_quality ** 2``;
- ``weight 1 - flagged fraction``: every row; a flagged row's loss is weighted
  by the share of refinements that did not flag it (rows flagged every time
  are dropped);
- ``relabel``: every row; a flagged row takes its refined label;
- ``soft targets``: every row; a flagged row is trained on its refined
  target vector (``refined_labels_``'s soft form);
- ``no cleaning``: plain cross-entropy on every row as annotated.

Printed: validation accuracy against the clean labels (what we care about)
and the noisy ones (all a user has).

    python benchmarks/select_refit.py --dataset kather2016 --noises sym0 sym40 pair40 --seeds 0 1
"""

import argparse
import copy
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.model_selection import train_test_split
from skorch import NeuralNet
from skorch.callbacks import Callback
from torch.optim.swa_utils import AveragedModel

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import HERE, NOISES, _common, load_dataset, make_noise  # noqa: E402

from noisyskl import NoisyNeuralNetClassifier  # noqa: E402

VARIANTS = ("library (drop)", "drop", "drop, same steps", "drop, averaged weights", "down-weight", "down-weight, squared",
            "weight 1 - flagged fraction", "relabel", "soft targets", "no cleaning")


class _Weighted(torch.nn.Module):
    """Wraps a module so that skorch can pass each row's loss weight along with X."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, X, w):
        return self.inner(X)


class _SoftWeightedNet(NeuralNet):
    """Mean of ``w_i * CE(logits_i, t_i)`` with soft targets ``t`` (n, C)."""

    def get_loss(self, y_pred, y_true, X=None, training=False):
        w = X["w"].to(y_pred.device)
        return (w * F.cross_entropy(y_pred, y_true.to(y_pred.device), reduction="none")).mean()


class _AverageLastEpochs(Callback):
    """Average the module's weights and buffers over the last third of the epochs."""

    def on_train_begin(self, net, **kwargs):
        self.average = AveragedModel(net.module_, use_buffers=True)
        self.start = net.max_epochs - max(net.max_epochs // 3, 1)

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) > self.start:
            self.average.update_parameters(net.module_)


def refit(settings, epochs, seed, X, targets, weights, device, average=False):
    module = settings["module"](**{k.split("__", 1)[1]: v for k, v in settings.items()
                                   if k.startswith("module__")})
    common = _common({}, epochs, device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed + 1_000_003)  # (the modules are built on the CPU)
        # fresh weights drawn under the seed
        for layer in module.modules():
            if hasattr(layer, "reset_parameters"):
                layer.reset_parameters()
        callbacks = [("average", _AverageLastEpochs())] if average else []
        net = _SoftWeightedNet(_Weighted(module), criterion=torch.nn.Identity,
                               callbacks=callbacks, **common)
        net.fit({"X": X, "w": weights.astype(np.float32)}, targets.astype(np.float32))
    return net


def predict(net, X):
    average = dict(net.callbacks_).get("average")
    if average is not None:
        module = average.average.module.inner.eval()
        with torch.no_grad():
            logits = torch.cat([module(torch.as_tensor(X[i:i + 256]).to(net.device))
                                for i in range(0, len(X), 256)])
    else:
        logits = net.forward({"X": X, "w": np.ones(len(X), np.float32)})
    return logits.argmax(1).cpu().numpy()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="kather2016")
    parser.add_argument("--noises", nargs="+", default=["sym0", "sym40"], choices=list(NOISES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--data-dir", default=str(HERE.parent.parent / "shared/data"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--csv", help="append rows to this CSV")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for seed in args.seeds:
        loaded = load_dataset(args.dataset, seed, args.data_dir)
        if loaded is None:
            sys.exit(f"{args.dataset}: data file not found in {args.data_dir}")
        Xtr, ytr, _, _, settings, epochs = loaded  # the test split is not touched
        for noise in args.noises:
            noisy, flipped = make_noise(*NOISES[noise], Xtr, ytr, seed)
            Xf, Xv, nf, nv, yf, yv = train_test_split(
                Xtr, noisy, ytr, test_size=0.3, stratify=ytr, random_state=seed)
            first = NoisyNeuralNetClassifier(random_state=seed, rounds=1,
                                             **_common(settings, epochs, args.device)).fit(Xf, nf)
            report = first.find_label_issues()
            flags = report["is_label_issue"].to_numpy()
            quality = report["label_quality"].to_numpy()
            fraction = report["flagged_fraction"].to_numpy()
            y_idx = np.searchsorted(first.classes_, nf)
            n_classes = len(first.classes_)
            onehot = np.eye(n_classes)[y_idx]
            refined = first.refined_labels_
            relabel = np.where(flags, refined.argmax(1), y_idx)
            for variant in args.variants:
                if variant == "library (drop)":
                    net = copy.deepcopy(first)
                    net._refit_without_issues(first._validate_X(Xf, reset=False), y_idx, "fit")
                    pred = net.predict(Xv)
                else:
                    n_epochs = epochs
                    if variant in ("drop", "drop, same steps", "drop, averaged weights"):
                        keep = ~flags
                        X, T, w = Xf[keep], onehot[keep], np.ones(keep.sum())
                        if variant == "drop, same steps":
                            n_epochs = int(round(epochs * len(Xf) / keep.sum()))
                    elif variant == "down-weight":
                        X, T, w = Xf, onehot, np.where(flags, quality, 1.0)
                    elif variant == "down-weight, squared":
                        X, T, w = Xf, onehot, np.where(flags, quality ** 2, 1.0)
                    elif variant == "weight 1 - flagged fraction":
                        X, T, w = Xf, onehot, np.where(flags, 1.0 - fraction, 1.0)
                    elif variant == "relabel":
                        X, T, w = Xf, np.eye(n_classes)[relabel], np.ones(len(Xf))
                    elif variant == "soft targets":
                        X, T, w = Xf, np.where(flags[:, None], refined, onehot), np.ones(len(Xf))
                    else:  # no cleaning
                        X, T, w = Xf, onehot, np.ones(len(Xf))
                    net = refit(settings, n_epochs, seed, X, T, w, args.device,
                                average=variant == "drop, averaged weights")
                    pred = first.classes_[predict(net, Xv)]
                rows.append(dict(dataset=args.dataset, noise=noise, seed=seed, variant=variant,
                                 clean=float((pred == yv).mean()),
                                 noisy=float((pred == nv).mean()),
                                 flagged=float(flags.mean())))
                print(pd.DataFrame(rows[-1:]).round(3).to_string(index=False, header=False),
                      flush=True)
                if args.csv:
                    pd.DataFrame(rows[-1:]).to_csv(args.csv, mode="a", index=False,
                                                   header=not Path(args.csv).exists())
    df = pd.DataFrame(rows)
    table = df.pivot_table(index="variant", columns="noise", values="clean", aggfunc="mean")
    print(f"\n{args.dataset}, seeds {args.seeds}: clean validation accuracy by second round\n")
    print(table.round(3).reindex([v for v in VARIANTS if v in table.index]).to_string())


if __name__ == "__main__":
    main()
