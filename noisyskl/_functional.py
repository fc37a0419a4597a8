"""The method's formulas, each written once, as pure torch functions.

Nothing in this module keeps state or imports numpy, scikit-learn or skorch.
The notation follows ``SPEC.md`` and patent CN 112232407 A (paragraph numbers
in brackets): ``z`` logits, ``p = softmax(z)`` predicted probabilities, ``t``
the current training target (one-hot annotation ``e`` at the start, a soft
vector after refinement), ``g`` the gradient norm, ``B`` the number of bins.

All functions compute in float32 (or float64 when given float64), so that
float16/bfloat16 logits from mixed-precision models do not overflow.
"""

import math

import torch
import torch.nn.functional as F

from ._flags import (
    classes_flagged_away,
    confident_joint_issue_count,
    flag_label_issues,
    noise_corrected_accuracy,
    noise_corrected_recall,
    noise_transition,
    unlearnt_classes,
)
from ._semi import (
    MIXUP_ALPHA,
    SHARPEN_TEMPERATURE,
    UNLABELLED_WEIGHT,
    mix_rows,
    mixup_weight,
    semi_supervised_loss,
    sharpen,
)
from ._votes import (
    agrees,
    annotator_quality,
    log_odds,
    one_coin_accuracy,
    pairwise_agreement,
    reliability_weights,
    top_vote_mass,
    top_voted,
    vote_distribution,
    weighted_consensus,
)

__all__ = [
    "MIXUP_ALPHA",
    "REFINEMENT_FORMS",
    "SHARPEN_TEMPERATURE",
    "SIGMA_FLOOR",
    "UNLABELLED_WEIGHT",
    "WEIGHTINGS",
    "agrees",
    "annotator_quality",
    "as_soft_targets",
    "balanced_class_weights",
    "bin_counts",
    "bin_index",
    "classes_flagged_away",
    "confident_joint_issue_count",
    "density_weight",
    "flag_label_issues",
    "gaussian_sigma",
    "gaussian_weight",
    "gradient_norm",
    "label_cross_entropy",
    "log_odds",
    "mix_rows",
    "mixup_weight",
    "noise_corrected_accuracy",
    "noise_corrected_recall",
    "noise_transition",
    "one_coin_accuracy",
    "pairwise_agreement",
    "probabilities",
    "refine_targets",
    "reliability_weights",
    "sample_weights",
    "semi_supervised_loss",
    "sharpen",
    "soft_cross_entropy",
    "squared_deviation",
    "top_vote_mass",
    "top_voted",
    "unlearnt_classes",
    "vote_distribution",
    "weighted_consensus",
    "weighted_mean_loss",
]

#: Lower bound on the Gaussian's sigma. The patent's sigma (spread of g around
#: mu) is zero when every g equals mu, which would make beta infinite. With the
#: floor, beta never exceeds 1 / (0.05 * sqrt(2 pi)) ~= 7.98.
SIGMA_FLOOR = 0.05

#: Accepted values of the ``refinement`` option.
REFINEMENT_FORMS = ("convex", "printed")

#: Accepted values of the ``weighting`` option (``None`` means no weights).
WEIGHTINGS = ("both", "density", "gaussian")

#: The weightings that use the density weight alpha, so need the bin counts.
DENSITY_WEIGHTINGS = ("both", "density")


def compute_dtype(tensor):
    """The dtype the loss computes in: float64 for float64 input, else float32
    (half-precision logits are upcast)."""
    return tensor.dtype if tensor.dtype == torch.float64 else torch.float32


def as_dtype(tensor, dtype):
    """``tensor.to(dtype)``, skipped when it is one already (``to`` costs about a
    microsecond even then, and the criterion calls it about ten times a batch)."""
    return tensor if tensor.dtype == dtype else tensor.to(dtype)


def probabilities(logits):
    """``p = softmax(z)`` over the last dimension, in :func:`compute_dtype`
    (half-precision logits are upcast first, so they cannot overflow)."""
    return torch.softmax(as_dtype(logits, compute_dtype(logits)), dim=-1)


def label_cross_entropy(p_label):
    """``-log p``: the cross-entropy of a row whose label the model gave
    probability ``p`` (floored at 1e-12, so a zero gives 27.6, not inf)."""
    return -torch.log(p_label.clamp_min(1e-12))


def as_soft_targets(target, n_classes, dtype=torch.float32):
    """Return targets as probability-like rows.

    Parameters
    ----------
    target : Tensor of shape (n,) with integer class indices, or (n, C) floats
        Class indices are turned into one-hot rows; float rows are returned
        (cast to ``dtype``) unchanged.
    n_classes : int
        C, the number of classes.
    dtype : torch.dtype, default=torch.float32

    Returns
    -------
    Tensor of shape (n, C)
    """
    if target.dim() == 1:
        _check_index_target(target)
        return F.one_hot(target.long(), n_classes).to(dtype)
    return as_dtype(target, dtype)


def _check_index_target(target):
    if target.dtype.is_floating_point:
        raise TypeError(
            "1-D targets must be integer class indices; got dtype "
            f"{target.dtype}. Pass soft targets as an (n, C) array."
        )


