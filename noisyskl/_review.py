"""A reviewer's decisions back into training: ``read_review`` reads the CSV
the review page (``export_review``) downloads and returns labels that
``fit`` takes, with the reviewed rows marked as trusted.

A trusted row is never refined, never flagged and always kept by the
``rounds=2`` refit, and the estimate of how many labels are wrong counts no
issue among the trusted rows (``functional.confident_joint_issue_count``'s
``trusted``). The per-row work is the state's (``RefinementState.set_trusted``);
this module reads and checks the file and hands the estimator a mask.
"""

import copy
import dataclasses
import numbers

import numpy as np

from ._annotators import SoftLabels, is_label_matrix, read_annotations
from ._datasets import as_source, dataset_labels, dataset_paths, is_dataset_input
from ._labels import as_label_array, encode_labels

__all__ = ["DECISIONS", "REVIEW_COLUMNS", "ReviewedLabels", "read_review", "split_review",
           "warn_if_review_dropped", "with_review"]

#: The columns of a review CSV, in the order the page writes them.
REVIEW_COLUMNS = ("row", "path", "given_label", "decision", "label")

#: A reviewer's decisions: the first three trust the row with ``label``.
DECISIONS = ("given", "suggested", "other", "unsure")

#: Characters a spreadsheet reads as the start of a formula: the page writes
#: such a cell with a leading ``'`` (OWASP's advice), which ``read_review`` drops.
FORMULA_START = ("=", "+", "-", "@")

_LOST = ("These ReviewedLabels no longer know which rows were reviewed (an operation other "
         "than row indexing, such as take, sort or flip, may have moved the rows); index "
         "them by rows (y[rows]) or read the review again with read_review.")


class ReviewedLabels(np.ndarray):
    """Labels with the rows a reviewer decided, as :func:`read_review` returns them.

    A NumPy array (a subclass) of the labels as given to :func:`read_review`
    — 1-D labels with the reviewer's label on the reviewed rows, or a label
    matrix (or soft labels) unchanged — that also carries which rows were
    reviewed and what the reviewer chose. Pass it as ``y`` to ``fit``; row
    slices (scikit-learn's splitters and searches) keep both.

    Parameters
    ----------
    labels : array-like of shape (n_samples,) or (n_samples, n_columns)
    reviewed_label : array-like of shape (n_samples,)
        The reviewer's label of each row, None where the row was not
        reviewed (or the reviewer was unsure).
    columns : array-like or None, default=None
        A label matrix's annotators (a DataFrame's columns), or soft
        labels' classes.
    soft : bool, default=False
        Whether ``labels`` are soft labels (:class:`~noisyskl.SoftLabels`).
    index : pandas Index or None, default=None
        The index of a labelled DataFrame or Series (``find_label_issues``
        keeps it).

    Notes
    -----
    Only row indexing (``y[rows]``, as scikit-learn's splitters do),
    ``copy`` (and ``copy.copy``, ``copy.deepcopy``) and pickling keep which
    rows were reviewed; other operations (``take``, sorting, ``np.flip``)
    give arrays that ``fit`` refuses, since they may have moved the rows.
    Wrapped in a pandas Series it is a plain array of the labels again (the
    reviewers' labels on their rows, none trusted): pass it as it is; it
    keeps the index of the y it was read against.

    Attributes
    ----------
    trusted : ndarray of shape (n_samples,), bool
        The reviewed rows (``reviewed_label`` is not None).
    reviewed_label : ndarray of shape (n_samples,), object
    """

    def __new__(cls, labels, reviewed_label, columns=None, soft=False, index=None):
        obj = np.array(labels, copy=True).view(cls)
        obj.reviewed_label = np.asarray(reviewed_label, dtype=object)
        if obj.ndim not in (1, 2) or obj.reviewed_label.shape != obj.shape[:1]:
            raise ValueError(f"ReviewedLabels needs one reviewed label (or None) per row: "
                             f"{obj.shape[0] if obj.ndim else 0} rows, "
                             f"{obj.reviewed_label.shape} reviewed labels.")
        obj.columns, obj.soft, obj.index = columns, soft, index
        return obj

    def __array_finalize__(self, obj):
        # which rows were reviewed is known only where the rows are (row
        # indexing and copies set it again); not after take, sort, flip, ...
        self.reviewed_label = None
        self.columns = getattr(obj, "columns", None)
        self.soft = getattr(obj, "soft", False)
        self.index = None

    @property
    def trusted(self):
        if self.reviewed_label is None:
            raise ValueError(_LOST)
        return reviewed_rows(self.reviewed_label)

    def _with_rows(self, out, rows):
        out.reviewed_label = self.reviewed_label[rows] if self.reviewed_label is not None else None
        out.index = self.index[rows] if self.index is not None else None
        return out

    def __getitem__(self, key):
        out = super().__getitem__(key)
        rows = key[0] if isinstance(key, tuple) else key
        rest = key[1:] if isinstance(key, tuple) else ()
        whole_rows = all(k is Ellipsis or k == slice(None) for k in rest)
        if (not isinstance(out, ReviewedLabels) or out.ndim != self.ndim or not whole_rows
                or rows is Ellipsis):
            return out.view(np.ndarray) if isinstance(out, ReviewedLabels) else out
        return self._with_rows(out, rows)

    def copy(self, order="C"):
        out = self._with_rows(super().copy(order), slice(None))
        if out.reviewed_label is not None:  # (its own, as the values are)
            out.reviewed_label = out.reviewed_label.copy()
        return out

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):  # (copy.deepcopy; sklearn's clone of a parameter)
        out = super().__deepcopy__(memo)
        out.reviewed_label = copy.deepcopy(self.reviewed_label, memo)
        out.columns, out.index = copy.deepcopy(self.columns, memo), copy.deepcopy(self.index, memo)
        return out

    def __array_wrap__(self, out, context=None, return_scalar=False):
        out = super().__array_wrap__(out, context, return_scalar)
        return out.view(np.ndarray) if isinstance(out, ReviewedLabels) else out

    def __reduce__(self):  # pickled (joblib workers) with what was reviewed
        rebuild, args, state = super().__reduce__()
        return rebuild, args, (state, self.reviewed_label, self.columns, self.soft, self.index)

    def __setstate__(self, state):
        array_state, self.reviewed_label, self.columns, self.soft, self.index = state
        super().__setstate__(array_state)

    def labels(self):
        """The labels as ``fit`` reads them without the review: a 1-D array,
        a label matrix (a DataFrame where it had annotator names) or
        :class:`~noisyskl.SoftLabels`."""
        values = self.view(np.ndarray)
        if self.soft:
            return SoftLabels(values, classes=self.columns)
        if self.ndim == 2 and self.columns is not None:
            import pandas as pd

            return pd.DataFrame(values, columns=list(self.columns), index=self.index)
        if self.index is not None:
            import pandas as pd

            return pd.Series(values, index=self.index)
        return values


