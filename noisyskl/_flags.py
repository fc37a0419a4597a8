"""The flag rule and the count of wrong labels it is capped by, as pure
torch functions (public through ``noisyskl.functional``; not in the patent).
"""

import torch

__all__ = ["FLAGGED_AWAY_SHARE", "UNLEARNT_SHARE", "classes_flagged_away",
           "confident_joint_issue_count", "flag_label_issues", "noise_corrected_accuracy",
           "noise_transition", "unlearnt_classes"]

#: A class is flagged away when at least this share of its annotated rows is
#: flagged: what is left is too little to learn it from.
FLAGGED_AWAY_SHARE = 0.9

#: A class is unlearnt when the refined labels favour it for fewer rows than
#: this share of the rows annotated with it: the network is no witness there.
UNLEARNT_SHARE = 0.1


def flag_label_issues(flagged_fraction, quality, min_flagged_fraction, max_issues=None,
                      unflaggable=None):
    """The flag rule (ours): which rows are label issues.

    A row is flagged by the vote when its refined label favoured another
    class in at least ``min_flagged_fraction`` of the refinements, unless it
    is ``unflaggable`` (annotated with a class the network never learnt:
    :func:`unlearnt_classes`); when more rows are flagged than ``max_issues``
    (e.g. the confident joint's count), only the ``max_issues`` of them with
    the lowest ``quality`` stay flagged (ties in the order of the rows).

    Parameters
    ----------
    flagged_fraction, quality : Tensor of shape (n,)
        Per row: the share of refinements that flagged it, and the refined
        target's mean mass on the annotation.
    min_flagged_fraction : float in (0, 1]
    max_issues : int or None
    unflaggable : BoolTensor of shape (n,) or None, default=None

    Returns
    -------
    BoolTensor of shape (n,)
    """
    is_issue = flagged_fraction >= min_flagged_fraction
    if unflaggable is not None:
        is_issue &= ~unflaggable
    if max_issues is not None and int(is_issue.sum()) > max_issues:
        voted = torch.nonzero(is_issue).flatten()
        order = torch.argsort(quality[voted], stable=True)
        is_issue[voted[order[max(int(max_issues), 0):]]] = False
    return is_issue


def confident_joint_issue_count(proba, annotation, trusted=None):
    """Estimated number of wrong annotations: the calibrated confident joint.

    Northcutt, Jiang and Chuang, "Confident learning: estimating uncertainty
    in dataset labels", JAIR 70 (2021); cleanlab computes the same count as
    ``num_label_issues(..., estimation_method="off_diagonal_calibrated")``.
    Not in the patent. A row of annotated class ``i`` is
    counted in ``C[i, j]`` where ``j`` is its most likely class among those
    whose predicted probability reaches that class's threshold ``t_j`` (the
    mean ``p_j`` over rows annotated ``j``); rows with no class at threshold
    are not counted. Each row of ``C`` is rescaled to the number of rows
    annotated ``i``, and the estimate is the sum off the diagonal.

    Parameters
    ----------
    proba : Tensor of shape (n, C)
        Predicted probabilities; the estimate is only as good as they are out
        of sample (not memorised).
    annotation : LongTensor of shape (n,)
    trusted : BoolTensor of shape (n,) or None, default=None
        Rows whose annotation is known to be right (a reviewer's): they set
        the thresholds like every row, but need no guess, so the estimate
        counts only the other rows (each row of ``C`` is rescaled to the
        untrusted rows annotated ``i``). Not in the paper.

    Returns
    -------
    int

    Examples
    --------
    >>> import torch
    >>> proba = torch.tensor([[0.9, 0.1]] * 3 + [[0.1, 0.9]] * 3)
    >>> confident_joint_issue_count(proba, torch.tensor([0, 0, 0, 1, 1, 1]))  # all agree
    0
    >>> confident_joint_issue_count(proba, torch.tensor([0, 0, 0, 1, 1, 0]))  # the last looks wrong
    1
    """
    n_classes = proba.shape[1]
    p = proba.float()
    onehot = torch.nn.functional.one_hot(annotation, n_classes).float()
    per_class = onehot.sum(0)
    # a class no row is annotated with has no threshold: never counted (cleanlab: NaN)
    thresholds = torch.where(per_class > 0, (p * onehot).sum(0) / per_class.clamp(min=1),
                             torch.full_like(per_class, float("inf")))
    above = p >= thresholds
    counted = above.any(1)
    if trusted is not None:  # known right: no issue there, and none to rescale to
        counted = counted & ~trusted
        per_class = (onehot * (~trusted)[:, None]).sum(0)
    guess = torch.where(above, p, torch.full_like(p, -1.0)).argmax(1)
    joint = torch.zeros(n_classes, n_classes, device=p.device)
    joint.index_put_((annotation[counted], guess[counted]),
                     torch.ones(int(counted.sum()), device=p.device), accumulate=True)
    rows = joint.sum(1, keepdim=True)
    calibrated = torch.where(rows > 0, joint / rows.clamp(min=1) * per_class[:, None],
                             torch.zeros_like(joint))
    return round(float(calibrated.sum() - calibrated.trace()))


