"""``device='cuda'``: skipped without a CUDA device (as in CI).

To check the whole suite on a GPU, also run it with ``NOISYSKL_TEST_DEVICE=cuda``
(every test built on ``make_clf`` then trains there).
"""

import pickle

import numpy as np
import pytest
import torch

from noisyskl import NoisyLabelLoss, NoisyNeuralNetClassifier, SmallCNN

from .conftest import flip_labels, make_clf

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def test_state_and_outputs_live_on_cuda(iris):
    X, y = iris
    clf = make_clf(device="cuda").fit(X, y)
    state = clf.refinement_state_
    assert all(buf.is_cuda for buf in state.buffers())
    assert all(p.is_cuda for p in clf.module_.parameters())
    assert clf.predict(X).shape == (150,)
    proba = clf.predict_proba(X)
    assert isinstance(proba, np.ndarray)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-5)
    assert isinstance(clf.refined_labels_, np.ndarray)
    assert clf.find_label_issues().shape[0] == 150
    clf2 = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(clf2.refined_labels_, clf.refined_labels_)


def test_cuda_matches_cpu_on_the_first_epoch(iris):
    """Same seed, same data order: the first epoch's loss agrees across devices
    (float32 kernels differ in the last bits, so not exactly)."""
    X, y = iris
    losses = {}
    for device in ("cpu", "cuda"):
        clf = make_clf(device=device, max_epochs=1).fit(X, y)
        losses[device] = clf.history[-1, "train_loss"]
    np.testing.assert_allclose(losses["cuda"], losses["cpu"], rtol=1e-4)


def test_criterion_gives_the_same_loss_on_both_devices():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(64, 5, generator=gen)
    target = torch.softmax(torch.randn(64, 5, generator=gen), -1)
    index = torch.arange(64)
    out = {}
    for device in ("cpu", "cuda"):
        crit = NoisyLabelLoss(n_samples=64).to(device)
        out[device] = crit(logits.to(device), target.to(device), index.to(device)).item()
    assert out["cuda"] == pytest.approx(out["cpu"], rel=1e-5)


def test_default_two_rounds_cnn_on_cuda():
    """The default fit, with a batch-norm CNN and a refit long enough to average
    two epochs (torch's multi-tensor CUDA average once failed on the integer
    batch-norm counter)."""
    rng = np.random.default_rng(0)
    y = np.arange(80) % 2
    X = rng.normal(size=(80, 1, 8, 8)).astype(np.float32) + y[:, None, None, None]
    y_noisy, _ = flip_labels(y, 0.2, 2, seed=0)
    clf = NoisyNeuralNetClassifier(max_epochs=6, warm_up=1, device="cuda",
                                   random_state=0, verbose=0).fit(X, y_noisy)
    assert clf.rounds == 2 and hasattr(clf, "first_round_history_")
    assert isinstance(clf.module_, SmallCNN) and clf.refinement_state_.targets.is_cuda
    assert clf.predict(X).shape == (80,)


def test_saved_on_cuda_loads_on_cpu(iris, tmp_path):
    X, y = iris
    clf = make_clf(device="cuda").fit(X, y)
    files = dict(f_params=tmp_path / "p.pt", f_refinement_state=tmp_path / "s.pt")
    clf.save_params(**files)
    cpu = make_clf(device="cpu").initialize()
    cpu.load_params(**files)
    assert not cpu.refinement_state_.targets.is_cuda
    np.testing.assert_array_equal(cpu.refined_labels_, clf.refined_labels_)
    np.testing.assert_allclose(cpu.predict_proba(X), clf.predict_proba(X), atol=1e-5)


def test_training_batches_make_no_host_sync_in_get_loss(iris):
    """The row index is copied to the GPU without waiting for the forward pass
    (a blocking copy from pageable memory synchronises the stream)."""
    import inspect
    import warnings

    from noisyskl._classifier import NoisyNeuralNetClassifier as Cls

    lines, first = inspect.getsourcelines(Cls.get_loss)
    in_get_loss = range(first, first + len(lines))
    X, y = iris
    clf = make_clf(device="cuda", max_epochs=2, train_split=None).fit(X, y)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            clf.partial_fit(X, y)
        finally:
            torch.cuda.set_sync_debug_mode(0)
    syncs = [w for w in caught if "synchroniz" in str(w.message)]
    assert syncs, "sync debug mode reported nothing: the check cannot work here"
    assert not [w for w in syncs if w.filename.endswith("_classifier.py")
                and w.lineno in in_get_loss]
