"""The flagged rows as unlabelled data in the refit (``flagged_rows="unlabelled"``).

Pure torch functions, re-exported by ``noisyskl.functional``. Instead of
leaving the rows the first round flagged out, the refit keeps them without
their annotations, as DivideMix (Li, Socher and Hoi, ICLR 2020) keeps the rows
it distrusts, with MixMatch (Berthelot et al., NeurIPS 2019) on each batch:

1. each unlabelled row's target is the refit's own prediction for it,
   sharpened (:func:`sharpen`, T = 0.5);
2. the batch is mixed with a shuffle of itself (:func:`mix_rows`), with the
   larger weight on each row's own (``lam = max(l, 1 - l)``, ``l ~ Beta(4, 4)``:
   :func:`mixup_weight`), targets alike;
3. :func:`semi_supervised_loss`: cross-entropy on the labelled positions,
   ``lambda_u`` times the squared error on the unlabelled ones, and a
   penalty on the batch's mean prediction straying from uniform.

Published settings (DivideMix, CIFAR-10): T 0.5, α 4; its ``lambda_u`` (0 to
150 by noise rate) was chosen on our blood-cell validation splits: 1
(``benchmarks/results/select_peer_knobs.md``).
"""

import functools

import torch
import torch.nn.functional as F

__all__ = ["MIXUP_ALPHA", "SHARPEN_TEMPERATURE", "UNLABELLED_WEIGHT", "mix_rows",
           "mixup_weight", "semi_supervised_loss", "sharpen"]

#: MixMatch's sharpening temperature (DivideMix's T).
SHARPEN_TEMPERATURE = 0.5

#: mixup's ``Beta(alpha, alpha)`` (DivideMix's α).
MIXUP_ALPHA = 4.0

#: Weight of the unlabelled rows' squared error (DivideMix's λ_u, chosen on
#: the blood-cell validation splits).
UNLABELLED_WEIGHT = 1.0


def sharpen(proba, temperature=SHARPEN_TEMPERATURE):
    """``p_c^(1/T) / sum_k p_k^(1/T)`` per row: MixMatch's sharpening.

    Parameters
    ----------
    proba : Tensor of shape (n, C)
        Rows of probabilities.
    temperature : float, default=0.5
        Below 1 sharpens, 1 leaves the rows as they are.

    Returns
    -------
    Tensor of shape (n, C)
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0; got {temperature}.")
    p = proba.double() ** (1.0 / temperature)  # (float64: 0.01^2 stays > 0 in float32 too)
    return (p / p.sum(1, keepdim=True)).to(proba.dtype)


def mixup_weight(alpha=MIXUP_ALPHA):
    """``max(l, 1 - l)`` with ``l ~ Beta(alpha, alpha)`` from torch's global
    generator: the weight of each row's own input in :func:`mix_rows`."""
    if not float(alpha) > 0:
        raise ValueError(f"alpha must be > 0; got {alpha}.")
    lam = float(_beta(float(alpha)).sample())
    return max(lam, 1.0 - lam)


@functools.lru_cache(maxsize=8)
def _beta(alpha):
    """``Beta(alpha, alpha)``, made once per alpha (making it, with its checks,
    cost four times the draw, once per training step)."""
    concentration = torch.tensor(alpha)
    return torch.distributions.Beta(concentration, concentration, validate_args=False)


def mix_rows(x, targets, lam, order):
    """``(lam x + (1 - lam) x[order], lam t + (1 - lam) t[order])``: mixup of a
    batch with a permutation of itself.

    Parameters
    ----------
    x : Tensor of shape (n, ...)
        Floating-point inputs.
    targets : Tensor of shape (n, C)
    lam : float in [0.5, 1]
    order : LongTensor of shape (n,)
        A permutation of the rows.

    Returns
    -------
    (Tensor, Tensor)
    """
    return lam * x + (1 - lam) * x[order], lam * targets + (1 - lam) * targets[order]


def semi_supervised_loss(logits, targets, unlabelled, lambda_u=UNLABELLED_WEIGHT,
                         weights=None):
    """DivideMix's loss on a mixed batch.

    ``L = mean_labelled(w_i l_i) + lambda_u mean_unlabelled,c((p_ic - t_ic)^2)
    + sum_c (1/C) log((1/C) / pbar_c)``, with ``l_i`` the soft cross-entropy,
    ``p = softmax(z)`` and ``pbar`` its mean over the batch. A term whose rows
    the batch lacks is zero.

    Parameters
    ----------
    logits : Tensor of shape (n, C)
    targets : Tensor of shape (n, C)
        Soft targets (mixed).
    unlabelled : BoolTensor of shape (n,)
        Which positions hold an unlabelled row's target.
    lambda_u : float, default=1.0
    weights : Tensor of shape (n,) or None, default=None
        Per-row weights of the labelled positions' cross-entropy (class
        weights); treated as constants.

    Returns
    -------
    scalar Tensor
        Differentiable with respect to ``logits``.
    """
    logits = logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits
    targets = targets.to(logits.dtype)
    labelled = ~unlabelled
    loss = logits.new_zeros(())
    if labelled.any():
        ce = F.cross_entropy(logits[labelled], targets[labelled], reduction="none")
        loss = loss + (ce if weights is None else weights[labelled].detach() * ce).mean()
    proba = logits.softmax(1)
    if unlabelled.any():
        loss = loss + lambda_u * ((proba[unlabelled] - targets[unlabelled]) ** 2).mean()
    n_classes = logits.shape[1]
    prior = 1.0 / n_classes
    return loss + (prior * torch.log(prior / proba.mean(0))).sum()
