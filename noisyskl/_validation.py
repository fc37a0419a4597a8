"""Checks of hyper-parameters, input, labels and the module's output, each raising
one clear error."""

import numbers
import warnings
from collections.abc import Mapping

import numpy as np
import torch
from sklearn.utils.validation import validate_data

from ._annotators import fit_label_matrix, is_label_matrix
from ._data import KEPT_DTYPES
from ._fit_input import FitInput
from ._functional import DENSITY_WEIGHTINGS, REFINEMENT_FORMS, WEIGHTINGS
from ._labels import (
    check_labels,
    encode_labels,
    first_other_row,
    fit_classes,
    look_alike_classes,
    plain_label,
)
from ._loss import NoisyLabelLoss

DENSITIES = ("dataset", "batch")
WEIGHT_NORMALIZATIONS = (None, "mean")
FLAG_LIMITS = ("confident_joint", None)
REFIT_ROWS = ("choose", "unflagged")
FLAGGED_ROWS = ("auto", "drop", "unlabelled")
ANNOTATOR_WEIGHTINGS = (None, "reliability")
ANNOTATION_TARGETS = ("top_vote", "vote_shares")


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_fit_settings(est, fit_params):
    """Before ``fit`` reads its input: the hyper-parameters, ``bins``' use and
    the fit parameters."""
    check_hyperparameters(est)
    warn_if_bins_unused(est)
    check_fit_params(fit_params)


def check_hyperparameters(est):
    """Raise ``TypeError``/``ValueError`` for an out-of-range hyper-parameter."""
    if not _is_int(est.bins):
        raise TypeError(f"bins must be an integer >= 1; got {est.bins!r} of type "
                        f"{type(est.bins).__name__}.")
    if est.bins < 1:
        raise ValueError(f"bins must be an integer >= 1; got {est.bins}.")
    if not _is_real(est.gamma):
        raise TypeError(f"gamma must be a real number > 0; got {est.gamma!r}.")
    if not (np.isfinite(est.gamma) and est.gamma > 0):
        raise ValueError(f"gamma must be a finite number > 0; got {est.gamma}.")
    if not _is_real(est.mu):
        raise TypeError(f"mu must be a real number in [0, 1]; got {est.mu!r}.")
    if not 0.0 <= est.mu <= 1.0:
        raise ValueError(f"mu must lie in [0, 1] (g is in [0, 1]); got {est.mu}.")
    if not _is_int(est.warm_up):
        raise TypeError(f"warm_up must be an integer number of epochs >= 0; got {est.warm_up!r}.")
    if est.warm_up < 0:
        raise ValueError(f"warm_up must be >= 0 epochs; got {est.warm_up}.")
    if est.refinement is not None and est.refinement not in REFINEMENT_FORMS:
        raise ValueError(f"refinement must be one of {REFINEMENT_FORMS} or None; "
                         f"got {est.refinement!r}.")
    if est.weighting is not None and est.weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS} or None; got {est.weighting!r}.")
    if est.density not in DENSITIES:
        raise ValueError(f"density must be one of {DENSITIES}; got {est.density!r}.")
    if est.weight_normalization not in WEIGHT_NORMALIZATIONS:
        raise ValueError(f"weight_normalization must be one of {WEIGHT_NORMALIZATIONS}; "
                         f"got {est.weight_normalization!r}.")
    if not _is_int(est.rounds):
        raise TypeError(f"rounds must be 1 or 2; got {est.rounds!r}.")
    if est.rounds not in (1, 2):
        raise ValueError(f"rounds must be 1 or 2; got {est.rounds}.")
    if est.refit_rows not in REFIT_ROWS:
        raise ValueError(f"refit_rows must be 'choose' or 'unflagged'; got {est.refit_rows!r}.")
    if est.flagged_rows not in FLAGGED_ROWS:
        raise ValueError(f"flagged_rows must be 'auto' (the default), 'drop' (leave the "
                         f"flagged rows out of the rounds=2 refit) or 'unlabelled' (keep them "
                         f"without their labels); got {est.flagged_rows!r}.")
    look = est.refit_look
    if look is not None and (not _is_real(look) or isinstance(look, (bool, np.bool_))):
        raise TypeError(f"refit_look must be a share of the epochs in (0, 1] or None; "
                        f"got {look!r}.")
    if look is not None and not 0.0 < look <= 1.0:
        raise ValueError(f"refit_look must lie in (0, 1] (a share of the refits' epochs; "
                         f"1/3 is the default), or be None (choose at their end); got {look}.")
    if not isinstance(est.average_refit, (bool, np.bool_)):
        raise TypeError(f"average_refit must be True or False; got {est.average_refit!r}.")
    frac = est.min_flagged_fraction
    if not _is_real(frac):
        raise TypeError(f"min_flagged_fraction must be a number in (0, 1]; got {frac!r}.")
    if not 0.0 < frac <= 1.0:
        raise ValueError(f"min_flagged_fraction must lie in (0, 1]; got {frac}.")
    if est.flag_limit not in FLAG_LIMITS:
        raise ValueError(f"flag_limit must be one of {FLAG_LIMITS}; got {est.flag_limit!r}.")
    if est.annotator_weighting not in ANNOTATOR_WEIGHTINGS:
        raise ValueError(f"annotator_weighting must be one of {ANNOTATOR_WEIGHTINGS}; got "
                         f"{est.annotator_weighting!r}.")
    if est.annotation_target not in ANNOTATION_TARGETS:
        raise ValueError(f"annotation_target must be one of {ANNOTATION_TARGETS}; got "
                         f"{est.annotation_target!r}.")
    distributed = getattr(est, "distributed", "auto")  # (an estimator pickled before it)
    if not (distributed is False or (isinstance(distributed, str) and distributed == "auto")):
        raise ValueError(f'distributed must be "auto" or False; got {distributed!r}.')
    rs = est.random_state
    if rs is not None and not _is_int(rs):
        raise TypeError(f"random_state must be None or an int; got {rs!r} of type "
                        f"{type(rs).__name__}.")
    if rs is not None and rs < 0:
        raise ValueError(f"random_state must be a non-negative int; got {rs}.")


