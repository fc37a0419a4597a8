"""Per-row training state of the estimator, as a torch module.

Being a module lets skorch move it between devices, pickle it, and save or load
it with ``save_params(f_refinement_state=...)`` / ``load_params(...)`` and
``Checkpoint(f_refinement_state=...)``, like any other part of the net.
"""

import json
import warnings

import numpy as np
import torch
from skorch.history import History
from torch import nn

from . import _functional as Fn
from ._annotators import same_annotations
from ._labels import plain_label
from ._report import HISTOGRAM_BINS

__all__ = ["INPUT_META", "RefinementState", "ResizingLoadMixin", "class_dtype", "input_meta",
           "meta_values", "plain_meta", "state_for_training"]

#: What an estimator learnt about its input at fit, and the first round's
#: history of a ``rounds=2`` fit, saved with the state (its ``meta``) so that
#: ``load_params(f_refinement_state=...)`` restores them.
INPUT_META = ("classes_inferred_", "n_features_in_", "feature_names_in_", "input_shape_",
              "annotators_", "first_round_history_", "fit_index_", "fit_paths_",
              "dataset_classes_")


def state_for_training(state, annotation, n_classes, annotations=None,
                       annotation_target="top_vote", trusted=None):
    """The per-row state a training on ``annotation`` (class indices, one a
    row; ``annotations``: a label matrix's, or None; ``trusted``: the rows a
    reviewer decided, or None) continues: ``state`` itself when it holds
    exactly these, else a new one. Returns ``(state, resumed)``."""
    trusted = torch.zeros(0, dtype=torch.bool) if trusted is None or not np.any(trusted) else (
        torch.as_tensor(trusted, dtype=torch.bool))
    resumed = (state.n_samples == len(annotation) and state.n_classes == n_classes
               and torch.equal(state.annotation_index().cpu(), torch.as_tensor(annotation))
               and same_annotations(state, annotations)
               and torch.equal(state.trusted.cpu(), trusted))
    if not resumed:
        state = RefinementState(annotation, n_classes)
        if annotations is not None:
            state.set_annotations(annotations.votes, annotations.shares, annotation_target)
        state.set_trusted(trusted)
    return state, resumed


def class_dtype(n_classes):
    """The integer dtype the annotations are stored in: int16, or int32 past
    32,767 classes."""
    return torch.int16 if n_classes < 2**15 else torch.int32


def flag_dtype(n_refinements):
    """The integer dtype of the flag counts: int16, or int32 past 32,767 refinements."""
    return torch.int16 if n_refinements < torch.iinfo(torch.int16).max else torch.int32


def input_meta(est):
    """The ``INPUT_META`` attributes ``est`` has, as plain Python values (a
    history as JSON's lists, dicts, numbers and strings)."""
    meta = {}
    for name in INPUT_META:
        if hasattr(est, name):
            value = getattr(est, name)
            if name == "first_round_history_":
                value = json.loads(json.dumps(list(value), default=_plain))
            elif name in ("fit_index_", "fit_paths_"):  # (as they are until saved: plain_meta)
                meta[name] = value
                continue
            meta[name] = value.tolist() if isinstance(value, np.ndarray) else value
    return meta


def plain_meta(meta):
    """``meta`` as ``torch.load(weights_only=True)`` reads it (the state's
    extra state): the fit's index as its labels (a ``RangeIndex`` as its
    range) and names, its files as a list of ``str`` (builtins only: numpy
    scalars are refused there)."""
    meta = dict(meta)
    index = meta.get("fit_index_")
    if index is not None and not isinstance(index, dict):
        names = [plain_label(v) for v in index.names]
        meta["fit_index_"] = (
            {"range": [index.start, index.stop, index.step], "names": names}
            if type(index).__name__ == "RangeIndex" else
            {"values": [plain_label(v) for v in index.tolist()], "names": names})
    if meta.get("fit_paths_") is not None:
        meta["fit_paths_"] = [str(path) for path in meta["fit_paths_"]]  # (np.str_: str)
    return meta


def _plain(value):
    """A history value JSON cannot write, as one it can (arrays as lists)."""
    return value.tolist() if hasattr(value, "tolist") else str(value)


