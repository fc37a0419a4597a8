"""Several annotations per row: reading a label matrix or soft labels, the
consensus a held-out row is scored against, and the per-annotator report.

A label matrix has one column per annotator and NaN/None where an annotator
did not label the row; soft labels are an (n, n_classes) matrix of vote
shares or probabilities, passed as :class:`SoftLabels` so that they can never
be read as the labels of n_classes annotators. Either becomes, per row, an
annotation distribution (``functional.vote_distribution``) that takes the
place of the patent's one-hot annotation (docs/method.md, "Several
annotators per row"). The math is in ``_functional``; this module only turns
user input into arrays and arrays into reports.
"""

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.model_selection import StratifiedKFold

from ._labels import encode_labels, fit_classes, label_kind
from ._votes import (
    top_voted,
    vote_distribution,
)

__all__ = [
    "Annotations",
    "SoftLabels",
    "VoteStratifiedKFold",
    "consensus_accuracy",
    "fit_label_matrix",
    "is_label_matrix",
    "majority_vote",
    "read_annotations",
    "same_annotations",
]

#: How far a soft label row may sum from one.
SUM_TOLERANCE = 1e-3


class SoftLabels(np.ndarray):
    """Soft labels: an (n_samples, n_classes) matrix of vote shares or probabilities.

    Wrap a matrix in ``SoftLabels`` to pass it as ``y``: a plain 2-D array is
    read as a label matrix, one column per annotator, so a float matrix of
    shares could otherwise be taken for the labels of ``n_classes``
    annotators (a float matrix of non-integer values is refused for that
    reason). It is a NumPy array (a subclass), so scikit-learn's splitters
    and searches index it as one and its slices stay ``SoftLabels``.

    Parameters
    ----------
    values : array-like or pandas.DataFrame of shape (n_samples, n_classes)
        Non-negative rows that sum to one. A DataFrame's columns name the
        classes.
    classes : array-like of shape (n_classes,) or None, default=None
        The class of each column, in column order; None: a DataFrame's
        columns, else ``0 .. n_classes - 1``. With a DataFrame whose columns
        name the classes, the columns are put in this order by name; columns
        that name other classes are refused.

    Attributes
    ----------
    classes : ndarray of shape (n_classes,)

    Examples
    --------
    >>> import numpy as np
    >>> y = SoftLabels([[0.5, 0.5], [1.0, 0.0]], classes=["normal", "lesion"])
    >>> y[1:].classes.tolist()
    ['normal', 'lesion']
    """

    def __new__(cls, values, classes=None):
        if hasattr(values, "columns"):
            values = _columns_as_classes(values, classes)
            classes = np.asarray(values.columns)
        values = values.to_numpy() if hasattr(values, "to_numpy") else values
        obj = np.array(values, dtype=np.float64).view(cls)
        if obj.ndim != 2:
            raise ValueError(f"SoftLabels must be 2-D, (n_samples, n_classes); got shape "
                             f"{obj.shape}.")
        obj.classes = np.arange(obj.shape[1]) if classes is None else np.asarray(classes)
        if obj.classes.shape != (obj.shape[1],):
            raise ValueError(f"SoftLabels has {obj.shape[1]} columns but {len(obj.classes)} "
                             "classes; give one class per column.")
        return obj

    def __array_finalize__(self, obj):
        self.classes = getattr(obj, "classes", None)

    def _as_plain_unless_labels(self, out):
        # a column, a reduction (argmax, sum) or a subset of the columns is
        # not soft labels of these classes: a plain array
        if isinstance(out, SoftLabels) and (
                out.ndim != 2 or self.classes is None or out.shape[1] != len(self.classes)):
            return out.view(np.ndarray)
        return out

    def __getitem__(self, key):
        return self._as_plain_unless_labels(super().__getitem__(key))

    def argmax(self, *args, **kwargs):  # (numpy's methods keep the subclass)
        return np.asarray(self).argmax(*args, **kwargs)

    def argmin(self, *args, **kwargs):
        return np.asarray(self).argmin(*args, **kwargs)

    def __array_wrap__(self, out, context=None, return_scalar=False):
        out = super().__array_wrap__(out, context, return_scalar)
        return self._as_plain_unless_labels(out) if isinstance(out, np.ndarray) else out

    def __reduce__(self):  # pickled (joblib workers) with its classes
        rebuild, args, state = super().__reduce__()
        return rebuild, args, (state, self.classes)

    def __setstate__(self, state):
        array_state, self.classes = state
        super().__setstate__(array_state)


