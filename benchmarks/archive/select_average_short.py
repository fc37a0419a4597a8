"""Does averaging the refit's weights (``average_refit``) cost a short schedule?

The embeddings case of issue #29 (``python -m benchmarks embeddings``: Kather
features, 2,000 rows, 15 epochs) left the default 0.6 points behind plain
cross-entropy on clean labels on test rows, and ``average_refit=False`` level
with it there (a diagnosis, which chooses nothing). This script asks the
validation splits of ``_selection.py`` (the test split is never touched):
on each cell's fit rows, the library's default (``rounds=2``, the benchmark's
module and optimiser and, as the benchmark, no split: the choice holds out a
fifth of its own) at 15 epochs and at the data set's own (40 or 60),
``average_refit`` True (the default) and False, the same ``random_state``.
Recorded: clean validation accuracy of each, and which refit each kept.

    python -m benchmarks.archive.select_average_short --dataset kather2016 \\
        --noises sym0 sym40 pair40 --seeds 0 1 2 --threads 1 \\
        --csv benchmarks/results/select_average_short_cpu.csv
"""

import warnings

import numpy as np

from benchmarks.archive._selection import record, selection_parser, validation_splits
from benchmarks.common import net_settings as _common
from noisyskl import NoisyNeuralNetClassifier


def main():
    parser = selection_parser(__doc__.split("\n")[0], dataset="kather2016")
    parser.add_argument("--short", type=int, default=15)
    args = parser.parse_args()
    rows = []
    for cell in validation_splits(args):
        for epochs in (args.short, cell.epochs):
            row = dict(dataset=args.dataset, noise=cell.noise, seed=cell.seed, epochs=epochs)
            for average in (True, False):
                common = _common(cell.settings, epochs, args.device)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    est = NoisyNeuralNetClassifier(random_state=cell.seed, average_refit=average,
                                                   **common).fit(cell.Xf, cell.nf)
                name = "averaged" if average else "last"
                row[f"clean_{name}"] = float((np.asarray(est.predict(cell.Xv)) == cell.yv).mean())
                row[f"kept_{name}"] = (est.refit_choice_ or {}).get("refit_rows")
            record(rows, row, args.csv)


if __name__ == "__main__":
    main()
