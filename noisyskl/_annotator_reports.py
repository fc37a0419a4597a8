"""The several-annotator reports: the consensus of the annotators and the
model (``find_label_issues``' multi-annotator columns) and the per-annotator
table (``annotator_report``). Arrays and the per-row state in, columns out;
the formulas are in ``_votes``."""

import numpy as np
import torch

from ._votes import agrees, one_coin_accuracy, pairwise_agreement, weighted_consensus

__all__ = ["annotator_frame", "consensus_columns", "crowd_consensus"]


def crowd_consensus(state):
    """The consensus of a label matrix's annotators and the model, each
    weighed by their accuracy as estimated from the data.

    The annotators' accuracies, and the model's, come from how often they
    agree with each other (``functional.one_coin_accuracy``): the model
    counts as one more annotator on the rows held out by ``train_split``,
    where its predictions are out of sample. Each vote then weighs the
    log-odds of its author's accuracy (``functional.weighted_consensus``):
    annotators who agree and are each more accurate than the model outvote
    it, and the model decides where they disagree or are less accurate.
    Without held-out rows the model only breaks ties; an annotator who
    shares too few rows with the others weighs the others' mean. A row a
    reviewer decided (``read_review``) takes the reviewer's label.

    Returns
    -------
    (consensus, posterior, accuracy, model_accuracy)
        LongTensor of shape (n,), Tensor of shape (n,), Tensor of shape (k,)
        (NaN where not estimable) and a float (NaN without held-out rows).
    """
    votes, proba = state.votes.long().cpu(), state.proba.float().cpu()
    c, k = state.n_classes, votes.shape[1]
    model = proba.argmax(1)
    held_out = torch.isnan(state.g.float().cpu())
    with_model = torch.cat([votes, torch.where(held_out, model, -1)[:, None]], 1)
    accuracy, known = one_coin_accuracy(*pairwise_agreement(with_model), c)
    fill = accuracy[:k][known[:k]].mean() if known[:k].any() else torch.tensor(0.5 + 0.5 / c)
    annotator_accuracy = torch.where(known[:k], accuracy[:k], fill.double())
    consensus, posterior = weighted_consensus(votes, annotator_accuracy, float(accuracy[k]),
                                              proba, c)
    if state.trusted.numel():  # a reviewer decided: their label is the consensus
        trusted = state.trusted.cpu()
        consensus = torch.where(trusted, state.annotation_index().cpu(), consensus)
        posterior = torch.where(trusted, torch.ones_like(posterior), posterior)
    return consensus, posterior, accuracy[:k], float(accuracy[k])


def consensus_columns(report, state, classes):
    """Add cleanlab's multi-annotator columns to ``find_label_issues``' report.

    With a label matrix, ``consensus_label`` is the annotators' and the
    model's consensus, each weighed by their estimated accuracy
    (:func:`crowd_consensus`), and ``consensus_quality_score`` its
    probability under the one-coin model; with soft labels, the refined
    label (``predicted_label``) and the refined target's mass on it.
    ``annotator_agreement`` is the share of the row's annotators (soft
    labels: of its label mass) that chose it; ``num_annotations`` how many
    annotators labelled the row (NaN for soft labels).
    """
    if state.votes.numel():
        consensus, posterior, _, _ = crowd_consensus(state)
        votes = state.votes.long().cpu()
        given = votes >= 0
        agree = agrees(votes, consensus).sum(1)
        report["consensus_label"] = np.asarray(classes)[consensus.numpy()]
        report["consensus_quality_score"] = posterior.numpy().astype(np.float64)
        report["annotator_agreement"] = (agree / given.sum(1)).numpy().astype(np.float64)
        report["num_annotations"] = given.sum(1).numpy()
        return report
    targets = state.targets.float().cpu()
    consensus = targets.argmax(1)
    rows = torch.arange(len(consensus))
    report["consensus_label"] = report["predicted_label"]
    report["consensus_quality_score"] = targets[rows, consensus].numpy().astype(np.float64)
    report["annotator_agreement"] = state.vote_dist.cpu()[rows, consensus].numpy().astype(
        np.float64)
    report["num_annotations"] = np.nan
    return report


def annotator_frame(names, votes, consensus, quality, classes):
    """The per-annotator report (cleanlab's ``annotator_stats`` columns).

    Parameters
    ----------
    names : ndarray of shape (k,)
    votes : ndarray of shape (n, k), int, -1 where missing
    consensus : ndarray of shape (n,), int
        Each row's consensus class index.
    quality : ndarray of shape (k,)
        Estimated quality of each annotator.
    classes : ndarray of shape (n_classes,)

    Returns
    -------
    pandas.DataFrame of shape (k, 4)
        Indexed by annotator: ``annotator_quality``, ``num_examples_labeled``,
        ``agreement_with_consensus`` and ``worst_class`` (the consensus class
        of the annotator's rows on which they agree with the consensus least;
        ties: the class with more such rows), sorted by quality ascending,
        the least reliable first, as cleanlab sorts; an annotator whose
        quality could not be estimated (NaN) comes first.
    """
    import pandas as pd

    given = votes >= 0
    agree = agrees(torch.as_tensor(votes), torch.as_tensor(consensus)).numpy()
    worst = []
    for j in range(votes.shape[1]):
        rows = given[:, j]
        cls = consensus[rows]
        per_class = np.bincount(cls, minlength=len(classes))
        agreed = np.bincount(cls, weights=agree[rows, j], minlength=len(classes))
        rate = np.where(per_class > 0, agreed / np.maximum(per_class, 1), np.inf)
        # the lowest agreement; among equal ones, the class with more rows
        worst.append(classes[np.lexsort((-per_class, rate))[0]])
    frame = pd.DataFrame({
        "annotator_quality": np.asarray(quality, dtype=np.float64),
        "num_examples_labeled": given.sum(0),
        "agreement_with_consensus": agree.sum(0) / np.maximum(given.sum(0), 1),
        "worst_class": worst,
    }, index=pd.Index(names, name="annotator"))
    # (NaN, a quality that could not be estimated, first: not "most reliable")
    return frame.sort_values("annotator_quality", kind="stable", na_position="first")