def reviewed_rows(reviewed_label):
    """The rows a reviewer decided: those whose reviewed label is not None."""
    return np.array([v is not None for v in reviewed_label], dtype=bool)


def split_review(y):
    """``(labels, reviewed_label)``: what ``fit`` reads of ``y``, and the
    reviewer's labels (None when ``y`` is not :class:`ReviewedLabels`)."""
    if isinstance(y, ReviewedLabels):
        if y.reviewed_label is None:
            raise ValueError(_LOST)
        return y.labels(), y.reviewed_label
    return y, None


def with_review(fit_input, reviewed_label, classes):
    """``fit_input`` with the reviewed rows' labels (a label matrix's
    reviewed rows take the reviewer's label as their top vote) and its
    ``trusted`` mask; unchanged without a review."""
    if reviewed_label is None:
        return fit_input
    trusted = reviewed_rows(reviewed_label)
    if len(trusted) != len(fit_input.y_idx):
        raise ValueError(f"The review has {len(trusted)} rows but X has "
                         f"{len(fit_input.y_idx)}: read it with read_review against this "
                         "fit's labels.")
    y_idx = fit_input.y_idx.copy()
    if trusted.any():
        y_idx[trusted] = encode_labels(np.asarray(list(reviewed_label[trusted])), classes)
    rows = fit_input.rows
    if hasattr(rows, "source") and hasattr(rows, "labelled"):  # a Dataset's Items
        rows = type(rows)(rows.source, y_idx, rows.labelled, rows.paths)
    return dataclasses.replace(fit_input, rows=rows, y_idx=y_idx, trusted=trusted)


