"""Each bad input gets a ValueError/TypeError that names the problem."""

import warnings

import numpy as np
import pytest
import torch

from .conftest import make_clf


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(30, 4)), np.arange(30) % 3


def _string_series_with_na(y):
    """y as pandas' nullable "string" dtype (``convert_dtypes()``), one label NA."""
    import pandas as pd

    labels = pd.Series([f"c{v}" for v in y], dtype="string")
    labels[1] = pd.NA
    return labels


@pytest.mark.parametrize(
    "mutate, error, match",
    [
        (lambda X, y: (np.where(np.arange(X.size).reshape(X.shape) == 5, np.nan, X), y),
         ValueError, "NaN"),
        (lambda X, y: (np.where(np.arange(X.size).reshape(X.shape) == 5, np.inf, X), y),
         ValueError, "infinity"),
        (lambda X, y: (X, np.where(np.arange(30) == 3, np.nan, y.astype(float))),
         ValueError, "missing labels"),
        (lambda X, y: (X, np.array([None if i == 2 else "a" if i % 2 else "b"
                                    for i in range(30)], dtype=object)),
         ValueError, "missing labels"),
        (lambda X, y: (X, _string_series_with_na(y)), ValueError, "missing labels"),
        (lambda X, y: (X, y[:-1]), ValueError, "different lengths"),
        # (the labels as plain values, not numpy 2's reprs such as np.int64(0))
        (lambda X, y: (X, np.zeros(30, dtype=int)), ValueError, r"only one class \(\[0\]\)"),
        (lambda X, y: (X[:0], y[:0]), ValueError, "0 sample"),
        (lambda X, y: (X, y.reshape(-1, 1, 1)), ValueError, "1-D"),
        (lambda X, y: (X[:, 0], y), ValueError, "2D array"),
        (lambda X, y: (X, np.linspace(0, 1, 30)), ValueError, "continuous"),
        (lambda X, y: (X, None), ValueError, "requires y"),
    ],
    ids=["nan-X", "inf-X", "nan-y", "none-y", "pandas-na-y", "lengths", "one-class", "empty",
         "y-3d", "X-1d", "continuous-y", "y-none"],
)
def test_bad_data(data, mutate, error, match):
    X, y = mutate(*data)
    with pytest.raises(error, match=match):
        make_clf(max_epochs=1).fit(X, y)


