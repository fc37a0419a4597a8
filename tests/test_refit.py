"""The rounds=2 refit: it cannot fail half-way, and it is skipped where it cannot help."""

import warnings

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from noisyskl import NoisyNeuralNetClassifier, RefitNet

from .conftest import flip_labels, make_clf


class BatchNormMLP(torch.nn.Module):
    """4 inputs -> 3 logits, with batch norm (which cannot train on one row)."""

    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.BatchNorm1d(16),
                                       torch.nn.ReLU(), torch.nn.Linear(16, 3))

    def forward(self, X):
        return self.net(X)


def _flag_rows(monkeypatch, n):
    """Make find_label_issues flag n rows (spread over iris's class-sorted rows)."""
    original = NoisyNeuralNetClassifier.find_label_issues

    def flag(self, *args, **kwargs):
        report = original(self, *args, **kwargs)
        report["is_label_issue"] = (np.arange(len(report)) * 7) % len(report) < n
        return report

    monkeypatch.setattr(NoisyNeuralNetClassifier, "find_label_issues", flag)


class _RefitBatchSizes(Callback):
    def initialize(self):
        self.sizes = []
        return self

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training and isinstance(net, RefitNet):
            self.sizes.append(len(batch[1]))


def test_the_refit_never_trains_batch_norm_on_a_last_batch_of_one_row(iris, monkeypatch):
    # the user chose 150 rows and batch_size=16; the refit's 129 kept rows
    # would leave one row over, and batch norm fails on it ("Expected more than
    # 1 value per channel when training") after the whole first round
    X, y = iris
    _flag_rows(monkeypatch, 21)
    sizes = _RefitBatchSizes()
    clf = make_clf(module=BatchNormMLP, rounds=2, max_epochs=3, warm_up=1, batch_size=16,
                   train_split=None, callbacks=[("sizes", sizes)]).fit(X, y)
    assert min(sizes.sizes) > 1 and sum(sizes.sizes) == 3 * 128  # one row left out per epoch
    assert len(clf.history) == 3 and "n_refined" not in clf.history[-1]  # the refit's
    np.testing.assert_allclose(clf.predict_proba(X).sum(1), 1.0, atol=1e-5)


def test_a_refit_that_leaves_no_single_row_over_keeps_every_kept_row(iris, monkeypatch):
    X, y = iris
    _flag_rows(monkeypatch, 22)  # 128 kept rows: 8 full batches
    sizes = _RefitBatchSizes()
    make_clf(module=BatchNormMLP, rounds=2, max_epochs=3, warm_up=1, batch_size=16,
             train_split=None, callbacks=[("sizes", sizes)]).fit(X, y)
    assert sum(sizes.sizes) == 3 * 128


class _FailInTheRefit(Callback):
    def on_epoch_end(self, net, **kwargs):
        if isinstance(net, RefitNet) and len(net.history) == 2:
            raise ValueError("a file could not be read")


def test_a_failing_refit_raises_and_leaves_the_first_rounds_model(iris):
    X, y = iris
    noisy, _ = flip_labels(y, 0.3, 3, seed=0)
    clf = make_clf(rounds=2, max_epochs=6, callbacks=[("fail", _FailInTheRefit())])
    with pytest.raises(RuntimeError, match=r"refit \(round 2.*failed after 2 epoch.*ValueError: "
                                           r"a file could not be read.*first round's model"):
        clf.fit(X, noisy)
    # not a half-trained refit: the first round, exactly as a rounds=1 fit
    one = make_clf(rounds=1, max_epochs=6, callbacks=[("fail", _FailInTheRefit())]).fit(X, noisy)
    np.testing.assert_array_equal(clf.predict_proba(X), one.predict_proba(X))
    assert len(clf.history) == 6 and "n_refined" in clf.history[-1]
    assert type(clf) is NoisyNeuralNetClassifier


