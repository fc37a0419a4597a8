"""What the ``select_*`` scripts share: their options, the validation cells and the CSV rows.

A validation cell is one (seed, noise) of a benchmark data set: the training
part of the data (same 70/30 split as run.py) gets the noise and is split again
70/30 into fit and validation rows; the test split is never touched. The first
training (``rounds=1``, the library's settings) runs on the fit rows.
"""

import argparse
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from skorch.dataset import ValidSplit

from benchmarks.common import HERE, NOISES, load_dataset, make_noise
from benchmarks.common import net_settings as _common
from noisyskl import NoisyNeuralNetClassifier
from noisyskl import functional as Fn

#: The experiments' results were recorded with the vote alone deciding the flags
#: (before ``flag_limit`` existed, or, for select_flag_count.py, as its
#: "library" baseline): they pass this so that rerunning them reproduces their
#: results files under the capped default.
VOTE_ONLY = {"flag_limit": None}


def selection_parser(description, dataset="blood_cells"):
    """An argument parser with the options every selection script takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--dataset", default=dataset)
    parser.add_argument("--noises", nargs="+", default=["sym0", "sym40"], choices=list(NOISES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--data-dir", default=str(HERE.parent.parent / "shared/data"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--csv", help="append rows to this CSV")
    return parser


def validation_splits(args):
    """Yield one namespace per (seed, noise): the split rows, nothing trained.

    Attributes: ``seed``, ``noise``, ``settings`` and ``epochs`` (as run.py),
    ``Xf``/``nf`` (fit rows and their noisy labels), ``Xv``, ``nv``, ``yv``
    (validation rows, noisy and clean labels) and ``flipped`` (which fit rows
    got a wrong label).
    """
    torch.set_num_threads(args.threads)
    for seed in args.seeds:
        loaded = load_dataset(args.dataset, seed, args.data_dir)
        if loaded is None:
            sys.exit(f"{args.dataset}: data file not found in {args.data_dir}")
        Xtr, ytr, _, _, settings, epochs = loaded  # the test split is not touched
        for noise in args.noises:
            noisy, flipped = make_noise(*NOISES[noise], Xtr, ytr, seed)
            Xf, Xv, nf, nv, _, yv, ff, _ = train_test_split(
                Xtr, noisy, ytr, flipped, test_size=0.3, stratify=ytr, random_state=seed)
            yield SimpleNamespace(seed=seed, noise=noise, settings=settings, epochs=epochs,
                                  Xf=Xf, nf=nf, Xv=Xv, nv=nv, yv=yv, flipped=ff)


def validation_cells(args, holdout=None):
    """Yield the cells of :func:`validation_splits` with their first round fitted.

    With ``holdout`` (a fraction), the first round holds out that share of the
    fit rows (``ValidSplit(holdout, stratified=True)``, seeded), as ``fit``
    does by default; otherwise it trains on every fit row.

    Adds ``first`` (the fitted ``rounds=1`` estimator) and ``y_idx`` (the fit
    rows' noisy labels as class indices of ``first.classes_``).
    """
    for cell in validation_splits(args):
        common = _common(cell.settings, cell.epochs, args.device)
        if holdout is not None:
            common["train_split"] = ValidSplit(holdout, stratified=True, random_state=cell.seed)
        cell.first = NoisyNeuralNetClassifier(random_state=cell.seed, rounds=1, **VOTE_ONLY,
                                              **common).fit(cell.Xf, cell.nf)
        cell.y_idx = np.searchsorted(cell.first.classes_, cell.nf)
        yield cell


def choice_cells(args):
    """Yield the cells of :func:`validation_cells` (a fifth held out) set up
    for scoring refit candidates as ``refit_rows="choose"`` does.

    Adds ``trained``, ``flagged`` and ``held`` (boolean masks over the fit
    rows; flags capped by the confident joint), ``classes``, ``transition``
    (``functional.noise_transition`` from the flags on the trained rows),
    ``annotation`` (the held-out rows' noisy labels as class indices) and
    ``common`` (``net_settings``).
    """
    for cell in validation_cells(args, holdout=0.2):
        cell.first.set_params(flag_limit="confident_joint")
        report = cell.first.find_label_issues()
        cell.trained = trained = report["in_training"].to_numpy()
        cell.flagged = flagged = report["is_label_issue"].to_numpy()
        cell.classes = classes = cell.first.classes_
        given = np.searchsorted(classes, cell.nf)
        suggested = np.searchsorted(classes, report["predicted_label"].to_numpy())
        cell.transition = Fn.noise_transition(torch.as_tensor(given[trained]),
                                              torch.as_tensor(suggested[trained]),
                                              torch.as_tensor(flagged[trained]), len(classes))
        cell.held = ~trained
        cell.annotation = torch.as_tensor(given[cell.held])
        cell.common = _common(cell.settings, cell.epochs, args.device)
        yield cell


def plain_refit(cell, keep):
    """A plain cross-entropy candidate (``rounds=1``, no weights, no
    refinement, the cell's seed) trained on the fit rows ``keep``."""
    return NoisyNeuralNetClassifier(random_state=cell.seed, rounds=1, weighting=None,
                                    refinement=None, **cell.common).fit(cell.Xf[keep],
                                                                        cell.nf[keep])


def elr_refit(cell, keep, elr_lambda, device):
    """An ELR candidate (``benchmarks.peers.ELRNet``: β 0.7, λ ``elr_lambda``;
    torch seeded with the cell's seed) trained on the fit rows ``keep``."""
    from benchmarks.peers import make_peer

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cell.seed)
        return make_peer("ELR", elr_lambda, cell.settings, cell.common, cell.seed,
                         device).fit(cell.Xf[keep], cell.nf[keep])


def held_out_prediction(cell, net):
    """``net``'s predictions for the cell's held-out fit rows, as class indices."""
    pred = np.searchsorted(cell.classes, np.asarray(net.predict(cell.Xf)))
    return torch.as_tensor(pred[cell.held])


def score_candidate(cell, net, name, row):
    """Put a trained candidate's ``clean_<name>`` (accuracy on the validation
    rows' clean labels) and ``corrected_<name>`` (its held-out accuracy
    corrected for the noise the flags imply, as ``refit_rows="choose"``
    scores it) into ``row``."""
    pred = held_out_prediction(cell, net)
    row[f"clean_{name}"] = float((np.asarray(net.predict(cell.Xv)) == cell.yv).mean())
    row[f"corrected_{name}"] = Fn.noise_corrected_accuracy(pred, cell.annotation, cell.transition)


def flag_scores(drop, wrong):
    """How a set of flags (rows to drop) fares against the rows we flipped.

    Returns a dict: ``clean_dropped`` (share of clean rows flagged),
    ``wrong_kept`` (share of wrong labels not flagged) and ``det_f1``; the
    last two are NaN when no label was flipped.
    """
    any_wrong = wrong.any()
    return dict(clean_dropped=float((drop & ~wrong).sum() / (~wrong).sum()),
                wrong_kept=float((~drop & wrong).sum() / wrong.sum()) if any_wrong else np.nan,
                det_f1=f1_score(wrong, drop) if any_wrong else np.nan)


def print_means(df, by, values, order, title):
    """Print, per value, a table of its mean over seeds: rows ``by`` (in ``order``), columns noise."""
    for value in values:
        table = df.pivot_table(index=by, columns="noise", values=value, aggfunc="mean")
        print(f"\n{title}: {value} (mean over seeds)\n")
        print(table.reindex(order).round(3).to_string())


def record(rows, row, csv=None):
    """Append ``row`` to ``rows``, print it, and append it to ``csv`` if given."""
    rows.append(row)
    frame = pd.DataFrame([row])
    print(frame.round(3).to_string(index=False, header=False), flush=True)
    if csv:
        frame.to_csv(csv, mode="a", index=False, header=not Path(csv).exists())
