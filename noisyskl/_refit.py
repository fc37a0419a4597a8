"""The second round (``rounds=2``): find the label issues, leave them out, refit.

After the first round (the method) has trained, :func:`refit_without_issues`
builds a :class:`RefitNet` (the same settings, callbacks and module class),
trains it on the rows whose annotation the first round did not flag, with
plain (class-weighted) cross-entropy (with ``flagged_rows``, also on the
flagged rows, without their labels: ``_semi``'s loss), and hands its model, optimiser and
history back to the estimator. The estimator's own settings are never changed
and nothing is put back afterwards; its report and refined labels stay the
first round's, on every row. Which rows it trains on (``refit_rows``) is
decided in ``_second_round``.

Also here: :func:`noting_ctrl_c`, which tells the user's Ctrl-C in the first
round (skip the refit) from a callback's stop (refit). The refit's weight
average and its batch-norm statistics computed again are in ``_averaging``.
"""

import inspect
import math

import numpy as np
import torch
from skorch.callbacks import LoadInitState
from skorch.dataset import unpack_data
from skorch.utils import to_tensor

from . import _functional as Fn
from ._averaging import WeightAverage, recompute_batch_norm
from ._data import X_KEY, KeptRows, batch_row_numbers
from ._datasets import DatasetReadError, Items, keep_rows, release_loader
from ._distributed import DistributedTrainingError, world_of
from ._labels import class_weights
from ._net import NoisyNetBase
from ._signals import noting_ctrl_c
from ._split import HeldOutRows
from ._state import INPUT_META
from ._validation import TrainingDiverged, check_logits, check_not_diverged, weights_finite

__all__ = ["MIN_REFINEMENTS", "RefitNet", "announce_first_round", "keep_every_class",
           "mixable_rows", "module_is_instance", "module_weights", "noting_ctrl_c",
           "refit_labels", "refit_skip_reason", "refit_without_issues"]

#: Offset of the refit's seed from the first round's (``random_state``).
REFIT_SEED_OFFSET = 1_000_003


#: Above this share of flagged rows fit warns: so many wrong labels is rarely
#: the annotation, more often a network that has not fitted the data yet (too
#: few epochs, too high a learning rate). The refit still runs: under heavy
#: noise (60% symmetric on 10 classes) the flags are right.
WARN_FLAGGED_SHARE = 0.5

#: Fewer refinements than this are too little evidence to leave rows out: with
#: two, one vote in two flags a row.
MIN_REFINEMENTS = 3


def announce_first_round(est, n_rows):
    """Say, with ``verbose``, that the first of two rounds begins."""
    print(f"round 1/2: training with the method (weighting={est.weighting!r}, targets "
          f"refined from epoch {max(est.warm_up, 1)}) on {n_rows} rows.")


def mixable_rows(Xi):
    """A batch's rows, ``Xi[X_KEY]``, if they are one tensor (as
    ``flagged_rows="unlabelled"`` needs: it mixes the rows of a batch); else a
    ``TypeError`` naming the fix."""
    x = Xi[X_KEY]
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            "flagged_rows='unlabelled' mixes the rows of a batch, so each batch's rows "
            f"must be one tensor; got {type(x).__name__} (a Dataset whose items are not "
            "tensors, or a collate_fn of your own). Pass flagged_rows='drop'.")
    return x


def module_is_instance(est):
    """Whether ``est`` was given a module instance (which every refit trains
    in turn) rather than a module class."""
    return est.module is not None and not isinstance(est.module, type)


def module_weights(est):
    """A CPU copy of the state dict of ``est``'s module when it is an instance
    (which the refit would otherwise reuse as the first round leaves it);
    None for a module class."""
    if not module_is_instance(est):
        return None
    return {k: v.detach().to("cpu", copy=True) for k, v in est.module_.state_dict().items()}