def noise_transition(annotation, suggested, flagged, n_classes):
    """The noise transition matrix the flags imply: ``T[j, i]``, the share of
    the rows of (estimated) class ``j`` annotated ``i``, where a flagged row's
    class is its suggested label and any other row's its annotation.

    Not in the patent. A class no row is estimated to belong to gets the
    identity's row (no noise known).

    Parameters
    ----------
    annotation, suggested : LongTensor of shape (n,)
        Class indices.
    flagged : BoolTensor of shape (n,)
    n_classes : int

    Returns
    -------
    Tensor of shape (n_classes, n_classes), float64; each row sums to 1.

    Examples
    --------
    >>> import torch
    >>> annotation = torch.tensor([0, 0, 1, 1])  # the third looks like a 0
    >>> noise_transition(annotation, torch.tensor([0, 0, 0, 1]),
    ...                  torch.tensor([False, False, True, False]), 2)
    tensor([[0.6667, 0.3333],
            [0.0000, 1.0000]], dtype=torch.float64)
    """
    true = torch.where(flagged, suggested, annotation)
    counts = torch.zeros(n_classes, n_classes, dtype=torch.float64)
    counts.index_put_((true.cpu(), annotation.cpu()),
                      torch.ones(len(true), dtype=torch.float64), accumulate=True)
    rows = counts.sum(1, keepdim=True)
    return torch.where(rows > 0, counts / rows.clamp(min=1),
                       torch.eye(n_classes, dtype=torch.float64))


def noise_corrected_accuracy(prediction, annotation, transition):
    """Accuracy against the true classes, estimated from noisy annotations.

    With ``M[k, i]`` the share of rows predicted ``k`` and annotated ``i``,
    and class-conditional noise ``T[j, i] = P(annotated i | class j)``,
    ``M = A T`` where ``A[k, j]`` is the share predicted ``k`` of class
    ``j``; the estimate is ``trace(M T^-1)`` (unbiased under that noise:
    Natarajan et al., NeurIPS 2013; Patrini et al., CVPR 2017). Plain
    accuracy against the annotations instead rewards a model that learnt a
    systematic flip (a pair-flip noise's) as often as the flip occurs. Where
    ``T`` cannot be inverted, the plain accuracy. Not in the patent.

    Parameters
    ----------
    prediction, annotation : LongTensor of shape (n,)
    transition : Tensor of shape (n_classes, n_classes)
        E.g. :func:`noise_transition`'s.

    Returns
    -------
    float

    Examples
    --------
    >>> import torch
    >>> T = torch.tensor([[0.6, 0.4], [0.0, 1.0]], dtype=torch.float64)
    >>> annotation = torch.tensor([0, 0, 0, 1, 1, 1, 1, 1])  # two of five 1s are 0s
    >>> round(noise_corrected_accuracy(torch.tensor([0, 0, 0, 0, 0, 1, 1, 1]), annotation, T), 3)
    1.0
    """
    return float(_estimated_joint(prediction, annotation, transition).trace())


def noise_corrected_recall(prediction, annotation, transition):
    """Each class's recall against the true classes, estimated from noisy
    annotations as :func:`noise_corrected_accuracy` estimates the accuracy.

    With ``A = M T^-1`` (``A[k, j]``: the estimated share of rows predicted
    ``k`` whose class is ``j``), class ``j``'s recall is ``A[j, j] /
    sum_k A[k, j]``, clipped to [0, 1]. NaN for a class no held-out row is
    estimated to belong to. Where ``T`` cannot be inverted, the recall against
    the annotations. Not in the patent.

    Parameters
    ----------
    prediction, annotation : LongTensor of shape (n,)
    transition : Tensor of shape (n_classes, n_classes)

    Returns
    -------
    Tensor of shape (n_classes,), float64

    Examples
    --------
    >>> import torch
    >>> T = torch.tensor([[0.6, 0.4], [0.0, 1.0]], dtype=torch.float64)
    >>> annotation = torch.tensor([0, 0, 0, 1, 1, 1, 1, 1])  # two of five 1s are 0s
    >>> noise_corrected_recall(torch.tensor([1, 1, 1, 1, 1, 1, 1, 1]), annotation, T)
    tensor([0., 1.], dtype=torch.float64)
    """
    estimated = _estimated_joint(prediction, annotation, transition)
    share = estimated.sum(0)
    recall = estimated.diagonal() / share.clamp(min=1e-12)
    return torch.where(share > 1e-12, recall.clamp(0, 1),
                       torch.full_like(recall, float("nan")))


