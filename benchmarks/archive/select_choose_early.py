"""Could ``refit_rows="choose"`` choose after part of the candidates' epochs?

The default trains three or four networks (the first round, two candidate
refits, and without a split the kept kind again), 3.2-4.3 times plain
cross-entropy's wall time; issue #29 asks for 2.5. Choosing after a fraction
``f`` of the candidates' epochs and training only the winner on would cost
``2 + f`` trainings with a split and ``2 + 2f`` without. The worry: plain
cross-entropy memorises wrong labels late, so early in training the refit on
every row may look better than it will end.

This script asks the validation splits of ``_selection.py`` (the test split
is never touched). On each cell's fit rows it fits the library's default as
the accuracy benchmark does (``OURS[DEFAULT]``, no split: the choice holds
out a stratified fifth of its own) and records, after every epoch of each
candidate, its predictions on the held-out rows, scored as the library
scores the finished candidates (``functional.noise_corrected_accuracy``
with the noise transition the first round's flags imply), and its accuracy
on the validation rows' clean labels. The torch RNG is saved and restored
around each extra prediction, so the fits are the library's own (checked:
the score recomputed at each candidate's end equals the one it chose on).

Recorded per cell: which kind each rule would keep when choosing after
``f`` of the epochs (raw weights at that epoch), which the library kept
(averaged weights at the end), each candidate's final clean validation
accuracy (``clean_every``, ``clean_unflagged``) and the fit's (``clean_fit``).
The fits choose at the end (``refit_look=None``, the library to 2026-12-07),
so that every candidate trains every epoch.

    python -m benchmarks.archive.select_choose_early --dataset digits \\
        --noises sym0 sym20 sym40 sym60 pair40 inst40 --seeds 0 1 2 --threads 1 \\
        --csv benchmarks/results/select_choose_early_cpu.csv

``--summary CSV ...`` prints, from recorded rows, the clean validation
accuracy of the kept candidate under each rule: choosing after ``f`` (the
winner there kept), the library's ``refit_look=f`` (the refit without the
flagged rows kept where it does not trail after ``f``, which stops the other;
else the choice at the end), the choice at the end and the better of the two:

    python -m benchmarks.archive.select_choose_early --summary \\
        benchmarks/results/select_choose_early_cpu.csv \\
        benchmarks/results/select_choose_early_blood_cells_cpu.csv

``--every-loss forward`` (2026-12-08) trains the refit on every row (the
candidate, and the kept refit trained again) with forward correction
(Patrini et al., CVPR 2017) instead of plain cross-entropy: the loss is
``-log (softmax(z) T)[annotation]`` with ``T`` the noise transition the first
round's flags imply on the candidates' trained rows (the matrix the choice's
score uses), so the network's own softmax estimates the true class. The
refit without the flagged rows trains first and is unchanged, so its columns
equal the plain run's; ``--compare`` sets the CSVs side by side (the
refit on every row alone, and ``refit_look=1/3``'s kept refit):

    python -m benchmarks.archive.select_choose_early --compare \\
        benchmarks/results/select_choose_early_cpu.csv \\
        benchmarks/results/select_choose_early_blood_cells_cpu.csv \\
        --against benchmarks/results/select_refit_every_forward_cpu.csv
"""

import warnings

import numpy as np
import pandas as pd
import torch

from benchmarks.archive._selection import record, selection_parser, validation_splits
from benchmarks.common import DEFAULT, OURS
from benchmarks.common import net_settings as _common
from noisyskl import NoisyNeuralNetClassifier, _second_round
from noisyskl import functional as Fn
from noisyskl._refit import RefitNet

FRACTIONS = (0.25, 1 / 3, 0.5, 2 / 3)
STATE = {"cell": None, "epochs": {}, "end": {}, "choice": None}


def _kind(refit):
    return "every" if refit.kept_.all() and refit.unlabelled_ is None else "unflagged"


def _look(refit, dataset_valid):
    """The candidate's held-out predictions and clean validation accuracy now."""
    rng = torch.get_rng_state()
    try:
        with torch.no_grad():
            held = refit.forward(dataset_valid, training=False).argmax(1).cpu()
        clean = float((np.asarray(refit.predict(STATE["cell"].Xv)) == STATE["cell"].yv).mean())
    finally:
        torch.set_rng_state(rng)
    return held, clean


_epoch_end, _train_end = RefitNet.on_epoch_end, RefitNet.on_train_end
_get_loss = RefitNet.get_loss


def forward_get_loss(self, y_pred, y_true, X=None, training=False):
    """``--every-loss forward``: the refit on every row's training loss,
    forward-corrected by the flags' noise transition; any other loss as it was."""
    transition = STATE.get("transition")
    if not training or transition is None or _kind(self) != "every":
        return _get_loss(self, y_pred, y_true, X=X, training=training)
    proba = torch.softmax(y_pred.float(), 1) @ transition.to(y_pred.device, torch.float32)
    y_true = torch.as_tensor(y_true, device=y_pred.device).long()
    return torch.nn.functional.nll_loss(torch.log(proba.clamp_min(1e-12)), y_true)
