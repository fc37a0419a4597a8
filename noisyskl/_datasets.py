"""Training on a torch Dataset of the user's own (image files and the like).

``fit(dataset)`` and ``fit(dataset, y)`` take any map-style
:class:`torch.utils.data.Dataset` whose items are ``(x, label)`` (or ``x``
alone when y is given), a :class:`~torch.utils.data.Subset` of one, or skorch's
:class:`~skorch.helper.SliceDataset` (what scikit-learn's cross-validation
slices). Nothing is copied: rows are read from the Dataset a batch at a time,
by the DataLoader's workers, and keep the Dataset's own index 0..n-1 as their
row number in the per-row state (``_data.IndexedRows`` carries it next to
each item). The pieces:

- :func:`as_source`: the Dataset the rows are read from (refusing an
  ``IterableDataset``, which has no stable row identity);
- :func:`dataset_labels`: the labels, from y, the Dataset's ``targets``, or
  one pass over its items;
- :func:`dataset_paths`: the file of each row, where the Dataset says;
- :class:`Items`: the rows as ``(x, target)``, naming the row and its file
  when reading one fails;
- :func:`with_transform`: the same rows through another transform (the
  estimator's ``eval_transform``, for held-out rows);
- :func:`training_rows` and :func:`rows_to_predict`: what ``fit`` and
  ``predict`` make of a Dataset.
"""

import copy
import sys
import traceback
import warnings

import numpy as np
import torch
from skorch.helper import SliceDataset
from torch.utils.data import DataLoader, Dataset, IterableDataset, Subset

from ._annotators import fit_label_matrix, is_label_matrix
from ._fit_input import FitInput
from ._labels import as_label_array, check_labels, encode_labels, fit_classes

__all__ = [
    "DatasetReadError",
    "Items",
    "as_source",
    "dataset_labels",
    "dataset_paths",
    "first_x",
    "is_dataset_input",
    "keep_rows",
    "with_transform",
]

#: Attributes a Dataset may name its files by, in the order they are looked
#: for: torchvision's ``DatasetFolder``/``ImageFolder`` (``samples``, ``imgs``:
#: lists of ``(path, class)``), or a list of paths of the user's own.
PATH_ATTRIBUTES = ("samples", "imgs", "paths")


class DatasetReadError(RuntimeError):
    """Reading one row of a training or prediction Dataset failed.

    Raised for a file that does not decode (any error the Dataset's
    ``__getitem__`` raises) or an item that is not ``(x, label)``; the
    message names the row and, where the Dataset knows it, its file. In
    ``fit``, the estimator keeps what it had learnt, as after Ctrl-C (the
    message says what). Read in the main process, the original error is its
    ``__cause__``; read by a DataLoader worker, the worker's traceback is in
    the message.
    """


def release_loader(err):
    """Let go of the DataLoader iterator a read error left in ``err``'s
    traceback: its finished frames' locals are cleared, so its worker
    processes are shut down now, not whenever the traceback is freed (an
    interactive session keeps the last one; a later loader forked while
    the old workers lived printed "can only test a child process")."""
    traceback.clear_frames(err.__traceback__)
    return err


def stopped_reading(err, epoch, refit_skipped, trained=True):
    """The ``DatasetReadError`` that ``fit`` raises when a row failed to read
    in ``epoch`` (``err``, the reader's): what the estimator keeps (nothing,
    not ``trained``: a new fit stopped before its first step), and how to go
    on. ``err``'s loader workers are shut down (``release_loader``)."""
    release_loader(err)
    if not trained:
        return DatasetReadError(
            f"{reader_message(err)} Training stopped before its first step, so the estimator "
            "is not fitted; fix or remove the row and fit again.")
    return DatasetReadError(
        f"{reader_message(err)} Training stopped in epoch {epoch}; as after Ctrl-C, the "
        "estimator keeps what it learnt (refined_labels_ and find_label_issues() as of the "
        "last completed epoch, the model with the steps taken so far) and predicts; fix or "
        "remove the row and fit again, or partial_fit to continue."
        + (" The rounds=2 refit did not run." if refit_skipped else ""))