def soft_cross_entropy(logits, target):
    """Per-sample cross-entropy against (soft) targets, from logits.

    ``l_i = -sum_c t_ic * log softmax(z_i)_c`` (S120, [0063]). Computed from the
    logits by :func:`torch.nn.functional.cross_entropy` (a fused
    log-softmax), so that it stays finite for extreme finite logits (+-1e4).
    Logits of -inf are not supported.

    Parameters
    ----------
    logits : Tensor of shape (n, C)
    target : Tensor of shape (n,) (class indices) or (n, C) (soft targets)

    Returns
    -------
    Tensor of shape (n,)
        Differentiable with respect to ``logits``.
    """
    dtype = compute_dtype(logits)
    if target.dim() == 1:
        _check_index_target(target)
        return F.cross_entropy(as_dtype(logits, dtype), target.long(), reduction="none")
    return F.cross_entropy(as_dtype(logits, dtype), as_dtype(target, dtype), reduction="none")


def gradient_norm(proba, target):
    """Total-variation size of the cross-entropy gradient, ``g`` (S130).

    The gradient of ``l_i`` with respect to the logits is ``p_i - t_i``
    ([0086]-[0099]); its size is ``g_i = 1/2 * sum_c |p_ic - t_ic|``, which
    lies in [0, 1]. For a one-hot target it equals ``1 - p_{i, y_i}``. The same
    function gives the refinement's disagreement ``h`` when ``target`` is the
    annotation.

    Parameters
    ----------
    proba : Tensor of shape (n, C)
        Predicted probabilities (rows sum to one).
    target : Tensor of shape (n,) (class indices) or (n, C) (soft targets)

    Returns
    -------
    Tensor of shape (n,), values in [0, 1], no gradient.
    """
    proba = proba.detach()
    t = as_soft_targets(target.detach(), proba.shape[-1], proba.dtype)
    return (0.5 * (proba - t).abs().sum(dim=-1)).clamp_(0.0, 1.0)


def bin_index(g, bins):
    """Bin of each ``g`` among ``bins`` equal bins of [0, 1] (S140, [0101]).

    ``g = 1`` falls in the last bin.

    Parameters
    ----------
    g : Tensor of shape (n,), values in [0, 1]
    bins : int
        B >= 1.

    Returns
    -------
    LongTensor of shape (n,), values in [0, B - 1]
    """
    return (g * bins).long().clamp_(0, bins - 1)


def bin_counts(g, bins):
    """Number of samples per bin, ``R(b)``, for a set of gradient norms.

    Parameters
    ----------
    g : Tensor of shape (n,)
    bins : int

    Returns
    -------
    LongTensor of shape (bins,)
    """
    return torch.bincount(bin_index(g, bins), minlength=bins)


def density_weight(g, counts, n_total):
    """The density weight ``alpha`` (S140-S150, [0102], [0104]).

    ``GD(g) = R(bin(g)) * B`` (the count divided by the bin width 1/B) and
    ``alpha = N / GD(g) = N / (B * R(bin(g)))``. Averaged over the N samples
    counted, alpha is (number of non-empty bins) / B <= 1.

    Parameters
    ----------
    g : Tensor of shape (n,)
        Gradient norms of the samples to weight.
    counts : LongTensor of shape (B,)
        Bin counts ``R`` of the reference set (the whole training set or the
        batch), which must include the samples in ``g``.
    n_total : int or scalar Tensor
        N, the number of samples counted in ``counts``.

    Returns
    -------
    Tensor of shape (n,)
    """
    bins = counts.shape[0]
    r = counts[bin_index(g, bins)].to(g.dtype).clamp_(min=1.0)
    return n_total / (bins * r)


def squared_deviation(g, mu):
    """``(g - mu)^2`` in float64, each sample's part of sigma's sum (exact for
    a float32 g up to the one rounding of the square).

    Parameters
    ----------
    g : Tensor of shape (n,)
    mu : float

    Returns
    -------
    Tensor of shape (n,), float64
    """
    return (g.double() - mu) ** 2


def gaussian_sigma(sum_sq, n_total, floor=SIGMA_FLOOR):
    """The patent's sigma: spread of g around mu, with a floor ([0105]).

    ``sigma = sqrt(sum_j (g_j - mu)^2 / (N - 1))``, floored at ``floor``.
    With N = 1 the denominator is taken as 1.

    Parameters
    ----------
    sum_sq : scalar Tensor
        ``sum_j (g_j - mu)^2`` over the N reference samples.
    n_total : int or scalar Tensor
        N.
    floor : float, default=SIGMA_FLOOR

    Returns
    -------
    scalar Tensor
    """
    sum_sq = torch.as_tensor(sum_sq)
    denom = (n_total - 1).clamp(min=1) if torch.is_tensor(n_total) else max(n_total - 1, 1)
    return (sum_sq.clamp(min=0.0) / denom).sqrt_().clamp_(min=floor)


