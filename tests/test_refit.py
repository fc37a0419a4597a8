"""The rounds=2 refit: what it trains on and how, that it cannot fail half-way,
and that it is skipped where it cannot help."""

import warnings

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback, Checkpoint, EpochScoring

from noisyskl import NoisyLabelLoss, NoisyNeuralNetClassifier, RefitNet

from .conftest import (
    STRING_CLASSES,
    BatchNormMLP,
    CountingDataset,
    TinyMLP,
    flag_rows,
    flip_labels,
    make_clf,
)


def _flag_rows(monkeypatch, n):
    """Make find_label_issues flag n rows (spread over iris's class-sorted rows)."""
    flag_rows(monkeypatch, lambda rows: (np.arange(rows) * 7) % rows < n)


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
                   train_split=None, callbacks=[("sizes", sizes)], flagged_rows="drop").fit(X, y)
    # the row over is trained with the batch before it: every kept row, every epoch
    assert min(sizes.sizes) > 1 and sum(sizes.sizes) == 3 * 129
    assert len(clf.history) == 3 and "n_refined" not in clf.history[-1]  # the refit's
    np.testing.assert_allclose(clf.predict_proba(X).sum(1), 1.0, atol=1e-5)


def test_a_refit_that_leaves_no_single_row_over_keeps_every_kept_row(iris, monkeypatch):
    X, y = iris
    _flag_rows(monkeypatch, 22)  # 128 kept rows: 8 full batches
    sizes = _RefitBatchSizes()
    make_clf(module=BatchNormMLP, rounds=2, max_epochs=3, warm_up=1, batch_size=16,
             train_split=None, callbacks=[("sizes", sizes)], flagged_rows="drop").fit(X, y)
    assert sum(sizes.sizes) == 3 * 128


class _FirstRoundBatchSizes(Callback):
    def initialize(self):
        self.sizes = []
        return self

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training and not isinstance(net, RefitNet):
            self.sizes.append(len(batch[1]))


@pytest.mark.parametrize("shuffle", [True, False])
def test_the_first_round_never_trains_batch_norm_on_a_last_batch_of_one_row(iris, shuffle):
    # 142 rows: the default split (StratifiedHoldout(0.2)) keeps 113 for
    # training, 7 batches of 16 and one row over, a count the user never chose
    X, y = iris
    X, y = X[4:146], y[4:146]
    sizes = _FirstRoundBatchSizes()
    clf = make_clf(module=BatchNormMLP, rounds=1, max_epochs=3, warm_up=1, batch_size=16,
                   iterator_train__shuffle=shuffle, callbacks=[("sizes", sizes)])
    clf.fit(X, y)
    n_train = len(y) - int(clf.find_label_issues()["in_training"].eq(False).sum())
    assert n_train % 16 == 1  # (the case this test is about)
    # the row over trains with the batch before it: every training row, every
    # epoch, as the per-row state needs (none left unseen, also unshuffled)
    assert min(sizes.sizes) > 1 and sum(sizes.sizes) == 3 * n_train
    assert int(clf.train_mask_.sum()) == n_train
    np.testing.assert_allclose(clf.predict_proba(X).sum(1), 1.0, atol=1e-5)


def test_a_sampler_or_drop_last_of_the_users_own_is_left_as_it_is(iris):
    # the sampler decides how many rows an epoch has, not the dataset's length
    from torch.utils.data import WeightedRandomSampler

    X, y = iris
    X, y = X[:129], y[:129]
    sampler = WeightedRandomSampler(np.ones(129), num_samples=100, replacement=True)
    sizes = _FirstRoundBatchSizes()
    make_clf(rounds=1, max_epochs=2, warm_up=1, batch_size=128, train_split=None,
             iterator_train__sampler=sampler, callbacks=[("sizes", sizes)]).fit(X, y)
    assert sizes.sizes == [100, 100]
    sizes = _FirstRoundBatchSizes()
    make_clf(rounds=1, max_epochs=2, warm_up=1, batch_size=128, train_split=None,
             iterator_train__drop_last=True, callbacks=[("sizes", sizes)]).fit(X, y)
    assert sizes.sizes == [128, 128]
    # drop_last=False is DataLoader's default, not a choice to keep one row apart
    sizes = _FirstRoundBatchSizes()
    make_clf(rounds=1, max_epochs=2, warm_up=1, batch_size=128, train_split=None,
             iterator_train__drop_last=False, callbacks=[("sizes", sizes)]).fit(X, y)
    assert sizes.sizes == [129, 129]