@dataclass
class Annotations:
    """A label matrix or soft labels, encoded against the fit's classes.

    Attributes
    ----------
    votes : ndarray of shape (n, k), int64, or None
        Class index from each annotator, -1 where missing (None for soft labels).
    shares : ndarray of shape (n, n_classes), float32, or None
        Soft labels' rows (None for a label matrix, whose distribution comes
        from the votes and, with ``annotator_weighting``, their weights).
    names : ndarray of shape (k,) or None
        The annotators (a DataFrame's columns, else 0 .. k-1).
    """

    votes: np.ndarray = None
    shares: np.ndarray = None
    names: np.ndarray = None

    def distribution(self, n_classes):
        """Each row's annotation distribution with equal annotator weights."""
        if self.shares is not None:
            return self.shares
        return vote_distribution(torch.as_tensor(self.votes), n_classes).numpy()

    def majority(self, n_classes):
        """Each row's most-voted class index (ties: the first in class order)."""
        return self.distribution(n_classes).argmax(1)


def is_label_matrix(y):
    """Whether ``y`` is several annotations per row: a 2-D array, tensor,
    DataFrame or list of lists, or :class:`SoftLabels`."""
    if hasattr(y, "columns") and hasattr(y, "iloc"):
        return True
    if isinstance(y, (list, tuple)):
        return len(y) > 0 and isinstance(y[0], (list, tuple))
    return getattr(y, "ndim", None) == 2


def _missing(values):
    """Missing entries: None, NaN, pandas' NA and NaT (``pandas.isna``)."""
    import pandas as pd

    return np.asarray(pd.isna(values), dtype=bool).reshape(values.shape)


def _columns_as_classes(frame, classes):
    """A DataFrame of soft labels with its columns in ``classes``' order (by
    name; a default ``RangeIndex`` of columns takes ``classes`` as its names);
    refused where the columns name other classes."""
    import pandas as pd

    if classes is None:
        return frame
    classes = list(np.asarray(classes).tolist())
    columns = frame.columns
    if isinstance(columns, pd.RangeIndex) and columns.start == 0 and columns.step == 1:
        return frame.set_axis(classes, axis=1)  # (no names: classes names them)
    if sorted(map(str, columns)) != sorted(map(str, classes)):
        raise ValueError(
            f"SoftLabels: the DataFrame's columns {list(columns)[:8]} are not the classes "
            f"{classes[:8]}; name the columns by class (classes=None takes them), or pass "
            "the values without names (frame.to_numpy()).")
    by_text = {str(c): c for c in columns}
    return frame[[by_text[str(c)] for c in classes]].set_axis(classes, axis=1)


def _rows(mask, at_most=5):
    return np.flatnonzero(mask)[:at_most].tolist()


def _read_soft(y, n_rows, classes):
    shares = np.asarray(y, dtype=np.float64)
    if shares.shape[0] != n_rows:
        raise ValueError(f"X and y have different lengths: {n_rows} rows in X, "
                         f"{shares.shape[0]} rows of soft labels in y.")
    bad = ~np.isfinite(shares).all(1)
    if bad.any():
        raise ValueError(f"Soft labels must be finite; rows {_rows(bad)} are not "
                         f"({int(bad.sum())} in all).")
    bad = (shares < 0).any(1)
    if bad.any():
        raise ValueError(f"Soft labels must be non-negative; rows {_rows(bad)} have negative "
                         f"entries ({int(bad.sum())} in all).")
    sums = shares.sum(1)
    bad = np.abs(sums - 1) > SUM_TOLERANCE
    if bad.any():
        raise ValueError(f"Soft label rows must sum to one; rows {_rows(bad)} sum to "
                         f"{np.round(sums[bad][:5], 4).tolist()} ({int(bad.sum())} rows in "
                         "all). Divide each row by its sum if they are counts.")
    given = np.asarray(y.classes)
    if len(given) != shares.shape[1] or len(np.unique(given)) != len(given) or len(given) < 2:
        raise ValueError(f"SoftLabels needs one distinct class per column and at least two; "
                         f"got classes {given.tolist()} for {shares.shape[1]} columns.")
    if classes is not None and not np.array_equal(np.sort(np.asarray(classes)), np.sort(given)):
        raise ValueError(f"The SoftLabels' classes {given.tolist()} differ from classes="
                         f"{list(classes)}; give SoftLabels(values, classes=...) the class of "
                         "each column.")
    order = np.argsort(given, kind="stable")  # columns in sorted class order, as classes_
    return np.unique(given), Annotations(shares=(shares / sums[:, None])[:, order].astype(
        np.float32))


