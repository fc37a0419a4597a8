"""With a label matrix, what should the refit train on (#29: ahead of the
method on the majority vote)? Validation cells of the several-annotators
benchmark (blood cells, its panels and seeds): its training rows are split
70/30 (stratified by the clean class, seeded) into fit and validation rows;
the labels are made on the training rows as the benchmark makes them; the
test split is never touched. Clean validation accuracy of:

(The default is the library's when these were recorded: ``DROPPED``, the
refit chosen at the candidates' end, flagged rows dropped, as on these images
the default still drops them.)

- ``vote + noisyskl``: the default on the majority vote of the fit rows;
- ``all annotations``: the default on the fit rows' label matrix;
- ``consensus refit``: after that fit, plain cross-entropy on every fit row
  with its consensus label (``find_label_issues()["predicted_label"]``),
  trained like the library's refit (``rounds=1``, no weights, no refinement).

    python -m benchmarks.archive.select_matrix_refit --panels panel3 panel5 --seeds 0 1 --threads 1
"""

import argparse

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import train_test_split

from benchmarks.annotators import make_labels
from benchmarks.archive._selection import record
from benchmarks.common import DATA_DIR, DROPPED, load_dataset, net_settings, ours
from noisyskl import NoisyNeuralNetClassifier, majority_vote


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--panels", nargs="+", default=["panel3", "panel5"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data-dir", default=str(DATA_DIR))
    parser.add_argument("--csv")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for seed in args.seeds:
        Xtr, ytr, _, _, settings, epochs = load_dataset("blood_cells", seed, args.data_dir)
        common = net_settings(settings, epochs, "cpu")
        for name in args.panels:
            labels, _ = make_labels(name, ytr, seed)
            fit, valid = train_test_split(np.arange(len(ytr)), test_size=0.3, stratify=ytr,
                                          random_state=seed)
            Xf, Xv, yv = Xtr[fit], Xtr[valid], np.asarray(ytr)[valid]
            matrix = labels.iloc[fit].reset_index(drop=True)
            vote = majority_vote(matrix).astype(np.int64)
            row = dict(panel=name, seed=seed, vote_acc=float((vote == np.asarray(ytr)[fit]).mean()))
            on_vote = NoisyNeuralNetClassifier(random_state=seed, **ours(DROPPED, common))
            row["vote + noisyskl"] = float((on_vote.fit(Xf, vote).predict(Xv) == yv).mean())
            on_all = NoisyNeuralNetClassifier(random_state=seed, **ours(DROPPED, common))
            row["all annotations"] = float((on_all.fit(Xf, matrix).predict(Xv) == yv).mean())
            row["refit kept"] = on_all.refit_choice_["refit_rows"]
            consensus = on_all.find_label_issues()["predicted_label"].to_numpy().astype(np.int64)
            row["consensus_acc"] = float((consensus == np.asarray(ytr)[fit]).mean())
            refit = NoisyNeuralNetClassifier(random_state=seed, rounds=1, weighting=None,
                                             refinement=None, **common).fit(Xf, consensus)
            row["consensus refit"] = float((refit.predict(Xv) == yv).mean())
            record(rows, row, args.csv)
    print(pd.DataFrame(rows).drop(columns=["seed", "refit kept"]).groupby("panel").mean()
          .round(3).to_string())


if __name__ == "__main__":
    main()