def check_logits(y_pred, classes, classes_given):
    """The module's output (the first of a tuple) as logits of shape (n, n_classes).

    ``classes``: the fit's classes; ``classes_given``: the estimator's
    ``classes`` argument (a hint when None).
    """
    if isinstance(y_pred, tuple):
        y_pred = y_pred[0]
    n_classes = len(classes)
    if y_pred.dim() != 2 or y_pred.shape[1] != n_classes:
        hint = ""
        if y_pred.dim() == 2 and y_pred.shape[1] > n_classes and classes_given is None:
            hint = (" If the training data (e.g. a cross-validation fold) lacks some "
                    "classes, pass classes=[...] with every label.")
        elif y_pred.dim() == 2 and y_pred.shape[1] < n_classes:
            alike = look_alike_classes(np.asarray(classes))
            hint = (f" The labels have the classes {np.asarray(classes).tolist()[:20]}"
                    + (f", of which {alike} look like one class spelt several ways"
                       if alike else "") + "; correct the labels, or size the module "
                    f"for {n_classes} classes.")
        raise ValueError(
            f"The module returned output of shape {tuple(y_pred.shape)}, but there are "
            f"{n_classes} classes; it must return logits of shape (batch, {n_classes})."
            + hint
        )
    return y_pred


def validate_X(est, X, reset):
    """X as an array of float32 (or of a kept dtype such as uint8), checked by
    scikit-learn's ``validate_data`` (which sets ``est.n_features_in_`` and
    ``est.feature_names_in_`` when ``reset``); rows of ``est.input_shape_``
    when not ``reset``."""
    if isinstance(X, Mapping):
        raise TypeError(
            f"X is a dict of arrays ({list(X)[:5]}), which skorch passes to the module's "
            "forward as keywords; NoisyNeuralNetClassifier keeps one refined target per row "
            "and takes X as one array of shape (n_samples, ...). Concatenate the inputs "
            "into one array and split them in the module's forward.")
    if (isinstance(X, (list, tuple)) and len(X) and isinstance(X[0], (tuple, list))
            and len(X[0]) == 2 and hasattr(X[0][0], "shape")):
        raise TypeError(
            "X is a list of (x, label) pairs, which is what scikit-learn makes of a torch "
            "Dataset it slices (cross_val_score, GridSearchCV, train_test_split): wrap the "
            "Dataset in skorch.helper.SliceDataset(dataset) and pass y.")
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu()
        if not X.is_floating_point():  # its dtype is then numpy's too
            X = X.numpy()
    # images of bytes and the like stay as they are (cast a batch at a time)
    dtype = X.dtype if getattr(X, "dtype", None) in KEPT_DTYPES else np.float32
    strings = _numeric_string_columns(X)
    if strings:  # as scikit-learn's dtype="numeric": never converted silently
        raise ValueError(
            f"X holds numbers as strings ({strings}), which scikit-learn's estimators "
            "refuse too (dtype='numeric' is not compatible with arrays of "
            "bytes/strings). Convert them explicitly first, e.g. X.astype(np.float32) "
            "or pandas.to_numeric.")
    try:
        X = validate_data(est, X, reset=reset, allow_nd=True, dtype=dtype)
    except ValueError as err:
        text = _text_columns(X)
        if text:
            raise ValueError(
                f"X has columns that are not numbers: {text}. The network takes numbers "
                "only: encode them first, e.g. with OneHotEncoder or OrdinalEncoder in a "
                "ColumnTransformer placed before the net in a Pipeline.") from err
        raise
    if not reset and hasattr(est, "input_shape_") and X.shape[1:] != est.input_shape_:
        raise ValueError(f"X has rows of shape {X.shape[1:]}, but this estimator was "
                         f"fitted on rows of shape {est.input_shape_}.")
    return X