def refit_skip_reason(interrupted, n_refinements, flagged, n_classes, max_epochs, warm_up):
    """Whether the ``rounds=2`` refit can help, as ``(skip, caution)``: ``skip``
    says why it is skipped (None: it runs), ``caution`` why its result needs a
    look though it runs (None: nothing to say). Pure: decides, warns nothing.

    The refit is skipped when

    - the user interrupted the first round (Ctrl-C);
    - no refinement happened (``max_epochs`` within the warm-up, or
      ``refinement=None``), so nothing was flagged and the refit would train
      again on every row (``skip == ""``: fit has said so before training);
    - fewer than ``MIN_REFINEMENTS`` refinements: too little evidence to
      leave rows out;
    - more rows flagged than can be wrong while the annotation is still the
      most common label of its class ((n_classes - 1) / n_classes of them).

    More than ``WARN_FLAGGED_SHARE`` of the rows flagged (but not that many)
    is a caution, naming the likely cause.

    Parameters
    ----------
    interrupted : bool
        Ctrl-C in the first round.
    n_refinements : int
    flagged : ndarray of shape (n_samples,), bool, or None
        The first round's label issues (None when not needed: fewer than
        ``MIN_REFINEMENTS`` refinements).
    n_classes, max_epochs, warm_up : int
        For the decision and the messages.

    Returns
    -------
    (str or None, str or None)
    """
    if interrupted:
        return ("fit was interrupted (Ctrl-C) in the first round, so the rounds=2 refit "
                "was skipped"), None
    if n_refinements == 0:
        return ("no target was refined in the first round (refinement=None, or max_epochs "
                "within the warm-up), so no row is flagged and the rounds=2 refit, which "
                "would train again on every row, was skipped"), None
    if n_refinements < MIN_REFINEMENTS:
        return (f"the first round refined the targets only {n_refinements} "
                f"time(s) (max_epochs={max_epochs}, warm_up={warm_up}), too little "
                f"evidence to leave rows out (at least {MIN_REFINEMENTS} are needed), so "
                "the rounds=2 refit was skipped"), None
    share = flagged.mean()
    cause = (f"the first round flagged {share:.0%} of the rows as label issues after "
             f"{n_refinements} refinements; unless that many labels are wrong, "
             "the network had most likely not fitted the data yet (too few epochs after "
             f"the warm-up: max_epochs={max_epochs}, warm_up={warm_up}; or too "
             "high a learning rate)")
    if share > (n_classes - 1) / n_classes:
        return (cause + f". With {n_classes} classes the annotations would not even be "
                f"the most common label of their class, so the rounds=2 refit, which "
                f"would train on the {int((~flagged).sum())} rows left, was skipped"), None
    if share > WARN_FLAGGED_SHARE:
        return None, cause
    return None, None