def test_a_training_shorter_than_the_warm_up_skips_the_refit_and_says_so_once(iris):
    X, y = iris
    with pytest.warns(UserWarning) as caught:
        clf = make_clf(rounds=2, max_epochs=3, warm_up=5).fit(X, y)
    assert len(caught) == 1
    assert "refit, which would train again on every row, is skipped" in str(caught[0].message)
    assert caught[0].filename == __file__
    assert len(clf.history) == 3 and "n_refined" in clf.history[-1]  # the first round's
    assert not hasattr(clf, "first_round_history_")


def test_rounds_2_without_refinement_skips_the_refit_with_a_warning(iris):
    X, y = iris
    with pytest.warns(UserWarning, match="no target was refined.*refit.*was skipped.*rounds=1"):
        clf = make_clf(rounds=2, max_epochs=3, refinement=None).fit(X, y)
    assert "n_refined" in clf.history[-1] and not hasattr(clf, "first_round_history_")


def test_a_flood_of_flags_warns_and_an_implausible_one_skips_the_refit(iris, monkeypatch):
    X, y = iris
    # 73% flagged: more than (3 - 1) / 3 of the rows, so the annotations would not
    # even be the most common label of their class: skipped
    _flag_rows(monkeypatch, 110)
    with pytest.warns(UserWarning, match=r"flagged 73% of the rows.*max_epochs=3, "
                                         r"warm_up=1.*3 classes.*skipped") as caught:
        clf = make_clf(rounds=2, max_epochs=3, warm_up=1).fit(X, y)
    assert caught[0].filename == __file__
    assert "n_refined" in clf.history[-1]  # the model is the first round's
    # 60%: more than half, which warns with the cause, but the refit runs
    # (60% symmetric noise on 10 classes is learnable, and those flags are right)
    _flag_rows(monkeypatch, 90)
    with pytest.warns(UserWarning, match=r"flagged 60% of the rows.*unless that many labels "
                                         r"are wrong.*max_epochs=3.*refit leaves those rows out"):
        clf = make_clf(rounds=2, max_epochs=3, warm_up=1).fit(X, y)
    assert "n_refined" not in clf.history[-1]
    _flag_rows(monkeypatch, 60)  # 40%: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf = make_clf(rounds=2, max_epochs=3, warm_up=1).fit(X, y)
    assert "n_refined" not in clf.history[-1]


def test_a_search_says_a_repeated_warning_once_and_counts_it(iris, monkeypatch):
    from sklearn.model_selection import GridSearchCV

    from noisyskl import repeated_warnings

    X, y = iris
    original = NoisyNeuralNetClassifier.find_label_issues

    def flag_60_percent(self, *args, **kwargs):  # of any fold's rows
        report = original(self, *args, **kwargs)
        report["is_label_issue"] = np.arange(len(report)) % 5 < 3
        return report

    monkeypatch.setattr(NoisyNeuralNetClassifier, "find_label_issues", flag_60_percent)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # (not Python's once-per-place filter)
        GridSearchCV(make_clf(rounds=2, max_epochs=3, warm_up=1),
                     {"gamma": [1.0, 2.0], "mu": [0.1, 0.2]}, cv=2).fit(X, y)
    said = [w for w in caught if "refit leaves those rows out" in str(w.message)]
    assert len(said) == 1 and "noisyskl.repeated_warnings()" in str(said[0].message)
    assert repeated_warnings()["many_flagged"] == 2 * 4 + 1  # every fit, and the refit on all
    assert repeated_warnings(reset=True) and repeated_warnings() == {}


def test_train_ce_is_the_training_passes_plain_cross_entropy(iris):
    X, y = iris
    # without weights and refinement the loss is plain cross-entropy too
    # (3 equal batches: the batch mean is the row mean)
    plain = make_clf(weighting=None, refinement=None, batch_size=50, train_split=None,
                     max_epochs=4).fit(X, y)
    np.testing.assert_allclose(plain.history[:, "train_ce"], plain.history[:, "train_loss"],
                               rtol=1e-4)
    weighted = make_clf(max_epochs=4, train_split=None).fit(X, y)
    ce = np.array(weighted.history[:, "train_ce"])
    loss = np.array(weighted.history[:, "train_loss"])
    assert np.isfinite(ce).all()
    assert not np.allclose(ce, loss, rtol=1e-2)  # the weighted loss differs


