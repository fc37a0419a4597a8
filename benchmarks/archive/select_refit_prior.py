"""Should the refit without the flagged rows keep the classes' shares?

The flags fall unevenly on the classes: a class the first round learns worst
(Kather's classes 2 and 4) has more of its rows flagged, so the refit on the
unflagged rows sees it less often than the annotations do, and its test
recall falls (issue #29's "no class erased": the default's Kather runs 11 of
18). This script asks the validation splits of ``_selection.py`` (the test
split is never touched) whether weighing the refit's labelled rows per class
back to a prior helps:

- ``default``: the library's default when recorded (the benchmark's settings:
  no split, the choice holds out a fifth of its own; ``AT_END``, the choice at
  the candidates' end, ``refit_look=None``);
- ``annotated``: the refit's loss weighs class c by ``p(c) / q(c)``, p the
  share of c among all the annotations, q among the refit's labelled rows;
- ``cleaned``: the same with p the share of c among the cleaned labels (the
  annotation where not flagged, the suggested label where flagged);

and plain cross-entropy (skorch, the same module and optimiser) as the
per-class reference. Recorded per run: clean validation accuracy, each
class's validation recall, and the refit kept.

    python -m benchmarks.archive.select_refit_prior --dataset kather2016 \\
        --noises sym0 sym20 sym40 sym60 pair40 inst40 --seeds 0 1 2 --threads 1 \\
        --csv benchmarks/results/select_refit_prior_kather2016_cpu.csv

(one CSV per data set: the recall columns are per class). Results and what
was decided: ``benchmarks/results/select_refit.md``.
"""

import warnings

import numpy as np
import torch
from skorch import NeuralNetClassifier

from benchmarks.archive._selection import record, selection_parser, validation_splits
from benchmarks.common import AT_END, OURS
from benchmarks.common import net_settings as _common
from noisyskl import NoisyNeuralNetClassifier
from noisyskl._refit import RefitNet

PRIOR = {"kind": None}


def _prior_weights(refit, y):
    """The experiment's per-class weights for the refit's labelled rows ``y``."""
    est = refit.first_round_
    n = len(refit.classes_)
    annotation = est.refinement_state_.annotation_index().cpu().numpy()
    if PRIOR["kind"] == "annotated":
        target = np.bincount(annotation, minlength=n)
    else:
        report = est.find_label_issues()
        flagged = report["is_label_issue"].to_numpy()
        index = {label: i for i, label in enumerate(est.classes_.tolist())}
        suggested = np.array([index[v] for v in report["predicted_label"].tolist()])
        target = np.bincount(np.where(flagged, suggested, annotation), minlength=n)
    kept = np.bincount(np.asarray(y), minlength=n)
    p, q = target / target.sum(), kept / max(kept.sum(), 1)
    w = np.where(q > 0, p / np.maximum(q, 1e-12), 1.0)
    return torch.as_tensor(w, dtype=torch.float32)


_original = RefitNet.on_train_begin


def on_train_begin(self, net, X=None, y=None, **kwargs):
    _original(self, net, X=X, y=y, **kwargs)
    if PRIOR["kind"] is None or (self.kept_.all() and self.unlabelled_ is None):
        return  # (the refit on every row keeps the annotations' shares)
    labelled = np.asarray(y)
    if self.unlabelled_ is not None:
        labelled = labelled[~self.unlabelled_.cpu().numpy()]
    self.kept_class_weight_ = _prior_weights(self, labelled).to(self.device)
    self.class_weight = {}  # (not None: the loss uses kept_class_weight_)



def _score(row, cell, name, est):
    """Add ``est``'s clean validation accuracy and per-class recall to ``row``."""
    pred = np.asarray(est.predict(cell.Xv))
    row[f"clean_{name}"] = float((pred == cell.yv).mean())
    for c in np.unique(cell.nf):
        row[f"recall_{name}_{c}"] = float((pred[cell.yv == c] == c).mean())


def main():
    parser = selection_parser(__doc__.split("\n")[0], dataset="kather2016")
    args = parser.parse_args()
    RefitNet.on_train_begin = on_train_begin  # (the experiment's weights; only when run)
    rows = []
    for cell in validation_splits(args):
        common = _common(cell.settings, cell.epochs, args.device)
        row = dict(dataset=args.dataset, noise=cell.noise, seed=cell.seed)
        torch.manual_seed(cell.seed)
        plain = NeuralNetClassifier(criterion=torch.nn.CrossEntropyLoss, **common)
        _score(row, cell, "ce", plain.fit(cell.Xf.astype(np.float32), cell.nf.astype(np.int64)))
        for kind in (None, "annotated", "cleaned"):
            PRIOR["kind"] = kind
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est = NoisyNeuralNetClassifier(random_state=cell.seed,
                                               **{**common, **OURS[AT_END]}).fit(cell.Xf, cell.nf)
            name = kind or "default"
            _score(row, cell, name, est)
            row[f"kept_{name}"] = (est.refit_choice_ or {}).get("refit_rows")
        PRIOR["kind"] = None
        record(rows, row, args.csv)


if __name__ == "__main__":
    main()