def _numeric_string_columns(X, at_most=5):
    """Where X holds numbers written as strings or bytes (which would convert):
    a DataFrame's column names (up to ``at_most``), ``["X"]`` for an array;
    [] otherwise (text that does not convert is ``_text_columns``' to name)."""
    def numeric_strings(values):
        if values.dtype.kind not in "OSU" or not any(isinstance(v, (str, bytes))
                                                      for v in values.ravel()):
            return False
        try:
            values.astype(np.float32)
        except (ValueError, TypeError):
            return False
        return True

    if hasattr(X, "columns"):
        return [name for name in X.columns if numeric_strings(np.asarray(X[name]))][:at_most]
    if isinstance(X, (list, tuple)):
        X = np.asarray(X)
    if isinstance(X, np.ndarray) and numeric_strings(X):
        return ["X"]
    return []


def _text_columns(X, at_most=5):
    """Names of a DataFrame's columns (up to ``at_most``) that do not convert to float."""
    if not hasattr(X, "columns"):
        return []
    bad = []
    for name in X.columns:
        try:
            np.asarray(X[name], dtype=np.float32)
        except (ValueError, TypeError):
            bad.append(name)
            if len(bad) == at_most:
                break
    return bad


class TrainingDiverged(ValueError):
    """Raised by ``fit`` when the network's outputs, loss or weights stop being
    numbers (NaN or infinite): a learning rate far too high, features not
    scaled. The message names the epoch and the fixes. The estimator is left
    not fitted; a ``rounds=2`` refit that diverges keeps the first round's
    model."""


def check_not_diverged(est, finite, epoch, where="training"):
    """Raise :class:`TrainingDiverged` where ``finite`` (whether the epoch's
    outputs or losses were all numbers) is False, naming the fixes."""
    if finite:
        return
    raise TrainingDiverged(
        f"The {where} diverged in epoch {epoch}: the network's outputs or loss are no longer "
        "numbers (NaN or infinite), so nothing it learnt from then on can be used. Lower lr "
        f"(now {est.lr}), scale the features (e.g. sklearn's StandardScaler), or clip the "
        "gradients (skorch.callbacks.GradientNormClipping), and fit again.")


def weights_finite(module):
    """Whether every parameter of ``module`` is a number (one device sync)."""
    checks = [torch.isfinite(p).all() for p in module.parameters()]
    return not checks or bool(torch.stack(checks).all())


