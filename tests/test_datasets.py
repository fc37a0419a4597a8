"""fit, predict and the report on a torch Dataset of image files (Pillow, no
torchvision): labels, row identity through workers, Subsets, cross-validation
and the refit, held-out rows without augmentation, and bad Datasets."""

import copy
import multiprocessing
import warnings

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import Callback
from skorch.helper import SliceDataset, predefined_split
from torch.utils.data import Dataset, IterableDataset, Subset

from noisyskl import DatasetReadError, NoisyNeuralNetClassifier

from .conftest import flip_labels
from .image_files import ImageFiles, augment, to_tensor, write_image_folder


class MeanColour(torch.nn.Module):
    """Logits from the image's mean colour (which tells the classes apart)."""

    def __init__(self, n_classes=3):
        super().__init__()
        self.linear = torch.nn.Linear(3, n_classes)

    def forward(self, x):
        return self.linear((x.mean(dim=(2, 3)) - 0.33) * 10.0)


def make(**kwargs):
    params = dict(module=MeanColour, max_epochs=6, warm_up=2, lr=0.05, verbose=0, batch_size=16,
                  optimizer=torch.optim.Adam,
                  random_state=0, rounds=1)
    params.update(kwargs)
    return NoisyNeuralNetClassifier(**params)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_image_folder(tmp_path_factory.mktemp("images"), n_per_class=30)


@pytest.fixture(scope="module")
def arrays(folder):
    ds = ImageFiles(folder)
    X = torch.stack([ds[i][0] for i in range(len(ds))]).numpy()
    y = np.array(ds.targets)
    return X, y, flip_labels(y, 0.3, 3, seed=0)[0]


class NoTargets(ImageFiles):
    def __init__(self, root, **kwargs):
        super().__init__(root, with_targets=False, **kwargs)


class ImagesOnly(NoTargets):
    """Items are the image alone: the labels must be given."""

    def __getitem__(self, i):
        return super().__getitem__(i)[0]


@pytest.mark.parametrize("workers", [
    {},
    {"iterator_train__num_workers": 2},
    {"iterator_train__num_workers": 2, "iterator_train__multiprocessing_context": "spawn",
     "rounds": 1, "max_epochs": 4},  # (spawned workers start anew each epoch: slow)
], ids=["main process", "fork workers", "spawn workers"])
def test_a_dataset_fit_is_the_array_fit_of_the_same_rows(folder, arrays, workers):
    # each row keeps its identity through shuffling and workers: the per-row
    # state comes out the same as from the same rows given as one array
    X, _, y_noisy = arrays
    workers, settings = dict(workers), {"rounds": 2, "max_epochs": 8}
    settings.update({k: workers.pop(k) for k in ("rounds", "max_epochs") if k in workers})
    on_arrays = make(**settings).fit(X, y_noisy)
    on_files = make(**settings, **workers).fit(ImageFiles(folder), y_noisy)
    np.testing.assert_array_equal(on_files.refined_labels_, on_arrays.refined_labels_)
    np.testing.assert_array_equal(on_files.predict_proba(ImageFiles(folder)),
                                  on_arrays.predict_proba(X))
    a, b = on_arrays.find_label_issues(), on_files.find_label_issues()
    assert (a.is_label_issue == b.is_label_issue).all() and b.is_label_issue.any()


