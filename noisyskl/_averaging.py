"""The refit's weights after training: a running mean of its last epochs'
weights (:class:`WeightAverage`, ``average_refit``) and batch-norm statistics
computed again on the rows as they are (:func:`recompute_batch_norm`, after a
refit on mixed rows). Used by ``_refit``; neither knows the estimator.
"""

import torch
from skorch.dataset import get_len, unpack_data
from torch.optim.swa_utils import AveragedModel, get_swa_avg_fn

__all__ = ["WeightAverage", "recompute_batch_norm"]


class WeightAverage:
    """Running mean of a module's weights and buffers over the last third of
    ``max_epochs`` (the last ``max(max_epochs // 3, 1)``), with
    :class:`~torch.optim.swa_utils.AveragedModel`. A plain object, so skorch
    does not register it as a component."""

    def __init__(self, module, max_epochs):
        self.average = AveragedModel(module, use_buffers=True, avg_fn=_running_mean)
        self.after_epoch = max_epochs - max(max_epochs // 3, 1)

    def epoch_end(self, module, epoch):
        if epoch > self.after_epoch:
            self.average.update_parameters(module)

    def train_end(self, module):
        """Copy the average into ``module``, unless no epoch was averaged."""
        if int(self.average.n_averaged) > 0:
            module.load_state_dict(self.average.module.state_dict())


_swa_update = get_swa_avg_fn()


def _running_mean(averaged, current, n_averaged):
    """``avg_fn`` for :class:`~torch.optim.swa_utils.AveragedModel`: the running
    mean of floating-point weights and buffers (torch's own SWA update);
    an integer buffer (batch norm's ``num_batches_tracked``) is a counter, not
    averaged, so it keeps the current module's value.

    Passing it also keeps torch off its multi-tensor CUDA path, which fails on
    integer buffers."""
    if not (averaged.is_floating_point() or averaged.is_complex()):
        return current
    return _swa_update(averaged, current, n_averaged)


def recompute_batch_norm(net, dataset):
    """Compute the batch-norm running statistics of ``net.module_`` again from
    ``dataset``'s rows as they are.

    Each layer's mean and (unbiased) variance of its inputs over every row
    (and position), summed in float64 over one pass in training mode,
    without gradients. A refit on mixed rows has only seen mixtures, whose
    variance is lower. (Every row weighs the same, where
    :func:`torch.optim.swa_utils.update_bn` weighs every batch the same.)

    Parameters
    ----------
    net : RefitNet
        Initialised; its module is changed in place (running statistics
        only; each submodule's training mode is put back).
    dataset : torch Dataset
        The rows the refit trained on (``trained_rows_``), read through the
        net's prediction iterator.

    Nothing happens to a module without batch norm, or with fewer than two
    rows. With a ``BatchNorm1d`` layer, which refuses one row in training
    mode, a batch of one row is left out of the statistics (a layer that saw
    no row keeps the statistics it has).
    """
    layers = [m for m in net.module_.modules()
              if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    if not layers or len(dataset) < 2:
        return
    one_value = any(isinstance(m, torch.nn.BatchNorm1d) for m in layers)
    sums = {m: [0, 0.0, 0.0] for m in layers}  # rows, sum, sum of squares per channel

    def add(layer, args):
        x = args[0].detach().double()
        dims = [d for d in range(x.dim()) if d != 1]
        total = sums[layer]
        total[0] += x.numel() // x.shape[1]
        total[1] = total[1] + x.sum(dims)
        total[2] = total[2] + (x * x).sum(dims)

    handles = [m.register_forward_pre_hook(add) for m in layers]
    modes = [(m, m.training) for m in net.module_.modules()]
    net.module_.train()
    try:
        with torch.no_grad():
            for batch in net.get_iterator(dataset, training=False):
                Xi = unpack_data(batch)[0]
                if get_len(Xi) > 1 or not one_value:  # (BatchNorm1d refuses one row)
                    net.infer(Xi)
    finally:
        for handle in handles:
            handle.remove()
        for m, training in modes:
            m.training = training
    for m in layers:
        n, total, squares = sums[m]
        if n < 2:  # (every batch one row: the statistics the refit left stay)
            continue
        mean = total / n
        var = (squares / n - mean * mean).clamp_min(0) * (n / (n - 1))
        m.running_mean.copy_(mean.to(m.running_mean.dtype))
        m.running_var.copy_(var.to(m.running_var.dtype))
        m.num_batches_tracked.zero_()  # (statistics of one pass, as update_bn leaves them)
