"""The data path: how rows and their row numbers are stored, batched, held
out, kept for the ``rounds=2`` refit and fed to prediction.

Nothing here knows the method. The estimator keeps one state per training row
(``noisyskl._state.RefinementState``), so every training batch must say which
rows it holds: its features come as a dict ``{X_KEY: rows, INDEX_KEY: row
numbers}`` (the row numbers index the rows given to ``fit``, 0..n-1). The
pieces, in the order a fit meets them:

- ``RowsMixin``: the skorch override points (``get_dataset``,
  ``get_iterator``, ``get_split_datasets``, ``infer``, ...) that build the
  datasets below and the DataLoaders over them;
- ``IndexedDataset``: training rows of an array or tensor (or a ``KeptRows``
  of one) with their row numbers; ``IndexedRows``: the same over a
  ``dataset=`` of the user's own, read row by row;
- ``KeptRows``: rows of an array, not copied (what the refit trains on);
- ``WholeBatches``: hands the DataLoader a whole batch per fetch, with the
  same rows, order and tensors as collating row by row;
- ``RowsToPredict``: an array or tensor to predict on;
- ``WithRowNumbers``: a ``collate_fn`` of the user's own over the training rows;
- a torch Dataset of the user's own (``noisyskl._datasets.Items``) becomes
  training rows as an ``IndexedRows``; ``eval_view`` reads its held-out rows
  through ``eval_transform``, and ``RowsMixin._validation_items`` encodes the
  labels of a validation Dataset of the user's own.
"""

import warnings
from collections.abc import Mapping

import numpy as np
import torch
from skorch.dataset import Dataset
from skorch.utils import is_dataset, to_tensor
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler, Subset

from ._datasets import Items, as_source, own_labels, with_transform
from ._distributed import sharded_loader, world_of
from ._labels import encode_labels
from ._split import StratifiedHoldout, holdout_seed, keep_in_training

__all__ = [
    "INDEX_KEY",
    "KEPT_DTYPES",
    "X_KEY",
    "IndexedDataset",
    "IndexedRows",
    "KeptRows",
    "RowsMixin",
    "RowsToPredict",
    "WholeBatches",
    "WithRowNumbers",
    "as_float",
    "is_internal",
    "is_internal_dataset",
    "training_row_numbers",
    "unwrap_subset",
]

#: Keys of a training batch's features: the rows, and their row numbers.
X_KEY = "_noisyskl_X"
INDEX_KEY = "_noisyskl_sample_index"

#: Input dtypes kept as given (images, masks) and cast to float32 a batch at a
#: time: every value is exact in float32, and a uint8 image set stays a quarter
#: of its float32 size in memory.
KEPT_DTYPES = (np.uint8, np.int8, np.uint16, np.int16, np.bool_)


def as_float(rows):
    """A batch or row of integer or boolean values (a kept dtype) as float32;
    floats as they are."""
    if isinstance(rows, torch.Tensor):
        return rows if rows.is_floating_point() else rows.float()
    return rows if rows.dtype.kind == "f" else rows.astype(np.float32)  # numpy


def batch_rows(X, i):
    """Rows ``i`` (a LongTensor) of an array or tensor, as one contiguous
    tensor: the layout collating rows gives (a layout such as channels-last
    would send the convolutions down another, not bit-identical, path). An
    array is indexed as it is, never copied whole. Integer rows stay integer
    (``infer`` casts them on the device: a quarter of the copy for bytes)."""
    if isinstance(X, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(X[i.numpy()]))
    return X[i].contiguous()


class KeptRows:
    """Rows ``rows`` of an array, not copied: what the ``rounds=2`` refit
    trains on. Has the length, shape and indexing of those rows (as its labels
    have, for skorch and the callbacks); ``np.asarray`` copies them out."""

    def __init__(self, X, rows):
        self.source, self.rows = X, rows

    def __len__(self):
        return len(self.rows)

    @property
    def shape(self):
        return (len(self.rows), *self.source.shape[1:])

    def __getitem__(self, key):
        return self.source[self.rows[key]]

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.source[self.rows], dtype=dtype)