def gaussian_weight(g, mu, sigma):
    """The Gaussian weight ``beta`` (S150, [0105]).

    ``beta = exp(-(g - mu)^2 / (2 sigma^2)) / (sigma * sqrt(2 pi))``, the
    normal density at g centred on mu.

    Parameters
    ----------
    g : Tensor of shape (n,)
    mu : float
        The "gradient learning centre", in [0, 1].
    sigma : float or scalar Tensor
        Positive; see :func:`gaussian_sigma`.

    Returns
    -------
    Tensor of shape (n,)
    """
    if not torch.is_tensor(sigma):
        sigma = torch.tensor(sigma, dtype=g.dtype, device=g.device)
    return torch.exp((g - mu).square_().div_(-2.0 * sigma.square())).div_(
        sigma * math.sqrt(2.0 * math.pi))


def sample_weights(g, counts, n_total, mu, sigma, weighting="both", normalize=None):
    """Per-sample loss weights ``alpha * beta`` or one of its factors.

    Parameters
    ----------
    g : Tensor of shape (n,)
    counts : LongTensor of shape (B,)
        Bin counts of the reference set (see :func:`density_weight`).
    n_total : int or scalar Tensor
        Number of samples in the reference set.
    mu : float
    sigma : scalar Tensor
    weighting : {"both", "density", "gaussian"} or None, default="both"
        Which factors to use; None gives weights of one (plain cross-entropy
        on the current targets).
    normalize : {None, "mean"}, default=None
        ``"mean"`` rescales the weights of the batch to mean one, which keeps
        the loss on the scale of plain cross-entropy while sigma and the bin
        counts move. Not in the patent.

    Returns
    -------
    Tensor of shape (n,), non-negative, no gradient.
    """
    if weighting is None:
        w = torch.ones_like(g)
    elif weighting == "both":
        w = density_weight(g, counts, n_total) * gaussian_weight(g, mu, sigma)
    elif weighting == "density":
        w = density_weight(g, counts, n_total)
    elif weighting == "gaussian":
        w = gaussian_weight(g, mu, sigma)
    else:
        raise ValueError(f"weighting must be one of {WEIGHTINGS} or None; got {weighting!r}.")
    if normalize == "mean":
        # A batch whose weights all underflow stays at zero rather than 0/0.
        w = w / w.mean().clamp(min=torch.finfo(w.dtype).tiny)
    elif normalize is not None:
        raise ValueError(f"normalize must be None or 'mean'; got {normalize!r}.")
    return w.detach()


def balanced_class_weights(y_idx, n_classes):
    """scikit-learn's ``"balanced"`` class weights: ``n / (n_classes * count)``,
    computed in float64 and returned as float32; 1 for a class without rows.

    Parameters
    ----------
    y_idx : Tensor of shape (n,), int
        Class indices.
    n_classes : int

    Returns
    -------
    Tensor of shape (n_classes,), float32
    """
    counts = torch.bincount(y_idx.long(), minlength=n_classes).double()
    weights = len(y_idx) / (n_classes * counts.clamp(min=1))
    return torch.where(counts > 0, weights, 1.0).float()


def weighted_mean_loss(per_sample_loss, weights):
    """``L = (1/n) * sum_i w_i * l_i`` over the batch (S150, [0071], [0107]).

    Parameters
    ----------
    per_sample_loss : Tensor of shape (n,)
    weights : Tensor of shape (n,)
        Treated as constants.

    Returns
    -------
    scalar Tensor
    """
    return (weights.detach() * per_sample_loss).mean()


def refine_targets(proba, annotation, gamma, form="convex"):
    """Refined training targets (S170, [0075]-[0077], [0110]-[0112]).

    With ``h_i = 1/2 * sum_c |p_ic - e_ic| = 1 - p_{i, y_i}`` (the model's
    disagreement with the *annotation*, not with the current target: see
    SPEC.md, "Which g drives refinement") and ``r_i = h_i ** gamma``:

    - ``form="convex"`` (default): ``t_i = (1 - r_i) e_i + r_i p_i``, a convex
      mix of annotation and prediction; rows are probability vectors.
    - ``form="printed"``: ``t_i = (1 - r_i) e_i + r_i (p_i - e_i)``, the
      formula as printed in the patent. Its rows sum to ``1 - r_i`` and the
      annotated entry goes negative for large ``h`` (h = 0.9, gamma = 1 gives
      -0.71); offered only to reproduce the text literally.

    Parameters
    ----------
    proba : Tensor of shape (n, C)
        The model's predicted probabilities.
    annotation : Tensor of shape (n,) (class indices) or (n, C) (one-hot)
        The original annotations ``e``.
    gamma : float
        Exponent, > 0. Larger gamma refines only the samples the model
        disagrees with most.
    form : {"convex", "printed"}, default="convex"

    Returns
    -------
    Tensor of shape (n, C), no gradient.
    """
    proba = proba.detach()
    e = as_soft_targets(annotation, proba.shape[-1], proba.dtype)
    r = (gradient_norm(proba, e) ** gamma).unsqueeze(-1)
    if form == "convex":
        return (1.0 - r) * e + r * proba
    if form == "printed":
        return (1.0 - r) * e + r * (proba - e)
    raise ValueError(f"form must be one of {REFINEMENT_FORMS}; got {form!r}.")
