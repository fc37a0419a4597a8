"""NoisyNeuralNetClassifier through its public API."""

import math
import pickle
from functools import partial

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import (
    BatchScoring,
    Callback,
    Checkpoint,
    EarlyStopping,
    EpochScoring,
    LRScheduler,
    ProgressBar,
)
from skorch.dataset import Dataset as SkorchDataset

import noisyskl
from noisyskl import (
    GradientDensity,
    MLPModule,
    NoisyLabelLoss,
    NoisyNeuralNetClassifier,
    RefitNet,
    SmallCNN,
)

from .conftest import TinyMLP, flip_labels, make_clf


def test_public_api():
    assert noisyskl.__version__
    for name in noisyskl.__all__:
        assert hasattr(noisyskl, name)


def test_string_labels_round_trip(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = make_clf().fit(X, names)
    assert list(clf.classes_) == ["setosa", "versicolor", "virginica"]
    pred = clf.predict(X)
    assert pred.dtype.kind == "U" and set(pred) <= set(names)
    assert (pred == names).mean() > 0.8


def test_non_contiguous_integer_labels(iris):
    X, y = iris
    labels = np.array([3, 7, 42])[y]
    clf = make_clf().fit(X, labels)
    assert list(clf.classes_) == [3, 7, 42]
    assert set(clf.predict(X)) <= {3, 7, 42}
    # skorch's valid_acc compared class indices with indices, not labels
    assert clf.history[-1, "valid_acc"] > 0.5


def test_predict_proba_rows_sum_to_one_also_after_trim(iris):
    X, y = iris
    clf = make_clf().fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (150, 3)
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(1)])
    clf.trim_for_prediction()
    np.testing.assert_allclose(clf.predict_proba(X), proba, atol=1e-6)


def test_input_kinds_float64_tensor_dataframe(iris):
    X, y = iris
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    clf = make_clf().fit(df, pd.Series(y))
    assert list(clf.feature_names_in_) == ["a", "b", "c", "d"] and clf.n_features_in_ == 4
    from_df = clf.predict_proba(df)
    with pytest.warns(UserWarning, match="feature names"):
        np.testing.assert_allclose(clf.predict_proba(X), from_df, atol=1e-6)
    t = make_clf().fit(torch.tensor(X), torch.tensor(y))
    np.testing.assert_allclose(t.predict_proba(torch.tensor(X)),
                               make_clf().fit(X, y).predict_proba(X), atol=1e-5)


def test_user_arrays_are_not_modified(iris):
    X, y = iris
    X = np.ascontiguousarray(X, dtype=np.float32)
    df = pd.DataFrame(X.copy())
    X0, y0, df0 = X.copy(), y.copy(), df.copy()
    clf = make_clf().fit(X, y)
    clf.predict(X)
    make_clf().fit(df, y)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
    pd.testing.assert_frame_equal(df, df0)


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


def test_refined_labels_cover_every_row_including_held_out(iris):
    X, y = iris
    clf = make_clf(max_epochs=8).fit(X, y)
    R = clf.refined_labels_
    assert R.shape == (150, 3) and R.dtype == np.float32
    np.testing.assert_allclose(R.sum(1), 1.0, atol=1e-5)
    mask = clf.train_mask_
    assert mask.sum() == 120  # the default StratifiedHoldout holds out a fifth, 30 rows
    # held-out rows were refined from the validation pass: not one-hot any more
    assert (R[~mask].max(1) < 1).all()
    assert np.isnan(clf.gradient_norms_[~mask]).all()
    assert np.isfinite(clf.gradient_norms_[mask]).all()
    assert np.isfinite(clf.sample_weights_[mask]).all()
    for key in ["n_refined", "n_refined_valid", "mean_g", "sigma"]:
        assert np.isfinite(clf.history[-1, key])


def test_no_refinement_keeps_annotations(iris):
    X, y = iris
    clf = make_clf(refinement=None).fit(X, y)
    np.testing.assert_array_equal(clf.refined_labels_, np.eye(3, dtype=np.float32)[y])
    assert clf.history[:, "n_refined"] == [0] * 6


def test_warm_up_delays_refinement(iris):
    X, y = iris
    clf = make_clf(warm_up=4, max_epochs=4, train_split=None).fit(X, y)
    assert (clf.refined_labels_.max(1) < 1).any()  # refined at the end of epoch 4
    clf = make_clf(warm_up=5, max_epochs=4, train_split=None).fit(X, y)
    np.testing.assert_array_equal(clf.refined_labels_, np.eye(3, dtype=np.float32)[y])


