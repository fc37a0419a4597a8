"""Whole-training-set gradient density, kept up to date incrementally."""

import torch
from torch import nn

from . import _functional as Fn
from ._state import ResizingLoadMixin

__all__ = ["GradientDensity", "bin_dtype"]


def bin_dtype(bins):
    """The smallest integer dtype that holds bin numbers 0..``bins`` (the
    spare bin included): one byte a row for up to 255 bins."""
    return torch.uint8 if bins <= 255 else torch.int16 if bins < 2**15 else torch.int32


class GradientDensity(ResizingLoadMixin, nn.Module):
    """The latest gradient norm of every training sample, with its histogram.

    The patent computes the density and sigma "over the sample set" (S140,
    [0101]-[0105]), not per mini-batch. This store keeps the latest ``g`` of
    each of the N samples, the bin counts ``R(b)`` and ``sum_j (g_j - mu)^2``,
    and updates them from each batch in O(batch) work: the batch's old values
    are taken out of the counts and the sum and its new ones put in. Nothing
    here passes over all N samples per batch, and nothing synchronises with
    the host, so it costs no extra CUDA syncs.

    Until every sample has been seen once, the density and sigma are those of
    the samples seen so far (we do not run the extra inference pass that S110
    literally describes). :meth:`resync` recomputes the counts and the sum
    from the stored values in O(N); the estimator calls it once per epoch so
    that float rounding cannot accumulate.

    Parameters
    ----------
    n_samples : int
        N, the number of rows of the training set (sample indices run over
        ``range(n_samples)``).
    bins : int
        B, the number of equal bins of [0, 1].
    mu : float
        Centre used for ``sum_j (g_j - mu)^2``.
    track_counts : bool, default=True
        Keep the bin counts up to date on every update, as the density weight
        alpha needs. With False (a weighting without alpha), an update only
        keeps ``g`` and the sum for sigma, about half the operations per
        batch, and :attr:`counts` is recomputed from the stored norms, O(N),
        when read. The numbers are the same either way.

    Attributes
    ----------
    g : Tensor of shape (n_samples,)
        Latest gradient norm of each sample; -1 for samples not seen yet.
    counts : LongTensor of shape (bins,)
        Number of seen samples per bin.
    sum_sq : float64 scalar Tensor
        ``sum_j (g_j - mu)^2`` over the seen samples.
    n_seen : LongTensor scalar
        Number of samples seen at least once.

    An update costs about a dozen tensor operations on the batch (half that
    without ``track_counts``): the batch's old bins are kept per sample
    (``bin_of``, in the smallest integer type that holds them) and their old
    squared deviations recomputed from their stored norms, so that taking
    them out needs no search. Per sample that is 5 bytes (up to 255 bins).

    Notes
    -----
    Change ``bins`` or ``mu`` through :meth:`resync` (the estimator does),
    not by setting the attributes: the sum is kept for the current ``mu``.

    Each sample index may appear at most once per batch, as with PyTorch's
    sequential and random samplers (sampling with replacement would count a
    duplicated sample twice).
    """

    #: The per-row buffer a data-parallel fit sums across the processes, each
    #: row from the process that trained it, once an epoch (``World.sync_rows``);
    #: the counts and sum are all-reduced every batch (``update(reduce=...)``).
    synced_rows = ("g",)

    # class-level defaults, for stores pickled before these attributes existed
    track_counts = True
    _n_seen_fixed = None

    def __init__(self, n_samples, bins, mu, track_counts=True):
        super().__init__()
        self.bins = int(bins)
        self.mu = float(mu)
        self.track_counts = bool(track_counts)
        n_samples = int(n_samples)
        self.register_buffer("g", torch.full((n_samples,), -1.0))
        # Bin of each sample; bin ``bins`` is a spare one that holds the
        # samples not seen yet, so an update needs no "was it seen?" branch.
        self.register_buffer("bin_of", torch.full((n_samples,), self.bins,
                                                  dtype=bin_dtype(self.bins)))
        self.register_buffer("all_counts", torch.zeros(self.bins + 1, dtype=torch.long))
        self.all_counts[self.bins] = n_samples
        self.register_buffer("sum_sq", torch.zeros((), dtype=torch.float64))
        # The number of seen samples as an int, while it cannot change (set by
        # resync): then updates need not count newcomers. None: not known.
        self._n_seen_fixed = 0 if n_samples == 0 else None

    @property
    def n_samples(self):
        return self.g.shape[0]

    @property
    def counts(self):
        """LongTensor of shape (bins,): number of seen samples per bin."""
        if not self.track_counts:
            return Fn.bin_counts(self.g[self.g >= 0], self.bins)
        return self.all_counts[: self.bins]

    @property
    def n_seen(self):
        """LongTensor scalar: number of samples seen at least once."""
        return self.n_samples - self.all_counts[self.bins]

    def update(self, index, g, reduce=None):
        """Replace the stored norms of the samples ``index`` by ``g``.

        Parameters
        ----------
        index : LongTensor of shape (n,)
            Distinct sample indices in ``range(n_samples)``.
        g : Tensor of shape (n,)
            Their new gradient norms.
        reduce : callable or None, default=None
            In a data-parallel fit, sums a float64 tensor across the
            processes in place: the batch's changes to the counts and the sum
            (and its number of rows) are then those of every process's batch
            together, one all-reduce of ``bins + 3`` numbers (see
            ``noisyskl._distributed``). None: this process's alone.

        Returns
        -------
        float64 scalar Tensor
            The number of rows the update counted: ``len(index)``, or with
            ``reduce`` every process's batch's.

        Notes
        -----
        After ``resync(rows=...)``, ``index`` must hold only those rows (see
        :meth:`resync`): once they have all been seen, updates no longer
        check for samples seen for the first time.
        """
        g = Fn.as_dtype(g.detach(), self.g.dtype)
        # the batch's changes to the counts (with the spare bin of samples not
        # seen yet), the sum and the rows, summed with the other processes'
        # (reduce), then applied; in a data-parallel fit each process keeps
        # only its own rows' norms until the estimator gathers them at the
        # end of the epoch
        delta = torch.zeros(self.bins + 3, dtype=torch.float64, device=g.device)
        if self.track_counts:
            new_bins = Fn.bin_index(g, self.bins)
            ones = torch.ones_like(g, dtype=torch.float64)
            delta.index_add_(0, self.bin_of[index].long(), ones, alpha=-1)
            delta.index_add_(0, new_bins, ones)
            self.bin_of[index] = new_bins.to(self.bin_of.dtype)
        elif self._n_seen_fixed is None:
            delta[self.bins] = -(self.g[index] < 0).sum()
        delta[self.bins + 1] = (Fn.squared_deviation(g, self.mu)
                                - self._squared_deviation(self.g[index])).sum()
        delta[self.bins + 2] = len(index)
        if reduce is not None:
            reduce(delta)
        self.all_counts += delta[: self.bins + 1].round().long()
        # in place (no Module.__setattr__), through a 1-element view: under
        # torch.compile an in-place update of a 0-dim float64 buffer is lost
        # (torch 2.13), which would leave sigma at its floor
        self.sum_sq.view(1).add_(delta[self.bins + 1])
        self.g[index] = g
        return delta[self.bins + 2]

    def _squared_deviation(self, g):
        """``(g - mu)^2`` in float64 (exact for a float32 g), 0 for samples
        not seen yet: what each sample adds to ``sum_sq``. Recomputed from
        the stored norms rather than stored, 8 bytes a row fewer."""
        return torch.where(g >= 0, Fn.squared_deviation(g, self.mu), 0.0)

    def sigma(self, floor=Fn.SIGMA_FLOOR):
        """The patent's sigma over the seen samples (see ``gaussian_sigma``)."""
        n_seen = self.n_seen if self._n_seen_fixed is None else self._n_seen_fixed  # fewer ops
        return Fn.as_dtype(Fn.gaussian_sigma(self.sum_sq, n_seen, floor), self.g.dtype)

    def resync(self, bins=None, mu=None, rows=None):
        """Recompute the bins, counts and sum from the stored norms, O(N).

        Also the way to change ``bins`` or ``mu`` without losing the norms.

        Parameters
        ----------
        bins, mu : int, float or None
            New values; None keeps the current ones.
        rows : LongTensor of shape (m,) or None, default=None
            The only samples that :meth:`update` will be given until the next
            resync (the estimator passes its training rows). When all of
            them have been seen, the number of seen samples cannot change
            until then, so updates skip counting newcomers. None: any sample,
            so that holds only once every sample has been seen.
        """
        if bins is not None:
            self.bins = int(bins)
        if mu is not None:
            self.mu = float(mu)
        seen = self.g >= 0
        bin_of = torch.where(seen, Fn.bin_index(self.g.clamp(min=0.0), self.bins), self.bins)
        self.all_counts = torch.bincount(bin_of, minlength=self.bins + 1)
        self.bin_of = bin_of.to(bin_dtype(self.bins))
        self.sum_sq = self._squared_deviation(self.g).sum()
        upcoming_seen = seen.all() if rows is None else seen[rows].all()
        # once per epoch, the one host sync here
        n_seen, upcoming_seen = torch.stack([seen.sum(), upcoming_seen.long()]).tolist()
        self._n_seen_fixed = n_seen if upcoming_seen else None
        return self

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # a store saved before the squared deviations were recomputed had them
        state_dict.pop(prefix + "sq", None)
        incoming = state_dict.get(prefix + "bin_of")
        if incoming is not None:  # (int64 before), in the dtype of the saved bins
            bins = state_dict.get(prefix + "_extra_state", {}).get("bins", self.bins)
            self.bin_of = self.bin_of.to(bin_dtype(bins))
            state_dict[prefix + "bin_of"] = incoming.to(self.bin_of.dtype)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def get_extra_state(self):
        return {"bins": self.bins, "mu": self.mu, "track_counts": self.track_counts}

    def set_extra_state(self, state):
        # called after the buffers are loaded
        self.bins, self.mu = int(state["bins"]), float(state["mu"])
        self._n_seen_fixed = None  # unknown for the loaded norms until the next resync
        if not state.get("track_counts", True):
            self.resync()  # the saved counts may be stale

    def extra_repr(self):
        return (f"n_samples={self.n_samples}, bins={self.bins}, mu={self.mu}, "
                f"track_counts={self.track_counts}")