def _estimated_joint(prediction, annotation, transition):
    """``M T^-1`` (``M``: shares of rows predicted k and annotated i), or ``M``
    where ``T`` cannot be inverted."""
    n_classes = transition.shape[0]
    joint = torch.zeros(n_classes, n_classes, dtype=torch.float64)
    joint.index_put_((prediction.cpu(), annotation.cpu()),
                     torch.ones(len(prediction), dtype=torch.float64), accumulate=True)
    joint /= max(len(prediction), 1)
    try:
        return joint @ torch.linalg.inv(transition.to(torch.float64).cpu())
    except RuntimeError:  # (singular: torch.linalg.LinAlgError)
        return joint


def classes_flagged_away(annotation, flagged, suggested, n_classes, share=FLAGGED_AWAY_SHARE):
    """Classes whose annotated rows are (nearly) all flagged, and what the
    flags suggest instead: the evidence ``fit``'s warning names a cause from.

    Not in the patent. A class no refined label suggests for any row was never
    learnt (a rare or slowly learnt class looks like noise to a network that
    has not learnt it yet); one whose rows are suggested as one other class is
    confused with it (or its annotations are systematically wrong).

    Parameters
    ----------
    annotation, suggested : LongTensor of shape (n,)
        Each row's annotated class and the class its refined label favours.
    flagged : BoolTensor of shape (n,)
    n_classes : int
    share : float, default=FLAGGED_AWAY_SHARE

    Returns
    -------
    list of dict
        One per such class, in class order: ``class``, ``rows`` (annotated),
        ``flagged``, ``suggested_anywhere`` (rows of any annotation whose
        refined label favours the class) and ``suggested_instead`` (the class
        its flagged rows are most often suggested as; None when their refined
        labels favour the class itself again).

    Examples
    --------
    >>> import torch
    >>> annotation = torch.tensor([0, 0, 1, 1, 2, 2])
    >>> suggested = torch.tensor([0, 0, 1, 1, 1, 1])  # no row suggests class 2
    >>> flagged = suggested != annotation
    >>> classes_flagged_away(annotation, flagged, suggested, 3)
    [{'class': 2, 'rows': 2, 'flagged': 2, 'suggested_anywhere': 0, 'suggested_instead': 1}]
    """
    found = []
    for c in range(n_classes):
        rows = annotation == c
        n_rows, n_flagged = int(rows.sum()), int((rows & flagged).sum())
        if n_rows == 0 or n_flagged < share * n_rows:
            continue
        moved = suggested[rows & flagged & (suggested != c)]
        found.append({"class": c, "rows": n_rows, "flagged": n_flagged,
                      "suggested_anywhere": int((suggested == c).sum()),
                      "suggested_instead": (int(torch.bincount(moved).argmax()) if len(moved)
                                            else None)})
    return found


def unlearnt_classes(annotation, suggested, n_classes, share=UNLEARNT_SHARE):
    """Classes the network never learnt: annotated on some rows, but favoured
    by the refined labels of fewer rows than ``share`` of that many.

    Not in the patent. Such a class (a rare or slowly learnt one, before the
    network learns it) looks like noise: every refinement moves its rows'
    targets to other classes, which then never favour it again, so the vote
    would flag all of it and the refit erase it. The network is no witness
    for that class, so :func:`flag_label_issues` leaves its rows unflagged.

    Parameters
    ----------
    annotation, suggested : LongTensor of shape (n,)
        Each row's annotated class and the class its refined label favours.
    n_classes : int
    share : float, default=UNLEARNT_SHARE

    Returns
    -------
    BoolTensor of shape (n_classes,)

    Examples
    --------
    >>> import torch
    >>> annotation = torch.tensor([0, 0, 1, 1, 2, 2])
    >>> unlearnt_classes(annotation, torch.tensor([0, 0, 1, 1, 1, 1]), 3)  # no row favours 2
    tensor([False, False,  True])
    """
    annotated = torch.bincount(annotation, minlength=n_classes)
    favoured = torch.bincount(suggested, minlength=n_classes)
    return (annotated > 0) & (favoured < share * annotated)