@pytest.mark.parametrize(
    "params, error, match",
    [
        (dict(bins=0), ValueError, "bins"),
        (dict(bins=2.5), TypeError, "bins"),
        (dict(bins=True), TypeError, "bins"),
        (dict(gamma=0.0), ValueError, "gamma"),
        (dict(gamma=-1), ValueError, "gamma"),
        (dict(gamma="2"), TypeError, "gamma"),
        (dict(gamma=float("inf")), ValueError, "finite"),
        (dict(mu=-0.1), ValueError, "mu"),
        (dict(mu=1.5), ValueError, "mu"),
        (dict(warm_up=-1), ValueError, "warm_up"),
        (dict(warm_up=1.5), TypeError, "warm_up"),
        (dict(refinement="gradual"), ValueError, "refinement"),
        (dict(weighting="alpha"), ValueError, "weighting"),
        (dict(density="global"), ValueError, "density"),
        (dict(weight_normalization="sum"), ValueError, "weight_normalization"),
        (dict(random_state="seed"), TypeError, "random_state"),
        (dict(rounds=0), ValueError, "rounds"),
        (dict(rounds=3), ValueError, "rounds"),
        (dict(rounds=1.5), TypeError, "rounds"),
        (dict(average_refit="yes"), TypeError, "average_refit"),
        (dict(average_refit=None), TypeError, "average_refit"),
        (dict(refit_look="third"), TypeError, "refit_look must be a share"),
        (dict(refit_look=True), TypeError, "refit_look must be a share"),
        (dict(refit_look=0.0), ValueError, r"refit_look must lie in \(0, 1\]"),
        (dict(refit_look=1.5), ValueError, r"refit_look must lie in \(0, 1\]"),
        (dict(min_flagged_fraction=0), ValueError, "min_flagged_fraction"),
        (dict(min_flagged_fraction=1.2), ValueError, "min_flagged_fraction"),
        (dict(min_flagged_fraction=float("nan")), ValueError, "min_flagged_fraction"),
        (dict(min_flagged_fraction="0.1"), TypeError, "min_flagged_fraction"),
        (dict(flag_limit="cleanlab"), ValueError, "flag_limit must be one of"),
        (dict(flag_limit=0.3), ValueError, "flag_limit must be one of"),
        (dict(criterion=torch.nn.CrossEntropyLoss), TypeError, "NoisyLabelLoss"),
        (dict(classes=["a"]), ValueError, "only one class"),
        (dict(classes=[0, 0, 1]), ValueError, "repeated"),
        (dict(class_weight="auto"), TypeError, "class_weight"),
        (dict(class_weight={7: 2.0}), ValueError, "not among the classes"),
        (dict(class_weight={0: -1.0}), ValueError, "class_weight\\[0\\]"),
        (dict(class_weight={0: float("nan")}), ValueError, "finite"),
        (dict(class_weight={0: 0.0, 1: 0, 2: 0.0}), ValueError, "every class of the"),
        # (a class without training rows does not count)
        (dict(class_weight={0: 0, 1: 0, 2: 0}, classes=[0, 1, 2, 3]), ValueError, "every class of"),
    ],
)
def test_bad_hyperparameters(data, params, error, match):
    with pytest.raises(error, match=match):
        make_clf(max_epochs=1, **params).fit(*data)


def test_numpy_integer_hyperparameters_are_fine(data):
    make_clf(max_epochs=1, bins=np.int64(5), warm_up=np.int32(0), gamma=np.float32(2)).fit(*data)


def test_module_output_width_must_match_classes(data):
    X, y = data
    with pytest.raises(ValueError, match="logits of shape \\(batch, 3\\)"):
        make_clf(max_epochs=1, module__n_classes=5).fit(X, y)


def test_a_fit_refused_for_the_module_width_leaves_the_estimator_not_fitted(data):
    # a fitted estimator, fitted again on labels its module is not sized for:
    # the error comes at the first batch, after the new module and classes were
    # made, so it must not predict with them (IndexError) or report them
    from skorch.exceptions import NotInitializedError

    X, y = data
    clf = make_clf(max_epochs=1, module__n_classes=3).fit(X, y)
    with pytest.raises(ValueError, match="logits of shape \\(batch, 2\\)"):
        clf.fit(X, y % 2)
    with pytest.raises(NotInitializedError, match="last fit raised before it trained"):
        clf.predict(X)
    with pytest.raises(AttributeError, match="last fit raised before it trained"):
        clf.find_label_issues()
    with pytest.raises(AttributeError, match="fit the estimator first"):
        _ = clf.classes_  # (not the refused fit's classes, as if they were learnt)
    assert not hasattr(clf, "n_features_in_")
    assert clf.fit(X, y).predict(X).shape == (len(y),)  # usable again
    assert list(clf.classes_) == [0, 1, 2]


