"""The estimator: ``fit`` (inputs, the first round, the refit if asked) and
the method's training hooks.

It holds no formula (``_functional``), no settings, data path, prediction or
data-parallel plumbing (``_net``, the base it shares with the refit), no
second round (``_refit``: ``rounds=2`` trains a ``RefitNet``, whose model
``_take_refit`` makes the estimator's) and no reports (``_results``).
"""

from skorch.dataset import unpack_data
from skorch.utils import to_tensor

from . import _functional as Fn
from ._data import batch_row_numbers, training_row_numbers
from ._datasets import DatasetReadError, stopped_reading
from ._distributed import world_of
from ._labels import class_weights
from ._net import NoisyNetBase
from ._predict import softmax
from ._refit import (
    MIN_REFINEMENTS,
    RefitNet,
    announce_first_round,
    mixable_rows,
    module_weights,
    noting_ctrl_c,
)
from ._review import warn_if_review_dropped
from ._second_round import second_round, unlabelled_refit, warn_if_class_flagged_away
from ._seeding import rng_kept
from ._state import input_meta, state_for_training
from ._validation import (
    TrainingDiverged,
    check_logits,
    check_not_diverged,
    warn_if_nothing_refined,
    weights_finite,
)

__all__ = ["NoisyNeuralNetClassifier"]


