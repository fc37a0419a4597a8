"""The accuracy benchmark's tables and plots, from its ``results.csv``.

``tables.md`` (clean-test accuracy, macro-F1, detection, mean rank, wall
time per data set and, from ``recalls.csv``, classes that lose recall
against plain CE) is included as it is by docs/benchmarks.md; the plots go
next to it. Run by ``python -m benchmarks accuracy`` after the grid, or alone:

    python -m benchmarks accuracy --report-only
"""

from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import DEFAULT, NOISES, OURS, RESEEDED


def _fmt(mean, std, seeds=None, of=None):
    """``mean ± sd``; with fewer seeds than the table's ``of``, says how many."""
    if np.isnan(mean):
        return "–"
    if seeds == 1 and of is not None and of > 1:
        return f"{mean:.3f} (1 seed)"
    text = f"{mean:.3f} ± {std:.3f}"
    return text if seeds is None or seeds >= of else f"{text} ({seeds} seeds)"


def _metric_rows(part, methods, noises, metric, seeds):
    """One table row per method: ``metric`` (mean ± its ``_sd``) per noise cell."""
    rows = []
    for m in methods:
        cells = []
        for n in noises:
            r = part[(part.method == m) & (part.noise == n)]
            cells.append(_fmt(r[metric].iloc[0], r[metric + "_sd"].iloc[0], r.seeds.iloc[0],
                              seeds) if len(r) else "")
        rows.append(f"| {m} | " + " | ".join(cells) + " |")
    return rows