@pytest.mark.parametrize("weighting", ["both", "density", "gaussian", None])
@pytest.mark.parametrize("refinement", ["convex", "printed"])
@pytest.mark.parametrize("density", ["dataset", "batch"])
def test_option_grid_trains(iris, weighting, refinement, density):
    X, y = iris
    clf = make_clf(weighting=weighting, refinement=refinement, density=density,
                   weight_normalization="mean" if density == "batch" else None).fit(X, y)
    assert np.isfinite(clf.history[:, "train_loss"]).all()
    assert clf.criterion_.weighting == weighting


def test_pickle_round_trip(iris):
    X, y = iris
    clf = make_clf().fit(X, np.array(["a", "b", "c"])[y])
    clf2 = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(clf2.refined_labels_, clf.refined_labels_)
    np.testing.assert_array_equal(clf2.gradient_norms_, clf.gradient_norms_)
    np.testing.assert_array_equal(clf2.predict(X), clf.predict(X))
    np.testing.assert_array_equal(clf2.classes_, clf.classes_)


def test_clone_and_params():
    clf = make_clf(bins=7, gamma=2.0, mu=0.3, warm_up=1, refinement="printed",
                   weighting="both", density="batch", weight_normalization="mean")
    params = clf.get_params()
    for key, val in dict(bins=7, gamma=2.0, mu=0.3, warm_up=1, refinement="printed",
                         weighting="both", density="batch", weight_normalization="mean",
                         random_state=0, iterator_train__shuffle=True).items():
        assert params[key] == val
    cloned = clone(clf)
    assert cloned.get_params()["bins"] == 7 and cloned is not clf
    clf.set_params(bins=3, mu=0.0)
    assert clf.bins == 3 and clf.mu == 0.0


@pytest.mark.parametrize("warm_start", [False, True])
def test_set_params_takes_effect_on_next_fit(iris, warm_start):
    X, y = iris
    clf = make_clf(bins=10, warm_start=warm_start).fit(X, y)
    assert clf.criterion_.density.counts.shape == (10,)
    clf.set_params(bins=4, mu=0.5, weighting="both", refinement=None)
    clf.fit(X, y)
    assert clf.criterion_.bins == 4 and clf.criterion_.mu == 0.5
    assert clf.criterion_.weighting == "both"
    assert clf.criterion_.density.counts.shape == (4,)
    assert clf.history[-1, "n_refined"] == 0 or warm_start


def test_pipeline_grid_search_and_cross_val(iris):
    X, y = iris
    pipe = Pipeline([("scale", StandardScaler()), ("net", make_clf(max_epochs=3))])
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and np.isfinite(scores).all()
    pipe.set_params(net__bins=5)
    assert pipe.named_steps["net"].bins == 5
    grid = GridSearchCV(make_clf(max_epochs=3),
                        {"bins": [5, 10], "gamma": [1.0, 2.0], "mu": [0.3, 0.5]}, cv=3)
    grid.fit(X, y)
    assert set(grid.best_params_) == {"bins", "gamma", "mu"}
    assert grid.best_estimator_.refined_labels_.shape == (150, 3)
    grid = GridSearchCV(pipe, {"net__bins": [5, 10], "net__mu": [0.1]}, cv=2).fit(X, y)
    assert grid.best_params_["net__bins"] in (5, 10)


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


def test_random_state_determinism_and_global_rng_untouched(iris):
    X, y = iris
    state = torch.get_rng_state()
    a = make_clf(random_state=3).fit(X, y)
    assert torch.equal(torch.get_rng_state(), state)
    b = make_clf(random_state=3).fit(X, y)
    c = make_clf(random_state=4).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    np.testing.assert_array_equal(a.refined_labels_, b.refined_labels_)
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))
    assert not np.array_equal(a.refined_labels_, c.refined_labels_)


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


def test_default_module_is_an_mlp_sized_from_data(iris):
    X, y = iris
    clf = NoisyNeuralNetClassifier(max_epochs=2, verbose=0, module__hidden_units=(8,),
                                   random_state=0).fit(X, y)
    assert isinstance(clf.module_, MLPModule)
    assert clf.module_.net[1].in_features == 4 and clf.module_.net[-1].out_features == 3
    images = np.random.default_rng(0).random((40, 1, 8, 8))
    clf = NoisyNeuralNetClassifier(max_epochs=1, verbose=0, train_split=None).fit(
        images, np.arange(40) % 2)
    assert isinstance(clf.module_, SmallCNN) and clf.module_.net[0].in_channels == 1
    assert clf.predict(images).shape == (40,)
    with pytest.raises(ValueError, match="rows of shape"):
        clf.predict(images.reshape(40, 1, 4, 16))
    with pytest.raises(ValueError, match="features"):
        clf.predict(images.reshape(40, 4, 4, 4))
    flat = NoisyNeuralNetClassifier(max_epochs=1, verbose=0).fit(images[:, 0], np.arange(40) % 2)
    assert isinstance(flat.module_, MLPModule)  # (n, H, W) is flattened into an MLP


