"""Several doctors per image: noisyskl on every annotation against majority
voting and cleanlab's multi-annotator method, on the blood cells
(``../shared/data/blood_cells_pbc_64px.npz``, the main benchmark's 32 px
images, its CNN and its 70/30 split).

Simulated panels (``noisyskl.noise.annotator_panel``), each row labelled by
1-3 of the panel's doctors:

``panel3``
    dr_a right 85% of the time, dr_b 65%, dr_c a lenient one who calls 45%
    of the cells of other classes neutrophils; each labels 60% of the rows.
``panel5``
    dr_a 85%, dr_b 75%, dr_c 65%, dr_d 50%, dr_e lenient (50% towards
    neutrophil); each labels 45% of the rows, and a row drawn by more than
    three keeps three of them, at random.

Methods, every network the same CNN, Adam 1e-3, batch 64, 30 epochs:

- majority vote + plain CE (ties to the first class);
- majority vote + noisyskl (its default, 1-D y);
- noisyskl on all annotations (the label matrix), annotator votes alike;
- the same with ``annotator_weighting="reliability"``;
- the same with ``annotation_target="vote_shares"`` (the annotation
  distribution itself as the target and anchor, instead of the one-hot of
  the top vote);
- cleanlab's ``get_label_quality_multiannotator`` (CROWDLAB) with 3-fold
  out-of-fold predictions of plain CE on the majority vote, then plain CE on
  its consensus labels;
- the oracle (clean labels; once per seed, the same for both panels).

Measured: clean-test accuracy; consensus-label accuracy on the training
rows (the majority vote, noisyskl's ``consensus_label``, cleanlab's
``consensus_label``); Spearman's rank correlation between each method's
annotator quality and the annotators' realised accuracy (majority-vote rows:
each annotator's agreement with the vote). Results are appended to
``benchmarks/results/annotators.csv`` (rows already there are skipped).

    python -m benchmarks annotators --seeds 0 1 2
    python -m benchmarks annotators --report        # the table from the CSV
    python -m benchmarks annotators --smoke         # 8 epochs, 1 seed, to a temp file
    python -m benchmarks annotators --kept --seeds 0 --panels panel3
        # the rows each rounds=2 refit keeps, and how many of their labels are right
    python -m benchmarks annotators --consensus --seeds 0 1 2
        # the consensus against the majority vote where each doctor is more
        # accurate than the model (CONSENSUS_PANELS), and annotator_quality
        # against each doctor's realised accuracy
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.stats import spearmanr
from skorch import NeuralNetClassifier

from benchmarks.common import (
    DATA_DIR,
    DEFAULT,
    RESULTS,
    load_dataset,
    net_settings,
    ours,
)
from noisyskl import NoisyNeuralNetClassifier, majority_vote
from noisyskl.noise import annotator_panel, lenient_transition_matrix

CSV = RESULTS / "annotators.csv"
NEUTROPHIL = 6  # index in the file's classes
MAJ_CE = "majority vote + plain CE"
MAJ_OURS = "majority vote + noisyskl"
ALL = "noisyskl, all annotations"
ALL_REL = "noisyskl, all annotations, reliability weights"
ALL_SHARES = "noisyskl, all annotations, vote shares as targets"
CROWDLAB = "cleanlab multiannotator + CE"
ORACLE = "oracle (clean labels)"
METHODS = (MAJ_CE, MAJ_OURS, ALL, ALL_REL, CROWDLAB, ORACLE, ALL_SHARES)


def panel(name, n_classes):
    lenient = lambda rate: lenient_transition_matrix(n_classes, rate, NEUTROPHIL)  # noqa: E731
    if name == "panel3":
        return {"dr_a": {"accuracy": 0.85, "share": 0.6},
                "dr_b": {"accuracy": 0.65, "share": 0.6},
                "dr_c": {"transition_matrix": lenient(0.45), "share": 0.6}}
    if name == "equal82":  # each more accurate than a weak model, all rows
        return {f"dr_{k}": {"accuracy": 0.82, "share": 1.0} for k in "abc"}
    if name == "panel5":
        return {"dr_a": {"accuracy": 0.85, "share": 0.45},
                "dr_b": {"accuracy": 0.75, "share": 0.45},
                "dr_c": {"accuracy": 0.65, "share": 0.45},
                "dr_d": {"accuracy": 0.50, "share": 0.45},
                "dr_e": {"transition_matrix": lenient(0.5), "share": 0.45}}
    raise ValueError(name)


def at_most(labels, k, rng):
    """Keep at most ``k`` labels a row (the others, drawn at random, set missing)."""
    values = np.array(labels, dtype=float)
    for i in np.flatnonzero((~np.isnan(values)).sum(1) > k):
        given = np.flatnonzero(~np.isnan(values[i]))
        values[i, rng.choice(given, len(given) - k, replace=False)] = np.nan
    return pd.DataFrame(values, index=labels.index, columns=labels.columns)


def make_labels(name, ytr, seed):
    labels, _ = annotator_panel(ytr, panel(name, len(np.unique(ytr))), random_state=seed)
    labels = at_most(labels, 3, np.random.default_rng(seed))
    given = labels.notna().to_numpy()
    truth = np.asarray(ytr)[:, None]
    accuracy = ((labels.to_numpy(dtype=float) == truth) & given).sum(0) / given.sum(0)
    return labels, pd.Series(accuracy, index=labels.columns)


def agreement(labels, consensus):
    values = labels.to_numpy(dtype=float)
    given = ~np.isnan(values)
    return ((values == np.asarray(consensus)[:, None]) & given).sum(0) / given.sum(0)


def run_method(method, Xtr, ytr, labels, Xte, seed, settings, epochs):
    common = net_settings(settings, epochs, "cpu")
    maj = majority_vote(labels).astype(np.int64)
    quality = agreed = None
    t0 = time.perf_counter()
    if method in (MAJ_OURS, ALL, ALL_REL, ALL_SHARES):
        extra = ({"annotator_weighting": "reliability"} if method == ALL_REL else
                 {"annotation_target": "vote_shares"} if method == ALL_SHARES else {})
        clf = NoisyNeuralNetClassifier(random_state=seed, **ours(DEFAULT, common), **extra)
        clf.fit(Xtr, maj if method == MAJ_OURS else labels)
        report = clf.find_label_issues()
        consensus = report["predicted_label"].to_numpy().astype(np.int64)
        if method == MAJ_OURS:
            quality = agreement(labels, consensus)
        else:
            stats = clf.annotator_report().reindex(labels.columns)
            quality, agreed = stats["annotator_quality"], stats["agreement_with_consensus"]
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = lambda: NeuralNetClassifier(criterion=torch.nn.CrossEntropyLoss, **common)  # noqa: E731
            if method == CROWDLAB:
                from cleanlab.multiannotator import get_label_quality_multiannotator
                from sklearn.model_selection import StratifiedKFold, cross_val_predict

                cv = StratifiedKFold(3, shuffle=True, random_state=seed)
                proba = cross_val_predict(net(), Xtr, maj, cv=cv, method="predict_proba")
                result = get_label_quality_multiannotator(labels, proba, verbose=False)
                consensus = result["label_quality"]["consensus_label"].to_numpy()
                quality = result["annotator_stats"]["annotator_quality"].reindex(labels.columns)
                clf = net().fit(Xtr, consensus.astype(np.int64))
            elif method == ORACLE:
                clf, consensus = net().fit(Xtr, ytr), None
            else:
                clf, consensus = net().fit(Xtr, maj), maj
                quality = agreement(labels, maj)
    wall = time.perf_counter() - t0
    return np.asarray(clf.predict(Xte)), consensus, quality, agreed, wall


def run(args):
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = set()
    if out.exists():
        old = pd.read_csv(out)
        done = set(zip(old.panel, old.seed, old.method))
    for seed in args.seeds:
        loaded = load_dataset("blood_cells", seed, args.data_dir)
        if loaded is None:
            print(f"skipping: blood_cells_pbc_64px.npz is not in {args.data_dir}", flush=True)
            return
        Xtr, ytr, Xte, yte, settings, epochs = loaded
        epochs = args.epochs or epochs
        for name in args.panels:
            labels, true_accuracy = make_labels(name, ytr, seed)
            for method in args.methods:
                key_panel = "any" if method == ORACLE else name
                if (key_panel, seed, method) in done:
                    continue
                pred, consensus, quality, agreed, wall = run_method(method, Xtr, ytr, labels, Xte,
                                                            seed, settings, epochs)
                row = dict(panel=key_panel, seed=seed, method=method, epochs=epochs,
                           test_acc=float((pred == yte).mean()),
                           consensus_acc=(np.nan if consensus is None
                                          else float((consensus == ytr).mean())),
                           spearman=(np.nan if quality is None
                                     else float(spearmanr(quality, true_accuracy).statistic)),
                           spearman_agreement=(
                               np.nan if agreed is None
                               else float(spearmanr(agreed, true_accuracy).statistic)),
                           majority_acc=float((majority_vote(labels) == ytr).mean()),
                           true_accuracy=";".join(f"{a:.3f}" for a in true_accuracy),
                           wall_s=round(wall, 1))
                print(row, flush=True)
                pd.DataFrame([row]).to_csv(out, mode="a", header=not out.exists(), index=False)
                done.add((key_panel, seed, method))


#: Panels of doctors who are each more accurate than the model (a weak model:
#: few rows, a short schedule), and the present panels for comparison:
#: name -> (panel, training rows, epochs).
CONSENSUS_PANELS = {
    "three at 82%, 600 rows, 5 epochs": ("equal82", 600, 5),
    "three at 82%, 1,680 rows, 10 epochs": ("equal82", None, 10),
    "panel3, 1,680 rows, 10 epochs": ("panel3", None, 10),
    "panel5, 1,680 rows, 10 epochs": ("panel5", None, 10),
}


def consensus(args):
    """The consensus of a label-matrix fit (the default estimator) against
    the majority vote (ties: the model's favourite, as the estimator's
    given_label) and the refined labels (the consensus before this version),
    on the training rows; and annotator_quality against each doctor's
    realised accuracy. Appended to ``--out`` (default
    benchmarks/results/consensus.csv)."""
    out = Path(args.out if args.out != str(CSV) else RESULTS / "consensus.csv")
    rows = []
    for seed in args.seeds:
        loaded = load_dataset("blood_cells", seed, args.data_dir)
        if loaded is None:
            print(f"skipping: blood_cells_pbc_64px.npz is not in {args.data_dir}")
            return
        Xtr_all, ytr_all, Xte, yte, settings, _ = loaded
        for name, (panel_name, n_rows, epochs) in CONSENSUS_PANELS.items():
            pick = (np.random.default_rng(seed).permutation(len(ytr_all))[:n_rows]
                    if n_rows else np.arange(len(ytr_all)))
            Xtr, ytr = Xtr_all[pick], ytr_all[pick]
            labels, true_accuracy = make_labels(panel_name, ytr, seed)
            common = net_settings(settings, args.epochs or epochs, "cpu")
            del common["train_split"]  # the estimator's default: a fifth held out, for the
            # model's out-of-sample accuracy (without held-out rows it only breaks ties)
            clf = NoisyNeuralNetClassifier(random_state=seed, **ours(DEFAULT, common))
            clf.fit(Xtr, labels)
            report_ = clf.find_label_issues()
            vote = clf.classes_[clf.refinement_state_.top_voted_index().cpu().numpy()]
            quality = clf.annotator_report()["annotator_quality"].reindex(labels.columns)
            held = ~clf.train_mask_
            row = dict(panel=name, seed=seed, rows=len(ytr), epochs=args.epochs or epochs,
                       vote_acc=float((vote == ytr).mean()),
                       consensus_acc=float((report_.consensus_label.to_numpy() == ytr).mean()),
                       refined_acc=float((report_.predicted_label.to_numpy() == ytr).mean()),
                       model_heldout_acc=float((clf.predict(Xtr[held]) == ytr[held]).mean()),
                       doctors_acc=";".join(f"{a:.3f}" for a in true_accuracy),
                       quality=";".join(f"{q:.3f}" for q in quality),
                       quality_max_error=float(np.abs(quality - true_accuracy).max()),
                       test_acc=float((clf.predict(Xte) == yte).mean()))
            print(row, flush=True)
            rows.append(row)
    out.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(out, mode="a", header=not out.exists(), index=False)
    consensus_report(out)


def consensus_report(path):
    df = pd.read_csv(path)
    print("| panel | seeds | majority vote | consensus (this version) | refined labels "
          "(the consensus before) | model, held-out rows | annotator_quality, largest "
          "error |\n| --- | --- | --- | --- | --- | --- | --- |")
    for name, r in df.groupby("panel", sort=False):
        cells = [f"{r[c].mean():.3f} ± {r[c].std(ddof=1):.3f}" if len(r) > 1 else
                 f"{r[c].mean():.3f}" for c in ("vote_acc", "consensus_acc", "refined_acc",
                                               "model_heldout_acc", "quality_max_error")]
        print(f"| {name} | {len(r)} | " + " | ".join(cells) + " |")


def kept(args):
    """For the method on the majority vote and on all annotations: how many
    rows the rounds=2 refit keeps and how many of the labels it trains them
    on are right (a diagnostic; printed, not stored)."""
    for seed in args.seeds:
        loaded = load_dataset("blood_cells", seed, args.data_dir)
        if loaded is None:
            print(f"skipping: blood_cells_pbc_64px.npz is not in {args.data_dir}")
            return
        Xtr, ytr, Xte, yte, settings, epochs = loaded
        for name in args.panels:
            labels, _ = make_labels(name, ytr, seed)
            maj = majority_vote(labels).astype(np.int64)
            for method, y in ((MAJ_OURS, maj), (ALL, labels)):
                common = net_settings(settings, args.epochs or epochs, "cpu")
                clf = NoisyNeuralNetClassifier(random_state=seed, **ours(DEFAULT, common))
                clf.fit(Xtr, y)
                keep = ~clf.find_label_issues()["is_label_issue"].to_numpy()
                given = (maj if method == MAJ_OURS else
                         clf.refinement_state_.top_voted_index().cpu().numpy())
                print(f"{name} seed {seed} {method}: keeps {keep.sum()} of {len(keep)} rows, "
                      f"{(given[keep] == ytr[keep]).mean():.3f} of their labels right "
                      f"({int((given[keep] != ytr[keep]).sum())} wrong); test accuracy "
                      f"{(clf.predict(Xte) == yte).mean():.3f}", flush=True)


def report(path):
    df = pd.read_csv(path)
    lines = []
    for name in ("panel3", "panel5"):
        rows = df[df.panel.isin([name, "any"])]
        if not (df.panel == name).any():
            continue
        seeds = sorted(df[df.panel == name].seed.unique())
        acc = df[df.panel == name].groupby("seed").majority_acc.first()
        lines += [f"### {name}: {len(seeds)} seed(s) ({', '.join(map(str, seeds))}); majority "
                  f"vote right on {acc.mean():.3f} of the training rows", "",
                  "| method | test accuracy | consensus accuracy (training rows) | "
                  "rank correlation of annotator quality | wall s |",
                  "| --- | --- | --- | --- | --- |"]
        for method in METHODS:
            r = rows[(rows.method == method) & rows.seed.isin(seeds)]
            if r.empty:
                continue

            def cell(col, r=r, seeds=seeds):
                v = r[col].dropna()
                if v.empty:
                    return "—"
                if len(v) == 1:
                    return f"{v.mean():.3f} (1 seed)"
                fewer = f" ({len(v)} seeds)" if len(v) < len(seeds) else ""
                return f"{v.mean():.3f} ± {v.std(ddof=1):.3f}{fewer}"

            lines.append(f"| {method} | {cell('test_acc')} | {cell('consensus_acc')} | "
                         f"{cell('spearman')} | {r.wall_s.mean():.0f} |")
        lines.append("")
    print("\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--panels", nargs="+", default=["panel3", "panel5"])
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--epochs", type=int, default=None, help="default: the benchmark's 30")
    parser.add_argument("--data-dir", default=str(DATA_DIR))
    parser.add_argument("--out", default=str(CSV))
    parser.add_argument("--report", action="store_true")
    parser.add_argument("--kept", action="store_true", help="what each refit keeps (printed)")
    parser.add_argument("--smoke", action="store_true", help="8 epochs, seed 0, a temp CSV")
    parser.add_argument("--consensus", action="store_true",
                        help="the consensus against the vote (CONSENSUS_PANELS)")
    args = parser.parse_args(argv)
    if args.consensus:
        return consensus(args)
    if args.report:
        return report(args.out)
    if args.kept:
        return kept(args)
    if args.smoke:
        args.epochs, args.seeds = args.epochs or 8, [0]
        args.out = str(Path(tempfile.mkdtemp()) / "annotators.csv")
    run(args)
    if Path(args.out).exists():
        report(args.out)


if __name__ == "__main__":
    main()
