"""``flagged_rows="unlabelled"``: the refit keeps the flagged rows as unlabelled data."""

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from noisyskl import NoisyNeuralNetClassifier, RefitNet
from noisyskl.functional import mix_rows, mixup_weight, semi_supervised_loss, sharpen

from .conftest import BatchNormMLP, flag_rows, make_clf


# ------------------------------------------------------------ the pure math
def test_sharpen_keeps_the_order_and_raises_the_top_class():
    p = torch.tensor([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
    sharp = sharpen(p, 0.5)
    expected = p ** 2 / (p ** 2).sum(1, keepdim=True)  # T = 0.5: squares, normalised
    assert torch.allclose(sharp, expected)
    assert torch.allclose(sharp.sum(1), torch.ones(2))
    assert (sharp.argmax(1) == p.argmax(1)).all() and (sharp.max(1).values > p.max(1).values).all()
    assert torch.allclose(sharpen(p, 1.0), p)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        sharpen(p, 0.0)


def test_mix_rows_mixes_inputs_and_targets_alike():
    x, t = torch.arange(6.0).reshape(3, 2), torch.eye(3)
    order = torch.tensor([2, 0, 1])
    same = mix_rows(x, t, 1.0, order)
    assert torch.equal(same[0], x) and torch.equal(same[1], t)
    mx, mt = mix_rows(x, t, 0.75, order)
    assert torch.allclose(mx, 0.75 * x + 0.25 * x[order])
    assert torch.allclose(mt[0], torch.tensor([0.75, 0.0, 0.25]))


def test_mixup_weight_is_the_larger_side_of_a_beta_draw_from_torchs_generator():
    # the draw the refit's steps make (one per batch): Beta(alpha, alpha) from the
    # global generator, so a seed repeats it, the larger of l and 1 - l
    for alpha in (4.0, 0.5):
        torch.manual_seed(3)
        drawn = [mixup_weight(alpha) for _ in range(5)]
        torch.manual_seed(3)
        beta = torch.distributions.Beta(torch.tensor(alpha), torch.tensor(alpha))
        assert drawn == [max(float(v), 1 - float(v)) for v in (beta.sample() for _ in range(5))]
        assert all(0.5 <= w <= 1 for w in drawn)
    for alpha in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="alpha must be > 0"):
            mixup_weight(alpha)


def test_semi_supervised_loss_is_divide_mixs_three_terms():
    torch.manual_seed(0)
    logits = torch.randn(5, 3, requires_grad=True)
    targets = torch.softmax(torch.randn(5, 3), 1)
    unlabelled = torch.tensor([False, True, False, True, False])
    weights = torch.tensor([1.0, 9.0, 2.0, 9.0, 0.5])  # (the unlabelled rows' are unused)
    loss = semi_supervised_loss(logits, targets, unlabelled, lambda_u=3.0, weights=weights)
    p = torch.softmax(logits, 1)
    lab = ~unlabelled
    ce = -(targets[lab] * torch.log_softmax(logits[lab], 1)).sum(1)
    expected = ((weights[lab] * ce).mean() + 3.0 * ((p[unlabelled] - targets[unlabelled]) ** 2)
                .mean() + (torch.full((3,), 1 / 3) * torch.log((1 / 3) / p.mean(0))).sum())
    assert torch.allclose(loss, expected)
    loss.backward()
    assert torch.isfinite(logits.grad).all()
    # a batch of labelled rows only: no squared error, and no NaN from an empty mean
    only = semi_supervised_loss(logits.detach(), targets, torch.zeros(5, dtype=torch.bool))
    assert torch.isfinite(only)


# ------------------------------------------------------------ the estimator
class RowsSeen(Callback):
    """The number of rows each RefitNet is given to train on, and how many of
    them unlabelled (kept across the refits, which each initialise the
    callbacks again)."""

    def __init__(self):
        self.rows, self.unlabelled = [], []

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        if isinstance(net, RefitNet):
            self.rows.append(len(X))
            self.unlabelled.append(0 if net.unlabelled_ is None else int(net.unlabelled_.sum()))


def _two_rounds(X, y, seen=None, **kwargs):
    seen = RowsSeen() if seen is None else seen
    params = dict(max_epochs=8, train_split=None, rounds=2, refit_rows="unflagged",
                  callbacks=[("seen", seen)])
    params.update(kwargs)
    return make_clf(**params).fit(X, y), seen.rows


def test_the_flagged_rows_are_trained_on_without_their_labels(iris, monkeypatch):
    X, y = iris
    flagged = (np.arange(150) * 7) % 150 < 30  # 30 rows, spread over the classes
    flag_rows(monkeypatch, flagged)
    seen = RowsSeen()
    unlabelled, _ = _two_rounds(X, y, seen, flagged_rows="unlabelled")
    assert seen.rows == [150] and seen.unlabelled == [30]  # every row, the flagged unlabelled
    _, rows = _two_rounds(X, y, flagged_rows="drop")
    assert rows == [120]
    # other labels on the flagged rows: the same refit, bit for bit (they are not read;
    # the refit's seed and rows do not depend on the first round)
    relabelled = y.copy()
    relabelled[flagged] = (y[flagged] + 1) % 3
    again, _ = _two_rounds(X, relabelled, flagged_rows="unlabelled")
    np.testing.assert_array_equal(again.predict_proba(X), unlabelled.predict_proba(X))
    # (a refit that read them, on every row with their labels, would differ)
    every = make_clf(max_epochs=8, train_split=None, rounds=2, refit_rows="unflagged",
                     flagged_rows="drop").fit(X, relabelled)
    assert not np.array_equal(every.predict_proba(X), unlabelled.predict_proba(X))


def test_a_class_flagged_whole_stays_labelled(iris, monkeypatch):
    X, y = iris
    flag_rows(monkeypatch, (y == 2) | ((np.arange(150) * 7) % 150 < 10))
    seen = RowsSeen()
    with pytest.warns(UserWarning, match="50 of the 50 rows annotated 2 were flagged"):
        _two_rounds(X, y, seen, flagged_rows="unlabelled")
    # class 2's 50 rows are given back their labels (the refit could not learn it);
    # the other flagged rows stay unlabelled
    outside = int((((np.arange(150) * 7) % 150 < 10) & (y != 2)).sum())
    assert seen.rows == [150] and seen.unlabelled == [outside] and outside > 0


def test_the_batch_norm_statistics_are_those_of_the_rows_unmixed(iris, monkeypatch):
    X, y = iris
    flag_rows(monkeypatch, (np.arange(150) * 7) % 150 < 30)
    clf, _ = _two_rounds(X, y, module=BatchNormMLP, flagged_rows="unlabelled")
    bn = clf.module_.net[1]
    with torch.no_grad():
        h = clf.module_.net[0](torch.as_tensor(X, dtype=torch.float32, device=clf.device))
    # one pass over the 150 rows (batches of 128 and 22), summed in float64: float32
    # rounding of the layer's outputs only
    torch.testing.assert_close(bn.running_mean, h.mean(0), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(bn.running_var, h.var(0, unbiased=True), rtol=1e-4, atol=1e-5)


def test_choose_trains_the_unflagged_candidate_on_every_training_row(iris, monkeypatch):
    X, y = iris
    flag_rows(monkeypatch, (np.arange(150) * 7) % 150 < 30)
    seen = RowsSeen()
    clf = make_clf(max_epochs=8, rounds=2, flagged_rows="unlabelled",
                   callbacks=[("seen", seen)]).fit(X, y)
    # (the default train_split holds out a fifth: both candidates are given all 150
    # rows, the held-out ones among them, which neither trains on; a kept "every" refit
    # trains again for the callbacks)
    assert seen.rows[:2] == [150, 150]
    held = clf.refit_choice_["held_out_rows"]
    flagged = (np.arange(150) * 7) % 150 < 30
    assert seen.unlabelled[:2] == [0, int(flagged.sum()) - int((flagged & ~clf.train_mask_).sum())]
    assert held == int((~clf.train_mask_).sum())


def test_an_unknown_flagged_rows_is_refused(iris):
    X, y = iris
    with pytest.raises(ValueError, match="flagged_rows must be 'auto'.*'drop'.*or 'unlabelled'"):
        make_clf(rounds=2, flagged_rows="ignore").fit(X, y)


class Rows(torch.utils.data.Dataset):
    """Items ``(x, label)`` of float32 rows."""

    def __init__(self, X, y):
        self.X, self.y = torch.as_tensor(X, dtype=torch.float32), y

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i], self.y[i]


def test_a_dataset_trains_its_flagged_rows_unlabelled_too(iris, monkeypatch):
    X, y = iris
    flagged = (np.arange(150) * 7) % 150 < 30
    flag_rows(monkeypatch, flagged)
    from_dataset, seen = _two_rounds(Rows(X, y), None, flagged_rows="unlabelled")
    assert seen == [150]
    from_arrays, _ = _two_rounds(X, y, flagged_rows="unlabelled")
    # the same rows in the same batches, the same computation: the same refit as from
    # the arrays, bit for bit
    np.testing.assert_array_equal(from_dataset.predict_proba(X), from_arrays.predict_proba(X))


class TwoParts(torch.utils.data.Dataset):
    """Items ``((first two features, last two), label)``: a batch's rows are a
    list of two tensors, which cannot be mixed."""

    def __init__(self, X, y):
        self.X, self.y = torch.as_tensor(X, dtype=torch.float32), y

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return (self.X[i, :2], self.X[i, 2:]), self.y[i]


class TwoPartMLP(torch.nn.Module):
    def __init__(self, input_dim=4, n_classes=3):
        super().__init__()
        self.lin = torch.nn.Linear(input_dim, n_classes)

    def forward(self, X):
        return self.lin(torch.cat(list(X), dim=1))


class Batches(Callback):
    def __init__(self):
        self.n = 0

    def on_batch_end(self, net, training=False, **kwargs):
        self.n += training


def test_rows_the_refit_cannot_mix_are_refused_before_the_first_round(iris):
    X, y = iris
    batches = Batches()
    clf = make_clf(module=TwoPartMLP, max_epochs=6, train_split=None, rounds=2,
                   flagged_rows="unlabelled", callbacks=[("batches", batches)])
    # a TypeError from the first round's first batch (the refit's would come as a
    # RuntimeError, after training the first round)
    with pytest.raises(TypeError, match="mixes the rows of a batch.*got list.*"
                                        "Pass flagged_rows='drop'"):
        clf.fit(TwoParts(X, y))
    assert batches.n == 0 and "_check_mixable_" not in vars(clf)
    # the estimator stays usable: with the flagged rows dropped, the same rows train,
    # both rounds even with warm_start (the failed fit trained nothing)
    clf.set_params(flagged_rows="drop", warm_start=True).fit(TwoParts(X, y))
    assert batches.n > 0 and clf.predict(TwoParts(X, y)).shape == (150,)
    assert clf.refit_choice_ is not None  # (the refit ran)


def test_auto_keeps_feature_rows_unlabelled_and_drops_images_and_datasets(iris, monkeypatch):
    X, y = iris
    flagged = (np.arange(150) * 7) % 150 < 30
    flag_rows(monkeypatch, flagged)
    # feature vectors as an array: "auto" is "unlabelled", bit for bit
    auto, seen = _two_rounds(X, y, flagged_rows="auto")
    unlabelled, _ = _two_rounds(X, y, flagged_rows="unlabelled")
    dropped, dropped_rows = _two_rounds(X, y, flagged_rows="drop")
    assert seen == [150] and dropped_rows == [120]
    np.testing.assert_array_equal(auto.predict_proba(X), unlabelled.predict_proba(X))
    # refit_rows="unflagged" makes no choice, and refit_choice_ says what "auto" decided
    assert auto.refit_choice_["flagged_rows"] == "unlabelled"
    assert dropped.refit_choice_["flagged_rows"] == "drop"
    assert not np.array_equal(auto.predict_proba(X), dropped.predict_proba(X))
    # the same rows through a Dataset: "auto" drops them
    _, seen = _two_rounds(Rows(X, y), None, flagged_rows="auto")
    assert seen == [120]
    # images (rows of shape (1, 2, 2)): "auto" drops them, bit for bit "drop"
    images = X.reshape(-1, 1, 2, 2).astype(np.float32)
    settings = dict(module=ImageMLP)
    auto, seen = _two_rounds(images, y, flagged_rows="auto", **settings)
    dropped, _ = _two_rounds(images, y, flagged_rows="drop", **settings)
    assert seen == [120]
    np.testing.assert_array_equal(auto.predict_proba(images), dropped.predict_proba(images))
    assert auto.refit_choice_["flagged_rows"] == "drop"
    assert auto.get_params()["flagged_rows"] == "auto"  # (the default)
    assert NoisyNeuralNetClassifier().flagged_rows == "auto"


@pytest.mark.parametrize("given, kept_unlabelled", [
    ("float64 array", True), ("float DataFrame", True), ("int64 array", False),
    ("DataFrame with an int column", False), ("collate_fn of one's own", False),
    ("dataset of one's own", False), ("object array of floats", True),
    ("object DataFrame of floats", True), ("object array of ints", False)])
def test_auto_keeps_them_only_where_the_batches_are_mixable_features(
        iris, monkeypatch, given, kept_unlabelled):
    import pandas as pd
    from skorch.dataset import Dataset
    from torch.utils.data import default_collate

    X, y = iris
    flag_rows(monkeypatch, (np.arange(150) * 7) % 150 < 30)
    kwargs = {}
    if given == "float DataFrame":
        X = pd.DataFrame(X, columns=list("abcd"))
    elif given == "int64 array":  # (token ids, ordinal codes: trained as float32)
        X = np.round(X * 10).astype(np.int64)
    elif given == "DataFrame with an int column":
        X = pd.DataFrame(X, columns=list("abcd")).assign(d=np.arange(150) % 3)
    elif given == "object array of floats":  # (Python floats: their values decide)
        X = X.astype(object)
    elif given == "object DataFrame of floats":
        X = pd.DataFrame(X.astype(object), columns=list("abcd"))
    elif given == "object array of ints":
        X = np.round(X * 10).astype(np.int64).astype(object)
    elif given == "collate_fn of one's own":
        kwargs["iterator_train__collate_fn"] = default_collate
    elif given == "dataset of one's own":
        kwargs["dataset"] = type("MyDataset", (Dataset,), {})
    seen = RowsSeen()
    _two_rounds(X, y, seen, **kwargs)  # (flagged_rows: the default, "auto")
    assert seen.unlabelled == [30 if kept_unlabelled else 0]
    assert seen.rows == [150 if kept_unlabelled else 120]


def test_a_polars_frame_is_floating_by_its_columns_own_data_types():
    # (Polars is not a dependency: a frame that answers as Polars does)
    from noisyskl._validation import floating_values

    class Float64:
        def is_float(self):
            return True

    class Int64:
        def is_float(self):
            return False

    class Frame:
        def __init__(self, dtypes):
            self.dtypes, self.columns = dtypes, [f"c{i}" for i in range(len(dtypes))]

        def __getitem__(self, name):
            return None

    assert floating_values(Frame([Float64(), Float64()]))
    assert not floating_values(Frame([Float64(), Int64()]))


class ImageMLP(torch.nn.Module):
    def __init__(self, input_dim=4, n_classes=3):
        super().__init__()
        self.lin = torch.nn.Linear(4, n_classes)

    def forward(self, X):
        return self.lin(X.flatten(1))


def test_the_default_on_feature_rows_keeps_what_the_library_does(iris, monkeypatch):
    # "auto" on a label matrix of feature rows: the flagged rows stay as unlabelled
    # rows; the report, refined labels, consensus, pickling and partial_fit as ever
    import pickle

    X, y = iris
    votes = np.stack([y, y, (y + (np.arange(150) % 5 == 0)) % 3], axis=1).astype(float)
    votes[::7, 1] = np.nan  # (a doctor who did not label some rows)
    flagged = (np.arange(150) * 7) % 150 < 30
    flag_rows(monkeypatch, flagged)
    seen = RowsSeen()
    clf, _ = _two_rounds(X, votes, seen)  # (flagged_rows: the default)
    assert clf.flagged_rows == "auto" and seen.rows == [150] and seen.unlabelled == [30]
    report = clf.find_label_issues()
    assert len(report) == 150 and report["is_label_issue"].to_numpy().sum() == 30
    assert clf.refined_labels_.shape == (150, 3) and report["consensus_label"].notna().all()
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    before = len(clf.history)
    clf.partial_fit(X, votes)
    assert len(clf.history) == before + 8


@pytest.mark.parametrize("flagged_rows", ["auto", "drop"])
def test_verbose_counts_a_class_put_back_as_trained_on_its_labels(
        iris, monkeypatch, capsys, recwarn, flagged_rows):
    # every row of class 2 flagged: the refit puts the class back (kept, labelled),
    # and the line before it says so in its counts
    X, y = iris
    flagged = (y == 2) | ((np.arange(150) * 7) % 150 < 20)
    flag_rows(monkeypatch, flagged)
    clf = make_clf(max_epochs=8, rounds=2, verbose=1, flagged_rows=flagged_rows).fit(X, y)
    out = capsys.readouterr().out
    trained = clf.train_mask_
    labelled = int((trained & (~flagged | (y == 2))).sum())
    unlabelled = int((trained & flagged & (y != 2)).sum())
    assert unlabelled > 0 and labelled > int((trained & ~flagged).sum())
    said = (f"({labelled}, with the {unlabelled} flagged ones as unlabelled rows)"
            if flagged_rows == "auto" else f"({labelled})")
    assert f"round 2/2, refit on the unflagged training rows {said}, holding out" in out


def test_verbose_and_refit_choice_say_the_flagged_rows_were_kept_unlabelled(
        iris, monkeypatch, capsys):
    X, y = iris
    flagged = (np.arange(150) * 7) % 150 < 30
    flag_rows(monkeypatch, flagged)
    clf = make_clf(max_epochs=8, rounds=2, verbose=1).fit(X, y)  # (a fifth held out)
    out = capsys.readouterr().out
    trained = clf.train_mask_
    labelled, unlabelled = int((trained & ~flagged).sum()), int((trained & flagged).sum())
    assert unlabelled > 0
    assert (f"round 2/2, refit on the unflagged training rows ({labelled}, with the "
            f"{unlabelled} flagged ones as unlabelled rows), holding out 30 rows") in out
    assert clf.refit_choice_["flagged_rows"] == "unlabelled"
    dropped = make_clf(max_epochs=8, rounds=2, verbose=0, flagged_rows="drop").fit(X, y)
    assert dropped.refit_choice_["flagged_rows"] == "drop"
    # without held-out rows, the kind kept then trains on every row given: said once
    make_clf(max_epochs=8, rounds=2, verbose=1, train_split=None).fit(X, y)
    out = capsys.readouterr().out
    assert out.count("round 2/2: refit on ") == 1 and "rows not flagged" not in out


def test_the_first_batch_check_is_not_pickled(iris):
    import copy
    import pickle

    X, y = iris
    clf = make_clf(max_epochs=1).fit(X, y)
    clf.__dict__["_check_mixable_"] = True  # (as fit leaves it until its first batch)
    for again in (pickle.loads(pickle.dumps(clf)), copy.deepcopy(clf)):
        assert "_check_mixable_" not in vars(again)
