"""Scale: the per-row state's memory at 10^6 rows, and the per-batch cost at
N = 10^4 against N = 10^6 (a ratio, measured side by side in one run).

1. Memory: the bytes of every per-row buffer of a fitted estimator's state
   (``refinement_state_``) and of its criterion's whole-set store
   (``criterion_.density``), after a fit on ``--rows`` rows of ``--classes``
   classes; the goal is 100 MB for 10^6 rows and 10 classes.
2. Per-batch time: fits on N = ``--small`` and N = ``--rows`` synthetic rows
   whose training epochs are ``--batches`` batches drawn at random from all N
   rows (``iterator_train__sampler``), so that both fits run the same number
   of batches; a callback times each training batch, from ``on_batch_begin``
   to ``on_batch_end`` (forward, the method's per-row bookkeeping, backward,
   step). The median over the batches after the first epoch, for noisyskl
   and for plain skorch on the same data, interleaved. The per-epoch O(N)
   work (refinement, the store's resync) is not per-batch and is printed
   apart, as the epoch's time outside its batches.

    python benchmarks/scale.py                  # 10^6 rows, 10 classes
    python benchmarks/scale.py --rows 200000    # quicker
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
                  batch_size=args.batch_size, train_split=None, verbose=0,
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--batches", type=int, default=100, help="training batches an epoch")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s); batches of "
          f"{args.batch_size}, {args.batches} a training epoch, {args.epochs} epochs")

    large = data(args.rows, args.features, args.classes)
    small = data(args.small, args.features, args.classes)
    rows = {}
    for kind in ("plain skorch", "noisyskl"):  # interleaved: small, large, small, large
        for name, (X, y) in (("small", small), ("large", large)):
            net, per_batch, outside = fit(kind, X, y, args)
            rows[kind, name] = per_batch, outside
            if kind == "noisyskl" and name == "large":
                sizes = state_bytes(net)

    print(f"\n1. Per-row state at {args.rows:,} rows, {args.classes} classes")
    for name, nbytes in sizes.items():
        print(f"   {name:<52} {nbytes / 1e6:8.1f} MB")
    total = sum(sizes.values())
    print(f"   {'total':<52} {total / 1e6:8.1f} MB  ({total / args.rows:.0f} bytes a row; "
          f"goal 100 MB at 10^6 rows, 10 classes)")

    print(f"\n2. Median seconds per training batch, N = {args.small:,} vs {args.rows:,}")
    print(f"   {'':<14} {'N small':>10} {'N large':>10} {'large/small':>12} "
          f"{'epoch outside batches (small, large)':>40}")
    for kind in ("plain skorch", "noisyskl"):
        (b_s, o_s), (b_l, o_l) = rows[kind, "small"], rows[kind, "large"]
        print(f"   {kind:<14} {b_s * 1e3:8.3f}ms {b_l * 1e3:8.3f}ms {b_l / b_s:12.2f} "
              f"{o_s * 1e3:17.1f} ms, {o_l * 1e3:8.1f} ms")
    ours = rows["noisyskl", "large"][0] / rows["plain skorch", "large"][0]
    print(f"   noisyskl / plain skorch per batch at N = {args.rows:,}: {ours:.2f}")


if __name__ == "__main__":
    main()
