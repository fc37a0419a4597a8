"""Prediction: ``predict_proba``, ``predict`` and ``score`` of a fitted estimator.

A mixin of :class:`~noisyskl.NoisyNeuralNetClassifier`: it turns the inputs a
user predicts on (arrays, DataFrames, torch Datasets) into rows for skorch's
prediction loop (``_data``, ``_datasets``), and scores against one label or
several annotators' labels a row (``_annotators``). It trains nothing.
"""

from skorch.exceptions import NotInitializedError
from skorch.utils import is_dataset

from . import _functional as Fn
from ._annotators import consensus_accuracy, is_label_matrix, read_annotations
from ._data import is_internal
from ._datasets import as_source, is_dataset_input, own_labels, rows_to_predict
from ._labels import check_known_labels

__all__ = ["PredictionMixin", "softmax"]


def softmax(logits):
    """Default prediction nonlinearity: the module returns logits;
    probabilities as the criterion computes them, returned as float32."""
    return Fn.probabilities(logits).float()


class PredictionMixin:
    """``predict_proba``, ``predict`` and ``score``; mixed in before
    :class:`skorch.NeuralNetClassifier`, needs ``classes_`` and ``_validate_X``."""

    def check_is_fitted(self, attributes=None, *args, **kwargs):
        """skorch's check; also refuses an estimator whose last fit raised
        before anything trained (``initialized_`` False with a module: the
        module's output did not fit the classes, or its rows could not be
        mixed), whose model is that failed fit's, untrained (its ``classes_``
        are dropped: ``NoisyNetBase._forget_input``)."""
        super().check_is_fitted(attributes, *args, **kwargs)
        if not self.initialized_:
            raise NotInitializedError(
                f"This {type(self).__name__} is not fitted: its last fit raised before it "
                "trained, or diverged (see that error). Fix what it names and call fit again.")

    def _get_predict_nonlinearity(self):
        if self.predict_nonlinearity == "auto":
            self.check_is_fitted()
            return softmax
        return super()._get_predict_nonlinearity()

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...), or a torch Dataset
            A Dataset (or ``SliceDataset``) is read a batch at a time, in its
            order, with ``iterator_valid__num_workers`` workers; its items
            are ``x`` or ``(x, label)`` (the label is ignored).

        Returns
        -------
        ndarray of shape (n_samples, n_classes), float32
            Columns in ``classes_`` order; rows sum to one.
        """
        if is_dataset_input(X) and not is_internal(X):
            self.check_is_fitted()
            X = rows_to_predict(self, X)
        elif not (is_dataset(X) or is_internal(X)):
            self.check_is_fitted()
            X = self._validate_X(X, reset=False)
        return super().predict_proba(X)

    def score(self, X, y=None, sample_weight=None):
        """Accuracy of :meth:`predict` on ``(X, y)``.

        ``y=None`` with a torch Dataset: its own labels, read as ``fit``
        reads them (its ``targets``, else its items' labels).

        With a label matrix or :class:`~noisyskl.SoftLabels` as ``y``: the
        accuracy against each row's top-voted class, a row whose annotators
        tie between ``m`` classes counting ``1/m`` for a prediction among
        them (``consensus_accuracy``; plain accuracy with one label a row).

        Raises a ``ValueError`` when ``y`` holds labels that were not among the
        classes at fit (e.g. a cross-validation fold whose training part
        lacked a class): pass ``classes=`` with every label.
        """
        if y is None:
            if not is_dataset_input(X) or is_internal(X):
                raise TypeError("score needs y, the labels of X; only a torch Dataset's own "
                                "labels (its targets or its items' labels) are read when y "
                                "is None.")
            loader = {k: v for k, v in self.get_params_for("iterator_valid").items()
                      if k in ("num_workers", "multiprocessing_context", "worker_init_fn")}
            y = own_labels(as_source(X), self.classes_, "Dataset", 0, loader,
                           getattr(self, "dataset_classes_", None))
        if is_label_matrix(y):
            _, annotations = read_annotations(y, len(X), self.classes_, every_annotator=False)
            predicted = self.predict_proba(X).argmax(axis=1)
            return consensus_accuracy(predicted, annotations.distribution(len(self.classes_)),
                                      sample_weight)
        check_known_labels(y, self.classes_)
        return super().score(X, y, sample_weight=sample_weight)

    def predict(self, X):
        """Predicted labels, as given in ``y`` (e.g. strings).

        Parameters
        ----------
        X : array-like of shape (n_samples, ...), or a torch Dataset
            As in :meth:`predict_proba`.

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels from ``classes_``. (On the internal datasets and batches
            that skorch's scoring callbacks pass during ``fit``, whose targets
            are class indices, the class indices.)
        """
        index = self.predict_proba(X).argmax(axis=1)
        return index if is_internal(X) else self.classes_[index]
