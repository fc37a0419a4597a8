"""The net both rounds train: the estimator's settings, its data path, its
data-parallel training and prediction, over skorch's ``NeuralNetClassifier``.

``NoisyNetBase`` holds what the first round (``NoisyNeuralNetClassifier``,
the method's training hooks) and the second (``RefitNet``, plain
cross-entropy on the kept rows) have in common; each adds its own training
hooks with plain ``super()`` calls. It holds no training hook of its own.
"""

import contextlib
import inspect
import warnings

import numpy as np
from skorch import NeuralNetClassifier
from skorch.callbacks import PrintLog

from ._data import RowsMixin
from ._datasets import is_dataset_input, training_rows
from ._distributed import DataParallelMixin, data_parallel
from ._labels import class_doubts
from ._loss import NoisyLabelLoss
from ._modules import default_module
from ._predict import PredictionMixin
from ._report import MIN_FLAGGED_FRACTION
from ._results import ResultsMixin
from ._review import split_review, with_review
from ._seeding import seeded
from ._split import StratifiedHoldout
from ._state import INPUT_META, RefinementState, input_meta, meta_values
from ._validation import (
    array_training_rows,
    check_criterion,
    check_fit_settings,
    validate_X,
    warn_if_probabilities,
)

__all__ = ["NoisyNetBase"]


#: ``refit_look``'s default: the share of the candidate refits' epochs after
#: which ``refit_rows="choose"`` first compares them, chosen on the validation
#: splits (``benchmarks/results/select_refit.md``, "Choosing after part of the
#: candidates' epochs?").
REFIT_LOOK = 1 / 3

#: The parameters added since the first commit (2026-11-25), each with the value that
#: trains as the versions before it did. An estimator pickled by one of those
#: versions takes these on loading (``NoisyNetBase.__setstate__``), so that a
#: refit, ``partial_fit`` or ``clone`` of it trains as it was trained.
BEFORE_ADDED = {
    "class_weight": None, "rounds": 1, "min_flagged_fraction": 0.1, "average_refit": False,
    "eval_transform": None, "flag_limit": None, "annotator_weighting": None,
    "annotation_target": "top_vote", "distributed": False, "refit_rows": "unflagged",
    "flagged_rows": "drop", "refit_look": None,
}