class NoisyNeuralNetClassifier(NoisyNetBase):
    """Neural-network classifier for partly wrong labels (CN 112232407 A).

    A skorch :class:`~skorch.classifier.NeuralNetClassifier` whose loss weights
    each sample's cross-entropy by a gradient-density factor alpha and a
    Gaussian factor beta, and which refines its stored training targets
    between epochs, moving each annotation towards the model's prediction
    the more the model disagrees with it. See the user guide for the formulas
    and how they map to the patent's steps S110-S180.

    The defaults were chosen on validation splits of the training data (docs:
    "Choosing the hyper-parameters"): the Gaussian weight alone
    (``weighting="gaussian"``; ``"both"`` is the patent's alpha * beta), and
    ``rounds=2``, which refits on the rows the first training did not flag
    (``rounds=1`` is the patent's method alone, at half the training time).

    Parameters
    ----------
    module : torch module class or instance, or None, default=None
        Must return logits of shape (n, n_classes). None builds one sized
        from the data: :class:`~noisyskl.SmallCNN` when X has shape
        (n, channels, height, width), else :class:`~noisyskl.MLPModule`
        (``module__*`` arguments such as ``module__hidden_units`` go to it).
    criterion : class, default=NoisyLabelLoss
        :class:`~noisyskl.NoisyLabelLoss` or a subclass; it is built with
        ``bins``, ``mu``, ``weighting`` and ``weight_normalization`` (set them
        here, not as ``criterion__bins`` etc., which is refused); its other
        arguments (``criterion__sigma_floor``) pass through.
    bins : int, default=10
        Number of equal bins of [0, 1] for the gradient density (B), which
        only the density weight alpha reads (``weighting="both"`` or
        ``"density"``): under the default ``weighting="gaussian"`` it changes
        nothing, and a value other than 10 warns so. Search it together with
        ``weighting``.
    gamma : float, default=1.0
        Refinement exponent: ``r = h ** gamma``. Larger values refine only
        samples the model strongly disagrees with.
    mu : float, default=0.2
        Centre of the Gaussian weight, in [0, 1]. Small values favour samples
        the model already fits and hold back memorisation of wrong labels.
    warm_up : int, default=5
        Epochs trained on the annotations before targets are first refined;
        refinement happens at the end of epoch ``max(warm_up, 1)`` and of every
        later epoch. Counts epochs across ``partial_fit``/``warm_start`` calls.
        ``fit`` (without ``warm_start``) warns when ``max_epochs`` ends
        training before the first refinement.
    refinement : {"convex", "printed"} or None, default="convex"
        ``"convex"``: ``t = (1 - r) e + r p``. ``"printed"``: the patent's
        printed formula ``(1 - r) e + r (p - e)``, whose targets are not
        probability vectors. None: never refine.
    weighting : {"both", "density", "gaussian"} or None, default="gaussian"
        Which loss weights to use: alpha * beta (the patent), alpha, beta, or
        none (plain cross-entropy on the refined targets).
    density : {"dataset", "batch"}, default="dataset"
        Reference set for the density and sigma: the whole training set
        (the patent; updated incrementally, O(batch) per batch) or each batch.
    weight_normalization : {None, "mean"}, default=None
        ``"mean"`` rescales each batch's weights to mean one.
    class_weight : None, "balanced" or dict, default=None
        Multiplies each training row's loss weight by the weight of its
        *annotated* class: ``"balanced"`` as scikit-learn, or a dict of label
        -> weight (missing labels get 1). Not in the patent (user guide).
    rounds : {1, 2}, default=2
        1: train once, as the patent does. 2 (not in the patent): then train a
        fresh network (a module instance starts again from its weights as
        ``fit`` began, so a pretrained backbone stays pretrained) with plain
        cross-entropy on the rows the first round did *not* flag (find the
        label issues, remove them, refit, as cleanlab's ``CleanLearning``
        does, in two trainings instead of its K + 1; ``flagged_rows`` may
        keep them without their labels, ``refit_rows`` choose a refit on
        every row instead). The
        report and ``refined_labels_`` are the first round's; the model and
        ``history_`` the refit's (``first_round_history_`` keeps the first).
        The refit is skipped, with a warning, after Ctrl-C in the first round,
        after fewer than three refinements, and when implausibly many rows
        were flagged; an error in it raises and leaves the first round's
        model (user guide, "Continuing training").
    average_refit : bool, default=True
        With ``rounds=2``, the refit's model is the running mean of its
        weights and batch-norm statistics over its last ``max(max_epochs //
        3, 1)`` epochs (:class:`torch.optim.swa_utils.AveragedModel`), which
        guards against a refit that ends on a bad epoch. A
        ``Checkpoint(load_best=True)`` overrides it; a refit stopped before
        its last third keeps its last weights. False: the last epoch's.
    refit_rows : {"choose", "unflagged"}, default="choose"
        Which rows the ``rounds=2`` refit trains on. ``"unflagged"``: those
        the first round did not flag (the default before 2026-12-06).
        ``"choose"`` (ours): two refits, one without the flagged rows and one
        on every row, both holding out the rows the first round held out
        (``train_split``); the one kept has the higher accuracy on those rows,
        corrected for the label noise the first round estimated
        (``functional.noise_corrected_accuracy``), so where the model is the
        weaker witness (clean labels it cannot fit) the labels win. Costs a
        third training; ``refit_choice_`` says what was kept and why. Without
        held-out rows (``train_split=None``) the two hold out a fifth of
        their own, and the kind kept then trains again on all the rows
        given to training (for "unflagged", without the flagged ones, or
        with them unlabelled, ``flagged_rows``): a fourth training. With
        callbacks of your own and an int ``random_state``, a kept "every"
        refit trains again, the same, so that they end on it. A
        data-parallel fit refits on the unflagged rows.
    refit_look : float in (0, 1] or None, default=1/3
        With ``refit_rows="choose"``: after this share of their epochs
        (``max(1, round(max_epochs * refit_look))``) the two candidates are
        scored on the held-out rows as at their end, with their weights of
        that epoch (not averaged). Where the refit without the flagged rows
        scores at least as high there it is kept, and the refit on every
        row, trained second, stops there (the rest of its epochs saved);
        else both train to their end and their end scores decide (with 1,
        the look is the last epoch's raw weights). Chosen on the validation
        splits (66 fits: it stopped the refit on every row in 42 and kept
        the same refit as the choice at the end in 57; clean validation
        accuracy 0.801 against 0.797; docs/method.md). With callbacks of
        your own (which end on the refit trained last) both train every
        epoch, the same choice made. After a Ctrl-C the candidate that
        finished is kept, where one did. None: both train every epoch and
        their end decides (the default to 2026-12-07).
    flagged_rows : {"auto", "drop", "unlabelled"}, default="auto"
        What the ``rounds=2`` refit "without the flagged rows" does with
        them. ``"auto"``: ``"unlabelled"`` when the rows are floating-point
        feature vectors given as an array (X of two dimensions: features,
        embeddings; an ``object`` array or column counts by its values, a
        Polars frame by its columns' types) on the estimator's own data
        path, where the validation splits chose it; ``"drop"`` for images
        (arrays of images lose with it; user guide, "Choosing the
        settings"), integer features (token ids, ordinal codes), a
        ``dataset`` or ``collate_fn`` of your own and a Dataset's rows.
        ``"drop"``: leaves them out (the default to 2026-12-07). ``"unlabelled"``: keeps them
        without their annotations, as DivideMix keeps the rows it
        distrusts: each batch's flagged rows get the refit's own sharpened
        prediction as target, the batch is mixed with a shuffle of itself
        (MixMatch's mixup), and the loss is cross-entropy on the labelled
        rows plus the unlabelled rows' squared error
        (``functional.semi_supervised_loss``); batch-norm statistics are
        computed again on the rows unmixed at the end (one more pass). Each
        batch's rows must be one tensor (else a ``TypeError`` at the first
        batch). Not supported in a data-parallel fit (the rows are dropped;
        with a warning if ``"unlabelled"`` was asked for). Where it helps
        and where not: user guide, "Choosing the settings".
    min_flagged_fraction : float in (0, 1], default=0.1
        A row is flagged by the vote when, in at least this fraction of the
        refinements, its refined target favoured another class; the label
        issues are those flags, within ``flag_limit`` (see
        :meth:`find_label_issues`). Lower flags more rows (higher recall,
        lower precision). Decides which rows the ``rounds=2`` refit leaves
        out, so it can be grid-searched like the other hyper-parameters.
    flag_limit : {"confident_joint", None}, default="confident_joint"
        ``"confident_joint"`` (not in the patent): at most as many label issues
        as the calibrated confident joint (Northcutt et al. 2021) of the first
        refinement's predictions, made before the network memorises the wrong
        labels, counts wrong labels (``estimated_label_issues_``); of the rows
        the vote flags, the lowest-quality ones. None: the vote alone.
    annotator_weighting : {None, "reliability"}, default=None
        With a label matrix (several annotators per row): None weighs every
        annotator's vote alike; ``"reliability"`` (ours, not the patent's)
        re-weighs the votes at each refinement by the log-odds of each
        annotator's soft agreement with the refined targets
        (``functional.annotator_quality``; docs/method.md, "Several
        annotators per row"). No effect with one label per row.
    annotation_target : {"top_vote", "vote_shares"}, default="top_vote"
        With a label matrix or soft labels, what takes the one-hot
        annotation's place in the targets and the refinement: the one-hot of
        each row's top-voted class (a tie goes to the class the model
        predicts, re-read at every refinement), or the row's annotation
        distribution itself. Chosen by measurement (user guide, "Several
        annotators"). The flags and the reports use the distribution either
        way.
    distributed : {"auto", False}, default="auto"
        ``"auto"``: when ``fit`` runs in every process of an initialised
        ``torch.distributed`` process group of more than one process (a
        ``torchrun`` launch), train data-parallel as one network with one
        whole-set state: each process trains on its share of every global
        batch of ``batch_size`` rows per process, through PyTorch's
        ``DistributedDataParallel``, and the density, sigma and per-row state
        are the whole set's in every process (user guide, "Scaling out").
        False: each process fits on its own.
    eval_transform : callable or None, default=None
        With a torch Dataset as X whose items come through a ``transform``
        attribute (as torchvision's datasets do): the transform the rows held
        out by ``train_split`` are read through, e.g. one without
        augmentation. The estimator reads them from a shallow copy of the
        Dataset with that ``transform``; the Dataset passed is not modified.
        Prediction reads the Dataset it is given as it is.
    random_state : int or None, default=None
        Seeds module initialisation, shuffling, dropout and what a Dataset
        draws from torch's RNG (an augmentation) inside ``fit``, in each
        training and in the ``rounds=2`` choice's held-out scoring (through
        :func:`torch.random.fork_rng`, so the global torch RNG is left as it
        was). A Dataset drawing from numpy's or Python's global RNG in the
        main process (``num_workers=0``) is not seeded. None uses the global
        RNG.
    classes : array-like or None, default=None
        All class labels; needed when a training fold may lack a class. In
        any order: ``classes_`` holds them sorted, as scikit-learn's do.
    **kwargs
        Any other skorch ``NeuralNet`` argument (``max_epochs``, ``lr``,
        ``optimizer``, ``batch_size``, ``callbacks``, ``device``,
        ``train_split``, ...). Unlike skorch, ``train_split`` defaults to
        :class:`~noisyskl.StratifiedHoldout` (a stratified fifth held out at
        random, seeded by ``random_state``, not each class's first fifth),
        and ``iterator_train__shuffle`` to True (an
        ``iterator_train__sampler`` or ``__batch_sampler`` decides the order).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, sorted; columns of ``predict_proba`` and
        ``refined_labels_``.
    n_features_in_ : int
        ``X.shape[1]`` at fit.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Column names, when X was a DataFrame with string column names.
    refined_labels_ : ndarray of shape (n_samples, n_classes), float32
        Refined soft targets, one row per row of the X given to ``fit``, as
        of the last completed epoch (held-out rows: from the validation
        pass's predictions; before refinement, the one-hot annotations).
    gradient_norms_ : ndarray of shape (n_samples,), float32
        Each training row's last gradient norm g (against its target then);
        NaN for held-out rows.
    sample_weights_ : ndarray of shape (n_samples,), float32
        Each training row's last loss weight, kept to within 0.4% (stored as
        bfloat16; training uses the criterion's float32 weights); NaN for
        held-out rows.
    train_mask_ : ndarray of shape (n_samples,), bool
        True for the rows that were trained on.
    interrupted_ : bool
        Whether the last ``fit`` or ``partial_fit`` was stopped by Ctrl-C (the
        history's last row then also has ``interrupted``); check it before
        saving a model.
    history_ : skorch History
        With ``rounds=2`` the refit's (plain cross-entropy: skorch's entries
        only); the first round's is ``first_round_history_``, which per epoch
        also has ``n_refined`` (training rows whose refined label differs from
        the annotation), ``n_refined_valid`` (held-out rows), ``mean_g``,
        ``sigma`` and ``train_ce`` (the training rows' plain cross-entropy
        against their annotations; ``train_loss`` is the weighted loss).
        With ``refit_rows="choose"``, the kept refit's.
    refit_choice_ : dict or None
        With ``rounds=2``: ``refit_rows`` (the rows the kept refit trained
        on, ``"every"`` or ``"unflagged"``), ``reason``, and ``flagged_rows``
        (what the refit without the flagged rows did with them: ``"drop"``
        or ``"unlabelled"``, as ``"auto"`` decided); when
        ``refit_rows="choose"`` chose, also ``held_out_rows`` and, per refit,
        ``score_every``/``score_unflagged`` (held-out accuracy corrected for
        noise) and ``annotation_accuracy_every``/``_unflagged`` (against the
        held-out annotations as given), for each refit that trained to its
        end; with ``refit_look``, also ``look_epoch``, ``look_score_every``/
        ``_unflagged`` (the scores there; None where a look could not score:
        the validation iterator dropped rows) and ``epochs_every``/``_unflagged``
        (the epochs each trained: the refit on every row's stops at the look
        where it does not lead). None with ``rounds=1`` or when the
        refit was skipped (a warning says why).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from noisyskl import NoisyNeuralNetClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = NoisyNeuralNetClassifier(max_epochs=5, verbose=0, random_state=0)
    >>> clf.fit(X, y).predict_proba(X[:2]).shape
    (2, 3)
    >>> clf.refined_labels_.shape
    (150, 3)
    """

    refit_net = RefitNet  #: the rounds=2 refit's class (user guide, "Continuing training")

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None, **fit_params):
        """Initialise (unless ``warm_start``) and train.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...), or a torch Dataset
            ndarray, torch tensor or pandas DataFrame (cast to float32; uint8
            and other small integer types are kept and cast a batch at a
            time). Or a map-style :class:`torch.utils.data.Dataset` of ``(x,
            label)`` items (``x`` alone when y is given), a ``Subset`` of one
            or a :class:`skorch.helper.SliceDataset`: read a batch at a time
            with ``iterator_train__num_workers`` workers, never copied; its
            rows are numbered by its own index (user guide, "Training from
            image files").
        y : array-like of shape (n_samples,), (n_samples, n_annotators), or None
            Annotated labels of any hashable kind (strings, integers, ...).
            Needed with arrays. With a Dataset, None takes them from its
            ``targets`` (as torchvision's ``ImageFolder`` has) or else from
            one pass over its items. Several annotators per row: a label
            matrix (array or DataFrame, one column per annotator, NaN or None
            where one did not label the row), or :class:`~noisyskl.SoftLabels`
            of shape (n_samples, n_classes) (user guide, "Several
            annotators").
        **fit_params
            Passed to the module's ``forward`` and to ``train_split``.

        Returns
        -------
        self
        """
        restart = not (self.warm_start and self.initialized_)
        return self._train(X, y, restart, "fit", **fit_params)

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Train for ``max_epochs`` more epochs without re-initialising.

        Refinement continues where it stopped (the warm-up counts all epochs
        so far) as long as X has the same number of rows; otherwise the
        per-sample state starts anew.

        Parameters
        ----------
        X, y, **fit_params
            As in :meth:`fit`.
        classes : array-like or None
            All class labels, on the first call (as sklearn's ``partial_fit``).

        Returns
        -------
        self
        """
        if classes is not None and not self.initialized_:
            self.set_params(classes=list(classes))
        return self._train(X, y, not self.initialized_, "partial_fit", **fit_params)

    def _train(self, X, y, restart, routing_method, **fit_params):
        """Inputs, the first round, and the refit if asked (``rounds=2``, a new fit)."""
        with rng_kept(self.device):  # (a Dataset's rows read to check them may draw)
            fit_input = self._take_input(self._read_training_data(X, y, restart, fit_params))
        two_rounds = restart and self.rounds == 2
        if restart:
            self.refit_choice_ = None  # (an earlier fit's; _take_refit sets this fit's)
        # (whether the refit will mix its batches' rows: on_batch_begin checks the first)
        as_unlabelled = two_rounds and unlabelled_refit(self, fit_input)
        with noting_ctrl_c() as note:
            with self._seeded(0 if restart else len(self.history)):
                try:
                    self.__dict__["_check_mixable_"] = as_unlabelled
                    warned_short, initial = self._first_round(fit_input, restart, two_rounds,
                                                              routing_method, **fit_params)
                finally:
                    self.__dict__.pop("_check_mixable_", None)
            in_first = note["ctrl_c"]
            if (restart and not two_rounds and not in_first
                    and int(self.refinement_state_.n_refinements) >= MIN_REFINEMENTS):
                warn_if_class_flagged_away(self)
            if two_rounds:
                self._take_refit(second_round(self, fit_input.rows, fit_input.y_idx, in_first,
                                              warned_short, routing_method,
                                              initial_weights=initial, ctrl_c=note,
                                              as_unlabelled=as_unlabelled,
                                              **fit_params))
        self._note_interruption(in_first, note["ctrl_c"] and not in_first, two_rounds)
        return self

    def _first_round(self, fit_input, restart, two_rounds, routing_method, **fit_params):
        """Train with the method (skorch's ``partial_fit``: on_train_begin,
        fit_loop, where a KeyboardInterrupt ends training cleanly,
        on_train_end); return whether fit warned that nothing will be refined,
        and a module instance's initial weights for the refit."""
        warned_short = initial = None
        initialized = not restart  # (a new fit's history begins once initialize returns)
        try:
            if restart:
                for name in ("first_round_history_", "holdout_seed_"):  # an earlier fit's
                    self.__dict__.pop(name, None)
                self.initialize()
                initialized = True
                if two_rounds:  # a module instance's, for the refit to start from
                    initial = module_weights(self)
                # (partial_fit and warm_start fits count the warm-up across calls)
                if routing_method == "fit" and not self.warm_start:
                    warned_short = warn_if_nothing_refined(self)
                if warned_short:  # (no refit: nothing will be mixed)
                    self.__dict__.pop("_check_mixable_", None)
            if two_rounds and self.verbose:
                announce_first_round(self, len(fit_input.rows))
            with self._together(fit_input.y_idx, fit_input.annotations):  # (several processes)
                super().partial_fit(fit_input.rows, fit_input.y_idx,
                                    _routing_method=routing_method, **fit_params)
        except Exception as err:
            trained = not restart or (initialized and trained_a_step(self.history))
            if not trained or isinstance(err, TrainingDiverged):
                # (refused before any step: the default module refusing the rows, a
                # module that does not fit the classes, a class_weight, rows the refit
                # could not mix, a row that failed to read. The module is the failed
                # fit's, untrained: not fitted, not a model to use, no classes_; or a
                # training that diverged: its weights are NaN)
                self.initialized_ = False
                self._forget_input()
            if not isinstance(err, DatasetReadError):
                raise
            self.interrupted_ = True  # (as after Ctrl-C, which the message compares it to)
            raise stopped_reading(err, len(self.history), refit_skipped=two_rounds,
                                  trained=trained) from err
        return bool(warned_short), initial

    def _take_refit(self, refit):
        """The one place the trained refit's model, history etc. become the estimator's."""
        if refit is None:  # (skipped)
            self.refit_choice_ = None
            return
        for name, value in refit.as_fit_leaves_it().items():
            setattr(self, name, value)

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """Create or resume the per-sample state; apply current hyper-parameters."""
        super().on_train_begin(net, X=X, y=y, **kwargs)
        warn_if_review_dropped(self.refinement_state_, self.__dict__.get("pending_trusted_"))
        state, resumed = state_for_training(
            self.refinement_state_, y, len(self.classes_),
            self.__dict__.pop("pending_annotations_", None), self.annotation_target,
            trusted=self.__dict__.pop("pending_trusted_", None))
        state.meta = input_meta(self)
        state.class_weight = class_weights(self.class_weight, y, self.classes_)
        self.refinement_state_ = state.to(self.device)
        crit = self.criterion_  # (set_params changes apply under warm_start too)
        for key, value in self._criterion_settings().items():
            setattr(crit, key, value)
        crit.start_training(len(y), self.density == "dataset", resumed).to(self.device)

    # ------------------------------------------------------------- training
    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        """Before the first round's first batch, refuse rows the refit could
        not mix (``flagged_rows="unlabelled"``; ``"auto"`` mixes only rows
        that can be), rather than after the round."""
        if training and self.__dict__.pop("_check_mixable_", False) and world_of(self) is None:
            mixable_rows(unpack_data(batch)[0])  # (raising, it leaves the estimator not fitted)
        super().on_batch_begin(net, batch=batch, training=training, **kwargs)

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_check_mixable_", None)  # (fit's, while its first batch is to come)
        return state

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """The method's weighted loss on the rows' current targets (training),
        or plain cross-entropy against the annotation (validation, or a
        batch without row numbers).

        Each training batch of the estimator's own updates the whole-set
        density, and every batch of its own keeps its predictions for the
        next refinement (``RefinementState.record_*``).
        """
        y_pred = check_logits(y_pred, self.classes_, self.classes)
        y_true = to_tensor(y_true, device=self.device)
        index = batch_row_numbers(X, self.device)
        state, crit = self.refinement_state_, self.criterion_
        if not training:  # held-out rows (or a predefined_split of the user's)
            if index is not None:
                state.record_held_out(index, softmax(y_pred.detach()))
            return Fn.soft_cross_entropy(y_pred, y_true).mean()
        if index is None:  # called outside fit's loop: no per-row state to use
            return crit(y_pred, y_true)
        world = world_of(self)
        loss = crit(y_pred, state.targets[index],
                    sample_index=index if self.density == "dataset" else None,
                    sample_weight=(None if self.class_weight is None
                                   else state.class_weight[state.annotation[index].long()]),
                    reduce=None if world is None else world.sum_)
        state.record_training(index, crit.last_proba, crit.last_gradient_norm, crit.last_weight)
        if world is not None:  # a data-parallel fit: the global batch's mean loss
            world.trained[index] = True
            loss = world.global_batch_loss(loss, len(index), crit.last_batch_rows)
        return loss

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        """Refine the targets (after the warm-up) and log the epoch's statistics."""
        super().on_epoch_end(net, dataset_train=dataset_train, dataset_valid=dataset_valid,
                             **kwargs)
        state, crit = self.refinement_state_, self.criterion_
        epoch = len(self.history)
        world, whole_set = world_of(self), crit.density is not None and self.density == "dataset"
        # the training rows (the only ones the density store is updated with)
        rows = training_row_numbers(dataset_train, self.device) if world or whole_set else None
        if world is not None:  # every process's rows, in every process
            world.sync_rows([state, crit.density] if whole_set else [state], rows)
        # (NaN outputs would pass for untrained rows and flag nothing: say so instead)
        check_not_diverged(self, bool(state.proba.isfinite().all()), epoch)
        if self.refinement is not None and epoch >= max(self.warm_up, 1):
            state.update_annotators(self.annotator_weighting)  # (with a label matrix)
            state.refine(self.gamma, self.refinement, self.annotation_target)
            if int(state.n_refinements) == 1:
                # how many labels look wrong, from predictions not yet memorised
                state.estimate_issues()
        if whole_set:
            crit.density.resync(rows=rows)
            sigma = crit.density.sigma(crit.sigma_floor)
        else:
            sigma = crit.last_sigma
        for key, value in state.end_epoch().items():  # n_refined, mean_g, ...
            self.history.record(key, value)
        self.history.record("sigma", float(sigma) if sigma is not None else float("nan"))
        if world is not None:
            self.history.record("sync_bytes", world.take_bytes())


    def on_train_end(self, net, X=None, y=None, **kwargs):
        """Refuse weights the last step made NaN (each epoch's check sees the
        outputs before its last step)."""
        super().on_train_end(net, X=X, y=y, **kwargs)
        check_not_diverged(self, weights_finite(self.module_), len(self.history))


def trained_a_step(history):
    """Whether skorch's ``history`` records a training step (a batch's
    ``train_loss``) in any epoch."""
    return any("train_loss" in batch for epoch in history for batch in epoch["batches"])