def _refuse_one_hot(values, missing):
    """A one-hot matrix (Keras' ``to_categorical``, ``LabelBinarizer``) would
    read as one 0/1 label per class column: refuse it, naming the fix."""
    if (values.shape[1] < 3 or missing.any() or values.dtype.kind not in "biuf"
            or not np.isin(values, (0, 1)).all()):
        return
    if (values.astype(np.float64).sum(1) == 1).all():
        raise ValueError(
            f"y looks one-hot (every row of its {values.shape[1]} columns holds a single 1), "
            "not a label matrix of one column per annotator: pass the class indices, "
            "y.argmax(1), or pass it as noisyskl.SoftLabels(y).")


def read_annotations(y, n_rows, classes=None, every_annotator=True):
    """Check a label matrix or soft labels and encode them.

    Parameters
    ----------
    y : array-like or DataFrame of shape (n_samples, n_annotators), or SoftLabels
    n_rows : int
        Rows of X.
    classes : array-like or None
        The estimator's ``classes`` (None: those found in ``y``).
    every_annotator : bool, default=True
        Refuse an annotator column with no label (``fit``; scoring and
        ``majority_vote`` need no annotator of their own).

    Returns
    -------
    (fit_classes, annotations) : ndarray of shape (n_classes,), Annotations
        The classes, sorted, and the encoded annotations.

    Raises
    ------
    ValueError
        Naming the rows or columns: a row with no annotation, an annotator
        with no label, a label not among ``classes``, a float matrix of
        non-integer values (soft labels not wrapped), soft rows that are
        negative or do not sum to one.
    """

    if isinstance(y, SoftLabels):
        return _read_soft(y, n_rows, classes)
    names = np.asarray(y.columns, dtype=object) if hasattr(y, "columns") else None
    if hasattr(y, "detach"):
        y = y.detach().cpu().numpy()
    if isinstance(y, (list, tuple)):
        y = np.array(y, dtype=object)
    values = y.to_numpy() if hasattr(y, "to_numpy") else np.asarray(y)
    if values.ndim != 2:
        raise ValueError(f"A label matrix must be 2-D, (n_samples, n_annotators); got shape "
                         f"{values.shape}.")
    if names is None:
        names = np.arange(values.shape[1])
    if len(set(names.tolist())) != len(names):
        repeated = sorted({str(n) for n in names.tolist() if names.tolist().count(n) > 1})
        raise ValueError(f"The label matrix repeats annotator columns {repeated}; give each "
                         "annotator one column.")
    if values.shape[0] != n_rows:
        raise ValueError(f"X and y have different lengths: {n_rows} rows in X, "
                         f"{values.shape[0]} rows in the label matrix y.")
    if values.dtype.kind in "US" and (values == "nan").any():
        raise ValueError(
            "The label matrix is an array of strings with 'nan' entries (a NumPy string "
            "array turns NaN into the text 'nan'): mark missing labels with None in an "
            "object array (np.array(..., dtype=object)) or NaN in a DataFrame.")
    missing = _missing(values)
    empty = missing.all(1)
    if empty.any():
        raise ValueError(f"Rows {_rows(empty)} of the label matrix have no annotation "
                         f"({int(empty.sum())} in all); drop them or label them.")
    unused = missing.all(0)
    if unused.any() and every_annotator:
        raise ValueError(f"Annotator columns {names[unused].tolist()} have no label; drop "
                         "them from the label matrix (in cross-validation: an annotator "
                         "who labelled none of a fold's training rows).")
    _refuse_one_hot(values, missing)
    labels = values[~missing]
    if values.dtype.kind == "f":
        if not np.all(labels == np.round(labels)):
            raise ValueError(
                "y is a float matrix with non-integer values, so it is not a label matrix "
                "(one column per annotator, class labels, NaN where missing). If its rows are "
                "vote shares or probabilities, pass them as noisyskl.SoftLabels(y).")
        labels = labels.astype(np.int64)  # integer labels with NaN gaps: as integers
    elif values.dtype.kind == "O":
        kinds = {label_kind(v) for v in labels}
        if len(kinds) > 1:
            raise ValueError(f"The label matrix mixes labels of kinds {sorted(kinds)}; give "
                             "every label the same kind (e.g. all strings).")
        labels = np.array(labels.tolist())
    found = fit_classes(labels, classes)
    unknown = ~np.isin(labels, found)
    if unknown.any():
        cells = np.argwhere(~missing)[unknown]
        raise ValueError(
            f"The label matrix has labels that are not among the classes {found.tolist()}: "
            f"{np.unique(labels[unknown])[:5].tolist()}, in rows {cells[:5, 0].tolist()} "
            f"(columns {np.unique(names[cells[:, 1]])[:5].tolist()}). Pass every label in "
            "`classes=`, or correct those entries.")
    votes = np.full(values.shape, -1, dtype=np.int64)
    votes[~missing] = encode_labels(labels, found)
    return found, Annotations(votes=votes, names=names)


