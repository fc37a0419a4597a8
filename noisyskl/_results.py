"""The estimator's fitted results: the per-row state read back as arrays
and as reports (``find_label_issues``, ``annotator_report``).

A mixin of :class:`~noisyskl.NoisyNeuralNetClassifier`; it reads
``refinement_state_`` (``_state``) and builds frames with ``_report`` and
``_annotators``, and trains nothing.
"""

import numpy as np
import torch

from ._annotator_reports import annotator_frame, consensus_columns, crowd_consensus
from ._report import label_issue_frame

__all__ = ["ResultsMixin"]


class ResultsMixin:
    """Fitted attributes and reports of the per-row state."""

    def _fitted_state(self):
        state = getattr(self, "refinement_state_", None)
        if state is None or state.n_samples == 0:
            raise AttributeError(
                f"{type(self).__name__} has no per-row state: call fit first (or, after "
                "load_params, also load f_refinement_state).")
        return state

    def _state_array(self, name):
        value = getattr(self._fitted_state(), name).detach().cpu()
        return (value.float() if value.dtype == torch.bfloat16 else value).numpy()

    @property
    def refined_labels_(self):
        return self._state_array("targets").astype(np.float32, copy=False)

    @property
    def gradient_norms_(self):
        return self._state_array("g")

    @property
    def sample_weights_(self):
        return self._state_array("weight")  # (stored as bfloat16)

    @property
    def train_mask_(self):
        return ~np.isnan(self._state_array("g"))

    def find_label_issues(self, min_flagged_fraction=None):
        """Report on every row given to ``fit``: which annotations look wrong.

        A row is a label issue when, in at least ``min_flagged_fraction`` of
        the refinements (one per epoch after the warm-up), its refined target
        favoured another class over its annotation, and (with the default
        ``flag_limit="confident_joint"``) it is among the
        ``estimated_label_issues_`` such rows of lowest label quality. Judging by the whole
        refinement history rather than the last epoch catches wrong labels
        that the network memorises late in training (docs: "Choosing").

        Parameters
        ----------
        min_flagged_fraction : float in (0, 1] or None, default=None
            None uses the estimator's ``min_flagged_fraction`` (default 0.1).
            Smaller flags more rows (higher recall, lower precision). 1 flags
            only rows flagged by every refinement.

        Returns
        -------
        pandas.DataFrame of shape (n_samples, 8) (12 with a label matrix)
            Indexed like the X given to ``fit`` (a DataFrame's own index is
            kept; otherwise 0..n-1). Columns, named as in cleanlab where the
            meaning is the same:

            - ``given_label``: the annotation;
            - ``predicted_label``: the current refined label (argmax of
              ``refined_labels_``);
            - ``label_quality``: the refined target's mass on the given label,
              in [0, 1], averaged over the refinements; sorting by it
              ascending puts the most suspicious rows first;
            - ``flagged_fraction``: the fraction of refinements whose refined
              label differed from the given one;
            - ``is_label_issue``: ``flagged_fraction >= min_flagged_fraction``
              (the vote) and, with ``flag_limit="confident_joint"``, among the
              ``estimated_label_issues_`` lowest-quality such rows;
            - ``gradient_norm`` and ``weight``: the row's last g and loss
              weight (NaN for rows held out by ``train_split``);
            - ``in_training``: whether the row was trained on (held-out rows
              are judged from out-of-sample predictions);
            - with a label matrix or soft labels, also cleanlab's
              multi-annotator columns ``consensus_label``,
              ``consensus_quality_score``, ``annotator_agreement`` and
              ``num_annotations`` (user guide, "Several annotators"); the
              given label is then the row's top vote and the label issues
              are judged against its top-voted classes.

            Before the first refinement (or with ``refinement=None``) no row
            is an issue and ``label_quality`` is 1.

        Examples
        --------
        >>> report = clf.find_label_issues()  # doctest: +SKIP
        >>> report.sort_values("label_quality").head(20)  # doctest: +SKIP
        """
        if min_flagged_fraction is None:
            min_flagged_fraction = self.min_flagged_fraction
        state = self._fitted_state()
        refined = self.refined_labels_
        report = label_issue_frame(
            refined, state.top_voted_index().cpu().numpy(), self.classes_,
            state.mean_quality().cpu().numpy(), state.flagged_fraction().cpu().numpy(),
            self.gradient_norms_, self.sample_weights_, self.train_mask_,
            min_flagged_fraction=min_flagged_fraction, index=getattr(self, "fit_index_", None),
            paths=getattr(self, "fit_paths_", None),
            max_issues=self.estimated_label_issues_ if self.flag_limit else None,
        )
        return consensus_columns(report, state, self.classes_) if state.has_votes else report

    def annotator_report(self):
        """Per annotator of a label-matrix fit: how reliable they look.

        Returns
        -------
        pandas.DataFrame of shape (n_annotators, 4)
            Indexed by annotator (the label matrix's columns), least reliable
            first; columns named as cleanlab's ``annotator_stats``:

            - ``annotator_quality``: an estimate of the annotator's
              accuracy, from how often they agree with the other annotators
              and with the model's held-out predictions (the one-coin model,
              ``functional.one_coin_accuracy``; docs/annotators.md), on the
              scale of an accuracy: 1/n_classes is chance; NaN for one who
              shares fewer than 10 rows with any other;
            - ``num_examples_labeled``;
            - ``agreement_with_consensus``: the share of their labels that
              equal the row's ``consensus_label`` (:meth:`find_label_issues`);
            - ``worst_class``: the consensus class on whose rows they agree
              with the consensus least.

        Examples
        --------
        >>> clf.fit(X, labels).annotator_report()  # doctest: +SKIP
        """
        state = self._fitted_state()
        if not hasattr(self, "annotators_") or state.votes.numel() == 0:
            raise ValueError(
                "annotator_report() needs a fit on a label matrix (one column per annotator); "
                "this estimator was fitted on " + ("soft labels, which name no annotators."
                                                   if state.has_votes else "one label per row."))
        consensus, _, accuracy, _ = crowd_consensus(state)
        return annotator_frame(self.annotators_, state.votes.long().cpu().numpy(),
                               consensus.numpy(), accuracy.numpy(), self.classes_)

    @property
    def estimated_label_issues_(self):
        """int or None: how many annotations look wrong, by the confident joint
        of the predictions at the first refinement (None before it)."""
        n = int(self._state_array("estimated_issues"))
        return None if n < 0 else n

    @property
    def gradient_histograms_(self):
        """ndarray of shape (n_epochs, 50): per epoch, counts of the training
        rows' g in 50 equal bins of [0, 1]."""
        return self._state_array("g_histograms")