def test_keyboard_interrupt_leaves_a_usable_estimator(iris):
    from skorch.callbacks import Callback

    class Interrupt(Callback):  # Ctrl-C in the middle of epoch 5
        def on_batch_end(self, net, **kwargs):
            if len(net.history) == 5 and len(net.history[-1]["batches"]) == 2:
                raise KeyboardInterrupt

    X, y = iris
    clf = make_clf(max_epochs=10, batch_size=32, callbacks=[Interrupt()],
                   train_split=None).fit(X, y)
    assert len(clf.history) == 5
    np.testing.assert_allclose(clf.predict_proba(X).sum(1), 1.0, atol=1e-5)
    refined = clf.refined_labels_
    # the refined labels are those of the end of epoch 4, the last completed one
    assert clf.history[3, "n_refined"] == int((refined.argmax(1) != y).sum())
    assert (refined.max(1) < 1).any()


orig_begin = NoisyNeuralNetClassifier.on_train_begin
refit_begin = RefitNet.on_train_begin


def _at_train_begin(monkeypatch, note):
    """Call ``note(net, X)`` as each training begins: the first round's
    (a NoisyNeuralNetClassifier) and the refit's (a RefitNet)."""
    for cls, begin in ((NoisyNeuralNetClassifier, orig_begin), (RefitNet, refit_begin)):
        monkeypatch.setattr(cls, "on_train_begin",
                            lambda self, net, X=None, y=None, begin=begin, **kw: (
                                note(self, X), begin(self, net, X=X, y=y, **kw))[1])


def test_two_rounds_refit_without_flagged_rows(iris, monkeypatch):
    X, y = iris
    noisy, _ = flip_labels(y, 0.3, 3, seed=0)
    one = make_clf(max_epochs=8, train_split=None).fit(X, noisy)
    flagged = one.find_label_issues()["is_label_issue"].to_numpy()
    assert 0 < flagged.sum() < 150
    seen = []
    _at_train_begin(monkeypatch, lambda net, X: seen.append((type(net).__name__, len(X))))
    two = make_clf(max_epochs=8, train_split=None, rounds=2).fit(X, noisy)
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
    again = make_clf(max_epochs=8, train_split=None, rounds=2).fit(X, noisy)
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
    with pytest.warns(UserWarning, match=r"flagged every row annotated as \[2\]") as caught:
        clf = make_clf(max_epochs=4, train_split=None, rounds=2).fit(X, y)
    assert caught[0].filename == __file__  # points at the user's call
    assert seen == [150, 150]  # nothing dropped: the only flagged class is kept whole
    assert set(clf.predict(X)) <= {0, 1, 2}