def meta_values(meta):
    """``input_meta``'s values back in their types (arrays, a tuple, a
    ``History``), by attribute name."""
    values = {}
    for name, value in meta.items():
        if name in ("classes_inferred_", "feature_names_in_", "annotators_"):
            value = np.asarray(value, dtype=None if name == "classes_inferred_" else object)
        elif name == "input_shape_":
            value = tuple(value)
        elif name == "first_round_history_":
            value = History(value)
        elif name == "fit_index_" and isinstance(value, dict):  # (plain_meta's)
            import pandas as pd

            value = (pd.RangeIndex(*value["range"]) if "range" in value else
                     pd.Index(value["values"], tupleize_cols=True)).set_names(value["names"])
        elif name == "fit_paths_" and value is not None:
            value = np.asarray(value, dtype=object)
        values[name] = value
    return values


#: The state's buffers for several annotators per row, empty with one.
_ANNOTATOR_BUFFERS = {
    "votes": lambda: torch.zeros(0, 0, dtype=torch.int16),
    "vote_dist": lambda: torch.zeros(0, 0),
    "annotator_weight": lambda: torch.zeros(0),
    "annotator_quality_sum": lambda: torch.zeros(0),
}

#: The rows a reviewer decided (``read_review``), empty without a review.
_EMPTY_TRUSTED = lambda: torch.zeros(0, dtype=torch.bool)  # noqa: E731

#: The buffers whose empty value means "none" (no annotators' votes, no
#: reviewed rows, no estimate of the issues, no density history): a state
#: pickled before one was added takes it (``RefinementState.__setstate__``).
_NONE_WHEN_EMPTY = {*_ANNOTATOR_BUFFERS, "trusted", "estimated_issues", "g_histograms"}


class ResizingLoadMixin:
    """Buffers take the shapes of the state dict being loaded.

    A freshly initialised estimator does not know the number of training rows
    yet, so its per-row buffers are empty until a state is loaded into them.
    """

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        for name, buf in list(self._buffers.items()):
            incoming = state_dict.get(prefix + name)
            if buf is not None and incoming is not None and incoming.shape != buf.shape:
                self._buffers[name] = torch.empty(
                    incoming.shape, dtype=incoming.dtype, device=buf.device
                )
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


