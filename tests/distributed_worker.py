"""One process of a data-parallel fit, for tests/test_distributed.py.

Run by ``torchrun --standalone --nproc-per-node N tests/distributed_worker.py
OUT CONFIG``, or directly (one process, no process group) for the
reference. Trains on the digits with 30% of the labels flipped and writes
what the test compares to ``OUT/rank{rank}.pt``. Not a test module.
"""

import os
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from sklearn.datasets import load_digits
from skorch.callbacks import Checkpoint

from noisyskl import MLPModule, NoisyNeuralNetClassifier


def digits(noise=0.3, seed=0):
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(seed)
    flip = rng.random(len(y)) < noise
    y = y.copy()
    y[flip] = (y[flip] + rng.integers(1, 10, flip.sum())) % 10
    return (X / 16).astype(np.float32), y


class RowsOf(torch.utils.data.Dataset):
    """``(x, label)`` items of arrays, as a Dataset of files would give them."""

    def __init__(self, X, y):
        self.X, self.y = X, y

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return torch.from_numpy(self.X[i]), int(self.y[i])


class MLP64(torch.nn.Module):
    """``MLPModule`` in float64 (its inputs cast on the way in).

    The configs that compare two processes with one train in float64: the two
    runs then differ only by the order of float64 sums (the gradients' halves
    all-reduced, the density's counts), about 1e-16 relative per step, so
    that even grown over 8 epochs of training the per-row state, stored in
    float32, differs by at most a few float32 roundings. In float32 the same
    reordering grows to 1e-6 on one CPU's kernels and 9e-5 on another's
    (tests/test_distributed.py).
    """

    def __init__(self, unused=False):
        super().__init__()
        self.used = MLPModule(64, 10)
        if unused:  # a layer the forward never uses (DDP needs to be told)
            self.unused = torch.nn.Linear(64, 10)
        self.double()

    def forward(self, X):
        return self.used(X.double())


def estimator(config, world, seed=0):
    """The estimator of a config; ``batch_size`` is per process, so the global
    batch is 64 rows whatever the number of processes."""
    kwargs = dict(max_epochs=8, warm_up=3, lr=0.3, random_state=seed, verbose=0,
                  batch_size=64 // world, iterator_train__shuffle=False, rounds=1,
                  module=MLP64)
    if config == "shuffled":  # compared as a second seed is: float32, as a user has
        # (refit_rows="unflagged", flagged_rows="drop": what a data-parallel fit refits
        # on; the one process too)
        kwargs.update(iterator_train__shuffle=True, rounds=2, refit_rows="unflagged",
                      flagged_rows="drop", module=MLPModule,
                      module__n_features=64, module__n_classes=10)
    elif config == "both":
        kwargs.update(weighting="both", class_weight="balanced")
    elif config == "unused":
        kwargs.update(module__unused=True, ddp__find_unused_parameters=True)
    elif config.startswith("refit_"):  # rounds=2, flagged_rows="drop" or "unlabelled"
        kwargs.update(rounds=2, flagged_rows=config.removeprefix("refit_"))
    elif config == "cnn":  # SmallCNN: batch norm, whose batch statistics are each process's
        del kwargs["module"]
        kwargs.update(module__channels=(8, 16), max_epochs=6)
    return NoisyNeuralNetClassifier(**kwargs)


def break_synchronisation(what):
    """Undo one part of the synchronisation on purpose, so that the test can
    check that its comparison with one process fails when the processes
    really disagree (NOISYSKL_TEST_BREAK; private names, on purpose)."""
    if what == "loss_share":  # each process's mean, unscaled by its share of the batch
        from noisyskl._distributed import World

        World.global_batch_loss = lambda self, loss, n_rows, total=None: loss
    elif what == "density":  # each process counts only its own rows' g in the density
        from noisyskl import GradientDensity

        update = GradientDensity.update
        GradientDensity.update = lambda self, index, g, reduce=None: update(
            self, index, g, reduce=None if reduce is None else (lambda delta: delta))
    elif what:
        raise ValueError(f"unknown NOISYSKL_TEST_BREAK={what!r}")