def test_default_is_two_rounds(iris):
    X, y = iris
    clf = NoisyNeuralNetClassifier(max_epochs=8, verbose=0, random_state=0)
    assert clf.rounds == 2
    clf.fit(X, y)
    assert hasattr(clf, "first_round_history_") and len(clf.first_round_history_) == 8


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
        two = make_clf(max_epochs=10, train_split=None, rounds=2,
                       min_flagged_fraction=fraction).fit(X, noisy)
        assert seen == [150, 150 - flagged]
        np.testing.assert_array_equal(two.find_label_issues()["is_label_issue"],
                                      one.find_label_issues(fraction)["is_label_issue"])
        kept.append(seen[1])
    assert kept[0] < kept[1]  # a lower threshold leaves out more rows


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
    clf = make_clf(max_epochs=9, train_split=None, rounds=2,
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
    assert seen == [0, first_round_calls] and first_round_calls > 0  # none in the refit


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


# ----------------------------------------------------- fetching the batches
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


@pytest.mark.parametrize("rounds", [1, 2])
def test_skorch_compile_trains_as_eager(iris, rounds):
    """skorch's ``compile=True`` compiles the criterion too; its statistics
    (sigma, the weights, the refined targets) must stay those of eager mode,
    and the default refit averages the compiled module's weights."""
    X, y = iris
    noisy, _ = flip_labels(y, 0.3, 3, seed=0)
    torch._dynamo.reset()
    kw = dict(train_split=None, rounds=rounds)
    compiled = make_clf(compile=True, compile__backend="aot_eager", **kw).fit(X, noisy)
    eager = make_clf(**kw).fit(X, noisy)
    assert type(compiled.criterion_).__name__ == "OptimizedModule"
    first = {1: lambda clf: clf.history, 2: lambda clf: clf.first_round_history_}[rounds]
    np.testing.assert_allclose(first(compiled)[:, "sigma"], first(eager)[:, "sigma"], rtol=1e-5)
    np.testing.assert_allclose(compiled.refined_labels_, eager.refined_labels_, atol=1e-5)
    np.testing.assert_allclose(compiled.predict_proba(X), eager.predict_proba(X), atol=1e-5)


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


class _CountingDataset(SkorchDataset):
    """skorch's Dataset, counting the rows it hands out."""

    rows_read = 0

    def __getitem__(self, i):
        type(self).rows_read += 1
        return super().__getitem__(i)


@pytest.mark.parametrize("train_split", [None, "default"])
def test_a_dataset_of_ones_own_is_used_for_training(iris, train_split):
    # skorch's dataset= (e.g. augmentation) was once ignored in training
    X, y = iris
    kw = dict(max_epochs=3) if train_split == "default" else dict(max_epochs=3, train_split=None)
    _CountingDataset.rows_read = 0
    own = make_clf(dataset=_CountingDataset, **kw).fit(X, y)
    assert _CountingDataset.rows_read == 3 * len(y)  # every row, every epoch (valid rows too)
    # the same rows as skorch's Dataset gives: the same fit, per-row state included
    default = make_clf(**kw).fit(X, y)
    np.testing.assert_array_equal(own.predict_proba(X), default.predict_proba(X))
    np.testing.assert_array_equal(own.refined_labels_, default.refined_labels_)
    np.testing.assert_array_equal(own.gradient_norms_, default.gradient_norms_)


def test_an_augmenting_dataset_changes_training(iris):
    X, y = iris

    class Jitter(SkorchDataset):
        def __getitem__(self, i):
            Xi, yi = super().__getitem__(i)
            noise = np.random.default_rng().standard_normal(Xi.shape).astype(Xi.dtype)
            return Xi + 0.5 * noise, yi

    kw = dict(max_epochs=4, train_split=None)
    jittered = make_clf(dataset=Jitter, **kw).fit(X, y)
    plain = make_clf(**kw).fit(X, y)
    # training saw the jittered rows (predict would jitter too, so compare training)
    assert not np.allclose(jittered.history[:, "train_loss"], plain.history[:, "train_loss"])
    assert jittered.history[-1, "n_refined"] >= 0 and np.isfinite(jittered.gradient_norms_).all()


def test_a_sampler_decides_the_order_despite_the_shuffle_default(iris):
    """The estimator's default iterator_train__shuffle=True is not passed on next
    to a sampler (torch's DataLoader refuses the two together)."""
    from torch.utils.data import BatchSampler, SequentialSampler

    X, y = iris
    clf = make_clf(max_epochs=2, train_split=None,
                   iterator_train__sampler=SequentialSampler(range(len(y)))).fit(X, y)
    assert clf.get_params()["iterator_train__shuffle"] is True  # the setting is kept
    in_order = make_clf(max_epochs=2, train_split=None, iterator_train__shuffle=False).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), in_order.predict_proba(X))
    batches = BatchSampler(SequentialSampler(range(len(y))), batch_size=128, drop_last=False)
    make_clf(max_epochs=1, train_split=None, iterator_train__batch_sampler=batches,
             iterator_train__batch_size=1).fit(X, y)  # DataLoader: batch_size 1 + a batch_sampler


STRING_CLASSES = np.array(["setosa", "versicolor", "virginica"])


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
    own = {"dataset": _CountingDataset} if dataset == "own" else {}
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


def _ctrl_c_at(epoch, in_refit=False):
    """A callback that sends this process a SIGINT (as Ctrl-C does) in the
    middle of the given epoch of the first training (or of the refit)."""
    import os
    import signal

    class CtrlC(Callback):
        def on_batch_end(self, net, **kwargs):
            if (isinstance(net, RefitNet) == in_refit and len(net.history) == epoch
                    and len(net.history[-1]["batches"]) == 1):
                os.kill(os.getpid(), signal.SIGINT)

    return CtrlC()