def test_a_fit_refused_before_its_first_step_leaves_the_estimator_not_fitted(data):
    # class_weight is checked when training begins, after the module was made
    # afresh: the previous model is gone, the new one untrained
    from skorch.exceptions import NotInitializedError

    X, y = data
    clf = make_clf(max_epochs=1).fit(X, y)
    clf.set_params(class_weight={0: 0.0, 1: 0.0, 2: 0.0})
    with pytest.raises(ValueError, match="class_weight weighs every class"):
        clf.fit(X, y)
    with pytest.raises(NotInitializedError, match="last fit raised before it trained"):
        clf.predict_proba(X)
    # a warning made an error (pytest -W error) between initialize and training
    clf = make_clf(max_epochs=1).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserWarning):
            clf.set_params(rounds=2, max_epochs=1, warm_up=5).fit(X, y)
    with pytest.raises(NotInitializedError):
        clf.predict(X)
    # an error after steps were taken leaves the model trained so far, as before
    from skorch.callbacks import Callback

    class Fail(Callback):
        def on_epoch_end(self, net, **kwargs):
            raise RuntimeError("a callback failed")

    clf = make_clf(max_epochs=2, callbacks=[Fail()])
    with pytest.raises(RuntimeError, match="a callback failed"):
        clf.fit(X, y)
    assert clf.predict(X).shape == (len(y),)


def test_labels_outside_given_classes(data):
    X, y = data
    with pytest.raises(ValueError, match="not among the classes"):
        make_clf(max_epochs=1, classes=[0, 1]).fit(X, y)


def test_fold_missing_a_class_works_with_classes(data):
    X, y = data
    keep = y != 2
    clf = make_clf(max_epochs=1, classes=[0, 1, 2], train_split=None).fit(X[keep], y[keep])
    assert clf.predict_proba(X).shape == (30, 3)
    assert clf.refined_labels_.shape == (keep.sum(), 3)


def test_predict_before_fit_and_wrong_width(data):
    from sklearn.exceptions import NotFittedError

    X, y = data
    with pytest.raises(NotFittedError):
        make_clf().predict(X)
    clf = make_clf(max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :3])
    with pytest.raises(ValueError, match="NaN"):
        clf.predict(np.full((2, 4), np.nan))


def test_a_skorch_dataset_of_arrays_trains_as_the_arrays(data):
    # (a torch Dataset was refused before: now it is read a batch at a time)
    X, y = data
    from skorch.dataset import Dataset

    X = X.astype(np.float32)
    on_dataset = make_clf(max_epochs=3).fit(Dataset(X, y), y)
    np.testing.assert_array_equal(on_dataset.refined_labels_,
                                  make_clf(max_epochs=3).fit(X, y).refined_labels_)


def test_sparse_and_complex_inputs(data):
    from scipy import sparse

    X, y = data
    with pytest.raises(TypeError, match="[Ss]parse"):
        make_clf(max_epochs=1).fit(sparse.csr_matrix(X), y)
    with pytest.raises(ValueError, match="[Cc]omplex"):
        make_clf(max_epochs=1).fit(X + 1j, y)


def test_object_dtype_X_with_strings(data):
    X, y = data
    X = X.astype(object)
    X[0, 0] = "a"
    with pytest.raises(ValueError, match="could not convert"):
        make_clf(max_epochs=1).fit(X, y)


def test_score_with_labels_unseen_at_fit(data):
    X, y = data
    keep = y != 2
    clf = make_clf(max_epochs=1, module__n_classes=2).fit(X[keep], y[keep])
    with pytest.raises(ValueError, match="pass classes="):
        clf.score(X, y)
    # with the classes declared the same data scores fine
    clf = make_clf(max_epochs=1, classes=[0, 1, 2]).fit(X[keep], y[keep])
    assert 0.0 <= clf.score(X, y) <= 1.0


def test_class_weight_dict_and_balanced_are_applied(data):
    X, y = data
    clf = make_clf(max_epochs=1, class_weight={0: 2.0, 2: 0.5}, train_split=None).fit(X, y)
    assert clf.refinement_state_.class_weight.tolist() == [2.0, 1.0, 0.5]
    unweighted = make_clf(max_epochs=1, train_split=None).fit(X, y)
    ratio = clf.sample_weights_ / unweighted.sample_weights_
    np.testing.assert_allclose(ratio, np.array([2.0, 1.0, 0.5])[y], rtol=1e-5)
    rare = np.r_[np.zeros(24, int), np.ones(6, int)]
    clf = make_clf(max_epochs=1, class_weight="balanced", module__n_classes=2).fit(X, rare)
    np.testing.assert_allclose(clf.refinement_state_.class_weight.cpu().numpy(),
                               [30 / (2 * 24), 30 / (2 * 6)])


