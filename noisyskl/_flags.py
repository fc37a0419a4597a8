"""The flag rule and the count of wrong labels it is capped by, as pure
torch functions (public through ``noisyskl.functional``; not in the patent).
"""

import torch

__all__ = ["confident_joint_issue_count", "flag_label_issues"]


def flag_label_issues(flagged_fraction, quality, min_flagged_fraction, max_issues=None):
    """The flag rule (ours): which rows are label issues.

    A row is flagged by the vote when its refined label favoured another
    class in at least ``min_flagged_fraction`` of the refinements; when more
    rows are flagged than ``max_issues`` (e.g. the confident joint's count),
    only the ``max_issues`` of them with the lowest ``quality`` stay flagged
    (ties in the order of the rows).

    Parameters
    ----------
    flagged_fraction, quality : Tensor of shape (n,)
        Per row: the share of refinements that flagged it, and the refined
        target's mean mass on the annotation.
    min_flagged_fraction : float in (0, 1]
    max_issues : int or None

    Returns
    -------
    BoolTensor of shape (n,)
    """
    is_issue = flagged_fraction >= min_flagged_fraction
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
