"""Data-parallel training: one whole-set state across a torch.distributed group.

When ``fit`` runs in every process of a ``torch.distributed`` process group
(launched with ``torchrun``; docs: "Scaling out"), the estimator trains as one
network on one training set:

- each process trains on its own share of every global batch
  (``ShardedBatches``: the same permutation of the training rows in every
  process, cut into global batches of ``batch_size`` rows per process), and
  the module is wrapped in PyTorch's ``DistributedDataParallel`` for the
  training steps only, so gradients are averaged as DDP does;
- the patent's whole-set bin counts and sigma's sum stay those of the whole
  set: each batch's changes to them are summed across the processes in one
  all-reduce of ``bins + 3`` numbers (``GradientDensity.update(reduce=...)``),
  O(batch) work and O(bins) traffic per batch;
- at the end of each epoch every process's rows of the per-row store
  (predictions, g, weights and the density's g) are summed into every
  process (``World.sync_rows``), before the targets are refined, so the
  refinement, the report and ``refined_labels_`` are the same everywhere;
- the module's buffers (batch norm's statistics) are rank 0's after each
  training pass, so every process validates and ends with the same model,
  and the history's ``train_loss`` is the global batches'
  (``World.sync_batch_losses``).

Nothing here knows the method's formulas; the estimator calls these hooks.
"""

import contextlib
import zlib
from typing import ClassVar

import numpy as np
import torch
from skorch import NeuralNetClassifier

from ._signals import noting_ctrl_c

__all__ = ["DistributedTrainingError", "ShardedBatches", "World", "data_parallel",
           "group_size", "world_of"]

#: How many rows of a global batch each process must get at least (batch
#: norm cannot train on one row): a last, short global batch with fewer rows
#: is trained as part of the batch before it.
MIN_ROWS_PER_PROCESS = 2

_PRIME = 2**31 - 1


class DistributedTrainingError(RuntimeError):
    """A collective operation failed: another process of the group stopped,
    or the group's timeout passed while waiting for one."""


def world_of(est):
    """The ``World`` of an estimator whose ``fit`` is running data-parallel, or None."""
    return est.__dict__.get("_world_")


def group_size(est):
    """The number of processes ``est`` would train with: the default process
    group's size under ``distributed="auto"``, else 1."""
    if getattr(est, "distributed", "auto") is False or not torch.distributed.is_available():
        return 1
    if not torch.distributed.is_initialized():
        return 1
    return torch.distributed.get_world_size()


