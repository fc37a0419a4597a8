"""Continued training: partial_fit and warm_start carry on the refinement,
the refit and the held-out rows."""

import numpy as np
import torch

from .conftest import flip_labels, make_clf


def test_continued_training_keeps_the_held_out_rows_without_a_seed(iris):
    # random_state=None draws the split once per fit, not once per call: a
    # partial_fit that drew again would train on the rows it validates on
    X, y = iris
    clf = make_clf(max_epochs=1, warm_up=1, random_state=None).fit(X, y)
    held = ~clf.train_mask_
    for _ in range(3):
        clf.partial_fit(X, y)
        np.testing.assert_array_equal(~clf.train_mask_, held)
    assert held.sum() == 30


def test_partial_fit_and_warm_start_continue_refinement(iris):
    X, y = iris
    clf = make_clf(warm_up=3, max_epochs=2, train_split=None).fit(X, y)
    np.testing.assert_array_equal(clf.refined_labels_, np.eye(3, dtype=np.float32)[y])
    clf.partial_fit(X, y)  # epochs 3-4: the warm-up ends at epoch 3
    assert len(clf.history) == 4
    assert (clf.refined_labels_.max(1) < 1).any()
    warm = make_clf(warm_up=3, max_epochs=2, train_split=None, warm_start=True).fit(X, y)
    warm.fit(X, y)
    assert len(warm.history) == 4 and (warm.refined_labels_.max(1) < 1).any()


def test_partial_fit_after_two_rounds_continues_the_refit_with_the_method(iris):
    X, y = iris
    noisy, _ = flip_labels(y, 0.3, 3, seed=0)
    clf = make_clf(rounds=2, train_split=None, max_epochs=6).fit(X, noisy)
    refinements = int(clf.refinement_state_.n_refinements)
    refit_weights = clf.module_.net[0].weight.detach().clone()
    clf.partial_fit(X, noisy)
    assert len(clf.history) == 12  # the refit's 6 epochs, then 6 more
    assert int(clf.refinement_state_.n_refinements) == refinements + 6  # the method again
    assert "sigma" in clf.history[-1] and "sigma" not in clf.history[5]
    assert not torch.equal(clf.module_.net[0].weight, refit_weights)  # it trained on
