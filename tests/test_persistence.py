"""Pickle, save_params/load_params and Checkpoint keep what they promise."""

import copy
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback, Checkpoint

from noisyskl import NoisyNeuralNetClassifier
from noisyskl import functional as F

from .conftest import TinyMLP, flip_labels, make_clf

FILES = ("f_params", "f_optimizer", "f_criterion", "f_history", "f_refinement_state")


@pytest.fixture
def fitted(iris):
    X, y = iris
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    return make_clf(max_epochs=5).fit(X, labels), X, labels


def test_pickle_keeps_everything(fitted):
    clf, X, labels = fitted
    clf2 = pickle.loads(pickle.dumps(clf))
    for attr in ("refined_labels_", "gradient_norms_", "sample_weights_", "train_mask_",
                 "classes_"):
        np.testing.assert_array_equal(getattr(clf2, attr), getattr(clf, attr))
    np.testing.assert_array_equal(clf2.predict(X), clf.predict(X))
    clf2.partial_fit(X, labels)  # training can go on
    assert len(clf2.history) == 10


def test_save_and_load_params_with_refinement_state(fitted, tmp_path):
    clf, X, labels = fitted
    files = {f: str(tmp_path / f"{f}.pt") for f in FILES}
    clf.save_params(**files)
    new = make_clf(max_epochs=5).initialize()
    new.load_params(**files)
    np.testing.assert_array_equal(new.classes_, clf.classes_)
    np.testing.assert_array_equal(new.refined_labels_, clf.refined_labels_)
    np.testing.assert_array_equal(new.gradient_norms_, clf.gradient_norms_)
    np.testing.assert_array_equal(new.predict(X), clf.predict(X))
    assert new.n_features_in_ == 4
    d_old, d_new = clf.criterion_.density, new.criterion_.density
    assert d_new.bins == d_old.bins and torch.equal(d_new.g.cpu(), d_old.g.cpu())
    # warm start continues the refinement state rather than restarting it
    new.set_params(warm_start=True).fit(X, labels)
    assert len(new.history) == 10
    assert new.history[5, "n_refined"] >= 0


def test_params_alone_do_not_lose_classes_silently(fitted, tmp_path):
    clf, X, _ = fitted
    clf.save_params(f_params=str(tmp_path / "params.pt"))
    new = make_clf().initialize()
    new.load_params(f_params=str(tmp_path / "params.pt"))
    np.testing.assert_allclose(new.predict_proba(X), clf.predict_proba(X), atol=1e-6)
    with pytest.raises(AttributeError, match="f_refinement_state"):
        new.predict(X)
    with pytest.raises(AttributeError, match="f_refinement_state"):
        _ = new.refined_labels_
    # with the classes given, predict works from the parameters alone
    named = make_clf(classes=list(clf.classes_)).initialize()
    named.load_params(f_params=str(tmp_path / "params.pt"))
    np.testing.assert_array_equal(named.predict(X), clf.predict(X))


def _at_epoch_5(net):
    return len(net.history) == 5


class _NRefined(Callback):
    """Each epoch's ``n_refined``, as trained (the history is replaced on load)."""

    def initialize(self):
        self.counts = []
        return self

    def on_epoch_end(self, net, **kwargs):
        self.counts.append(net.history[-1, "n_refined"])


@pytest.mark.parametrize("with_state", [True, False])
def test_checkpoint_load_best(iris, tmp_path, with_state):
    X, y = iris
    noisy, _ = flip_labels(y, 0.3, 3, seed=0)
    cp = Checkpoint(dirname=str(tmp_path), monitor=_at_epoch_5, load_best=True,
                    f_refinement_state="refinement.pt" if with_state else None)
    seen = _NRefined()
    clf = make_clf(max_epochs=15, callbacks=[cp, seen]).fit(X, noisy)
    last = int((clf.refined_labels_.argmax(1) != noisy)[clf.train_mask_].sum())
    assert len(clf.history) == 5  # the history of the checkpoint, as skorch loads it
    assert len(seen.counts) == 15 and seen.counts[4] == clf.history[4, "n_refined"]
    if with_state:
        # model, history and refined labels all come from epoch 5
        assert last == seen.counts[4]
    else:
        # without f_refinement_state the refined labels stay those of epoch 15
        assert last == seen.counts[14]
    clf.partial_fit(X, noisy)  # either way the estimator can go on training
    assert np.isfinite(clf.history[-1, "train_loss"])