def test_ctrl_c_in_the_first_round_skips_the_refit(iris):
    # Ctrl-C means stop: skorch ends the first round cleanly, and fit used to
    # go on to train the whole refit regardless
    import signal

    X, y = iris
    before = signal.getsignal(signal.SIGINT)
    with pytest.warns(UserWarning, match="interrupted.*refit was skipped") as record:
        clf = make_clf(rounds=2, max_epochs=8, batch_size=32, train_split=None,
                       callbacks=[_ctrl_c_at(4)]).fit(X, y)
    assert record[0].filename == __file__  # points at the user's call
    assert signal.getsignal(signal.SIGINT) is before  # the handler is put back
    assert len(clf.history) == 4  # the first round's, interrupted in epoch 4
    assert clf.history[-2, "n_refined"] >= 0  # the method's history, not a refit's
    assert not hasattr(clf, "first_round_history_")
    np.testing.assert_allclose(clf.predict_proba(X).sum(1), 1.0, atol=1e-5)
    assert clf.find_label_issues().shape[0] == len(y)
    assert clf.interrupted_ and clf.history[-1, "interrupted"]


@pytest.mark.parametrize("rounds, in_refit, expected", [
    (1, False, "interrupted \\(Ctrl-C\\) in epoch 4: the model, refined_labels_"),
    (2, True, "interrupted \\(Ctrl-C\\) in the rounds=2 refit, in its epoch 3")])
def test_ctrl_c_is_said_and_kept_in_either_round(iris, rounds, in_refit, expected):
    # skorch ends training cleanly on Ctrl-C and fit returns as if done: a
    # script that saves the model next must be able to tell
    X, y = iris
    with pytest.warns(UserWarning, match=expected) as record:
        clf = make_clf(rounds=rounds, max_epochs=8, batch_size=32, train_split=None,
                       callbacks=[_ctrl_c_at(4 if not in_refit else 3, in_refit)]).fit(X, y)
    assert [w.filename for w in record if "interrupted" in str(w.message)] == [__file__]
    assert clf.interrupted_ is True and clf.history[-1, "interrupted"] is True
    assert len(clf.history) == (3 if in_refit else 4)
    if in_refit:
        assert len(clf.first_round_history_) == 8  # the first round ran to its end
    again = make_clf(rounds=rounds, max_epochs=8, batch_size=32, train_split=None).fit(X, y)
    assert again.interrupted_ is False and "interrupted" not in again.history[-1]


def test_early_stopping_in_the_first_round_still_refits(iris):
    # EarlyStopping stops skorch's loop with a KeyboardInterrupt too; that is
    # not the user's Ctrl-C, so the refit follows
    X, y = iris
    clf = make_clf(rounds=2, max_epochs=30, callbacks=[
        EarlyStopping(patience=3, threshold=10.0)]).fit(X, y)  # stops after 3 refinements
    assert len(clf.first_round_history_) < 30
    assert "n_refined" not in clf.history[-1]  # the refit's history


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


def test_prediction_reads_a_read_only_array_without_copying_it():
    # e.g. a pandas copy-on-write view, or a memory-mapped file: read a batch
    # at a time, not copied whole (nor written to)
    import tracemalloc

    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 64)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    clf = make_clf(module__n_features=64, module__n_classes=2, max_epochs=1).fit(X, y)
    big = np.resize(X, (50_000, 64))  # 12.8 MB in, 0.4 MB of probabilities out
    big.flags.writeable = False
    tracemalloc.start()  # numpy's allocations are traced (torch's are not)
    try:
        proba = clf.predict_proba(big)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < big.nbytes / 4
    # the same rows in the same 128-row batches, from writeable memory: MKL may
    # pick another kernel for other memory, so allow each logit's 64-term sum
    # a rounding per term (2^-24 relative each)
    np.testing.assert_allclose(proba[:256], clf.predict_proba(big[:256].copy()),
                               rtol=0, atol=64 * 2.0**-24)


def _peak_numpy_bytes(fn, warm_up=None):
    """Peak of numpy's allocations (traced; torch's are not) while ``fn`` runs,
    after ``warm_up`` (a small fit: a process's first fit imports modules whose
    objects would count too)."""
    import tracemalloc

    if warm_up is not None:
        warm_up()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