def warn_if_review_dropped(state, trusted):
    """Warn where a fit continues one that trusted reviewed rows (``state``)
    on labels that carry no review (``trusted`` None)."""
    if state.trusted.numel() and trusted is None:
        import warnings

        warnings.warn(
            f"The fit being continued trusted {int(state.trusted.sum())} reviewed rows, but "
            "these labels carry no review: the per-row state starts anew and no row is "
            "trusted. Pass the ReviewedLabels from read_review again to keep them.",
            UserWarning, stacklevel=3)


def _distinct(values):
    """The distinct values, in order of first appearance (no sorting: labels
    of mixed kinds cannot be compared)."""
    return list(dict.fromkeys(np.asarray(values, dtype=object).ravel().tolist()))


def _given_labels(y):
    """``(values, given, per_row_options, classes, paths, columns, soft,
    index)`` of ``y``: what a review of it is checked against."""
    if is_dataset_input(y):
        source = as_source(y)
        labels, _ = dataset_labels(source, None)
        labels = as_label_array(labels)
        return labels, labels, None, _distinct(labels), dataset_paths(source), None, False, None
    index = getattr(y, "index", None) if hasattr(y, "iloc") else None
    if is_label_matrix(y):  # (and soft labels) read as fit reads them: classes as fit sees
        found, annotations = read_annotations(y, len(y), every_annotator=False)
        if annotations.votes is not None:
            votes = annotations.votes
            options = [{found[v] for v in row if v >= 0} for row in votes]
            columns = np.asarray(y.columns, dtype=object) if hasattr(y, "columns") else None
            values = (y.to_numpy() if hasattr(y, "to_numpy") else
                      np.array(y, dtype=object) if isinstance(y, (list, tuple)) else
                      np.asarray(y))
            return values, None, options, list(found), None, columns, False, index
        shares = annotations.shares
        options = [set(np.asarray(found)[row > 0].tolist()) for row in shares]
        return np.asarray(y), None, options, list(found), None, np.asarray(y.classes), True, None
    labels = as_label_array(y)
    return labels, labels, None, _distinct(labels), None, None, False, index


def _cell(text):
    """A CSV cell as the page wrote it, without the ``'`` that guards a
    formula-like start."""
    return text[1:] if text.startswith("'") and text[1:2] in FORMULA_START else text


def _by_text(classes):
    """Class by its text as a CSV cell holds it."""
    found = {}
    for c in classes:
        key = str(c.item() if isinstance(c, np.generic) else c)
        if key in found and found[key] != c:
            raise ValueError(f"Two classes read the same as text ({found[key]!r} and {c!r}); "
                             "a review CSV cannot tell them apart. Give the classes distinct "
                             "names.")
        found[key] = c
    return found


#: ``read_review``'s label lookup where a CSV cell is no class.
_UNKNOWN = object()


def _row_number(text):
    """A CSV cell as a row number (``3``, or ``3.0`` as a spreadsheet may write
    it); None if it is not one."""
    try:
        return int(text)
    except ValueError:
        try:
            number = float(text)
        except ValueError:
            return None
        return int(number) if number.is_integer() else None


def _reads_as(text, value):
    """Whether a CSV cell is ``value``: its text, or for a number the same
    number (a spreadsheet writes ``1`` for a float label ``1.0``)."""
    if text == _text(value):
        return True
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        return False
    try:
        return float(text) == float(value)
    except ValueError:
        return False


def _text(value):
    return str(value.item() if isinstance(value, np.generic) else value)


