"""Cross-validation corner cases."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score

from noisyskl import NoisyNeuralNetClassifier

from .conftest import make_clf


@pytest.fixture
def sorted_data(iris):
    X, y = iris
    order = np.argsort(y, kind="stable")
    return X[order], y[order]  # KFold(3) without shuffling: each training part lacks a class


def test_fold_lacking_a_class_needs_classes(sorted_data):
    X, y = sorted_data
    net = NoisyNeuralNetClassifier(max_epochs=2, verbose=0, random_state=0)
    with pytest.raises(ValueError, match="pass classes="):
        cross_val_score(net, X, y, cv=KFold(3), error_score="raise")
    with pytest.raises(ValueError, match="pass classes="):
        cross_val_score(make_clf(max_epochs=2), X, y, cv=KFold(3), error_score="raise")
    scores = cross_val_score(make_clf(max_epochs=2, classes=[0, 1, 2]), X, y, cv=KFold(3),
                             error_score="raise")
    assert np.isfinite(scores).all()


def test_grid_search_in_parallel(iris):
    X, y = iris
    grid = GridSearchCV(make_clf(max_epochs=2), {"bins": [5, 10], "mu": [0.1, 0.3]}, cv=2,
                        n_jobs=2, error_score="raise").fit(X, y)
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()
    assert grid.best_estimator_.refined_labels_.shape == (150, 3)
