"""Training from image files: the blood-cell JPEGs through a torch Dataset
that decodes them with workers (``../shared/data/blood_cells_pbc_files``:
11,492 files, 128 px, the collection's own class balance; see its README).

Three measurements, each side by side with plain skorch on the same Dataset,
module, optimiser and workers:

``--throughput``
    Training images per second of noisyskl and of plain skorch, epochs
    interleaved (ours, theirs, ours, ...; the first epoch of each fit, which
    starts the workers, left out), and their ratio (goal >= 0.95).
``--memory``
    Peak resident memory of a fit on the first 2,000 files (in a fixed
    random order) and on all of them, each fit in a fresh process, workers
    in the main process (``num_workers=0``) so that one process holds
    everything; noisyskl's extra over plain skorch at each size, against
    the per-row state it keeps.
``--accuracy``
    A stratified 70/30 split of the files; 40% symmetric or pair-flip noise
    on the training labels; training with augmentation (random flips and
    quarter turns), test files without. Plain CE, noisyskl's default (holding
    out a fifth of the files, as the library does), the default trained on
    every file as the other rows are (``train_split=None``: the choice holds
    out a fifth of its own, then the kept kind trains on all), the default to 2026-12-05
    (``refit_rows="unflagged"``, every file trained), the latter with its
    refinement read from an extra pass without augmentation (the choice the
    docs discuss), cleanlab's ``CleanLearning``
    over the same skorch net (``SliceDataset``), and the oracle (clean
    labels); with ``--methods``, the noisy-label field's peers at their
    published settings and ELR and DivideMix with the knob chosen on the
    blood-cell tensors (``benchmarks.peers``; DivideMix reads the files once
    into tensors and draws its own crops and flips), and the defaults' two rows
    as the choice at the candidates' end made them (``refit_look=None``).
    Each default row records the refit it kept and the epoch where its look
    stopped the refit on every row. Test accuracy, macro F1,
    recall of the two rarest classes
    (lymphocyte, basophil) and detection F1 of the flagged rows; results
    appended to ``benchmarks/results/files_accuracy.csv``.

Images are decoded at 1/4 scale (32 px) by the JPEG decoder itself
(``Image.draft``), the resolution of the main benchmark, so that a CPU can
train them; ``--size 64`` or ``128`` decodes larger.

    python -m benchmarks files --throughput
    python -m benchmarks files --memory
    python -m benchmarks files --accuracy --noises sym40 pair40 --seeds 0 1 2
    python -m benchmarks files --accuracy --report     # the table from the CSV
"""

import argparse
import csv
import json
import re
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from benchmarks.accuracy import TUNED, TUNED_VALUES
from benchmarks.common import AT_END, DATA_DIR, PREVIOUS, RESULTS, BloodCellCNN, run_module
from benchmarks.peers import KNOBS, make_peer

DEFAULT_DIR = DATA_DIR / "blood_cells_pbc_files"
CSV = RESULTS / "files_accuracy.csv"
RAREST = ("lymphocyte", "basophil")
EVAL_PASS = "noisyskl, refined from a pass without augmentation"
#: the noisy-label field's peers (issue #29) at their published settings, as
#: the main benchmark names them: row -> peer of ``peers.KNOBS``
FIELD = {"label smoothing (0.1)": "label smoothing", "ELR (β=0.7, λ=3)": "ELR",
         "Co-teaching (τ=0.2 guessed)": "Co-teaching", "DivideMix (λ_u=25)": "DivideMix"}
#: the peers whose knob chosen on the blood-cell tensors' validation splits
#: (select_peer_knobs.md) is not the published one: row -> (peer, value); label
#: smoothing's and Co-teaching's chosen values are the published ones
FIELD_TUNED = {row: (peer, TUNED_VALUES["blood_cells"][peer]) for row, peer in TUNED.items()
               if TUNED_VALUES["blood_cells"][peer] != KNOBS[peer][1]}
