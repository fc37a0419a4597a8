"""Warnings a search would repeat at every fit, said once per process.

A grid search fits many clones of one estimator, and a warning whose text
carries each fit's numbers (the share of rows flagged, the classes a fit
emptied) passes Python's "once per place and text" filter every time: a
36-fit search printed about 60. These kinds are said the first time in a
process; later ones are counted (:func:`repeated_warnings`).
"""

import warnings
from collections import Counter

__all__ = ["repeated_warnings", "warn_once"]

_SEEN = Counter()


def warn_once(kind, message, stacklevel=2):
    """Warn with ``message`` (a ``UserWarning``) the first time ``kind`` comes
    up in this process; count every time."""
    _SEEN[kind] += 1
    if _SEEN[kind] == 1:
        warnings.warn(message + " (Said once per process: later fits are counted in "
                      "noisyskl.repeated_warnings().)", UserWarning, stacklevel=stacklevel + 1)


def repeated_warnings(reset=False):
    """How many times each warning said once per process came up.

    Parameters
    ----------
    reset : bool, default=False
        Forget them, so that each is said again the next time.

    Returns
    -------
    dict
        Kind -> the number of fits in this process that hit it (the first
        one warned). Kinds: ``"many_flagged"`` (a ``rounds=2`` first round
        flagged more than half the rows), ``"class_flagged_away"`` (the first
        round did not learn a class, or flagged nine in ten or more of its
        rows).
    """
    counts = dict(_SEEN)
    if reset:
        _SEEN.clear()
    return counts
