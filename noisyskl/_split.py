"""The estimators' default ``train_split``, and the rows no split may hold out."""

import numpy as np
import torch
from torch.utils.data import Subset

__all__ = ["HeldOutRows", "StratifiedHoldout", "holdout_seed", "keep_in_training"]


def holdout_seed(random_state, world=None):
    """The seed of a ``StratifiedHoldout`` in a fit: ``random_state``; without
    one, drawn (inside fit, from torch's generator), or in a data-parallel
    fit (``world``) the seed rank 0 chose, the same in every process."""
    if isinstance(random_state, (int, np.integer)):
        return int(random_state)
    if world is not None:
        return int(world.seed % 2**31)
    return int(torch.randint(2**31 - 1, ()))


class StratifiedHoldout:
    """The default ``train_split``: a random share of the rows held out,
    stratified by class, drawn with the estimator's ``random_state``.

    Unlike skorch's ``ValidSplit(5, stratified=True)``, which holds out the
    first fifth of each class in the rows' order (in a folder of images
    sorted by name, its first files; if one doctor annotated the first
    batch, that doctor's rows), the rows are drawn at random. The draw
    follows the estimator's ``random_state`` (the same rows at every fit
    with the same seed; any other draw without one), and in a data-parallel
    fit is the same in every process. Where a class has a single row, the
    draw is not stratified.

    Parameters
    ----------
    fraction : float in (0, 1), default=0.2
        The share of the rows held out.
    """

    def __init__(self, fraction=0.2):
        self.fraction = fraction

    def __repr__(self):
        return f"{type(self).__name__}(fraction={self.fraction!r})"

    def __eq__(self, other):
        return type(other) is type(self) and other.fraction == self.fraction

    __hash__ = None

    def __call__(self, dataset, y=None, groups=None):
        """As a skorch ``train_split`` of any net: the split unseeded (the
        estimators of noisyskl call :meth:`split` with their seed)."""
        return self.split(dataset, np.zeros(len(dataset)) if y is None else y, None)

    def split(self, dataset, y, seed):
        """``(Subset(dataset, train rows), Subset(dataset, held-out rows))``,
        drawn with ``seed``."""
        from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

        if not (isinstance(self.fraction, float) and 0 < self.fraction < 1):
            raise ValueError(f"StratifiedHoldout's fraction must be a float in (0, 1); got "
                             f"{self.fraction!r}.")
        y = np.asarray(y)
        counts = np.unique(y, return_counts=True)[1]
        held = int(np.ceil(self.fraction * len(y)))
        stratify = (counts.min() >= 2 and held >= len(counts)
                    and len(y) - held >= len(counts))
        splitter = (StratifiedShuffleSplit if stratify else ShuffleSplit)(
            n_splits=1, test_size=self.fraction, random_state=seed)
        train, valid = next(splitter.split(np.zeros((len(y), 1)), y))
        return Subset(dataset, np.sort(train).tolist()), Subset(dataset, np.sort(valid).tolist())


class HeldOutRows:
    """A ``train_split`` that holds out given rows: ``rows``, a bool mask over
    the dataset it splits (``refit_rows="choose"``: both refits hold out the
    first round's held-out rows, and are scored on them)."""

    def __init__(self, rows):
        self.rows = np.asarray(rows, dtype=bool)

    def __call__(self, dataset, y=None, **fit_params):
        if len(dataset) != len(self.rows):
            raise ValueError(f"HeldOutRows holds out rows of {len(self.rows)}; got a dataset "
                             f"of {len(dataset)}.")
        return (Subset(dataset, np.flatnonzero(~self.rows).tolist()),
                Subset(dataset, np.flatnonzero(self.rows).tolist()))


def keep_in_training(train, valid, rows):
    """``(train, valid)`` with the held-out rows among ``rows`` (bool mask
    over the split's dataset) moved into training, where both are Subsets
    of one dataset (a split of the rows, as ``StratifiedHoldout`` and
    skorch's ``ValidSplit`` give); else as they are."""
    if (rows is None or not isinstance(train, Subset) or not isinstance(valid, Subset)
            or train.dataset is not valid.dataset):
        return train, valid
    held = np.asarray(valid.indices, dtype=np.int64)
    move = np.asarray(rows, dtype=bool)[held]
    if not move.any():
        return train, valid
    kept = np.sort(np.concatenate([np.asarray(train.indices, dtype=np.int64), held[move]]))
    return Subset(train.dataset, kept.tolist()), Subset(valid.dataset, held[~move].tolist())