class IndexedDataset(Dataset):
    """Training rows that also carry their row number, for the per-sample stores.

    A skorch ``Dataset``, so that skorch's uncached scoring callbacks
    (``EpochScoring(use_caching=False)``) find its rows: ``X`` (the features)
    and ``y`` (the labels as given, which is what ``predict(X)`` returns). The
    batches hold the class indices, ``targets``.

    ``X`` may be a ``KeptRows``: the dataset then holds those rows of its
    source, numbered 0..m-1, read from the source a batch at a time.
    """

    def __init__(self, X, y, classes):  # pylint: disable=super-init-not-called
        X, rows = (X.source, X.rows) if isinstance(X, KeptRows) else (X, None)
        # never copied: an array torch cannot wrap (read-only, as a memory map or
        # a pandas copy-on-write view; or with negative strides, as X[::-1]) is
        # indexed as it is
        wrappable = X.flags.writeable and min(X.strides, default=0) >= 0
        self.features = torch.from_numpy(X) if wrappable else X
        self.rows = None if rows is None else torch.as_tensor(rows, dtype=torch.long)
        self.targets = torch.from_numpy(y)
        self.classes = classes

    @property
    def X(self):
        if self.rows is None:
            return self.features
        return np.asarray(self.features[self.rows.numpy()])  # the held rows, copied

    @property
    def y(self):
        return self.classes[self.targets.numpy()]

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, i):  # a row as skorch's Dataset gives it from arrays: numpy
        row = self.features[i if self.rows is None else int(self.rows[i])]
        return {X_KEY: as_float(np.asarray(row)), INDEX_KEY: i}, self.targets[i].numpy()

    def batch(self, i):
        """Rows ``i`` (a LongTensor), collated, for ``WholeBatches``."""
        rows = i if self.rows is None else self.rows[i]
        return {X_KEY: batch_rows(self.features, rows), INDEX_KEY: i}, self.targets[i]


class RowsToPredict(Dataset):
    """An array or tensor to predict on (no y), which ``WholeBatches`` hands
    to the DataLoader a whole batch at a time, as the training rows."""

    def __init__(self, X):  # pylint: disable=super-init-not-called
        self.X, self.y = X, None  # not copied: an array is indexed a batch at a time

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):  # as skorch's Dataset gives a row without y
        return as_float(self.X[i]), torch.Tensor([0])

    def batch(self, i):
        """Rows ``i`` (a LongTensor), collated, for ``WholeBatches``."""
        return batch_rows(self.X, i), torch.zeros(len(i), 1)


class IndexedRows(Dataset):
    """A dataset of the user's own (skorch's ``dataset=``, e.g. one that augments),
    whose rows also carry their row number; read row by row, so its
    ``__getitem__`` runs as in skorch. Like ``IndexedDataset``, it shows
    skorch's uncached scoring its ``X`` and the labels as given, where the
    user's dataset has ``X`` and ``y``."""

    def __init__(self, dataset, classes):  # pylint: disable=super-init-not-called
        self.dataset = dataset
        self.classes = classes

    @property
    def X(self):
        return self.dataset.X

    @property
    def y(self):
        return self.classes[np.asarray(self.dataset.y)]

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        Xi, yi = self.dataset[i]
        return {X_KEY: Xi, INDEX_KEY: i}, yi


class WholeBatches(torch.utils.data.Dataset):
    """An ``IndexedDataset`` (or a ``Subset`` of one) or ``RowsToPredict``
    that hands the DataLoader whole batches: one indexing per batch instead of
    a ``__getitem__`` per row and a collate. The batches hold the same rows in
    the same order, as the same tensors (dtypes and memory layout included),
    as the row-by-row path gives."""

    def __init__(self, dataset):
        self.source = dataset
        self.dataset, self.rows = unwrap_subset(dataset)

    def __len__(self):
        return len(self.source)

    def __getitems__(self, indices):
        i = torch.as_tensor(indices, dtype=torch.long)
        if self.rows is not None:
            i = self.rows[i]
        return self.dataset.batch(i)

    def __getitem__(self, i):  # one row, as the source gives it
        return self.source[i]