def reader_message(err):
    """``err``'s message as the reader wrote it: a DataLoader worker's copy
    starts with torch's "Caught DatasetReadError in DataLoader worker process
    0. Original Traceback ..." and ends with the reader's message."""
    text = str(err)
    marker = f"{DatasetReadError.__name__}: "
    if text.startswith("Caught ") and marker in text:
        return text.rsplit(marker, 1)[1].strip()
    return text


def is_dataset_input(X):
    """Whether ``X`` is a torch Dataset or skorch's ``SliceDataset`` of one."""
    return isinstance(X, (Dataset, SliceDataset))


class SliceItems(Dataset):
    """A ``SliceDataset`` as a torch Dataset: its items (``x`` alone, as it
    selects them), in its order."""

    def __init__(self, sliced):
        self.sliced = sliced

    def __len__(self):
        return len(self.sliced)

    def __getitem__(self, i):
        return self.sliced[int(i)]


def as_source(X):
    """The map-style Dataset that rows are read from: ``X`` itself, or for a
    ``SliceDataset`` its selected items.

    Raises
    ------
    TypeError
        For an ``IterableDataset`` (no row has a stable identity across
        epochs), or a Dataset without ``__len__``.
    """
    if isinstance(X, SliceDataset):
        return SliceItems(X)
    if isinstance(X, IterableDataset):
        raise TypeError(
            f"X is an IterableDataset ({type(X).__name__}): its rows have no index, so the "
            "per-row state (each row's refined label, its report line) cannot follow them "
            "across epochs. Give a map-style Dataset (__getitem__(i) and __len__), e.g. one "
            "that reads the i-th file of a list of paths; a stream can be written to files "
            "or a numpy memory map first.")
    try:
        len(X)
    except TypeError as err:
        raise TypeError(f"X is a Dataset without __len__ ({type(X).__name__}); the per-row "
                        "state needs the number of rows: define __len__.") from err
    return X


def _layers(source):
    """``(dataset, rows)`` pairs from ``source`` down through Subsets and
    SliceDatasets: each dataset with the rows of it that ``source`` holds (an
    int array, or None for all of them)."""
    rows = None
    while True:
        yield source, rows
        if isinstance(source, SliceItems):
            index, source = np.asarray(source.sliced.indices_), source.sliced.dataset
        elif isinstance(source, Subset):
            index, source = np.asarray(source.indices), source.dataset
        else:
            return
        rows = index if rows is None else index[rows]


def _attribute(source, names):
    """``(name, values)``: the first of ``names`` that ``source`` or a
    dataset under it has, taken at the rows ``source`` holds; (None, None)."""
    for dataset, rows in _layers(source):
        for name in names:
            values = getattr(dataset, name, None)
            if values is None or isinstance(values, (str, bytes)):
                continue
            try:
                n = len(values)
            except TypeError:
                continue
            if n != len(dataset):
                raise ValueError(
                    f"{type(dataset).__name__}.{name} has {n} entries but the Dataset has "
                    f"{len(dataset)} items; they must be one per item, in item order.")
            if rows is not None:
                values = [values[int(i)] for i in rows]
            return name, values
    return None, None


def first_x(source, labelled):
    """The ``x`` of the first item (to size a default module)."""
    return Items(source, None, labelled, None)[0][0]


def item_is_pair(item):
    """Whether an item is ``(x, label)``: a tuple or list of two."""
    return isinstance(item, (tuple, list)) and len(item) == 2


def check_item(item, i, y_given):
    """Raise ``TypeError`` for an item that is neither ``(x, label)`` nor,
    with y given, an ``x``; return whether it is ``(x, label)``."""
    if isinstance(item, (tuple, list)) and len(item) != 2:
        raise TypeError(
            f"item {i} of the Dataset is a {type(item).__name__} of {len(item)}; items must "
            "be (x, label), or x alone (or (x,)) with fit(dataset, y). Return (x, label) from "
            "__getitem__ (several inputs: x as a dict of them).")
    if not y_given and not item_is_pair(item):
        raise TypeError(
            f"fit(dataset) without y needs items (x, label); item {i} is a "
            f"{type(item).__name__}. Return (x, label) from __getitem__, or pass the labels "
            "as fit(dataset, y).")
    return item_is_pair(item)


