"""noisyskl against its peers, on real data with injected label noise.

One entry point:

    python benchmarks/run.py --quick                      # CI smoke run, ~2 min
    python benchmarks/run.py --data-dir ../shared/data    # full grid (hours on CPU)
    python benchmarks/run.py --datasets blood_cells --noises sym0 sym40 --seeds 0 1 2
    python benchmarks/run.py --report-only                # tables and plots from the CSV
    python benchmarks/run.py --micro                      # time per epoch vs plain skorch
    python benchmarks/run.py --micro --device cuda --datasets digits blood_cells blood_cells_64px
    python benchmarks/run.py --micro --compile ...         # the same, every net torch.compiled

Every method gets the same torch module, optimiser (Adam, lr 1e-3), batch size
(64), epochs and seeds, and trains on the same noisy labels; test labels are
clean. Results are appended to ``<out>/results.csv`` (a run can be resumed:
finished rows are skipped), and ``<out>/tables.md`` and the plots are written
from all rows. The quick mode checks that everything runs; it asserts nothing
about accuracy.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_recall_fscore_support, roc_auc_score
from sklearn.model_selection import cross_val_predict, train_test_split
from skorch import NeuralNetClassifier
from skorch.dataset import ValidSplit
from torch.utils.data import default_collate

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peers import GCELoss, SCELoss, SoftBootstrapLoss

from noisyskl import MLPModule, NoisyNeuralNetClassifier
from noisyskl.noise import instance_dependent_noise, pair_flip_noise, symmetric_noise

HERE = Path(__file__).resolve().parent
NOISES = {
    "sym0": ("symmetric", 0.0), "sym20": ("symmetric", 0.2), "sym40": ("symmetric", 0.4),
    "sym60": ("symmetric", 0.6), "pair40": ("pair", 0.4), "inst40": ("instance", 0.4),
}


class BloodCellCNN(torch.nn.Module):
    """4 conv + batch-norm blocks (32-64-64-128), as in FINDINGS.md."""

    def __init__(self, n_classes=8):
        super().__init__()
        layers, width = [], 3
        for out in (32, 64, 64, 128):
            layers += [torch.nn.Conv2d(width, out, 3, padding=1), torch.nn.BatchNorm2d(out),
                       torch.nn.ReLU(), torch.nn.MaxPool2d(2)]
            width = out
        layers += [torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                   torch.nn.Linear(128, n_classes)]
        self.net = torch.nn.Sequential(*layers)

    def forward(self, X):
        return self.net(X)


# ----------------------------------------------------------------- datasets
def _split_standardise(X, y, seed, axis):
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, stratify=y, random_state=seed)
    mean, std = Xtr.mean(axis=axis, keepdims=True), Xtr.std(axis=axis, keepdims=True) + 1e-6
    Xtr, Xte = (((part - mean) / std).astype(np.float32) for part in (Xtr, Xte))
    return Xtr, Xte, ytr, yte


def _mlp_data(X, y, seed, hidden, epochs):
    """Tabular data for an MLP with one hidden layer."""
    Xtr, Xte, ytr, yte = _split_standardise(X, y, seed, axis=0)
    settings = dict(module=MLPModule, module__n_features=X.shape[1],
                    module__n_classes=len(np.unique(y)), module__hidden_units=(hidden,))
    return Xtr, ytr, Xte, yte, settings, epochs


def load_dataset(name, seed, data_dir):
    """Return (Xtr, ytr, Xte, yte, module settings, epochs) or None if the file is absent."""
    if name == "digits":
        X, y = load_digits(return_X_y=True)
        return _mlp_data(X / 16.0, y, seed, hidden=128, epochs=60)
    if name == "breast_cancer":
        return _mlp_data(*load_breast_cancer(return_X_y=True), seed, hidden=64, epochs=60)
    if name == "kather2016":
        path = Path(data_dir) / "kather2016_texture_features.npz"
        if not path.exists():
            return None
        with np.load(path) as d:
            X, y = d["X"].astype(np.float64), d["y"]
        return _mlp_data(X, y, seed, hidden=128, epochs=40)
    if name in ("blood_cells", "blood_cells_64px"):
        path = Path(data_dir) / "blood_cells_pbc_64px.npz"
        if not path.exists():
            return None
        with np.load(path) as d:
            x, y = d["x"], d["y"]
        if name == "blood_cells":  # the benchmark's images: 2x2 means, 32 px
            x = x.reshape(-1, 32, 2, 32, 2, 3).mean((2, 4))
        # blood_cells_64px (the file's own resolution, 4x the convolutions'
        # work): for timing per epoch only (--micro)
        x = x.transpose(0, 3, 1, 2) / 255.0
        Xtr, Xte, ytr, yte = _split_standardise(x, y, seed, axis=(0, 2, 3))
        return Xtr, ytr, Xte, yte, dict(module=BloodCellCNN, module__n_classes=8), 30
    raise ValueError(f"unknown dataset {name!r}")


def make_noise(kind, rate, Xtr, ytr, seed):
    if kind == "symmetric":
        return symmetric_noise(ytr, rate, random_state=seed)
    if kind == "pair":
        return pair_flip_noise(ytr, rate, random_state=seed)
    # instance-dependent: flips likelier near a reference model's class boundary
    proba = cross_val_predict(LogisticRegression(max_iter=300), Xtr.reshape(len(Xtr), -1), ytr,
                              cv=5, method="predict_proba")
    return instance_dependent_noise(ytr, proba, rate, random_state=seed)


# ------------------------------------------------------------------ methods
# Every setting is spelled out, so that rows stay valid when a library default
# changes. The ablations vary the single training (rounds=1); the default
# (rounds=2) adds a plain-CE refit without the flagged rows.
DEFAULT = "noisyskl (default, 2 rounds)"
#: the default before its flags were capped by the confident joint (2026-12-01)
UNCAPPED = "noisyskl, 2 rounds, flags not capped"
OURS = {
    DEFAULT: dict(rounds=2, min_flagged_fraction=0.1, average_refit=True,
                  flag_limit="confident_joint"),
    UNCAPPED: dict(rounds=2, min_flagged_fraction=0.1, average_refit=True, flag_limit=None),
    # the single training's rows (and their detection) predate flag_limit
    "noisyskl, 1 round": dict(rounds=1, flag_limit=None),
    "α·β (patent's weights)": dict(rounds=1, weighting="both", flag_limit=None),
    "α only": dict(rounds=1, weighting="density", flag_limit=None),
    "weights, no refinement": dict(rounds=1, refinement=None, flag_limit=None),
    "refinement, no weights": dict(rounds=1, weighting=None, flag_limit=None),
    "printed refinement formula": dict(rounds=1, refinement="printed", flag_limit=None),
}
PEERS = {
    "plain CE": torch.nn.CrossEntropyLoss,
    "bootstrap (soft)": SoftBootstrapLoss,
    "GCE (q=0.7)": GCELoss,
    "SCE (α=0.1, β=1)": SCELoss,
}
ALL_METHODS = list(PEERS) + list(OURS) + ["cleanlab CleanLearning", "oracle (clean labels)"]


def _common(settings, epochs, device, batch_size=64):
    return dict(**settings, max_epochs=epochs, lr=1e-3, optimizer=torch.optim.Adam,
                batch_size=batch_size, train_split=None, iterator_train__shuffle=True,
                verbose=0, device=device)


def run_method(method, Xtr, y_noisy, y_clean, Xte, seed, settings, epochs, device, cv_folds):
    """Train one method; return (test predictions, wall seconds, flags, suspicion scores)."""
    common = _common(settings, epochs, device)
    flags = scores = None
    t0 = time.perf_counter()
    if method in OURS:
        clf = NoisyNeuralNetClassifier(random_state=seed, **common, **OURS[method])
        clf.fit(Xtr, y_noisy)
        report = clf.find_label_issues()
        flags = report["is_label_issue"].to_numpy()
        scores = 1.0 - report["label_quality"].to_numpy()
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            if method == "cleanlab CleanLearning":
                from cleanlab.classification import CleanLearning

                net = NeuralNetClassifier(criterion=torch.nn.CrossEntropyLoss, **common)
                clf = CleanLearning(clf=net, seed=seed, cv_n_folds=cv_folds, verbose=False)
                clf.fit(Xtr, y_noisy)
                issues = clf.get_label_issues()
                flags = issues["is_label_issue"].to_numpy()
                scores = 1.0 - issues["label_quality"].to_numpy()
            else:
                criterion = (torch.nn.CrossEntropyLoss if method == "oracle (clean labels)"
                             else PEERS[method])
                clf = NeuralNetClassifier(criterion=criterion, **common)
                clf.fit(Xtr, y_clean if method == "oracle (clean labels)" else y_noisy)
    wall = time.perf_counter() - t0
    return np.asarray(clf.predict(Xte)), wall, flags, scores


def detection(flags, scores, flipped):
    if flags is None or not flipped.any():
        return dict(det_precision=np.nan, det_recall=np.nan, det_f1=np.nan, det_auroc=np.nan)
    p, r, f, _ = precision_recall_fscore_support(flipped, flags, average="binary",
                                                 zero_division=0)
    return dict(det_precision=p, det_recall=r, det_f1=f, det_auroc=roc_auc_score(flipped, scores))


def run_grid(args):
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    csv = out / "results.csv"
    done = set()
    if csv.exists():
        old = pd.read_csv(csv)
        done = set(zip(old.dataset, old.noise, old.seed, old.method))
    for dataset in args.datasets:
        for seed in args.seeds:
            loaded = load_dataset(dataset, seed, args.data_dir)
            if loaded is None:
                print(f"skipping {dataset}: its file is not in {args.data_dir}", flush=True)
                break
            Xtr, ytr, Xte, yte, settings, epochs = loaded
            epochs = args.epochs or epochs
            for noise in args.noises:
                kind, rate = NOISES[noise]
                y_noisy, flipped = make_noise(kind, rate, Xtr, ytr, seed)
                for method in args.methods:
                    if (dataset, noise, seed, method) in done:
                        continue
                    pred, wall, flags, scores = run_method(
                        method, Xtr, y_noisy, ytr, Xte, seed, settings, epochs, args.device,
                        args.cv_folds)
                    row = dict(dataset=dataset, noise=noise, seed=seed, method=method,
                               accuracy=(pred == yte).mean(),
                               macro_f1=f1_score(yte, pred, average="macro"),
                               wall_s=wall, epochs=epochs, n_train=len(ytr),
                               actual_noise=flipped.mean(),
                               **detection(flags, scores, flipped))
                    pd.DataFrame([row]).to_csv(csv, mode="a", header=not csv.exists(),
                                               index=False)
                    print(f"{dataset:13s} {noise:6s} seed {seed} {method:28s} "
                          f"acc {row['accuracy']:.3f} det_f1 {row['det_f1']:.3f} "
                          f"{wall:6.1f}s", flush=True)


# -------------------------------------------------------------- micro bench
PLAIN_SKORCH = "plain skorch"
#: Micro-benchmark only: one round with the rows fetched one by one and collated,
#: as plain skorch fetches them (a collate_fn of one's own turns the library's
#: whole-batch fetching off), to separate the method's own cost from that saving.
ROW_BY_ROW = "noisyskl, 1 round, rows fetched one by one"
#: The benchmark's setting holds nothing out (train_split=None); skorch's default,
#: and so the estimator's, holds out a stratified 20% and scores it every epoch.
SPLIT = ", 20% validation split"
#: (method, the plain skorch run it is timed against), interleaved per repetition.
MICRO_PAIRS = (
    ("noisyskl, 1 round", PLAIN_SKORCH),
    (ROW_BY_ROW, PLAIN_SKORCH),
    (DEFAULT, PLAIN_SKORCH),
    ("noisyskl, 1 round" + SPLIT, PLAIN_SKORCH + SPLIT),
)


def _micro_net(method, rep, common):
    if method.endswith(SPLIT):
        method = method[: -len(SPLIT)]
        common = dict(common, train_split=ValidSplit(5))  # skorch's default
    if method == PLAIN_SKORCH:
        return NeuralNetClassifier(criterion=torch.nn.CrossEntropyLoss, **common)
    if method == ROW_BY_ROW:
        return NoisyNeuralNetClassifier(random_state=rep, rounds=1, **common,
                                        iterator_train__collate_fn=default_collate)
    # one round (the method's own cost) or the default (both trainings)
    return NoisyNeuralNetClassifier(random_state=rep, **OURS[method], **common)


def timing_parser(description, reps):
    """Arguments shared by the side-by-side timing scripts: ``--dataset``,
    ``--data-dir``, ``--reps``, ``--threads``, ``--device`` and
    ``--batch-size``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--data-dir", default=str(HERE.parent.parent / "shared/data"))
    parser.add_argument("--reps", type=int, default=reps)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=64,
                        help="the benchmark's is 64; the method's cost is per batch")
    return parser