class NoisyNetBase(DataParallelMixin, RowsMixin, ResultsMixin, PredictionMixin,
                   NeuralNetClassifier):
    """The estimator's parameters, data path, data-parallel training and
    prediction (see :class:`~noisyskl.NoisyNeuralNetClassifier` for the
    parameters). Not used directly."""

    def __init__(
        self,
        module=None,
        *args,
        criterion=NoisyLabelLoss,
        train_split=StratifiedHoldout(0.2),
        classes=None,
        bins=10,
        gamma=1.0,
        mu=0.2,
        warm_up=5,
        refinement="convex",
        weighting="gaussian",
        density="dataset",
        weight_normalization=None,
        class_weight=None,
        rounds=2,
        average_refit=True,
        refit_rows="choose",
        refit_look=REFIT_LOOK,
        flagged_rows="auto",
        min_flagged_fraction=MIN_FLAGGED_FRACTION,
        flag_limit="confident_joint",
        annotator_weighting=None,
        annotation_target="top_vote",
        distributed="auto",
        eval_transform=None,
        random_state=None,
        **kwargs,
    ):
        kwargs.setdefault("iterator_train__shuffle", True)
        super().__init__(
            module, *args, criterion=criterion, train_split=train_split,
            classes=classes, **kwargs,
        )
        self.bins = bins
        self.gamma = gamma
        self.mu = mu
        self.warm_up = warm_up
        self.refinement = refinement
        self.weighting = weighting
        self.density = density
        self.weight_normalization = weight_normalization
        self.class_weight = class_weight
        self.rounds = rounds
        self.average_refit = average_refit
        self.refit_rows = refit_rows
        self.refit_look = refit_look
        self.flagged_rows = flagged_rows
        self.min_flagged_fraction = min_flagged_fraction
        self.flag_limit = flag_limit
        self.annotator_weighting = annotator_weighting
        self.annotation_target = annotation_target
        self.distributed = distributed
        self.eval_transform = eval_transform
        self.random_state = random_state

    def _seeded(self, offset):
        return seeded(self.random_state, self.device, offset)

    def __setstate__(self, state):
        # pickled by an older noisyskl: the parameters added since take the
        # value that trains as it did (BEFORE_ADDED), with a warning
        # (the library's parameters, whatever a subclass's own __init__ takes)
        missing = {name: BEFORE_ADDED.get(name, param.default) for name, param in
                   inspect.signature(NoisyNetBase.__init__).parameters.items()
                   if param.default is not param.empty and name not in state}
        if missing:
            state = {**state, **missing}
            said = ", ".join(f"{name}={value!r}" for name, value in missing.items())
            warnings.warn(
                f"This {type(self).__name__} was pickled by an older noisyskl, which had no "
                f"{', '.join(missing)}: set to what that version did ({said}), so that a "
                "refit, partial_fit or clone trains as it was trained. Call set_params to "
                "train as this version does, or fit a new estimator.", UserWarning,
                stacklevel=2)
        super().__setstate__(state)

    @property
    def _default_callbacks(self):
        # skorch's, with the epoch log leaving out the data-parallel traffic
        # (history key sync_bytes, for benchmarks and tests, not for reading)
        return [(name, PrintLog(keys_ignored=["sync_bytes"]) if name == "print_log" else cb)
                for name, cb in super()._default_callbacks]

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        super().on_batch_end(net, batch=batch, training=training, **kwargs)
        if training and len(self.history) == 1 and len(self.history[-1]["batches"]) == 1:
            if kwargs.get("y_pred") is not None:  # (a training's first batch)
                warn_if_probabilities(kwargs["y_pred"])

    def _note_interruption(self, in_first, in_refit, two_rounds):
        """After a fit: ``interrupted_``, a line in the history, and a warning
        when Ctrl-C stopped the training (the first round's stop with
        ``rounds=2`` was said by the refit's skip)."""
        self.interrupted_ = bool(in_first or in_refit)
        if not self.interrupted_:
            return
        if len(self.history):  # (a Ctrl-C before the first epoch began has no row)
            self.history.record("interrupted", True)
        if in_refit:
            warnings.warn(
                f"fit was interrupted (Ctrl-C) in the rounds=2 refit, in its epoch "
                f"{len(self.history)}: the model and history_ are the refit's as of its last "
                "completed epoch (find_label_issues() is the first round's, complete), and "
                "interrupted_ is True. Call fit again to train both rounds.",
                UserWarning, stacklevel=4)  # user -> fit -> _train -> here
        elif not two_rounds:
            warnings.warn(
                f"fit was interrupted (Ctrl-C) in epoch {len(self.history)}: the model, "
                "refined_labels_ and find_label_issues() are as of the last completed "
                "epoch, and interrupted_ is True. Call fit again to train to the end, or "
                "partial_fit to continue.", UserWarning, stacklevel=4)

    def _take_input(self, fit_input):
        """Take what ``fit`` learnt of its input (a ``FitInput``), in one place:
        the classes, row shape, annotators, index and paths, and the label
        matrix's annotations for the per-row state (``on_train_begin``)."""
        if fit_input.reset:
            if fit_input.classes is not None:
                self.classes_inferred_ = fit_input.classes
            self.input_shape_ = fit_input.input_shape
            self.dataset_classes_ = fit_input.class_names
            if fit_input.from_dataset:  # an earlier array fit's
                for name in ("n_features_in_", "feature_names_in_"):
                    self.__dict__.pop(name, None)
        names = getattr(fit_input.annotations, "names", None)
        if names is None:
            self.__dict__.pop("annotators_", None)
        else:
            self.annotators_ = names
        self.__dict__["pending_annotations_"] = fit_input.annotations
        self.__dict__["pending_trusted_"] = fit_input.trusted
        self.always_trained_rows_ = fit_input.trusted  # (kept out of the held-out rows)
        self.fit_index_, self.fit_paths_ = fit_input.index, fit_input.paths
        return fit_input

    def _forget_input(self):
        """What a fit refused before its first step read of its input, dropped:
        it learnt nothing, so ``classes_`` and the row shape are not known."""
        for name in INPUT_META:
            self.__dict__.pop(name, None)

    @contextlib.contextmanager
    def _together(self, y, annotations=None):
        """Within the block, train with the other processes of a process group
        (``data_parallel``: when there are several), keeping their ``World``
        for the training hooks (``world_of``) while the block runs."""
        with data_parallel(self, y, annotations) as world:
            if world is None:
                yield None
                return
            self.__dict__["_world_"] = world
            try:
                yield world
            finally:
                self.__dict__.pop("_world_", None)

    def _read_training_data(self, X, y, reset, fit_params):
        """``fit``'s settings checked and ``X, y`` read, as a ``FitInput`` (sets
        nothing); warns of classes that look like typos."""
        check_fit_settings(self, fit_params)
        read = training_rows if is_dataset_input(X) else array_training_rows
        y, reviewed_label = split_review(y)
        fit_input = read(self, X, y, reset)
        fit_input = with_review(fit_input, reviewed_label,
                                fit_input.classes if reset else self.classes_)
        if fit_input.reset:
            for doubt in class_doubts(fit_input.classes, fit_input.y_idx):
                warnings.warn(doubt[0].upper() + doubt[1:] + ".", UserWarning,
                              stacklevel=4)  # user -> fit -> _train -> here
        return fit_input

    def _validate_X(self, X, reset):
        return validate_X(self, X, reset)

    @property
    def classes_(self):
        if "classes_inferred_" in vars(self):
            return self.classes_inferred_
        if self.classes is not None:
            return np.unique(np.asarray(self.classes))  # sorted, as at fit
        raise AttributeError(
            f"{type(self).__name__}.classes_ is unknown: fit the estimator first; after "
            "load_params, also load f_refinement_state (it stores the classes) or pass "
            "classes=[...]."
        )

    # ------------------------------------------------------ initialisation
    def initialize_module(self):
        # The per-row state is a module of the net (empty until fit), so that
        # skorch moves, pickles, saves and loads it like the others.
        self.refinement_state_ = RefinementState()
        if self.module is not None:
            return super().initialize_module()
        if not hasattr(self, "input_shape_"):
            raise ValueError("module=None builds an MLP sized from the data, so call fit "
                             "before initialize, or pass a module.")
        self.module_ = default_module(self.input_shape_, len(self.classes_),
                                      **self.get_params_for("module"))
        return self

    def initialize_criterion(self):
        kwargs = self._criterion_settings()
        given = self.get_params_for("criterion")
        check_criterion(self.criterion, given, kwargs)
        kwargs.update(given)
        self.criterion_ = self.initialized_instance(self.criterion, kwargs)
        return self

    def _criterion_settings(self):
        return {"bins": self.bins, "mu": self.mu, "weighting": self.weighting,
                "weight_normalization": self.weight_normalization}

    def load_params(self, *args, **kwargs):
        """skorch's ``load_params``; ``f_refinement_state`` also restores the
        refined labels, per-row statistics and the classes.

        See the user guide for what each of ``f_params``, ``f_optimizer``,
        ``f_criterion``, ``f_history`` and ``f_refinement_state`` keeps.
        """
        super().load_params(*args, **kwargs)
        for name, value in meta_values(self.refinement_state_.meta).items():
            setattr(self, name, value)
        return self

    def save_params(self, *args, **kwargs):
        """skorch's ``save_params``; ``f_refinement_state`` also keeps what the
        estimator learnt of its input and, after a ``rounds=2`` fit, the first
        round's history (``first_round_history_``)."""
        if getattr(self, "refinement_state_", None) is not None:
            self.refinement_state_.meta = input_meta(self)
        return super().save_params(*args, **kwargs)
