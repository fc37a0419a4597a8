"""Rows are fetched a whole batch at a time, for training and prediction,
with the same numbers as skorch's row-by-row collation."""

import numpy as np
import pytest
import torch

from .conftest import TinyMLP, make_clf


def _row_by_row():
    """Iterator settings that turn whole-batch fetching off (a collate_fn of one's own)."""
    from torch.utils.data import default_collate

    return dict(iterator_train__collate_fn=default_collate,
                iterator_valid__collate_fn=default_collate)


@pytest.mark.parametrize("split", [None, "default"])
@pytest.mark.parametrize("rounds", [1, 2])
def test_whole_batch_fetching_trains_exactly_as_row_by_row(iris, split, rounds):
    X, y = iris
    kw = dict(rounds=rounds, batch_size=32, iterator_train__shuffle=True)
    if split is None:
        kw["train_split"] = None
    fast = make_clf(**kw).fit(X, y)
    slow = make_clf(**kw, **_row_by_row()).fit(X, y)
    np.testing.assert_array_equal(fast.predict_proba(X), slow.predict_proba(X))
    np.testing.assert_array_equal(fast.refined_labels_, slow.refined_labels_)
    assert list(fast.history[:, "train_loss"]) == list(slow.history[:, "train_loss"])


def test_training_rows_are_fetched_a_batch_at_a_time(iris, monkeypatch):
    from torch.utils.data import default_collate

    from noisyskl._data import IndexedDataset

    rows = []
    by_row = IndexedDataset.__getitem__
    monkeypatch.setattr(IndexedDataset, "__getitem__",
                        lambda self, i: rows.append(i) or by_row(self, i))
    make_clf(rounds=2).fit(*iris)  # training and validation batches, both rounds
    assert rows == []
    # a collate_fn of the user's own still gets the rows one by one
    sizes = []
    make_clf(train_split=None, batch_size=50,
             iterator_train__collate_fn=lambda b: sizes.append(len(b)) or default_collate(b),
             ).fit(*iris)
    assert len(rows) == 6 * 150 and sizes[:3] == [50, 50, 50]


def test_whole_batches_work_with_worker_processes(iris):
    X, y = iris
    kw = dict(max_epochs=2, train_split=None, iterator_train__shuffle=True)
    workers = make_clf(iterator_train__num_workers=1, **kw).fit(X, y)
    in_process = make_clf(**kw).fit(X, y)
    np.testing.assert_array_equal(workers.predict_proba(X), in_process.predict_proba(X))


def test_whole_batches_of_channels_last_images_train_exactly_as_row_by_row(monkeypatch):
    # images stored height-width-channel and transposed, as image loaders often give
    # them: the batch must come out in the layout collating rows gives (contiguous)
    # on a GPU, two CNN trainings agree bit for bit only with deterministic cuDNN
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", True)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    rng = np.random.default_rng(0)
    images = rng.random((96, 16, 16, 3), dtype=np.float32).transpose(0, 3, 1, 2)
    y = np.arange(96) % 3
    kw = dict(module=None, max_epochs=2, batch_size=32, train_split=None)
    fast = make_clf(**kw).fit(images, y)
    slow = make_clf(**kw, **_row_by_row()).fit(images, y)
    np.testing.assert_array_equal(fast.predict_proba(images), slow.predict_proba(images))


@pytest.mark.parametrize("kind", ["array", "channels-last images", "tensor"])
def test_predictions_are_fetched_a_batch_at_a_time_with_the_same_numbers(iris, kind, monkeypatch):
    # prediction rows were collated one by one (skorch's Dataset), most of the
    # time predict_proba takes on a small model
    from noisyskl._data import RowsToPredict

    monkeypatch.setattr(torch.backends.cudnn, "deterministic", True)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    X, y = iris
    if kind == "channels-last images":
        X = np.random.default_rng(0).random((96, 8, 8, 3), dtype=np.float32).transpose(0, 3, 1, 2)
        y = np.arange(96) % 3
    kw = dict(module=None if X.ndim == 4 else TinyMLP, max_epochs=2, batch_size=32,
              train_split=None)
    clf = make_clf(**kw).fit(X, y)
    # a collate_fn of one's own: rows one by one (the same fit: see above)
    by_rows = make_clf(**kw, **_row_by_row()).fit(X, y)
    X_in = torch.as_tensor(np.ascontiguousarray(X), dtype=torch.float32) if kind == "tensor" else X
    rows = []
    by_row = RowsToPredict.__getitem__
    monkeypatch.setattr(RowsToPredict, "__getitem__",
                        lambda self, i: rows.append(i) or by_row(self, i))
    fast = clf.predict_proba(X_in)
    assert rows == []
    slow = by_rows.predict_proba(X_in)
    assert len(rows) == len(X)
    np.testing.assert_array_equal(fast, slow)
    np.testing.assert_array_equal(clf.predict(X_in), clf.classes_[slow.argmax(1)])