@pytest.mark.parametrize("rounds", [1, 2])
def test_warm_up_longer_than_training_warns(data, rounds):
    X, y = data
    with pytest.warns(UserWarning, match=r"warm_up=4 but max_epochs=3.*Raise max_epochs") as caught:
        clf = make_clf(warm_up=4, max_epochs=3, rounds=rounds).fit(X, y)
    assert caught[0].filename == __file__  # points at the user's call
    assert clf.refinement_state_.n_refinements == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make_clf(warm_up=3, max_epochs=3, rounds=1).fit(X, y)  # refines at the end of epoch 3
        make_clf(warm_up=9, max_epochs=3, refinement=None).fit(X, y)  # nothing to refine anyway
        # the warm-up counts epochs across calls: short calls are the plan here
        make_clf(warm_up=4, max_epochs=1).partial_fit(X, y)
        make_clf(warm_up=4, max_epochs=3, warm_start=True).fit(X, y)


def test_dataframe_with_text_columns_names_them_and_the_fix(data):
    pd = pytest.importorskip("pandas")
    X, y = data
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    df["colour"] = "red"
    df["flag"] = True  # booleans are numbers
    with pytest.raises(ValueError, match=r"not numbers: \['colour'\].*OneHotEncoder"):
        make_clf(max_epochs=1).fit(df, y)
    clf = make_clf(max_epochs=1, module__n_features=5).fit(df.drop(columns="colour"), y)
    with pytest.raises(ValueError, match=r"not numbers: \['colour'\]"):
        clf.predict(df)


@pytest.mark.parametrize("name, value", [("bins", 5), ("mu", 0.5), ("weighting", "both"),
                                         ("weight_normalization", "mean")])
def test_criterion_params_owned_by_the_estimator_are_refused(data, name, value):
    # they used to be overridden silently by the estimator's own at every fit
    with pytest.raises(ValueError, match=rf"criterion__{name} duplicates.*set {name}="):
        make_clf(max_epochs=1, **{f"criterion__{name}": value}).fit(*data)


def test_other_criterion_params_pass_through(data):
    clf = make_clf(max_epochs=1, criterion__sigma_floor=0.1).fit(*data)
    assert clf.criterion_.sigma_floor == 0.1


def test_a_dataset_instance_is_refused_naming_the_fix(data):
    from skorch.dataset import Dataset

    X, y = data
    with pytest.raises(TypeError, match="dataset must be a Dataset class.*Pass its class"):
        make_clf(max_epochs=1, dataset=Dataset(X.astype(np.float32), y)).fit(X, y)


def test_a_criterion_instance_is_refused_naming_the_fix(data):
    from noisyskl import NoisyLabelLoss

    with pytest.raises(TypeError, match=r"criterion must be a class.*criterion__sigma_floor"):
        make_clf(max_epochs=1, criterion=NoisyLabelLoss(bins=5)).fit(*data)


def test_sample_weight_is_refused_naming_class_weight(data):
    X, y = data
    with pytest.raises(TypeError, match=r"no sample_weight.*class_weight"):
        make_clf(max_epochs=1).fit(X, y, sample_weight=np.ones(len(y)))


@pytest.mark.parametrize("kind", ["dict", "SliceDict"])
def test_a_dict_of_inputs_is_refused_naming_the_fix(data, kind):
    # skorch passes a dict's arrays to forward as keywords; the estimator keeps
    # one refined target per row of one array
    from skorch.helper import SliceDict

    X, y = data
    X = {"a": X[:, :2], "b": X[:, 2:]}
    X = SliceDict(**X) if kind == "SliceDict" else X
    with pytest.raises(TypeError, match="dict of arrays.*one array"):
        make_clf(max_epochs=1).fit(X, y)
    clf = make_clf(max_epochs=1).fit(np.hstack([X["a"], X["b"]]), y)
    with pytest.raises(TypeError, match="dict of arrays.*one array"):
        clf.predict(X)


