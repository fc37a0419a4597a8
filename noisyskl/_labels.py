"""Labels: checked, their classes found, encoded as class indices, and the
per-class weights of ``class_weight``.

One label per row here; a label matrix (several annotators) is read by
``_annotators``, which encodes its votes with these functions.
"""

import numbers
import re
import sys
from collections.abc import Mapping

import numpy as np
import torch
from sklearn.utils.multiclass import check_classification_targets

from . import _functional as Fn

__all__ = ["as_label_array", "check_known_labels", "check_labels", "class_doubts",
           "class_weights", "encode_labels", "first_other_row", "fit_classes",
           "label_kind", "look_alike_classes", "missing_label_rows", "plain_label"]


def label_kind(value):
    """A label's kind, so that numpy's and Python's scalars of one kind mix."""
    for kind, types in (("bool", (bool, np.bool_)), ("string", (str, bytes)),
                        ("integer", numbers.Integral), ("number", numbers.Real)):
        if isinstance(value, types):
            return kind
    return type(value).__name__


def _check_one_kind(values):
    """Refuse 1-D labels that mix strings, booleans and numbers (numpy would
    turn a list's numbers into strings, and an object array cannot be sorted)."""
    kinds = {label_kind(v) for v in values
             if not (v is None or (isinstance(v, float) and v != v)
                     or type(v).__name__ == "NAType")}  # (missing: said later)
    kinds = {"number" if k == "integer" else k for k in kinds}
    if len(kinds) > 1:
        raise ValueError(f"y mixes labels of kinds {sorted(kinds)}; give every label the "
                         "same kind (e.g. all strings: [str(v) for v in y]).")


def as_label_array(y):
    """Return ``y`` as a 1-D numpy array (a copy is never modified)."""
    if y is None:
        raise ValueError("NoisyNeuralNetClassifier requires y to be passed, but the target y is "
                         "None: pass the annotated labels.")
    if hasattr(y, "detach"):  # torch tensor
        y = y.detach().cpu().numpy()
    elif hasattr(y, "to_numpy"):  # pandas Series / DataFrame
        y = y.to_numpy()
    if isinstance(y, (list, tuple)):
        _check_one_kind(y)
    y = np.asarray(y)
    if y.dtype == object and y.ndim == 1:
        _check_one_kind(y.tolist())
    if y.ndim != 1:
        raise ValueError(
            f"y must be 1-D labels (one per row of X) or a 2-D label matrix (one column "
            f"per annotator); got shape {y.shape}."
        )
    if np.iscomplexobj(y):
        raise ValueError("y has a complex dtype; labels must be integers, strings or other "
                         "hashable values.")
    return y


def missing_label_rows(y):
    """Indices of rows whose label is missing (None, NaN, or pandas' ``NA``, as
    a nullable ``"string"`` or ``"Int64"`` Series holds)."""
    if y.dtype.kind == "f":
        return np.flatnonzero(np.isnan(y))
    if y.dtype.kind == "O":
        pandas = sys.modules.get("pandas")  # (y can hold pandas' NA only if it is loaded)
        na = None if pandas is None else pandas.NA  # (NA != NA is NA, whose truth raises)
        return np.array([i for i, v in enumerate(y) if v is None or v is na or (v != v)],
                        dtype=int)
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
            f"y contains labels that are not among the classes {classes.tolist()}: "
            f"{bad.tolist()}. Pass every label in `classes=`, or fit on data that has them."
            + hint
        )
    return order[pos].astype(np.int64)


def class_weights(class_weight, y_idx, classes):
    """Per-class loss weights from the estimator's ``class_weight``.

    Parameters
    ----------
    class_weight : None, "balanced" or dict of label -> weight
    y_idx : ndarray of shape (n_samples,), int
        Annotations as indices into ``classes`` (``"balanced"`` counts them).
    classes : ndarray of shape (n_classes,)

    Returns
    -------
    Tensor of shape (n_classes,), float32
        Ones for None; ``n_samples / (n_classes * count)`` for ``"balanced"``
        (1 for a class without rows); the dict's weights, 1 for labels it lacks.
    """
    n_classes = len(classes)
    if class_weight is None:
        return torch.ones(n_classes)
    if isinstance(class_weight, str) and class_weight == "balanced":
        return Fn.balanced_class_weights(torch.as_tensor(y_idx), n_classes)
    if not isinstance(class_weight, Mapping):
        raise TypeError(f"class_weight must be None, 'balanced' or a dict of "
                        f"label -> weight; got {class_weight!r}.")
    index = {label: i for i, label in enumerate(classes.tolist())}
    weights = torch.ones(n_classes)
    for label, weight in class_weight.items():
        key = label.item() if hasattr(label, "item") else label
        if key not in index:
            raise ValueError(f"class_weight has a label {key!r} that is not among the "
                             f"classes {classes.tolist()}.")
        if not (isinstance(weight, (int, float, np.number)) and np.isfinite(weight)
                and weight >= 0):
            raise ValueError(f"class_weight[{key!r}] must be a finite number >= 0; "
                             f"got {weight!r}.")
        weights[index[key]] = float(weight)
    present = np.unique(np.asarray(y_idx))
    if len(present) and not bool((weights[present] > 0).any()):
        raise ValueError("class_weight weighs every class of the training rows 0, so the "
                         "loss is 0 and nothing would train; give at least one of them a "
                         "positive weight (classes the dict leaves out weigh 1).")
    return weights