def check_criterion(criterion, given, settings):
    """Refuse a criterion the estimator cannot build with its own ``settings``.

    Parameters
    ----------
    criterion : object
        The estimator's ``criterion``: must be ``NoisyLabelLoss`` or a subclass.
    given : dict
        The ``criterion__*`` arguments.
    settings : dict
        What the estimator sets on the criterion (``bins``, ``mu``, ...).
    """
    cls = criterion if isinstance(criterion, type) else type(criterion)
    if not issubclass(cls, NoisyLabelLoss):
        raise TypeError(f"criterion must be NoisyLabelLoss or a subclass; got {criterion!r}. "
                        "For another loss use skorch's NeuralNetClassifier.")
    if not isinstance(criterion, type):  # its own settings would be replaced silently
        raise TypeError(
            f"criterion must be a class, built with the estimator's bins, mu, weighting "
            f"and weight_normalization; got an instance, {criterion!r}. Pass its class, set "
            "those on the estimator and other arguments as criterion__<arg> (e.g. "
            "criterion__sigma_floor=0.1).")
    clash = sorted(set(given) & set(settings))
    if clash:  # they would be overridden by the estimator's own at every fit
        name = clash[0]
        raise ValueError(
            f"criterion__{name} duplicates the estimator's own {name}, which sets the "
            f"criterion's; set {name}={given[name]!r} on the estimator instead (in a "
            f"Pipeline or grid search: <step>__{name}).")


def warn_if_probabilities(y_pred):
    """Warn when a module's outputs already sum to one on every row (a module
    ending in softmax): the criterion expects logits. Called on the first
    training batch of a fit."""
    if isinstance(y_pred, tuple):
        y_pred = y_pred[0]
    out = y_pred.detach().float()
    if out.dim() == 2 and out.shape[1] > 1 and bool(
            (out >= 0).all() & ((out.sum(1) - 1).abs() < 1e-3).all()):
        warnings.warn(
            "The module's outputs sum to one on every row of the first batch: it looks as "
            "if it ends in a softmax, but the criterion takes logits (it applies the "
            "softmax itself). Remove the final softmax layer from the module.",
            UserWarning, stacklevel=2)


def warn_if_nothing_refined(est):
    """Warn when ``est.max_epochs`` ends a fit before its first refinement;
    return whether it warned."""
    if est.refinement is None or est.max_epochs >= max(est.warm_up, 1):
        return False
    warnings.warn(
        f"warm_up={est.warm_up} but max_epochs={est.max_epochs}: training "
        "ends before the first refinement, so no target is refined"
        + (" and the rounds=2 refit, which would train again on every row, is skipped"
           if est.rounds == 2 else "")
        + ". Raise max_epochs or lower warm_up.",
        UserWarning, stacklevel=5)  # user -> fit -> _train -> (caller) -> here
    return True


#: The default ``bins``; another value under a weighting without alpha warns.
DEFAULT_BINS = 10


#: The weightings ``warn_if_bins_unused`` has warned about in this process.
_BINS_WARNED = set()


def warn_if_bins_unused(est):
    """Warn when ``est.bins`` is set but its weighting has no density weight
    alpha, the only thing ``bins`` sets: once per process and weighting, so
    that a grid search over ``bins`` (whose clones each fit) warns once."""
    if (est.bins != DEFAULT_BINS and est.weighting not in DENSITY_WEIGHTINGS
            and est.weighting not in _BINS_WARNED):
        _BINS_WARNED.add(est.weighting)
        warnings.warn(
            f"bins only sets the density weight alpha, which weighting={est.weighting!r} "
            "does not use, so it changes nothing here (a grid over bins alone gives the "
            "same scores). Search it with weighting='both' or 'density'.",
            UserWarning, stacklevel=6)  # user -> fit -> _train -> _read_... -> check_... -> here


def check_fit_params(fit_params):
    """Refuse ``fit`` arguments the method cannot take (``sample_weight``)."""
    if "sample_weight" in fit_params:
        raise TypeError(
            "fit takes no sample_weight (skorch would pass it to the module's forward): "
            "per-row weights are the method's own. For per-class weights use "
            "class_weight={label: weight} or 'balanced'.")