_choose_rows = _second_round.choose_rows


def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
    _epoch_end(self, net, dataset_train=dataset_train, dataset_valid=dataset_valid, **kwargs)
    if STATE["choice"] is None and dataset_valid is not None:  # (a candidate)
        STATE["epochs"].setdefault(_kind(self), []).append(_look(self, dataset_valid))


def on_train_end(self, net, X=None, y=None, **kwargs):
    _train_end(self, net, X=X, y=y, **kwargs)
    if STATE["choice"] is None and self.train_split is not None:
        valid = self.get_split_datasets(X, y)[1]
        STATE["end"][_kind(self)] = _look(self, valid)


def choose_rows(est, X, y_idx, flagged, suggested, held, refit, *args, **kwargs):
    trained = ~held
    STATE["transition"] = Fn.noise_transition(
        torch.as_tensor(y_idx[trained]), torch.as_tensor(suggested[trained]),
        torch.as_tensor(flagged[trained]), len(est.classes_))
    STATE["annotation"] = torch.as_tensor(y_idx[held])
    choice = _choose_rows(est, X, y_idx, flagged, suggested, held, refit, *args, **kwargs)
    STATE["choice"] = {k: v for k, v in choice.items() if k != "refit"}
    return choice


def _score(prediction):
    return Fn.noise_corrected_accuracy(prediction, STATE["annotation"], STATE["transition"])


def summary(paths):
    """The rules' clean validation accuracy per data set and over all rows (a
    markdown table; in brackets: runs keeping what the library to 2026-12-07
    keeps, and for ``refit_look`` the runs whose refit on every row stops)."""
    d = pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)
    d = d[d.clean_every.notna()]
    clean = {"every": d.clean_every, "unflagged": d.clean_unflagged}

    def accuracy(kept):
        return d.clean_every.where(kept == "every", d.clean_unflagged)

    columns = {}
    for f in FRACTIONS:
        looked = d[f"score_unflagged_f{f:.2f}"] >= d[f"score_every_f{f:.2f}"]
        columns[f"after {f:.2f}"] = (d[f"kept_f{f:.2f}"], None)
        columns[f"refit_look={f:.2f}"] = (d.kept_full.where(~looked, "unflagged"), looked)
    columns["at the end"] = (d.kept_full, None)
    best = np.maximum(clean["every"], clean["unflagged"])
    lines = ["| data | " + " | ".join(columns) + " | the better of the two |",
             "| --- |" + " --- |" * (len(columns) + 1)]
    for name, part in [*d.groupby("dataset").groups.items(), ("all", d.index)]:
        cells = []
        for kept, stopped in columns.values():
            cell = f"{accuracy(kept)[part].mean():.4f} ({(kept[part] == d.kept_full[part]).sum()}"
            cells.append(cell + (f", {int(stopped[part].sum())} stop)" if stopped is not None
                                 else ")"))
        lines.append(f"| {name} ({len(part)}) | " + " | ".join(cells)
                     + f" | {best[part].mean():.4f} |")
    print("\n".join(lines))
    two_sided(d, accuracy)


def two_sided(d, accuracy, f=1 / 3, margins=(0, 0.01, 0.02, 0.05, 0.1)):
    """A two-sided look after ``f`` of the epochs (2026-12-07, not adopted):
    as ``refit_look``, and besides, where the refit on every row leads by more
    than a margin, that one kept and the other stopped. Clean validation
    accuracy per data set (in brackets: runs where the other stops)."""
    every, unflagged = d[f"score_every_f{f:.2f}"], d[f"score_unflagged_f{f:.2f}"]
    one_sided = d.kept_full.where(unflagged < every, "unflagged")
    columns = {f"refit_look={f:.2f}": (one_sided, None)}
    for m in margins:
        leads = every > unflagged + m
        columns[f"two-sided, margin {m}"] = (one_sided.where(~leads, "every"), leads)
    lines = ["| data | " + " | ".join(columns) + " |", "| --- |" + " --- |" * len(columns)]
    for name, part in [*d.groupby("dataset").groups.items(), ("all", d.index)]:
        lines.append(f"| {name} ({len(part)}) | " + " | ".join(
            f"{accuracy(kept)[part].mean():.4f}" + (
                "" if leads is None else f" ({int(leads[part].sum())})")
            for kept, leads in columns.values()) + " |")
    print("\n" + "\n".join(lines))


