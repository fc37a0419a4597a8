"""NoisyNeuralNetClassifier's own behaviour through its public API: fit,
predict and predict_proba, its parameters and the scikit-learn estimator API,
classes_, refined_labels_."""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import noisyskl
from noisyskl import MLPModule, NoisyNeuralNetClassifier, SmallCNN

from .conftest import STRING_CLASSES, make_clf


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


@pytest.mark.parametrize("rounds", [1, 2])
def test_random_state_determinism_and_global_rng_untouched(iris, rounds):
    X, y = iris
    state = torch.get_rng_state()
    a = make_clf(random_state=3, rounds=rounds).fit(X, y)
    assert torch.equal(torch.get_rng_state(), state)
    b = make_clf(random_state=3, rounds=rounds).fit(X, y)
    c = make_clf(random_state=4, rounds=rounds).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    np.testing.assert_array_equal(a.refined_labels_, b.refined_labels_)
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))
    assert not np.array_equal(a.refined_labels_, c.refined_labels_)


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


def test_mlp_module_takes_one_layers_width_as_an_int():
    # as sklearn's MLPClassifier takes hidden_layer_sizes=32 ("'int' object is not
    # iterable" before)
    from noisyskl import MLPModule

    assert [m.out_features for m in MLPModule(4, 3, hidden_units=32).modules()
            if isinstance(m, torch.nn.Linear)] == [32, 3]