PEER_OF = {**FIELD, **{row: peer for row, (peer, _) in FIELD_TUNED.items()}}
#: the default trained as the other rows are, on every file (train_split=None:
#: the choice holds out a fifth of its own, then the kept kind trains on all)
EVERY_FILE = "noisyskl (default), every file trained"
#: the two rows above as the default to 2026-12-07 (evening) made them: the
#: refit chosen at both candidates' end (refit_look=None)
AT_END_EVERY_FILE = f"{AT_END}, every file trained"
DEFAULTS = {"noisyskl (default)": None, EVERY_FILE: None, AT_END: {"refit_look": None},
            AT_END_EVERY_FILE: {"refit_look": None}}
METHODS = ["plain CE", *DEFAULTS, PREVIOUS, EVAL_PASS,
           "cleanlab CleanLearning", "oracle (clean labels)", *PEER_OF]


# ----------------------------------------------------------------- the data
class BloodCellFiles(Dataset):
    """The files listed in ``labels.csv`` (rows ``rows`` of it) as ``(image,
    label index)``: decoded with Pillow at ``size`` px, scaled to [-0.5, 0.5],
    then ``transform`` (a tensor function, e.g. ``augment``). ``labels``
    replaces the folder's labels (noisy ones); ``samples`` and ``targets``
    are torchvision's ImageFolder's, so the report names each file."""

    def __init__(self, root, rows=None, labels=None, size=32, transform=None):
        root = Path(root)
        with open(root / "labels.csv") as f:
            table = list(csv.DictReader(f))
        self.classes = sorted({r["label"] for r in table})
        index = {c: i for i, c in enumerate(self.classes)}
        rows = range(len(table)) if rows is None else rows
        self.samples = [(str(root / table[i]["path"]), index[table[i]["label"]]) for i in rows]
        self.targets = ([c for _, c in self.samples] if labels is None
                        else [int(v) for v in labels])
        self.size, self.transform = size, transform

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        from PIL import Image

        with Image.open(self.samples[i][0]) as img:
            img.draft("RGB", (self.size, self.size))  # the decoder's own downscaling
            img = img.convert("RGB")
            if img.size != (self.size, self.size):
                img = img.resize((self.size, self.size))
            x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0 - 0.5)
        x = x.permute(2, 0, 1).contiguous()
        return (self.transform(x) if self.transform else x), self.targets[i]


def augment(x):
    """Random horizontal and vertical flips and quarter turns (a cell has no
    up or left), from torch's RNG (seeded per worker by the DataLoader)."""
    k, flip = torch.randint(0, 4, ()).item(), torch.rand(()) < 0.5
    x = torch.rot90(x, k, dims=(1, 2))
    return x.flip(2) if flip else x


def as_tensors(dataset, workers=0):
    """The whole ``dataset`` read once into ``(X, y)`` tensors (DivideMix's
    loop trains on tensors and draws its own augmented views)."""
    from torch.utils.data import DataLoader

    parts = list(DataLoader(dataset, batch_size=256, num_workers=workers))
    return torch.cat([x for x, _ in parts]), torch.cat([y for _, y in parts])


def all_labels(root):
    return np.array(BloodCellFiles(root).targets)


def common(args, epochs=None):
    return dict(module=BloodCellCNN, module__n_classes=8, max_epochs=epochs or args.epochs,
                lr=1e-3, optimizer=torch.optim.Adam, batch_size=64, train_split=None,
                iterator_train__shuffle=True, iterator_train__num_workers=args.workers,
                iterator_valid__num_workers=args.workers, verbose=0, device=args.device)


# -------------------------------------------------------------- throughput
class EpochTimer:
    def __init__(self):
        from skorch.callbacks import Callback

        timer = self

        class _Timer(Callback):
            def on_epoch_begin(self, net, **kwargs):
                timer.start = time.perf_counter()

            def on_epoch_end(self, net, **kwargs):
                timer.seconds.append(time.perf_counter() - timer.start)

        self.callback, self.seconds = _Timer(), []