def check_labels(y, n_rows, what="y"):
    """``y`` as a 1-D array of ``n_rows`` classification labels, none missing
    (``what``: where the labels came from, as the error names them)."""
    y = as_label_array(y)
    if len(y) != n_rows:
        raise ValueError(f"X and y have different lengths: {n_rows} rows in X, "
                         f"{len(y)} labels in y.")
    missing = missing_label_rows(y)
    if len(missing):
        raise ValueError(f"{what} has {len(missing)} missing labels (None, NaN or pandas' "
                         f"NA), e.g. at rows "
                         f"{missing[:5].tolist()}; drop those rows or label them.")
    check_classification_targets(y)
    return y


def fit_classes(y, classes):
    """The classes of a fit, sorted: those of ``y``, or the ``classes`` given."""
    found = np.unique(y) if classes is None else np.asarray(classes)
    if len(np.unique(found)) != len(found):
        raise ValueError(f"classes has repeated labels: {found.tolist()}.")
    # sorted, as scikit-learn's: its scorers (log loss, ROC AUC) read the
    # predict_proba columns in sorted label order
    found = np.unique(found)
    if len(found) < 2:
        where = "y" if classes is None else "`classes`"
        raise ValueError(f"{where} has only one class ({found.tolist()}); "
                         "classification needs at least two.")
    return found


def check_known_labels(y, classes):
    """Refuse labels of ``y`` (e.g. a scored fold's) that are not among ``classes``."""
    unseen = np.setdiff1d(np.unique(as_label_array(y)), classes)
    if len(unseen):
        raise ValueError(
            f"y has labels that were not among the classes at fit: {unseen[:5].tolist()}. "
            "If a training fold can lack a class, pass classes=[...] with every label "
            "to the estimator."
        )


def look_alike_classes(classes):
    """Groups of class names that differ only by case, surrounding whitespace
    or trailing punctuation (``"Tumour"``, ``"tumour "``, ``"tumour."``,
    ``"stroma_"``): likely one class spelt several ways. Only string names
    are compared; ``"A+"`` and ``"A-"``, ``"<=50K"`` and ``">50K"`` differ.

    Returns
    -------
    list of lists of the names, each group in the classes' order
    """
    groups = {}
    for name in classes.tolist():
        if isinstance(name, str):  # (a trailing "+" or "-", "<=" or ">" is meaningful)
            key = re.sub(r"[\s._,;:]+$", "", name.strip().casefold())
            if key:
                groups.setdefault(key, []).append(name)
    return [group for group in groups.values() if len(group) > 1]


def class_doubts(classes, y_idx):
    """What looks wrong in a fit's classes, as sentences (empty when nothing):
    names that look alike (``look_alike_classes``), and classes of a single
    row (``y_idx``: each row's class index)."""
    doubts = [f"the classes {group} differ only by case, surrounding whitespace or "
              "punctuation: if they are one class, correct the labels (e.g. "
              "y.str.strip().str.lower()) before fit" for group in look_alike_classes(classes)]
    counts = np.bincount(np.asarray(y_idx), minlength=len(classes))
    single = classes[counts == 1].tolist()
    if single:
        doubts.append(f"the classes {single[:10]} have a single row each (a typo?); a class "
                      "needs rows to be learnt, and its row may be held out for validation")
    return doubts


def plain_label(value):
    """An index label as a value ``torch.load(weights_only=True)`` reads: a
    number, string, bool, None or a tuple of them (a MultiIndex's); any other
    (a timestamp) as its string."""
    if isinstance(value, np.generic):  # (np.str_, np.float64, ...: not plain to torch.load)
        value = value.item()
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, tuple):
        return tuple(plain_label(v) for v in value)
    return str(value)


def first_other_row(ours, theirs):
    """The first position where two pandas Indexes of one length name another
    row, or None where they name the same rows in the same order. Labels are
    compared as :func:`plain_label` keeps them (a timestamp equals its
    string, as after ``save_params``), NaN equal to NaN."""
    import pandas as pd

    if ours.equals(theirs):
        return None
    ours, theirs = ([plain_label(v) for v in i.tolist()] for i in (ours, theirs))
    for at, (a, b) in enumerate(zip(ours, theirs)):
        if not (a == b or (pd.isna(a) is True and pd.isna(b) is True)):
            return at
    return None
