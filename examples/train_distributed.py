"""
Data-parallel training with torchrun
====================================

The same ``fit`` as in a notebook, in every process of a ``torchrun`` launch:
each process trains on its share of every global batch, and the estimator
keeps one whole-set state (density, sigma, refined labels, report) that is
the same in every process. Run it with::

    torchrun --standalone --nproc-per-node 2 examples/train_distributed.py

(on one machine's CPUs with the gloo backend, or on its GPUs with NCCL: one
process per GPU). Without torchrun it trains in one process. It trains a
small CNN on scikit-learn's digits with 30% of the labels flipped; put your
own data where ``load`` is. See the user guide, "Scaling out". Not run by
the gallery (it needs a launcher); CI runs it with two processes.
"""

import argparse
import os
from datetime import timedelta

import numpy as np
import torch
import torch.distributed as dist
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from noisyskl import NoisyNeuralNetClassifier
from noisyskl.noise import symmetric_noise


def load():
    """The digits as 8 x 8 images, 30% of the training labels flipped."""
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32).reshape(-1, 1, 8, 8)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y,
                                                        random_state=0)
    noisy, _ = symmetric_noise(y_train, 0.3, random_state=0)
    return X_train, noisy, X_test, y_test


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64, help="rows per process")
    parser.add_argument("--save", help="a folder for the model and the per-row state")
    args = parser.parse_args()

    # 1. the process group: torchrun sets RANK, WORLD_SIZE, LOCAL_RANK and the
    # rendezvous; a bounded timeout makes a process stuck behind a failed one stop
    rank, device = 0, "cpu"
    if "RANK" in os.environ:
        cuda = torch.cuda.is_available()
        dist.init_process_group("nccl" if cuda else "gloo", timeout=timedelta(minutes=5))
        rank = dist.get_rank()
        if cuda:  # one GPU per process
            device = f"cuda:{int(os.environ['LOCAL_RANK'])}"
            torch.cuda.set_device(device)

    # 2. the same data, the same call, in every process
    X_train, noisy, X_test, y_test = load()
    clf = NoisyNeuralNetClassifier(
        max_epochs=args.epochs, batch_size=args.batch_size, lr=1e-3,
        optimizer=torch.optim.Adam, device=device, random_state=0,
        verbose=int(rank == 0))  # one epoch log, not one per process
    try:
        clf.fit(X_train, noisy)
        # 3. every process holds the same model and report; rank 0 writes them
        if rank == 0:
            issues = clf.find_label_issues()
            print(f"test accuracy {clf.score(X_test, y_test):.3f}; "
                  f"{int(issues['is_label_issue'].sum())} label issues of {len(noisy)} rows")
            if args.save and clf.interrupted_:  # Ctrl-C: half-trained, not saved
                print("training was interrupted; the model is not saved")
            elif args.save:
                clf.save_params(f_params=f"{args.save}/params.pt",
                                f_refinement_state=f"{args.save}/refinement.pt")
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


if __name__ == "__main__":
    main()
