"""The formulas for several annotators per row (ours, not the patent's), as
pure torch functions; part of the functional core (``noisyskl.functional``
exports them with the method's).

The patent has one annotation per sample: with several, the one-hot ``e_i``
becomes the row's annotation distribution (docs/method.md, "Several
annotators per row").
"""

import torch

__all__ = ["agrees", "annotator_quality", "log_odds", "one_coin_accuracy", "pairwise_agreement",
           "reliability_weights", "top_vote_mass", "top_voted", "vote_distribution",
           "weighted_consensus"]


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


def pairwise_agreement(votes):
    """How often each pair of annotators gave the same label, and on how many rows.

    Parameters
    ----------
    votes : LongTensor of shape (n, k)
        As in :func:`vote_distribution` (-1 where one did not label the row).

    Returns
    -------
    (agree, counts) : Tensor of shape (k, k), float64, each
        ``agree[j, l]``: rows both labelled alike; ``counts[j, l]``: rows both labelled.
    """
    votes = votes.long()
    given = (votes >= 0).double()
    counts = given.T @ given
    agree = torch.zeros_like(counts)
    for j in range(votes.shape[1]):  # (k is small: a few annotators)
        same = ((votes == votes[:, j:j + 1]) & (votes[:, j:j + 1] >= 0)).double() * given
        agree[j] = same.sum(0)
    return agree, counts


def one_coin_accuracy(agree, counts, n_classes, min_rows=10, min_product=0.1):
    """Each annotator's accuracy estimated from how often they agree with the
    others, under the one-coin model (Dawid and Skene, 1979, with one
    accuracy per annotator and errors spread evenly over the other classes,
    independent across annotators).

    Under that model two annotators of accuracies ``a_j`` and ``a_l`` agree
    with probability ``1/C + (C - 1)/C * s_j s_l``, where ``s = (C a - 1) /
    (C - 1)`` is the accuracy above chance, so the observed agreements give
    the products ``M_jl = s_j s_l``. For three annotators ``s_j^2 = M_jk
    M_jl / M_kl`` (the triplet estimate); each ``s_j`` is the mean of its
    triplets' estimates, weighted by the fewest rows a triplet's pairs
    share, over the pairs that share at least ``min_rows`` rows and whose
    ``M_kl`` is at least ``min_product`` (a pair that agrees about as often
    as chance says nothing of the third). An annotator with no such triplet
    (two annotators alone) gets ``sqrt`` of the mean of its pairs'
    products, as if the others were alike; one who agrees with the others
    less often than chance is taken to be at chance (its sign is lost in
    the square).

    Parameters
    ----------
    agree, counts : Tensor of shape (k, k)
        As :func:`pairwise_agreement` returns.
    n_classes : int
    min_rows : int, default=10
    min_product : float, default=0.1

    Returns
    -------
    (accuracy, known) : Tensor of shape (k,), float64; BoolTensor of shape (k,)
        ``accuracy`` in [1/C, 1); ``known`` False where no estimate was
        possible (the accuracy is then NaN).
    """
    k, c = agree.shape[0], n_classes
    agree, counts = agree.double(), counts.double()
    use = (counts >= min_rows) & ~torch.eye(k, dtype=torch.bool)
    product = ((agree / counts.clamp(min=1) - 1 / c) * c / (c - 1)).where(use, 0.0)
    # the sign of the skill, lost in the products' squares: an annotator who
    # agrees with most others less often than chance (a label flipper, in two
    # classes) is taken to be at chance, and left out of the others' estimates
    below = ((product < 0) & use).sum(1) > ((product > 0) & use).sum(1)
    use = use & ~below[:, None] & ~below[None, :]
    # each triplet (j; a, b): s_j^2 = M_ja M_jb / M_ab, over pairs a < b that
    # both share rows with j and with each other, M_ab large enough to divide by
    pair_ok = use & (product >= min_product) & torch.ones(k, k, dtype=torch.bool).triu(1)
    square = torch.full((k,), float("nan"), dtype=torch.float64)
    for j in range(k):  # (k steps of k x k tensor work)
        valid = pair_ok & use[j][:, None] & use[j][None, :]
        valid[j, :] = valid[:, j] = False
        if not valid.any():
            continue
        weight = torch.minimum(counts, torch.minimum(counts[j][:, None], counts[j][None, :]))
        estimate = product[j][:, None] * product[j][None, :] / product.where(valid, 1.0)
        square[j] = (weight * estimate).where(valid, 0.0).sum() / weight.where(valid, 0.0).sum()
    # no triplet: the pairs it has, taking the others alike (two annotators alone)
    alike = torch.isnan(square) & use.any(1)
    pairs = (product.clamp(min=0.0) * counts).where(use, 0.0).sum(1) / (
        counts.where(use, 0.0).sum(1).clamp(min=1))
    square = torch.where(alike, pairs, square)
    square = torch.where(below, 0.0, square)
    known = ~torch.isnan(square)
    skill = square.clamp(min=0.0).sqrt().clamp(max=1.0 - 1e-3)
    return ((1 + (c - 1) * skill) / c).where(known, square), known