def check_x(x, need_shape):
    """Raise ``TypeError`` for an ``x`` the DataLoader cannot batch (a PIL
    image: no transform) or, with ``need_shape`` (``module=None``), one
    without a shape."""
    if type(x).__module__.split(".")[0] == "PIL":
        raise TypeError(
            f"The Dataset's x is a PIL image ({type(x).__name__}), which the DataLoader "
            "cannot batch; give the Dataset a transform that returns a tensor (e.g. "
            "torchvision's ToTensor, or torch.from_numpy(np.asarray(img)).permute(2, 0, 1)).")
    if need_shape and not hasattr(x, "shape"):
        raise TypeError(
            f"module=None sizes a network from the rows' shape, but the Dataset's x, of type "
            f"{type(x).__name__}, has no shape; give the Dataset a transform that returns a "
            "tensor (e.g. torchvision's ToTensor), or pass a module.")


def dataset_labels(source, y, verbose=0, loader_params=None):
    """The training labels of a Dataset, and whether its items are ``(x, label)``.

    Parameters
    ----------
    source : Dataset
        From :func:`as_source`.
    y : array-like or None
        The labels given to ``fit``; else the Dataset's ``targets`` (as
        torchvision's ``ImageFolder`` has); else one pass over the items.
    verbose : int
        With verbose, the pass over the items reports its progress.
    loader_params : dict or None
        DataLoader settings for that pass (the estimator passes its
        ``iterator_train__`` ``num_workers``, ``multiprocessing_context`` and
        ``worker_init_fn``).

    Returns
    -------
    y : ndarray of shape (n,) or None
        None when y was given (the caller checks it).
    labelled : bool
        Whether items are ``(x, label)``; with y, an item of two is read so.
    """
    n = len(source)
    if n == 0:
        raise ValueError("The training Dataset is empty (len 0).")
    labelled = check_item(Items(source, None, False, None).read(0), 0, y is not None)
    if y is not None:
        name, targets = _attribute(source, ("targets",))
        if targets is not None and len(targets) != len(y):
            raise ValueError(f"y has {len(y)} labels but the Dataset's {name} has "
                             f"{len(targets)}; give one label per item, in item order.")
        return None, labelled
    where, labels = "targets", _attribute(source, ("targets",))[1]
    if labels is None:
        where, labels = "items", _labels_by_reading(source, verbose, loader_params or {})
    labels = _label_array(labels)
    if labels.ndim != 1:
        raise ValueError(
            f"The labels read from the Dataset's {where} have shape {labels.shape}; give one "
            "class index or name per item (e.g. the argmax of a one-hot label), or pass y.")
    return labels, True


def class_names(source, labels):
    """``labels`` as the names in the Dataset's ``classes`` list, where they
    are class indices into it (as torchvision's ImageFolder's targets are);
    else None (also where ``classes`` is not a list of names: a count, a
    dict)."""
    _, names = _attribute_any(source, "classes")
    if not isinstance(names, (list, tuple, np.ndarray)) or np.ndim(names) != 1:
        return None
    labels = np.asarray(labels)
    if (labels.dtype.kind not in "iu" or not len(labels)
            or labels.min() < 0 or labels.max() >= len(names)):
        return None
    return np.asarray(names)[labels]


def names_of_classes(source, classes):
    """The Dataset's ``classes`` list as the names of a fit's ``classes``,
    where those are exactly its indices ``0..len(list)-1`` (a fit on its own
    ImageFolder-style labels); else None."""
    _, names = _attribute_any(source, "classes")
    classes = np.asarray(classes)
    if (not isinstance(names, (list, tuple, np.ndarray)) or np.ndim(names) != 1
            or len(names) != len(classes) or classes.dtype.kind not in "iu"
            or not (classes == np.arange(len(classes))).all()):
        return None
    return [str(n) for n in names]


