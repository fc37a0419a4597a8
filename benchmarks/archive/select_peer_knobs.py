"""Each field peer's main knob, chosen on validation splits (#29).

The published settings of ELR, Co-teaching and DivideMix were tuned for SGD
on ResNets; under the benchmark's Adam setup a peer may collapse. As for our
own defaults (``_selection.py``), the training part of a benchmark data set
gets the noise and is split 70/30 into fit rows and validation rows (clean
labels, only to score); the test split is never touched. Each peer trains on
the fit rows with every value of its main knob, with the same module,
optimiser, batch size, epochs and seeds as every benchmark row:

- label smoothing: the smoothing ``ε`` (0.1 is the published row);
- ELR: ``λ`` (3 published; ``β`` = 0.7 kept);
- Co-teaching: the forget rate ``τ`` (a fixed guess, as a user cannot know
  the noise rate; 0.2 is the published row's guess);
- DivideMix: ``λ_u`` (25 published at 50% noise).

One value per peer and data set is chosen, the best mean clean validation
accuracy over all noise cells and seeds (a user does not know the noise).

    python -m benchmarks.archive.select_peer_knobs --dataset digits --noises sym0 sym20 sym40 sym60 pair40 inst40 --seeds 0 1 --csv benchmarks/results/select_peer_knobs_cpu.csv
"""

import numpy as np
import pandas as pd
import torch

from benchmarks.archive._selection import record, selection_parser, validation_splits
from benchmarks.common import net_settings
from benchmarks.peers import make_peer

KNOBS = {
    "label smoothing": ("ε", [0.1, 0.2, 0.4]),
    "ELR": ("λ", [0.3, 1.0, 3.0, 7.0]),
    "Co-teaching": ("τ", [0.1, 0.2, 0.4]),
    "DivideMix": ("λ_u", [0.0, 1.0, 5.0, 25.0]),
}


def fit_peer(peer, value, cell, device):
    common = net_settings(cell.settings, cell.epochs, device)
    torch.manual_seed(cell.seed)
    return make_peer(peer, value, cell.settings, common, cell.seed, device).fit(cell.Xf, cell.nf)


def main():
    parser = selection_parser(__doc__.split("\n")[0], dataset="digits")
    parser.add_argument("--peers", nargs="+", default=list(KNOBS), choices=list(KNOBS))
    parser.add_argument("--values", nargs="+", type=float,
                        help="these values of the knob instead of the list (one peer only; "
                        "e.g. past the end of the list where the best value is its last)")
    args = parser.parse_args()
    if args.values is not None and len(args.peers) != 1:
        parser.error("--values needs exactly one peer (--peers)")
    rows = []
    for cell in validation_splits(args):
        for peer in args.peers:
            name, values = KNOBS[peer]
            values = values if args.values is None else args.values
            for value in values:
                clf = fit_peer(peer, value, cell, args.device)
                acc = float((np.asarray(clf.predict(cell.Xv)) == cell.yv).mean())
                record(rows, dict(dataset=args.dataset, noise=cell.noise, seed=cell.seed,
                                  peer=peer, knob=name, value=value, accuracy=acc), args.csv)
    df = pd.DataFrame(rows)
    table = df.pivot_table(index=["peer", "value"], columns="noise", values="accuracy")
    table["mean"] = df.groupby(["peer", "value"]).accuracy.mean()
    print(f"\n{args.dataset}, seeds {args.seeds}: clean validation accuracy\n")
    print(table.round(3).to_string())
    best = table["mean"].groupby(level=0).idxmax()
    print("\nchosen:", {peer: value for peer, value in best})


if __name__ == "__main__":
    main()