def test_checkpoint_load_best_applies_to_both_rounds(iris, tmp_path):
    """With rounds=2 a Checkpoint guards each training; the first round's
    refinement state (all rows) survives the refit's load_best."""
    X, y = iris
    noisy, _ = flip_labels(y, 0.3, 3, seed=0)
    cp = Checkpoint(dirname=str(tmp_path), monitor=_at_epoch_5, load_best=True,
                    f_refinement_state="refinement.pt")
    clf = make_clf(max_epochs=8, rounds=2, callbacks=[cp]).fit(X, noisy)
    assert len(clf.first_round_history_) == 5 and len(clf.history) == 5
    assert clf.refined_labels_.shape == (150, 3)
    assert len(clf.find_label_issues()) == 150
    # the module is the refit's epoch 5, as saved by the checkpoint
    saved = make_clf(rounds=2, classes=list(clf.classes_)).initialize()
    saved.load_params(f_params=str(tmp_path / "params.pt"))
    np.testing.assert_allclose(saved.predict_proba(X), clf.predict_proba(X), rtol=1e-6)
    last = make_clf(max_epochs=8, rounds=2).fit(X, noisy)  # no checkpoint: mean of epochs 7-8
    assert not np.allclose(last.predict_proba(X), clf.predict_proba(X))


def test_a_net_pickled_during_the_refit_loads_as_fit_leaves_it(iris, tmp_path):
    # Checkpoint(f_pickle=...) pickles the net at each epoch, during the refit
    # too; that pickle used to keep the refit's bookkeeping (and weighting=None,
    # refinement=None, the refit's per-row state), so partial_fit went on
    # without the method
    X, y = iris
    noisy, _ = flip_labels(y, 0.3, 3, seed=0)
    cp = Checkpoint(dirname=str(tmp_path), monitor=None, f_pickle="net.pkl")
    clf = make_clf(max_epochs=6, rounds=2, average_refit=False, callbacks=[cp]).fit(X, noisy)
    with open(tmp_path / "net.pkl", "rb") as f:
        net = pickle.load(f)  # the refit's last epoch
    assert type(net) is NoisyNeuralNetClassifier and "first_round_" not in vars(net)
    assert (net.weighting, net.refinement) == (clf.weighting, clf.refinement)
    np.testing.assert_array_equal(net.refined_labels_, clf.refined_labels_)  # the first round's
    assert len(net.first_round_history_) == 6
    np.testing.assert_array_equal(net.predict_proba(X), clf.predict_proba(X))
    net.partial_fit(X, noisy)
    assert "sigma" in net.history[-1]  # the method, as after fit
    assert type(clf) is NoisyNeuralNetClassifier and "first_round_" not in vars(clf)


def test_a_checkpoints_refinement_state_during_the_refit_is_the_first_rounds(iris, tmp_path):
    # the refit used to keep a per-row state of its own (its kept rows, never
    # refined), which a Checkpoint with f_refinement_state saved over the report
    X, y = iris
    noisy, _ = flip_labels(y, 0.3, 3, seed=0)
    cp = Checkpoint(dirname=str(tmp_path), monitor=None, f_refinement_state="state.pt")
    clf = make_clf(max_epochs=6, rounds=2, callbacks=[cp]).fit(X, noisy)
    assert clf.find_label_issues()["is_label_issue"].any()  # the refit left rows out
    loaded = make_clf(rounds=2).initialize()
    loaded.load_params(f_refinement_state=str(tmp_path / "state.pt"))
    np.testing.assert_array_equal(loaded.refined_labels_, clf.refined_labels_)
    np.testing.assert_array_equal(loaded.gradient_norms_, clf.gradient_norms_)


@pytest.mark.parametrize("rounds", [1, 2])
def test_a_fit_with_a_module_instance_pickles_no_extra_copy_of_it(rounds):
    # reported: with resnet18 as module=<instance> our pickle was 179 MB against
    # plain skorch's 134 MB. Measured with a hand-written ResNet-18 (44.7 MB of
    # weights) and Adam, both before and after this check was written: 179.1 MB
    # each (module, module_ and Adam's two moments: four copies); with SGD 89.6
    # each. The report compared different optimisers' states. This keeps it so.
    from skorch import NeuralNetClassifier

    from noisyskl import SmallCNN

    rng = np.random.default_rng(0)
    X = rng.random((64, 3, 16, 16)).astype(np.float32)
    y = np.arange(64) % 3
    kw = dict(max_epochs=2, batch_size=16, verbose=0, optimizer=torch.optim.Adam)
    ours = make_clf(module=SmallCNN(3, channels=(32, 64, 256)), rounds=rounds, warm_up=1,
                    train_split=None, **kw).fit(X, y)
    plain = NeuralNetClassifier(SmallCNN(3, channels=(32, 64, 256)), train_split=None,
                                **kw).fit(X, y)
    weights = sum(p.numel() * 4 for p in ours.module_.parameters())
    extra = len(pickle.dumps(ours)) - len(pickle.dumps(plain))
    assert extra < 0.05 * weights  # not another copy of the module (or of Adam's state)