def agrees(votes, labels):
    """Whether each annotator's vote is the row's ``labels`` (False where
    they did not label the row): BoolTensor of shape (n, k)."""
    votes = votes.long()
    return (votes == labels.long()[:, None]) & (votes >= 0)


def weighted_consensus(votes, accuracy, model_accuracy, proba, n_classes):
    """Each row's consensus of its annotators and the model.

    Each vote weighs the log-odds ``log((C - 1) a / (1 - a))`` of its
    author's accuracy ``a`` (:func:`log_odds`), the most probable class
    under the one-coin model. The annotators' weighted vote decides (a tie:
    the class the model's probabilities favour). Where at least two
    annotators chose the winner and each is more accurate than the model,
    it stands; elsewhere (a single annotator's label, a split vote, or
    annotators less accurate than the model) the model's vote, weighed by
    its own accuracy, joins the sum (for its most probable class, or on a
    row whose annotators are each more accurate than it, for its most
    probable class among theirs): annotators who agree and are each
    better than the model always win, and the model decides where they
    disagree or are worse.

    Parameters
    ----------
    votes : LongTensor of shape (n, k)
        As in :func:`vote_distribution`.
    accuracy : Tensor of shape (k,)
        Each annotator's accuracy (e.g. :func:`one_coin_accuracy`'s).
    model_accuracy : float
        The model's accuracy; NaN or at most 1/C: it only breaks ties.
    proba : Tensor of shape (n, C)
        The model's probabilities: its vote, and ties.
    n_classes : int

    Returns
    -------
    (consensus, posterior) : LongTensor of shape (n,), Tensor of shape (n,), float64
        ``posterior``: the consensus's probability under the one-coin model,
        the model's vote included.
    """
    votes, n = votes.long(), votes.shape[0]
    given = votes >= 0
    rows = torch.arange(n)
    accuracy = torch.nan_to_num(accuracy.double(), nan=1.0 / n_classes)  # (unknown: chance)
    weights = log_odds(accuracy, n_classes)
    score = torch.zeros(n, n_classes, dtype=torch.float64)
    score.scatter_add_(1, votes.clamp(min=0), (given * weights[None, :]).double())
    chosen = torch.zeros(n, n_classes, dtype=torch.bool)
    chosen[rows[:, None].expand_as(votes)[given], votes[given]] = True
    # ties, among the classes the row's annotators chose, go to the model
    tied = chosen & (score >= score.max(1, keepdim=True).values - 1e-9)
    consensus = torch.where(tied, proba.double(), -1.0).argmax(1)
    full = score.clone()
    if model_accuracy == model_accuracy and model_accuracy > 1.0 / n_classes:
        # the model votes for its most probable class, or, on a row whose
        # annotators are each more accurate than it, for its most probable
        # class among those they gave
        best = torch.where(given, accuracy[None, :].double(), -1.0).max(1).values
        allowed = chosen | (best < model_accuracy)[:, None]
        model_labels = torch.where(allowed, proba.double(), -1.0).argmax(1)
        full[rows, model_labels] += float(log_odds(torch.tensor(model_accuracy), n_classes))
        backers = given & (votes == consensus[:, None])
        weakest = torch.where(backers, accuracy[None, :].double(), 2.0).min(1).values
        agreed = (backers.sum(1) >= 2) & (weakest > model_accuracy)
        tied = full >= full.max(1, keepdim=True).values - 1e-9
        bayes = torch.where(tied, proba.double(), -1.0).argmax(1)
        consensus = torch.where(agreed, consensus, bayes)
    posterior = torch.softmax(full, 1)[rows, consensus]
    return consensus, posterior


def log_odds(accuracy, n_classes):
    """``log((C - 1) a / (1 - a))``: the weight of a vote of accuracy ``a``
    (0 at chance, ``a = 1/C``; ``a`` clipped to [1/C, 1 - 1e-3])."""
    a = accuracy.double().clamp(1.0 / n_classes, 1 - 1e-3)
    return torch.log((n_classes - 1) * a / (1 - a))