class _Pixels(torch.nn.Module):
    """Images of any size -> logits, through one linear layer."""

    def __init__(self, n_pixels, n_classes=2):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(n_pixels, n_classes))

    def forward(self, X):
        # (X / 255 would work on bytes too: this checks that the estimator casts)
        assert X.dtype == torch.float32, X.dtype
        return self.net(X / 255.0 - 0.5)


def _byte_images(n, shape=(3, 8, 8), seed=0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, size=(n, *shape), dtype=np.uint8)
    y = (X[:, 0].mean((1, 2)) + rng.normal(0, 5, n) > 127.5).astype(int)
    return X, y


@pytest.mark.parametrize("rounds", [1, 2])
def test_integer_images_train_as_their_float32_values(rounds):
    # uint8 (and other small integer or boolean) inputs stay as given and are
    # cast a batch at a time: the same numbers as the float32 array
    X, y = _byte_images(300)
    clf = partial(make_clf, module=_Pixels, module__n_pixels=192, rounds=rounds, max_epochs=5)
    as_bytes = clf().fit(X, y)
    as_floats = clf().fit(X.astype(np.float32), y)
    assert X.dtype == np.uint8  # the user's array is not converted
    proba = as_bytes.predict_proba(X)
    np.testing.assert_array_equal(proba, as_floats.predict_proba(X.astype(np.float32)))
    np.testing.assert_array_equal(as_bytes.refined_labels_, as_floats.refined_labels_)
    np.testing.assert_array_equal(as_bytes.predict_proba(torch.from_numpy(X)), proba)
    assert (as_bytes.predict(X) == y).mean() > 0.8
    # the row-by-row path (a collate_fn of the user's own) casts its rows too
    rows = clf(iterator_train__collate_fn=torch.utils.data.default_collate).fit(X, y)
    np.testing.assert_array_equal(rows.predict_proba(X), proba)
    if rounds == 2:
        return
    # booleans, e.g. masks
    masks = X > 127
    np.testing.assert_array_equal(clf().fit(masks, y).predict_proba(masks),
                                  clf().fit(masks.astype(np.float32), y).predict_proba(
                                      masks.astype(np.float32)))


def test_integer_images_are_not_copied_to_float32_whole():
    # a float32 copy is four times a uint8 image set: fit (both rounds) and
    # predict cast a batch at a time instead
    X, y = _byte_images(20_000, shape=(3, 16, 16))  # 15.4 MB as bytes, 61 MB as float32
    clf = make_clf(module=_Pixels, module__n_pixels=768, rounds=2, max_epochs=2, warm_up=1,
                   batch_size=1024)
    # what is allocated is O(rows) (labels, the sampler's row numbers), about
    # a tenth of X here; the refit's copy of its kept rows would be most of X
    peak = _peak_numpy_bytes(lambda: clf.fit(X, y), warm_up=lambda: clf.fit(X[:300], y[:300]))
    assert peak < X.nbytes / 2
    assert (~clf.find_label_issues()["is_label_issue"]).mean() > 0.6  # (that copy's size)
    assert _peak_numpy_bytes(lambda: clf.predict_proba(X)) < X.nbytes / 4


def test_integer_inputs_reach_a_dataset_of_the_users_own_as_float32():
    X, y = _byte_images(200)
    seen = []

    class Recording(SkorchDataset):
        def __init__(self, X, y=None, length=None):
            seen.append(X.dtype)
            super().__init__(X, y, length)

    make_clf(module=_Pixels, module__n_pixels=192, dataset=Recording, max_epochs=1).fit(X, y)
    assert seen == [np.float32]


@pytest.mark.parametrize("rounds", [1, 2])
def test_training_reads_a_read_only_array_or_memory_map_without_copying_it(tmp_path, rounds):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20_000, 256)).astype(np.float32)  # 20.5 MB
    y = (X[:, 0] > 0).astype(int)
    path = tmp_path / "X.npy"
    np.save(path, X)
    mapped = np.load(path, mmap_mode="r")  # read-only
    clf = partial(make_clf, module__n_features=256, module__n_classes=2, max_epochs=2,
                  warm_up=1, batch_size=1024, rounds=rounds)
    fitted = clf()
    # a copy would be X's size (the refit's: its kept rows); what is allocated
    # is O(rows): the labels, the sampler's row numbers (a tenth of X here)
    peak = _peak_numpy_bytes(lambda: fitted.fit(mapped, y),
                             warm_up=lambda: fitted.fit(mapped[:300], y[:300]))
    assert peak < X.nbytes / 2
    assert (~fitted.find_label_issues()["is_label_issue"]).mean() > 0.6  # (the refit's copy)
    np.testing.assert_array_equal(fitted.predict_proba(X[:500]),
                                  clf().fit(X, y).predict_proba(X[:500]))


