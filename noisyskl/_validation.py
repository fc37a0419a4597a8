"""Checks of hyper-parameters and labels, each raising one clear error."""

import numbers

import numpy as np

from ._functional import REFINEMENT_FORMS, WEIGHTINGS

DENSITIES = ("dataset", "batch")
WEIGHT_NORMALIZATIONS = (None, "mean")


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


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
    if not isinstance(est.average_refit, (bool, np.bool_)):
        raise TypeError(f"average_refit must be True or False; got {est.average_refit!r}.")
    frac = est.min_flagged_fraction
    if not _is_real(frac):
        raise TypeError(f"min_flagged_fraction must be a number in (0, 1]; got {frac!r}.")
    if not 0.0 < frac <= 1.0:
        raise ValueError(f"min_flagged_fraction must lie in (0, 1]; got {frac}.")
    rs = est.random_state
    if rs is not None and not _is_int(rs):
        raise TypeError(f"random_state must be None or an int; got {rs!r} of type "
                        f"{type(rs).__name__}.")
    if rs is not None and rs < 0:
        raise ValueError(f"random_state must be a non-negative int; got {rs}.")


def as_label_array(y):
    """Return ``y`` as a 1-D numpy array (a copy is never modified)."""
    if y is None:
        raise ValueError("NoisyNeuralNetClassifier requires y to be passed, but the target y is "
                         "None: pass the annotated labels.")
    if hasattr(y, "detach"):  # torch tensor
        y = y.detach().cpu().numpy()
    elif hasattr(y, "to_numpy"):  # pandas Series / DataFrame
        y = y.to_numpy()
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(
            f"y must be 1-D with one label per row of X; got shape {y.shape}. "
            "If it is a column vector, pass y.ravel()."
        )
    if np.iscomplexobj(y):
        raise ValueError("y has a complex dtype; labels must be integers, strings or other "
                         "hashable values.")
    return y


def missing_label_rows(y):
    """Indices of rows whose label is missing (None or NaN)."""
    if y.dtype.kind == "f":
        return np.flatnonzero(np.isnan(y))
    if y.dtype.kind == "O":
        return np.array([i for i, v in enumerate(y) if v is None or (v != v)], dtype=int)
    return np.array([], dtype=int)


def encode_labels(y, classes):
    """Map labels to indices into ``classes``.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
    classes : ndarray of shape (n_classes,)

    Returns
    -------
    ndarray of shape (n_samples,), int64

    Raises
    ------
    ValueError
        If a label of ``y`` is not in ``classes``.
    """
    order = np.argsort(classes, kind="stable")
    sorted_classes = classes[order]
    pos = np.clip(np.searchsorted(sorted_classes, y), 0, len(classes) - 1)
    unknown = sorted_classes[pos] != y
    if np.any(unknown):
        bad = np.unique(y[unknown])[:5]
        hint = ""
        if y.dtype.kind in "iu" and classes.dtype.kind not in "iu":
            hint = (" (sklearn's cross_val_predict with method='predict_proba' passes y "
                    "encoded as 0..n_classes-1: leave classes out, or give it as those codes.)")
        raise ValueError(
            f"y contains labels that are not among the classes {list(classes)}: "
            f"{list(bad)}. Pass every label in `classes=`, or fit on data that has them."
            + hint
        )
    return order[pos].astype(np.int64)