def training_rows(args):
    """Set the thread count and load ``args.dataset``'s training rows and
    module settings, ``(Xtr, ytr, settings)``; exit where the file is missing."""
    torch.set_num_threads(args.threads)
    loaded = load_dataset(args.dataset, 0, args.data_dir)
    if loaded is None:
        sys.exit(f"{args.dataset}: data file not found in {args.data_dir}")
    Xtr, ytr, _, _, settings, _ = loaded
    return Xtr, ytr, settings


def ratio_text(ratios):
    """``median (lower quartile-upper quartile)`` of per-repetition ratios."""
    q1, median, q3 = np.quantile(np.asarray(ratios, dtype=float), [0.25, 0.5, 0.75])
    return f"{median:.3f}  ({q1:.3f}-{q3:.3f})"


def seconds_per_epoch(net):
    """Median epoch duration of a fitted net, skipping each training's first epoch
    (both of ``rounds=2``'s trainings)."""
    durations = list(net.history[1:, "dur"])
    if hasattr(net, "first_round_history_"):
        durations += list(net.first_round_history_[1:, "dur"])
    return float(np.median(durations))


def micro_benchmark(args):
    """Time per epoch, noisyskl vs plain skorch, interleaved in one run."""
    methods = list(dict.fromkeys(m for pair in MICRO_PAIRS for m in pair[::-1]))
    rows = []
    for dataset in args.datasets:
        loaded = load_dataset(dataset, 0, args.data_dir)
        if loaded is None:
            continue
        Xtr, ytr, _, _, settings, _ = loaded
        for rep in range(args.micro_reps):
            for method in methods:
                common = _common(settings, args.micro_epochs, args.device)
                if args.compile:
                    common["compile"] = True  # skorch: torch.compile module and criterion
                net = _micro_net(method, rep, common)
                net.fit(Xtr, ytr)
                rows.append(dict(dataset=dataset, rep=rep, method=method,
                                 s_per_epoch=seconds_per_epoch(net)))
    df = pd.DataFrame(rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    df.to_csv(out / "timing.csv", index=False)
    wide = df.pivot_table(index=["dataset", "rep"], columns="method", values="s_per_epoch")
    lines = ["| data | method | s/epoch | plain skorch s/epoch | ratio, median | ratio, min-max |",
             "| --- | --- | --- | --- | --- | --- |"]
    for dataset, part in wide.groupby(level=0):
        for method, plain in MICRO_PAIRS:
            ratio = part[method] / part[plain]  # per repetition, side by side
            lines.append(f"| {dataset} | {method} | {part[method].median():.4f} | "
                         f"{part[plain].median():.4f} | {ratio.median():.3f} | "
                         f"{ratio.min():.3f}-{ratio.max():.3f} |")
    text = "\n".join(lines)
    (out / "timing.md").write_text(text + "\n")
    print(text)


# ------------------------------------------------------------------- report
def _fmt(mean, std, seeds=None, of=None):
    """``mean ± sd``; with fewer seeds than the table's ``of``, says how many."""
    if np.isnan(mean):
        return "–"
    if seeds == 1 and of is not None and of > 1:
        return f"{mean:.3f} (1 seed)"
    text = f"{mean:.3f} ± {std:.3f}"
    return text if seeds is None or seeds >= of else f"{text} ({seeds} seeds)"


def report(out):
    out = Path(out)
    df = pd.read_csv(out / "results.csv")
    grouped = df.groupby(["dataset", "noise", "method"])
    stats = grouped.agg(acc=("accuracy", "mean"), acc_sd=("accuracy", "std"),
                        f1=("macro_f1", "mean"), f1_sd=("macro_f1", "std"),
                        det_p=("det_precision", "mean"), det_r=("det_recall", "mean"),
                        det_f1=("det_f1", "mean"), det_f1_sd=("det_f1", "std"),
                        det_auc=("det_auroc", "mean"), wall=("wall_s", "mean"),
                        seeds=("seed", "nunique")).reset_index().fillna({"acc_sd": 0.0,
                                                                          "f1_sd": 0.0,
                                                                          "det_f1_sd": 0.0})
    methods = [m for m in ALL_METHODS if m in set(stats.method)]
    lines = []
    for dataset in stats.dataset.unique():
        part = stats[stats.dataset == dataset]
        noises = [n for n in NOISES if n in set(part.noise)]
        seeds = int(part.seeds.max())
        lines += [f"### {dataset}: clean-test accuracy (mean ± sd over {seeds} seeds unless "
                  "a cell says fewer)", "",
                  "| method | " + " | ".join(noises) + " |", "| --- |" + " --- |" * len(noises)]
        for m in methods:
            cells = []
            for n in noises:
                r = part[(part.method == m) & (part.noise == n)]
                cells.append(_fmt(r.acc.iloc[0], r.acc_sd.iloc[0], r.seeds.iloc[0], seeds)
                             if len(r) else "")
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
        gap = [f"| gap closed by {DEFAULT} | "]
        for n in noises:
            def get(m, part=part, n=n):
                return part[(part.method == m) & (part.noise == n)].acc
            ce, ours, oracle = get("plain CE"), get(DEFAULT), get("oracle (clean labels)")
            if len(ce) and len(ours) and len(oracle) and oracle.iloc[0] - ce.iloc[0] > 0.005:
                gap.append(f"{(ours.iloc[0] - ce.iloc[0]) / (oracle.iloc[0] - ce.iloc[0]):.0%} | ")
            else:
                gap.append("– | ")
        lines += ["".join(gap), ""]
        lines += [f"### {dataset}: macro-F1", "", "| method | " + " | ".join(noises) + " |",
                  "| --- |" + " --- |" * len(noises)]
        for m in methods:
            cells = []
            for n in noises:
                r = part[(part.method == m) & (part.noise == n)]
                cells.append(_fmt(r.f1.iloc[0], r.f1_sd.iloc[0], r.seeds.iloc[0], seeds)
                             if len(r) else "")
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
        lines.append("")
        det = part[part.det_f1.notna()]
        if len(det):
            lines += [f"### {dataset}: detection of the flipped training rows", "",
                      "| noise | method | precision | recall | F1 | AUROC | wall s |",
                      "| --- | --- | --- | --- | --- | --- | --- |"]
            for n in noises:
                for m in methods:
                    r = det[(det.method == m) & (det.noise == n)]
                    if len(r):
                        r = r.iloc[0]
                        lines.append(f"| {n} | {m} | {r.det_p:.3f} | {r.det_r:.3f} | "
                                     f"{_fmt(r.det_f1, r.det_f1_sd, r.seeds, seeds)} | "
                                     f"{r.det_auc:.3f} | "
                                     f"{r.wall:.1f} |")
            lines.append("")
    # mean rank over the (dataset, noise) cells that every method ran in, oracle excluded
    ranked = stats[stats.method != "oracle (clean labels)"].copy()
    n_methods = ranked.method.nunique()
    complete = ranked.groupby(["dataset", "noise"]).method.transform("nunique") == n_methods
    skipped = ranked[~complete].groupby(["dataset", "noise"]).ngroups
    ranked = ranked[complete]
    ranked["rank"] = ranked.groupby(["dataset", "noise"]).acc.rank(ascending=False)
    cells = ranked.groupby(["dataset", "noise"]).ngroups
    mean_rank = ranked.groupby("method")["rank"].agg(["mean", "count"]).sort_values("mean")
    lines += [f"### Mean rank by clean-test accuracy over the {cells} (dataset, noise) cells "
              f"that every method ran in (1 = best; oracle excluded; {skipped} partial cells "
              "left out)", "", "| method | mean rank | cells |", "| --- | --- | --- |"]
    lines += [f"| {m} | {r['mean']:.2f} | {int(r['count'])} |" for m, r in mean_rank.iterrows()]
    lines += ["", "### Wall time per training run (mean seconds)", "",
              "| dataset | " + " | ".join(methods) + " |", "| --- |" + " --- |" * len(methods)]
    for dataset in stats.dataset.unique():
        part = stats[stats.dataset == dataset].groupby("method").wall.mean()
        lines.append(f"| {dataset} | " + " | ".join(
            f"{part[m]:.1f}" if m in part else "" for m in methods) + " |")
    (out / "tables.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    _plots(stats, methods, out)


def _plots(stats, methods, out):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plots (pip install 'noisyskl[plots]')")
        return
    sym = [n for n in ("sym0", "sym20", "sym40", "sym60") if n in set(stats.noise)]
    for dataset in stats.dataset.unique():
        part = stats[(stats.dataset == dataset) & stats.noise.isin(sym)]
        if part.noise.nunique() < 2:
            continue
        fig, ax = plt.subplots(figsize=(8, 5))
        colours = plt.get_cmap("tab20")
        for i, m in enumerate(methods):
            r = part[part.method == m].set_index("noise").reindex(sym)
            style = "-o" if m in OURS else ("--" if m.startswith("oracle") else "-s")
            ax.errorbar([NOISES[n][1] for n in sym], r.acc, yerr=r.acc_sd, fmt=style,
                        color=colours(i), label=m, capsize=2,
                        linewidth=2.5 if m == DEFAULT else 1)
        ax.set_xlabel("symmetric noise rate")
        ax.set_ylabel("clean-test accuracy")
        ax.set_title(f"{dataset}: accuracy vs noise")
        ax.legend(fontsize=7, ncol=2)
        fig.tight_layout()
        fig.savefig(out / f"accuracy_vs_noise_{dataset}.png", dpi=100)
        plt.close(fig)
    det = stats[stats.det_f1.notna() & stats.method.isin([DEFAULT, "cleanlab CleanLearning"])]
    if len(det):
        fig, ax = plt.subplots(figsize=(6, 5))
        for m, marker in ((DEFAULT, "o"), ("cleanlab CleanLearning", "s")):
            r = det[det.method == m]
            ax.scatter(r.det_r, r.det_p, marker=marker, label=m)
            for _, row in r.iterrows():
                ax.annotate(f"{row.dataset[:6]} {row.noise}", (row.det_r, row.det_p), fontsize=6)
        ax.set_xlabel("recall of flipped rows")
        ax.set_ylabel("precision of flagged rows")
        ax.set_xlim(0, 1.02)
        ax.set_ylim(0, 1.02)
        ax.set_title("Label-issue detection: precision vs recall")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "detection_precision_recall.png", dpi=100)
        plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="CI smoke run on digits")
    parser.add_argument("--micro", action="store_true", help="time per epoch vs plain skorch")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--data-dir", default=os.environ.get(
        "NOISYSKL_DATA", str(HERE.parent.parent / "shared/data")))
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument("--datasets", nargs="+",
                        default=["digits", "breast_cancer", "kather2016", "blood_cells"])
    parser.add_argument("--noises", nargs="+", default=list(NOISES), choices=list(NOISES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=ALL_METHODS, choices=ALL_METHODS)
    parser.add_argument("--epochs", type=int, default=None, help="override per-dataset epochs")
    parser.add_argument("--cv-folds", type=int, default=5, help="cleanlab's K")
    parser.add_argument("--micro-reps", type=int, default=5)
    parser.add_argument("--micro-epochs", type=int, default=6)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--compile", action="store_true",
                        help="--micro: every net (plain skorch too) with skorch's compile=True")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.quick:
        import tempfile

        args.datasets, args.noises, args.seeds = ["digits"], ["sym40", "inst40"], [0]
        # micro: 6 epochs, past the warm-up (5), so refinement runs in the smoke test too
        args.epochs, args.cv_folds, args.micro_reps, args.micro_epochs = 8, 2, 2, 6
        if args.out == str(HERE / "results"):
            args.out = tempfile.mkdtemp(prefix="noisyskl-bench-")
        run_grid(args)
        report(args.out)
        micro_benchmark(args)
        print(f"quick run OK; results in {args.out}")
        return
    if args.micro:
        micro_benchmark(args)
        return
    if not args.report_only:
        run_grid(args)
    report(args.out)


if __name__ == "__main__":
    main()
