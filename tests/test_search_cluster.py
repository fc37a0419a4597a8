"""A grid search spread over a cluster gives the serial run's scores.

Runs on a ``dask.distributed.LocalCluster`` (2 worker processes, started and
closed here) through joblib's dask backend; skipped where dask is not
installed (``pip install 'noisyskl[dask]'``).
"""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

from .conftest import make_clf

GRID = [{"mu": [0.1, 0.3], "gamma": [1.0, 2.0]},
        {"weighting": ["both"], "bins": [5, 10]}]  # bins with a weighting that reads it


def _estimator():
    return make_clf(max_epochs=4, warm_up=1)


@pytest.fixture(scope="module")
def serial():
    """The search run serially, once for both backends."""
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    return X, y, GridSearchCV(_estimator(), GRID, cv=3).fit(X, y)


@pytest.mark.slow
def test_grid_search_on_a_local_dask_cluster_gives_the_serial_scores(serial):
    distributed = pytest.importorskip("dask.distributed")
    from joblib import parallel_config

    X, y, serial = serial
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster, timeout="60s"):
        with parallel_config(backend="dask"):
            spread = GridSearchCV(_estimator(), GRID, cv=3, n_jobs=2).fit(X, y)
    assert serial.cv_results_["params"] == spread.cv_results_["params"]
    np.testing.assert_array_equal(serial.cv_results_["mean_test_score"],
                                  spread.cv_results_["mean_test_score"])
    assert serial.best_params_ == spread.best_params_
    # and the refitted best estimator predicts the same
    np.testing.assert_array_equal(serial.predict_proba(X), spread.predict_proba(X))


@pytest.mark.slow
def test_grid_search_on_rays_joblib_backend_gives_the_serial_scores(serial):
    ray = pytest.importorskip("ray")
    from joblib import parallel_config
    from ray.util.joblib import register_ray

    X, y, serial = serial
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        register_ray()
        with parallel_config(backend="ray"):
            spread = GridSearchCV(_estimator(), GRID, cv=3, n_jobs=2).fit(X, y)
    finally:
        ray.shutdown()
    np.testing.assert_array_equal(serial.cv_results_["mean_test_score"],
                                  spread.cv_results_["mean_test_score"])
