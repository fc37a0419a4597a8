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
                   elr_lambda=args.elr_lambda)
        every = cell.trained
        for name, keep in (("drop", every & ~cell.flagged), ("every", every), ("elr", every)):
            net = (elr_refit(cell, keep, args.elr_lambda, args.device) if name == "elr"
                   else plain_refit(cell, keep))
            score_candidate(cell, net, name, row)
        for other in ("every", "elr"):
            pick = "drop" if row["corrected_drop"] >= row[f"corrected_{other}"] else other
            row[f"choice_drop_{other}"] = row[f"clean_{pick}"]
        record(rows, row, args.csv)


if __name__ == "__main__":
    main()
