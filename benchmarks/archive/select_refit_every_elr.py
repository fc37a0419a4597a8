"""Would an early-learning term in the refit on every row make the choice
better (#29)? As ``select_refit_choice_rule`` (validation cells; the first
round holds out a fifth of its fit rows; candidates train on the rest and are
scored on the held-out rows, corrected for noise), with a third candidate:
ELR on every row (``benchmarks.peers.ELRNet``, β 0.7, λ as given: the
published 3 by default), and the rule "choose between the unflagged-rows
refit and ELR on every row by corrected accuracy".

    python -m benchmarks.archive.select_refit_every_elr --dataset digits \\
        --noises sym0 sym40 pair40 inst40 --seeds 0 1 2 --threads 1 \\
        --csv benchmarks/results/select_refit_every_elr_cpu.csv
"""

import numpy as np
import torch

from benchmarks.archive._selection import record, selection_parser, validation_cells
from benchmarks.common import net_settings as _common
from benchmarks.peers import make_peer
from noisyskl import NoisyNeuralNetClassifier
from noisyskl import functional as Fn


def main():
    parser = selection_parser(__doc__.split("\n")[0], dataset="digits")
    parser.add_argument("--elr-lambda", type=float, default=3.0)
    args = parser.parse_args()
    rows = []
    for cell in validation_cells(args, holdout=0.2):
        cell.first.set_params(flag_limit="confident_joint")
        report = cell.first.find_label_issues()
        trained = report["in_training"].to_numpy()
        flagged = report["is_label_issue"].to_numpy()
        classes = cell.first.classes_
        given = np.searchsorted(classes, cell.nf)
        suggested = np.searchsorted(classes, report["predicted_label"].to_numpy())
        T = Fn.noise_transition(torch.as_tensor(given[trained]),
                                torch.as_tensor(suggested[trained]),
                                torch.as_tensor(flagged[trained]), len(classes))
        held = ~trained
        annotation = torch.as_tensor(given[held])
        common = _common(cell.settings, cell.epochs, args.device)
        row = dict(dataset=args.dataset, noise=cell.noise, seed=cell.seed,
                   elr_lambda=args.elr_lambda)
        for name, keep in (("drop", trained & ~flagged), ("every", trained), ("elr", trained)):
            if name == "elr":
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(cell.seed)
                    net = make_peer("ELR", args.elr_lambda, cell.settings, common, cell.seed,
                                    args.device).fit(cell.Xf[keep], cell.nf[keep])
            else:
                net = NoisyNeuralNetClassifier(random_state=cell.seed, rounds=1, weighting=None,
                                               refinement=None, **common).fit(cell.Xf[keep],
                                                                              cell.nf[keep])
            pred = np.searchsorted(classes, np.asarray(net.predict(cell.Xf)))
            pred = torch.as_tensor(pred[held])
            row[f"clean_{name}"] = float((np.asarray(net.predict(cell.Xv)) == cell.yv).mean())
            row[f"corrected_{name}"] = Fn.noise_corrected_accuracy(pred, annotation, T)
        for other in ("every", "elr"):
            pick = "drop" if row["corrected_drop"] >= row[f"corrected_{other}"] else other
            row[f"choice_drop_{other}"] = row[f"clean_{pick}"]
        record(rows, row, args.csv)


if __name__ == "__main__":
    main()