class RefinementState(ResizingLoadMixin, nn.Module):
    """Annotations, current targets and latest statistics of every row.

    Parameters
    ----------
    annotation : array-like of shape (n_samples,) of int, or None
        The given labels as class indices (``e``); None for an empty state.
    n_classes : int, default=0

    Attributes
    ----------
    annotation : Tensor of shape (n_samples,), int16
        The class indices (int32 past 32,767 classes; ``annotation_index()``
        gives them as a LongTensor).
    targets : Tensor of shape (n_samples, n_classes)
        Current training targets ``t`` (the annotation one-hot until refined).
    proba : Tensor of shape (n_samples, n_classes)
        Latest predictions: from the training pass for training rows, from the
        validation pass for held-out rows; the annotation until first predicted.
    g : Tensor of shape (n_samples,)
        Last gradient norm; NaN for rows never trained on.
    weight : Tensor of shape (n_samples,), bfloat16
        Last loss weight (for the report and plots only: training uses the
        criterion's, in float32), to within 0.4% (bfloat16 keeps float32's
        range: a density weight can exceed float16's); NaN for rows never
        trained on.
    class_weight : Tensor of shape (n_classes,)
        Loss weight of each annotated class (ones unless ``class_weight``).
    flag_count : Tensor of shape (n_samples,), int16
        In how many refinements so far the refined label (argmax of the
        target) differed from the annotation.
    quality_sum : Tensor of shape (n_samples,)
        Sum over refinements of the refined target's mass on the annotation.
    n_refinements : LongTensor of shape ()
        Number of refinements so far (epochs at or after the warm-up).
    estimated_issues : LongTensor of shape ()
        The confident joint's estimate of the number of wrong annotations,
        from the predictions at the last :meth:`estimate_issues` (-1 before).
    g_histograms : Tensor of shape (n_epochs, 50)
        Per epoch, the histogram of the training rows' g over 50 equal bins
        of [0, 1] (for the plots).
    votes : Tensor of shape (n_samples, n_annotators), int16
        With a label matrix: each annotator's class index, -1 where missing
        (empty otherwise).
    vote_dist : Tensor of shape (n_samples, n_classes)
        With a label matrix or soft labels: each row's annotation
        distribution, from which the flags and label quality are read and
        the anchor of the refinement (the top vote, or the distribution
        itself) is taken (empty otherwise; docs/method.md, "Several
        annotators per row"). ``annotation`` then holds each row's top
        class by equal votes, the first of a tie (what the validation loss,
        ``class_weight`` and the confident joint count against).
    annotator_weight : Tensor of shape (n_annotators,)
        The weight of each annotator's vote in ``vote_dist`` (ones unless
        ``annotator_weighting="reliability"``).
    annotator_quality_sum : Tensor of shape (n_annotators,)
        Sum over refinements of each annotator's quality
        (``functional.annotator_quality``).
    trusted : Tensor of shape (n_samples,), bool
        The rows a reviewer decided (``read_review``; empty without a
        review): their target stays the one-hot of their annotation (the
        reviewer's label; with several annotators also their distribution),
        so they are never refined or flagged, and the confident joint counts
        no issue among them.
    meta : dict
        What the estimator learnt about its input: classes, number of
        features, feature names, row shape. Saved with the state.

    Notes
    -----
    Per row: ``targets`` and ``proba`` (2 C float32) and 14 bytes more, plus
    the criterion's whole-set store (5 bytes a row, see
    :class:`~noisyskl.GradientDensity`): 99 bytes a row for 10 classes, 99 MB
    for 10^6 rows (``benchmarks/scale.py`` measures it).
    """

    #: The per-row buffers the process that trained a row holds, which a
    #: data-parallel fit sums across the processes (each row from its owner)
    #: once an epoch, before the refinement reads them (``World.sync_rows``).
    synced_rows = ("proba", "g", "weight")

    def __init__(self, annotation=None, n_classes=0):
        super().__init__()
        ann = torch.zeros(0, dtype=torch.long) if annotation is None else (
            torch.as_tensor(annotation, dtype=torch.long))
        onehot = nn.functional.one_hot(ann, n_classes).float() if len(ann) else (
            torch.zeros(0, n_classes))
        self.register_buffer("annotation", ann.to(class_dtype(n_classes)))
        self.register_buffer("targets", onehot.clone())
        self.register_buffer("proba", onehot)
        self.register_buffer("g", torch.full((len(ann),), float("nan")))
        self.register_buffer("weight", torch.full((len(ann),), float("nan"),
                                                  dtype=torch.bfloat16))
        self.register_buffer("class_weight", torch.ones(n_classes))
        self.register_buffer("flag_count", torch.zeros(len(ann), dtype=torch.int16))
        self.register_buffer("quality_sum", torch.zeros(len(ann)))
        self.register_buffer("n_refinements", torch.zeros((), dtype=torch.long))
        self.register_buffer("estimated_issues", torch.full((), -1, dtype=torch.long))
        self.register_buffer("g_histograms", torch.zeros(0, 0))
        for name, buf in _ANNOTATOR_BUFFERS.items():
            self.register_buffer(name, buf())
        self.register_buffer("trusted", _EMPTY_TRUSTED())
        self.meta = {}

    def __setstate__(self, state):
        super().__setstate__(state)
        # pickled by an older noisyskl: the buffers added since whose empty
        # default means "none" (annotators', reviewed rows', no estimate, no
        # history) take it; without the refinement history (before 2026-11-25,
        # 22:04) the state can predict but neither report nor train on
        device = self.targets.device
        for name, buf in RefinementState().named_buffers():
            if name in self._buffers:
                continue
            if name not in _NONE_WHEN_EMPTY:
                warnings.warn(
                    "This estimator was pickled by a noisyskl of 2026-11-25 before the "
                    f"refinement history (its per-row state has no {name}): it predicts, but "
                    "find_label_issues() and further training need a new fit.", UserWarning,
                    stacklevel=3)
                return
            self.register_buffer(name, buf.to(device))

    # ------------------------------------------------- several annotators
    @property
    def has_votes(self):
        """Whether the rows have annotation distributions (a label matrix or
        soft labels) rather than one annotation each."""
        return self.vote_dist.numel() > 0

    def set_annotations(self, votes=None, shares=None, target="top_vote"):
        """Give each row its annotators' labels (``votes``, (n, k), -1 where
        missing) or soft labels (``shares``, (n, C)); the targets start as the
        one-hot of each row's top-voted class (``annotation``; ``target=
        "top_vote"``) or as the distributions (``"vote_shares"``)."""
        device = self.targets.device
        if votes is not None:
            self.votes = torch.as_tensor(votes).to(device, class_dtype(self.n_classes))
            k = self.votes.shape[1]
            self.annotator_weight = torch.ones(k, device=device)
            self.annotator_quality_sum = torch.zeros(k, device=device)
            dist = Fn.vote_distribution(self.votes, self.n_classes)
        else:
            dist = torch.as_tensor(shares, dtype=torch.float32, device=device)
        self.vote_dist = dist
        self.targets = (dist.clone() if target == "vote_shares" else
                        nn.functional.one_hot(self.annotation_index(), self.n_classes).float())
        self.proba = dist.clone()
        self._pin_trusted()

    def set_trusted(self, trusted):
        """Mark the rows a reviewer decided (bool, (n,); empty: none)."""
        self.trusted = torch.as_tensor(trusted, dtype=torch.bool).to(self.targets.device)
        self._pin_trusted()

    def _pin_trusted(self):
        """The trusted rows' targets (and annotation distributions) back to
        the one-hot of their annotation, the reviewer's label."""
        if self.trusted.numel() == 0 or not bool(self.trusted.any()):
            return
        onehot = nn.functional.one_hot(self.annotation_index()[self.trusted],
                                       self.n_classes).to(self.targets.dtype)
        self.targets[self.trusted] = onehot
        if self.has_votes:
            self.vote_dist[self.trusted] = onehot.to(self.vote_dist.dtype)

    def update_annotators(self, weighting):
        """At a refinement, before the targets are refined: add each
        annotator's quality, their soft agreement with the current targets
        (``functional.annotator_quality``); with ``weighting="reliability"``,
        weigh their votes by its average so far
        (``functional.reliability_weights``) and recompute the distributions."""
        if self.votes.numel() == 0:
            return
        quality, _ = Fn.annotator_quality(self.targets, self.votes)
        self.annotator_quality_sum += torch.nan_to_num(quality)
        if weighting == "reliability":
            mean = self.annotator_quality_sum / (self.n_refinements + 1)
            self.annotator_weight = Fn.reliability_weights(mean, self.n_classes)
            self.vote_dist = Fn.vote_distribution(self.votes, self.n_classes,
                                                  self.annotator_weight)
            self._pin_trusted()

    def annotator_quality(self):
        """Each annotator's quality averaged over the refinements (from the
        current targets before any)."""
        if int(self.n_refinements) == 0:
            return Fn.annotator_quality(self.targets, self.votes)[0]
        return self.annotator_quality_sum / self.n_refinements

    def top_voted_index(self):
        """Each row's top-voted class; a tie goes to the class the latest
        prediction favours (the annotation for single labels)."""
        if not self.has_votes:
            return self.annotation_index()
        top = Fn.top_voted(self.vote_dist)
        return torch.where(top, self.proba.float(), torch.full_like(self.vote_dist, -1.0)).argmax(1)

    def _disagrees(self):
        """Per row, whether the refined label (argmax of the target) is not
        the annotation (with several: not among the top-voted classes)."""
        if self.has_votes:
            return Fn.top_vote_mass(self.targets, self.vote_dist)[1]
        return self.targets.argmax(dim=1) != self.annotation

    def annotation_index(self):
        """The annotations as a LongTensor (they are stored compact: int16 for
        up to 32,767 classes)."""
        return self.annotation.long()

    def _annotation_mass(self):
        """Per row, the current target's mass on the annotated class."""
        if self.has_votes:
            return Fn.top_vote_mass(self.targets, self.vote_dist)[0].float()
        rows = torch.arange(self.n_samples, device=self.targets.device)
        return self.targets[rows, self.annotation_index()].float()

    def refine(self, gamma, form, target="top_vote"):
        """Refine the targets from the latest predictions (S170) and add them to
        the per-row refinement history. With several annotations the anchor
        is each row's top-voted class (``target="top_vote"``) or its
        annotation distribution (``"vote_shares"``)."""
        annotation = self.annotation_index()
        if self.has_votes:
            annotation = self.vote_dist if target == "vote_shares" else self.top_voted_index()
        self.targets = Fn.refine_targets(self.proba, annotation, gamma, form).float()
        self._pin_trusted()
        self.record_refinement()

    def estimate_issues(self):
        """Estimate the number of wrong annotations from the current
        predictions (``functional.confident_joint_issue_count``)."""
        self.estimated_issues.fill_(Fn.confident_joint_issue_count(
            self.proba, self.annotation_index(),
            trusted=self.trusted if self.trusted.numel() else None))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # a state saved before the estimate existed loads without one
        state_dict.setdefault(prefix + "estimated_issues", torch.full((), -1, dtype=torch.long))
        # and one saved before several annotators, with one annotation a row
        for name, buf in _ANNOTATOR_BUFFERS.items():
            state_dict.setdefault(prefix + name, buf())
        # and one saved before reviews, with no trusted rows
        state_dict.setdefault(prefix + "trusted", _EMPTY_TRUSTED())
        # and one saved before the compact dtypes, in them
        n_refinements = int(state_dict.get(prefix + "n_refinements", 0))
        n_classes = state_dict.get(prefix + "targets", self.targets).shape[1]
        for name, dtype in (("annotation", class_dtype(n_classes)), ("weight", torch.bfloat16),
                            ("flag_count", flag_dtype(n_refinements))):
            if prefix + name in state_dict:
                state_dict[prefix + name] = state_dict[prefix + name].to(dtype)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def record_training(self, index, proba, g, weight):
        """Keep a training batch's predictions, gradient norms and loss weights
        (rows ``index``) for the next refinement and the report."""
        self.proba[index] = Fn.as_dtype(proba, self.proba.dtype)
        self.g[index] = Fn.as_dtype(g, self.g.dtype)
        self.weight[index] = Fn.as_dtype(weight, self.weight.dtype)

    def record_held_out(self, index, proba):
        """Keep a held-out batch's predictions (rows ``index``) for the next refinement."""
        self.proba[index] = proba

    def end_epoch(self):
        """Add the epoch's histogram of the training rows' g; return the
        epoch's statistics for the history: ``n_refined`` (training rows whose
        refined label differs from the annotation), ``n_refined_valid`` (the
        same for held-out rows, where there are any), ``mean_g`` and
        ``train_ce``, the training rows' plain cross-entropy against their
        annotations in this epoch's training pass (the weighted ``train_loss``
        is not comparable across the warm-up)."""
        trained = ~torch.isnan(self.g)
        self.append_histogram(Fn.bin_counts(self.g[trained], HISTOGRAM_BINS))
        changed = self._disagrees()
        stats = {"n_refined": int((changed & trained).sum())}
        if not bool(trained.all()):
            stats["n_refined_valid"] = int((changed & ~trained).sum())
        stats["mean_g"] = float(self.g[trained].mean()) if trained.any() else float("nan")
        p_given = self.proba[trained, self.annotation[trained].long()].float()
        stats["train_ce"] = (float(Fn.label_cross_entropy(p_given).mean())
                             if trained.any() else float("nan"))
        return stats

    def record_refinement(self):
        """Add the current targets to the per-row refinement history."""
        if flag_dtype(int(self.n_refinements) + 1) != self.flag_count.dtype:
            self.flag_count = self.flag_count.int()  # (after 32,767 refinements)
        self.flag_count += self._disagrees().to(self.flag_count.dtype)
        self.quality_sum += self._annotation_mass()
        self.n_refinements += 1

    def flagged_fraction(self):
        """Per row, the fraction of refinements that flagged its annotation (0 before any)."""
        return self.flag_count / self.n_refinements.clamp(min=1)

    def mean_quality(self):
        """Per row, the refined target's mass on the annotation averaged over
        the refinements so far (the current mass before any)."""
        if int(self.n_refinements) == 0:
            return self._annotation_mass()
        return self.quality_sum / self.n_refinements

    def append_histogram(self, counts):
        """Add one epoch's histogram of the training rows' g (for plots)."""
        counts = counts.to(self.g_histograms.device, torch.float32)[None]
        if self.g_histograms.numel() == 0:
            self.g_histograms = counts
        else:
            self.g_histograms = torch.cat([self.g_histograms, counts])

    @property
    def n_samples(self):
        return self.annotation.shape[0]

    @property
    def n_classes(self):
        return self.targets.shape[1]

    def get_extra_state(self):
        return plain_meta(self.meta)

    def set_extra_state(self, state):
        self.meta = dict(state)

    def extra_repr(self):
        return f"n_samples={self.n_samples}, n_classes={self.n_classes}"
