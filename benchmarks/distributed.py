"""Data-parallel training: time per epoch and communication, ours against
plain skorch under the same launcher.

    torchrun --standalone --nproc-per-node 2 -m benchmarks.distributed
    python -m benchmarks distributed            # the same, one process

In every process it trains, side by side on the same data, the blood cells'
benchmark CNN (``../shared/data/blood_cells_pbc_64px.npz`` at 32 px, 30%
symmetric noise; the digits with an MLP when the file is absent) with

- noisyskl (``rounds=1``, so one training each), and
- plain skorch made data-parallel as a skorch user would: the module wrapped
  in ``DistributedDataParallel`` and a ``DistributedSampler``,

with the same per-process batch, optimiser and validation split, and prints
on rank 0 the mean epoch time of each (first epoch left out), their ratio,
the bytes our whole-set state sends per process and epoch
(``history[:, "sync_bytes"]``) and the bytes DDP's gradient all-reduce sends
(parameters x 4 bytes x batches). Timings on a shared 2-core machine say
little about GPUs; the bytes do not depend on the machine.
"""

import argparse
import os
from datetime import timedelta
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from skorch import NeuralNetClassifier
from skorch.callbacks import Callback
from torch.utils.data import DataLoader, DistributedSampler

from benchmarks.common import DATA_DIR, load_dataset
from noisyskl import NoisyNeuralNetClassifier
from noisyskl.noise import symmetric_noise


class PlainDDP(NeuralNetClassifier):
    """Plain skorch, data-parallel: DDP around the module, a DistributedSampler."""

    def initialize_module(self):
        super().initialize_module()
        if dist.is_initialized():
            self.module_ = torch.nn.parallel.DistributedDataParallel(self.module_)
        return self

    def get_iterator(self, dataset, training=False):
        if training and dist.is_initialized():
            self.sampler_ = DistributedSampler(dataset, shuffle=True, seed=0)
            return DataLoader(dataset, batch_size=self.batch_size, sampler=self.sampler_)
        return super().get_iterator(dataset, training=training)

    def on_epoch_begin(self, net, **kwargs):
        super().on_epoch_begin(net, **kwargs)
        if hasattr(self, "sampler_"):
            self.sampler_.set_epoch(len(self.history))


class Barrier(Callback):
    """Epoch times of the slowest process: meet before each epoch's clock stops."""

    def on_epoch_end(self, net, **kwargs):
        if dist.is_initialized():
            dist.barrier()


def data(args):
    loaded = load_dataset("blood_cells", 0, args.data_dir)
    name = "blood cells 32 px, CNN"
    if loaded is None:
        loaded, name = load_dataset("digits", 0, args.data_dir), "digits, MLP"
    Xtr, ytr, _, _, settings, _ = loaded
    if args.rows:
        Xtr, ytr = Xtr[: args.rows], ytr[: args.rows]
    noisy, _ = symmetric_noise(ytr, 0.3, random_state=0)
    return Xtr, noisy, settings, name


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=64, help="rows per process")
    parser.add_argument("--rows", type=int, default=None, help="the first ROWS training rows")
    args = parser.parse_args(argv)
    size, rank = 1, 0
    if "RANK" in os.environ:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo",
                                timeout=timedelta(minutes=5))
        size, rank = dist.get_world_size(), dist.get_rank()
    device = (f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}" if torch.cuda.is_available()
              else "cpu")
    X, y, settings, name = data(args)
    common = dict(max_epochs=args.epochs, batch_size=args.batch_size, lr=1e-3,
                  optimizer=torch.optim.Adam, device=device, verbose=0,
                  callbacks=[("barrier", Barrier())], **settings)
    torch.manual_seed(0)
    ours = NoisyNeuralNetClassifier(rounds=1, warm_up=1, random_state=0, **common).fit(X, y)
    torch.manual_seed(0)
    plain = PlainDDP(**common).fit(X, y)
    if rank == 0:
        n_params = sum(p.numel() for p in ours.module_.parameters())
        batches = ours.history[-1, "train_batch_count"]
        t_ours = float(np.mean(ours.history[1:, "dur"]))
        t_plain = float(np.mean(plain.history[1:, "dur"]))
        state = ours.history[-1, "sync_bytes"] if size > 1 else 0
        backend = dist.get_backend() if size > 1 else "none"
        print(f"{name}: {len(X)} rows, {size} process(es) ({backend}"
              f", {device}), batch {args.batch_size} per process, {args.epochs} epochs")
        print(f"seconds per epoch (first left out): noisyskl {t_ours:.2f}, plain skorch "
              f"{t_plain:.2f}, ratio {t_ours / t_plain:.2f}")
        if size > 1:
            print(f"bytes per process and epoch: our state {state / 1e6:.2f} MB, DDP's "
                  f"gradients {n_params * 4 * batches / 1e6:.2f} MB ({n_params} parameters x "
                  f"{batches} batches)")
    if size > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