def throughput(args):
    from skorch import NeuralNetClassifier

    from noisyskl import NoisyNeuralNetClassifier

    torch.set_num_threads(args.threads)
    rows = np.random.default_rng(0).permutation(len(all_labels(args.data_dir)))[:args.rows]
    ds = BloodCellFiles(args.data_dir, rows, size=args.size, transform=augment)
    y = np.array(ds.targets)
    rates = {"plain skorch": [], "noisyskl": []}
    for rep in range(args.repeats):  # interleaved fits of 1 + --epochs epochs each
        for kind in rates:
            timer = EpochTimer()
            settings = common(args, epochs=1 + args.epochs)
            settings["callbacks"] = [timer.callback]
            if kind == "noisyskl":
                # rounds=1 and warm_up=1: every timed epoch refines and flags,
                # the method's whole per-epoch work
                net = NoisyNeuralNetClassifier(rounds=1, warm_up=1, random_state=rep, **settings)
                net.fit(ds)
            else:
                torch.manual_seed(rep)
                net = NeuralNetClassifier(criterion=torch.nn.CrossEntropyLoss, **settings)
                net.fit(ds, y)
            rates[kind] += [len(ds) / s for s in timer.seconds[1:]]
            print(f"  {kind:<13} repeat {rep}: "
                  + ", ".join(f"{len(ds) / s:.0f}" for s in timer.seconds[1:]) + " images/s",
                  flush=True)
    ours, theirs = np.median(rates["noisyskl"]), np.median(rates["plain skorch"])
    # what refining from an extra pass without augmentation would add per epoch:
    # predict_proba over the same files, read without augmentation
    plain = BloodCellFiles(args.data_dir, rows, size=args.size)
    passes = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        net.predict_proba(plain)
        passes.append(time.perf_counter() - t0)
    extra = np.median(passes) * ours / len(ds)
    print(f"\n{len(ds)} files at {args.size} px, {args.workers} workers, {args.threads} "
          f"thread(s), {args.device}; median training images/s over {args.repeats} x "
          f"{args.epochs} epochs:\n  plain skorch {theirs:.0f}, noisyskl {ours:.0f}, "
          f"ratio {ours / theirs:.3f} (goal >= 0.95)\n  a pass over the same files without "
          f"augmentation (predict_proba): {np.median(passes):.1f} s, {extra:.2f} of a "
          "training epoch")


# ------------------------------------------------------------------ memory
def _peak_kib():
    text = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+)", text).group(1))


def _memory_child(args):
    from skorch import NeuralNetClassifier

    from noisyskl import NoisyNeuralNetClassifier

    torch.set_num_threads(args.threads)
    rows = np.random.default_rng(0).permutation(len(all_labels(args.data_dir)))[:args.rows]
    ds = BloodCellFiles(args.data_dir, rows, size=args.size, transform=augment)
    y = np.array(ds.targets)
    settings = common(args, epochs=args.epochs)
    settings.update(iterator_train__num_workers=0, iterator_valid__num_workers=0)
    if args.kind == "noisyskl":
        net = NoisyNeuralNetClassifier(warm_up=1, random_state=0, **settings)
    else:
        net = NeuralNetClassifier(criterion=torch.nn.CrossEntropyLoss, **settings)
    # (both nets initialise inside fit: torch's first use of its kernels is
    # part of either fit's rise)
    import pandas  # noqa: F401 (imported by the rounds=2 report during fit: ~60 MiB of code)
    Path("/proc/self/clear_refs").write_text("5")  # reset the high-water mark
    before = _peak_kib()
    net.fit(ds) if args.kind == "noisyskl" else net.fit(ds, y)
    state = 0
    if args.kind == "noisyskl":
        n = len(ds)
        for part in (net.refinement_state_, net.criterion_.density):
            state += sum(b.numel() * b.element_size() for b in part.buffers()
                         if b.dim() >= 1 and b.shape[0] == n)
    print(json.dumps({"rise_mb": (_peak_kib() - before) / 1024, "state_mb": state / 2**20}))


