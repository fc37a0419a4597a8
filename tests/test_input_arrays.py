"""Input arrays as given: integer and boolean images, read-only arrays and
memory maps, negative strides and channels-last layouts are read a batch at a
time, never copied whole, with the numbers of their float32 copies."""

from functools import partial

import numpy as np
import pytest
import torch
from skorch.dataset import Dataset as SkorchDataset

from noisyskl import SmallCNN

from .conftest import make_clf


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
    clf = make_clf(module=_Pixels, module__n_pixels=768, rounds=2, max_epochs=3, warm_up=1,
                   batch_size=1024)  # (three refinements: the refit runs)
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


@pytest.mark.parametrize("rounds, flagged_rows", [(1, "auto"), (2, "drop"), (2, "auto")])
def test_training_reads_a_read_only_array_or_memory_map_without_copying_it(tmp_path, rounds,
                                                                          flagged_rows):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20_000, 256)).astype(np.float32)  # 20.5 MB
    y = (X[:, 0] > 0).astype(int)
    path = tmp_path / "X.npy"
    np.save(path, X)
    mapped = np.load(path, mmap_mode="r")  # read-only
    clf = partial(make_clf, module__n_features=256, module__n_classes=2, max_epochs=3,
                  warm_up=1, batch_size=1024, rounds=rounds,  # (rounds=2: the refit runs)
                  flagged_rows=flagged_rows)  # ("auto": the flagged rows kept, unlabelled)
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
    kw = dict(module=_Pixels, module__n_pixels=192, max_epochs=3, warm_up=1, rounds=2)
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