@pytest.mark.parametrize("valid_batch", [None, 1])
def test_the_refit_recomputes_batch_norm_over_batches_of_one_row(iris, valid_batch):
    # flagged_rows="unlabelled" recomputes the batch-norm statistics over the
    # refit's 145 rows through the prediction iterator, in training mode: in
    # batches of 16 one row is left over (it died there); in batches of one
    # every batch is refused by BatchNorm1d, so the refit's statistics stay
    # (it was a ZeroDivisionError)
    X, y = iris
    order = np.random.default_rng(0).permutation(len(y))[:145]
    X, y = X[order], y[order]
    noisy, _ = flip_labels(y, 0.2, 3, seed=0)
    extra = {} if valid_batch is None else {"iterator_valid__batch_size": valid_batch}
    clf = make_clf(module=BatchNormMLP, rounds=2, max_epochs=10, warm_up=2, batch_size=16,
                   train_split=None, flagged_rows="unlabelled", refit_rows="unflagged", **extra)
    clf.fit(X, noisy)
    assert len(clf.first_round_history_) == 10 and len(clf.history) == 10  # the refit ran
    np.testing.assert_allclose(clf.predict_proba(X).sum(1), 1.0, atol=1e-5)


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
                                         r"are wrong.*max_epochs=3.*refit trains without their "
                                         r"labels"):
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
    said = [w for w in caught if "refit trains without their labels" in str(w.message)]
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
              verbose=0, random_state=0, module__hidden=8, refit_rows="unflagged")
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


orig_begin = NoisyNeuralNetClassifier.on_train_begin


refit_begin = RefitNet.on_train_begin


def _at_train_begin(monkeypatch, note):
    """Call ``note(net, X)`` as each training begins: the first round's
    (a NoisyNeuralNetClassifier) and the refit's (a RefitNet)."""
    for cls, begin in ((NoisyNeuralNetClassifier, orig_begin), (RefitNet, refit_begin)):
        monkeypatch.setattr(cls, "on_train_begin",
                            lambda self, net, X=None, y=None, begin=begin, **kw: (
                                note(self, X), begin(self, net, X=X, y=y, **kw))[1])


def test_default_is_two_rounds(iris):
    X, y = iris
    clf = NoisyNeuralNetClassifier(max_epochs=8, verbose=0, random_state=0)
    assert clf.rounds == 2
    clf.fit(X, y)
    assert hasattr(clf, "first_round_history_") and len(clf.first_round_history_) == 8


def test_two_rounds_refit_without_flagged_rows(iris, monkeypatch):
    X, y = iris
    noisy, _ = flip_labels(y, 0.3, 3, seed=0)
    one = make_clf(max_epochs=8, train_split=None).fit(X, noisy)
    flagged = one.find_label_issues()["is_label_issue"].to_numpy()
    assert 0 < flagged.sum() < 150
    seen = []
    _at_train_begin(monkeypatch, lambda net, X: seen.append((type(net).__name__, len(X))))
    two = make_clf(max_epochs=8, train_split=None, rounds=2, refit_rows="unflagged",
                   flagged_rows="drop").fit(X, noisy)
    # round 1 as usual on all rows; round 2, a RefitNet, on the unflagged rows only
    assert seen == [("NoisyNeuralNetClassifier", 150), ("RefitNet", 150 - flagged.sum())]
    assert two.weighting == "gaussian" and two.refinement == "convex"  # never changed
    assert type(two) is NoisyNeuralNetClassifier and "first_round_" not in vars(two)
    # refined labels and the report are the first round's, on every row
    np.testing.assert_array_equal(two.refined_labels_, one.refined_labels_)
    report = two.find_label_issues()
    assert len(report) == 150 and (report["given_label"] == noisy).all()
    assert not np.array_equal(two.predict_proba(X), one.predict_proba(X))
    # the first round's history, with its refinement counts, is kept
    assert two.first_round_history_[:, "n_refined"] == one.history[:, "n_refined"]
    # the refit is plain cross-entropy: it neither refines nor logs the method's statistics
    assert not {"n_refined", "mean_g", "sigma"} & set(two.history[-1])
    again = make_clf(max_epochs=8, train_split=None, rounds=2, refit_rows="unflagged",
                     flagged_rows="drop").fit(X, noisy)
    np.testing.assert_array_equal(again.predict_proba(X), two.predict_proba(X))