def memory(args):
    print(f"peak resident memory rise during fit (MiB; median of {args.repeats} fresh "
          f"processes each, interleaved), {args.epochs} epochs, {args.size} px, one process")
    print(f"{'files':>7} {'plain skorch':>13} {'noisyskl':>9} {'extra':>7} {'of it, state':>13}"
          "   (each run: plain, noisyskl)")
    n_all = len(all_labels(args.data_dir))
    for n in (2000, n_all):
        out = {"plain skorch": [], "noisyskl": []}
        for _ in range(args.repeats):
            for kind in out:
                line = run_module("files", "--memory-child", "--kind", kind, "--rows", n,
                                  "--epochs", args.epochs, "--size", args.size,
                                  "--data-dir", args.data_dir.resolve(),
                                  "--threads", args.threads)
                out[kind].append(json.loads(line.strip().splitlines()[-1]))
        rise = {k: float(np.median([r["rise_mb"] for r in v])) for k, v in out.items()}
        runs = ", ".join(f"{a['rise_mb']:.0f}/{b['rise_mb']:.0f}"
                         for a, b in zip(out["plain skorch"], out["noisyskl"]))
        print(f"{n:>7} {rise['plain skorch']:>13.1f} {rise['noisyskl']:>9.1f} "
              f"{rise['noisyskl'] - rise['plain skorch']:>7.1f} "
              f"{out['noisyskl'][0]['state_mb']:>13.2f}   ({runs})", flush=True)


# ---------------------------------------------------------------- accuracy
def eval_pass_class():
    """The default estimator, but refining from an extra pass over the
    training files without augmentation at each refinement (instead of the
    training pass's predictions on augmented views)."""
    from noisyskl import NoisyNeuralNetClassifier

    class RefineOnEvalPass(NoisyNeuralNetClassifier):
        def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
            if self.refinement is not None and len(self.history) >= max(self.warm_up, 1):
                with torch.no_grad():
                    proba = self.predict_proba(self.eval_view_)
                self.refinement_state_.proba[:] = torch.as_tensor(proba)
            super().on_epoch_end(net, dataset_train=dataset_train,
                                 dataset_valid=dataset_valid, **kwargs)

    return RefineOnEvalPass