def refit_without_issues(est, X, y_idx, routing_method="fit", keep=None, initial_weights=None,
                         held_out=None, name=None, first_weights=None, unlabelled=None,
                         look=None, **fit_params):
    """Train the second round of a fitted ``est``; return the trained
    ``RefitNet`` (``est._take_refit(refit)`` makes its model the estimator's;
    ``est`` is not changed here).

    Parameters
    ----------
    est : NoisyNeuralNetClassifier
        Fitted by its first round; its report decides the rows left out.
    X : ndarray or Tensor of shape (n_samples, ...)
        The validated training rows of that fit (not copied: the refit reads
        its kept rows from X a batch at a time).
    y_idx : ndarray of shape (n_samples,), int64
        Their annotations as class indices.
    routing_method : str, default="fit"
        skorch's metadata routing method of the call.
    keep : ndarray of shape (n_samples,), bool, or None, default=None
        The rows to train on; None: those ``find_label_issues()`` does not
        flag (what ``rounds=2`` does; the experiments pass their own).
    held_out : ndarray of shape (n_samples,), bool, or None, default=None
        Rows (among ``keep``) the refit holds out as its validation rows
        instead of splitting by ``train_split`` (``refit_rows="choose"``).
    name : str or None, default=None
        Which rows the refit trains on, for an error message (None: "on the
        N rows not flagged").
    first_weights : dict or None, default=None
        ``module_weights(est)`` where the caller has taken it already (a
        module instance's first-round weights, put back if the refit fails);
        None: taken here.
    unlabelled : ndarray of shape (n_samples,), bool, or None, default=None
        Rows (among ``keep``, not held out) the refit trains on without their
        annotations (``flagged_rows="unlabelled"``: ``_semi``); None: every
        kept row is trained on its annotation.
    look : object or None, default=None
        With ``held_out``: a look at the refit's held-out rows after its
        epoch ``look.epoch`` (``look.see(refit, dataset_valid)``, seeded as
        every scoring pass), which may end its training there
        (``look.stop``; ``_second_round.Look``). None: no look.
    **fit_params
        As given to ``fit``.

    Returns
    -------
    RefitNet
    """
    if keep is None:
        keep = ~est.find_label_issues()["is_label_issue"].to_numpy()
    # (fit has warned of a class put back: _second_round.warn_if_class_flagged_away)
    keep, unlabelled = keep_every_class(y_idx, keep, held_out, unlabelled)
    # (instead of the epoch log starting without a word; a named refit, the
    # choice's, was said by _second_round)
    if est.verbose and held_out is None and name is None:
        if unlabelled.any():
            print(f"round 2/2: refitting a fresh network on the "
                  f"{int((keep & ~unlabelled).sum())} of {len(keep)} rows not flagged as label "
                  f"issues, with the {int(unlabelled.sum())} flagged ones as unlabelled rows "
                  f"(flagged_rows={est.flagged_rows!r}).")
        else:
            print(f"round 2/2: refitting a fresh network with plain cross-entropy on the "
                  f"{int(keep.sum())} of {len(keep)} rows not flagged as label issues "
                  f"(find_label_issues() lists the {int((~keep).sum())} left out).")
    refit = est.refit_net.from_first_round(est)
    refit.kept_ = keep  # (the rows it trains on, its held-out rows among them)
    refit.look_ = look
    if unlabelled.any():  # (of the kept rows, by their numbers in the refit's data)
        refit.unlabelled_ = torch.as_tensor(unlabelled[keep], device=refit.device)
    if held_out is not None:
        refit.train_split = HeldOutRows(np.asarray(held_out, dtype=bool)[keep])
    if est.always_trained_rows_ is not None:  # (a review's trusted rows: never held out)
        refit.always_trained_rows_ = np.asarray(est.always_trained_rows_)[keep]
    # skorch reuses a module instance as it is, so the refit trains the first
    # round's own module object: keep its weights (on the CPU) to put back if
    # the refit fails
    if first_weights is None:
        first_weights = module_weights(est)
    shared = first_weights is not None  # a module instance, which the refit reuses
    with est._seeded(REFIT_SEED_OFFSET):
        refit.initialize()
        # the per-row state is the first round's (so that a Checkpoint's
        # f_refinement_state saves the report)
        refit.refinement_state_ = est.refinement_state_
        if shared and initial_weights is not None:
            # as the first round began (a pretrained backbone stays pretrained)
            refit.module_.load_state_dict(initial_weights)
        elif shared:  # make it fresh
            for layer in refit.module_.modules():
                if hasattr(layer, "reset_parameters"):
                    layer.reset_parameters()
        refit.average_ = (WeightAverage(refit.module_, refit.max_epochs)
                          if est.average_refit else None)
        callbacks = refit.all_callbacks_ = refit.callbacks_
        # a LoadInitState would load the last checkpoint (the first round's)
        # into the fresh network and continue its history
        refit.callbacks_ = [(name, cb) for name, cb in callbacks
                            if not isinstance(cb, LoadInitState)]
        try:
            # skorch's partial_fit: on_train_begin, fit_loop, on_train_end; the
            # kept rows are not copied (a memory map stays on disk)
            with refit._together(y_idx[keep]):  # (with several processes)
                refit.partial_fit(kept_rows(X, np.flatnonzero(keep)), y_idx[keep],
                                  _routing_method=routing_method, **fit_params)
            if refit.unlabelled_ is not None and refit.__dict__.get("trained_rows_") is not None:
                # (trained on mixed rows only; after the callbacks, so that the weights
                # a Checkpoint(load_best=True) loads get the statistics too)
                recompute_batch_norm(refit, refit.trained_rows_)
        except Exception as err:
            # est's own attributes are untouched; a shared module gets its weights back
            if shared:
                est.module_.load_state_dict(first_weights)
            # (a file that fails to read stays a DatasetReadError, a RuntimeError,
            # a peer's failure in a data-parallel fit a DistributedTrainingError and
            # a refit that diverged a TrainingDiverged, a ValueError)
            kind = next((k for k in (DatasetReadError, DistributedTrainingError, TrainingDiverged)
                         if isinstance(err, k)), RuntimeError)
            if kind is DatasetReadError:
                release_loader(err)
            what = name or f"on the {int(keep.sum())} rows not flagged"
            raise kind(
                f"rounds=2: the refit (round 2, {what}) failed after {len(refit.history)} "
                f"epoch(s) with {type(err).__name__}: "
                f"{err} The estimator keeps the first round's model, history_ and "
                "find_label_issues(), and predicts as a rounds=1 fit (callbacks it shares "
                "with the refit, such as a Checkpoint, hold the refit's state); fix the "
                "cause and fit again, or pass rounds=1.") from err
        finally:
            refit.callbacks_ = callbacks
    return refit