def test_each_rows_prediction_lands_at_its_index_with_persistent_pinned_workers(folder, arrays):
    # (persistent workers draw their seed once, not per epoch, so the shuffles
    # differ from an array fit's; with lr=0 the model is fixed and each row's
    # stored prediction must be the model's prediction of that row)
    X, y, _ = arrays
    clf = make(lr=0.0, optimizer=torch.optim.SGD, max_epochs=3, train_split=None,
               iterator_train__num_workers=2, iterator_train__persistent_workers=True,
               iterator_train__pin_memory=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (pin_memory without an accelerator)
        clf.fit(ImageFiles(folder), y)
    np.testing.assert_allclose(clf.refinement_state_.proba.numpy(), clf.predict_proba(X),
                               atol=1e-6, rtol=0)


def test_labels_come_from_y_else_targets_else_one_pass_over_the_items(folder, arrays, capsys):
    _, y, _ = arrays
    from_targets = make(max_epochs=3).fit(ImageFiles(folder))
    from_y = make(max_epochs=3).fit(ImagesOnly(folder), y)
    from_items = make(max_epochs=3, verbose=1).fit(NoTargets(folder))
    assert "each item is read once" in capsys.readouterr().err
    for clf in (from_y, from_items):
        np.testing.assert_array_equal(clf.refined_labels_, from_targets.refined_labels_)
    np.testing.assert_array_equal(from_targets.find_label_issues().given_label, y)


def test_the_report_has_one_row_per_index_with_its_file(folder, arrays):
    ds = ImageFiles(folder)
    report = make().fit(ds).find_label_issues()
    assert list(report.index) == list(range(len(ds)))
    assert list(report.path) == [path for path, _ in ds.samples]
    # a Subset's rows are its own 0..m-1, with the files it holds
    rows = np.arange(0, len(ds), 3)
    report = make().fit(Subset(ds, rows)).find_label_issues()
    assert list(report.path) == [ds.samples[i][0] for i in rows]
    # an array fit after a dataset fit has no path column
    X, y, _ = arrays
    assert "path" not in make(max_epochs=2).fit(X, y).find_label_issues()


def test_the_refit_trains_on_the_kept_rows_of_the_dataset(folder, arrays):
    _, _, y_noisy = arrays
    read = []

    class Recording(ImageFiles):
        def __getitem__(self, i):
            read.append(i)
            return super().__getitem__(i)

    class StartRecordingInTheRefit(Callback):
        def on_train_begin(self, net, **kwargs):
            read.clear()
            self.in_refit = type(net).__name__.startswith("RefitNet")

    recorder = StartRecordingInTheRefit()
    # (the unflagged refit; refit_rows="choose" trains it too, tests/test_refit_choice.py)
    clf = make(rounds=2, refit_rows="unflagged", max_epochs=8, callbacks=[recorder])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(Recording(folder), y_noisy)
    kept = ~clf.find_label_issues().is_label_issue.to_numpy()
    # (a class whose every row is flagged keeps its rows)
    kept |= np.isin(y_noisy, np.setdiff1d(y_noisy, y_noisy[kept]))
    assert recorder.in_refit and not kept.all()
    assert set(read) == set(np.flatnonzero(kept))


def test_a_grid_search_over_a_slice_dataset_scores_as_over_arrays(folder, arrays):
    X, _, y_noisy = arrays
    grid = {"mu": [0.1, 0.3]}
    on_files = GridSearchCV(make(), grid, cv=2).fit(SliceDataset(ImageFiles(folder)), y_noisy)
    on_arrays = GridSearchCV(make(), grid, cv=2).fit(X, y_noisy)
    np.testing.assert_allclose(on_files.cv_results_["mean_test_score"],
                               on_arrays.cv_results_["mean_test_score"])


class CountingTransform:
    def __init__(self, transform):
        self.transform, self.calls = transform, 0

    def __call__(self, img):
        self.calls += 1
        return self.transform(img)


def test_eval_transform_reads_the_held_out_rows_without_augmentation(folder):
    train_t, eval_t = CountingTransform(augment), CountingTransform(to_tensor)
    ds = ImageFiles(folder, transform=train_t)
    clf = make(max_epochs=3, eval_transform=eval_t).fit(ds)
    n_valid = int((~clf.train_mask_).sum())
    # (fit reads item 0 twice: its form, and the module's input shape)
    assert eval_t.calls == 3 * n_valid
    assert train_t.calls == 3 * (len(ds) - n_valid) + 2
    assert ds.transform is train_t  # the user's Dataset is left as it was

    class NoTransform(Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            return torch.zeros(3, 4, 4), i % 2

    with pytest.raises(TypeError, match="`transform` attribute"):
        make(eval_transform=to_tensor).fit(NoTransform())


def test_a_validation_dataset_of_the_users_own_is_scored_on_its_labels(folder):
    valid = ImageFiles(folder)
    clf = make(max_epochs=3, train_split=predefined_split(valid)).fit(ImageFiles(folder))
    assert clf.train_mask_.all()
    assert clf.history[-1, "valid_acc"] == pytest.approx(clf.score(valid, valid.targets))


def test_predict_keeps_the_datasets_order_with_workers(folder, arrays):
    X, y, _ = arrays
    clf = make(iterator_valid__num_workers=2, iterator_valid__batch_size=7).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(ImagesOnly(folder)), clf.predict_proba(X))
    np.testing.assert_array_equal(clf.predict(ImageFiles(folder)), clf.predict(X))


def test_an_iterable_dataset_is_refused_with_what_to_do(arrays):
    class Stream(IterableDataset):
        def __iter__(self):
            yield torch.zeros(3, 4, 4), 0

    with pytest.raises(TypeError, match="map-style Dataset"):
        make().fit(Stream())


def test_items_that_are_not_pairs_and_labels_of_the_wrong_length(folder, arrays):
    _, y, _ = arrays
    with pytest.raises(TypeError, match=r"needs items \(x, label\)"):
        make().fit(ImagesOnly(folder))
    with pytest.raises(ValueError, match="y has 10 labels but the Dataset's targets has 90"):
        make().fit(ImageFiles(folder), y[:10])
    with pytest.raises(ValueError, match="90 rows in X, 10 labels"):
        make().fit(ImagesOnly(folder), y[:10])


class BreakAfter(Callback):
    """At the end of epoch ``epoch``, overwrite one file with garbage."""

    def __init__(self, path, epoch):
        self.path, self.epoch = path, epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            with open(self.path, "wb") as f:
                f.write(b"not an image")


@pytest.mark.parametrize("workers", [0, 2])
def test_a_file_that_fails_to_decode_names_itself_and_keeps_what_was_learnt(tmp_path, workers):
    folder = write_image_folder(tmp_path, n_per_class=10)
    ds = ImageFiles(folder)
    bad = 7
    clf = make(max_epochs=8, train_split=None, iterator_train__num_workers=workers,
               callbacks=[BreakAfter(ds.samples[bad][0], epoch=3)])
    before = set(multiprocessing.active_children())  # (earlier tests' may linger)
    with pytest.raises(DatasetReadError, match=rf"row {bad} of the Dataset \(file '.*0007.png'\)"
                       r"(.|\n)*stopped in epoch 4") as raised:
        clf.fit(ds)
    # the failed loader's workers are gone, though the traceback is still held
    # (as an interactive session holds the last one)
    assert raised.tb is not None and set(multiprocessing.active_children()) <= before
    # the reader's message first, also from a worker (not torch's "Caught ... in
    # DataLoader worker process 0" and its traceback)
    assert str(raised.value).startswith(f"reading row {bad} of the Dataset")
    assert clf.interrupted_  # (as after Ctrl-C, which the message compares it to)
    # usable: its report and refined labels are those of epoch 3, and it predicts
    assert len(clf.history) == 4 and "train_loss" in clf.history[-2]  # 3 done, 1 cut short
    assert len(clf.find_label_issues()) == len(ds)
    assert int(clf.refinement_state_.n_refinements) == 3 - 2 + 1
    good = Subset(ds, [i for i in range(len(ds)) if i != bad])
    assert clf.predict(good).shape == (len(ds) - 1,)


def test_an_image_of_another_size_names_its_row_and_file(tmp_path):
    # torch's collate would say "stack expects each tensor to be equal size ...
    # at entry 8": a position in the batch, not the row or the file
    from PIL import Image

    folder = write_image_folder(tmp_path, n_per_class=10)
    odd = sorted((folder / "green").iterdir())[3]
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(odd)
    ds = ImageFiles(folder)
    row = [path for path, _ in ds.samples].index(str(odd))
    with pytest.raises(DatasetReadError, match=rf"row {row} of the Dataset \(file '.*0003.png'\) "
                       r"has x of shape \(3, 20, 20\), but the rows have shape \(3, 12, 12\)"
                       r".*resize"):
        make(max_epochs=2, train_split=None).fit(ds)
    good = Subset(ds, [i for i in range(len(ds)) if i != row])
    clf = make(max_epochs=1, train_split=None).fit(good)
    with pytest.raises(DatasetReadError, match=rf"row {row} of the Dataset .* has x of shape"):
        clf.predict(ds)


def test_score_reads_a_datasets_own_labels(folder):
    ds = ImageFiles(folder)
    clf = make(max_epochs=2, train_split=None).fit(ds)
    assert clf.score(ds) == clf.score(ds, ds.targets)
    # a fit given the class names: the Dataset's indices are read as those names
    names = np.asarray(ds.classes)[ds.targets]
    clf = make(max_epochs=2, train_split=None).fit(ds, names)
    assert clf.score(ds) == clf.score(ds, names)
    with pytest.raises(TypeError, match="score needs y"):
        clf.score(np.zeros((3, 3, 12, 12), np.float32))


def test_rows_of_several_lengths_padded_by_a_collate_of_ones_own_are_fine():
    # the shape check is for rows torch's default collate stacks
    class Ragged(Dataset):
        def __len__(self):
            return 40

        def __getitem__(self, i):
            return torch.full((3 + i % 6,), float(i % 2)), i % 2

    def pad(items):
        xs = torch.zeros(len(items), 8)
        for k, (x, _) in enumerate(items):
            xs[k, :len(x)] = x
        return xs, torch.as_tensor([label for _, label in items])

    clf = make(module=torch.nn.Linear, module__in_features=8, module__out_features=2,
               max_epochs=2, train_split=None, iterator_train__collate_fn=pad,
               iterator_valid__collate_fn=pad)
    assert clf.fit(Ragged()).predict(Ragged()).shape == (40,)


def test_a_file_unread_before_the_first_step_leaves_the_estimator_not_fitted(tmp_path):
    from PIL import Image
    from skorch.exceptions import NotInitializedError

    folder = write_image_folder(tmp_path, n_per_class=10)
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(sorted((folder / "red").iterdir())[0])
    clf = make(max_epochs=2, train_split=None, batch_size=64)
    good = Subset(ImageFiles(folder), [i for i in range(30) if i != 20])  # (red/0000 is 20)
    clf.fit(good)  # (a good fit: it must not survive)
    with pytest.raises(DatasetReadError, match="before its first step, so the estimator is "
                                               "not fitted"):
        clf.fit(ImageFiles(folder))
    with pytest.raises(NotInitializedError):
        clf.predict(good)


def test_a_dataset_that_changes_length_during_fit_is_refused(folder):
    class Growing(ImageFiles):
        def __len__(self):
            return len(self.samples)

    ds = Growing(folder)

    class Grow(Callback):
        def on_epoch_end(self, net, **kwargs):
            ds.samples.append(ds.samples[0])

    with pytest.raises(ValueError, match="had 90 items at the start of fit and now has 91"):
        make(max_epochs=3, train_split=None, callbacks=[Grow()]).fit(ds)


def test_a_dataset_fit_does_not_modify_the_dataset(folder):
    ds = ImageFiles(folder, transform=augment)
    before = copy.deepcopy(ds.__dict__)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        make(rounds=2, max_epochs=6, eval_transform=to_tensor).fit(ds)
    assert ds.__dict__ == before


def test_eval_transform_with_arrays_and_a_default_module_without_tensors_are_refused(
        folder, arrays):
    X, y, _ = arrays
    with pytest.raises(TypeError, match="eval_transform applies to a torch Dataset"):
        make(eval_transform=to_tensor).fit(X, y)
    as_lists = ImageFiles(folder, transform=lambda img: np.asarray(img).tolist())
    with pytest.raises(TypeError,
                       match="module=None sizes a network .* of type list, has no shape"):
        make(module=None).fit(as_lists)


def test_a_file_that_fails_to_decode_at_predict_names_itself(tmp_path, arrays):
    X, y, _ = arrays
    folder = write_image_folder(tmp_path, n_per_class=4)
    ds = ImageFiles(folder)
    (tmp_path / "red" / "0002.png").write_bytes(b"broken")
    clf = make(max_epochs=1).fit(X, y)
    with pytest.raises(DatasetReadError, match=r"row 10 of the Dataset \(file '.*red/0002.png'"):
        clf.predict(ds)


def test_the_issues_snippet_runs_on_a_dataset_of_our_own(tmp_path):
    # docs/files.md's first snippet, line by line (MyPatches: ImageFiles;
    # MyBackbone: MeanColour; the CPU instead of "cuda")
    write_image_folder(tmp_path / "train", n_per_class=12)
    write_image_folder(tmp_path / "valid", n_per_class=4, seed=1)
    write_image_folder(tmp_path / "test", n_per_class=4, seed=2)
    train = ImageFiles(tmp_path / "train", transform=augment)
    valid = ImageFiles(tmp_path / "valid", transform=to_tensor)
    clf = NoisyNeuralNetClassifier(MeanColour, module__n_classes=3, device="cpu",
                                   iterator_train__num_workers=2,
                                   iterator_valid__num_workers=2,
                                   train_split=predefined_split(valid),
                                   max_epochs=6, warm_up=2, lr=0.05, batch_size=8,
                                   optimizer=torch.optim.Adam, verbose=0, random_state=0)
    clf.fit(train)
    report = clf.find_label_issues()
    assert len(report) == len(train) and report.path.str.endswith(".png").all()
    flagged = report[report.is_label_issue].path
    assert set(flagged) <= {path for path, _ in train.samples}
    test = ImageFiles(tmp_path / "test", transform=to_tensor)
    assert (clf.predict(test) == np.array(test.targets)).mean() > 1 / 3  # above chance
    y = np.array(train.targets)
    search = GridSearchCV(clf, {"mu": [0.1, 0.2], "gamma": [1, 2]}, cv=3)
    search.fit(SliceDataset(train), y)
    assert len(search.cv_results_["mean_test_score"]) == 4


def test_a_validation_dataset_of_class_indices_fits_labels_given_as_names(folder):
    # ImageFolder's targets index into its classes; training labels given as names
    train, valid = ImagesOnly(folder), ImageFiles(folder)
    names = np.array(valid.classes)[valid.targets]
    clf = make(max_epochs=3, train_split=predefined_split(valid)).fit(train, names)
    assert list(clf.classes_) == sorted(valid.classes)
    assert clf.history[-1, "valid_acc"] == pytest.approx(clf.score(valid, names))
    with pytest.raises(ValueError, match=r"validation Dataset's labels include \['purple'\]"):
        make(max_epochs=1, train_split=predefined_split(UnknownNoTargets(folder))).fit(
            train, names)


class UnknownNoTargets(NoTargets):
    def __getitem__(self, i):
        return super().__getitem__(i)[0], "purple"


def test_a_skorch_validation_dataset_of_class_indices_scores_string_labels(arrays):
    # (valid_acc compared the predicted names with the indices: a "Mix of label
    # input types" error before)
    from skorch.dataset import Dataset as SkorchDataset

    X, y, _ = arrays
    names = np.array(["blue", "green", "red"])[y]
    clf = make(max_epochs=3, train_split=predefined_split(SkorchDataset(X[::3], y[::3])))
    clf.fit(X, names)
    assert clf.history[-1, "valid_acc"] == pytest.approx(clf.score(X[::3], names[::3]))


def test_what_a_new_user_got_wrong_is_named(folder, arrays, tmp_path):
    # (from a trial as a new user: each was a numpy or torch traceback, or a
    # silent no-op, before)
    from sklearn.model_selection import cross_val_score

    _X, y, _ = arrays
    ds = ImageFiles(folder)
    with pytest.raises(TypeError, match="wrap the Dataset in skorch.helper.SliceDataset"):
        cross_val_score(make(max_epochs=1), ds, y, cv=2, error_score="raise")

    class Triples(ImageFiles):
        def __getitem__(self, i):
            return (*super().__getitem__(i), self.samples[i][0])

    with pytest.raises(TypeError, match="item 0 of the Dataset is a tuple of 3"):
        make().fit(Triples(folder), y)

    class OneHot(NoTargets):
        def __getitem__(self, i):
            x, c = super().__getitem__(i)
            return x, np.eye(3)[c]

    with pytest.raises(ValueError, match=r"labels read from the Dataset's items have shape "
                                         r"\(90, 3\).*argmax"):
        make().fit(OneHot(folder))
    with pytest.raises(TypeError, match="x is a PIL image"):
        make().fit(ImageFiles(folder, transform=None))
    clf = make(max_epochs=1).fit(ds)
    with pytest.raises(ValueError, match=r"x has shape \(3, 6, 6\), but this estimator was "
                                         r"fitted on rows of shape \(3, 12, 12\)"):
        clf.predict(ImageFiles(folder, transform=lambda img: to_tensor(img.resize((6, 6)))))
    with pytest.warns(UserWarning, match="eval_transform has no effect with train_split=None"):
        make(max_epochs=1, train_split=None, eval_transform=to_tensor).fit(ds)
    with pytest.warns(UserWarning, match="no effect on a validation Dataset of your own"):
        make(max_epochs=1, eval_transform=to_tensor, train_split=predefined_split(ds)).fit(ds)
    # a file that fails while the labels are read (no targets) names itself and the pass
    broken = write_image_folder(tmp_path / "broken", n_per_class=3)
    (broken / "blue" / "0001.png").write_bytes(b"broken")
    with pytest.raises(DatasetReadError, match=r"file '.*blue/0001.png'.*while reading the "
                                               r"labels"):
        make().fit(NoTargets(broken))
    # the report prints without a cast warning, its weights are float32
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = clf.find_label_issues()
        str(report)
    assert report.weight.dtype == np.float32 and clf.sample_weights_.dtype == np.float32


def test_paths_from_plain_path_lists_and_unrelated_path_attributes(folder):
    class PlainSamples(ImageFiles):
        def __init__(self, root):
            super().__init__(root)
            self.samples_with_class, self.samples = self.samples, [p for p, _ in self.samples]

        def __getitem__(self, i):
            path, c = self.samples_with_class[i]
            return to_tensor(__import__("PIL.Image").Image.open(path).convert("RGB")), c

    ds = PlainSamples(folder)
    assert list(make(max_epochs=1).fit(ds).find_label_issues().path) == ds.samples

    class UnrelatedPaths(ImageFiles):
        paths = ["/data/a", "/data/b"]  # noqa: RUF012 (not one per item: no path column)

    report = make(max_epochs=1).fit(UnrelatedPaths(folder)).find_label_issues()
    assert "path" in report and report.path.iloc[0].endswith("0000.png")  # (samples wins)

    class OnlyUnrelatedPaths(NoTargets):
        paths = ["/data/a", "/data/b"]  # noqa: RUF012

        def __init__(self, root):
            super().__init__(root)
            self.items, self.samples = self.samples, None

        def __getitem__(self, i):
            path, c = self.items[i]
            return to_tensor(__import__("PIL.Image").Image.open(path).convert("RGB")), c

        def __len__(self):
            return len(self.items)

    assert "path" not in make(max_epochs=1).fit(OnlyUnrelatedPaths(folder)).find_label_issues()


def test_a_file_that_fails_in_the_refit_is_a_dataset_read_error(tmp_path, arrays):
    folder = write_image_folder(tmp_path, n_per_class=10)
    ds = ImageFiles(folder)

    class BreakInRefit(Callback):
        def on_train_begin(self, net, **kwargs):
            if type(net).__name__.startswith("RefitNet"):
                with open(ds.samples[3][0], "wb") as f:
                    f.write(b"broken")

    clf = make(rounds=2, max_epochs=6, train_split=None, callbacks=[BreakInRefit()])
    with pytest.raises(DatasetReadError, match="rounds=2: the refit .* row 3 of the Dataset"):
        clf.fit(ds)


def test_review_findings_on_validation_datasets_and_weights(folder, arrays, tmp_path):
    from skorch.dataset import Dataset as SkorchDataset

    from noisyskl._state import RefinementState

    X, y, _ = arrays
    names = np.array(["blue", "green", "red"])[y]
    # a skorch validation Dataset whose y holds names, not class indices
    with pytest.raises(ValueError, match="y must hold class indices 0..2"):
        make(max_epochs=1, train_split=predefined_split(SkorchDataset(X[:9], names[:9]))).fit(
            X, names)
    # a validation ImageFolder with a class the training labels lack: named, not indexed
    extra = write_image_folder(tmp_path / "valid", n_per_class=2)
    (extra / "red").rename(extra / "purple")
    with pytest.raises(ValueError, match=r"labels include \['purple'\]"):
        make(max_epochs=1, train_split=predefined_split(ImageFiles(extra))).fit(
            ImagesOnly(folder), names)
    # a density weight past float16's range stays finite in the report's store
    state = RefinementState(np.zeros(2, dtype=int), 3)
    state.weight[:] = torch.tensor([79788.0, 1e-6])
    assert torch.isfinite(state.weight).all() and float(state.weight[0]) == pytest.approx(
        79788.0, rel=4e-3)


def test_items_of_one_are_their_x_as_tensor_dataset_gives_them():
    # torch's TensorDataset(X) gives (x,): read as x, with fit(dataset, y)
    from torch.utils.data import TensorDataset

    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    kw = dict(max_epochs=4, warm_up=2, random_state=0, verbose=0, lr=0.05,
              optimizer=torch.optim.Adam)
    alone = NoisyNeuralNetClassifier(**kw).fit(TensorDataset(torch.as_tensor(X)), y)
    pairs = NoisyNeuralNetClassifier(**kw).fit(TensorDataset(torch.as_tensor(X),
                                                             torch.as_tensor(y)))
    np.testing.assert_array_equal(alone.predict_proba(TensorDataset(torch.as_tensor(X))),
                                  pairs.predict_proba(X))
    with pytest.raises(TypeError, match="fit\\(dataset\\) without y needs items \\(x, label\\)"):
        NoisyNeuralNetClassifier(**kw).fit(TensorDataset(torch.as_tensor(X)))


def test_a_folder_of_other_classes_is_scored_by_class_name():
    # an ImageFolder-style Dataset numbers its own classes: test slides without
    # "mucosa" number stroma 0, which was read as the fit's mucosa (score 0.0
    # for a model right on every row)
    from torch.utils.data import Dataset

    from noisyskl import NoisyNeuralNetClassifier

    class Folder(Dataset):
        def __init__(self, classes, X, targets):
            self.classes, self.X, self.targets = classes, X, list(targets)

        def __len__(self):
            return len(self.X)

        def __getitem__(self, i):
            return self.X[i], self.targets[i]

    t = np.repeat([0, 1, 2], 40)
    X = torch.randn(120, 4, generator=torch.Generator().manual_seed(0)) + 3 * torch.eye(4)[t]
    train = Folder(["mucosa", "stroma", "tumour"], X, t)
    clf = NoisyNeuralNetClassifier(max_epochs=20, lr=0.1, rounds=1, verbose=0,
                                   random_state=0).fit(train)
    right = (clf.predict(train) == t).mean()
    assert right > 0.9
    test = Folder(["stroma", "tumour"], X[40:], t[40:] - 1)
    truth = np.array(train.classes)[clf.predict(test)] == np.array(test.classes)[test.targets]
    assert clf.score(test) == pytest.approx(truth.mean())
    other = Folder(["stroma", "necrosis"], X[40:], t[40:] - 1)
    with pytest.raises(ValueError, match=r"classes include \['necrosis'\]"):
        clf.score(other)
    # the same folder as a validation split: valid_acc by class name too
    from skorch.helper import predefined_split

    clf = NoisyNeuralNetClassifier(max_epochs=20, lr=0.1, rounds=1, verbose=0, random_state=0,
                                   train_split=predefined_split(test)).fit(train)
    assert clf.history[-1, "valid_acc"] == pytest.approx(clf.score(test)) and clf.score(test) > 0.9


def test_a_dataset_with_a_label_matrix_is_indexed_like_the_matrix():
    import pandas as pd
    from torch.utils.data import TensorDataset

    from noisyskl import NoisyNeuralNetClassifier

    X = torch.randn(90, 5, generator=torch.Generator().manual_seed(0))
    y = (X[:, 0] > 0).long().numpy()
    votes = pd.DataFrame({"dr_a": y, "dr_b": y}, index=[f"img{i}" for i in range(90)])
    clf = NoisyNeuralNetClassifier(max_epochs=4, warm_up=1, rounds=1, verbose=0,
                                   random_state=0).fit(TensorDataset(X), votes)
    assert clf.find_label_issues().index[:2].tolist() == ["img0", "img1"]


def test_an_empty_dataset_to_predict_and_an_empty_review_are_refused(tmp_path):
    from torch.utils.data import Subset, TensorDataset

    from noisyskl import NoisyNeuralNetClassifier, read_review

    X = torch.randn(40, 4, generator=torch.Generator().manual_seed(0))
    y = np.arange(40) % 2
    clf = NoisyNeuralNetClassifier(max_epochs=2, rounds=1, verbose=0).fit(X.numpy(), y)
    for empty in (TensorDataset(torch.zeros(0, 4)), Subset(TensorDataset(X), [])):
        with pytest.raises(ValueError, match="Dataset to predict on is empty"):
            clf.predict_proba(empty)
    (tmp_path / "r.csv").write_text("")
    with pytest.raises(ValueError, match="r.csv is empty, not a review CSV"):
        read_review(tmp_path / "r.csv", y)


def test_a_datasets_float64_items_are_cast_as_arrays_are():
    # np.load'ed images are float64; an array X is cast to float32, a Dataset's
    # items failed inside torch ("Input type (double) and bias type (float)")
    from torch.utils.data import Dataset

    from noisyskl import NoisyNeuralNetClassifier

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(48, 1, 8, 8)), np.arange(48) % 2

    class Doubles(Dataset):
        def __len__(self):
            return len(X)

        def __getitem__(self, i):
            return X[i], y[i]  # (float64 numpy)

    settings = dict(max_epochs=2, warm_up=1, verbose=0, random_state=0, rounds=1,
                    train_split=None)
    doubles = NoisyNeuralNetClassifier(**settings).fit(Doubles())
    floats = NoisyNeuralNetClassifier(**settings).fit(X.astype(np.float32), y)
    np.testing.assert_allclose(doubles.predict_proba(Doubles()),
                               floats.predict_proba(X.astype(np.float32)), atol=1e-5)


def test_missing_labels_in_a_datasets_targets_are_named_as_its_own():
    from torch.utils.data import Dataset

    from noisyskl import NoisyNeuralNetClassifier

    class Targets(Dataset):
        targets = [0, 1, 2, None] * 5  # (no y given: the Dataset's own labels)

        def __len__(self):
            return 20

        def __getitem__(self, i):
            return torch.zeros(3), self.targets[i]

    data = Targets()
    with pytest.raises(ValueError, match=r"The Dataset's targets \(or its items' labels\) "
                                         r"has 5 missing labels"):
        NoisyNeuralNetClassifier(max_epochs=1, rounds=1, verbose=0).fit(data)