@pytest.mark.parametrize("dtype", [np.float32, np.uint8])
def test_views_with_negative_strides_train_as_their_copies(dtype):
    # e.g. images flipped with X[..., ::-1]: torch cannot wrap such a view
    # (it used to fail in fit: "At least one stride ... is negative")
    X, y = _byte_images(200)
    flipped = X.astype(dtype)[::-1, :, :, ::-1]
    kw = dict(module=_Pixels, module__n_pixels=192, max_epochs=3, rounds=2)
    a = make_clf(**kw).fit(flipped, y[::-1])
    b = make_clf(**kw).fit(flipped.copy(), y[::-1].copy())
    np.testing.assert_array_equal(a.predict_proba(flipped), b.predict_proba(flipped.copy()))


@pytest.mark.parametrize("how", ["instance", "default module"])
def test_a_channels_last_module_keeps_its_format_through_both_rounds(how):
    # the speed tip in usage.md: module=MyCNN().to(memory_format=torch.channels_last),
    # or module__channels_last=True for the default SmallCNN
    X, y = _byte_images(120, shape=(1, 8, 8))
    if how == "instance":
        kw = dict(module=SmallCNN(2, in_channels=1, channels=(4, 8)).to(
            memory_format=torch.channels_last))
    else:
        kw = dict(module=None, module__channels=(4, 8), module__channels_last=True)
    clf = make_clf(rounds=2, max_epochs=3, warm_up=1, train_split=None, **kw).fit(X, y)
    assert isinstance(clf.module_, SmallCNN)
    convs = [p for p in clf.module_.parameters() if p.dim() == 4]
    assert convs and all(p.is_contiguous(memory_format=torch.channels_last) for p in convs)
    assert np.isfinite(clf.history[:, "train_loss"]).all()
    assert clf.predict_proba(X).shape == (120, 2)
    # the same initial weights as the default layout's, up to the layout
    torch.manual_seed(0)
    plain = SmallCNN(2, channels=(4, 8))
    torch.manual_seed(0)
    fast = SmallCNN(2, channels=(4, 8), channels_last=True)
    for a, b in zip(plain.parameters(), fast.parameters()):
        assert torch.equal(a, b)


def test_the_refit_reads_its_rows_from_X_as_a_copy_would_give_them(iris):
    # the rounds=2 refit reads its kept rows from X (no copy of them); skorch,
    # the callbacks and a dataset of the user's own see those rows as before
    X, y = iris
    noisy = STRING_CLASSES[flip_labels(y, 0.3, 3, seed=0)[0]]
    seen = []

    class Sizes(Callback):
        def on_train_begin(self, net, X=None, y=None, **kwargs):
            seen.append((len(X), X.shape, len(y), np.asarray(X[:2]).shape))

    scoring = EpochScoring("accuracy", lower_is_better=False, on_train=True,
                           use_caching=False, name="acc")
    kw = dict(rounds=2, max_epochs=6, train_split=None, average_refit=False)
    clf = make_clf(callbacks=[scoring, Sizes()], **kw).fit(X, noisy)
    kept = ~clf.find_label_issues()["is_label_issue"].to_numpy()
    m = int(kept.sum())
    assert 0 < m < len(y)
    assert seen == [(150, (150, 4), 150, (2, 4)), (m, (m, 4), m, (2, 4))]
    # uncached scoring of the refit's training rows: predict on the kept rows
    assert clf.history[-1, "acc"] == pytest.approx(np.mean(clf.predict(X[kept]) == noisy[kept]))
    own = make_clf(dataset=_CountingDataset, **kw).fit(X, noisy)
    default = make_clf(**kw).fit(X, noisy)
    np.testing.assert_array_equal(own.predict_proba(X), default.predict_proba(X))


def test_a_forward_pass_in_training_mode_keeps_the_order_of_X(iris):
    # forward(X, training=True) (e.g. MC dropout) used iterator_train, which
    # shuffles by default here: its outputs came back in another order
    X, y = iris
    X = X.astype(np.float32)  # forward, as skorch's, takes the module's dtype
    clf = make_clf(max_epochs=2, iterator_train__shuffle=True).fit(X, y)
    # no dropout: the same numbers in train mode
    np.testing.assert_allclose(clf.forward(X, training=True).detach().numpy(),
                               clf.forward(X, training=False).numpy(), rtol=1e-6)
    # a tensor gives the same batches as the array
    np.testing.assert_array_equal(clf.forward(torch.from_numpy(X)).numpy(),
                                  clf.forward(X).numpy())
    with_dropout = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Dropout(0.5),
                                       torch.nn.Linear(16, 3))
    clf = make_clf(module=with_dropout, max_epochs=2).fit(X, y)
    assert not torch.equal(clf.forward(X, training=True), clf.forward(X, training=True))


