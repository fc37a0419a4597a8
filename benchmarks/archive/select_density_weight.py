"""Does a tamer density weight alpha help the default? (validation split)

``bins`` only sets the density weight alpha, which the default
(``weighting="gaussian"``) does not use: the patent's whole-set alpha * beta
stalled learning in the benchmark. This script asks whether a principled,
tamer form of alpha earns a place in the default. Each variant is a whole
default fit (``rounds=2``) on the fit rows of a validation cell (see
``_selection.py``; the test split is never touched), scored on the validation
rows' clean labels:

- ``gaussian (default)``: beta alone;
- ``alpha * beta (patent)``: ``weighting="both"``, whole-set density;
- ``alpha ** 0.5 * beta``: the same with alpha's square root (alpha ** kappa);
- ``min(alpha, 2) * beta``: alpha capped at twice an average bin's weight;
- ``alpha * beta, batch density``: GHM-C's batch-level density
  (``density="batch"``).

The variants of alpha replace ``functional.density_weight`` in this process
only; the library is unchanged.

    python -m benchmarks.archive.select_density_weight --dataset blood_cells --noises sym0 sym40 --seeds 0 1
"""

import sys
from pathlib import Path

import pandas as pd
import torch

from benchmarks.archive._selection import VOTE_ONLY, record, selection_parser, validation_splits  # noqa: E402
from benchmarks.common import net_settings as _common  # noqa: E402

import noisyskl._functional as Fn  # noqa: E402
from noisyskl import NoisyNeuralNetClassifier  # noqa: E402

_ALPHA = Fn.density_weight

VARIANTS = {
    "gaussian (default)": ({"weighting": "gaussian"}, None),
    "alpha * beta (patent)": ({"weighting": "both"}, None),
    "alpha ** 0.5 * beta": ({"weighting": "both"}, lambda a: a.sqrt()),
    "min(alpha, 2) * beta": ({"weighting": "both"}, lambda a: a.clamp(max=2.0)),
    "alpha * beta, batch density": ({"weighting": "both", "density": "batch"}, None),
}


def main():
    parser = selection_parser(__doc__.split("\n")[0])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    args = parser.parse_args()
    rows = []
    for cell in validation_splits(args):
        for variant in args.variants:
            params, transform = VARIANTS[variant]
            Fn.density_weight = (_ALPHA if transform is None else
                                 lambda g, c, n, t=transform: t(_ALPHA(g, c, n)))
            try:
                clf = NoisyNeuralNetClassifier(random_state=cell.seed, **params, **VOTE_ONLY,
                                               **_common(cell.settings, cell.epochs,
                                                         args.device)).fit(cell.Xf, cell.nf)
            finally:
                Fn.density_weight = _ALPHA
            pred = clf.predict(cell.Xv)
            record(rows, dict(dataset=args.dataset, noise=cell.noise, seed=cell.seed,
                              variant=variant, clean=float((pred == cell.yv).mean()),
                              noisy=float((pred == cell.nv).mean()),
                              flagged=float(clf.find_label_issues()["is_label_issue"].mean())),
                   args.csv)
    df = pd.DataFrame(rows)
    for value in ("clean", "flagged"):
        table = df.pivot_table(index="variant", columns="noise", values=value, aggfunc="mean")
        print(f"\n{args.dataset}, seeds {args.seeds}: {value} (mean over seeds)\n")
        print(table.reindex(list(dict.fromkeys(df.variant))).round(3).to_string())


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