class FoldedBatches:
    """Batch sampler: the rows ``0..n-1`` in DataLoader's own order (a
    ``RandomSampler`` drawing from ``generator``, torch's global RNG when
    None, or in order), cut into batches of ``batch_size``, a last batch of
    one row trained with the batch before it (batch norm cannot train on one
    row, and the per-row state needs every row once an epoch)."""

    def __init__(self, n, batch_size, shuffle, generator=None):
        self.n, self.batch_size = n, int(batch_size)
        self.shuffle, self.generator = shuffle, generator

    def __iter__(self):
        rows = range(self.n)
        order = (RandomSampler(rows, generator=self.generator) if self.shuffle
                 else SequentialSampler(rows))
        batches = list(BatchSampler(order, self.batch_size, drop_last=False))
        if len(batches) > 1 and len(batches[-1]) == 1:
            batches[-2:] = [batches[-2] + batches[-1]]
        yield from batches

    def __len__(self):
        return max(self.n // self.batch_size, 1)


def batch_as_is(batch):
    """collate_fn for ``WholeBatches``: the batch is already collated."""
    return batch


class WithRowNumbers:
    """A ``collate_fn`` of the user's own, over the estimator's training rows:
    it gets the rows as ``(Xi, yi)``, as in skorch, and the row numbers are
    collated next to its batch."""

    def __init__(self, collate_fn):
        self.collate_fn = collate_fn

    def __call__(self, rows):
        index = torch.as_tensor([Xi[INDEX_KEY] for Xi, _ in rows])
        Xb, yb = self.collate_fn([(Xi[X_KEY], yi) for Xi, yi in rows])
        return {X_KEY: Xb, INDEX_KEY: index}, yb



def items_under(dataset):
    """``(items, rows)``: the ``Items`` under an ``IndexedRows`` (and Subsets)
    with the rows of it held, or ``(None, None)``."""
    dataset, outer = unwrap_subset(dataset)
    if not isinstance(dataset, IndexedRows):
        return None, None
    items, inner = unwrap_subset(dataset.dataset)
    if not isinstance(items, Items):
        return None, None
    return items, (outer if inner is None else inner if outer is None else inner[outer])


def check_length(dataset):
    """Raise when the Dataset under training rows changed length during fit."""
    items, _ = items_under(dataset)
    if items is not None:
        items.check_length()


def eval_view(dataset, transform, classes):
    """Held-out rows of a Dataset of the user's own, read through ``transform``
    (the estimator's ``eval_transform``), with the same row numbers; other
    held-out rows as they are."""
    base, outer = unwrap_subset(dataset)
    items, _ = items_under(base)
    if items is None:
        return dataset
    twin = Items(with_transform(items.source, transform), items.targets, items.labelled,
                 items.paths)
    inner = unwrap_subset(base.dataset)[1]
    twin = IndexedRows(twin if inner is None else Subset(twin, inner.tolist()), classes)
    return twin if outer is None else Subset(twin, outer.tolist())


def unwrap_subset(dataset):
    """``(dataset, rows)``: the dataset under a ``Subset`` (or a Subset of a
    Subset ...) and the rows of it that it holds, as a LongTensor; or
    ``(dataset, None)`` for a dataset that is not a Subset."""
    rows = None
    while isinstance(dataset, Subset):
        index = torch.as_tensor(np.asarray(dataset.indices), dtype=torch.long)
        rows = index if rows is None else index[rows]
        dataset = dataset.dataset
    return dataset, rows


def batch_row_numbers(X, device):
    """The row numbers (LongTensor on ``device``) a batch of the estimator's
    own carries, or None (a batch from elsewhere, e.g. a ``predefined_split``
    of the user's)."""
    if not is_internal(X):
        return None
    # the one copy per batch that plain skorch does not make: without
    # non_blocking, a CUDA copy from pageable memory waits for the forward
    return torch.as_tensor(X[INDEX_KEY]).to(device, non_blocking=True)


def training_row_numbers(dataset, device):
    """The row numbers (LongTensor on ``device``) of the training rows that
    ``dataset`` holds (one of the estimator's own, or a ``Subset`` of one); None
    for all rows."""
    rows = unwrap_subset(dataset)[1] if is_internal_dataset(dataset) else None
    return None if rows is None else rows.to(device)


def is_internal_dataset(X, types=(IndexedDataset, IndexedRows)):
    """Whether X (or the dataset under a ``Subset``) is one of the estimator's
    own training datasets, whose rows carry their row number and whose
    targets are class indices."""
    while isinstance(X, Subset):
        X = X.dataset
    return isinstance(X, types)


def is_internal(X):
    """Whether X is one of the estimator's own datasets or a batch of one:
    what skorch's scoring callbacks pass to ``predict`` during ``fit``, whose
    targets are class indices."""
    if isinstance(X, Mapping):
        return INDEX_KEY in X
    # (a validation Dataset of the user's own, its labels encoded: ``Items`` with targets)
    return is_internal_dataset(X) or (isinstance(X, Items) and X.targets is not None)


class RowsMixin:
    """skorch's data override points for a net that keeps one state per row.

    Training rows become an ``IndexedDataset`` (or ``IndexedRows`` over a
    ``dataset=`` of the user's own) whose batches carry their row numbers;
    rows to predict on become a ``RowsToPredict``; DataLoaders over either
    fetch whole batches where the batches come out the same. Mixed in before
    :class:`skorch.NeuralNetClassifier`; needs ``classes_``.
    """

    #: Rows a split must leave in training (bool, one a row, or None): a review's
    #: trusted rows (``read_review``; the refit's: of its kept rows).
    always_trained_rows_ = None

    def check_data(self, X, y):
        # the estimator checked the data and encoded the labels before fit_loop
        pass

    def get_split_datasets(self, X, y=None, **fit_params):
        if isinstance(self.train_split, StratifiedHoldout):
            if "holdout_seed_" not in self.__dict__:  # (drawn once a fit, not once a call)
                self.holdout_seed_ = holdout_seed(self.random_state, world_of(self))
            dataset_train, dataset_valid = self.train_split.split(
                self.get_dataset(X, y), y, self.holdout_seed_)
        else:
            dataset_train, dataset_valid = super().get_split_datasets(X, y, **fit_params)
        dataset_train, dataset_valid = keep_in_training(dataset_train, dataset_valid,
                                                        self.always_trained_rows_)
        if not is_internal_dataset(dataset_train):
            raise TypeError(
                f"train_split returned the training rows as {type(dataset_train).__name__}, "
                "neither the dataset it was given nor a torch Subset of it, so they have lost "
                "their row numbers, which the per-row state needs. Return the dataset or "
                "Subset(dataset, indices), as skorch's predefined_split and ValidSplit do.")
        if dataset_valid is not None and not is_internal_dataset(dataset_valid):
            if getattr(self, "eval_transform", None) is not None:
                warnings.warn("eval_transform has no effect on a validation Dataset of your own "
                              "(train_split=predefined_split(...)): it is read as given.",
                              UserWarning, stacklevel=2)
            dataset_valid = self._validation_items(dataset_valid)
        elif dataset_valid is not None and getattr(self, "eval_transform", None) is not None:
            dataset_valid = eval_view(dataset_valid, self.eval_transform, self.classes_)
        return dataset_train, dataset_valid

    def _validation_items(self, dataset):
        """A Dataset of the user's own as the held-out rows (``predefined_split``):
        its items ``(x, label)`` with the labels as class indices (a skorch
        ``Dataset`` of arrays: its ``y`` already holds them), scored by
        skorch's ``valid_acc`` against those indices."""
        if not isinstance(dataset, torch.utils.data.Dataset):
            return dataset
        if isinstance(dataset, Dataset):  # skorch's, of arrays: y holds class indices
            if dataset.y is None:
                return dataset
            targets = np.asarray(dataset.y)
            if targets.dtype.kind not in "iu":
                raise ValueError(
                    "The validation Dataset's y must hold class indices "
                    f"0..{len(self.classes_) - 1}"
                    f" (positions in classes_ = {self.classes_[:8].tolist()}); got "
                    f"{targets.dtype} values such as {targets.ravel()[:3].tolist()}. Encode "
                    "them, e.g. np.searchsorted(clf.classes_, y_valid) with classes=[...] set.")
            targets = targets.astype(np.int64)
            if targets.min() < 0 or targets.max() >= len(self.classes_):
                raise ValueError(
                    "The validation Dataset's y must hold class indices "
                    f"0..{len(self.classes_) - 1}"
                    f" (positions in classes_ = {self.classes_[:8].tolist()}); got values from "
                    f"{targets.min()} to {targets.max()}.")
            return Items(dataset, targets, True, None)

        source = as_source(dataset)
        labels = own_labels(source, self.classes_, "validation Dataset", self.verbose,
                            fit_names=getattr(self, "dataset_classes_", None))
        return Items(source, encode_labels(labels, self.classes_), True, None)  # ((x, label))

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        """Refuse a training Dataset whose length changed since fit began."""
        check_length(dataset_train)
        super().on_epoch_begin(net, dataset_train=dataset_train, dataset_valid=dataset_valid,
                               **kwargs)

    def get_params_for(self, prefix):
        params = super().get_params_for(prefix)
        if prefix == "iterator_train" and ("sampler" in params or "batch_sampler" in params):
            # the sampler decides the order; DataLoader refuses shuffle next to it
            params.pop("shuffle", None)
        n_rows = self.__dict__.get("_fold_last_")
        if prefix == "iterator_train" and n_rows:
            params["batch_sampler"] = FoldedBatches(
                n_rows, params.pop("batch_size", self.batch_size),
                params.pop("shuffle", False), params.get("generator"))
            params["batch_size"] = 1  # (DataLoader's default, which a batch sampler needs)
        return params

    def get_dataset(self, X, y=None):
        if is_internal_dataset(X, (Items,)):  # a Dataset of the user's own (or the refit's rows)
            return X if y is None else IndexedRows(X, self.classes_)
        default = self.dataset is Dataset and not self.get_params_for("dataset")
        if isinstance(X, KeptRows) and not default:
            X = np.asarray(X)  # a dataset of the user's own gets the refit's rows copied
        if isinstance(X, (np.ndarray, torch.Tensor)):
            if default and y is None:
                return RowsToPredict(X)  # prediction: rows fetched whole batches at a time
            if not default:
                X = as_float(X)  # a dataset of the user's own gets float32 rows, as before
        if y is None or is_dataset(X):
            return super().get_dataset(X, y)
        if default:
            # skorch's default: rows fetched whole batches at a time (X an array,
            # or the refit's KeptRows of one)
            return IndexedDataset(X, y, self.classes_)
        if not callable(self.dataset):
            # skorch would use it whatever X is: the refit would not drop the
            # flagged rows, and row numbers need not match X's
            raise TypeError(
                f"dataset must be a Dataset class, built from X and y at each fit; got an "
                f"instance, {self.dataset!r}. Pass its class, with dataset__<arg>=... for "
                "its other arguments.")
        return IndexedRows(super().get_dataset(X, y), self.classes_)

    def get_iterator(self, dataset, training=False):
        """skorch's iterator; over the training rows and the rows to predict on,
        one that fetches whole batches. Only the training rows get
        ``iterator_train`` (and its shuffling).

        Used when the iterator is torch's ``DataLoader`` with its default
        collate (no ``iterator_*__collate_fn``) and a batch size; the batches
        are the same as row by row, only cheaper to build.

        Over training rows that would leave a last batch of one row (which
        batch norm cannot train on; the count is set by the held-out rows or
        the refit's kept rows more often than by the user), that row is
        trained with the batch before it (``FoldedBatches``), so every row
        still trains once an epoch. Only with torch's ``DataLoader``, one
        process, and no ``sampler``, ``batch_sampler`` or ``drop_last`` of
        the user's own.
        """
        given = self.get_params_for("iterator_train") if training else {}
        batch_size = given.get("batch_size", self.batch_size)
        fold = (training and self.iterator_train is DataLoader
                and world_of(self) is None  # (several processes: ShardedBatches folds)
                and is_internal_dataset(dataset)
                and not {"sampler", "batch_sampler"} & set(given) and not given.get("drop_last")
                and batch_size is not None and batch_size > 1
                and len(dataset) > 1 and len(dataset) % batch_size == 1)
        self.__dict__["_fold_last_"] = len(dataset) if fold else None
        try:
            return self._iterator(dataset, training)
        finally:
            self.__dict__.pop("_fold_last_", None)

    def _iterator(self, dataset, training):
        if training and not is_internal_dataset(dataset):
            # a forward pass in training mode (forward(X, training=True), e.g. for
            # MC dropout) is not training: its outputs must keep X's order, so not
            # iterator_train, which shuffles by default here
            training = False
        prefix = "iterator_train" if training else "iterator_valid"
        kwargs = self.get_params_for(prefix)
        whole = (is_internal_dataset(dataset, (IndexedDataset, RowsToPredict))
                 and getattr(self, prefix) is DataLoader and "collate_fn" not in kwargs
                 and kwargs.get("batch_size", self.batch_size) is not None)
        world = world_of(self) if training else None
        if world is not None:  # a data-parallel fit: this process's share of each batch
            collate = (batch_as_is if whole else WithRowNumbers(kwargs["collate_fn"])
                       if "collate_fn" in kwargs else None)
            return sharded_loader(self, world, WholeBatches(dataset) if whole else dataset,
                                  kwargs, self.iterator_train, collate)
        if not whole:
            loader = super().get_iterator(dataset, training=training)
            if "collate_fn" in kwargs and is_internal_dataset(dataset):
                loader.collate_fn = WithRowNumbers(kwargs["collate_fn"])
            return loader
        loader = super().get_iterator(WholeBatches(dataset), training=training)
        loader.collate_fn = batch_as_is
        return loader

    def infer(self, x, **fit_params):
        """skorch's ``infer`` on a batch's rows (without their row numbers);
        integer rows are cast to float32 on the module's device, float64 rows
        (a Dataset's) to the module's floating dtype."""
        if isinstance(x, Mapping) and INDEX_KEY in x:
            x = x[X_KEY]
        if isinstance(x, torch.Tensor) and not x.is_floating_point():
            # a batch of bytes etc. (a kept dtype), cast where the module runs
            x = to_tensor(x, device=self.device).float()
        elif isinstance(x, torch.Tensor) and x.dtype == torch.float64:
            # a Dataset's float64 items (np.load'ed arrays), as arrays X are cast
            weight = next((p for p in self.module_.parameters() if p.is_floating_point()), None)
            if weight is not None and weight.dtype != torch.float64:
                x = x.to(weight.dtype)
        return super().infer(x, **fit_params)
