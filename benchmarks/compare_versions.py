"""Time per epoch of the library at a git revision against the working tree, side by side.

For a change meant to make the library faster without changing its numbers:
the package as committed at REV is unpacked into a temporary folder under
another name and imported next to the working tree's. Every repetition trains
plain skorch, REV's estimator and the working tree's, interleaved, on the same
data, module and settings as ``run.py --micro`` (one round, digits MLP by
default), both without a validation split and with skorch's default one (a
stratified fifth held out and scored each epoch, which is what ``fit`` does
unless told otherwise). Prints, per split, each version's median ratio to
plain skorch and the median ratio of the two versions, with the interquartile
range over repetitions.

    python benchmarks/compare_versions.py a9ea69d --reps 60
    python benchmarks/compare_versions.py a9ea69d --reps 10 --device cuda
"""

import importlib
import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pandas as pd
import torch
from skorch import NeuralNetClassifier
from skorch.dataset import ValidSplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run import _common, ratio_text, seconds_per_epoch, timing_parser, training_rows  # noqa: E402

import noisyskl  # noqa: E402

SPLITS = {"no validation split": None, "skorch's default split": ValidSplit(5)}


def import_revision(rev, folder):
    """Import the ``noisyskl`` package as committed at ``rev``, as ``noisyskl_at_rev``."""
    archive = subprocess.run(["git", "archive", rev, "noisyskl"], cwd=HERE.parent,
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    # the package imports itself relatively, so it works under another name
    Path(folder, "noisyskl").rename(Path(folder, "noisyskl_at_rev"))
    sys.path.insert(0, folder)
    return importlib.import_module("noisyskl_at_rev")


def main():
    parser = timing_parser(__doc__.split("\n")[0], reps=30)
    parser.add_argument("rev", help="git revision to compare the working tree with")
    parser.add_argument("--epochs", type=int, default=6)
    args = parser.parse_args()
    Xtr, ytr, settings = training_rows(args)
    with tempfile.TemporaryDirectory() as folder:
        versions = {args.rev: import_revision(args.rev, folder), "working tree": noisyskl}
        rows = []
        for rep in range(args.reps):
            for split, train_split in SPLITS.items():
                for name in ["plain skorch", *versions]:
                    common = _common(settings, args.epochs, args.device, args.batch_size)
                    if train_split is not None:
                        common["train_split"] = train_split
                    if name == "plain skorch":
                        net = NeuralNetClassifier(criterion=torch.nn.CrossEntropyLoss, **common)
                    else:
                        net = versions[name].NoisyNeuralNetClassifier(random_state=rep,
                                                                      rounds=1, **common)
                    net.fit(Xtr, ytr)
                    rows.append(dict(rep=rep, split=split, name=name,
                                     s=seconds_per_epoch(net)))
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