def report(out, all_methods):
    """Write ``<out>/tables.md`` and the plots from ``<out>/results.csv``; the
    methods appear in the order of ``all_methods``."""
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
    methods = [m for m in all_methods if m in set(stats.method)]
    lines = []
    for dataset in stats.dataset.unique():
        part = stats[stats.dataset == dataset]
        noises = [n for n in NOISES if n in set(part.noise)]
        seeds = int(part.seeds.max())
        lines += [f"### {dataset}: clean-test accuracy (mean ± sd over {seeds} seeds unless "
                  "a cell says fewer)", "",
                  "| method | " + " | ".join(noises) + " |", "| --- |" + " --- |" * len(noises)]
        lines += _metric_rows(part, methods, noises, "acc", seeds)
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
        lines += _metric_rows(part, methods, noises, "f1", seeds)
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
    lines += _mean_rank(stats)
    lines += ["", "### Wall time per training run (mean seconds)", "",
              "| dataset | " + " | ".join(methods) + " |", "| --- |" + " --- |" * len(methods)]
    for dataset in stats.dataset.unique():
        part = stats[stats.dataset == dataset].groupby("method").wall.mean()
        lines.append(f"| {dataset} | " + " | ".join(
            f"{part[m]:.1f}" if m in part else "" for m in methods) + " |")
    if (out / "recalls.csv").exists():
        recalls = pd.read_csv(out / "recalls.csv")
        lines += ["", *class_losses(recalls, methods), "",
                  *class_losses_by_cell(recalls, methods)]
    (out / "tables.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    _plots(stats, methods, out)


def _mean_rank(stats):
    """Markdown lines: the mean rank by clean-test accuracy (oracle excluded)
    over the (dataset, noise) cells that every method ran in; then, where
    some methods ran in fewer cells, over every cell among the methods that
    ran in all of them."""
    # (the oracle, and plain CE reseeded, the per-class check's noise floor: not methods)
    ranked = stats[~stats.method.isin(["oracle (clean labels)", RESEEDED])].copy()
    cells_all = ranked.groupby(["dataset", "noise"]).ngroups
    lines = []
    n_methods = ranked.method.nunique()
    complete = ranked.groupby(["dataset", "noise"]).method.transform("nunique") == n_methods
    skipped = ranked[~complete].groupby(["dataset", "noise"]).ngroups
    lines += _rank_table(ranked[complete], f"that every method ran in (1 = best; oracle "
                         f"excluded; {skipped} partial cells left out)")
    everywhere = ranked.groupby("method").noise.transform("size") == cells_all
    if skipped and not everywhere.all():
        left = sorted(set(ranked.method[~everywhere]))
        lines += ["", *_rank_table(ranked[everywhere], f"among the methods that ran in all "
                                   f"of them (1 = best; oracle excluded; left out: "
                                   f"{', '.join(left)})")]
    return lines


def _rank_table(ranked, said):
    ranked = ranked.copy()
    ranked["rank"] = ranked.groupby(["dataset", "noise"]).acc.rank(ascending=False)
    cells = ranked.groupby(["dataset", "noise"]).ngroups
    mean_rank = ranked.groupby("method")["rank"].agg(["mean", "count"]).sort_values("mean")
    return ([f"### Mean rank by clean-test accuracy over the {cells} (dataset, noise) cells "
             + said, "", "| method | mean rank | cells |", "| --- | --- | --- |"]
            + [f"| {m} | {r['mean']:.2f} | {int(r['count'])} |"
               for m, r in mean_rank.iterrows()])


#: A class counts as erased where its test recall is below plain CE's (same
#: cell and seed) by more than this (issue #29's goal).
RECALL_MARGIN = 0.05


def _beside_plain_ce(recalls):
    """Each method's per-class recall rows beside plain CE's (``recall_ce``)
    of the same data set, noise, seed and class."""
    ce = recalls[recalls.method == "plain CE"].drop(columns="method")
    return recalls[recalls.method != "plain CE"].merge(
        ce, on=["dataset", "noise", "seed", "label"], suffixes=("", "_ce"))


def _loss_table(worst, methods, heading):
    """Markdown lines: ``heading``, then per method and data set how many of
    ``worst``'s rows (each a largest drop, ``drop``) exceed ``RECALL_MARGIN``,
    and the largest."""
    datasets = list(worst.dataset.unique())
    lines = [heading, "", "| method | " + " | ".join(datasets) + " |",
             "| --- |" + " --- |" * len(datasets)]
    for m in [m for m in methods if m in set(worst.method)]:
        cells = []
        for d in datasets:
            w = worst[(worst.method == m) & (worst.dataset == d)]["drop"]
            cells.append(f"{int((w > RECALL_MARGIN).sum())} of {len(w)} ({w.max():+.2f})"
                         if len(w) else "")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return lines


def class_losses(recalls, methods):
    """Markdown lines: per method and data set, in how many runs (cell and
    seed) some class's test recall is below plain CE's by more than
    ``RECALL_MARGIN``, and the largest such drop."""
    both = _beside_plain_ce(recalls)
    both["drop"] = both.recall_ce - both.recall
    worst = both.groupby(["method", "dataset", "noise", "seed"])["drop"].max().reset_index()
    return _loss_table(worst, methods,
                       f"### Classes erased: runs where a class's test recall is more than "
                       f"{RECALL_MARGIN:.2f} below plain CE's (same cell and seed), of the runs "
                       "recorded; in brackets the largest drop")


def class_losses_by_cell(recalls, methods):
    """Markdown lines: per method and data set, in how many cells (data set
    and noise) some class's test recall, averaged over the seeds both
    ``plain CE`` and the method ran, is below plain CE's by more than
    ``RECALL_MARGIN``, and the largest such drop (the goal read per cell: the
    seeds' mean is less noisy than one run's recall)."""
    both = _beside_plain_ce(recalls)
    mean = both.groupby(["method", "dataset", "noise", "label"])[["recall", "recall_ce"]].mean()
    mean["drop"] = mean.recall_ce - mean.recall
    worst = mean.groupby(["method", "dataset", "noise"])["drop"].max().reset_index()
    return _loss_table(worst, methods,
                       f"### Classes erased, per cell: cells where a class's test recall, "
                       f"averaged over the seeds, is more than {RECALL_MARGIN:.2f} below plain "
                       "CE's (the same seeds); in brackets the largest drop")


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
