"""The validation split: the default StratifiedHoldout, a predefined split,
and a train_split of one's own."""

import numpy as np
import pytest
import torch
from skorch.dataset import Dataset as SkorchDataset

from .conftest import flip_labels, make_clf


def test_the_default_split_holds_out_a_random_stratified_fifth(iris):
    # skorch's ValidSplit(5, stratified=True) held out the first fifth of each
    # class in the rows' order (iris is sorted by class: rows 0-9, 50-59, ...)
    X, y = iris
    held = [~make_clf(max_epochs=1, warm_up=1, random_state=seed).fit(X, y).train_mask_
            for seed in (0, 0, 1)]
    first_fifths = np.isin(np.arange(150) % 50, np.arange(10))
    assert all(h.sum() == 30 and (np.bincount(y[h]) == 10).all() for h in held)
    assert (held[0] & first_fifths).sum() < 20  # (at random: about 6 of the 30)
    np.testing.assert_array_equal(held[0], held[1])  # the same random_state: the same rows
    assert not np.array_equal(held[0], held[2])
    one_row = np.r_[y[:-1], 3]  # a class of a single row: not stratified, still a fifth
    with pytest.warns(UserWarning, match="single row"):
        clf = make_clf(max_epochs=1, warm_up=1, module__n_classes=4).fit(X, one_row)
    assert (~clf.train_mask_).sum() == 30
    from noisyskl import StratifiedHoldout

    with pytest.raises(ValueError, match="fraction must be a float in"):
        make_clf(max_epochs=1, warm_up=1, train_split=StratifiedHoldout(20)).fit(X, y)


def test_valid_loss_of_a_predefined_split_is_plain_cross_entropy(iris):
    """A validation set of the user's own (skorch's predefined_split) is scored
    like the estimator's own held-out rows: plain cross-entropy, not the
    method's weighted loss."""
    from skorch.dataset import Dataset
    from skorch.helper import predefined_split

    X, y = iris
    X = X.astype(np.float32)
    order = np.random.default_rng(0).permutation(len(y))
    train, valid = order[:120], order[120:]
    noisy, _ = flip_labels(y, 0.3, 3, seed=0)
    clf = make_clf(train_split=predefined_split(Dataset(X[valid], y[valid])),
                   max_epochs=4).fit(X[train], noisy[train])
    with torch.no_grad():
        logits = clf.module_(torch.as_tensor(X[valid], device=clf.device))
        plain = torch.nn.functional.cross_entropy(
            logits, torch.as_tensor(y[valid], device=clf.device)).item()
    assert clf.history[-1, "valid_loss"] == pytest.approx(plain, rel=1e-5)


def test_a_train_split_of_ones_own_may_nest_subsets_but_must_keep_the_rows(iris):
    from torch.utils.data import Subset

    X, y = iris
    rng = np.random.default_rng(0)
    order = rng.permutation(150)

    def nested(dataset, y=None, **kwargs):  # a subset of a subset of the rows
        outer = Subset(dataset, order)
        return Subset(outer, np.arange(120)), Subset(outer, np.arange(120, 150))

    def flat(dataset, y=None, **kwargs):  # the same rows, one level
        return Subset(dataset, order[:120]), Subset(dataset, order[120:])

    a = make_clf(train_split=nested, max_epochs=4).fit(X, y)
    b = make_clf(train_split=flat, max_epochs=4).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    np.testing.assert_array_equal(a.train_mask_, b.train_mask_)

    def rebuilt(dataset, y=None, **kwargs):  # new datasets: the row numbers are lost
        return SkorchDataset(np.asarray(dataset.X[:120]), dataset.targets[:120].numpy()), None

    with pytest.raises(TypeError, match="train_split returned the training rows as Dataset"):
        make_clf(train_split=rebuilt, max_epochs=1).fit(X, y)