def accuracy(args):
    import pandas as pd
    from cleanlab.classification import CleanLearning
    from sklearn.metrics import f1_score, precision_recall_fscore_support, recall_score
    from sklearn.model_selection import train_test_split
    from skorch import NeuralNetClassifier
    from skorch.helper import SliceDataset

    from noisyskl import NoisyNeuralNetClassifier, StratifiedHoldout
    from noisyskl.noise import pair_flip_noise, symmetric_noise

    torch.set_num_threads(args.threads)
    y_all = all_labels(args.data_dir)
    classes = BloodCellFiles(args.data_dir).classes
    rare = [classes.index(c) for c in RAREST]
    done = set()
    csv_path = args.out or CSV
    if csv_path.exists():
        old = pd.read_csv(csv_path)
        done = set(zip(old.noise, old.seed, old.method))
    files = np.arange(len(y_all))
    if args.rows:  # (a smoke run: the first --rows files of a fixed random order)
        files = np.sort(np.random.default_rng(0).permutation(len(y_all))[:args.rows])
    for seed in args.seeds:
        train_rows, test_rows = train_test_split(files, test_size=0.3, stratify=y_all[files],
                                                 random_state=seed)
        y_clean = y_all[train_rows]
        test = BloodCellFiles(args.data_dir, test_rows, size=args.size)
        y_test = np.array(test.targets)
        for noise in args.noises:
            kind, rate = noise[:-2], int(noise[-2:]) / 100
            make = symmetric_noise if kind == "sym" else pair_flip_noise
            y_noisy, flipped = make(y_clean, rate, random_state=seed)
            train = BloodCellFiles(args.data_dir, train_rows, y_noisy, args.size, augment)
            for method in args.methods:
                if (noise, seed, method) in done or (
                        method == "oracle (clean labels)" and any(
                            (other, seed, method) in done for other in args.noises)):
                    continue  # (the oracle is the same run whatever the noise)
                t0, flags, choice = time.perf_counter(), None, {}
                settings = common(args)
                if method in (*DEFAULTS, PREVIOUS, EVAL_PASS):
                    cls = (eval_pass_class() if method == EVAL_PASS
                           else NoisyNeuralNetClassifier)
                    if method in ("noisyskl (default)", AT_END):  # as a user gets it: a fifth
                        settings["train_split"] = StratifiedHoldout(0.2)  # held out
                    settings.update(DEFAULTS.get(method) or {})
                    if method in (PREVIOUS, EVAL_PASS):  # (the default to 2026-12-05)
                        settings["refit_rows"] = "unflagged"
                    clf = cls(random_state=seed, **settings)
                    clf.eval_view_ = BloodCellFiles(args.data_dir, train_rows, y_noisy,
                                                    args.size)
                    clf.fit(train)
                    flags = clf.find_label_issues().is_label_issue.to_numpy()
                    choice = clf.refit_choice_ or {}
                elif method in PEER_OF:
                    peer = PEER_OF[method]
                    value = FIELD_TUNED[method][1] if method in FIELD_TUNED else KNOBS[peer][1]
                    with torch.random.fork_rng(devices=[]):
                        torch.manual_seed(seed)
                        clf = make_peer(peer, value, settings, settings, seed,
                                        args.device)
                        if peer == "DivideMix":  # (tensors, and its own crops and flips)
                            clf.fit(*as_tensors(BloodCellFiles(args.data_dir, train_rows,
                                                               y_noisy, args.size),
                                                args.workers))
                        else:
                            clf.fit(train, y_noisy)
                else:
                    with torch.random.fork_rng(devices=[]):
                        torch.manual_seed(seed)
                        net = NeuralNetClassifier(criterion=torch.nn.CrossEntropyLoss, **settings)
                        if method == "cleanlab CleanLearning":
                            clf = CleanLearning(clf=net, seed=seed, cv_n_folds=args.cv_folds,
                                                verbose=False)
                            clf.fit(SliceDataset(train), y_noisy)
                            flags = clf.get_label_issues()["is_label_issue"].to_numpy()
                        elif method == "oracle (clean labels)":
                            net.fit(BloodCellFiles(args.data_dir, train_rows, None, args.size,
                                                   augment), y_clean)
                            clf = net
                        else:
                            clf = net.fit(train, y_noisy)
                if method.startswith("cleanlab"):
                    pred = np.asarray(clf.predict(SliceDataset(test)))
                elif PEER_OF.get(method) == "DivideMix":  # (trained on tensors)
                    pred = np.asarray(clf.predict(as_tensors(test, args.workers)[0]))
                else:
                    pred = np.asarray(clf.predict(test))
                row = dict(noise=noise, seed=seed, method=method, n_train=len(train_rows),
                           accuracy=(pred == y_test).mean(),
                           macro_f1=f1_score(y_test, pred, average="macro"),
                           **{f"recall_{classes[c]}": recall_score(y_test == c, pred == c)
                              for c in rare},
                           det_f1=(np.nan if flags is None else precision_recall_fscore_support(
                               flipped, flags, average="binary", zero_division=0)[2]),
                           flagged=np.nan if flags is None else int(flags.sum()),
                           wall_s=time.perf_counter() - t0, epochs=args.epochs,
                           size=args.size, workers=args.workers, threads=args.threads,
                           # the refit a choosing default kept, and where its look
                           # stopped the refit on every row (empty for other rows)
                           refit_kept=choice.get("refit_rows", ""),
                           every_stopped_at=("" if "look_epoch" not in choice
                                             or "score_every" in choice
                                             else choice["look_epoch"]))
                print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v)
                                  for k, v in row.items()}), flush=True)
                done.add((noise, seed, method))
                append_row(csv_path, row)
    report(csv_path)


