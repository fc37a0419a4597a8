"""Choose the label-issue rule on digits, breast cancer and Kather 2016 (blood cells held out).

Trains the single training (rounds=1) once per data set, noise and seed, and
scores candidate rules for flagging the *training* rows against the rows we
flipped (the test split is not used): the last epoch's refined label alone
("final"), flagged in at least a fraction of the refinements ("vote<f>"), the
argmax of the averaged refined target ("meanT"), and the averaged mass on the
annotation below a threshold ("q<t"); plus AUROC of the last vs the averaged
mass. Prints per-run rows and the means (about 10 minutes on 2 CPU cores).

    python -m benchmarks.archive.select_flag_rule digits,breast_cancer,kather2016
"""
import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from benchmarks.common import HERE, NOISES, load_dataset, make_noise
from benchmarks.common import net_settings as _common
from sklearn.metrics import f1_score, roc_auc_score
from skorch.callbacks import Callback

from noisyskl import NoisyNeuralNetClassifier

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("datasets", help="comma-separated, e.g. digits,breast_cancer,kather2016")
parser.add_argument("--data-dir", default=str(HERE.parent.parent / "shared/data"))
args = parser.parse_args()
torch.set_num_threads(2)
class Rec(Callback):
    def initialize(self): self.cnt = 0; self.n = 0; self.q = 0; return self
    def on_epoch_end(self, net, **kw):
        st = net.refinement_state_
        if len(net.history) >= net.warm_up:
            t = st.targets.numpy(); a = st.annotation_index().numpy()
            self.cnt = self.cnt + (t.argmax(1) != a); self.n += 1
            self.q = self.q + t[np.arange(len(a)), a]; self.T = t if self.n == 1 else self.T + t
rows = []
for ds in args.datasets.split(","):
    for noise in ["sym20", "sym40", "sym60", "pair40", "inst40"]:
        for seed in (0, 1):
            Xtr, ytr, Xte, yte, settings, epochs = load_dataset(ds, seed, args.data_dir)
            yn, flipped = make_noise(*NOISES[noise], Xtr, ytr, seed)
            c = Rec()
            clf = NoisyNeuralNetClassifier(random_state=seed, rounds=1, callbacks=[("c", c)],
                                            **_common(settings, epochs, "cpu")).fit(Xtr, yn)
            a = clf.refinement_state_.annotation_index().numpy()
            r = dict(ds=ds, noise=noise, seed=seed)
            r["final"] = f1_score(flipped, clf.refined_labels_.argmax(1) != a)
            for th in (0.1, 0.25, 0.5): r[f"vote{th}"] = f1_score(flipped, c.cnt >= th * c.n)
            r["meanT"] = f1_score(flipped, c.T.argmax(1) != a)
            for th in (0.5, 0.7): r[f"q<{th}"] = f1_score(flipped, c.q / c.n < th)
            r["auc_last"] = roc_auc_score(flipped, -clf.refined_labels_[np.arange(len(a)), a])
            r["auc_mean"] = roc_auc_score(flipped, -c.q)
            rows.append(r); print(pd.DataFrame([r]).round(3).to_string(header=len(rows)==1, index=False), flush=True)
d = pd.DataFrame(rows); print(d.groupby(["ds", "noise"]).mean(numeric_only=True).round(3)); print(d.mean(numeric_only=True).round(3))
