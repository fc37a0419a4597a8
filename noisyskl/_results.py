"""The estimator's fitted results: the per-row state read back as arrays
and as reports (``find_label_issues``, ``annotator_report``).

A mixin of :class:`~noisyskl.NoisyNeuralNetClassifier`; it reads
``refinement_state_`` (``_state``) and builds frames with ``_report`` and
``_annotators``, and trains nothing.
"""

from collections.abc import Mapping

import numpy as np
import torch

from ._annotator_reports import annotator_frame, consensus_columns, crowd_consensus
from ._datasets import as_source, dataset_paths, is_dataset_input, names_of_classes
from ._labels import first_other_row, plain_label
from ._report import label_issue_frame
from ._review_page import choose_rows, review_html, row_views

__all__ = ["ResultsMixin"]


class ResultsMixin:
    """Fitted attributes and reports of the per-row state."""

    def _fitted_state(self):
        if "module_" in vars(self) and not self.initialized_:
            raise AttributeError(
                f"{type(self).__name__} is not fitted: its last fit raised before it trained, "
                "or diverged (see that error). Fix what it names and call fit again.")
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
            - after a fit on :func:`~noisyskl.read_review`'s labels,
              ``trusted``: whether a reviewer decided the row (never an
              issue; its given label is the reviewer's);
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
        if state.trusted.numel():  # a fit on a review (read_review)
            report["trusted"] = state.trusted.cpu().numpy()
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

    def export_review(self, path, X=None, *, max_rows=None, title="Label review",
                      thumbnail_size=128, class_names=None):
        """Write the rows to review as one self-contained HTML page.

        The page (everything inline: it opens from ``file://`` with no
        network) shows the label issues of :meth:`find_label_issues`, worst
        first, each with its image (a thumbnail of the row's file, or of an
        image row of ``X``) or, for tabular rows, the features furthest from
        their means; its file, given and suggested label with the model's
        probability, label quality, and each annotator's vote with a label
        matrix. The reviewer decides each row: the given label is right, the
        suggested one is, another class, or unsure, by mouse or keys
        (G/S/O/U, J/K to move), filtered by given or suggested class.
        Decisions are kept in the browser as they are made and download as
        a CSV for :func:`~noisyskl.read_review`.

        Parameters
        ----------
        path : str or path-like
            The HTML file to write.
        X : array-like, DataFrame, torch Dataset or None, default=None
            The X given to ``fit``, for the thumbnails and feature views
            (rows in the same order). None: a Dataset's files where the fit
            knows them, else no view.
        max_rows : int or None, default=None
            None: the label issues. An int: the ``max_rows`` rows of lowest
            label quality, whether flagged or not.
        title : str, default="Label review"
        thumbnail_size : int, default=128
            Largest side of a thumbnail, in pixels.
        class_names : sequence, dict or None, default=None
            The name the page shows for each class: a sequence in
            ``classes_`` order, or a dict of label -> name (labels it lacks
            show as they are). None: where ``X`` is a Dataset with a
            ``classes`` list (as torchvision's ``ImageFolder`` has) and the
            fit's classes are indices into it, those names; else the labels.
            The downloaded CSV keeps the labels, as ``read_review`` reads them.

        Returns
        -------
        pathlib.Path
            The file written.

        Examples
        --------
        >>> clf.export_review("review.html", X)  # doctest: +SKIP
        >>> clf.fit(X, noisyskl.read_review("decisions.csv", y))  # doctest: +SKIP
        """
        import warnings
        from pathlib import Path

        if max_rows is not None and not (isinstance(max_rows, (int, np.integer))
                                         and max_rows > 0):
            raise ValueError(f"max_rows must be a positive int or None; got {max_rows!r}.")
        if not (isinstance(thumbnail_size, (int, np.integer)) and thumbnail_size >= 16):
            raise ValueError("thumbnail_size must be an int of at least 16 (pixels); got "
                             f"{thumbnail_size!r}.")
        report, state = self.find_label_issues(), self._fitted_state()
        paths = getattr(self, "fit_paths_", None)
        index = getattr(self, "fit_index_", None)  # (a DataFrame's: the page shows it)
        shown = _shown_names(class_names, self.classes_)
        if X is not None:
            if is_dataset_input(X):
                X = as_source(X)
                paths = dataset_paths(X) if paths is None else paths
                if class_names is None:
                    shown = names_of_classes(X, self.classes_)
            if len(X) != len(report):
                raise ValueError(f"X has {len(X)} rows but the fit had {len(report)}: pass "
                                 "the X given to fit, in the same order.")
            _check_same_rows(X, index)
        rows = choose_rows(report, max_rows)
        if not len(rows):
            warnings.warn("No row is a label issue, so the review page is empty; pass "
                          "max_rows=N to review the N rows of lowest label quality.",
                          UserWarning, stacklevel=2)
        shape = getattr(self, "input_shape_", None) or ()
        views = row_views(X, rows, paths, len(shape) in (2, 3),
                          getattr(self, "feature_names_in_", None), thumbnail_size)
        proba = state.proba.float().cpu().numpy()
        suggested = self.refined_labels_.argmax(1)
        votes = state.votes.long().cpu().numpy() if state.votes.numel() else None
        names = getattr(self, "annotators_", None)
        entries = []
        for i, (image, features) in zip(rows, views):
            entry = {"row": int(i), "path": "" if paths is None else str(paths[i]),
                     "index": "" if index is None else str(index[i]),
                     "given": str(report["given_label"].iloc[i]),
                     "suggested": str(report["predicted_label"].iloc[i]),
                     "p": float(proba[i, suggested[i]]),
                     "quality": float(report["label_quality"].iloc[i]),
                     "image": image, "features": features, "votes": None}
            if votes is not None:
                entry["votes"] = [[str(names[a]), str(self.classes_[v])]
                                  for a, v in enumerate(votes[i]) if v >= 0]
            entries.append(entry)
        given = state.top_voted_index().cpu().numpy()
        page = review_html(entries, self.classes_, given, title, Path(path).stem + ".csv",
                           paths, shown)
        Path(path).write_text(page, encoding="utf-8")
        return Path(path)

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


def _shown_names(class_names, classes):
    """``export_review``'s ``class_names`` as one name per class (or None)."""
    if class_names is None:
        return None
    if isinstance(class_names, Mapping):
        return [str(class_names.get(c, c)) for c in classes.tolist()]
    if isinstance(class_names, (str, bytes)) or not hasattr(class_names, "__len__"):
        raise TypeError("class_names must be a sequence of names (in classes_ order), a dict "
                        f"of label -> name, or None; got {class_names!r}.")
    if len(class_names) != len(classes):
        raise ValueError(f"class_names has {len(class_names)} names but the fit has "
                         f"{len(classes)} classes {classes.tolist()[:20]}; give one name per "
                         "class, in that order, or a dict of label -> name.")
    return [str(n) for n in class_names]


def _check_same_rows(X, index):
    """Refuse an ``export_review`` X (a DataFrame or Series) whose index is not
    the fit's: its rows are others, or in another order, and each card would
    show one row's view beside another row's labels. Labels are compared as
    ``save_params`` keeps them too (a timestamp as its string)."""
    import pandas as pd

    x_index = getattr(X, "index", None)
    if index is None or not isinstance(x_index, pd.Index):
        return
    moved = first_other_row(x_index, pd.Index(index))
    if moved is None:
        return
    ours, fits = (plain_label(i[moved]) for i in (x_index, pd.Index(index)))
    raise ValueError(
        f"X's index is not the fit's (row {moved} is {ours!r} in X, "
        f"{fits!r} at fit): its rows are others or in another order, so "
        "the page would show one row's data beside another's labels. Pass the X given to "
        "fit, in the same order, e.g. X.loc[clf.find_label_issues().index].")