def own_labels(source, classes, what, verbose=0, loader_params=None, fit_names=None):
    """A Dataset's own labels (its ``targets``, else its items' labels) in
    the form of a fit's ``classes``: its class indices as the names in its
    ``classes`` list where the fit's classes are those names, or as the
    indices of those names in ``fit_names`` (the training Dataset's
    ``classes`` list, where the fit's classes were its indices: a folder of
    another set of classes numbers them otherwise). Labels that are not among
    ``classes`` raise a ``ValueError`` naming ``what``."""
    labels, _ = dataset_labels(source, None, verbose, loader_params)
    labels = check_labels(labels, len(source), f"The {what}'s targets (or its items' labels)")
    names = class_names(source, labels)
    if fit_names is not None and names is not None:
        lookup = {str(n): i for i, n in enumerate(fit_names)}
        unknown = sorted({str(n) for n in names} - set(lookup))
        if unknown:
            raise ValueError(
                f"The {what}'s classes include {unknown[:5]}, which the training Dataset's "
                f"classes list ({list(fit_names)[:8]}) lacks; its labels cannot be compared "
                "with the model's. Score it on the classes it was trained on.")
        return np.array([lookup[str(n)] for n in names], dtype=np.int64)
    if names is not None and np.isin(names, classes).all():
        return names  # (class indices into its classes, the fit's labels being the names)
    if not np.isin(labels, classes).all():
        shown = labels if names is None else names
        unknown = np.setdiff1d(shown, classes)[:5].tolist()
        raise ValueError(
            f"The {what}'s labels include {unknown}, which are not among the classes of the "
            f"training labels ({classes[:8].tolist()}{' ...' if len(classes) > 8 else ''}). "
            "Give its labels in the same form as the training labels (names or class "
            "indices), or pass classes=[...] with every label.")
    return labels


def _attribute_any(source, name):
    """``(dataset, value)``: the first dataset at or under ``source`` with the
    attribute ``name`` (whatever its length); (None, None)."""
    for dataset, _ in _layers(source):
        value = getattr(dataset, name, None)
        if value is not None and not isinstance(value, (str, bytes)):
            return dataset, value
    return None, None


def _label_array(labels):
    labels = [v.item() if isinstance(v, (torch.Tensor, np.generic)) and np.ndim(v) == 0
              else v for v in labels]
    return np.asarray(labels)


def _label_of(item):
    return item[1]


def _collate_labels(items):
    return [_label_of(item) for item in items]