def checkpoint(out):
    return Checkpoint(dirname=f"{out}/cp", monitor=None, f_criterion="criterion.pt",
                      f_refinement_state="state.pt")


def main(out, config, tag="", seed="0"):
    world = 1
    if "RANK" in os.environ:
        timeout = 10 if config == "fail_stay" else 60
        dist.init_process_group("gloo", timeout=timedelta(seconds=timeout))
        world = dist.get_world_size()
    rank = dist.get_rank() if world > 1 else 0
    break_synchronisation(os.environ.get("NOISYSKL_TEST_BREAK", ""))
    X, y = digits()
    if config == "labels" and rank == 1:  # one label differs in one process
        y[0] = (y[0] + 1) % 10
    if config == "votes":  # a label matrix, one vote of which differs in one process
        y = np.stack([y, y, (y + 1) % 10], axis=1)
        y[0, 2] = (y[0, 2] + rank) % 10
    if config == "cnn":
        X = X.reshape(-1, 1, 8, 8)
    clf = estimator(config, world, int(seed))
    if config == "lr":  # a learning rate of each process's own
        clf.set_params(lr=0.3 * (1 + rank))
    if config == "split":  # a random split without a seed: each process draws its own
        from skorch.dataset import ValidSplit

        clf.set_params(train_split=ValidSplit(0.2, random_state=None))
    if config.startswith("fail") and rank == 1:
        from skorch.callbacks import Callback

        class Fail(Callback):
            def on_epoch_end(self, net, **kwargs):
                if len(net.history) == 2:
                    raise RuntimeError("rank 1 fails on purpose")

        clf.set_params(callbacks=[("fail", Fail())])
    if config == "sigint" and rank == 1:  # Ctrl-C reaches this process alone, in epoch 2
        import signal

        from skorch.callbacks import Callback

        class CtrlC(Callback):
            def on_batch_end(self, net, **kwargs):
                if len(net.history) == 2 and len(net.history[-1]["batches"]) == 3:
                    os.kill(os.getpid(), signal.SIGINT)

        clf.set_params(callbacks=[("ctrl_c", CtrlC())])
    if config == "checkpoint":  # saves every epoch (rank 0 alone writes)
        clf.set_params(callbacks=[("cp", checkpoint(out))], max_epochs=5)
    if config == "dataset":  # a torch Dataset of (x, label) items, read row by row
        X = RowsOf(X, y)
    try:
        if config == "resume":  # from "checkpoint"'s files, two epochs more
            clf.set_params(max_epochs=2)
            clf.initialize()
            clf.load_params(checkpoint=checkpoint(out))
            loaded = {k: v.clone() for k, v in clf.refinement_state_.state_dict().items()
                      if isinstance(v, torch.Tensor)}
            clf.partial_fit(X, y)
        else:
            clf.fit(X, None if config == "dataset" else y)
    except Exception as err:
        notes = "".join(f"\n{note}" for note in getattr(err, "__notes__", []))
        Path(out, f"rank{rank}.err").write_text(f"{type(err).__name__}: {err}{notes}")
        if config == "fail_stay" and rank == 1:  # stays alive: the estimator still predicts
            Path(out, "rank1.predicted").write_text(str(clf.predict(X[:5]).tolist()))
            time.sleep(60)
        raise
    state = clf.refinement_state_
    torch.save({
        "loaded": loaded if config == "resume" else None,
        "refined": clf.refined_labels_,
        "issues": clf.find_label_issues()["is_label_issue"].to_numpy(),
        "proba": clf.predict_proba(X),  # (a Dataset's x in its order)
        "state": {k: v.clone() for k, v in state.state_dict().items()
                  if isinstance(v, torch.Tensor)},
        "history": [{k: v for k, v in row.items() if k != "batches"}
                    for row in clf.history_],
        "params": {k: v.clone() for k, v in clf.module_.state_dict().items()},
        "choice": getattr(clf, "refit_choice_", None),  # (None: not fitted by fit)
    }, f"{out}/{tag}rank{rank}.pt")
    if world > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main(*sys.argv[1:])
