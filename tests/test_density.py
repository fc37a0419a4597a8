"""The gradient-density store inside a fit: updated a batch at a time, over
the training rows only, counting rows as they first come."""

import math

import numpy as np
import pytest
from skorch.callbacks import Callback

from noisyskl import GradientDensity

from .conftest import TinyMLP, make_clf


def test_density_is_incremental_and_refinement_needs_no_extra_pass(iris, monkeypatch):
    X, y = iris
    resyncs, updates = [], []
    orig_resync, orig_update = GradientDensity.resync, GradientDensity.update
    monkeypatch.setattr(GradientDensity, "resync",
                        lambda self, *a, **k: resyncs.append(1) or orig_resync(self, *a, **k))
    monkeypatch.setattr(GradientDensity, "update", lambda self, idx, g, **kw: (
        updates.append(len(idx)) or orig_update(self, idx, g, **kw)))
    calls = []
    module = TinyMLP()
    module.register_forward_hook(lambda m, i, o: calls.append(len(i[0])))
    clf = make_clf(module=module, batch_size=32, max_epochs=5, train_split=None).fit(X, y)
    # one O(batch) update per batch, one O(N) resync per epoch
    assert updates == [32, 32, 32, 32, 22] * 5
    assert len(resyncs) == 5
    # forward calls: the training batches only, no extra inference pass
    assert calls == [32, 32, 32, 32, 22] * 5
    d = clf.criterion_.density
    assert int(d.n_seen) == 150 and int(d.counts.sum()) == 150


def _density_matches_its_rows(d):
    seen = d.g[d.g >= 0].double()
    expected = max(math.sqrt(float(((seen - d.mu) ** 2).sum()) / max(seen.numel() - 1, 1)),
                   0.05)
    return int(d.n_seen) == seen.numel() and float(d.sigma(0.05)) == pytest.approx(
        expected, rel=1e-6)


def test_density_over_the_training_rows_of_a_split(iris):
    X, y = iris
    clf = make_clf().fit(X, y)  # skorch's default 5-fold validation split
    d = clf.criterion_.density
    n_train = int((~np.isnan(clf.gradient_norms_)).sum())
    assert n_train == 120 and int(d.n_seen) == n_train and _density_matches_its_rows(d)
    # the held-out rows never come, so the store stopped counting newcomers
    assert d._n_seen_fixed == n_train


def test_density_counts_rows_a_dropped_batch_left_unseen(iris):
    X, y = iris
    # 120 training rows in batches of 50: each epoch leaves 20 (shuffled) rows
    # out, so rows first seen in later epochs are newcomers to the count
    checks = []

    class CheckDensity(Callback):
        def on_batch_end(self, net, batch=None, training=None, **kwargs):
            if training:
                checks.append(_density_matches_its_rows(net.criterion_.density))

    make_clf(batch_size=50, iterator_train__drop_last=True, callbacks=[CheckDensity()]).fit(X, y)
    assert len(checks) == 12 and all(checks)  # 6 epochs of 2 batches