def test_two_rounds_with_a_module_instance_start_fresh(iris):
    X, y = iris
    weights = {}

    class Record(Callback):  # the first layer's weights as each round ends and begins
        def on_train_begin(self, net, **kwargs):
            if isinstance(net, RefitNet):
                weights["start of the refit"] = net.module_.net[0].weight.detach().clone()

        def on_train_end(self, net, **kwargs):
            if not isinstance(net, RefitNet):
                weights["end of round 1"] = net.module_.net[0].weight.detach().clone()

    clf = make_clf(module=TinyMLP(), max_epochs=4, train_split=None, rounds=2,
                   callbacks=[Record()])
    clf.fit(X, y)
    # skorch would reuse the trained instance; round 2 must start from fresh weights
    assert set(weights) == {"start of the refit", "end of round 1"}
    assert not torch.equal(weights["start of the refit"], weights["end of round 1"])


def test_two_rounds_keep_a_class_whose_rows_were_all_flagged(iris, monkeypatch):
    X, y = iris
    original = NoisyNeuralNetClassifier.find_label_issues

    def flag_all_of_class_2(self, *args, **kwargs):
        report = original(self, *args, **kwargs)
        report["is_label_issue"] = report["given_label"] == 2
        return report

    monkeypatch.setattr(NoisyNeuralNetClassifier, "find_label_issues", flag_all_of_class_2)
    seen = []
    _at_train_begin(monkeypatch, lambda net, X: seen.append(len(X)))
    with pytest.warns(UserWarning, match=r"50 of the 50 rows annotated 2 were flagged") as caught:
        clf = make_clf(max_epochs=4, train_split=None, rounds=2, refit_rows="unflagged",
                       flagged_rows="drop").fit(X, y)
    assert caught[0].filename == __file__  # points at the user's call
    assert seen == [150, 150]  # nothing dropped: the only flagged class is kept whole
    assert set(clf.predict(X)) <= {0, 1, 2}


def test_two_rounds_leave_out_the_rows_flagged_at_the_estimators_threshold(iris, monkeypatch):
    X, y = iris
    noisy, _ = flip_labels(y, 0.3, 3, seed=0)
    one = make_clf(max_epochs=10, train_split=None).fit(X, noisy)
    seen = []
    _at_train_begin(monkeypatch, lambda net, X: seen.append(len(X)))
    kept = []
    for fraction in (0.1, 1.0):
        flagged = one.find_label_issues(fraction)["is_label_issue"].sum()
        seen.clear()
        two = make_clf(max_epochs=10, train_split=None, rounds=2, refit_rows="unflagged",
                       min_flagged_fraction=fraction, flagged_rows="drop").fit(X, noisy)
        assert seen == [150, 150 - flagged]
        np.testing.assert_array_equal(two.find_label_issues()["is_label_issue"],
                                      one.find_label_issues(fraction)["is_label_issue"])
        kept.append(seen[1])
    assert kept[0] < kept[1]  # a lower threshold leaves out more rows


def test_refit_computes_none_of_the_methods_statistics(iris, monkeypatch):
    X, y = iris
    calls = []
    original = NoisyLabelLoss.forward
    monkeypatch.setattr(NoisyLabelLoss, "forward",
                        lambda self, *a, **k: (calls.append(1), original(self, *a, **k))[1])
    seen = []
    _at_train_begin(monkeypatch, lambda net, X: seen.append(len(calls)))
    make_clf(max_epochs=4, rounds=2).fit(X, y)
    first_round_calls = len(calls)
    # none in either refit (refit_rows="choose": two)
    assert seen == [0, first_round_calls, first_round_calls] and first_round_calls > 0