def array_training_rows(est, X, y, reset):
    """Arrays' training rows for ``est.fit`` (the counterpart of
    ``_datasets.training_rows``): X validated, and its labels (1-D, or a
    label matrix) as class indices, with what ``est`` learns of its input
    (classes, annotators, row shape, the DataFrame's index), as a
    ``FitInput``; sets nothing on ``est``."""
    if est.eval_transform is not None:
        raise TypeError(
            "eval_transform applies to a torch Dataset's held-out rows, but X is "
            f"a {type(X).__name__}; arrays have no transform. Pass eval_transform=None, "
            "or fit on a Dataset.")
    index = getattr(X, "index", None) if hasattr(X, "columns") else None
    check_same_rows(X, y)
    raw, X = X, est._validate_X(X, reset=reset)
    floating = floating_values(raw)  # (after the checks: raw is numeric then)
    annotations = None
    if is_label_matrix(y):
        found, annotations, y_idx = fit_label_matrix(est, y, len(X), reset)
        if index is None and hasattr(y, "columns"):  # the report indexed as the labels
            index = y.index
    else:
        y = check_labels(y, len(X))
        found = fit_classes(y, est.classes) if reset else est.classes_
        y_idx = encode_labels(y, found)
    return FitInput(rows=X, y_idx=y_idx, classes=found if reset else None,
                    annotations=annotations, input_shape=X.shape[1:] if reset else None,
                    index=index, paths=None, reset=reset, from_dataset=False,
                    floating=floating)


def check_same_rows(X, y):
    """Refuse a DataFrame X and a labelled y (Series, label-matrix DataFrame)
    whose indexes name other rows or another order: rows are paired by
    position, so each row would take another row's labels (``pivot`` sorts its
    index as text: img0, img1, img10, ...). A default ``RangeIndex`` on either
    side carries no ids, and is paired by position as before."""
    import pandas as pd

    x_index, y_index = (getattr(v, "index", None) for v in (X, y))
    if (not isinstance(x_index, pd.Index) or not isinstance(y_index, pd.Index)
            or len(x_index) != len(y_index)
            or any(isinstance(i, pd.RangeIndex) and i.start == 0 and i.step == 1
                   for i in (x_index, y_index))):
        return
    at = first_other_row(x_index, y_index)
    if at is None:  # (the same labels, of other dtypes)
        return
    show = [plain_label(i[at]) for i in (x_index, y_index)]
    raise ValueError(
        f"X's index and y's index are not the same rows in the same order (row {at} is "
        f"{show[0]!r} in X, {show[1]!r} in y), and fit pairs rows by position, so rows "
        "would take other rows' labels. Align y first, e.g. y = y.loc[X.index] (pivot "
        "sorts its index), or reset both indexes if the order is right.")


def floating_values(X):
    """Whether X's values are floating point as given: a tensor's or an
    array's dtype, every column of a DataFrame (before ``validate_X`` casts
    integers to float32); where the dtype is ``object`` (an array of Python
    numbers, such a column), the values'."""
    if isinstance(X, torch.Tensor):
        return X.is_floating_point()
    dtypes = getattr(X, "dtypes", None)
    if dtypes is not None and not hasattr(X, "dtype"):  # a DataFrame (pandas or Polars)
        return all(_floating_column(X[name], dtype) for name, dtype in zip(X.columns, dtypes))
    dtype = getattr(X, "dtype", None)
    if getattr(dtype, "kind", "O") == "O":  # (a list of rows: its first row's, not a copy of all)
        first = X[0] if isinstance(X, (list, tuple, np.ndarray)) and len(X) else X
        dtype = np.asarray(np.asarray(first).tolist()).dtype
    return np.issubdtype(dtype, np.floating)


def _floating_column(column, dtype):
    """Whether a DataFrame's column holds floating-point values."""
    is_float = getattr(dtype, "is_float", None)  # (a Polars data type's own answer)
    if callable(is_float):
        return bool(is_float())
    import pandas as pd

    if getattr(dtype, "kind", None) == "O":
        return pd.api.types.infer_dtype(column, skipna=True) in ("floating", "mixed-integer-float")
    return pd.api.types.is_float_dtype(dtype)