def keep_every_class(y_idx, keep, held_out=None, unlabelled=None):
    """The rows a refit keeps and those it trains on without their labels,
    with every row of an annotated class that no labelled trained row would
    teach put back: the refit could not learn that class otherwise.

    Parameters
    ----------
    y_idx : ndarray of shape (n_samples,), int
        The annotations as class indices.
    keep : array-like of shape (n_samples,), bool
        The rows the refit would keep (its held-out rows among them).
    held_out : array-like of shape (n_samples,), bool, or None, default=None
        Of those, the rows it holds out (never trained on).
    unlabelled : array-like of shape (n_samples,), bool, or None, default=None
        The rows it would train on without their annotations (None: none).

    Returns
    -------
    keep, unlabelled : ndarray of shape (n_samples,), bool
        New arrays: ``unlabelled`` only among the trained rows, and every
        row of such a class kept and trained on its annotation.
    """
    keep = np.asarray(keep, dtype=bool)
    trained = keep if held_out is None else keep & ~np.asarray(held_out, dtype=bool)
    unlabelled = (np.zeros_like(keep) if unlabelled is None
                  else np.asarray(unlabelled, dtype=bool) & trained)
    emptied = np.setdiff1d(np.unique(y_idx), np.unique(y_idx[trained & ~unlabelled]))
    back = np.isin(y_idx, emptied)
    return keep | back, unlabelled & ~back