def test_verbose_two_rounds_say_what_the_refit_trains_on(iris, capsys):
    X, y = iris
    clf = make_clf(rounds=2, max_epochs=6, verbose=1).fit(X, flip_labels(y, 0.3, 3, seed=0)[0])
    out = capsys.readouterr().out
    kept = int((~clf.find_label_issues()["is_label_issue"]).sum())
    assert out.startswith("round 1/2: training with the method (weighting='gaussian', "
                          "targets refined from epoch 2) on 150 rows.")
    assert (f"round 2/2: refitting a fresh network with plain cross-entropy on the {kept} of "
            "150 rows not flagged") in out
    assert "Re-initializing" not in out  # skorch's, which said nothing of why
    assert out.count("train_loss") == 2  # both trainings' tables are still printed


def _stack_rows(rows):
    """A collate_fn as skorch users write them (e.g. to pad): rows are (Xi, yi),
    numpy rows of the arrays given (skorch's Dataset)."""
    xs, ys = zip(*rows)
    assert all(isinstance(x, np.ndarray) for x in xs)  # not the estimator's dict rows
    return torch.from_numpy(np.stack(xs)), torch.as_tensor(np.stack(ys))


@pytest.mark.parametrize("train_split", [None, "default"])
def test_a_collate_fn_of_ones_own_gets_the_rows_as_in_skorch(iris, train_split):
    # it used to get the estimator's internal {X, row number} dicts, and fail
    X, y = iris
    kw = dict(rounds=2, max_epochs=4, batch_size=32)
    if train_split is None:
        kw["train_split"] = None
    own = make_clf(iterator_train__collate_fn=_stack_rows, iterator_valid__collate_fn=_stack_rows,
                   **kw).fit(X, y)
    default = make_clf(**kw).fit(X, y)
    np.testing.assert_array_equal(own.predict_proba(X), default.predict_proba(X))
    np.testing.assert_array_equal(own.refined_labels_, default.refined_labels_)


def test_a_module_returning_a_tuple_trains_on_its_first_output(iris):
    # skorch's convention for modules with several outputs: the first is the prediction
    class WithExtra(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = TinyMLP()

        def forward(self, X):
            logits = self.inner(X)
            return logits, logits.abs().mean()

    X, y = iris
    torch.manual_seed(0)
    tuple_fit = make_clf(module=WithExtra, max_epochs=4).fit(X, y)
    plain_fit = make_clf(module=TinyMLP, max_epochs=4).fit(X, y)
    np.testing.assert_allclose(tuple_fit.predict_proba(X), plain_fit.predict_proba(X), rtol=1e-6)
    np.testing.assert_array_equal(tuple_fit.refined_labels_, plain_fit.refined_labels_)


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


def test_fit_works_outside_the_main_thread(iris):
    # the Ctrl-C watch installs a signal handler only in the main thread
    # (signal.signal raises ValueError elsewhere)
    from concurrent.futures import ThreadPoolExecutor

    X, y = iris
    with ThreadPoolExecutor(1) as pool:
        clf = pool.submit(make_clf(rounds=2, max_epochs=4).fit, X, y).result()
    assert len(clf.first_round_history_) == 4


def test_classes_given_in_any_order_come_out_sorted_for_sklearns_scorers(iris):
    # sklearn's scorers read predict_proba's columns in sorted label order; with
    # classes= in another order, neg_log_loss and roc_auc_ovr were silently wrong
    from sklearn.metrics import get_scorer, log_loss

    X, y = iris
    labels = STRING_CLASSES[y]
    clf = make_clf(classes=["virginica", "setosa", "versicolor"], max_epochs=3).fit(X, labels)
    assert list(clf.classes_) == ["setosa", "versicolor", "virginica"]
    proba = clf.predict_proba(X)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(1)])
    expected = -log_loss(labels, proba, labels=["setosa", "versicolor", "virginica"])
    assert get_scorer("neg_log_loss")(clf, X, labels) == pytest.approx(expected, rel=1e-6)
    assert clf.get_params()["classes"] == ["virginica", "setosa", "versicolor"]  # as given
