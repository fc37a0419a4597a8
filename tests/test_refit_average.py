"""The rounds=2 refit's model: the mean of its last third of epochs
(average_refit), batch-norm statistics included."""

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from noisyskl import RefitNet

from .conftest import flip_labels, make_clf


class _RecordWeights(Callback):
    """Keeps a copy of the module's state after every epoch of the latest training."""

    def on_train_begin(self, net, **kwargs):
        self.states = []

    def on_epoch_end(self, net, **kwargs):
        self.states.append({k: v.detach().clone() for k, v in net.module_.state_dict().items()})


def _final_state(clf):
    return {k: v.detach() for k, v in clf.module_.state_dict().items()}


@pytest.mark.parametrize("max_epochs, averaged", [(6, 2), (9, 3), (1, 1)])
def test_refit_model_is_the_mean_of_its_last_third_of_epochs(iris, max_epochs, averaged):
    X, y = iris
    noisy, _ = flip_labels(y, 0.3, 3, seed=0)
    record = _RecordWeights()
    clf = make_clf(max_epochs=max_epochs, train_split=None, rounds=2,
                   callbacks=[("record", record)]).fit(X, noisy)
    refit_epochs = record.states  # the callback saw the refit last
    assert len(refit_epochs) == max_epochs
    for name, value in _final_state(clf).items():
        mean = torch.stack([s[name] for s in refit_epochs[-averaged:]]).mean(0)
        torch.testing.assert_close(value, mean)
    if averaged > 1:  # the average is not simply the last epoch
        assert not torch.equal(_final_state(clf)["net.0.weight"], refit_epochs[-1]["net.0.weight"])
    # nothing of the refit left behind to pickle
    assert not any(isinstance(v, RefitNet) for v in vars(clf).values())


def test_refit_without_averaging_keeps_the_last_epoch_and_trains_the_same(iris):
    X, y = iris
    noisy, _ = flip_labels(y, 0.3, 3, seed=0)
    runs = {}
    for average in (True, False):
        record = _RecordWeights()
        clf = make_clf(max_epochs=6, train_split=None, rounds=2, average_refit=average,
                       callbacks=[("record", record)]).fit(X, noisy)
        runs[average] = (clf, record.states)
    (avg, avg_states), (last, last_states) = runs[True], runs[False]
    for name, value in _final_state(last).items():
        torch.testing.assert_close(value, last_states[-1][name], rtol=0, atol=0)
        # averaging only reads the weights: both refits took the same path
        torch.testing.assert_close(avg_states[-1][name], last_states[-1][name], rtol=0, atol=0)
    assert not np.allclose(avg.predict_proba(X), last.predict_proba(X))
    assert avg.get_params()["average_refit"] is True


def test_refit_stopped_before_its_last_third_keeps_its_last_weights(iris):
    X, y = iris
    noisy, _ = flip_labels(y, 0.3, 3, seed=0)

    class StopRefitAtEpoch2(_RecordWeights):
        trainings = 0

        def on_train_begin(self, net, **kwargs):
            super().on_train_begin(net, **kwargs)
            self.trainings += 1

        def on_epoch_end(self, net, **kwargs):
            super().on_epoch_end(net, **kwargs)
            if self.trainings == 2 and len(net.history) == 2:
                raise KeyboardInterrupt  # skorch ends training cleanly

    record = StopRefitAtEpoch2()
    clf = make_clf(max_epochs=9, train_split=None, rounds=2, refit_rows="unflagged",
                   callbacks=[("record", record)]).fit(X, noisy)
    assert len(clf.history) == 2
    for name, value in _final_state(clf).items():
        torch.testing.assert_close(value, record.states[-1][name], rtol=0, atol=0)


def test_refit_average_covers_batch_norm_statistics():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 1, 8, 8)).astype(np.float32)
    y = (X[:, 0, :4].mean(axis=(1, 2)) > 0).astype(int)
    record = _RecordWeights()
    # (min_flagged_fraction=0.5: the default flags 72% of these rows after 6 epochs,
    # which skips the refit)
    clf = make_clf(module=None, max_epochs=6, train_split=None, rounds=2, batch_size=20,
                   min_flagged_fraction=0.5, callbacks=[("record", record)]).fit(X, y)
    assert hasattr(clf, "first_round_history_")  # the refit ran
    final = _final_state(clf)
    running = [k for k in final if k.endswith(("running_mean", "running_var"))]
    assert running, "the default CNN has batch-norm layers"
    for name in running:  # the mean over the refit's last 2 of 6 epochs
        mean = torch.stack([s[name] for s in record.states[-2:]]).mean(0)
        torch.testing.assert_close(final[name], mean)
        assert not torch.equal(final[name], record.states[-1][name])
    counters = [k for k in final if k.endswith("num_batches_tracked")]
    assert counters
    for name in counters:  # a counter, not averaged: the last epoch's count
        assert int(record.states[-1][name]) > int(record.states[-2][name])
        assert int(final[name]) == int(record.states[-1][name])
