"""A pretrained-style backbone as ``module``: a module instance whose body is
frozen and whose head is trained, with a learning-rate schedule, through both
rounds, on a Dataset of image files."""

import numpy as np
import pytest
import torch
from skorch.callbacks import Freezer, LRScheduler
from torch import nn

from noisyskl import NoisyNeuralNetClassifier

from .conftest import flip_labels
from .image_files import ImageFiles, write_image_folder


class Backbone(nn.Module):
    """A body (conv + pooling; stands in for a pretrained network) and a head."""

    def __init__(self, n_classes=3):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 6, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                                  nn.Flatten())
        self.head = nn.Linear(6, n_classes)

    def forward(self, x):
        return self.head(self.body(x))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = write_image_folder(tmp_path_factory.mktemp("images"), n_per_class=20)
    ds = ImageFiles(folder)
    return ds, flip_labels(np.array(ds.targets), 0.2, 3, seed=1)[0]


def pretrained():
    torch.manual_seed(123)  # "the pretrained weights"
    return Backbone()


def test_a_frozen_pretrained_body_stays_as_given_through_both_rounds(files):
    ds, y = files
    module = pretrained()
    body = {k: v.clone() for k, v in module.body.state_dict().items()}
    head = {k: v.clone() for k, v in module.head.state_dict().items()}
    clf = NoisyNeuralNetClassifier(
        module, max_epochs=6, warm_up=2, lr=0.1, batch_size=16, random_state=0, verbose=0,
        callbacks=[Freezer("body.*")])
    clf.fit(ds, y)
    assert len(clf.history) == 6 and len(clf.first_round_history_) == 6  # the refit ran
    for k, v in clf.module_.body.state_dict().items():
        assert torch.equal(v, body[k]), k  # frozen, and not reset by the refit
    assert not torch.equal(clf.module_.head.weight, head["weight"])  # the head trained


def test_the_refit_starts_from_the_instances_weights_not_a_reset(files, monkeypatch):
    ds, y = files
    from noisyskl import _refit

    started = {}
    original = _refit.RefitNet.on_train_begin

    def spy(self, net, **kwargs):
        started.update({k: v.clone() for k, v in self.module_.state_dict().items()})
        return original(self, net, **kwargs)

    monkeypatch.setattr(_refit.RefitNet, "on_train_begin", spy)
    module = pretrained()
    given = {k: v.clone() for k, v in module.state_dict().items()}
    NoisyNeuralNetClassifier(module, max_epochs=5, warm_up=1, lr=0.1, batch_size=16,
                             random_state=0, verbose=0).fit(ds, y)
    assert started and all(torch.equal(started[k], given[k]) for k in given)


def test_a_learning_rate_schedule_runs_in_both_rounds(files):
    ds, y = files
    clf = NoisyNeuralNetClassifier(
        pretrained(), max_epochs=6, warm_up=2, lr=0.1, batch_size=16, random_state=0,
        verbose=0, optimizer=torch.optim.SGD,
        callbacks=[LRScheduler(torch.optim.lr_scheduler.StepLR, step_size=2, gamma=0.5,
                               event_name="lr_now")])
    clf.fit(ds, y)
    expected = [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]
    for history in (clf.first_round_history_, clf.history):
        np.testing.assert_allclose(history[:, "lr_now"], expected)
    assert clf.optimizer_.param_groups[0]["lr"] == pytest.approx(0.0125)