def append_row(csv_path, row):
    """``row`` appended to the CSV ``csv_path``; where it brings columns the
    file lacks (rows recorded before them), the file is written again with
    them, empty in the older rows."""
    import pandas as pd

    new = pd.DataFrame([row])
    if csv_path.exists():
        old = pd.read_csv(csv_path, keep_default_na=False, dtype=str)
        if set(new.columns) - set(old.columns):
            pd.concat([old, new.astype(str)]).to_csv(csv_path, index=False)
            return
        new = new.reindex(columns=old.columns)
    csv_path.parent.mkdir(exist_ok=True)
    new.to_csv(csv_path, mode="a", header=not csv_path.exists(), index=False)


def report(csv_path=CSV):
    """The table of docs/files.md from the CSV: means over the seeds (accuracy
    with its standard deviation across them)."""
    import pandas as pd

    if not csv_path.exists():
        print(f"no results in {csv_path}")
        return
    d = pd.read_csv(csv_path)
    # the oracle trains on the clean labels: the same run whatever the noise
    oracle = d.method == "oracle (clean labels)"
    d = pd.concat([d[~oracle], d[oracle].drop_duplicates("seed").assign(noise="any")])
    rare = [f"recall_{c}" for c in RAREST]
    print("| noise | method | seeds | test accuracy | macro F1 | " +
          " | ".join(f"{c} recall" for c in RAREST) + " | detection F1 | flagged |")
    print("| --- | --- | --- | --- | --- | " + " | ".join("---" for _ in RAREST) + " | --- | --- |")
    for (noise, method), g in d.groupby(["noise", "method"], sort=False):
        sd = f" ± {g.accuracy.std():.3f}" if len(g) > 1 else ""
        det = "" if g.det_f1.isna().all() else f"{g.det_f1.mean():.3f}"
        flagged = "" if g.flagged.isna().all() else f"{g.flagged.mean():.0f}"
        print(f"| {noise} | {method} | {len(g)} | {g.accuracy.mean():.3f}{sd} | "
              f"{g.macro_f1.mean():.3f} | " + " | ".join(f"{g[c].mean():.3f}" for c in rare)
              + f" | {det} | {flagged} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DIR)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--throughput", action="store_true")
    mode.add_argument("--memory", action="store_true")
    mode.add_argument("--accuracy", action="store_true")
    mode.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--report", action="store_true", help="with --accuracy: table only")
    parser.add_argument("--out", type=Path, default=None, help="CSV of --accuracy's rows")
    parser.add_argument("--kind", default="noisyskl", help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, default=None, help="files used (default: all)")
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--cv-folds", type=int, default=3)
    parser.add_argument("--noises", nargs="+", default=["sym40", "pair40"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", choices=METHODS,
                        default=[m for m in METHODS if m not in (*PEER_OF, AT_END,
                                                                 AT_END_EVERY_FILE)],
                        help="the field's peers (the last six) and the choice at the "
                             "candidates' end run only when named")
    args = parser.parse_args(argv)
    if not (args.data_dir / "labels.csv").exists():
        print(f"skipping: no labels.csv in {args.data_dir} (pass --data-dir)")
        return
    if args.throughput:
        args.epochs = args.epochs or 2
        throughput(args)
    elif args.memory:
        args.epochs = args.epochs or 2
        memory(args)
    elif args.memory_child:
        _memory_child(args)
    elif args.report:
        report(args.out or CSV)
    else:
        args.epochs = args.epochs or 20
        accuracy(args)


if __name__ == "__main__":
    main()