def fit_label_matrix(est, y, n_rows, reset):
    """Read a label matrix or soft labels for ``est.fit``, changing nothing
    on ``est``.

    Returns
    -------
    (classes, annotations, top_voted) : ndarray, Annotations, ndarray of shape (n,), int64
        The classes, the encoded annotations (for the ``FitInput``)
        and each row's top-voted class index, the first of a tie (what
        skorch, a stratified ``train_split`` and the confident joint see).
    """
    found, annotations = read_annotations(y, n_rows, est.classes if reset else est.classes_)
    if not reset and not np.array_equal(found, est.classes_):
        raise ValueError(f"The label matrix's classes {found.tolist()} differ from those of "
                         f"the fit being continued ({est.classes_.tolist()}).")
    return found, annotations, annotations.majority(len(found)).astype(np.int64)


def same_annotations(state, annotations):
    """Whether ``state`` holds exactly ``annotations`` (None: one label a row),
    so that training can continue on it."""
    if annotations is None:
        return not state.has_votes
    if annotations.votes is not None:
        return state.votes.shape == annotations.votes.shape and torch.equal(
            state.votes.long().cpu(), torch.as_tensor(annotations.votes))
    return (state.votes.numel() == 0 and state.vote_dist.shape == annotations.shares.shape
            and torch.equal(state.vote_dist.cpu(), torch.as_tensor(annotations.shares)))


def majority_vote(y, classes=None):
    """Each row's most-voted label: a 1-D ``y`` for a stratified splitter.

    Parameters
    ----------
    y : array-like or DataFrame of shape (n_samples, n_annotators), or SoftLabels
        As given to ``fit``.
    classes : array-like or None, default=None

    Returns
    -------
    ndarray of shape (n_samples,)
        Labels from the sorted classes; a tie goes to the first tied class
        in that order.

    Examples
    --------
    >>> import numpy as np
    >>> majority_vote(np.array([["a", "b", "b"], ["a", None, None]], dtype=object)).tolist()
    ['b', 'a']
    """
    if not is_label_matrix(y):  # one label a row already: as it is
        return np.asarray(y)
    found, annotations = read_annotations(y, len(y), classes, every_annotator=False)
    return found[annotations.majority(len(found))]


class VoteStratifiedKFold(StratifiedKFold):
    """``StratifiedKFold`` that takes a label matrix: stratified on each row's
    majority vote (:func:`majority_vote`).

    scikit-learn's stratified splitters cannot read a 2-D y, and an integer
    ``cv`` turns into an unshuffled ``KFold`` for a label matrix without
    gaps; pass ``cv=VoteStratifiedKFold(5, shuffle=True, random_state=0)``
    to ``cross_val_score`` or ``GridSearchCV`` instead. With a 1-D y it is
    ``StratifiedKFold``.

    Examples
    --------
    >>> import pandas as pd
    >>> labels = pd.DataFrame({"a": ["x", "y"] * 6, "b": ["x", None] * 6})
    >>> [len(test) for _, test in VoteStratifiedKFold(3).split(labels, labels)]
    [4, 4, 4]
    """

    def split(self, X, y, groups=None):
        return super().split(X, majority_vote(y), groups)


def consensus_accuracy(predicted, distribution, sample_weight=None):
    """Accuracy against the held-out rows' consensus, ties shared.

    A row whose prediction is its top-voted class counts 1; a row whose
    annotators tie between ``m`` classes counts ``1/m`` for a prediction
    among them (the accuracy against a consensus that picks one of the tied
    classes at random). With one label per row this is plain accuracy.

    Parameters
    ----------
    predicted : ndarray of shape (n,), int
        Predicted class indices.
    distribution : ndarray of shape (n, n_classes)
        The rows' annotation distributions.
    sample_weight : array-like of shape (n,) or None, default=None

    Returns
    -------
    float
    """
    top = top_voted(torch.as_tensor(distribution)).numpy()
    hit = top[np.arange(len(predicted)), predicted]
    return float(np.average(hit / top.sum(1), weights=sample_weight))
