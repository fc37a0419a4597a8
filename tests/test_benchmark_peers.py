"""The benchmark's field peers on a torch Dataset (the blood-cell files)."""

import numpy as np
import torch
from torch.utils.data import TensorDataset

from benchmarks.peers import ELRNet
from noisyskl import MLPModule


def _elr():
    return ELRNet(MLPModule, module__n_features=5, module__n_classes=3,
                  criterion=torch.nn.CrossEntropyLoss, max_epochs=2, train_split=None,
                  batch_size=16, iterator_train__shuffle=True, verbose=0)


def test_elr_on_a_dataset_is_the_same_fit_as_on_arrays():
    gen = torch.Generator().manual_seed(0)
    X, y = torch.randn(100, 5, generator=gen), torch.randint(0, 3, (100,), generator=gen)
    fits = []
    for data in (X.numpy(), TensorDataset(X, y)):
        torch.manual_seed(1)
        fits.append(_elr().fit(data, y.numpy()))
    arrays, dataset = fits
    assert (dataset.row_targets_ > 0).all()  # every row's target was updated, by its number
    assert torch.equal(arrays.row_targets_, dataset.row_targets_)
    np.testing.assert_array_equal(arrays.predict_proba(X.numpy()),
                                  dataset.predict_proba(TensorDataset(X, y)))
