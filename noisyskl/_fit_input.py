"""What reading ``fit``'s ``X, y`` gives: one value, assigned by the estimator.

The readers (``_validation.array_training_rows`` for arrays and DataFrames,
``_datasets.training_rows`` for torch Datasets) check the input and return a
``FitInput``; nothing below the estimator sets an attribute on it. The
estimator takes what it learnt in one place (``NoisyNetBase._take_input``).
"""

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["FitInput"]


@dataclass(frozen=True)
class FitInput:
    """A fit's training input, read and checked.

    Attributes
    ----------
    rows : ndarray, Tensor or Dataset
        The training rows as training reads them (validated arrays, or the
        Dataset's ``Items``).
    y_idx : ndarray of shape (n_samples,), int64
        Each row's label as an index into ``classes`` (a label matrix's top
        vote, the first of a tie).
    classes : ndarray of shape (n_classes,) or None
        The fit's classes, sorted; None when a fit is continued (the
        estimator keeps its own).
    annotations : Annotations or None
        A label matrix's votes or soft labels (None: one label a row).
    input_shape : tuple or None
        The shape of one row, when the fit starts anew (None otherwise, or
        for a Dataset's rows without a shape).
    index : pandas Index or None
        A DataFrame's (or a labelled DataFrame's) index, for the report.
    paths : list of str or None
        A Dataset's file paths, one per row, for the report.
    reset : bool
        Whether the fit starts anew (what it learnt replaces the estimator's).
    from_dataset : bool
        Whether X was a torch Dataset (so no ``n_features_in_``).
    trusted : ndarray of shape (n_samples,), bool, or None
        The rows a reviewer decided (``read_review``): never refined,
        flagged or left out (None: no review).
    floating : bool
        Whether X's values were floating point as given (every column of a
        DataFrame); False for a Dataset. Integers (token ids, ordinal
        codes) are cast to float32 for training, but mean no mixtures.
    class_names : list of str or None
        A Dataset's ``classes`` list where the fit's classes are exactly its
        indices (ImageFolder-style targets): what another Dataset's indices
        are mapped through when it is scored or validated on.
    """

    rows: Any
    y_idx: np.ndarray
    classes: Any
    annotations: Any
    input_shape: Any
    index: Any
    paths: Any
    reset: bool
    from_dataset: bool
    trusted: Any = None
    floating: bool = False
    class_names: Any = None
