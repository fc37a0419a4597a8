"""The criterion: density- and Gaussian-weighted soft cross-entropy."""

import torch
from torch import nn

from . import _functional as Fn
from ._density import GradientDensity

__all__ = ["NoisyLabelLoss"]


class NoisyLabelLoss(nn.Module):
    """Cross-entropy weighted by gradient density and a Gaussian (S120-S150).

    ``L = (1/n) sum_i alpha_i beta_i l_i`` where ``l_i`` is the soft-target
    cross-entropy, ``alpha`` the density weight and ``beta`` the Gaussian
    weight of the sample's gradient norm ``g`` (see :mod:`noisyskl.functional`).
    Works in any PyTorch training loop::

        criterion = NoisyLabelLoss(bins=10, mu=0.1)
        loss = criterion(model(xb), yb)          # batch-level density
        loss.backward()

    Density and sigma come from one of two reference sets:

    - **the batch** (GHM-C style), when ``forward`` gets no ``sample_index``;
    - **the whole training set**, as the patent says, when the criterion was
      built with ``n_samples`` and ``forward`` gets the batch's sample indices:
      a :class:`~noisyskl.GradientDensity` keeps every sample's latest ``g``
      and is updated from each batch in training mode (``criterion.train()``);
      in eval mode it is read but not changed.

    Parameters
    ----------
    bins : int, default=10
        B, number of equal bins of [0, 1] for the density.
    mu : float, default=0.1
        Centre of the Gaussian weight, in [0, 1].
    weighting : {"both", "density", "gaussian"} or None, default="both"
        Which weights to apply; None is plain (soft-target) cross-entropy.
    weight_normalization : {None, "mean"}, default=None
        ``"mean"`` rescales each batch's weights to mean one (not in the patent).
    n_samples : int or None, default=None
        Size of the training set for the whole-set density; None for
        batch-level density only.
    sigma_floor : float, default=0.05
        Lower bound on sigma (see ``functional.SIGMA_FLOOR``).

    Attributes
    ----------
    last_proba : Tensor of shape (n, C)
        softmax of the last batch's logits (detached).
    density : GradientDensity or None
        The whole-set store, when ``n_samples`` was given.
    last_gradient_norm : Tensor of shape (n,)
        ``g`` of the last batch (against the targets it was given).
    last_weight : Tensor of shape (n,)
        The weights applied to the last batch.
    last_sigma : scalar Tensor
        sigma used for the last batch.
    last_batch_rows : float64 scalar Tensor or None
        Rows the whole-set density counted for the last training batch (every
        process's, with ``reduce``); None for the batch-level density.
    """

    def __init__(
        self,
        bins=10,
        mu=0.1,
        weighting="both",
        weight_normalization=None,
        n_samples=None,
        sigma_floor=Fn.SIGMA_FLOOR,
    ):
        super().__init__()
        self.bins = bins
        self.mu = mu
        self.weighting = weighting
        self.weight_normalization = weight_normalization
        self.sigma_floor = sigma_floor
        self.density = None if n_samples is None else self._new_density(n_samples)
        self.last_proba = None
        self.last_gradient_norm = None
        self.last_weight = None
        self.last_sigma = None
        self.last_batch_rows = None

    def _new_density(self, n_samples):
        # bin counts kept per batch only when the weighting reads them (alpha)
        return GradientDensity(n_samples, self.bins, self.mu,
                               track_counts=self.weighting in Fn.DENSITY_WEIGHTINGS)

    def reset_density(self, n_samples):
        """Start a fresh whole-set store for ``n_samples`` samples."""
        device = next(self.buffers(), torch.empty(0)).device
        self.density = self._new_density(n_samples).to(device)
        return self

    def start_training(self, n_samples, whole_set, resume):
        """The store for a training on ``n_samples`` rows: none (``whole_set``
        False: the batch-level density), the current one brought up to date
        with ``bins`` and ``mu`` (``resume``, when it has as many rows), or a
        fresh one."""
        if not whole_set:
            self.density = None
        elif resume and self.density is not None and self.density.n_samples == n_samples:
            self.density.resync(self.bins, self.mu)
        else:
            self.reset_density(n_samples)
        return self

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Load a state, creating or dropping the whole-set store to match it."""
        has_density = any(key.startswith("density.") for key in state_dict)
        if has_density and self.density is None:
            self.reset_density(0)
        elif not has_density:
            self.density = None
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    def forward(self, logits, target, sample_index=None, sample_weight=None, reduce=None):
        """Weighted mean loss of a batch.

        Parameters
        ----------
        logits : Tensor of shape (n, C)
            Raw model outputs (not probabilities).
        target : Tensor of shape (n,) (class indices) or (n, C) (soft targets)
        sample_index : LongTensor of shape (n,) or None
            Row of each sample in the training set, for the whole-set density.
        sample_weight : Tensor of shape (n,) or None
            Extra non-negative weights multiplied into the method's weights
            (e.g. class weights); not part of the patent.
        reduce : callable or None
            With ``sample_index``, in a data-parallel fit: sums the whole-set
            density's per-batch changes across the processes
            (:meth:`GradientDensity.update`); ``last_batch_rows`` is then the
            global batch's row count. None: this process alone.

        Returns
        -------
        scalar Tensor
        """
        if logits.dim() != 2:
            raise ValueError(f"logits must have shape (n, C); got {tuple(logits.shape)}.")
        n = logits.shape[0]
        if sample_index is not None:
            if self.density is None:
                raise ValueError(
                    "sample_index was given, but this criterion has no whole-set store, so "
                    "the density would silently be the batch's: build it with "
                    "NoisyLabelLoss(n_samples=N) (or call reset_density(N)), or leave "
                    "sample_index out for the batch-level density.")
            if sample_index.shape != (n,):
                raise ValueError(f"sample_index must have shape ({n},), one row number per "
                                 f"row of logits; got {tuple(sample_index.shape)}.")
        if sample_weight is not None and sample_weight.shape != (n,):
            raise ValueError(f"sample_weight must have shape ({n},), one weight per row of "
                             f"logits; got {tuple(sample_weight.shape)}.")
        dtype = Fn.compute_dtype(logits)
        z = Fn.as_dtype(logits, dtype)
        per_sample = Fn.soft_cross_entropy(z, target)
        proba = Fn.probabilities(z.detach())
        g = Fn.gradient_norm(proba, target)

        # only what the weighting reads: the bin counts for alpha
        need_counts = self.weighting in Fn.DENSITY_WEIGHTINGS
        counts = n_total = None
        rows = None
        if sample_index is None or self.density is None:
            if need_counts:
                counts, n_total = Fn.bin_counts(g, self.bins), g.shape[0]
            sum_sq = Fn.squared_deviation(g, self.mu).sum()
            sigma = Fn.gaussian_sigma(sum_sq, g.shape[0], self.sigma_floor).to(dtype)
        else:
            if self.training:
                rows = self.density.update(sample_index, g, reduce=reduce)
            if need_counts:
                counts, n_total = self.density.counts, self.density.n_seen
                if not self.training:
                    # Weights for samples the store does not count (e.g. a held-out
                    # batch): count them in their bins so every R(b) >= 1.
                    counts = counts + Fn.bin_counts(g, self.bins)
                    n_total = n_total + g.shape[0]
            sigma = Fn.as_dtype(self.density.sigma(self.sigma_floor), dtype)

        w = Fn.sample_weights(
            g, counts, n_total, self.mu, sigma, self.weighting, self.weight_normalization
        )
        if sample_weight is not None:
            w = w * sample_weight.detach().to(w.dtype)
        # plain attributes, set past nn.Module.__setattr__ (about 5 us each per batch)
        self.__dict__.update(last_proba=proba, last_gradient_norm=g, last_weight=w,
                             last_sigma=sigma, last_batch_rows=rows)
        return Fn.weighted_mean_loss(per_sample, w)

    def extra_repr(self):
        return (
            f"bins={self.bins}, mu={self.mu}, weighting={self.weighting!r}, "
            f"weight_normalization={self.weight_normalization!r}"
        )