def test_too_few_refinements_are_too_little_evidence_for_the_refit(iris):
    # max_epochs=3, warm_up=2: two refinements, where one vote in two flagged a row
    X, y = iris
    with pytest.warns(UserWarning, match=r"only 2 time\(s\).*too little evidence.*skipped") as w:
        clf = make_clf(rounds=2, max_epochs=3, warm_up=2).fit(X, y)
    assert len(w) == 1 and w[0].filename == __file__
    assert "n_refined" in clf.history[-1]  # the first round's model
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf = make_clf(rounds=2, max_epochs=4, warm_up=2).fit(X, y)  # three: refit
    assert "n_refined" not in clf.history[-1]


def test_what_a_subclass_carries_into_the_refit(iris):
    # its parameters (a subclass's own __init__ parameter stays with it), not
    # its methods: those go in a RefitNet subclass that it names as refit_net
    from .conftest import TinyMLP

    calls = []

    class CountingRefit(RefitNet):
        def infer(self, x, **fit_params):
            calls.append(type(self).__name__)
            return super().infer(x, **fit_params)

    class Counting(NoisyNeuralNetClassifier):
        def __init__(self, *args, note="mine", **kwargs):
            super().__init__(*args, **kwargs)
            self.note = note

        def infer(self, x, **fit_params):
            calls.append(type(self).__name__)
            return super().infer(x, **fit_params)

    class CountingBoth(Counting):
        refit_net = CountingRefit

    X, y = iris
    kw = dict(module=TinyMLP, max_epochs=4, warm_up=1, batch_size=75, train_split=None,
              verbose=0, random_state=0, module__hidden=8)
    clf = Counting(note="kept", **kw).fit(X, y)
    assert type(clf) is Counting and clf.note == "kept" and "n_refined" not in clf.history[-1]
    assert clf.module_.net[0].out_features == 8  # (a module__ parameter: carried)
    assert set(calls) == {"Counting"} and len(calls) == 4 * 2  # the first round's only
    calls.clear()
    both = CountingBoth(**kw).fit(X, y)
    assert calls.count("CountingBoth") == 4 * 2 and calls.count("CountingRefit") == 4 * 2
    # the refit's class changes where its methods come from, not its numbers
    np.testing.assert_array_equal(both.predict_proba(X), clf.predict_proba(X))


def test_a_failing_refit_gives_a_module_instance_its_first_round_weights_back(iris):
    from .conftest import TinyMLP

    X, y = iris
    noisy, _ = flip_labels(y, 0.3, 3, seed=0)
    import copy

    module = TinyMLP()
    one = make_clf(module=copy.deepcopy(module), rounds=1, max_epochs=6).fit(X, noisy)
    clf = make_clf(module=module, rounds=2, max_epochs=6,
                   callbacks=[("fail", _FailInTheRefit())])
    with pytest.raises(RuntimeError, match="first round's model"):
        clf.fit(X, noisy)
    # skorch trains the instance in place: the refit had reset and trained it
    np.testing.assert_array_equal(clf.predict_proba(X), one.predict_proba(X))


def test_a_pickle_taken_during_the_refit_keeps_every_callback(iris, tmp_path):
    import pickle

    from skorch.callbacks import Checkpoint, LoadInitState

    X, y = iris
    cp = Checkpoint(dirname=str(tmp_path), monitor=None, f_pickle="net.pkl")
    clf = make_clf(rounds=2, max_epochs=4, callbacks=[cp, LoadInitState(cp)]).fit(X, y)
    with open(tmp_path / "net.pkl", "rb") as f:
        net = pickle.load(f)  # the refit's last epoch
    assert [name for name, _ in net.callbacks_] == [name for name, _ in clf.callbacks_]
    assert any(isinstance(cb, LoadInitState) for _, cb in net.callbacks_)