def read_review(csv_path, y, classes=None):
    """Read a review's decisions: labels that ``fit`` takes as ``y``.

    Parameters
    ----------
    csv_path : str or path-like
        The CSV the review page downloads (``NoisyNeuralNetClassifier.
        export_review``), with the columns ``row, path, given_label,
        decision, label``: ``row`` is the row's position in the X given to
        ``fit``; ``decision`` one of ``given``, ``suggested``, ``other``,
        ``unsure``; ``label`` the class the reviewer chose (empty for
        ``unsure``). Other columns (the page's ``index``, the row's ID
        for the reader) are not read.
    y : array-like of shape (n_samples,), label matrix, SoftLabels, or torch Dataset
        The labels the reviewed fit was given (for a Dataset: the Dataset,
        whose labels and files the review is checked against). The
        :class:`ReviewedLabels` of an earlier review: the new decisions are
        added to its (a row decided again takes the new decision; an
        ``unsure`` keeps the earlier one).
    classes : array-like or None, default=None
        All classes the reviewer may choose (the fit's ``classes_``; needed
        when the fit was given ``classes=`` with classes no row of ``y``
        has). None: the classes of ``y``.

    Returns
    -------
    ReviewedLabels
        ``y``'s labels (1-D: with the reviewer's label on each reviewed row;
        a label matrix or soft labels unchanged) with the reviewed rows
        marked. ``fit(X, reviewed)`` trains with those rows *trusted*: their
        label is the reviewer's (a label matrix's row takes it as its
        consensus), never refined, never flagged, always kept by the
        ``rounds=2`` refit, and counted as no label issue in
        ``estimated_label_issues_``. Rows decided ``unsure`` stay as they were.

    Raises
    ------
    ValueError
        Naming the line of the CSV: a missing column, a row not in ``y``, a
        row reviewed twice, an unknown decision or class, a given label or
        file that is not this row's (a review of another data set).

    Examples
    --------
    >>> reviewed = read_review("review.csv", y)  # doctest: +SKIP
    >>> clf.fit(X, reviewed)  # doctest: +SKIP
    """
    import pandas as pd

    earlier = None
    if isinstance(y, ReviewedLabels):
        y, earlier = split_review(y)
    values, given, options, found, paths, columns, soft, index = _given_labels(y)
    found = found if classes is None else _distinct(list(found) + _distinct(classes))
    try:
        frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise ValueError(f"{csv_path} is empty, not a review CSV (a review has the columns "
                         f"{list(REVIEW_COLUMNS)}; download it from the page export_review "
                         "writes).") from None
    frame = frame.map(_cell)
    missing = [c for c in REVIEW_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{csv_path} is not a review CSV: it lacks the columns {missing} "
                         f"(a review has {list(REVIEW_COLUMNS)}; download it from the page "
                         "export_review writes).")
    known = _by_text(found)
    n = len(values)
    reviewed = np.full(n, None, dtype=object) if earlier is None else earlier.copy()
    seen = {}
    for line, rec in enumerate(frame.itertuples(index=False), start=2):
        where = f"{csv_path}, line {line}"
        row = _row_number(rec.row)
        if row is None:
            raise ValueError(f"{where}: row {rec.row!r} is not a row number.")
        if not 0 <= row < n:
            raise ValueError(f"{where}: row {row} is not a row of y (0..{n - 1}); is this the "
                             "review of another data set?")
        if row in seen:
            raise ValueError(f"{where}: row {row} is reviewed twice (also on line "
                             f"{seen[row]}); keep one decision per row.")
        seen[row] = line
        if given is not None and not _reads_as(rec.given_label, given[row]):
            raise ValueError(f"{where}: row {row}'s given label is {rec.given_label!r} in the "
                             f"review but {_text(given[row])!r} in y; is this the review of "
                             "another data set (or of labels changed since)?")
        if options is not None and not any(_reads_as(rec.given_label, v) for v in options[row]):
            raise ValueError(f"{where}: row {row}'s given label {rec.given_label!r} is not "
                             "among its annotations in y; is this the review of another "
                             "data set?")
        if paths is not None and rec.path and rec.path != paths[row]:
            raise ValueError(f"{where}: row {row} is the file {rec.path!r} in the review but "
                             f"{paths[row]!r} in the Dataset; is this the review of another "
                             "data set?")
        if rec.decision not in DECISIONS:
            raise ValueError(f"{where}: row {row}'s decision {rec.decision!r} is not one of "
                             f"{list(DECISIONS)}.")
        if rec.decision == "unsure":  # (an earlier review's decision stands)
            continue
        label = (known[rec.label] if rec.label in known else  # (else a number's other text)
                 next((c for c in found if _reads_as(rec.label, c)), _UNKNOWN))
        if label is _UNKNOWN:
            raise ValueError(f"{where}: row {row}'s label {rec.label!r} is not a class of y "
                             f"({sorted(known)}).")
        if rec.decision == "given" and not _reads_as(rec.given_label, label):
            raise ValueError(f"{where}: row {row} is decided 'given' but labelled "
                             f"{rec.label!r}, not its given label {rec.given_label!r}.")
        reviewed[row] = label
    if given is not None and options is None and not soft:
        values = np.array(values, dtype=np.result_type(values, np.asarray(
            [v for v in reviewed if v is not None] or values[:0])), copy=True)
        trusted = reviewed_rows(reviewed)
        values[trusted] = list(reviewed[trusted])
    return ReviewedLabels(values, reviewed, columns=columns, soft=soft, index=index)