def test_cross_val_predict_proba_with_text_classes_names_the_cause(data):
    # cross_val_predict(method="predict_proba") encodes y as 0..n-1 before fit
    from sklearn.model_selection import cross_val_predict

    X, y = data
    names = np.array(["a", "b", "c"])
    with pytest.raises(ValueError, match="cross_val_predict.*leave classes out"):
        cross_val_predict(make_clf(max_epochs=1, classes=list(names)), X, names[y], cv=2,
                          method="predict_proba")
    proba = cross_val_predict(make_clf(max_epochs=1), X, names[y], cv=2, method="predict_proba")
    assert proba.shape == (len(y), 3)


@pytest.mark.parametrize("form", ["str", "bytes", "object", "dataframe"])
def test_numbers_as_strings_are_refused_as_scikit_learn_does(data, form):
    # X.astype(str) used to be converted silently; sklearn's estimators refuse it
    X, y = data
    bad = {"str": lambda: X.astype(str), "bytes": lambda: X.astype(bytes),
           "object": lambda: X.astype(str).astype(object),
           "dataframe": lambda: pytest.importorskip("pandas").DataFrame(X.astype(str))}[form]()
    with pytest.raises(ValueError, match="numbers as strings.*astype"):
        make_clf(max_epochs=1).fit(bad, y)
    clf = make_clf(max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="numbers as strings"):
        clf.predict(bad)
    # numbers in an object array are numbers
    make_clf(max_epochs=1).fit(X.astype(object), y)


def test_a_grid_over_bins_without_alpha_warns_once_that_it_changes_nothing(data):
    from sklearn.model_selection import GridSearchCV

    from noisyskl import _validation

    X, y = data
    _validation._BINS_WARNED.clear()
    with pytest.warns(UserWarning) as caught:
        grid = GridSearchCV(make_clf(max_epochs=3, warm_up=1), {"bins": [5, 10, 20]}, cv=2)
        grid.fit(X, y)
    bins_warnings = [w for w in caught if "bins only sets the density weight" in str(w.message)]
    assert len(bins_warnings) == 1 and "weighting='gaussian'" in str(bins_warnings[0].message)
    scores = grid.cv_results_["mean_test_score"]
    assert np.ptp(scores) == 0  # indeed the same scores
    _validation._BINS_WARNED.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # bins matters with alpha: no warning
        make_clf(max_epochs=3, warm_up=1, bins=5, weighting="both").fit(X, y)
    _validation._BINS_WARNED.clear()


def test_class_names_that_look_like_typos_warn_and_name_them(iris):
    X, y = iris
    names = np.array(["tumour", "stroma", "mucosa"], dtype=object)[y]
    names[:5] = "Tumour"  # another spelling of class 0
    names[5] = "tumour "
    names[60] = "stroma_"  # a single row
    with pytest.warns(UserWarning) as caught:
        clf = make_clf(max_epochs=1, module__n_classes=6).fit(X, names)
    text = " ".join(str(w.message) for w in caught)
    assert "['Tumour', 'tumour', 'tumour ']" in text and "differ only by case" in text
    assert "['stroma', 'stroma_']" in text
    assert "['stroma_', 'tumour '] have a single row each" in text
    assert all(w.filename == __file__ for w in caught if "differ only" in str(w.message))
    assert len(clf.classes_) == 6  # (still fitted as given)
    with warnings.catch_warnings():  # clean names: no warning
        warnings.simplefilter("error")
        make_clf(max_epochs=3).fit(X, np.array(["a", "b", "c"])[y])