def test_state_and_criterion_saved_in_the_older_wider_dtypes_load_and_train_on(fitted, tmp_path):
    # before 2026-12-01 the annotations and flag counts were int64 / float32, the
    # report's weight float32, the store's bins int64, and it kept its squared
    # deviations (sq); such files load into the compact dtypes with the same values
    clf, X, labels = fitted
    state = {k: getattr(v, "clone", lambda v=v: v)() for k, v in
             clf.refinement_state_.state_dict().items()}
    old = dict(state, annotation=state["annotation"].long(), weight=state["weight"].float(),
               flag_count=state["flag_count"].float())
    crit = {k: getattr(v, "clone", lambda v=v: v)() for k, v in clf.criterion_.state_dict().items()}
    g = crit["density.g"]
    old_crit = dict(crit, **{"density.bin_of": crit["density.bin_of"].long(),
                             "density.sq": torch.where(g >= 0, (g.double() - 0.2) ** 2, 0.0)})
    torch.save(old, tmp_path / "state.pt")
    torch.save(old_crit, tmp_path / "crit.pt")
    clf.save_params(f_params=tmp_path / "params.pt", f_history=tmp_path / "history.json",
                    f_optimizer=tmp_path / "optimizer.pt")
    new = make_clf(max_epochs=5).initialize()
    new.load_params(f_params=tmp_path / "params.pt", f_criterion=tmp_path / "crit.pt",
                    f_optimizer=tmp_path / "optimizer.pt",
                    f_refinement_state=tmp_path / "state.pt", f_history=tmp_path / "history.json")
    loaded = new.refinement_state_
    assert (loaded.annotation.dtype, loaded.weight.dtype, loaded.flag_count.dtype) == (
        torch.int16, torch.bfloat16, torch.int16)
    assert new.criterion_.density.bin_of.dtype == torch.uint8
    for name in ("annotation", "targets", "flag_count", "quality_sum"):
        assert torch.equal(getattr(loaded, name), getattr(clf.refinement_state_, name)), name
    d_new, d_old = new.criterion_.density, clf.criterion_.density
    assert torch.equal(d_new.bin_of, d_old.bin_of) and torch.equal(d_new.all_counts,
                                                                    d_old.all_counts)
    assert float(d_new.sum_sq) == float(d_old.sum_sq) == float(torch.where(
        d_new.g >= 0, F.squared_deviation(d_new.g, d_new.mu), 0.0).sum())  # over the seen rows
    # and trains on exactly as the estimator it was saved from
    clf.set_params(warm_start=True).fit(X, labels)
    new.set_params(warm_start=True).fit(X, labels)
    assert len(new.history) == 10
    np.testing.assert_array_equal(new.refined_labels_, clf.refined_labels_)


def test_the_per_row_state_is_99_bytes_a_row_for_10_classes():
    # (docs/files.md, "Scale": 99 MB for 10^6 rows; benchmarks/scale.py measures it)
    from noisyskl import GradientDensity
    from noisyskl._state import RefinementState

    n = 1000
    state, store = RefinementState(np.arange(n) % 10, 10), GradientDensity(n, bins=10, mu=0.2)
    per_row = sum(b.numel() * b.element_size() for part in (state, store)
                  for b in part.buffers() if b.dim() >= 1 and b.shape[0] == n)
    assert per_row / n == 99


def test_the_first_rounds_history_is_saved_with_the_state(iris, tmp_path):
    from noisyskl.plotting import plot_refinement_history

    X, y = iris
    noisy, _ = flip_labels(y, 0.3, 3, seed=0)
    clf = make_clf(max_epochs=6, rounds=2).fit(X, noisy)
    clf.save_params(f_params=tmp_path / "p.pt", f_history=tmp_path / "h.json",
                    f_refinement_state=tmp_path / "s.pt")
    new = make_clf(max_epochs=6, rounds=2).initialize()
    new.load_params(f_params=tmp_path / "p.pt", f_history=tmp_path / "h.json",
                    f_refinement_state=tmp_path / "s.pt")
    assert new.first_round_history_[:, "n_refined"] == clf.first_round_history_[:, "n_refined"]
    assert new.history[:, "train_loss"] == clf.history[:, "train_loss"]  # (the refit's)
    assert plot_refinement_history(new).get_lines()  # (was KeyError: 'n_refined')