class World:
    """The processes one ``fit`` trains with, and the collectives it uses.

    Parameters
    ----------
    device : str or torch.device
        Where the estimator trains (the collectives' tensors are put there).
    """

    def __init__(self, device):
        dist = torch.distributed
        self.rank, self.size = dist.get_rank(), dist.get_world_size()
        self.device = torch.device(device)
        self.ddp = None
        self.seed = 0
        self.trained = None  # (n,) bool: the rows this process trained this epoch
        self.bytes_per_epoch = 0  # payload of this module's collectives, this epoch

    def __reduce__(self):  # never pickled with a net or criterion (a Checkpoint's f_pickle)
        return (_no_world, ())

    # ----------------------------------------------------------- collectives
    def _run(self, what, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as err:  # a peer's exit or the group's timeout
            raise self._failed(what, err) from err

    def _failed(self, what, err):
        others = [rank for rank in range(self.size) if rank != self.rank]
        who = (f"The other process (process {others[0]})" if len(others) == 1
               else "Another process of the group")
        return DistributedTrainingError(
            f"Process {self.rank} of {self.size} could not {what} with the others "
            f"({type(err).__name__}: {err}). {who} most likely stopped, interrupted or "
            "with an error (its own message says which; torchrun prints it), or "
            "did not reach the same step within the process group's timeout "
            "(init_process_group(timeout=...)): a callback that stopped training in some "
            "processes only (EarlyStopping on a score of their own rows), or fit called "
            "in some processes only (to fit in one process, pass distributed=False). "
            "Every process must call fit with the same data and settings.")

    def sum_(self, tensor):
        """Sum ``tensor`` across the processes, in place (the result is the same
        in every process); returns it."""
        self.bytes_per_epoch += tensor.numel() * tensor.element_size()
        self._run("sum a tensor", torch.distributed.all_reduce, tensor)
        return tensor

    def broadcast_(self, tensor):
        """Rank 0's ``tensor`` in every process, in place."""
        self.bytes_per_epoch += tensor.numel() * tensor.element_size()
        self._run("receive rank 0's values", torch.distributed.broadcast, tensor, 0)
        return tensor

    def barrier(self):
        self._run("finish training", torch.distributed.barrier)

    def check_same(self, what, numbers, fix):
        """Raise a ``ValueError`` in every process when ``numbers`` (ints) differ
        between the processes."""
        values = torch.tensor([int(v) % 2**62 for v in numbers], dtype=torch.int64,
                              device=self.device)
        extremes = torch.cat([values, -values])  # (the maxima of v and -v: one all-reduce)
        self._run("compare " + what, torch.distributed.all_reduce, extremes,
                  op=torch.distributed.ReduceOp.MAX)
        if not torch.equal(extremes[: len(values)], -extremes[len(values):]):
            raise everywhere(ValueError(
                f"Data-parallel fit: the {what} differ between the {self.size} processes of "
                f"the group. {fix}"))

    # --------------------------------------------------------------- the state
    def global_batch_loss(self, loss, n_rows, total=None):
        """This process's batch ``loss`` (a mean over its ``n_rows``) times
        ``n_rows * size / total``, so that the mean of the processes' losses
        (what DDP's averaged gradients follow) is the global batch's mean; the
        factor is exactly 1.0 when every process has as many rows. ``total``
        (the global batch's rows) is summed here when not given."""
        if total is None:
            total = self.sum_(torch.tensor([float(n_rows)], dtype=torch.float64,
                                           device=self.device))[0]
        return loss * (n_rows * self.size / total).float()

    def sync_rows(self, owners, train_rows):
        """Make the per-row buffers that ``owners`` declare (``synced_rows``)
        the same in every process: each training row takes the values of the
        process that trained it this epoch, and every other row (held out)
        rank 0's. One all-reduce of the buffers' columns as float32: ``n * (C
        + 3)`` for the state's and the density's."""
        n = len(self.trained)
        owned = self.trained.clone()
        if self.rank == 0:
            held_out = torch.ones(n, dtype=torch.bool, device=owned.device)
            held_out[train_rows if train_rows is not None else slice(None)] = False
            owned |= held_out
        buffers = [(owner, name) for owner in owners for name in owner.synced_rows]
        columns = [getattr(owner, name).float().reshape(n, -1) for owner, name in buffers]
        rows = torch.where(owned[:, None], torch.cat(columns, dim=1), 0.0)
        self.sum_(rows)
        parts = rows.split([c.shape[1] for c in columns], dim=1)
        for (owner, name), part in zip(buffers, parts):  # (copies, not views into ``rows``)
            old = getattr(owner, name)
            setattr(owner, name, part.reshape(old.shape).to(old.dtype).clone())
        self.trained.zero_()

    def sync_batch_losses(self, history):
        """The epoch's training batches' losses and sizes in the history as the
        global batches': the processes' shares summed (each is its batch's
        mean scaled by its share, ``global_batch_loss``), so that ``train_loss``,
        and what monitors it (an ``LRScheduler``, ``EarlyStopping``), is the
        same in every process and as in one. One all-reduce per epoch."""
        batches = [b for b in history[-1]["batches"] if "train_loss" in b]
        if not batches:
            return
        values = torch.tensor([[b["train_loss"], b["train_batch_size"]] for b in batches],
                              dtype=torch.float64, device=self.device)
        for batch, (loss, size) in zip(batches, self.sum_(values).tolist()):
            batch["train_loss"], batch["train_batch_size"] = loss / self.size, int(size)

    def sync_buffers(self, module):
        """Rank 0's buffers (batch norm's running statistics) in every process:
        one broadcast per dtype."""
        by_dtype = {}
        for buffer in module.buffers():
            by_dtype.setdefault(buffer.dtype, []).append(buffer)
        for buffers in by_dtype.values():
            flat = self.broadcast_(torch.cat([b.data.reshape(-1) for b in buffers]))
            for buffer, values in zip(buffers, flat.split([b.numel() for b in buffers])):
                buffer.data.copy_(values.view_as(buffer))

    def take_bytes(self):
        """The payload this process's state collectives moved since the last call."""
        moved, self.bytes_per_epoch = self.bytes_per_epoch, 0
        return moved


def _from_collective(err):
    """Whether ``err`` is a failed collective operation (a peer's exit, a timeout)."""
    if isinstance(err, DistributedTrainingError):
        return False
    text = str(err)
    return isinstance(err, torch.distributed.DistError) or any(
        word in text for word in ("gloo", "NCCL", "Connection closed by peer"))


def _annotations_fingerprint(annotations):
    """A label matrix's votes or soft labels (a first round's), as integers."""
    if annotations is None:
        return [0, 0]
    votes, shares = annotations.votes, annotations.shares
    return [0 if votes is None else fingerprint(np.asarray(votes)),
            0 if shares is None else fingerprint(np.round(np.asarray(shares) * 2**20))]


def _settings_fingerprint(est):
    """The parameters that are numbers, strings or None (all but ``device``,
    ``verbose`` and the callbacks', which may differ per process), as one integer."""
    simple = (bool, int, float, str, type(None))
    params = sorted((k, repr(v)) for k, v in est.get_params(deep=False).items()
                    if isinstance(v, simple) and k not in ("device", "verbose")
                    and not k.startswith("callbacks"))
    return zlib.crc32(repr(params).encode())


def _loader_settings(est):
    """The training loader's batch size and shuffling, which must agree across processes."""
    kwargs = est.get_params_for("iterator_train")
    batch_size = kwargs.get("batch_size", est.batch_size)
    return [-2 if batch_size is None else batch_size, bool(kwargs.get("shuffle", False))]


def _reseed(seed, device):
    """Seed the CPU generator and, training on a GPU, that device's (what
    ``fork_rng`` in ``noisyskl._seeding`` restores), nothing else."""
    torch.default_generator.manual_seed(seed)
    if device.type == "cuda":
        torch.cuda.manual_seed(seed)  # (the current device, which fit's fork restores)


_EVERYWHERE = "_noisyskl_every_process"


def everywhere(err):
    """Mark ``err`` as raised alike in every process (a check of the data or
    settings), which gets no note naming one process."""
    setattr(err, _EVERYWHERE, True)
    return err


def _no_world():
    return None


def fingerprint(values):
    """An integer that changes when any of the integers ``values`` (an array)
    changes or moves (for comparing arrays between processes cheaply)."""
    values = np.asarray(values, dtype=np.int64).ravel() % _PRIME
    position = (np.arange(len(values), dtype=np.int64) % _PRIME) + 1
    return int(((values + 1) * position % _PRIME).sum())


class ShardedBatches:
    """Batch sampler: this process's share of every global batch of an epoch.

    Every process draws the same order of the ``n`` training rows (a
    permutation seeded by ``seed`` and the epoch, or ``range(n)`` without
    shuffling), cuts it into global batches of ``batch_size * size`` rows,
    and takes its part of each (the parts differ by at most one row). A last
    global batch too short to give each process ``MIN_ROWS_PER_PROCESS``
    rows is trained with the batch before it, so every process has as many
    batches, and every row is trained once per epoch by one process.

    Parameters
    ----------
    n : int
        Rows of the training dataset.
    batch_size : int
        Rows per process in a global batch.
    rank, size : int
        This process and the number of processes.
    seed : int
        The same in every process.
    epoch : callable
        Returns the current epoch number (read when an epoch's iteration begins).
    shuffle : bool
    """

    def __init__(self, n, batch_size, rank, size, seed, epoch, shuffle):
        if n < MIN_ROWS_PER_PROCESS * size:
            raise everywhere(ValueError(
                f"Data-parallel fit: {n} training rows cannot be shared among {size} "
                f"processes (at least {MIN_ROWS_PER_PROCESS} each); train with fewer "
                "processes or more rows."))
        self.n, self.batch_size, self.rank, self.size = n, int(batch_size), rank, size
        self.seed, self.epoch, self.shuffle = seed, epoch, shuffle

    def global_batches(self, epoch):
        """The epoch's global batches, as arrays of dataset positions."""
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed + epoch)
            order = torch.randperm(self.n, generator=generator).numpy()
        else:
            order = np.arange(self.n)
        step = self.batch_size * self.size
        batches = [order[i:i + step] for i in range(0, self.n, step)]
        if len(batches) > 1 and len(batches[-1]) < MIN_ROWS_PER_PROCESS * self.size:
            batches[-2:] = [np.concatenate(batches[-2:])]
        return batches

    def __iter__(self):
        for batch in self.global_batches(self.epoch()):
            yield np.array_split(batch, self.size)[self.rank].tolist()

    def __len__(self):
        return len(self.global_batches(0))