def _labels_by_reading(source, verbose, loader_params, batch_size=256):
    """Each item's label, by reading every item once (it decodes every file)."""
    n = len(source)
    if verbose:
        print(f"Reading the labels of the {n} items (the Dataset has no `targets`, so each "
              "item is read once; pass y, or give the Dataset a `targets` list, to skip "
              "this).", file=sys.stderr)
    items = Items(source, None, True, dataset_paths(source))
    loader = DataLoader(_ItemsAsIs(items), batch_size=batch_size, collate_fn=_collate_labels,
                        **loader_params)
    labels, step = [], max(n // 10, 1)
    try:
        for batch in loader:
            for value in batch:
                labels.append(value)
                if verbose and len(labels) % step == 0:
                    print(f"  labels read: {len(labels)}/{n}", file=sys.stderr)
    except DatasetReadError as err:
        raise DatasetReadError(f"{err} (while reading the labels: the Dataset has no "
                               "`targets`, so each item was read once before training)") from err
    return labels


class _ItemsAsIs(Dataset):
    def __init__(self, items):
        self.items = items

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items.read(i)


def dataset_paths(source):
    """The file of each row where the Dataset names them (``samples`` or
    ``imgs`` of ``(path, class)`` pairs or of paths, or ``paths``; one per
    item, else they are not used), as an object array of the Dataset's own
    strings (other path objects as strings); else None."""
    try:
        name, values = _attribute(source, PATH_ATTRIBUTES)
    except ValueError:  # (an attribute of that name that is not one path per item)
        return None
    if values is None:
        return None
    if name in ("samples", "imgs"):  # (path, class) pairs, or paths
        values = [v[0] if isinstance(v, (tuple, list)) else v for v in values]
    out = np.empty(len(values), dtype=object)
    out[:] = [str(v) if not isinstance(v, str) else v for v in values]
    return out


def with_transform(source, transform):
    """The same rows as ``source`` read through ``transform``: shallow copies
    down to the Dataset that reads them, whose ``transform`` is replaced (the
    user's Dataset is not modified)."""
    if isinstance(source, SliceItems):
        sliced = copy.copy(source.sliced)
        sliced.dataset = with_transform(sliced.dataset, transform)
        return SliceItems(sliced)
    if isinstance(source, Subset):
        return Subset(with_transform(source.dataset, transform), source.indices)
    if not hasattr(source, "transform"):
        raise TypeError(
            f"eval_transform needs a Dataset with a `transform` attribute that its "
            f"__getitem__ applies (as torchvision's datasets have); {type(source).__name__} "
            "has none. Add one, or pass train_split=predefined_split(<a Dataset without "
            "augmentation>) for the held-out rows.")
    twin = copy.copy(source)
    twin.transform = transform
    return twin


def keep_rows(source, rows):
    """The rows ``rows`` of a Dataset (what the ``rounds=2`` refit trains on),
    not copied."""
    return Subset(source, np.asarray(rows).tolist())


class Items(Dataset):
    """The rows of a Dataset as ``(x, target)``: the training rows with their
    class index, or rows to predict on with a placeholder.

    Reading a row that fails (a file that does not decode, an item that is
    not ``(x, label)``) raises :class:`DatasetReadError` naming the row and
    its file, where the Dataset knows it.

    Parameters
    ----------
    source : Dataset
    targets : ndarray of shape (n,), int64, or None
        Class indices (None: the rows are to predict on).
    labelled : bool
        Items are ``(x, label)``; their x is used.
    paths : ndarray of shape (n,) or None
        Each row's file, for the error message.
    shape : tuple or None, default=None
        The shape every x must have (the first item's): an x of another
        shape raises ``DatasetReadError`` naming its row and file, where the
        batch's collate would fail without naming either. None: unchecked.
    """

    def __init__(self, source, targets, labelled, paths, shape=None):
        self.source = source
        self.targets = targets
        self.labelled = labelled
        self.paths = paths
        self.shape = None if shape is None else tuple(shape)
        self.n_rows = len(source)

    @property
    def y(self):  # for skorch's stratified ValidSplit and scoring
        return self.targets

    def __len__(self):
        return self.n_rows

    def read(self, i):
        """Item ``i`` of the source, as it gives it; an item of one, ``(x,)``
        (torch's ``TensorDataset(X)``), as its ``x``."""
        try:
            item = self.source[i]
        except Exception as err:
            raise DatasetReadError(f"reading row {i} of the Dataset{self._where(i)} failed "
                                   f"with {type(err).__name__}: {err}") from err
        return item[0] if isinstance(item, (tuple, list)) and len(item) == 1 else item

    def _where(self, i):
        return f" (file {self.paths[i]!r})" if self.paths is not None else ""

    def __getitem__(self, i):
        item = self.read(i)
        if self.labelled:
            if not item_is_pair(item):
                raise DatasetReadError(
                    f"row {i} of the Dataset is a {type(item).__name__}, not (x, label) as "
                    "its first item was; every item must have the same form.")
            item = item[0]
        if (self.shape is not None and hasattr(item, "shape")
                and tuple(item.shape) != self.shape):
            raise DatasetReadError(
                f"row {i} of the Dataset{self._where(i)} has x of shape {tuple(item.shape)}, "
                f"but the rows have shape {self.shape} (its first item's, or what the "
                "estimator was fitted on): rows are stacked into batches, so "
                "every x must have the same shape; resize (or crop) the images to one size "
                "in the Dataset's transform.")
        if self.targets is None:
            return item, 0
        return item, self.targets[i]

    def check_length(self):
        """Raise when the source's length changed since these rows were made."""
        if len(self.source) != self.n_rows:
            raise ValueError(
                f"The training Dataset had {self.n_rows} items at the start of fit and "
                f"now has {len(self.source)}: the per-row state follows rows by index, so "
                "the Dataset must keep its items fixed during fit. Fit again after "
                "changing it.")


def training_rows(est, X, y, reset):
    """A torch Dataset's training rows for ``est.fit`` (an ``Items``, read a
    batch at a time) and their labels as class indices: y, else the
    Dataset's own, with what ``est`` learns of its input (classes, row
    shape, the files), as a ``FitInput``; sets nothing on ``est``."""

    source = as_source(X)
    found = annotations = None
    # (the report indexed as a label matrix's DataFrame, as with arrays)
    index = y.index if hasattr(y, "columns") and hasattr(y, "index") else None
    if is_label_matrix(y):  # several annotators: their top-voted class is the Dataset's label
        found, annotations, top_voted = fit_label_matrix(est, y, len(source), reset)
        y = found[top_voted]
    if y is not None:
        y = as_label_array(y)
    loader = {k: v for k, v in est.get_params_for("iterator_train").items()
              if k in ("num_workers", "multiprocessing_context", "worker_init_fn")}
    own = y is None  # (the Dataset's own labels: its classes list names them)
    labels, labelled = dataset_labels(source, y, est.verbose, loader)
    y = check_labels(labels if y is None else y, len(source),
                     "y" if y is not None else "The Dataset's targets (or its items' labels)")
    paths = dataset_paths(source)
    if est.eval_transform is not None:
        with_transform(source, est.eval_transform)  # (raises where it cannot apply)
    shape = None
    if reset:
        x = first_x(source, labelled)
        check_x(x, need_shape=est.module is None)
        shape = tuple(x.shape) if hasattr(x, "shape") else None
        if found is None:  # (a label matrix's classes are all its labels)
            found = fit_classes(y, est.classes)
    if est.eval_transform is not None and est.train_split is None:
        warnings.warn("eval_transform has no effect with train_split=None: no rows are held "
                      "out (prediction reads the Dataset it is given as it is).",
                      UserWarning, stacklevel=5)  # user -> fit -> _train -> _validate -> here
    y_idx = encode_labels(y, found if reset else est.classes_)
    # each x's shape, where the default collate stacks them (one of the user's may pad)
    every = (shape if reset else getattr(est, "input_shape_", None)) if stacks(
        est, "iterator_train") else None
    return FitInput(rows=Items(source, y_idx, labelled, paths, every), y_idx=y_idx,
                    classes=found if reset else None, annotations=annotations,
                    input_shape=shape, index=index, paths=paths, reset=reset,
                    from_dataset=True,
                    class_names=names_of_classes(source, found) if reset and own else None)


def rows_to_predict(est, X):
    """A Dataset to predict on as ``Items`` (x of each item, in its order),
    its first x checked against the rows ``est`` was fitted on."""
    source, paths = as_source(X), dataset_paths(X)
    if not len(source):  # (as sklearn's "Found array with 0 sample(s)")
        raise ValueError("The Dataset to predict on is empty (len 0): give it at least one "
                         "item.")
    first = Items(source, None, False, paths).read(0)
    labelled = item_is_pair(first)
    x = first[0] if labelled else first
    check_x(x, need_shape=False)
    if not (stacks(est, "iterator_valid") and hasattr(x, "shape")):
        return Items(source, None, labelled, paths)  # (a collate of the user's own may pad)
    shape = getattr(est, "input_shape_", None)
    if shape is not None and tuple(x.shape) != tuple(shape):
        raise ValueError(f"The Dataset's x has shape {tuple(x.shape)}, but this estimator "
                         f"was fitted on rows of shape {tuple(shape)}.")
    return Items(source, None, labelled, paths, tuple(x.shape))


def stacks(est, prefix):
    """Whether ``est``'s ``prefix`` iterator (``"iterator_train"`` or
    ``"iterator_valid"``) stacks the rows with torch's default collate, so
    that every x must have one shape (no ``collate_fn`` of the user's own,
    which may pad)."""
    return (getattr(est, prefix) is DataLoader
            and "collate_fn" not in est.get_params_for(prefix))
