"""Scale: the per-row state's memory at 10^6 rows, and the per-batch cost at
N = 10^4 against N = 10^6 (a ratio, measured side by side in one run).

1. Memory: the bytes of every per-row buffer of a fitted estimator's state
   (``refinement_state_``) and of its criterion's whole-set store
   (``criterion_.density``), after a fit on ``--rows`` rows of ``--classes``
   classes; the goal is 100 MB for 10^6 rows and 10 classes.
2. Per-batch time: fits on N = each of ``--sizes`` synthetic rows whose
   training epochs are ``--batches`` batches drawn at random from all N rows
   (``iterator_train__sampler``), so that every fit runs the same number of
   batches; a callback times each training batch, from ``on_batch_begin``
   to ``on_batch_end`` (forward, the method's per-row bookkeeping, backward,
   step). The median over the batches after the first epoch, for noisyskl
   and for plain skorch on the same data, interleaved, as a ratio to the
   smallest N. The per-epoch O(N)
   work (refinement, the store's resync) is not per-batch and is printed
   apart, as the epoch's time outside its batches.

    python -m benchmarks scale                          # 10^4, 10^5, 10^6 rows, 10 classes
    python -m benchmarks scale --sizes 2000 20000       # quicker
"""

import argparse
import time

import numpy as np
import torch
from skorch import NeuralNetClassifier
from skorch.callbacks import Callback
from torch import nn
from torch.utils.data import RandomSampler

from noisyskl import NoisyNeuralNetClassifier


class BatchTimer(Callback):
    """Seconds of each training batch, and of each epoch outside its batches."""

    def initialize(self):
        self.batches, self.epochs = [], []
        return self

    def on_epoch_begin(self, net, **kwargs):
        self.epoch_start, self.in_batches = time.perf_counter(), 0.0

    def on_batch_begin(self, net, training=False, **kwargs):
        if training:
            self.start = time.perf_counter()

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            if str(net.device).startswith("cuda"):
                torch.cuda.synchronize()  # (the batch's kernels, not just their launch)
            seconds = time.perf_counter() - self.start
            self.batches.append((len(net.history), seconds))
            self.in_batches += seconds

    def on_epoch_end(self, net, **kwargs):
        self.epochs.append(time.perf_counter() - self.epoch_start - self.in_batches)


def data(n_rows, n_features, n_classes, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_rows, n_features), dtype=np.float32)
    y = rng.integers(0, n_classes, n_rows)
    return X, y


def module(n_features, n_classes):
    return nn.Sequential(nn.Linear(n_features, 64), nn.ReLU(), nn.Linear(64, n_classes))


def fit(kind, X, y, args):
    timer = BatchTimer()
    sampler = RandomSampler(range(len(X)), num_samples=args.batches * args.batch_size,
                            generator=torch.Generator().manual_seed(0))
    common = dict(module=module(X.shape[1], args.classes), max_epochs=args.epochs,
                  batch_size=args.batch_size, train_split=None, verbose=0, device=args.device,
                  iterator_train__sampler=sampler, callbacks=[timer])
    if kind == "noisyskl":
        net = NoisyNeuralNetClassifier(rounds=1, warm_up=1, random_state=0, **common)
    else:
        net = NeuralNetClassifier(criterion=nn.CrossEntropyLoss, **common)
    net.fit(X, y)
    per_batch = np.median([s for epoch, s in timer.batches if epoch > 1])
    return net, per_batch, float(np.median(timer.epochs[1:]))


def state_bytes(net):
    """``{buffer: bytes}`` of the per-row buffers of the state and the store."""
    n = net.refinement_state_.n_samples
    out = {}
    for owner, module_ in (("state", net.refinement_state_),
                           ("store", net.criterion_.density)):
        for name, buf in module_.named_buffers():
            if buf.dim() >= 1 and buf.shape[0] == n:
                out[f"{owner}.{name} ({buf.dtype}, {tuple(buf.shape[1:]) or 'scalar'} a row)"] = (
                    buf.numel() * buf.element_size())
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000],
                        help="numbers of rows N; the state's memory is measured at the last")
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--batches", type=int, default=100, help="training batches an epoch")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.device}, {args.threads} thread(s); batches of "
          f"{args.batch_size}, {args.batches} a training epoch, {args.epochs} epochs")

    sizes = sorted(args.sizes)
    datasets = {n: data(n, args.features, args.classes) for n in sizes}
    rows = {}
    for kind in ("plain skorch", "noisyskl"):  # interleaved over the sizes
        for n in sizes:
            net, per_batch, outside = fit(kind, *datasets[n], args)
            rows[kind, n] = per_batch, outside
            if kind == "noisyskl" and n == sizes[-1]:
                buffers = state_bytes(net)

    print(f"\n1. Per-row state at {sizes[-1]:,} rows, {args.classes} classes")
    for name, nbytes in buffers.items():
        print(f"   {name:<52} {nbytes / 1e6:8.1f} MB")
    total = sum(buffers.values())
    print(f"   {'total':<52} {total / 1e6:8.1f} MB  ({total / sizes[-1]:.0f} bytes a row; "
          f"goal 100 MB at 10^6 rows, 10 classes)")

    print("\n2. Median milliseconds per training batch (and, in brackets, the ratio to the "
          f"smallest N = {sizes[0]:,})")
    print("   " + f"{'N':<14}" + "".join(f"{n:>20,}" for n in sizes))
    for kind in ("plain skorch", "noisyskl"):
        base = rows[kind, sizes[0]][0]
        print("   " + f"{kind:<14}" + "".join(
            f"{rows[kind, n][0] * 1e3:>11.3f} ({rows[kind, n][0] / base:4.2f})" for n in sizes))
    print("   epoch outside its batches, ms (refinement, the store's resync: O(N) once an epoch)")
    for kind in ("plain skorch", "noisyskl"):
        print("   " + f"{kind:<14}" + "".join(f"{rows[kind, n][1] * 1e3:>20.1f}" for n in sizes))
    ours = rows["noisyskl", sizes[-1]][0] / rows["plain skorch", sizes[-1]][0]
    print(f"   noisyskl / plain skorch per batch at N = {sizes[-1]:,}: {ours:.2f}")


if __name__ == "__main__":
    main()
