"""Time per epoch of the library at a git revision against the working tree, side by side.

For a change meant to make the library faster without changing its numbers:
the package as committed at REV is unpacked into a temporary folder, and two
worker processes are started, one importing REV's ``noisyskl`` (that folder
first on its path) and one the working tree's. Every repetition trains plain
skorch (in the working tree's process), REV's estimator and the working
tree's, interleaved (the workers take turns: one fit at a time), on the same
data, module and settings as ``python -m benchmarks timing`` (one round,
digits MLP by default), both without a validation split and with skorch's
default one (a stratified fifth held out and scored each epoch, which is what
``fit`` does unless told otherwise). Prints, per split, each version's median
ratio to plain skorch and the median ratio of the two versions, with the
interquartile range over repetitions.

    python -m benchmarks versions a9ea69d --reps 60
    python -m benchmarks versions a9ea69d --reps 10 --device cuda
"""

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from importlib.util import find_spec
from pathlib import Path

import pandas as pd

from benchmarks.common import ROOT, module_command, ratio_text, timing_parser

SPLITS = ("no validation split", "skorch's default split")
#: what a worker prints before each answer, so that nothing else on its
#: standard output (a library's print) is taken for one
ANSWER = "@@seconds "


def unpack_revision(rev, folder):
    """Write the ``noisyskl`` package as committed at ``rev`` to ``folder/noisyskl``."""
    archive = subprocess.run(["git", "archive", rev, "noisyskl"], cwd=ROOT,
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")


class Worker:
    """A ``--worker`` process: it reads one fit per line (``name rep split``)
    from its standard input and answers with the fit's seconds per epoch."""

    def __init__(self, args, cwd=None, env=None):
        options = ["--worker", "--dataset", args.dataset,
                   "--data-dir", Path(args.data_dir).resolve(), "--threads", args.threads,
                   "--device", args.device, "--batch-size", args.batch_size,
                   "--epochs", args.epochs, args.rev]
        self.process = subprocess.Popen(module_command("compare_versions", *options),
                                        cwd=cwd, env=env, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        self.noisyskl = self._answer()

    def _answer(self):
        for line in self.process.stdout:
            if line.startswith(ANSWER):
                return json.loads(line[len(ANSWER):])
        raise RuntimeError(f"worker exited with {self.process.wait()}")

    def seconds(self, name, rep, split):
        self.process.stdin.write(json.dumps([name, rep, split]) + "\n")
        self.process.stdin.flush()
        return self._answer()

    def close(self):
        self.process.stdin.close()
        self.process.wait()


def worker(args):
    """The worker's loop: fit what each line asks, print the seconds per epoch."""
    import torch
    from skorch import NeuralNetClassifier
    from skorch.dataset import ValidSplit

    import noisyskl
    from benchmarks.common import net_settings, seconds_per_epoch, training_rows

    Xtr, ytr, settings = training_rows(args)
    print(ANSWER + json.dumps(str(Path(find_spec("noisyskl").origin).parent)), flush=True)
    for line in sys.stdin:
        name, rep, split = json.loads(line)
        common = net_settings(settings, args.epochs, args.device, args.batch_size)
        if split == "skorch's default split":
            common["train_split"] = ValidSplit(5)
        if name == "plain skorch":
            net = NeuralNetClassifier(criterion=torch.nn.CrossEntropyLoss, **common)
        else:
            net = noisyskl.NoisyNeuralNetClassifier(random_state=rep, rounds=1, **common)
        net.fit(Xtr, ytr)
        print(ANSWER + json.dumps(seconds_per_epoch(net)), flush=True)


def main(argv=None):
    parser = timing_parser(__doc__.split("\n")[0], reps=30)
    parser.add_argument("rev", help="git revision to compare the working tree with")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)
    with tempfile.TemporaryDirectory() as folder:
        unpack_revision(args.rev, folder)
        # REV's process starts in the folder, which Python puts first on its
        # path (before PYTHONPATH, which finds this package): REV's noisyskl
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
        workers = {args.rev: Worker(args, cwd=folder, env=env)}
        workers["working tree"] = Worker(args)
        workers["plain skorch"] = workers["working tree"]
        if workers[args.rev].noisyskl == workers["working tree"].noisyskl:
            sys.exit(f"both workers imported noisyskl from {workers[args.rev].noisyskl}")
        for name in (args.rev, "working tree"):
            print(f"{name}: noisyskl from {workers[name].noisyskl}")
        rows = []
        try:
            for rep in range(args.reps):
                for split in SPLITS:
                    for name in ("plain skorch", args.rev, "working tree"):
                        rows.append(dict(rep=rep, split=split, name=name,
                                         s=workers[name].seconds(name, rep, split)))
        finally:
            for w in {id(w): w for w in workers.values()}.values():
                w.close()
    wide = pd.DataFrame(rows).pivot_table(index=["split", "rep"], columns="name", values="s")
    print(f"{args.dataset} on {args.device}, batch size {args.batch_size}, one round, "
          f"{args.reps} interleaved repetitions of {args.epochs} "
          "epochs (median epoch after the first; ratio median and interquartile range)\n")
    for split in SPLITS:
        part = wide.loc[split]
        for label, num, den in ((f"{args.rev} / plain skorch", args.rev, "plain skorch"),
                                ("working tree / plain skorch", "working tree", "plain skorch"),
                                (f"working tree / {args.rev}", "working tree", args.rev)):
            r = part[num] / part[den]
            print(f"{split:24s} {label:32s} {ratio_text(r)}")


if __name__ == "__main__":
    main()