def test_a_module_sized_for_fewer_classes_names_the_classes(iris):
    X, y = iris
    names = np.array(["tumour", "stroma", "mucosa"], dtype=object)[y]
    names[:10] = "Tumour"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match=r"there are 4 classes.*\['Tumour', 'mucosa', "
                                             r"'stroma', 'tumour'\], of which \[\['Tumour', "
                                             r"'tumour'\]\] look like one class"):
            make_clf(max_epochs=1, module__n_classes=3).fit(X, names)


def test_a_module_that_ends_in_softmax_warns(iris):
    X, y = iris

    class WithSoftmax(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Softmax(dim=-1))

        def forward(self, X):
            return self.net(X)

    with pytest.warns(UserWarning, match="ends in a softmax, but the criterion takes logits"):
        make_clf(module=WithSoftmax, max_epochs=2).fit(X, y)
    with warnings.catch_warnings():  # logits: no warning
        warnings.simplefilter("error")
        make_clf(max_epochs=2).fit(X, y)


def test_meaningful_punctuation_is_not_taken_for_a_typo():
    from noisyskl._labels import look_alike_classes

    for names in (["<=50K", ">50K"], ["A", "A+", "A-"], ["+", "-"]):
        assert look_alike_classes(np.array(names, dtype=object)) == []
    assert look_alike_classes(np.array(["Tumour", "stroma_", "stroma", "tumour."],
                                       dtype=object)) == [["Tumour", "tumour."],
                                                          ["stroma_", "stroma"]]


def test_channels_last_images_for_the_default_module_name_the_fix():
    # (n, height, width, channels), as numpy and Pillow give images: SmallCNN
    # would take 16 channels and fail inside torch ("Output size is too small")
    from noisyskl import NoisyNeuralNetClassifier

    rng = np.random.default_rng(0)
    X, y = rng.random((40, 16, 16, 3), dtype=np.float32), np.arange(40) % 2
    clf = NoisyNeuralNetClassifier(max_epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"shape \(16, 16, 3\), which looks channels-last.*"
                                         r"X.transpose\(0, 3, 1, 2\)"):
        clf.fit(X, y)
    assert clf.fit(X.transpose(0, 3, 1, 2), y).predict(X.transpose(0, 3, 1, 2)).shape == (40,)
    # (5, 32, 3) maps that are (channels, height, width) after all: module__in_channels
    # or module__channels says so
    maps = rng.random((40, 5, 32, 3), dtype=np.float32)
    for given in ({"module__in_channels": 5, "module__channels": (8,)},
                  {"module__channels": (8,)}):
        NoisyNeuralNetClassifier(max_epochs=1, verbose=0, **given).fit(maps, y)


def test_the_default_module_takes_module__n_classes():
    # kept from a module of the user's own: it was "default_module() got
    # multiple values for argument 'n_classes'"
    from noisyskl import NoisyNeuralNetClassifier

    rng = np.random.default_rng(0)
    X, y = rng.random((40, 3, 8, 8), dtype=np.float32), np.arange(40) % 2
    clf = NoisyNeuralNetClassifier(max_epochs=1, verbose=0, module__n_classes=2).fit(X, y)
    assert clf.predict_proba(X).shape == (40, 2)
    with pytest.raises(ValueError, match=r"logits of shape \(batch, 2\)"):
        NoisyNeuralNetClassifier(max_epochs=1, verbose=0, module__n_classes=3).fit(X, y)