class RefitNet(NoisyNetBase):
    """The ``rounds=2`` refit: a fresh network trained with plain cross-entropy.

    A net with the first round's settings, data path and prediction (the
    shared ``NoisyNetBase``), whose training hooks are skorch's own plus two
    things: the loss is cross-entropy on the annotations (weighted by the
    kept rows' ``class_weight`` when one is set), with none of the method's
    per-row statistics (with unlabelled rows, ``flagged_rows``: MixMatch's
    step, ``train_step_single``), and, with ``average_refit``, the weights are
    averaged over the last epochs (``average_``). Built by
    :func:`refit_without_issues` from the estimator's ``refit_net`` class
    attribute; never left behind on the estimator.

    What it takes from the estimator: the parameters that ``RefitNet``
    itself has (every parameter of ``NoisyNeuralNetClassifier``, and every
    ``module__``, ``iterator_train__``, ``callbacks__``, ... one) and what
    the first round learnt of its input (classes, row shape, index, paths).
    Not a subclass's own methods or own ``__init__`` parameters: to change
    how the refit trains, subclass ``RefitNet`` and name it in the
    estimator subclass's ``refit_net`` (user guide, "Continuing training").

    Pickled (a ``Checkpoint(f_pickle=...)`` during the refit, a deep copy),
    it becomes the estimator as ``fit`` will leave it, with the refit's
    current weights.
    """

    @classmethod
    def from_first_round(cls, est):
        """A refit with the settings of ``est`` and what it learnt of its input."""
        known = _init_parameters(cls)
        params = {k: v for k, v in est.get_params(deep=False).items()
                  if k in known or "__" in k}
        refit = cls(**params)
        for name in INPUT_META:
            if hasattr(est, name):
                setattr(refit, name, getattr(est, name))
        refit.first_round_ = est
        refit.first_round_history_ = est.history_  # (a Checkpoint saves it with the state)
        refit.average_ = None
        refit.unlabelled_ = None  # (flagged_rows="unlabelled": set by refit_without_issues)
        refit.refit_choice_ = None  # (set by _second_round.train_refit)
        refit.look_ = None  # (a candidate's look part-way: set by refit_without_issues)
        return refit

    def as_fit_leaves_it(self):
        """The attributes the estimator takes over from the refit."""
        return {"module_": self.module_, "optimizer_": self.optimizer_,
                "criterion_": self.criterion_,
                "callbacks_": self.__dict__.get("all_callbacks_", self.callbacks_),
                "history_": self.history_, "first_round_history_": self.first_round_.history_,
                "refit_choice_": self.refit_choice_}

    def __reduce_ex__(self, protocol):
        first = self.first_round_
        est = object.__new__(type(first))  # a shallow copy: first is left as it is
        est.__dict__.update(first.__dict__)
        est.__dict__.update(self.as_fit_leaves_it())
        return _unpickle_estimator, (type(first), est.__getstate__())

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """Weigh the classes by the kept rows' counts (with ``class_weight``)."""
        super().on_train_begin(net, X=X, y=y, **kwargs)
        if self.unlabelled_ is not None:  # (by the labelled rows' counts)
            y = np.asarray(y)[~self.unlabelled_.cpu().numpy()]
        self.kept_class_weight_ = class_weights(
            self.class_weight, y, self.classes_).to(self.device)

    def train_step_single(self, batch, **fit_params):
        """skorch's training step; with unlabelled rows (``flagged_rows=
        "unlabelled"``) MixMatch's instead: the unlabelled rows' targets the
        refit's own sharpened predictions, the batch mixed with a shuffle of
        itself, and ``functional.semi_supervised_loss`` (module ``_semi``)."""
        if self.unlabelled_ is None:
            return super().train_step_single(batch, **fit_params)
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        index = batch_row_numbers(Xi, self.device)
        x = to_tensor(mixable_rows(Xi), device=self.device)
        x = x if x.is_floating_point() else x.float()
        y_true = to_tensor(yi, device=self.device).long()
        unlabelled = self.unlabelled_[index]
        targets = Fn.as_soft_targets(y_true, len(self.classes_)).to(x.dtype)
        with torch.no_grad():  # the unlabelled rows' targets: the refit's own guess
            logits = check_logits(self.infer(x, **fit_params), self.classes_, self.classes)
            guess = Fn.sharpen(Fn.probabilities(logits)).to(x.dtype)
        targets[unlabelled] = guess[unlabelled]
        order = torch.randperm(len(x), device=x.device)
        mixed, mixed_targets = Fn.mix_rows(x, targets, Fn.mixup_weight(), order)
        y_pred = check_logits(self.infer(mixed, **fit_params), self.classes_, self.classes)
        weights = (self.kept_class_weight_[y_true] if self.class_weight is not None else None)
        loss = Fn.semi_supervised_loss(y_pred, mixed_targets, unlabelled, weights=weights)
        loss.backward()
        # (the batch's own rows' logits, unmixed, for callbacks that score the batch)
        return {"loss": loss, "y_pred": logits}

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """Cross-entropy against the annotations; class-weighted in training."""
        y_pred = check_logits(y_pred, self.classes_, self.classes)
        y_true = to_tensor(y_true, device=self.device)
        per_sample = Fn.soft_cross_entropy(y_pred, y_true)
        loss = (Fn.weighted_mean_loss(per_sample, self.kept_class_weight_[y_true])
                if training and self.class_weight is not None else per_sample.mean())
        world = world_of(self)
        if training and world is not None:  # (the global batch's mean, as one process's)
            loss = world.global_batch_loss(loss, len(per_sample))
        return loss

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        """End the training here (skorch's clean stop, before any callback
        sees the epoch) where the look part-way said so (``look_.stop``)."""
        if self.look_ is not None and self.look_.stop:
            raise KeyboardInterrupt
        super().on_epoch_begin(net, dataset_train=dataset_train, dataset_valid=dataset_valid,
                               **kwargs)

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_end(net, dataset_train=dataset_train, dataset_valid=dataset_valid,
                             **kwargs)
        last = next((b["train_loss"] for b in reversed(self.history[-1, "batches"])
                     if "train_loss" in b), 0.0)  # (the epoch's last training batch's)
        check_not_diverged(self, math.isfinite(last), len(self.history), "refit")
        if (self.look_ is not None and dataset_valid is not None
                and len(self.history) == self.look_.epoch):
            with torch.no_grad():
                self.look_.see(self, dataset_valid)
        if self.average_ is not None:
            self.average_.epoch_end(self.module_, len(self.history))
        if self.unlabelled_ is not None:  # (for recompute_batch_norm: the rows trained on)
            self.trained_rows_ = dataset_train

    def on_train_end(self, net, X=None, y=None, **kwargs):
        """Load the weight average, before the callbacks (so a Checkpoint's best wins)."""
        super().on_train_end(net, X=X, y=y, **kwargs)
        if self.average_ is not None:
            self.average_.train_end(self.module_)
        check_not_diverged(self, weights_finite(self.module_), len(self.history), "refit")


def _init_parameters(cls):
    """The names the ``__init__`` methods of ``cls`` and its bases take."""
    names = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is not None and klass is not object:
            names.update(p.name for p in inspect.signature(init).parameters.values()
                         if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
    names.discard("self")
    return names


def refit_labels(state, X, y_idx):
    """The rows and labels the refit trains on: with a label matrix (``state``
    has votes) each row's top vote as the first round leaves it (ties by the
    model), also in a Dataset's items."""
    if state.has_votes:
        y_idx = state.top_voted_index().cpu().numpy()
        if isinstance(X, Items):  # (whose items carry their labels)
            X = Items(X.source, y_idx, X.labelled, X.paths, X.shape)
    return X, y_idx


def kept_rows(X, rows):
    """Rows ``rows`` of the training data, not copied: of an array (a memory
    map stays on disk) or of a Dataset (read by the workers as before)."""
    return keep_rows(X, rows) if isinstance(X, Items) else KeptRows(X, rows)


def _unpickle_estimator(cls, state):
    """An estimator of class ``cls`` from its ``__getstate__`` (a pickled refit's)."""
    est = cls.__new__(cls)
    est.__setstate__(state)
    return est
