"""The formulas for several annotators per row (ours, not the patent's), as
pure torch functions; part of the functional core (``noisyskl.functional``
exports them with the method's).

The patent has one annotation per sample: with several, the one-hot ``e_i``
becomes the row's annotation distribution (docs/method.md, "Several
annotators per row").
"""

import torch

__all__ = ["annotator_quality", "reliability_weights", "top_vote_mass", "top_voted",
           "vote_distribution"]


def vote_distribution(votes, n_classes, weights=None):
    """Each row's annotation distribution: its annotators' (weighted) vote shares.

    ``a_ic = sum_j w_j [y_ij = c] / sum_j w_j`` over the annotators ``j`` who
    labelled row ``i``; with equal weights, the share of its annotators who
    chose ``c``. A row labelled by one annotator gets that label's one-hot.

    Parameters
    ----------
    votes : LongTensor of shape (n, k)
        Class index given by each of ``k`` annotators, -1 where one did not
        label the row. Every row has at least one label.
    n_classes : int
        C.
    weights : Tensor of shape (k,) or None, default=None
        Positive weight of each annotator; None weighs them equally.

    Returns
    -------
    Tensor of shape (n, C), float32; rows sum to one.

    Examples
    --------
    >>> import torch
    >>> vote_distribution(torch.tensor([[0, 0, 1], [2, -1, -1]]), 3)
    tensor([[0.6667, 0.3333, 0.0000],
            [0.0000, 0.0000, 1.0000]])
    """
    votes = votes.long()
    given = votes >= 0
    w = torch.ones(votes.shape[1], device=votes.device) if weights is None else weights.float()
    w = given.float() * w
    dist = torch.zeros(votes.shape[0], n_classes, device=votes.device)
    dist.scatter_add_(1, votes.clamp(min=0), w)
    return dist / dist.sum(1, keepdim=True).clamp(min=torch.finfo(dist.dtype).tiny)


def top_voted(dist):
    """Per row, the classes with the most votes (ties all count).

    Parameters
    ----------
    dist : Tensor of shape (n, C)
        Annotation distributions (:func:`vote_distribution`).

    Returns
    -------
    BoolTensor of shape (n, C)
    """
    return dist >= dist.max(1, keepdim=True).values - 1e-6


def top_vote_mass(target, dist):
    """Per row, the target's mass on the classes with the most votes.

    For a one-hot ``dist`` (one annotation) this is the target's mass on the
    annotation, the quantity ``label_quality`` averages; a row's refined label
    disagrees with its annotators when this mass is not where its argmax is.

    Parameters
    ----------
    target : Tensor of shape (n, C)
    dist : Tensor of shape (n, C)
        Annotation distributions (:func:`vote_distribution`).

    Returns
    -------
    (mass, disagrees) : Tensor of shape (n,), BoolTensor of shape (n,)
        ``disagrees`` is True where the argmax of ``target`` is not among the
        top-voted classes.
    """
    top = top_voted(dist)
    mass = (target * top).sum(1)
    disagrees = ~top.gather(1, target.argmax(1, keepdim=True)).squeeze(1)
    return mass, disagrees


def annotator_quality(belief, votes, rows=None):
    """Each annotator's mean belief in the labels they gave.

    ``q_j = mean_{i labelled by j} b_{i, y_ij}``, with ``b_i`` a row's
    belief about its true class; with the refined targets as ``b`` (the
    annotators' votes refined by the model), the soft agreement of ``j``
    with the consensus: the expected accuracy of ``j`` if the targets were
    the truth (the E-step of Dawid and Skene, 1979). Ours, not the patent's.

    Parameters
    ----------
    belief : Tensor of shape (n, C)
        Rows that sum to one (refined targets, or predicted probabilities).
    votes : LongTensor of shape (n, k)
        As in :func:`vote_distribution`.
    rows : BoolTensor of shape (n,) or None, default=None
        Rows to use; None: all.

    Returns
    -------
    (quality, counts) : Tensor of shape (k,), LongTensor of shape (k,)
        NaN quality for an annotator with no label among ``rows``.
    """
    votes = votes.long()
    given = votes >= 0
    if rows is not None:
        given = given & rows[:, None]
    b = belief.float().gather(1, votes.clamp(min=0)) * given
    counts = given.sum(0)
    quality = b.sum(0) / counts.clamp(min=1)
    return torch.where(counts > 0, quality, torch.full_like(quality, float("nan"))), counts


def reliability_weights(quality, n_classes, floor=0.05):
    """Vote weights from annotator accuracies: their log-odds, floored.

    ``w_j = max(log(q_j (C - 1) / (1 - q_j)), floor)``, the weight of
    annotator ``j`` in the Bayes-optimal weighted vote when each annotator
    is right with probability ``q_j`` and otherwise picks any other class
    alike (Nitzan and Paroush, 1982). An annotator no better than chance
    (``q_j <= 1/C``) keeps the small ``floor``, so that every row keeps a
    distribution; an annotator of unknown quality (NaN) gets weight one.

    Parameters
    ----------
    quality : Tensor of shape (k,)
        ``q_j`` in [0, 1] (:func:`annotator_quality`).
    n_classes : int
    floor : float, default=0.05

    Returns
    -------
    Tensor of shape (k,), positive.
    """
    q = quality.float().clamp(1e-4, 1 - 1e-4)
    w = torch.log(q * (n_classes - 1) / (1 - q)).clamp(min=floor)
    return torch.where(torch.isnan(quality), torch.ones_like(w), w)
