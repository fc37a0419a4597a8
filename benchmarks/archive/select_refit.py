"""What should the ``rounds=2`` refit do with the flagged rows? Scored on a validation split.

As in ``select_flag_fraction.py``: the training part of a benchmark data set
(same 70/30 split as run.py) gets the noise and is split again 70/30 into fit
and validation rows; the test split is never touched. The first training
(``rounds=1``, the library's settings) runs once per seed and cell; then each
candidate second round trains a fresh net from the same seed on the fit rows:

- ``library (drop)``: what ``rounds=2`` does now (``_refit.refit_without_issues``);
- ``drop``: the same rule in this script's own loop (checks the loop);
- ``drop, same steps``: the same rows, for ``max_epochs * n_rows / n_kept``
  epochs, so that the refit takes as many optimiser steps as the first round;
- ``drop, averaged weights``: the same rows; predictions from the running
  average of the weights (and batch-norm statistics) over the last third of
  the epochs (``torch.optim.swa_utils.AveragedModel``), which smooths out a
  bad final epoch (what ``rounds=2`` does since 2026-11-26);
- ``drop, same steps, averaged weights``: both of the above;
- ``down-weight``: every row; a flagged row's loss is weighted by its
  ``label_quality`` (mass on the annotation averaged over the refinements);
- ``down-weight, squared``: the same with ``label_quality ** 2``;
- ``weight 1 - flagged fraction``: every row; a flagged row's loss is weighted
  by the share of refinements that did not flag it (rows flagged every time
  are dropped);
- ``relabel``: every row; a flagged row takes its refined label;
- ``soft targets``: every row; a flagged row is trained on its refined
  target vector (``refined_labels_``'s soft form);
- ``no cleaning``: plain cross-entropy on every row as annotated;
- ``drop, method's loss, averaged weights``: the kept rows, trained again with
  the method's own loss and refinement (``rounds=1``, library settings) instead
  of plain cross-entropy, weights averaged as the library's refit does: does
  the Gaussian weight also help against the wrong labels the flags missed?
- third trainings, after the ``drop, averaged weights`` refit, which has never
  seen the flagged rows and so predicts them out of sample (each also averages
  its weights):

  - ``restore agreed``: the kept rows plus the flagged rows whose annotation
    the refit predicts (hard but correct rows the first round gave up on);
  - ``relabel by refit``: the kept rows plus every flagged row, labelled with
    the refit's prediction;
  - ``restore agreed, relabel confident``: as ``restore agreed``, plus the
    other flagged rows that the refit predicts with probability >= 0.9,
    labelled with that prediction.

Printed: validation accuracy against the clean labels (what we care about)
and the noisy ones (all a user has).

    python -m benchmarks.archive.select_refit --dataset kather2016 --noises sym0 sym40 pair40 --seeds 0 1

``--pick-by-noisy-validation CSV...`` trains nothing: from rows written with
``--csv``, it asks what a user would get by choosing, per run, between
``drop`` and ``no cleaning`` by their accuracy on the *noisy* validation
labels (all a user has), and prints the clean accuracy of that choice.
"""

import copy
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from skorch import NeuralNet
from skorch.callbacks import Callback

from benchmarks.archive._selection import record, selection_parser, validation_cells  # noqa: E402
from benchmarks.common import net_settings as _common  # noqa: E402

from noisyskl import NoisyNeuralNetClassifier  # noqa: E402
from noisyskl._averaging import WeightAverage  # noqa: E402
from noisyskl._refit import refit_without_issues  # noqa: E402

VARIANTS = ("library (drop)", "drop", "drop, same steps", "drop, averaged weights",
            "drop, same steps, averaged weights", "down-weight",
            "down-weight, squared", "weight 1 - flagged fraction", "relabel", "soft targets",
            "no cleaning", "restore agreed", "relabel by refit",
            "restore agreed, relabel confident", "drop, method's loss, averaged weights")
THIRD_ROUNDS = ("restore agreed", "relabel by refit", "restore agreed, relabel confident")
METHOD_LOSS = "drop, method's loss, averaged weights"


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
    """The library refit's averaging (last third of the epochs) for this script's loop."""

    def on_train_begin(self, net, **kwargs):
        self.refit = WeightAverage(net.module_, net.max_epochs)

    def on_epoch_end(self, net, **kwargs):
        self.refit.epoch_end(net.module_, len(net.history))

    def on_train_end(self, net, **kwargs):
        self.refit.train_end(net.module_)


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


def predict_proba(net, X):
    logits = net.forward({"X": X, "w": np.ones(len(X), np.float32)})
    return torch.softmax(logits, 1).numpy()


def predict(net, X):
    return predict_proba(net, X).argmax(1)


def _third_round_data(variant, cell, report, refit_proba):
    """(rows, one-hot targets, loss weights) of a third training; ``refit_proba``
    is the drop refit's prediction for every fit row (out of sample on the flagged ones)."""
    flags = report["is_label_issue"].to_numpy()
    pred, conf = refit_proba.argmax(1), refit_proba.max(1)
    agreed = flags & (pred == cell.y_idx)
    if variant == "restore agreed":
        keep, label = ~flags | agreed, cell.y_idx
    elif variant == "relabel by refit":
        keep, label = np.ones(len(flags), bool), np.where(flags, pred, cell.y_idx)
    else:  # restore agreed, relabel confident
        confident = flags & ~agreed & (conf >= 0.9)
        keep, label = ~flags | agreed | confident, np.where(confident, pred, cell.y_idx)
    eye = np.eye(refit_proba.shape[1])
    return cell.Xf[keep], eye[label[keep]], np.ones(int(keep.sum()))