def test_pickle_round_trip(iris):
    X, y = iris
    clf = make_clf().fit(X, np.array(["a", "b", "c"])[y])
    clf2 = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(clf2.refined_labels_, clf.refined_labels_)
    np.testing.assert_array_equal(clf2.gradient_norms_, clf.gradient_norms_)
    np.testing.assert_array_equal(clf2.predict(X), clf.predict(X))
    np.testing.assert_array_equal(clf2.classes_, clf.classes_)


# estimators pickled by older noisyskl versions (made by tests/data/old_pickle.py
# at each commit, just before the parameters named here were added)
OLD_PICKLES = {
    "476829b": ["average_refit", "refit_rows", "refit_look", "flagged_rows", "flag_limit",
                "annotator_weighting", "annotation_target", "distributed",
                "eval_transform"],  # 2026-11-26
    "3107317": ["refit_rows", "refit_look", "flagged_rows", "flag_limit", "annotator_weighting",
                "annotation_target", "distributed", "eval_transform"],  # 2026-12-01
    "09e0e9b": ["refit_rows", "refit_look", "flagged_rows"],  # 2026-12-06
    "4ba7df2": ["refit_look"],  # 2026-12-07
}
#: the parameters of the first commit (2026-11-25), which every pickle has
FIRST_PARAMETERS = {"module", "criterion", "train_split", "classes", "bins", "gamma", "mu",
                    "warm_up", "refinement", "weighting", "density", "weight_normalization",
                    "random_state"}


def test_every_parameter_added_since_the_first_commit_has_its_older_value():
    import inspect

    from noisyskl._net import BEFORE_ADDED, NoisyNetBase

    names = set(inspect.signature(NoisyNetBase.__init__).parameters) - {"self", "args", "kwargs"}
    assert names - FIRST_PARAMETERS == set(BEFORE_ADDED)


@pytest.mark.parametrize("commit", OLD_PICKLES)
def test_an_estimator_pickled_by_an_older_version_predicts_and_trains_as_it_did(commit):
    from sklearn.base import clone

    from noisyskl._net import BEFORE_ADDED

    from .data.old_pickle import data

    X, y = data()
    blob = (Path(__file__).parent / "data" / f"old_{commit}.pkl").read_bytes()
    with pytest.warns(UserWarning, match="pickled by an older noisyskl") as said:
        clf, proba, proba_after_partial_fit = pickle.loads(blob)
    message = next(str(w.message) for w in said if "pickled by an older" in str(w.message))
    for name in OLD_PICKLES[commit]:
        assert f"{name}={BEFORE_ADDED[name]!r}" in message
    assert np.array_equal(clf.predict_proba(X), proba)
    assert clf.find_label_issues().is_label_issue.sum() > 0  # (the state reads whole)
    # trained on, and trained again from its own seed: what that version trained
    more = pickle.loads(pickle.dumps(clf)).partial_fit(X, y)
    assert np.array_equal(more.predict_proba(X), proba_after_partial_fit)
    again = clone(clf).fit(X, y)
    assert np.array_equal(again.predict_proba(X), proba)
    assert np.array_equal(clf.fit(X, y).predict_proba(X), proba)
    # ... which this version's defaults do not train: the parameters mattered
    with pytest.warns(UserWarning, match="pickled by an older"):
        current = pickle.loads(blob)[0]
    defaults = NoisyNeuralNetClassifier().get_params()
    current.set_params(**{name: defaults[name] for name in OLD_PICKLES[commit]})
    assert not np.array_equal(current.fit(X, y).predict_proba(X), proba)


def test_a_subclass_with_its_own_init_gets_the_older_values_too(fitted):
    class Mine(NoisyNeuralNetClassifier):
        def __init__(self, *args, extra=1, **kwargs):
            super().__init__(*args, **kwargs)
            self.extra = extra

    clf, X, labels = fitted
    mine = Mine(**clf.get_params()).fit(X, labels)
    state = mine.__getstate__()
    del state["refit_look"], state["flagged_rows"]
    old = Mine.__new__(Mine)
    with pytest.warns(UserWarning, match=r"no refit_look, flagged_rows: set to what that "
                                         r"version did \(refit_look=None, flagged_rows='drop'\)"):
        old.__setstate__(state)
    assert old.refit_look is None and old.flagged_rows == "drop" and old.extra == 1
    old.fit(X, labels)  # (trains: the parameters are there)


