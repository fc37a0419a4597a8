"""skorch's callbacks through the estimator: early stopping, checkpoints,
schedules, and scoring against the labels as given."""

import numpy as np
import pytest
from skorch.callbacks import (
    BatchScoring,
    Callback,
    Checkpoint,
    EarlyStopping,
    EpochScoring,
    LRScheduler,
    ProgressBar,
)

from .conftest import STRING_CLASSES, CountingDataset, make_clf


def test_skorch_callbacks_still_work(iris, tmp_path):
    X, y = iris
    clf = make_clf(max_epochs=30, callbacks=[
        ProgressBar(),
        EarlyStopping(patience=2, threshold=10.0),  # stops as soon as it can
        Checkpoint(dirname=str(tmp_path), load_best=True),
        LRScheduler(policy="StepLR", step_size=1, gamma=0.5),
    ]).fit(X, y)
    assert len(clf.history) < 30
    assert (tmp_path / "params.pt").exists()
    assert clf.optimizer_.param_groups[0]["lr"] < 0.05
    assert clf.refined_labels_.shape == (150, 3)
    np.testing.assert_allclose(clf.predict_proba(X).sum(1), 1.0, atol=1e-5)


@pytest.mark.parametrize("dataset", ["default", "own"])
@pytest.mark.parametrize("use_caching", [True, False])
@pytest.mark.parametrize("on_train", [False, True])
def test_epoch_scoring_scores_the_labels_as_given(iris, use_caching, on_train, dataset):
    # skorch's scoring callbacks: uncached, EpochScoring reads X and y from the
    # dataset and calls predict (it used to get y=None and fail); cached, it
    # compares the batches' predictions with their targets. Either way the
    # score is the accuracy of predict against the labels as given.
    X, y = iris
    labels = STRING_CLASSES[y]
    probe = []

    class Probe(Callback):  # the accuracy predict gives right after each epoch
        def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
            rows = net.train_mask_ if on_train else ~net.train_mask_
            probe.append(float(np.mean(net.predict(X[rows]) == labels[rows])))

    scoring = EpochScoring("accuracy", lower_is_better=False, on_train=on_train,
                           use_caching=use_caching, name="acc")
    # (the callbacks run after the net's own on_epoch_end, with the same weights)
    own = {"dataset": CountingDataset} if dataset == "own" else {}
    clf = make_clf(max_epochs=4, callbacks=[scoring, Probe()], **own).fit(X, labels)
    if on_train and use_caching:
        # the cached training score averages the batches' predictions as the
        # weights moved during the epoch; it is not predict's after the epoch
        assert all(0.0 <= a <= 1.0 for a in clf.history[:, "acc"])
    else:
        np.testing.assert_allclose(clf.history[:, "acc"], probe, atol=1e-6)


@pytest.mark.parametrize("use_caching", [True, False])
def test_batch_scoring_works(iris, use_caching):
    # BatchScoring calls predict on each batch as the net sees it (it used to
    # fail validating the batch as an array)
    X, y = iris
    clf = make_clf(max_epochs=3, callbacks=[
        BatchScoring("accuracy", lower_is_better=False, use_caching=use_caching, name="bacc")
    ]).fit(X, STRING_CLASSES[y])
    scores = clf.history[:, "bacc"]
    assert len(scores) == 3 and all(0.0 <= s <= 1.0 for s in scores)
    assert scores[-1] > 0.5  # better than chance on 3 classes: not comparing indices with labels