@pytest.mark.parametrize("class_weight", [None, "balanced"])
def test_refit_loss_is_the_criterions_loss_without_weights(iris, class_weight):
    from noisyskl._data import INDEX_KEY, X_KEY

    X, y = iris
    clf = make_clf(max_epochs=1, train_split=None, class_weight=class_weight).fit(X, y)
    device = clf.refinement_state_.annotation.device  # the fit's (NOISYSKL_TEST_DEVICE)
    idx = torch.arange(0, 150, 7, device=device)
    yb = clf.refinement_state_.annotation_index()[idx]
    logits = torch.randn(len(idx), 3, generator=torch.Generator().manual_seed(0)).to(device)
    cw = None if class_weight is None else clf.refinement_state_.class_weight[yb]
    expected = NoisyLabelLoss(weighting=None, n_samples=150).to(device)(
        logits, torch.nn.functional.one_hot(yb, 3).float(), sample_index=idx, sample_weight=cw)
    refit = RefitNet.from_first_round(clf).initialize()
    refit.kept_class_weight_ = clf.refinement_state_.class_weight  # as at the refit's start
    got = refit.get_loss(logits, yb, X={X_KEY: torch.from_numpy(X[idx.cpu()]), INDEX_KEY: idx},
                         training=True)
    assert torch.equal(got, expected)  # bit for bit: the refit's numbers are unchanged


def test_a_later_one_round_fit_drops_the_earlier_first_round_history(iris):
    X, y = iris
    clf = make_clf(rounds=2, max_epochs=4).fit(X, y)
    assert hasattr(clf, "first_round_history_")
    clf.set_params(rounds=1).fit(X, y)
    assert not hasattr(clf, "first_round_history_")  # it was the earlier fit's


def test_the_refit_starts_fresh_next_to_load_init_state(iris, tmp_path):
    # skorch's resume pattern, Checkpoint + LoadInitState: the refit used to
    # load the first round's checkpoint and continue its history
    from skorch.callbacks import LoadInitState

    X, y = iris
    checkpoint = Checkpoint(dirname=str(tmp_path))
    clf = make_clf(rounds=2, max_epochs=4,
                   callbacks=[checkpoint, LoadInitState(checkpoint)]).fit(X, y)
    assert len(clf.history) == 4 and len(clf.first_round_history_) == 4
    assert any(isinstance(cb, LoadInitState) for _, cb in clf.callbacks_)  # put back
    plain = make_clf(rounds=2, max_epochs=4, callbacks=[Checkpoint(dirname=str(tmp_path / "b"))])
    np.testing.assert_array_equal(clf.predict_proba(X), plain.fit(X, y).predict_proba(X))


def test_the_refit_reads_its_rows_from_X_as_a_copy_would_give_them(iris):
    # the unflagged refit reads its kept rows from X (no copy of them); skorch,
    # the callbacks and a dataset of the user's own see those rows as before
    X, y = iris
    noisy = STRING_CLASSES[flip_labels(y, 0.3, 3, seed=0)[0]]
    seen = []

    class Sizes(Callback):
        def on_train_begin(self, net, X=None, y=None, **kwargs):
            seen.append((len(X), X.shape, len(y), np.asarray(X[:2]).shape))

    scoring = EpochScoring("accuracy", lower_is_better=False, on_train=True,
                           use_caching=False, name="acc")
    kw = dict(rounds=2, refit_rows="unflagged", max_epochs=6, train_split=None, average_refit=False,
              flagged_rows="drop")
    clf = make_clf(callbacks=[scoring, Sizes()], **kw).fit(X, noisy)
    kept = ~clf.find_label_issues()["is_label_issue"].to_numpy()
    m = int(kept.sum())
    assert 0 < m < len(y)
    assert seen == [(150, (150, 4), 150, (2, 4)), (m, (m, 4), m, (2, 4))]
    # uncached scoring of the refit's training rows: predict on the kept rows
    assert clf.history[-1, "acc"] == pytest.approx(np.mean(clf.predict(X[kept]) == noisy[kept]))
    own = make_clf(dataset=CountingDataset, **kw).fit(X, noisy)
    default = make_clf(**kw).fit(X, noisy)
    np.testing.assert_array_equal(own.predict_proba(X), default.predict_proba(X))


