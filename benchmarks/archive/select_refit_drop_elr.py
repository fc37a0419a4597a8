"""Would an early-learning term in the refit on the unflagged rows make the
choice better (#29)? As ``select_refit_every_elr`` (validation cells; the
first round holds out a fifth of its fit rows; candidates train on the rest
and are scored on the held-out rows, corrected for noise), but the term goes
into the other candidate: ELR (``benchmarks.peers.ELRNet``, β 0.7, λ as
given: the published 3 by default) on the rows the first round did not flag
(``drop_elr``), beside the plain refit on the same rows (``drop``, which
checks the cells against ``select_refit_every_elr_cpu.csv``: same rows,
same numbers). The choice "plain refit on every row or ELR on the unflagged
rows, by corrected accuracy" is scored against that CSV's ``every`` rows.

    python -m benchmarks.archive.select_refit_drop_elr --dataset digits \\
        --noises sym0 sym20 sym40 pair40 inst40 --seeds 0 1 2 --threads 1 \\
        --csv benchmarks/results/select_refit_drop_elr_cpu.csv
"""


from benchmarks.archive._selection import (
    choice_cells,
    elr_refit,
    plain_refit,
    record,
    score_candidate,
    selection_parser,
)


def main():
    parser = selection_parser(__doc__.split("\n")[0], dataset="digits")
    parser.add_argument("--elr-lambda", type=float, default=3.0)
    args = parser.parse_args()
    rows = []
    for cell in choice_cells(args):
        row = dict(dataset=args.dataset, noise=cell.noise, seed=cell.seed,
                   elr_lambda=args.elr_lambda, flagged=float(cell.flagged[cell.trained].mean()))
        keep = cell.trained & ~cell.flagged
        for name in ("drop", "drop_elr"):
            net = (elr_refit(cell, keep, args.elr_lambda, args.device) if name == "drop_elr"
                   else plain_refit(cell, keep))
            score_candidate(cell, net, name, row)
        record(rows, row, args.csv)


if __name__ == "__main__":
    main()