@contextlib.contextmanager
def data_parallel(est, y, annotations=None):
    """Within the block, ``est`` trains with the other processes of the
    default process group (when ``distributed="auto"`` finds one of more than
    one process); otherwise the block runs as it is.

    Wraps the module in ``DistributedDataParallel`` (kept in the ``World``,
    ``module_`` stays the plain module), draws one shuffling seed for all,
    checks that every process got the same labels (``y``; a label matrix's
    ``annotations``) and settings, and yields the ``World`` (None with one
    process), which the net keeps for its training hooks while the block
    runs (``NoisyNetBase._together``).
    """
    if group_size(est) == 1 or world_of(est) is not None:
        yield None
        return
    world = World(est.device)
    try:
        world.check_same(
            "labels or settings",
            [len(y), fingerprint(np.asarray(y)), *_annotations_fingerprint(annotations),
             fingerprint(np.asarray(est.always_trained_rows_ if est.always_trained_rows_
                                    is not None else [], dtype=np.uint8)),  # (a review's)
             len(est.classes_), len(est.history), *_loader_settings(est),
             _settings_fingerprint(est)],
            "Call fit with the same X, y and parameters in every process (all but device, "
            "verbose and callbacks; and the same number of earlier epochs, for partial_fit).")
        seed = torch.randint(2**62, (), dtype=torch.int64)  # drawn alike in every process
        world.seed = int(world.broadcast_(seed.to(world.device)))
        if world.rank > 0 and est.random_state is not None:  # (inside fit's fork of the RNG)
            # dropout etc. differ between the processes (rank 0 keeps its stream;
            # the others' follow from it, so they change with each call and the refit)
            _reseed(int(torch.randint(2**62, ())) + world.rank, world.device)
        world.ddp = world._run(  # (ddp__find_unused_parameters=True etc. pass through)
            "wrap the module in DistributedDataParallel",
            torch.nn.parallel.DistributedDataParallel, est.module_, **est.get_params_for("ddp"))
        world.trained = torch.zeros(len(y), dtype=torch.bool, device=world.device)
        world.take_bytes()
        yield world
    except Exception as err:
        if _from_collective(err):  # (DDP's gradient all-reduce, in a training step)
            raise world._failed("average the gradients", err) from err
        if not isinstance(err, DistributedTrainingError) and _EVERYWHERE not in vars(err):
            err.add_note(f"(In process {world.rank} of {world.size} of a data-parallel fit: "
                         "the other processes stop when this one exits, under torchrun, or "
                         "else after the process group's timeout.)")
        raise