def test_an_estimator_pickled_by_this_version_loads_without_a_warning(fitted):
    import warnings

    clf, _, _ = fitted
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = pickle.loads(pickle.dumps(clf))
    assert again.get_params().keys() == clf.get_params().keys()


def test_a_state_without_the_refinement_history_says_what_still_works(fitted):
    # (pickled on 2026-11-25 before 22:04: no per-row flag counts yet)
    clf, X, _ = fitted
    state = clf.refinement_state_.__getstate__()
    state["_buffers"] = {k: v for k, v in state["_buffers"].items() if k != "flag_count"}
    old = type(clf.refinement_state_).__new__(type(clf.refinement_state_))
    with pytest.warns(UserWarning, match=r"before the refinement history \(its per-row state "
                                         r"has no flag_count\): it predicts, but "
                                         r"find_label_issues\(\) and further training need"):
        old.__setstate__(state)
    assert "flag_count" not in old._buffers  # (not filled with a wrong, empty history)
    expected = clf.predict(X)
    clf.refinement_state_ = old
    np.testing.assert_array_equal(clf.predict(X), expected)


def test_save_and_load_params_keep_the_reports_index_and_files(tmp_path):
    # the report of a DataFrame fit is indexed by its index, a Dataset's has the
    # files: load_params with f_refinement_state restores both (it gave 0..n-1
    # and no path column), as values torch.load(weights_only=True) reads
    import pandas as pd

    from .image_files import ImageFiles, write_image_folder

    rng = np.random.default_rng(0)
    ids = pd.MultiIndex.from_tuples([(f"patient-{i // 3}", i % 3) for i in range(60)],
                                    names=["patient", "slide"])
    X = pd.DataFrame(rng.normal(size=(60, 4)).astype(np.float32), index=ids)
    y = pd.Series(np.arange(60) % 3, index=ids)
    files = ImageFiles(write_image_folder(tmp_path / "img", n_per_class=8))
    for data, module in (((X, y), TinyMLP), ((files,), None)):
        settings = dict(max_epochs=3, warm_up=1, verbose=0, random_state=0, rounds=1)
        clf = NoisyNeuralNetClassifier(**settings, **({"module": module} if module else {}))
        clf.fit(*data)
        saved = {f: str(tmp_path / f"{f}.pt") for f in ("f_params", "f_refinement_state")}
        clf.save_params(**saved)
        loaded = NoisyNeuralNetClassifier(**settings, module=copy.deepcopy(clf.module_))
        loaded.initialize()
        loaded.load_params(**saved)
        before, after = clf.find_label_issues(), loaded.find_label_issues()
        pd.testing.assert_index_equal(after.index, before.index)
        assert list(after.columns) == list(before.columns)
        if "path" in before:
            assert list(after.path) == list(before.path)
    assert before.path.str.endswith(".png").all()


def test_a_range_index_is_saved_as_its_range(tmp_path):
    # (a DataFrame's default index costs nothing per row in the saved state)
    import pandas as pd

    from noisyskl._state import meta_values, plain_meta

    index = pd.RangeIndex(5, 10**6, 3, name="row")
    plain = plain_meta({"fit_index_": index})
    assert plain["fit_index_"] == {"range": [5, 10**6, 3], "names": ["row"]}
    pd.testing.assert_index_equal(meta_values(plain)["fit_index_"], index, exact=True)
    stamps = pd.DatetimeIndex(["2026-01-01", "2026-01-02"])  # (saved as their strings)
    assert list(meta_values(plain_meta({"fit_index_": stamps}))["fit_index_"]) == [
        "2026-01-01 00:00:00", "2026-01-02 00:00:00"]
    # numpy scalars are not plain to torch.load(weights_only=True): builtins saved
    mixed = pd.Index([np.float64(1.5), np.str_("a"), np.int64(2)], dtype=object)
    plain = plain_meta({"fit_index_": mixed, "fit_paths_": np.array(["a.png"])})
    assert [type(v) for v in plain["fit_index_"]["values"]] == [float, str, int]
    assert type(plain["fit_paths_"][0]) is str
