"""Where the time of a training batch goes: noisyskl (one round) against plain skorch.

For each data set, both estimators are fitted for a few epochs, then one more
epoch is run under ``torch.profiler``. Printed per training batch: the CUDA
kernels launched (on a GPU) or the aten operations dispatched (on the CPU),
and, on a GPU, the host synchronisations that ``torch.cuda.set_sync_debug_mode``
reports over that epoch, by source line. The most frequent operations are
listed with ``--top``.

    python -m benchmarks profile --device cuda --datasets digits blood_cells blood_cells_64px
    python -m benchmarks profile --datasets digits          # CPU: aten operations
"""

import argparse
import collections
import math
import warnings
from pathlib import Path

import torch
from skorch import NeuralNetClassifier
from torch.profiler import ProfilerActivity, profile

from benchmarks.common import DATA_DIR, load_dataset, net_settings
from noisyskl import NoisyNeuralNetClassifier


def _nets(settings, epochs, device):
    common = net_settings(settings, epochs, device)
    yield "plain skorch", NeuralNetClassifier(criterion=torch.nn.CrossEntropyLoss, **common)
    yield "noisyskl, 1 round", NoisyNeuralNetClassifier(random_state=0, rounds=1, **common)


def _host_syncs(net, X, y):
    """Sync warnings over one more epoch, counted by ``file:line``."""
    where = collections.Counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            net.partial_fit(X, y)
        finally:
            torch.cuda.set_sync_debug_mode(0)
    for w in caught:
        if "synchroniz" in str(w.message):
            where[f"{Path(w.filename).name}:{w.lineno}"] += 1
    return where


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["digits"])
    parser.add_argument("--data-dir", default=str(DATA_DIR))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--epochs", type=int, default=6,
                        help="epochs fitted before profiling (past the warm-up of 5)")
    parser.add_argument("--top", type=int, default=0, help="list the N most frequent operations")
    args = parser.parse_args(argv)
    cuda = args.device.startswith("cuda")
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    for dataset in args.datasets:
        loaded = load_dataset(dataset, 0, args.data_dir)
        if loaded is None:
            print(f"{dataset}: data file not found in {args.data_dir}; skipped")
            continue
        Xtr, ytr, _, _, settings, _ = loaded
        batches = math.ceil(len(ytr) / 64)
        for name, net in _nets(settings, args.epochs, args.device):
            net.fit(Xtr, ytr)
            net.set_params(max_epochs=1)
            line = f"{dataset}, {name}: "
            if cuda:
                syncs = _host_syncs(net, Xtr, ytr)
                line += f"{sum(syncs.values())} host syncs per epoch ({batches} batches), "
            with profile(activities=activities) as prof:
                net.partial_fit(Xtr, ytr)
                if cuda:
                    torch.cuda.synchronize()
            events = prof.key_averages()
            if cuda:
                on_gpu = torch.autograd.DeviceType.CUDA
                count = sum(e.count for e in events if e.device_type == on_gpu)
                line += f"{count / batches:.1f} CUDA kernels per batch"
            else:
                count = sum(e.count for e in events if e.key.startswith("aten::"))
                line += f"{count / batches:.1f} aten operations per batch (nested ones included)"
            print(line)
            if cuda:
                for where, n in syncs.most_common(6):
                    print(f"    {n:5d} syncs at {where}")
            if args.top:
                print(events.table(sort_by="count", row_limit=args.top, max_name_column_width=40))


if __name__ == "__main__":
    main()