def _second_round_data(variant, cell, report):
    """(rows, targets, loss weights, epochs) that ``variant`` refits on."""
    flags = report["is_label_issue"].to_numpy()
    quality = report["label_quality"].to_numpy()
    fraction = report["flagged_fraction"].to_numpy()
    first, Xf, epochs = cell.first, cell.Xf, cell.epochs
    y_idx = cell.y_idx
    eye = np.eye(len(first.classes_))
    onehot, refined, every = eye[y_idx], first.refined_labels_, np.ones(len(Xf))
    if variant.startswith("drop"):
        keep = ~flags
        steps = len(Xf) / keep.sum() if "same steps" in variant else 1.0
        return Xf[keep], onehot[keep], every[keep], int(round(epochs * steps))
    if variant == "down-weight":
        return Xf, onehot, np.where(flags, quality, 1.0), epochs
    if variant == "down-weight, squared":
        return Xf, onehot, np.where(flags, quality ** 2, 1.0), epochs
    if variant == "weight 1 - flagged fraction":
        return Xf, onehot, np.where(flags, 1.0 - fraction, 1.0), epochs
    if variant == "relabel":
        return Xf, eye[np.where(flags, refined.argmax(1), y_idx)], every, epochs
    if variant == "soft targets":
        return Xf, np.where(flags[:, None], refined, onehot), every, epochs
    return Xf, onehot, every, epochs  # no cleaning


def pick_by_noisy_validation(paths):
    """Clean accuracy of choosing ``drop`` or ``no cleaning`` by noisy validation accuracy."""
    df = pd.concat([pd.read_csv(p).assign(source=Path(p).name) for p in paths])
    df = df[df.variant.isin(["drop", "no cleaning"])]
    wide = df.pivot_table(index=["source", "dataset", "noise", "seed"], columns="variant",
                          values=["clean", "noisy"])
    pick_drop = wide[("noisy", "drop")] >= wide[("noisy", "no cleaning")]
    table = pd.DataFrame({
        "drop": wide[("clean", "drop")],
        "no cleaning": wide[("clean", "no cleaning")],
        "picked": wide[("clean", "drop")].where(pick_drop, wide[("clean", "no cleaning")]),
        "share picking drop": pick_drop.astype(float),
    })
    print(table.groupby(level=[0, 1, 2]).mean().round(3).to_string())


def main():
    parser = selection_parser(__doc__.split("\n")[0], dataset="kather2016")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--pick-by-noisy-validation", nargs="+", metavar="CSV")
    args = parser.parse_args()
    if args.pick_by_noisy_validation:
        return pick_by_noisy_validation(args.pick_by_noisy_validation)
    rows = []
    for cell in validation_cells(args):
        first = cell.first
        report = first.find_label_issues()
        trained = {}  # variant -> net, so the third trainings reuse the averaged refit
        for variant in args.variants:
            if variant in THIRD_ROUNDS:
                averaged = "drop, averaged weights"
                if averaged not in trained:
                    X, T, w, n_epochs = _second_round_data(averaged, cell, report)
                    trained[averaged] = refit(cell.settings, n_epochs, cell.seed, X, T, w,
                                              args.device, average=True)
                refit_proba = predict_proba(trained[averaged], cell.Xf)
                X, T, w = _third_round_data(variant, cell, report, refit_proba)
                net = refit(cell.settings, cell.epochs, cell.seed, X, T, w, args.device,
                            average=True)
                pred = first.classes_[predict(net, cell.Xv)]
            elif variant == METHOD_LOSS:
                keep = ~report["is_label_issue"].to_numpy()
                net = NoisyNeuralNetClassifier(
                    random_state=cell.seed, rounds=1,
                    callbacks=[("average", _AverageLastEpochs())],
                    **_common(cell.settings, cell.epochs, args.device)).fit(cell.Xf[keep],
                                                                            cell.nf[keep])
                pred = net.predict(cell.Xv)
            elif variant == "library (drop)":
                net = copy.deepcopy(first)
                net._take_refit(refit_without_issues(
                    net, first._validate_X(cell.Xf, reset=False), cell.y_idx, "fit"))
                pred = net.predict(cell.Xv)
            else:
                X, T, w, n_epochs = _second_round_data(variant, cell, report)
                net = trained[variant] = refit(cell.settings, n_epochs, cell.seed, X, T, w,
                                               args.device,
                                               average=variant.endswith("averaged weights"))
                pred = first.classes_[predict(net, cell.Xv)]
            record(rows, dict(dataset=args.dataset, noise=cell.noise, seed=cell.seed,
                              variant=variant, clean=float((pred == cell.yv).mean()),
                              noisy=float((pred == cell.nv).mean()),
                              flagged=float(report["is_label_issue"].mean())), args.csv)
    df = pd.DataFrame(rows)
    table = df.pivot_table(index="variant", columns="noise", values="clean", aggfunc="mean")
    print(f"\n{args.dataset}, seeds {args.seeds}: clean validation accuracy by second round\n")
    print(table.round(3).reindex([v for v in VARIANTS if v in table.index]).to_string())


if __name__ == "__main__":
    main()