def compare(plain, forward, f=1 / 3):
    """Clean validation accuracy, per data set and noise, of the refit on
    every row (plain, forward-corrected) and of ``refit_look=f``'s kept
    refit with either (the runs in both: ``plain``, a list of CSVs, and the
    CSV ``forward``)."""
    keys = ["dataset", "noise", "seed"]
    p = pd.concat([pd.read_csv(path) for path in plain]).dropna(subset=["clean_every"])
    q = pd.read_csv(forward).dropna(subset=["clean_every"])
    d = p.merge(q, on=keys, suffixes=("", "_fwd"))
    check = (d.clean_unflagged - d.clean_unflagged_fwd).abs().max()
    col = f"{f:.2f}"
    for sfx in ("", "_fwd"):
        looked = d[f"score_unflagged_f{col}{sfx}"] >= d[f"score_every_f{col}{sfx}"]
        kept = d[f"kept_full{sfx}"].where(~looked, "unflagged")
        d[f"look{sfx}"] = d[f"clean_every{sfx}"].where(kept == "every",
                                                        d[f"clean_unflagged{sfx}"])
        d[f"kept{sfx}"] = kept
    lines = ["| data | noise | runs | every, plain | every, forward | unflagged | "
             "refit_look, plain | refit_look, forward |", "| --- |" * 1 + " --- |" * 7]
    for (ds, noise), part in d.groupby(["dataset", "noise"]):
        lines.append(f"| {ds} | {noise} | {len(part)} | {part.clean_every.mean():.4f} | "
                     f"{part.clean_every_fwd.mean():.4f} | {part.clean_unflagged.mean():.4f} | "
                     f"{part.look.mean():.4f} ({(part.kept == 'every').sum()} every) | "
                     f"{part.look_fwd.mean():.4f} ({(part.kept_fwd == 'every').sum()} every) |")
    for ds, part in [*d.groupby("dataset"), ("all", d)]:
        lines.append(f"| {ds} | all | {len(part)} | {part.clean_every.mean():.4f} | "
                     f"{part.clean_every_fwd.mean():.4f} | {part.clean_unflagged.mean():.4f} | "
                     f"{part.look.mean():.4f} | {part.look_fwd.mean():.4f} |")
    print("\n".join(lines))
    print(f"\n(the refit without the flagged rows, the same in both runs: largest "
          f"difference {check:.2g})")


def main():
    parser = selection_parser(__doc__.split("\n")[0], dataset="digits")
    parser.add_argument("--summary", nargs="+", metavar="CSV",
                        help="print the rules' table from these recorded CSVs; train nothing")
    parser.add_argument("--every-loss", choices=["plain", "forward"], default="plain",
                        help="the refit on every row's loss (forward: corrected by the flags' "
                             "noise transition)")
    parser.add_argument("--compare", nargs="+", metavar="PLAIN",
                        help="set these plain CSVs beside --against's; train nothing")
    parser.add_argument("--against", metavar="FORWARD",
                        help="with --compare: the --every-loss forward CSV")
    args = parser.parse_args()
    if args.summary:
        summary(args.summary)
        return
    if args.compare:
        compare(args.compare, args.against)
        return
    # (the experiment's recording; only when run)
    RefitNet.on_epoch_end, RefitNet.on_train_end = on_epoch_end, on_train_end
    if args.every_loss == "forward":
        RefitNet.get_loss = forward_get_loss
    _second_round.choose_rows = choose_rows
    rows = []
    for cell in validation_splits(args):
        STATE.update(cell=cell, epochs={}, end={}, choice=None)
        common = _common(cell.settings, cell.epochs, args.device)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = NoisyNeuralNetClassifier(random_state=cell.seed, **{
                **common, **OURS[DEFAULT], "refit_look": None}).fit(cell.Xf, cell.nf)
        row = dict(dataset=args.dataset, noise=cell.noise, seed=cell.seed, epochs=cell.epochs,
                   clean_fit=float((np.asarray(est.predict(cell.Xv)) == cell.yv).mean()))
        choice = STATE["choice"]
        if choice is None or "score_every" not in choice:  # (no choice made: refit skipped)
            row["kept_full"] = (est.refit_choice_ or {}).get("refit_rows")
            record(rows, row, args.csv)
            continue
        row["kept_full"] = choice["refit_rows"]
        for kind in ("every", "unflagged"):
            held, clean = STATE["end"][kind]
            row[f"clean_{kind}"] = clean
            row[f"score_{kind}"] = choice[f"score_{kind}"]
            # the check: this script's score of the finished candidate is the library's
            row[f"check_{kind}"] = abs(_score(held) - choice[f"score_{kind}"])
        for f in FRACTIONS:
            k = max(1, round(f * cell.epochs)) - 1
            scores = {kind: _score(STATE["epochs"][kind][k][0]) for kind in ("every", "unflagged")}
            row[f"kept_f{f:.2f}"] = ("unflagged" if scores["unflagged"] >= scores["every"]
                                     else "every")
            for kind in scores:
                row[f"score_{kind}_f{f:.2f}"] = scores[kind]
        record(rows, row, args.csv)


if __name__ == "__main__":
    main()