@pytest.mark.parametrize("rounds", [1, 2])
def test_a_training_that_diverges_raises_and_leaves_the_estimator_not_fitted(data, rounds):
    # lr 1e30: the weights, outputs and loss become NaN in the first epochs; that
    # passed silently (every row "not in training", no label issue) or, with
    # rounds=2, failed later as "num_samples=0"
    from skorch.exceptions import NotInitializedError

    X, y = data
    clf = make_clf(max_epochs=4, warm_up=1, lr=1e30, rounds=rounds)
    with pytest.raises(ValueError, match="diverged in epoch 1: .* Lower lr \\(now 1e\\+30\\)"):
        clf.fit(X, y)
    with pytest.raises(NotInitializedError):
        clf.predict(X)
    assert clf.set_params(lr=0.05).fit(X, y).predict(X).shape == (len(y),)
    # a divergence in the very last step (one batch, one epoch: no epoch's
    # outputs saw it) is caught in the weights
    last = make_clf(max_epochs=1, warm_up=0, lr=1e30, batch_size=len(y), rounds=1)
    with pytest.raises(ValueError, match="diverged in epoch 1"):
        last.fit(X, y)
    with pytest.raises(NotInitializedError, match="or diverged"):
        last.predict(X)


def test_a_refit_that_diverges_raises_and_keeps_the_first_rounds_model(data):
    # the first round trains; the refit's weights are made NaN as it begins
    from skorch.callbacks import Callback

    from noisyskl import RefitNet

    class Poison(Callback):
        def on_batch_begin(self, net, training=False, **kwargs):
            if training and isinstance(net, RefitNet):  # (the refit has the callbacks too)
                with torch.no_grad():
                    for p in net.module_.parameters():
                        p.fill_(float("nan"))

    X, y = data
    clf = make_clf(max_epochs=6, warm_up=1, rounds=2, refit_rows="unflagged",
                   callbacks=[Poison()])
    with pytest.raises(ValueError, match="the refit .* failed after 1 epoch.*refit diverged "
                                         "in epoch 1"):
        clf.fit(X, y)
    proba = clf.predict_proba(X)  # (the first round's model, as the error says)
    assert np.isfinite(proba).all()


@pytest.mark.parametrize("as_type", [list, np.array, "series"])
def test_labels_of_mixed_kinds_are_refused(data, as_type):
    # a list's numbers became strings silently ('1', '2', 'stroma', ...); a Series or
    # object array failed in sorting ("'<' not supported between 'int' and 'str'")
    import pandas as pd

    X, _ = data
    mixed = ["tumour", 2, "stroma", 1, None] * 6
    y = (pd.Series(mixed) if as_type == "series" else
         np.array(mixed, dtype=object) if as_type is np.array else mixed)
    with pytest.raises(ValueError, match=r"y mixes labels of kinds \['number', 'string'\]"):
        make_clf(max_epochs=1).fit(X, y)
    # numbers of both kinds are one kind (numpy makes them floats)
    assert make_clf(max_epochs=1).fit(X, [0, 1.0, 2] * 10).classes_.tolist() == [0, 1, 2]


def test_x_and_ys_indexes_must_name_the_same_rows_in_order():
    # the docs' pivot sorts the image ids as text: each row took another's labels
    import pandas as pd

    rng = np.random.default_rng(0)
    ids = [f"img{i}" for i in range(30)]
    X = pd.DataFrame(rng.normal(size=(30, 4)), index=ids)
    y = np.arange(30) % 3
    long = pd.DataFrame({"image": ids * 2, "doctor": ["a"] * 30 + ["b"] * 30,
                         "label": list(y) * 2})
    votes = long.pivot(index="image", columns="doctor", values="label")
    with pytest.raises(ValueError, match=r"row 2 is 'img2' in X, 'img10' in y.*y.loc\[X.index\]"):
        make_clf(max_epochs=1).fit(X, votes)
    with pytest.raises(ValueError, match="not the same rows in the same order"):
        make_clf(max_epochs=1).fit(X, pd.Series(y, index=ids).iloc[::-1])
    # aligned, or one side without ids (a default RangeIndex): paired by position
    make_clf(max_epochs=1).fit(X, votes.loc[X.index])
    make_clf(max_epochs=1).fit(X, pd.Series(y))
    make_clf(max_epochs=1).fit(X.reset_index(drop=True), pd.Series(y, index=ids))
