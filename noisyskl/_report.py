"""Label-issue report: plain arrays in, a pandas DataFrame out."""

import numpy as np

__all__ = ["label_issue_frame", "HISTOGRAM_BINS"]

#: Number of equal bins of [0, 1] in the per-epoch histograms of g kept for plots.
HISTOGRAM_BINS = 50


def label_issue_frame(refined, given, classes, gradient_norm, weight, in_training, index=None):
    """One row per training row: given vs refined label and how sure we are.

    Parameters
    ----------
    refined : ndarray of shape (n_samples, n_classes)
        Refined targets (``refined_labels_``).
    given : ndarray of shape (n_samples,), int
        Annotated labels as indices into ``classes``.
    classes : ndarray of shape (n_classes,)
    gradient_norm, weight : ndarray of shape (n_samples,)
        Last gradient norm and loss weight (NaN for held-out rows).
    in_training : ndarray of shape (n_samples,), bool
    index : pandas Index or None
        Index of the returned frame (that of the fitted DataFrame, if any).

    Returns
    -------
    pandas.DataFrame
        Columns ``given_label``, ``predicted_label`` (argmax of the refined
        target), ``label_quality`` (the refined target's mass on the given
        label, clipped to [0, 1]), ``is_label_issue`` (``predicted_label !=
        given_label``), ``gradient_norm``, ``weight`` and ``in_training``.

    Notes
    -----
    With the default convex refinement, ``label_quality = 1 - h ** (gamma +
    1)`` where ``h = 1 - p[given]`` is the model's disagreement with the
    annotation; a row is a label issue when another class gets more of the
    refined target than the given one.
    """
    import pandas as pd

    refined = np.asarray(refined)
    given = np.asarray(given)
    rows = np.arange(len(given))
    predicted = refined.argmax(1)
    quality = np.clip(refined[rows, given], 0.0, 1.0)
    return pd.DataFrame(
        {
            "given_label": classes[given],
            "predicted_label": classes[predicted],
            "label_quality": quality.astype(np.float64),
            "is_label_issue": predicted != given,
            "gradient_norm": gradient_norm,
            "weight": weight,
            "in_training": in_training,
        },
        index=index,
    )
