"""Label-issue report: plain arrays in, a pandas DataFrame out."""

import numbers

import numpy as np
import torch

from . import _functional as Fn

__all__ = ["HISTOGRAM_BINS", "MIN_FLAGGED_FRACTION", "label_issue_frame"]

#: Number of equal bins of [0, 1] in the per-epoch histograms of g kept for plots.
HISTOGRAM_BINS = 50


#: Default ``min_flagged_fraction`` of ``find_label_issues``: chosen on digits,
#: breast cancer and Kather 2016 (blood cells held out); see docs/benchmarks.md.
MIN_FLAGGED_FRACTION = 0.1


def label_issue_frame(refined, given, classes, quality, flagged_fraction, gradient_norm, weight,
                      in_training, min_flagged_fraction=MIN_FLAGGED_FRACTION, index=None,
                      max_issues=None, paths=None):
    """One row per training row: given vs refined label and how sure we are.

    Parameters
    ----------
    refined : ndarray of shape (n_samples, n_classes)
        Current refined targets (``refined_labels_``).
    given : ndarray of shape (n_samples,), int
        Annotated labels as indices into ``classes``.
    classes : ndarray of shape (n_classes,)
    quality : ndarray of shape (n_samples,)
        Refined target's mass on the annotation, averaged over the refinements.
    flagged_fraction : ndarray of shape (n_samples,)
        Fraction of the refinements whose refined label differed from the
        annotation.
    gradient_norm, weight : ndarray of shape (n_samples,)
        Last gradient norm and loss weight (NaN for held-out rows).
    in_training : ndarray of shape (n_samples,), bool
    min_flagged_fraction : float in (0, 1]
        A row is a label issue when ``flagged_fraction >= min_flagged_fraction``.
    index : pandas Index or None
        Index of the returned frame (that of the fitted DataFrame, if any).
    max_issues : int or None
        At most this many rows are issues: of the rows the vote flags, those
        with the lowest ``quality`` (an estimate of how many labels are
        wrong, e.g. the confident joint's). None: every row the vote flags.
    paths : ndarray of shape (n_samples,) or None
        Each row's file (a Dataset that names them); None: no ``path`` column.

    Returns
    -------
    pandas.DataFrame
        Columns ``given_label``, ``predicted_label`` (argmax of the current
        refined target), ``label_quality`` (``quality`` clipped to [0, 1]),
        ``flagged_fraction``, ``is_label_issue`` (flagged by the vote, within
        ``max_issues``, never on a class the network never learnt:
        ``functional.unlearnt_classes``), ``gradient_norm``,
        ``weight`` and ``in_training``; then ``path`` where ``paths`` is given.

    Notes
    -----
    With the default convex refinement the mass on the annotation is
    ``1 - h ** (gamma + 1)`` where ``h = 1 - p[given]``. Averaging over epochs
    (rather than judging by the last epoch alone) catches wrong labels that
    the network memorises late in training.
    """
    import pandas as pd

    if (not isinstance(min_flagged_fraction, numbers.Real)
            or isinstance(min_flagged_fraction, bool)):
        raise TypeError("min_flagged_fraction must be a number in (0, 1]; got "
                        f"{min_flagged_fraction!r}.")
    if not 0 < min_flagged_fraction <= 1:
        raise ValueError("min_flagged_fraction must lie in (0, 1]; got "
                         f"{min_flagged_fraction!r}.")
    refined = np.asarray(refined)
    given = np.asarray(given)
    flagged_fraction = np.asarray(flagged_fraction, dtype=np.float64)
    quality = np.clip(np.asarray(quality, dtype=np.float64), 0.0, 1.0)
    suggested = refined.argmax(1)
    unlearnt = Fn.unlearnt_classes(torch.from_numpy(given), torch.from_numpy(suggested),
                                   len(classes)).numpy()
    is_issue = Fn.flag_label_issues(torch.from_numpy(flagged_fraction), torch.from_numpy(quality),
                                    min_flagged_fraction, max_issues,
                                    torch.from_numpy(unlearnt[given])).numpy()
    columns = {
        "given_label": classes[given],
        "predicted_label": classes[suggested],
        "label_quality": quality,
        "flagged_fraction": flagged_fraction,
        "is_label_issue": is_issue,
        "gradient_norm": gradient_norm,
        "weight": weight,
        "in_training": in_training,
    }
    if paths is not None:
        columns["path"] = paths
    return pd.DataFrame(columns, index=index)
