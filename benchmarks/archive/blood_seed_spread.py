"""How much one blood-cell CNN fit at 0% noise varies with the torch seed alone
(#29: is the default's 2-point gap to plain CE at 0% a cause or a draw?).
Data split 1 of the accuracy benchmark, 30 epochs, one thread; plain skorch CE
with four torch seeds and the library's plain training (``rounds=1``, no
weights, no refinement) with two ``random_state`` values. Results are printed
(2026-12-06, 2-core AMD EPYC): docs/benchmarks.md, the 0% goal row.

    python -m benchmarks.archive.blood_seed_spread
"""

import argparse
import sys

import torch
from skorch import NeuralNetClassifier

from benchmarks.common import DATA_DIR, NOISES, load_dataset, make_noise, net_settings
from noisyskl import NoisyNeuralNetClassifier


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=str(DATA_DIR))
    args = parser.parse_args()
    torch.set_num_threads(1)
    seed = 1
    loaded = load_dataset("blood_cells", seed, args.data_dir)
    if loaded is None:
        sys.exit("blood_cells_pbc_64px.npz not found (see ../shared/data/README)")
    Xtr, ytr, Xte, yte, settings, epochs = loaded
    y, _ = make_noise(*NOISES["sym0"], Xtr, ytr, seed)
    common = net_settings(settings, epochs, "cpu")
    for ts in (1, 2, 3, 4):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(ts)
            net = NeuralNetClassifier(criterion=torch.nn.CrossEntropyLoss, **common).fit(Xtr, y)
        print("plain CE, torch seed", ts, round(float((net.predict(Xte) == yte).mean()), 4),
              flush=True)
    for rs in (1, 2):
        clf = NoisyNeuralNetClassifier(random_state=rs, rounds=1, weighting=None,
                                       refinement=None, **common).fit(Xtr, y)
        print("library plain, random_state", rs,
              round(float((clf.predict(Xte) == yte).mean()), 4), flush=True)


if __name__ == "__main__":
    main()