def test_verbose_two_rounds_say_what_the_refit_trains_on(iris, capsys):
    X, y = iris
    noisy = flip_labels(y, 0.3, 3, seed=0)[0]
    clf = make_clf(rounds=2, refit_rows="unflagged", max_epochs=6, verbose=1,
                   train_split=None, flagged_rows="drop").fit(X, noisy)
    out = capsys.readouterr().out
    kept = int((~clf.find_label_issues()["is_label_issue"]).sum())
    assert out.startswith("round 1/2: training with the method (weighting='gaussian', "
                          "targets refined from epoch 2) on 150 rows.")
    assert (f"round 2/2: refitting a fresh network with plain cross-entropy on the {kept} of "
            "150 rows not flagged") in out
    assert "Re-initializing" not in out  # skorch's, which said nothing of why
    assert out.count("train_loss") == 2  # both trainings' tables are still printed
    # the default flagged_rows="auto" on feature rows: the flagged rows stay, unlabelled
    clf = make_clf(rounds=2, refit_rows="unflagged", max_epochs=6, verbose=1,
                   train_split=None).fit(X, noisy)
    out = capsys.readouterr().out
    flagged = int(clf.find_label_issues()["is_label_issue"].sum())
    assert (f"round 2/2: refitting a fresh network on the {150 - flagged} of 150 rows not "
            f"flagged as label issues, with the {flagged} flagged ones as unlabelled rows "
            "(flagged_rows='auto').") in out
    # refit_rows="choose" with rows held out: both refits, and which was kept
    clf = make_clf(rounds=2, max_epochs=6, verbose=1, flagged_rows="drop").fit(X, noisy)
    out = capsys.readouterr().out
    trained = int(clf.train_mask_.sum())
    unflagged = int((~clf.find_label_issues()["is_label_issue"] & clf.train_mask_).sum())
    held = "holding out 30 rows to choose on"
    assert f"round 2/2, refit on every training row ({trained}), {held}." in out
    assert f"round 2/2, refit on the unflagged training rows ({unflagged}), {held}." in out
    kept = {"every": "every training row", "unflagged": "the unflagged training rows"}
    assert (f"round 2/2: chose the refit on {kept[clf.refit_choice_['refit_rows']]} "
            "(held-out accuracy corrected for noise: every ") in out
    assert out.count("train_loss") == 3
    if "score_every" not in clf.refit_choice_:  # (it stopped at the look, after 2 of 6)
        every = clf.refit_choice_["look_score_every"]
        assert ("round 2/2: stopped the refit on every training row after 2 of 6 epochs: it "
                "does not lead there (held-out accuracy corrected for noise: every "
                f"{every:.3f}, unflagged ") in out
        assert f"every {every:.3f} after 2 epochs, stopped, unflagged " in out


@pytest.mark.parametrize("rounds", [1, 2])
def test_a_class_never_learnt_and_flagged_away_is_named_with_its_cause(iris, monkeypatch, rounds):
    X, y = iris
    original = NoisyNeuralNetClassifier.find_label_issues

    def erase_class_2(self, *args, **kwargs):  # as a class the network has not learnt
        report = original(self, *args, **kwargs)
        report["is_label_issue"] = report["given_label"] == 2
        report.loc[report["predicted_label"] == 2, "predicted_label"] = 1
        return report

    monkeypatch.setattr(NoisyNeuralNetClassifier, "find_label_issues", erase_class_2)
    with pytest.warns(UserWarning, match=r"no more than 0 rows' refined labels favour 2, "
                      r"annotated on 50: the network had not learnt that class") as caught:
        clf = make_clf(max_epochs=6, train_split=None, rounds=rounds).fit(X, y)
    said = [w for w in caught if "whole class" in str(w.message)]
    assert len(said) == 1 and said[0].filename == __file__
    assert "class_weight='balanced'" in str(said[0].message)
    # (the patched report flags them; the library's own rule would not: below)
    assert clf.find_label_issues()["is_label_issue"][y == 2].all()


def test_the_rows_of_a_class_never_learnt_are_not_flagged():
    from noisyskl._report import label_issue_frame

    given = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    refined = np.eye(3)[[0, 0, 1, 1, 1, 1, 0, 1]]  # no row favours class 2
    frame = label_issue_frame(refined, given, np.array(["a", "b", "c"]), np.zeros(8),
                              np.ones(8), np.zeros(8), np.ones(8), np.ones(8, bool))
    # every row voted; class 2 never learnt: its rows are no evidence of noise
    assert frame["is_label_issue"].tolist() == [True] * 6 + [False] * 2
