"""Peak memory of a fit, noisyskl against plain skorch, on the same images.

Each case runs in a fresh process: it loads the blood-cell images
(``blood_cells_pbc_64px.npz``, repeated to ``--rows`` rows, channels first),
holds them as X in the case's dtype, then fits. Printed per case: the size
of X, and how far the process's resident memory rose above what it held
before ``fit`` (the peak during the fit, from the kernel's high-water mark
reset just before it: Linux only). That rise is the fit's own memory: the
model, the optimiser, batches and, where it happens, a copy of X. The ratio
is noisyskl's rise over plain skorch's for the same X.

The model is deliberately small (one linear layer on the pixels, scaled by
1/255 in the module, so that both dtypes give the same numbers), so that the
data dominate; noisyskl runs its defaults (``rounds=2``, with the refit)
but ``warm_up=1``, so that two epochs refine and flag rows.

    python -m benchmarks memory --rows 20000
    python -m benchmarks memory --rows 20000 --device cuda   # host memory; fit seconds
"""

import argparse
import json
import re
import time
from pathlib import Path

import numpy as np

from benchmarks.common import DATA_DIR, run_module

CASES = [("plain skorch", "float32"), ("noisyskl", "float32"),
         ("plain skorch", "uint8"), ("noisyskl", "uint8")]


def _status_kib(field):
    return int(re.search(rf"{field}:\s+(\d+)", Path("/proc/self/status").read_text()).group(1))


def _child(args):
    import torch
    from skorch import NeuralNetClassifier
    from torch import nn

    from noisyskl import NoisyNeuralNetClassifier

    class Pixels(nn.Module):
        def __init__(self, n_pixels, n_classes):
            super().__init__()
            self.linear = nn.Linear(n_pixels, n_classes)

        def forward(self, x):
            return self.linear(x.flatten(1) / 255.0)

    torch.set_num_threads(args.threads)
    data = np.load(Path(args.data_dir) / "blood_cells_pbc_64px.npz")
    # the file's rows in a fixed random order, repeated to --rows (every class in)
    rows = np.resize(np.random.default_rng(0).permutation(len(data["y"])), args.rows)
    images = np.ascontiguousarray(data["x"][rows].transpose(0, 3, 1, 2))
    y = data["y"][rows]
    X = images if args.dtype == "uint8" else images.astype(np.float32)
    del images, data
    common = dict(module=Pixels, module__n_pixels=3 * 64 * 64, module__n_classes=8,
                  max_epochs=args.epochs, lr=1e-3, optimizer=torch.optim.Adam,
                  batch_size=64, train_split=None, verbose=0, device=args.device)
    if args.method == "plain skorch":
        net = NeuralNetClassifier(criterion=nn.CrossEntropyLoss, **common)
    else:
        net = NoisyNeuralNetClassifier(random_state=0, warm_up=1, **common)
    before = _status_kib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # resets the high-water mark
    start = time.perf_counter()
    net.fit(X, y)
    seconds = time.perf_counter() - start
    print(json.dumps({"x_mb": X.nbytes / 2**20, "before_mb": before / 1024,
                      "rise_mb": (_status_kib("VmHWM") - before) / 1024, "seconds": seconds}))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu",
                        help="where the module runs; the memory measured is the host's")
    parser.add_argument("--data-dir", default=str(DATA_DIR))
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "DTYPE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not (Path(args.data_dir) / "blood_cells_pbc_64px.npz").exists():
        print(f"blood_cells_pbc_64px.npz not found in {args.data_dir}; skipped")
        return
    if not Path("/proc/self/clear_refs").exists():
        print("needs Linux's /proc/self/clear_refs to reset the peak memory; skipped")
        return
    if args.child:
        args.method, args.dtype = args.child
        return _child(args)
    print(f"{args.rows} images of 3x64x64, {args.epochs} epochs, on {args.device}; host "
          f"memory in MiB; each case in a fresh process (fit s: one fit, noisyskl's two "
          f"rounds)")
    print(f"{'X':8} {'method':14} {'X size':>8} {'held before fit':>16} "
          f"{'rise during fit':>16} {'fit s':>6}")
    rise = {}
    for method, dtype in CASES:
        out = run_module("memory", "--child", method, dtype, "--rows", args.rows,
                         "--epochs", args.epochs, "--threads", args.threads,
                         "--device", args.device, "--data-dir", Path(args.data_dir).resolve())
        r = json.loads(out.strip().splitlines()[-1])
        rise[method, dtype] = r["rise_mb"]
        print(f"{dtype:8} {method:14} {r['x_mb']:8.0f} {r['before_mb']:16.0f} "
              f"{r['rise_mb']:16.0f} {r['seconds']:6.1f}")
    for dtype in ("float32", "uint8"):
        ours, plain = rise["noisyskl", dtype], rise["plain skorch", dtype]
        print(f"{dtype}: rise during fit, noisyskl / plain skorch {ours / plain:.2f} "
              f"(noisyskl - plain skorch: {ours - plain:+.0f} MiB)")


if __name__ == "__main__":
    main()