def sharded_loader(est, world, dataset, kwargs, iterator, collate):
    """The training DataLoader of a data-parallel fit: ``iterator`` over
    ``dataset`` with a ``ShardedBatches`` batch sampler; ``collate`` (or None)
    as its ``collate_fn``."""
    for key in ("sampler", "batch_sampler"):
        if key in kwargs:
            raise everywhere(ValueError(
                f"iterator_train__{key} cannot be used in a data-parallel fit: each process "
                "trains on its share of every global batch, which the estimator draws "
                "itself (the same permutation in every process). Remove it; "
                "iterator_train__shuffle=False keeps the rows' order."))
    if kwargs.pop("drop_last", False):
        raise everywhere(ValueError(
            "iterator_train__drop_last cannot be used in a data-parallel fit: every training "
            "row is trained once an epoch (the per-row state needs it), and a last global "
            "batch too short to give each process 2 rows is trained with the batch before it. "
            "Remove it."))
    batch_size = kwargs.pop("batch_size", est.batch_size)
    if batch_size is None:
        raise everywhere(ValueError(
            "A data-parallel fit needs a batch_size (rows per process); got None."))
    if batch_size == -1:
        batch_size = -(-len(dataset) // world.size)
    sampler = ShardedBatches(len(dataset), batch_size, world.rank, world.size, world.seed,
                             lambda: len(est.history), kwargs.pop("shuffle", False))
    if collate is not None:
        kwargs["collate_fn"] = collate
    return iterator(dataset, batch_sampler=sampler, **kwargs)


class DataParallelMixin:
    """skorch's training hooks, for a fit inside ``data_parallel``: training
    steps through DDP, rank 0's buffers after each training pass,
    the same training rows in every process, checkpoints written by rank 0
    only. Mixed in before :class:`skorch.NeuralNetClassifier`; each hook is
    skorch's own outside a data-parallel fit. Arguments ``ddp__*`` (such as
    ``ddp__find_unused_parameters=True``) go to ``DistributedDataParallel``."""

    prefixes_: ClassVar[list] = [*NeuralNetClassifier.prefixes_, "ddp"]

    def train_step_single(self, batch, **fit_params):
        world = world_of(self)
        if world is None:
            return super().train_step_single(batch, **fit_params)
        plain = self.module_
        self.__dict__["module_"] = world.ddp  # (for skorch's infer; the same parameters)
        try:
            return super().train_step_single(batch, **fit_params)
        finally:
            self.__dict__["module_"] = plain

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """skorch's; a Ctrl-C (SIGINT) in a data-parallel fit raises a
        ``DistributedTrainingError`` in this process instead of ending its
        training cleanly (skorch's way), so that the process exits and the
        others, waiting for it in a collective, fail at once instead of at
        the group's timeout. (``EarlyStopping``'s stop, alike in every
        process, still ends training cleanly.)"""
        world = world_of(self)
        if world is None:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        with noting_ctrl_c() as note:
            try:
                return super().fit_loop(X, y, epochs=epochs, **fit_params)
            except KeyboardInterrupt:
                if not note["ctrl_c"]:
                    raise
                raise everywhere(DistributedTrainingError(
                    f"Process {world.rank} of {world.size} of a data-parallel fit was "
                    f"interrupted (Ctrl-C) in epoch {len(self.history)}; it stops so that the "
                    "others stop too (they fail at once, naming it). Start the fit again, "
                    "or resume from a checkpoint.")) from None

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)
        world = world_of(self)
        if world is not None and training:
            # after the training pass, before validation, the callbacks (the refit's
            # weight average, Checkpoint) and the end: every process the same model
            world.sync_buffers(self.module_)

    def notify(self, method_name, **cb_kwargs):
        world = world_of(self)
        if world is not None and method_name == "on_epoch_end":
            world.sync_batch_losses(self.history)  # (before the callbacks read train_loss)
        if world is not None and method_name == "on_train_end":
            world.barrier()  # (rank 0's last checkpoint is written before any loads it)
        return super().notify(method_name, **cb_kwargs)

    def get_split_datasets(self, X, y=None, **fit_params):
        dataset_train, dataset_valid = super().get_split_datasets(X, y, **fit_params)
        world = world_of(self)
        if world is not None:
            # the training rows, as positions in X
            positions = (np.asarray(dataset_train.indices)
                         if isinstance(dataset_train, torch.utils.data.Subset)
                         else np.arange(len(dataset_train)))
            world.check_same(
                "training rows", [len(positions), fingerprint(positions)],
                "train_split must hold out the same rows in every process: give a random "
                "split a seed (ValidSplit(0.2, random_state=0)) or use skorch's "
                "predefined_split.")
        return dataset_train, dataset_valid

    def save_params(self, *args, **kwargs):
        """skorch's ``save_params``; in a data-parallel fit (a ``Checkpoint``),
        rank 0 alone writes, as every process holds the same state."""
        world = world_of(self)
        if world is not None and world.rank != 0:
            return None
        return super().save_params(*args, **kwargs)

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_world_", None)
        return state
